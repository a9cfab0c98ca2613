package nodes

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// runAll runs a scenario's steps and returns the results.
func runAll(t *testing.T, lab *Lab) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := lab.RunSteps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// errorOf is the error event of an exchange (the node that answered).
func errorOf(t *testing.T, bus *trace.Bus, ex int) trace.Event {
	t.Helper()
	evs := eventsOf(bus, trace.TypeError, ex)
	if len(evs) == 0 {
		t.Fatalf("exchange %d: no error event", ex)
	}
	return evs[0]
}

// stillServes sends a plain end-to-end request and requires 2.05 "0".
func stillServes(t *testing.T, lab *Lab, st scenario.Step) {
	t.Helper()
	st.Expect, st.Token, st.MID, st.HopTokens, st.HopMIDs, st.Seq = nil, "", nil, nil, nil, nil
	r := send(t, lab, st)
	if r.Code != "2.05" || r.Payload != "0" {
		t.Fatalf("after the error: %+v", r)
	}
}

// TestErrorResponses checks, for each of the draft's error cases, the code,
// the node that answered, which layers protect the error response (draft
// 2.5: only those removed before the failure) and that the nodes keep
// serving afterwards.
func TestErrorResponses(t *testing.T) {
	cases := []struct {
		scenario    string
		step        int
		code, node  string
		protectedBy []string // contexts protecting the error, innermost first
		clientSees  []string // layers the client removed
		maxAge0     bool     // RFC 8613 8.2 error: outer Max-Age 0
		healthy     scenario.Step
	}{
		{scenario: "error-wrong-key", code: "4.00", node: "P", maxAge0: true,
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: []string{"P"}, Contexts: []string{"CTX_C_S"}}},
		// Proxy-Scheme sent straight to S is encrypted in CTX_C_S (S is the
		// next hop and the layer's other end, draft 2.2 steps 4, 6, 8).
		{scenario: "error-proxying-not-supported", code: "5.05", node: "S", protectedBy: []string{"CTX_C_S"}, clientSees: []string{"CTX_C_S"},
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Contexts: []string{"CTX_C_S"}}},
		{scenario: "error-proxying-not-supported", step: 1, code: "5.05", node: "P",
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Contexts: []string{"CTX_C_S"}}},
		{scenario: "error-unauthorised-client", step: 1, code: "4.01", node: "P", protectedBy: []string{"CTX_C_P"}, clientSees: []string{"CTX_C_P"},
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: []string{"P"}, Contexts: []string{"CTX_C_S", "CTX_C_P"}}},
		{scenario: "error-hop-limit", code: "5.08", node: "P2",
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: []string{"P1", "P2", "P3"}, Contexts: []string{"CTX_C_S"}}},
		{scenario: "error-layer-limit", code: "4.01", node: "P", protectedBy: []string{"CTX_C_P_EXTRA"}, clientSees: []string{"CTX_C_P_EXTRA"},
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: []string{"P"}, Contexts: []string{"CTX_C_S", "CTX_C_P"}}},
		{scenario: "error-unrecognised-option", code: "4.02", node: "P", protectedBy: []string{"CTX_C_P"}, clientSees: []string{"CTX_C_P"},
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: []string{"P"}, Contexts: []string{"CTX_C_P"}}},
		{scenario: "error-replay", step: 1, code: "4.01", node: "S", maxAge0: true,
			healthy: scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Contexts: []string{"CTX_C_S"}}},
	}
	for _, tc := range cases {
		t.Run(tc.scenario+"/"+tc.code, func(t *testing.T) {
			s := builtinScenario(t, tc.scenario)
			lab, bus := startLab(t, s)
			res := runAll(t, lab)
			r := res[tc.step]
			if !r.OK || r.Code != tc.code {
				t.Fatalf("step %d: %+v", tc.step, r)
			}
			if !slices.Equal(r.Layers, tc.clientSees) && !(len(r.Layers) == 0 && len(tc.clientSees) == 0) {
				t.Errorf("client removed %v, want %v", r.Layers, tc.clientSees)
			}
			e := errorOf(t, bus, r.Exchange)
			if e.Node != tc.node || e.Error.Code != tc.code {
				t.Errorf("error event at %s code %s, want %s %s", e.Node, e.Error.Code, tc.node, tc.code)
			}
			if !slices.Equal(e.Error.ProtectedBy, tc.protectedBy) {
				t.Errorf("error protected by %v, want %v", e.Error.ProtectedBy, tc.protectedBy)
			}
			// The error on the wire, on the leg towards the answering node.
			var resp *trace.Event
			for _, d := range datagrams(bus, r.Exchange) {
				if d.Dir == trace.DirResponse && d.From == tc.node {
					d := d
					resp = &d
				}
			}
			if resp == nil {
				t.Fatal("no response datagram from " + tc.node)
			}
			m := decode(t, resp.Bytes)
			if protected := m.Options.HasOption(9); protected != (len(tc.protectedBy) > 0) {
				t.Errorf("response on the wire protected=%v, want %v (%x)", protected, len(tc.protectedBy) > 0, []byte(resp.Bytes))
			}
			if len(tc.protectedBy) == 0 && codeText(m.Code) != tc.code {
				t.Errorf("wire code %s, want %s", codeText(m.Code), tc.code)
			}
			if tc.maxAge0 {
				if v, err := m.Options.GetUint32(14); err != nil || v != 0 {
					t.Errorf("no outer Max-Age 0 (RFC 8613 8.2): %v %v", v, err)
				}
			}
			stillServes(t, lab, tc.healthy)
		})
	}
}

// TestLinkReplayAttack replays a captured request from a new address: the
// server's replay window catches it (RFC 8613 7.4) and answers 4.01
// "Replay detected", unprotected, to the attacker only; the client's next
// request still succeeds.
func TestLinkReplayAttack(t *testing.T) {
	s := builtinScenario(t, "rfc8613-c4-c7")
	lab, bus := startLab(t, s)
	first := send(t, lab, s.Steps[0])
	if first.Code != "2.05" {
		t.Fatalf("%+v", first)
	}
	lk, ok := lab.Link("C-S")
	if !ok {
		t.Fatal("no link C-S")
	}
	if err := lk.Replay(1); err != nil {
		t.Fatal(err)
	}
	var got []byte
	deadline := time.Now().Add(3 * time.Second)
	for got == nil && time.Now().Before(deadline) {
		for _, e := range bus.Recent() {
			if e.Type == trace.TypeDatagram && e.Link == "C-S" && e.From == "S" && e.Dir == trace.DirResponse {
				if m := decode(t, e.Bytes); codeText(m.Code) == "4.01" {
					got = e.Bytes
					if string(m.Payload) != "Replay detected" || m.Options.HasOption(9) {
						t.Errorf("replay answer %x", got)
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got == nil {
		t.Fatal("no 4.01 for the replayed datagram")
	}
	st := s.Steps[0]
	st.Token, st.MID, st.Expect = "", nil, nil
	if r := send(t, lab, st); r.Code != "2.05" || r.Payload != "Hello World!" {
		t.Fatalf("after the replay: %+v", r)
	}
}

// TestMalformedDatagrams sends truncated, corrupted and random datagrams to
// every node, directly and through a link that corrupts or cuts them: no
// crash, and the nodes keep serving.
func TestMalformedDatagrams(t *testing.T) {
	s := builtinScenario(t, "draft-b3")
	lab, _ := startLab(t, s)
	st := s.Steps[0]
	st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
	r := send(t, lab, st)
	if r.Code != "2.05" {
		t.Fatalf("%+v", r)
	}
	good := hx("44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e")
	junk := [][]byte{{}, {0x40}, {0x44, 0x02}, good[:7], good[:20], {0x5f, 0x01, 0x00, 0x01, 0xff},
		{0x40, 0x02, 0x00, 0x01, 0x92, 0xff, 0xff, 0xff}, {0x40, 0x02, 0x00, 0x02, 0x90}, // OSCORE option without payload (RFC 8613 8.2)
		{0x40, 0x02, 0x00, 0x03, 0x93, 0xe0, 0x00, 0x00, 0xff, 0x01}, // reserved OSCORE flag bits
	}
	for _, n := range lab.Nodes() {
		c, err := net.DialUDP("udp", nil, mustAddr(t, n.Addr))
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range junk {
			c.Write(j)
		}
		c.Close()
	}
	lk, _ := lab.Link("C-P")
	for i, kind := range []string{"corrupt", faultTruncate, "corrupt", faultTruncate} {
		lk.FaultNext(kind, "a->b", FaultOptions{Byte: 5 + i*7})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		lab.Send(ctx, scenario.Step{From: "C", Method: "GET", URI: st.URI, Route: st.Route, Contexts: st.Contexts, Expect: &scenario.Expect{Timeout: "1500ms"}})
		cancel()
	}
	if r := send(t, lab, st); r.Code != "2.05" || r.Payload != "0" {
		t.Fatalf("after malformed datagrams: %+v", r)
	}
}

func mustAddr(t *testing.T, s string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestHopLimitLoop: two forward-proxies that send each other's requests
// back (a misconfigured loop). The first inserts Hop-Limit 16 (RFC 8768 3),
// every hop decrements it, and the proxy that would send 0 answers 5.08;
// the error travels back along the whole loop and both proxies keep serving.
func TestHopLimitLoop(t *testing.T) {
	s := &scenario.Scenario{Name: "loop",
		Nodes: []scenario.Node{
			{ID: "C", Role: scenario.RoleClient},
			{ID: "P1", Role: scenario.RoleProxy, Forward: true, Upstream: "P2"},
			{ID: "P2", Role: scenario.RoleProxy, Forward: true, Upstream: "P1"},
			{ID: "S", Role: scenario.RoleServer, Authority: "example.com"},
		},
	}
	lab, bus := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: []string{"P1"}})
	if r.Code != "5.08" {
		t.Fatalf("%+v", r)
	}
	var requests int
	for _, d := range datagrams(bus, r.Exchange) {
		if d.Dir == trace.DirRequest {
			requests++
		}
	}
	if requests != 17 { // C->P1, then 16 proxy hops carrying Hop-Limit 16 down to 1
		t.Errorf("%d requests in the loop, want 17", requests)
	}
	direct := scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status"}
	if r := send(t, lab, direct); r.Code != "2.05" {
		t.Fatalf("afterwards: %+v", r)
	}
}
