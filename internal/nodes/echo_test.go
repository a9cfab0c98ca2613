package nodes

import (
	"testing"

	"oscore-lab/internal/trace"
)

// TestEchoAfterRestart: a require_echo server whose context has no replay
// state answers the first request 4.01 with an inner Echo; the client
// repeats it once with the Echo and a new Partial IV and gets the answer;
// the server's window then starts at that number (RFC 8613 B.1.2, RFC
// 9175 2.3, 2.4), and the next request needs no Echo.
func TestEchoAfterRestart(t *testing.T) {
	s := builtinScenario(t, "freshness-echo")
	s.Links = nil
	lab, bus := startLab(t, s)
	r := send(t, lab, s.Steps[0])
	if r.Code != "2.05" || r.Payload != "0" {
		t.Fatalf("%+v", r)
	}
	var requests []int64
	for _, e := range eventsOf(bus, trace.TypeLayer, r.Exchange) {
		if e.Node == "C" && e.Layer_.Action == trace.LayerApplied {
			requests = append(requests, e.Layer_.Report.Complete().Seq)
		}
	}
	if len(requests) != 2 || requests[0] != 3 || requests[1] != 4 {
		t.Errorf("client requests with sequence numbers %v, want [3 4]", requests)
	}
	var echoAsked, echoAnswered, verified bool
	for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
		switch {
		case e.Node == "S" && e.Decision.Code == "4.01" && e.Decision.Section == "RFC 8613 B.1.2; RFC 9175 2.4":
			echoAsked = true
		case e.Node == "C" && e.Decision.Section == "RFC 9175 2.3; RFC 8613 B.1.2":
			echoAnswered = true
		case e.Node == "S" && e.Decision.Section == "RFC 8613 B.1.2; RFC 9175 2.4":
			verified = true
		}
	}
	if !echoAsked || !echoAnswered || !verified {
		t.Errorf("decisions: asked %v, answered %v, verified %v", echoAsked, echoAnswered, verified)
	}
	st := lab.State()
	for _, n := range st.Nodes {
		for _, c := range n.Contexts {
			if n.ID == "S" && c.Name == "CTX_C_S" && (c.Replay.Highest != 4 || len(c.Replay.Seen) != 5) {
				t.Errorf("S's replay window %+v, want highest 4 and every number below seen", c.Replay)
			}
		}
	}
	r = send(t, lab, s.Steps[1])
	if r.Code != "2.05" || len(eventsOf(bus, trace.TypeDatagram, r.Exchange)) != 2 {
		t.Errorf("second request: %+v, want 2.05 in one round trip", r)
	}
}
