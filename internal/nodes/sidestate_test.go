package nodes

import (
	"testing"

	"oscore-lab/internal/trace"
)

// TestLayerEventsCarrySideState: every layer event of a draft-b3 run says
// what the acting node's side of the context held right after the action:
// a request protected with Partial IV n leaves n+1 as the next Sender
// Sequence Number, and a request unprotected with Partial IV n leaves n as
// the highest number of the replay window (RFC 8613 7.2.1, 7.4).
func TestLayerEventsCarrySideState(t *testing.T) {
	lab, bus := startLab(t, builtinScenario(t, "draft-b3"))
	sc := builtinScenario(t, "draft-b3")
	send(t, lab, sc.Steps[0])
	send(t, lab, sc.Steps[0])
	layers := eventsOf(bus, trace.TypeLayer, 0)
	if len(layers) < 8 {
		t.Fatalf("two exchanges gave %d layer events", len(layers))
	}
	for _, e := range layers {
		l := e.Layer_
		st, rep := l.State, l.Report.Complete()
		if st == nil {
			t.Errorf("#%d %s %s: no side state (report %v)", e.Seq, e.Node, l.Action, rep != nil)
			continue
		}
		if st.Window != 32 {
			t.Errorf("#%d: window %d, want the default 32", e.Seq, st.Window)
		}
		if rep == nil || rep.Message != trace.DirRequest || rep.Seq < 0 {
			continue
		}
		switch l.Action {
		case trace.LayerApplied:
			if st.SenderSeq != uint64(rep.Seq)+1 {
				t.Errorf("#%d %s applied %s with Partial IV %d: next sender seq %d, want %d", e.Seq, e.Node, rep.Context, rep.Seq, st.SenderSeq, rep.Seq+1)
			}
		case trace.LayerRemoved:
			if st.Highest != rep.Seq || len(st.Seen) == 0 || st.Seen[0] != uint64(rep.Seq) {
				t.Errorf("#%d %s removed %s with Partial IV %d: window highest %d seen %v", e.Seq, e.Node, rep.Context, rep.Seq, st.Highest, st.Seen)
			}
		}
	}
	// The second exchange's C-S request came after the first: the server's
	// window holds both numbers.
	var last *trace.SideState
	for _, e := range layers {
		if e.Node == "S" && e.Layer_.Action == trace.LayerRemoved && e.Layer_.Report.Context == "CTX_C_S" {
			last = e.Layer_.State
		}
	}
	if last == nil || len(last.Seen) != 2 {
		t.Errorf("S's CTX_C_S window after two requests: %+v, want two numbers seen", last)
	}
}
