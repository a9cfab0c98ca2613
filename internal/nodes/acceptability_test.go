package nodes

import (
	"slices"
	"strings"
	"testing"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// twoLayersAtP is a chain of two reverse-proxies, C -> P0 -> P -> S, where
// P removes two layers from the request before it forwards: first P0's hop
// layer CTX_P0_P, then the client's CTX_C_P (nothing proxy-related is
// visible between them, so P goes from step 1 through 5 to 6 twice). The
// client's end-to-end layer CTX_C_S stays on for S.
func twoLayersAtP(allow map[string][]string) (*scenario.Scenario, scenario.Step) {
	ep := func(node, sid, rid string) scenario.Endpoint {
		return scenario.Endpoint{Node: node, SenderID: sid, RecipientID: rid}
	}
	s := &scenario.Scenario{Name: "two-layers-at-p",
		Nodes: []scenario.Node{
			{ID: "C", Role: scenario.RoleClient},
			{ID: "P0", Role: scenario.RoleProxy, Reverse: []scenario.ReverseRoute{{Host: "gw.example", To: "P"}},
				NextHopContexts: map[string]string{"P": "CTX_P0_P"}},
			{ID: "P", Role: scenario.RoleProxy, Reverse: []scenario.ReverseRoute{{PathPrefix: []string{"s"}, To: "S"}}, Allow: allow},
			{ID: "S", Role: scenario.RoleServer},
		},
		Contexts: []scenario.Context{
			{Name: "CTX_C_S", MasterSecret: "0102030405060708090a0b0c0d0e0f10", A: ep("C", "5f", "01"), B: ep("S", "01", "5f")},
			{Name: "CTX_C_P", MasterSecret: "1112131415161718191a1b1c1d1e1f20", A: ep("C", "20", "02"), B: ep("P", "02", "20")},
			{Name: "CTX_P0_P", MasterSecret: "2122232425262728292a2b2c2d2e2f30", A: ep("P0", "d4", "05"), B: ep("P", "05", "d4")},
		},
	}
	st := scenario.Step{From: "C", Method: "GET", URI: "coap://gw.example/s/alarm_status", Route: []string{"P0", "P"},
		ProxyStyle: scenario.StyleReverse, Contexts: []string{"CTX_C_S", "CTX_C_P"}}
	return s, st
}

// TestAcceptabilityLastRemovedLayer: the acceptability check before
// forwarding (draft 2.4 step 4) looks at the context that removed the last
// layer, the one nearest the request's origin, not the first layer the
// proxy removed. P removes CTX_P0_P and then CTX_C_P: an allow-list keyed
// on CTX_C_P forwards, one keyed only on CTX_P0_P refuses with 4.01.
func TestAcceptabilityLastRemovedLayer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow map[string][]string
		code  string
		why   string
	}{
		{"last removed listed", map[string][]string{"CTX_C_P": {"S"}}, "2.05", "context CTX_C_P may reach S"},
		{"only the first removed listed", map[string][]string{"CTX_P0_P": {"*"}}, "4.01", "context CTX_C_P is not on the allow-list"},
		{"last removed listed for another target", map[string][]string{"CTX_C_P": {"P0"}, "CTX_P0_P": {"S"}}, "4.01", "context CTX_C_P may not reach S"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st := twoLayersAtP(tc.allow)
			lab, bus := startLab(t, s)
			r := send(t, lab, st)
			if r.Code != tc.code {
				t.Fatalf("result %+v, want %s", r, tc.code)
			}
			var removed []string
			for _, e := range eventsOf(bus, trace.TypeLayer, r.Exchange) {
				if e.Node == "P" && e.Dir == trace.DirRequest && e.Layer_.Action == trace.LayerRemoved {
					removed = append(removed, e.Layer_.Report.Context)
				}
			}
			if want := []string{"CTX_P0_P", "CTX_C_P"}; !slices.Equal(removed, want) {
				t.Fatalf("P removed %v, want %v", removed, want)
			}
			var said bool
			for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
				if e.Node == "P" && strings.HasPrefix(e.Decision.Outcome, "Step 4: forwarding") {
					said = strings.Contains(e.Decision.Outcome, tc.why)
					if !said {
						t.Errorf("P decided %q, want it to say %q", e.Decision.Outcome, tc.why)
					}
				}
			}
			if !said {
				t.Errorf("no step 4 decision of P says %q", tc.why)
			}
			if tc.code == "2.05" && (r.Payload != "0" || !slices.Equal(r.Layers, st.Contexts)) {
				t.Errorf("result %+v, want \"0\" under %v", r, st.Contexts)
			}
			if tc.code == "4.01" {
				// The refusal goes back under the layer P removed for the
				// client (draft 2.5), the end-to-end layer stays off.
				if want := []string{"CTX_C_P"}; !slices.Equal(r.Layers, want) {
					t.Errorf("client removed %v from the 4.01, want %v", r.Layers, want)
				}
			}
		})
	}
}

// TestSourcePolicyListedHop: a server with a source policy (draft 2.4.1)
// admits, from a listed previous hop, only the contexts listed for it. C1's
// CTX_C1_S is listed for P and answered; C2's CTX_C2_S, which S holds too,
// arrives from the same P and fails as an unknown context would (4.01
// "Security context not found", unprotected, draft 7.1).
func TestSourcePolicyListedHop(t *testing.T) {
	s := &scenario.Scenario{Name: "source-policy",
		Nodes: []scenario.Node{
			{ID: "C1", Role: scenario.RoleClient},
			{ID: "C2", Role: scenario.RoleClient},
			{ID: "P", Role: scenario.RoleProxy, Reverse: []scenario.ReverseRoute{{Host: "hidden.example", To: "S"}}},
			{ID: "S", Role: scenario.RoleServer, SourcePolicy: map[string][]string{"P": {"CTX_C1_S"}}},
		},
		Contexts: []scenario.Context{
			{Name: "CTX_C1_S", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
				A: scenario.Endpoint{Node: "C1", SenderID: "5f", RecipientID: "01"}, B: scenario.Endpoint{Node: "S", SenderID: "01", RecipientID: "5f"}},
			{Name: "CTX_C2_S", MasterSecret: "1112131415161718191a1b1c1d1e1f20",
				A: scenario.Endpoint{Node: "C2", SenderID: "6f", RecipientID: "04"}, B: scenario.Endpoint{Node: "S", SenderID: "04", RecipientID: "6f"}},
		},
	}
	lab, bus := startLab(t, s)
	step := func(from, ctx string) scenario.Step {
		return scenario.Step{From: from, Method: "GET", URI: "coap://hidden.example/alarm_status", Route: []string{"P"}, ProxyStyle: "reverse", Contexts: []string{ctx}}
	}
	if r := send(t, lab, step("C1", "CTX_C1_S")); r.Code != "2.05" || r.Payload != "0" || !slices.Equal(r.Layers, []string{"CTX_C1_S"}) {
		t.Fatalf("listed context from P: %+v", r)
	}
	r := send(t, lab, step("C2", "CTX_C2_S"))
	if r.Code != "4.01" || r.Payload != "Security context not found" || len(r.Layers) != 0 {
		t.Fatalf("unlisted context from P: %+v", r)
	}
	dg := datagrams(bus, r.Exchange)
	if m := decode(t, dg[len(dg)-1].Bytes); m.Options.HasOption(optOSCORE) {
		t.Errorf("the 4.01 is protected: %x", []byte(dg[len(dg)-1].Bytes))
	}
	// CTX_C2_S itself works: from no listed hop it is refused the same way,
	// and with the policy lifted it is answered.
	s.Nodes[3].SourcePolicy = nil
	if err := lab.Apply(s); err != nil {
		t.Fatal(err)
	}
	if r := send(t, lab, step("C2", "CTX_C2_S")); r.Code != "2.05" || r.Payload != "0" {
		t.Fatalf("CTX_C2_S without a source policy: %+v", r)
	}
}
