package nodes

import (
	"context"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// TestResponseLackingLayer: an on-path attacker strips the layers of a
// response and answers 2.05 in clear. The client refuses it (RFC 8613 8.4,
// draft 2.6): the exchange fails and nothing is delivered; a proxy that
// protected its upstream leg answers 5.02 under the layer it removed
// instead of relaying the clear answer.
func TestResponseLackingLayer(t *testing.T) {
	cases := []struct {
		link, node string
		wantErr    string // client: the exchange fails
		wantCode   string // proxy: the client gets this code
		wantLayers []string
	}{
		{link: "C-P", node: "C", wantErr: "lacks the OSCORE layers CTX_C_S, CTX_C_P that C added"},
		{link: "P-S", node: "P", wantCode: "5.02", wantLayers: []string{"CTX_C_P"}},
	}
	for _, tc := range cases {
		t.Run(tc.link, func(t *testing.T) {
			s := builtinScenario(t, "draft-b3")
			lab, bus := startLab(t, s)
			lk, ok := lab.Link(tc.link)
			if !ok {
				t.Fatalf("no link %s", tc.link)
			}
			if err := lk.FaultNext("strip", "b->a", FaultOptions{Payload: "1"}); err != nil {
				t.Fatal(err)
			}
			st := s.Steps[0]
			st.Expect = nil
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r, err := lab.Send(ctx, st)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || r.OK || r.Code != "" {
					t.Fatalf("err %v, result %+v: want the exchange refused", err, r)
				}
				for _, e := range eventsOf(bus, trace.TypeDelivery, r.Exchange) {
					if e.Node == "C" {
						t.Errorf("delivered at C: %+v", e.Delivery)
					}
				}
			} else {
				if err != nil || r.Code != tc.wantCode || strings.Join(r.Layers, ",") != strings.Join(tc.wantLayers, ",") {
					t.Fatalf("err %v, result %+v: want %s under %v", err, r, tc.wantCode, tc.wantLayers)
				}
			}
			var found bool
			for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
				if e.Node == tc.node && e.Decision.Section == "RFC 8613 8.4; draft 2.6" && strings.Contains(e.Decision.Outcome, " lacks layer") {
					found = true
				}
			}
			if !found {
				t.Errorf("no decision at %s citing RFC 8613 8.4 and draft 2.6", tc.node)
			}
		})
	}
}

// TestNotificationLackingLayer: an attacker answers one notification in
// clear; the client drops it (RFC 8613 8.4) and the observation goes on
// with the protected ones.
func TestNotificationLackingLayer(t *testing.T) {
	notifyEvery = 100 * time.Millisecond
	defer func() { notifyEvery = time.Second }()
	s := builtinScenario(t, "rfc8613-c4-c7")
	lab, bus := startLab(t, s)
	reg := scenario.Step{From: "C", Method: "GET", URI: "coap://localhost/counter", Contexts: []string{"CTX_C_S"}, Observe: "register"}
	r := send(t, lab, reg)
	if r.Code != "2.05" {
		t.Fatalf("register: %+v", r)
	}
	lk, ok := lab.Link("C-S")
	if !ok {
		t.Fatal("no link C-S")
	}
	if err := lk.FaultNext("strip", "b->a", FaultOptions{Payload: "forged"}); err != nil {
		t.Fatal(err)
	}
	// Wait for the forged notification to be dropped and a protected one
	// to follow, as long as a loaded machine needs.
	var dropped bool
	var delivered int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		dropped, delivered = false, 0
		for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
			if e.Node == "C" && e.Decision.Section == "RFC 8613 8.4; draft 2.6" && strings.Contains(e.Decision.Outcome, "lacks layer CTX_C_S") {
				dropped = true
			}
		}
		for _, e := range eventsOf(bus, trace.TypeDelivery, r.Exchange) {
			if e.Node == "C" {
				if e.Delivery.Payload == "forged" {
					t.Fatal("the forged notification was delivered")
				}
				delivered++
			}
		}
		if (dropped && delivered >= 2) || time.Now().After(deadline) {
			break
		}
	}
	if !dropped || delivered < 2 {
		t.Errorf("dropped %v, %d deliveries at C: want the forged one dropped and the observation going on", dropped, delivered)
	}
}
