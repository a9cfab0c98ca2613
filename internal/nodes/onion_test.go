package nodes

import (
	"slices"
	"testing"

	"oscore-lab/internal/trace"
)

// TestOnionLayers: the client wraps the request in one layer per proxy
// (draft 2.3, A.7); every proxy removes exactly its own layer and forwards
// the rest untouched, the server removes the end-to-end layer, and the
// client removes all four from the response.
func TestOnionLayers(t *testing.T) {
	s := builtinScenario(t, "usecase-privacy-chain-onion")
	lab, bus := startLab(t, s)
	r := send(t, lab, s.Steps[0])
	if r.Code != "2.05" || r.Payload != "0" {
		t.Fatalf("%+v", r)
	}
	if want := []string{"CTX_C_S", "CTX_C_P3", "CTX_C_P2", "CTX_C_P1"}; !slices.Equal(r.Layers, want) {
		t.Errorf("client removed %v, want %v", r.Layers, want)
	}
	removed := map[string][]string{}
	for _, e := range eventsOf(bus, trace.TypeLayer, r.Exchange) {
		if e.Dir == trace.DirRequest && e.Layer_.Action == trace.LayerRemoved {
			removed[e.Node] = append(removed[e.Node], e.Layer_.Report.Context)
		}
	}
	for node, want := range map[string][]string{"P1": {"CTX_C_P1"}, "P2": {"CTX_C_P2"}, "P3": {"CTX_C_P3"}, "S": {"CTX_C_S"}} {
		if !slices.Equal(removed[node], want) {
			t.Errorf("%s removed %v from the request, want %v", node, removed[node], want)
		}
	}
	// On every leg the request shows one OSCORE option and no forward-proxy
	// option but the next proxy's address.
	for _, d := range datagrams(bus, r.Exchange) {
		if d.Dir != trace.DirRequest {
			continue
		}
		m := decode(t, d.Bytes)
		if !m.Options.HasOption(optOSCORE) {
			t.Errorf("%s -> %s: no OSCORE option", d.From, d.To)
		}
		if h, err := m.Options.GetString(optURIHost); err == nil && h == "example.com" && d.To != "S" {
			t.Errorf("%s -> %s: the server's name is visible", d.From, d.To)
		}
	}
}
