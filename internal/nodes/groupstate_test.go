package nodes

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/trace"
)

// TestGroupLayerEventsCarrySideState: every Group OSCORE layer event of two
// group-direct exchanges says what the acting member's side of GRP held
// right after the action: the client's next Sender Sequence Number follows
// the Partial IV it protected with (RFC 10021 3.2; RFC 8613 7.2.1), each
// member's window for the client's kid has the request's Partial IV as its
// highest (RFC 10021 2.6, 7.2), and the last event of each node agrees with
// the group context the lab holds once the exchanges are over.
func TestGroupLayerEventsCarrySideState(t *testing.T) {
	sc := builtinScenario(t, "group-direct")
	lab, bus := startLab(t, sc)
	send(t, lab, sc.Steps[0])
	send(t, lab, sc.Steps[0])
	last := map[string]*trace.SideState{}
	n := 0
	for _, e := range eventsOf(bus, trace.TypeLayer, 0) {
		l := e.Layer_
		rep := l.Report.Complete()
		if rep == nil || rep.Context != "GRP" {
			continue
		}
		n++
		st := l.State
		if st == nil {
			t.Errorf("#%d %s %s %s: no side state", e.Seq, e.Node, l.Action, rep.Message)
			continue
		}
		last[e.Node] = st
		if len(st.Recipients) == 0 {
			t.Errorf("#%d %s: no recipient windows", e.Seq, e.Node)
		}
		for _, r := range st.Recipients {
			if r.Window != 32 {
				t.Errorf("#%d %s: window of kid %s is %d, want the default 32", e.Seq, e.Node, r.KID, r.Window)
			}
		}
		if rep.Message != trace.DirRequest || rep.Seq < 0 {
			continue
		}
		switch l.Action {
		case trace.LayerApplied:
			if st.SenderSeq != uint64(rep.Seq)+1 {
				t.Errorf("#%d %s protected with Partial IV %d: next sender seq %d, want %d", e.Seq, e.Node, rep.Seq, st.SenderSeq, rep.Seq+1)
			}
		case trace.LayerRemoved:
			w := recipientWindow(st, fmt.Sprintf("%x", []byte(rep.KID)))
			if w == nil || w.Highest != rep.Seq || len(w.Seen) == 0 || w.Seen[0] != uint64(rep.Seq) {
				t.Errorf("#%d %s took Partial IV %d from kid %s: its window %+v", e.Seq, e.Node, rep.Seq, rep.KID, w)
			}
		}
	}
	// C protects two requests and removes three responses per exchange;
	// each member removes a request and protects a response.
	if n != 2*(1+3+3*2) {
		t.Errorf("%d GRP layer events, want %d", n, 2*(1+3+3*2))
	}
	for node, c := range lab.topo.Load().groupCtx["GRP"] {
		st := last[node]
		if st == nil {
			t.Errorf("%s: no GRP layer event", node)
			continue
		}
		if st.SenderSeq != c.SenderSeq() {
			t.Errorf("%s: last event says sender seq %d, the context has %d", node, st.SenderSeq, c.SenderSeq())
		}
		rs := c.Recipients()
		if len(rs) != len(st.Recipients) {
			t.Errorf("%s: last event has %d recipient windows, the context %d", node, len(st.Recipients), len(rs))
		}
		for _, r := range rs {
			w, real := recipientWindow(st, fmt.Sprintf("%x", r.ID())), r.Replay()
			if w == nil || w.Highest != real.Highest || fmt.Sprint(w.Seen) != fmt.Sprint(real.Seen) {
				t.Errorf("%s: kid %x: last event's window %+v, the context's %+v", node, r.ID(), w, real)
			}
		}
	}
	// The members saw the client's Partial IVs 0 and 1 (or its pins).
	if w := recipientWindow(last["S1"], "01"); w == nil || len(w.Seen) != 2 {
		t.Errorf("S1's window for the client after two requests: %+v, want two numbers seen", w)
	}
	// A redacted export keeps the side state, which holds no key, and
	// leaves out the group layers' keys.
	var out bytes.Buffer
	if err := trace.WriteJSON(&out, lab.Trace(), false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), `"key":"`) {
		t.Errorf("the redacted export holds a derived key")
	}
	back, err := trace.ReadJSON(&out)
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, e := range back.Events {
		if e.Type == trace.TypeLayer && e.Layer_.Report != nil && e.Layer_.Report.Context == "GRP" && e.Layer_.State != nil && len(e.Layer_.State.Recipients) > 0 {
			kept++
		}
	}
	if kept != n {
		t.Errorf("the redacted export keeps the side state of %d of %d GRP layer events", kept, n)
	}
}

func recipientWindow(st *trace.SideState, kid string) *trace.RecipientWindow {
	if st == nil {
		return nil
	}
	for i := range st.Recipients {
		if st.Recipients[i].KID == kid {
			return &st.Recipients[i]
		}
	}
	return nil
}

// TestGroupLayerEventsAllCarrySideState: in every built-in scenario with a
// group context, each layer event of a group context at one of its
// members carries the member's windows per kid.
func TestGroupLayerEventsAllCarrySideState(t *testing.T) {
	for _, name := range []string{"group-direct", "group-pairwise", "error-group-forged-response", "gp-goscore", "gp-observe", "goscore-layout"} {
		t.Run(name, func(t *testing.T) {
			sc := builtinScenario(t, name)
			lab, bus := startLab(t, sc)
			for _, st := range sc.Steps {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				lab.Send(ctx, st) // refusals are part of some stories
				cancel()
			}
			members := map[string]bool{}
			for _, gc := range sc.GroupContexts {
				for _, m := range gc.Members {
					members[m.Node+"|"+gc.Name] = true
				}
			}
			n := 0
			for _, e := range eventsOf(bus, trace.TypeLayer, 0) {
				rep := e.Layer_.Report
				if rep == nil || !members[e.Node+"|"+rep.Context] {
					continue
				}
				n++
				if e.Layer != 1 {
					t.Errorf("#%d %s %s %s of %s: layer depth %d, want 1 (the group layer is end to end)", e.Seq, e.Node, e.Layer_.Action, rep.Message, rep.Context, e.Layer)
				}
				if st := e.Layer_.State; st == nil || st.Recipients == nil {
					t.Errorf("#%d %s %s %s of %s: side state %+v, want one with recipient windows", e.Seq, e.Node, e.Layer_.Action, rep.Message, rep.Context, st)
				}
			}
			if n == 0 {
				t.Errorf("no group layer event")
			}
			t.Logf("%d group layer events", n)
		})
	}
}

// TestMNGroupLayerEventsCarrySideState: in a group observation under Group
// OSCORE (MN 9), the server's phantom request and notifications and the
// clients' verifications carry the group context's side state; a
// notification protected with the server's Partial IV n leaves n+1 as its
// next Sender Sequence Number.
func TestMNGroupLayerEventsCarrySideState(t *testing.T) {
	spec := figureSpec()
	spec.GroupOSCORE, spec.InitialObserve, spec.Notifications = true, 1, []MNNotify{{Value: "5678", Observe: 2}}
	_, evs := runMN(t, spec)
	n := 0
	for _, e := range evs {
		l := e.Layer_
		if e.Type != trace.TypeLayer || l.Report == nil || l.Report.Group == nil {
			continue
		}
		n++
		st, rep := l.State, l.Report
		if st == nil || st.Recipients == nil {
			t.Errorf("#%d %s %s %s of %s: side state %+v", e.Seq, e.Node, l.Action, rep.Message, rep.Context, st)
			continue
		}
		if e.Node == "S" && l.Action == trace.LayerApplied && rep.Seq >= 0 && st.SenderSeq != uint64(rep.Seq)+1 {
			t.Errorf("#%d S protected with Partial IV %d: next sender seq %d", e.Seq, rep.Seq, st.SenderSeq)
		}
	}
	if n < 6 {
		t.Errorf("%d group layer events, want the phantom, two notifications at S and their verifications at C1, C2", n)
	}
}
