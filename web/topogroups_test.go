package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/scenario"
)

// TestBrowserTopologyGroupEditable: the topology editor adds a group of
// the two servers with a Group OSCORE context shared with the client; the
// drawing shows the group and its links to the members; the running lab
// then answers a group request from both members over real loopback UDP.
// Removing a member node lists its memberships and clears them; removing
// the group takes its context with it.
func TestBrowserTopologyGroupEditable(t *testing.T) {
	sc, err := scenario.Parse([]byte(`{"name": "group-edit", "nodes": [
 {"id": "C", "role": "client"},
 {"id": "S1", "role": "server", "resources": ["temp=text:21.1"]},
 {"id": "S2", "role": "server", "resources": ["temp=text:21.2"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tl := newTestLabFrom(t, sc, Options{Version: "test", StateInterval: 200 * time.Millisecond})
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run(t, ctx, chromedp.Click(`[data-testid="group-section"] summary`),
		chromedp.SetValue(`[data-testid="add-group-id"]`, "G"), chromedp.Click(`[data-testid="add-group"]`))
	waitJS(t, ctx, "group G in the scenario", `(oscoreLab.store.scenario.groups || []).some(g => g.id === 'G' && g.context === 'GRP_G' && g.members.length === 2)`)
	waitJS(t, ctx, "G drawn with its links", `document.querySelector('[data-testid="topology"] [data-testid="topo-node"][data-node="G"]') &&
		document.querySelector('[data-testid="topo-link"][data-link="G-S1"]') && document.querySelector('[data-testid="topo-link"][data-link="G-S2"]')`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="topo-node"][data-node="G"]').textContent`); !strings.Contains(got, "group") {
		t.Errorf("the group's node reads %q, want it called a group", got)
	}

	running := tl.lab.Scenario()
	if len(running.Groups) != 1 || len(running.GroupContexts) != 1 || len(running.GroupContexts[0].Members) != 3 {
		t.Fatalf("the running lab has groups %+v and group contexts %+v", running.Groups, running.GroupContexts)
	}
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := tl.lab.Send(rctx, scenario.Step{Name: "to G", From: "C", Method: "GET", URI: "coap://G/temp", To: "G"})
	if err != nil || !res.OK || len(res.Responses) != 2 {
		t.Fatalf("group request in the edited lab: %v ok %v %s %+v", err, res.OK, res.Problem, res.Responses)
	}

	run(t, ctx, chromedp.Click(`[data-testid="remove-node-S2"]`))
	waitJS(t, ctx, "the references of S2", `document.querySelector('[data-testid="ref-confirm"]')`)
	refs := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="ref-item"]')].map(e => e.textContent).join('; ')`)
	for _, want := range []string{"member of group G", "member of group context GRP_G"} {
		if !strings.Contains(refs, want) {
			t.Errorf("removing S2 lists %q, missing %q", refs, want)
		}
	}
	run(t, ctx, chromedp.Click(`[data-testid="ref-clear"]`))
	waitJS(t, ctx, "S2 gone from the group", `!oscoreLab.store.scenario.nodes.some(n => n.id === 'S2') && oscoreLab.store.scenario.groups[0].members.length === 1`)

	run(t, ctx, chromedp.Click(`[data-testid="remove-group-G"]`))
	waitJS(t, ctx, "G removed", `!oscoreLab.store.scenario.groups && !oscoreLab.store.scenario.group_contexts && !document.querySelector('[data-testid="topo-node"][data-node="G"]')`)
	if running := tl.lab.Scenario(); len(running.Groups) != 0 || len(running.GroupContexts) != 0 {
		t.Errorf("the running lab keeps groups %+v and group contexts %+v", running.Groups, running.GroupContexts)
	}
}
