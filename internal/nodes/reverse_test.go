package nodes

import (
	"testing"

	"oscore-lab/internal/scenario"
)

// TestReverseRouteDecidesNotKid: the reverse-proxy P holds a context with
// another client X whose Recipient ID is 0x5f, and C's end-to-end kid with S
// is 0x5f too. Whether C's request is for reverse-proxying is the route's
// call (draft 2.4 step 3): P forwards it untouched instead of trying its
// own context on the end-to-end layer.
func TestReverseRouteDecidesNotKid(t *testing.T) {
	s := &scenario.Scenario{Name: "kid-collision",
		Nodes: []scenario.Node{
			{ID: "C", Role: scenario.RoleClient},
			{ID: "X", Role: scenario.RoleClient},
			{ID: "P", Role: scenario.RoleProxy, Reverse: []scenario.ReverseRoute{{Host: "dev.example", To: "S"}}},
			{ID: "S", Role: scenario.RoleServer},
		},
		Contexts: []scenario.Context{
			{Name: "CTX_C_S", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
				A: scenario.Endpoint{Node: "C", SenderID: "5f", RecipientID: "01"}, B: scenario.Endpoint{Node: "S", SenderID: "01", RecipientID: "5f"}},
			{Name: "CTX_X_P", MasterSecret: "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
				A: scenario.Endpoint{Node: "X", SenderID: "5f", RecipientID: "02"}, B: scenario.Endpoint{Node: "P", SenderID: "02", RecipientID: "5f"}},
		},
	}
	lab, bus := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://dev.example/alarm_status", Route: []string{"P"}, ProxyStyle: "reverse", Contexts: []string{"CTX_C_S"}})
	if r.Code != "2.05" || r.Payload != "0" {
		t.Fatalf("through the reverse-proxy: %+v", r)
	}
	if !decided(bus, r.Exchange, "P", "3->4", "names no layer for P") {
		t.Error("P publishes no step 3 decision that the route forwards the request's layers untouched")
	}
}

// TestReverseRouteWithOwnLayer: a route that says its requests carry a
// layer for the proxy (B.7) has the proxy remove that layer, and only with
// the route's contexts, before it forwards.
func TestReverseRouteWithOwnLayer(t *testing.T) {
	s := builtinScenario(t, "draft-b7")
	lab, bus := startLab(t, s)
	r := send(t, lab, s.Steps[0])
	if r.Code != "2.05" {
		t.Fatalf("B.7: %+v", r)
	}
	if !decided(bus, r.Exchange, "P", "3->5", "CTX_C_P") {
		t.Error("P publishes no step 3 decision to remove the route's layer CTX_C_P first")
	}
}
