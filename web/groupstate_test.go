package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserGroupStateOnStageAndPanel: replaying group-direct, the
// topology stage and the node panel show each member's side of the group
// context as at the replay's step (RFC 10021 2.2, 2.6): before any message
// S1's window for the client's kid is empty; at the end it holds the
// client's last Partial IV, and the client's Sender Sequence Number is the
// lab's.
func TestBrowserGroupStateOnStageAndPanel(t *testing.T) {
	tl := newTestLab(t, "group-direct")
	st := tl.lab.Scenario().Steps[0]
	tl.send(st) // the outcome is checked below, in the lab's group contexts
	tl.send(st)
	events := tl.bus.Recent()
	c, _ := tl.lab.GroupSide("GRP", "C")
	s1, _ := tl.lab.GroupSide("GRP", "S1")
	var s1Windows, s1Empty []string
	for _, r := range s1.Recipients {
		s1Windows = append(s1Windows, fmt.Sprintf("%s:%d", r.KID, r.Highest))
		s1Empty = append(s1Empty, r.KID+":-1")
	}
	final, empty := strings.Join(s1Windows, " "), strings.Join(s1Empty, " ")
	if !strings.Contains(final, "01:1") {
		t.Fatalf("S1's windows after two requests: %s, want the client's kid 01 at 1", final)
	}

	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the two exchanges", fmt.Sprintf(`oscoreLab.store.events.length === %d`, len(events)))
	run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`), chromedp.Click(`[data-testid="tool-topo-stage"]`))
	waitJS(t, ctx, "the stage", `!document.querySelector('[data-testid="topo-stage"]').hidden && document.querySelector('[data-testid="stage-node"][data-node="S1"]')`)
	stage := func(node, what string) string {
		return evalJS[string](t, ctx, fmt.Sprintf(`(document.querySelector('[data-testid="stage-state"][data-node=%q][data-ctx="GRP"]') || {dataset: {}}).dataset.%s || ''`, node, what))
	}
	panel := func(node, sel, attr string) string {
		return evalJS[string](t, ctx, fmt.Sprintf(`(e => e ? (%q ? e.dataset[%q] : e.textContent) : '')(document.querySelector('[data-testid="node-card"][data-node=%q] [data-ctx="GRP"] %s'))`, attr, attr, node, sel))
	}
	evalJS[any](t, ctx, `oscoreLab.replay.seek(0); 0`)
	if got := stage("S1", "recipients"); got != empty {
		t.Errorf("before any message the stage shows S1's GRP windows %q, want %q (all empty)", got, empty)
	}
	if got, want := stage("C", "seq"), fmt.Sprint(c.SenderSeq-2); got != want {
		t.Errorf("before any message the stage shows C's GRP seq %q, want %s", got, want)
	}
	if got := panel("S1", `[data-testid="group-window"][data-kid="01"]`, "highest"); got != "-1" {
		t.Errorf("before any message the panel shows S1's window for kid 01 at %q, want -1", got)
	}
	evalJS[any](t, ctx, `oscoreLab.replay.end(); 0`)
	waitJS(t, ctx, "the last step", `oscoreLab.replay.atEnd()`)
	if got := stage("S1", "recipients"); got != final {
		t.Errorf("at the end the stage shows S1's GRP windows %q, the lab has %q", got, final)
	}
	if got, want := stage("C", "seq"), fmt.Sprint(c.SenderSeq); got != want {
		t.Errorf("at the end the stage shows C's GRP seq %q, the lab has %s", got, want)
	}
	if got := panel("S1", `[data-testid="group-window"][data-kid="01"]`, "highest"); got != "1" {
		t.Errorf("at the end the panel shows S1's window for kid 01 at %q, want 1", got)
	}
	if got, want := panel("C", `[data-testid="sender-seq"]`, ""), fmt.Sprint(c.SenderSeq); got != want {
		t.Errorf("at the end the panel shows C's GRP seq %q, the lab has %s", got, want)
	}
	screenshot(t, ctx, "group-state-stage.png")
}
