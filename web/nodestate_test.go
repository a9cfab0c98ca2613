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
