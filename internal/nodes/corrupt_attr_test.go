package nodes

import (
	"context"
	"testing"
	"time"

	"oscore-lab/internal/trace"
)

// TestCorruptedDatagramStaysInItsExchange: a datagram whose header a fault
// corrupts (its version, its token) is recorded in the exchange of the
// datagram its sender sent, with its fault note, and so is what the
// receiver did with it.
func TestCorruptedDatagramStaysInItsExchange(t *testing.T) {
	for _, tc := range []struct {
		name     string
		byte     int
		receiver bool // the receiver reacts (a version it does not know is ignored silently, RFC 7252 3)
	}{
		{"version", 0, false},
		{"token", 4, true},
		{"ciphertext", 30, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := builtinScenario(t, "draft-b1")
			lab, bus := startLab(t, s)
			st := s.Steps[0]
			st.Expect = nil
			lk, _ := lab.Link("C-P")
			if err := lk.FaultNext("corrupt", "a->b", FaultOptions{Byte: tc.byte}); err != nil {
				t.Fatal(err)
			}
			// A corrupted token never matches at the client: it may time out.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			r, _ := lab.Send(ctx, st)
			if r.Exchange == 0 {
				t.Fatal("the send started no exchange")
			}
			var fault, dgram trace.Event
			for _, e := range bus.Recent() {
				if e.Type == trace.TypeFault && e.Fault.Kind == "corrupt" {
					fault = e
				}
			}
			for _, e := range bus.Recent() {
				if e.Type == trace.TypeDatagram && e.Seq == fault.Seq-1 {
					dgram = e
				}
			}
			if fault.Seq == 0 || dgram.Seq == 0 {
				t.Fatal("no corrupt fault or no datagram before it")
			}
			if fault.Exchange != r.Exchange || dgram.Exchange != r.Exchange || dgram.Dir != trace.DirRequest || fault.Dir != trace.DirRequest {
				t.Errorf("corrupted datagram in exchange %d (%s), its fault in %d (%s); want exchange %d, request", dgram.Exchange, dgram.Dir, fault.Exchange, fault.Dir, r.Exchange)
			}
			if !tc.receiver {
				return
			}
			// The receiver's first event after the corrupted datagram is its reaction.
			for _, e := range bus.Recent() {
				if e.Seq > fault.Seq && e.Node == "P" {
					if e.Exchange != r.Exchange {
						t.Errorf("P's reaction (%s %s) is in exchange %d, want %d", e.Type, e.Note, e.Exchange, r.Exchange)
					}
					break
				}
			}
		})
	}
}

// TestReplayFromKeepsFewSockets: replays on demand cannot pile up sockets;
// a link keeps at most maxAttackers of them, and refuses a sender that is
// not one of its ends.
func TestReplayFromKeepsFewSockets(t *testing.T) {
	s := builtinScenario(t, "draft-b1")
	lab, bus := startLab(t, s)
	st := s.Steps[0]
	st.Expect = nil
	send(t, lab, st)
	var req trace.Event
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram && e.Link == "C-P" && e.Dir == trace.DirRequest {
			req = e
			break
		}
	}
	for i := 0; i < 3*maxAttackers; i++ {
		if err := lab.ReplayDatagram("C-P", "C", req.Bytes, "test"); err != nil {
			t.Fatal(err)
		}
	}
	lk, _ := lab.Link("C-P")
	lk.mu.Lock()
	n := len(lk.attackers)
	lk.mu.Unlock()
	if n > maxAttackers {
		t.Errorf("%d replay sockets open, want at most %d", n, maxAttackers)
	}
	if err := lab.ReplayDatagram("C-P", "S", req.Bytes, "test"); err == nil {
		t.Error("a replay as S on C-P was accepted")
	}
	if err := lab.ReplayDatagram("C-X", "C", req.Bytes, "test"); err == nil {
		t.Error("a replay on a missing link was accepted")
	}
}
