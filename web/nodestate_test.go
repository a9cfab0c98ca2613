package web

import (
	"encoding/json"
	"fmt"
	"testing"

	"oscore-lab/internal/trace"
)

// sideView is one node's side of one context as Go and JavaScript report it.
type sideView struct {
	SenderSeq uint64   `json:"senderSeq"`
	Highest   int64    `json:"highest"`
	Seen      []uint64 `json:"seen"`
}

func (s sideView) String() string {
	return fmt.Sprintf("seq %d highest %d seen %v", s.SenderSeq, s.Highest, s.Seen)
}

func (s sideView) equal(o sideView) bool {
	if s.SenderSeq != o.SenderSeq || s.Highest != o.Highest || len(s.Seen) != len(o.Seen) {
		return false
	}
	for i := range s.Seen {
		if s.Seen[i] != o.Seen[i] {
			return false
		}
	}
	return true
}

// labSides reads every node's contexts from the running lab.
func labSides(tl *testLab) map[string]sideView {
	out := map[string]sideView{}
	for _, n := range tl.lab.State().Nodes {
		for _, c := range n.Contexts {
			seen := c.Replay.Seen
			if len(seen) > trace.MaxSideSeen {
				seen = seen[:trace.MaxSideSeen]
			}
			out[n.ID+"|"+c.Name] = sideView{SenderSeq: c.SenderSeq, Highest: c.Replay.Highest, Seen: append([]uint64{}, seen...)}
		}
	}
	return out
}

// TestBrowserNodeStateAgreesWithLab: static/js/nodestate.js, which the
// replay and the topology stage use, rebuilds from a trace the state the
// lab's contexts really had. Before the first event it must give what the
// lab held before any step ran (pinned sequence numbers, empty windows),
// and after the last event what the lab holds at the end, for every node
// and context the trace names, in scenarios with pins, replays refused by
// the window, responses with their own Partial IV and an Echo round trip.
func TestBrowserNodeStateAgreesWithLab(t *testing.T) {
	ctx := modulePage(t)
	for _, name := range []string{"draft-b6", "error-replay", "rfc8613-c8", "freshness-echo", "draft-b3"} {
		t.Run(name, func(t *testing.T) {
			tl := newTestLab(t, name)
			before := labSides(tl)
			for _, st := range tl.lab.Scenario().Steps {
				tl.send(st) // refusals are part of the story
			}
			after := labSides(tl)
			events := tl.bus.Recent()
			js, _ := json.Marshal(events)
			got := evalJS[map[string]map[string]sideView](t, ctx, `import('/static/js/nodestate.js').then(({ nodeStateAt }) => {
				const evs = `+string(js)+`;
				const pick = (m) => Object.fromEntries([...m].map(([k, s]) => [k, {senderSeq: s.senderSeq, highest: s.highest, seen: s.seen}]));
				return {start: pick(nodeStateAt(evs, 0)), end: pick(nodeStateAt(evs, evs.length))};
			})`)
			if len(got["start"]) == 0 {
				t.Fatalf("JavaScript found no side state in %d events", len(events))
			}
			for k, js := range got["start"] {
				if g, ok := before[k]; !ok || !g.equal(js) {
					t.Errorf("%s before any event: JavaScript %v, the lab had %v", k, js, g)
				}
			}
			for k, js := range got["end"] {
				if g, ok := after[k]; !ok || !g.equal(js) {
					t.Errorf("%s after the last event: JavaScript %v, the lab has %v", k, js, g)
				}
			}
			t.Logf("%d events, %d node contexts rebuilt", len(events), len(got["end"]))
		})
	}
}

// groupSideView is one member's side of a group context: its Sender
// Sequence Number and a window per kid.
type groupSideView struct {
	SenderSeq  uint64              `json:"senderSeq"`
	Recipients map[string]sideView `json:"recipients"`
}

func (g groupSideView) equal(o groupSideView) bool {
	if g.SenderSeq != o.SenderSeq || len(g.Recipients) != len(o.Recipients) {
		return false
	}
	for k, r := range g.Recipients {
		if or, ok := o.Recipients[k]; !ok || !r.equal(or) {
			return false
		}
	}
	return true
}

// labGroupSides reads every member's side of every group context.
func labGroupSides(tl *testLab) map[string]groupSideView {
	out := map[string]groupSideView{}
	for _, gc := range tl.lab.Scenario().GroupContexts {
		for _, m := range gc.Members {
			st, ok := tl.lab.GroupSide(gc.Name, m.Node)
			if !ok {
				continue
			}
			v := groupSideView{SenderSeq: st.SenderSeq, Recipients: map[string]sideView{}}
			for _, r := range st.Recipients {
				v.Recipients[r.KID] = sideView{Highest: r.Highest, Seen: append([]uint64{}, r.Seen...)}
			}
			out[m.Node+"|"+gc.Name] = v
		}
	}
	return out
}

// TestBrowserGroupNodeStateAgreesWithLab: nodestate.js rebuilds from a
// Group OSCORE trace what each member's group context held (RFC 10021
// 2.2, 2.6): before the first event, the fresh context of every member
// (nothing sent, every window empty); after the last, the lab's own
// Sender Sequence Numbers and per-kid replay windows.
func TestBrowserGroupNodeStateAgreesWithLab(t *testing.T) {
	ctx := modulePage(t)
	tl := newTestLab(t, "group-direct")
	before := labGroupSides(tl)
	for _, st := range tl.lab.Scenario().Steps {
		tl.send(st)
		tl.send(st) // twice: the members' windows hold two numbers
	}
	after := labGroupSides(tl)
	js, _ := json.Marshal(tl.bus.Recent())
	got := evalJS[map[string]map[string]groupSideView](t, ctx, `import('/static/js/nodestate.js').then(({ nodeStateAt }) => {
		const evs = `+string(js)+`;
		const pick = (m) => Object.fromEntries([...m].filter(([, s]) => s.recipients).map(([k, s]) => [k, {senderSeq: s.senderSeq,
			recipients: Object.fromEntries(s.recipients.map((r) => [r.kid, {highest: r.highest, seen: r.seen}]))}]));
		return {start: pick(nodeStateAt(evs, 0)), end: pick(nodeStateAt(evs, evs.length))};
	})`)
	if len(got["end"]) != len(after) || len(after) == 0 {
		t.Fatalf("JavaScript rebuilt %d group member states, the lab has %d", len(got["end"]), len(after))
	}
	for k, g := range before {
		if js, ok := got["start"][k]; !ok || !g.equal(js) {
			t.Errorf("%s before any event: JavaScript %+v, the lab had %+v", k, js, g)
		}
	}
	for k, g := range after {
		if js, ok := got["end"][k]; !ok || !g.equal(js) {
			t.Errorf("%s after the last event: JavaScript %+v, the lab has %+v", k, js, g)
		}
	}
	if w := after["S1|GRP"].Recipients["01"]; len(w.Seen) != 2 {
		t.Errorf("S1's window for the client after two requests: %v", w)
	}
}
