package nodes

import (
	"strings"
	"testing"

	"oscore-lab/internal/trace"
)

// TestForwardWithoutLayerSaysWhy: a proxy that shares a context with its
// next hop but is not configured to use it says so, naming the context;
// one that shares none says that.
func TestForwardWithoutLayerSaysWhy(t *testing.T) {
	for _, c := range []struct {
		name, drop, want string
	}{
		{"shared, not named", "", "Shares CTX_P_S with next hop S, but next_hop_contexts names no context for S"},
		{"none shared", "CTX_P_S", "No context shared with next hop S"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := builtinScenario(t, "draft-b3")
			s.Nodes[1].NextHopContexts = nil
			if c.drop != "" {
				s.Contexts = s.Contexts[:2]
			}
			lab, bus := startLab(t, s)
			st := s.Steps[0]
			st.Token, st.MID, st.HopTokens, st.HopMIDs, st.Expect = "", nil, nil, nil, nil
			r := send(t, lab, st)
			var got []string
			for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
				if e.Node == "P" && e.Decision.Rule == trace.RuleOutgoingRequest {
					got = append(got, e.Decision.Outcome)
				}
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], c.want) {
				t.Fatalf("P's outgoing-request decisions %q, want one starting %q", got, c.want)
			}
		})
	}
}
