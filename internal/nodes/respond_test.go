package nodes

import (
	"slices"
	"strings"
	"testing"

	"oscore-lab/internal/trace"
)

// TestResponseExplained: in example B.3 the proxy re-applies CTX_C_P to
// the response and says so in a decision of draft section 2.5 (which
// layers, in which order, which Partial IV rule), and the step path of the
// OSCORE option it escalates starts from the server that added it (draft
// 2.2 step 1: not added by the proxy -> step 4).
func TestResponseExplained(t *testing.T) {
	s := builtinScenario(t, "draft-b3")
	lab, bus := startLab(t, s)
	r := send(t, lab, s.Steps[0])
	if r.Code != "2.05" {
		t.Fatalf("%+v", r)
	}
	var said bool
	for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
		d := e.Decision
		if e.Node == "P" && d.Rule == trace.RuleResponse && strings.Contains(d.Section, "2.5") &&
			strings.Contains(d.Outcome, "CTX_C_P") && strings.Contains(d.Outcome, "Partial IV") {
			said = true
		}
	}
	if !said {
		t.Error("P publishes no 2.5 decision on the layers it re-applies to the response")
	}
	var checked bool
	for _, e := range eventsOf(bus, trace.TypeLayer, r.Exchange) {
		if e.Node != "P" || e.Dir != trace.DirResponse || e.Layer_.Action != trace.LayerApplied {
			continue
		}
		for _, o := range e.Layer_.Report.Complete().Options {
			if o.Number == optOSCORE {
				checked = true
				if !slices.Equal(o.Steps, []int{1, 4, 6, 8}) {
					t.Errorf("OSCORE option of the server's layer in P's CTX_C_P layer: steps %v, want [1 4 6 8] (added by S, not by P)", o.Steps)
				}
			}
		}
	}
	if !checked {
		t.Error("no OSCORE option row in the layer P applies to the response")
	}
}
