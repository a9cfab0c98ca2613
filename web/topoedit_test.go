package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// sevenNodes is a topology of seven nodes (two clients, three proxies of
// three kinds, two servers) with a context between most neighbours and
// some across, so that labels compete for the same places.
const sevenNodes = `{"name": "seven-nodes", "nodes": [
 {"id": "C1", "role": "client"}, {"id": "C2", "role": "client"},
 {"id": "P1", "role": "proxy", "forward": true, "upstream": "P2", "reverse": [{"host": "one.example", "to": "S1"}]},
 {"id": "P2", "role": "proxy", "forward": true},
 {"id": "P3", "role": "proxy", "reverse": [{"host": "two.example", "to": "S2"}]},
 {"id": "S1", "role": "server", "authority": "s1.example"}, {"id": "S2", "role": "server", "authority": "s2.example"}],
 "contexts": [
 {"name": "CTX_C1_S1", "a": {"node": "C1", "sender_id": "01", "recipient_id": "02"}, "b": {"node": "S1", "sender_id": "02", "recipient_id": "01"}, "master_secret": "0102030405060708090a0b0c0d0e0f10"},
 {"name": "CTX_C2_S2", "a": {"node": "C2", "sender_id": "03", "recipient_id": "04"}, "b": {"node": "S2", "sender_id": "04", "recipient_id": "03"}, "master_secret": "0102030405060708090a0b0c0d0e0f11"},
 {"name": "CTX_C1_P1", "a": {"node": "C1", "sender_id": "05", "recipient_id": "06"}, "b": {"node": "P1", "sender_id": "06", "recipient_id": "05"}, "master_secret": "0102030405060708090a0b0c0d0e0f12"},
 {"name": "CTX_C2_P1", "a": {"node": "C2", "sender_id": "07", "recipient_id": "08"}, "b": {"node": "P1", "sender_id": "08", "recipient_id": "07"}, "master_secret": "0102030405060708090a0b0c0d0e0f13"},
 {"name": "CTX_P1_P2", "a": {"node": "P1", "sender_id": "09", "recipient_id": "0a"}, "b": {"node": "P2", "sender_id": "0a", "recipient_id": "09"}, "master_secret": "0102030405060708090a0b0c0d0e0f14"},
 {"name": "CTX_P2_P3", "a": {"node": "P2", "sender_id": "0b", "recipient_id": "0c"}, "b": {"node": "P3", "sender_id": "0c", "recipient_id": "0b"}, "master_secret": "0102030405060708090a0b0c0d0e0f15"},
 {"name": "CTX_P1_P3", "a": {"node": "P1", "sender_id": "0d", "recipient_id": "0e"}, "b": {"node": "P3", "sender_id": "0e", "recipient_id": "0d"}, "master_secret": "0102030405060708090a0b0c0d0e0f16"},
 {"name": "CTX_P3_S1", "a": {"node": "P3", "sender_id": "0f", "recipient_id": "10"}, "b": {"node": "S1", "sender_id": "10", "recipient_id": "0f"}, "master_secret": "0102030405060708090a0b0c0d0e0f17"},
 {"name": "CTX_P3_S2", "a": {"node": "P3", "sender_id": "11", "recipient_id": "12"}, "b": {"node": "S2", "sender_id": "12", "recipient_id": "11"}, "master_secret": "0102030405060708090a0b0c0d0e0f18"},
 {"name": "CTX_C1_S2", "a": {"node": "C1", "sender_id": "13", "recipient_id": "14"}, "b": {"node": "S2", "sender_id": "14", "recipient_id": "13"}, "master_secret": "0102030405060708090a0b0c0d0e0f19"}]}`

// labelOverlaps lists the pairs of labels under root whose boxes on screen
// intersect, and how many labels there are.
const labelOverlaps = `((sel) => {
  const els = [...document.querySelectorAll(sel)].filter((e) => e.getBoundingClientRect().width > 0);
  const r = els.map((e) => e.getBoundingClientRect());
  const bad = [];
  for (let i = 0; i < r.length; i++) for (let j = i + 1; j < r.length; j++) {
    const a = r[i], b = r[j];
    if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) bad.push(els[i].textContent + ' / ' + els[j].textContent);
  }
  return [String(els.length), ...bad];
})`

// TestBrowserTopologyLabelsNeverOverlap: with seven nodes and ten
// contexts, no two labels of the topology (node ids, roles, context names)
// meet, in the editor's drawing or on the topology stage.
func TestBrowserTopologyLabelsNeverOverlap(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx := newTab(t)
	viewport(t, ctx, 1280, 720)
	openLab(t, ctx, tl.srv.URL)
	evalJS[any](t, ctx, fmt.Sprintf(`oscoreLab.api.loadFile(%s).then((r) => { oscoreLab.store.setScenario(r.scenario, r.rev, r.epoch); return 0; })`, jsString(sevenNodes)))
	waitJS(t, ctx, "the seven nodes", `document.querySelectorAll('[data-testid="topology"] [data-testid="topo-node"]').length === 7`)
	check := func(what, sel string, want int) {
		t.Helper()
		got := evalJS[[]string](t, ctx, labelOverlaps+`(`+jsString(sel)+`)`)
		if got[0] != fmt.Sprint(want) {
			t.Errorf("%s: %s labels, want %d", what, got[0], want)
		}
		if len(got) > 1 {
			t.Errorf("%s: %d pairs of labels overlap:\n  %s", what, len(got)-1, strings.Join(got[1:], "\n  "))
		}
	}
	// 7 ids, 7 roles, 10 context names.
	check("topology view", `[data-testid="topology"] [data-testid="topo-label"]`, 24)
	run(t, ctx, chromedp.Click(`[data-testid="tool-topo-stage"]`))
	waitJS(t, ctx, "the stage", `document.querySelectorAll('[data-testid="stage-node"]').length === 7`)
	// On the stage each node also lists its contexts (two labels each).
	check("topology stage", `[data-testid="topo-stage"] [data-testid="stage-label"]`, 24+2*20)
	audit(t, ctx, "topology stage with seven nodes", `[data-testid="topo-stage"]`, 18)
	// Drawn again on a larger screen, the labels stay apart.
	viewport(t, ctx, 1920, 1080)
	evalJS[any](t, ctx, `oscoreLab.topoStage.show(false); oscoreLab.topoStage.show(true); 0`)
	check("topology stage at 1920x1080", `[data-testid="topo-stage"] [data-testid="stage-label"]`, 24+2*20)
	screenshot(t, ctx, "topology-seven-nodes.png")
}

// TestBrowserTopologyLinksEditable: links are listed and edited in the
// editor: a pair that starts talking becomes a link the fault form offers
// at once; a link is added and removed; removing a link that routing
// implies, or a node that others name, lists what names it and clears
// those on request instead of failing validation.
func TestBrowserTopologyLinksEditable(t *testing.T) {
	tl := newTestLab(t, "draft-b6")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run(t, ctx, chromedp.Click(`[data-testid="link-section"] summary`), chromedp.Click(`[data-testid="fault-section"] summary`))
	options := func() string {
		return evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="fault-link"] option')].map(o => o.value).join(' ')`)
	}
	if got := options(); got != "P1-P2 P2-S" {
		t.Errorf("before any traffic the fault form offers %q, want the routed links P1-P2 P2-S", got)
	}
	rev := evalJS[int](t, ctx, `oscoreLab.store.rev`)
	tl.sendFirstStep(t)
	waitJS(t, ctx, "the link C-P1 in the fault form", `[...document.querySelectorAll('[data-testid="fault-link"] option')].some(o => o.value === 'C-P1')`)
	if r := evalJS[int](t, ctx, `oscoreLab.store.rev`); r != rev {
		t.Fatalf("the scenario changed (rev %d -> %d): the test needs the links learnt from traffic alone", rev, r)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="link-item"][data-link="C-P1"]').length`); n != 1 {
		t.Errorf("the link list shows C-P1 %d times after traffic, want once", n)
	}

	// Add C-S, see it drawn and listed; remove it.
	run(t, ctx, chromedp.SetValue(`[data-testid="link-a"]`, "C"), chromedp.SetValue(`[data-testid="link-b"]`, "S"), chromedp.Click(`[data-testid="add-link"]`))
	waitJS(t, ctx, "C-S declared", `(oscoreLab.store.scenario.links || []).some(l => l.a === 'C' && l.b === 'S')`)
	waitJS(t, ctx, "C-S drawn", `document.querySelector('[data-testid="topology"] [data-testid="topo-link"][data-link="C-S"]') && document.querySelector('[data-testid="fault-link"] option[value="C-S"]')`)
	run(t, ctx, chromedp.Click(`[data-testid="remove-link-C-S"]`))
	waitJS(t, ctx, "C-S removed", `!(oscoreLab.store.scenario.links || []).some(l => l.a === 'C' && l.b === 'S') && !document.querySelector('[data-testid="topo-link"][data-link="C-S"]')`)

	// P2-S exists because P2 protects for S with CTX_P2_S: removing it asks.
	run(t, ctx, chromedp.Click(`[data-testid="remove-link-P2-S"]`))
	waitJS(t, ctx, "the references of P2-S", `document.querySelector('[data-testid="ref-confirm"]')`)
	if got := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="ref-item"]')].map(e => e.textContent).join('; ')`); got != "P2's next-hop context for S" {
		t.Errorf("removing P2-S lists %q, want P2's next-hop context for S", got)
	}
	run(t, ctx, chromedp.Click(`[data-testid="ref-clear"]`))
	waitJS(t, ctx, "P2's next hop cleared", `!oscoreLab.store.scenario.nodes.find(n => n.id === 'P2').next_hop_contexts`)

	// Removing P2, which P1 names as its upstream and the step routes
	// through: cancel first, then clear.
	run(t, ctx, chromedp.Click(`[data-testid="remove-node-P2"]`))
	waitJS(t, ctx, "the references of P2", `document.querySelector('[data-testid="ref-confirm"]')`)
	refs := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="ref-item"]')].map(e => e.textContent).join('; ')`)
	for _, want := range []string{"its context CTX_P1_P2", "its context CTX_P2_S", "P1's upstream", "P1's next-hop context for P2", "step 1 (GET /alarm_status through P1 and P2)"} {
		if !strings.Contains(refs, want) {
			t.Errorf("removing P2 lists %q, missing %q", refs, want)
		}
	}
	run(t, ctx, chromedp.Click(`[data-testid="ref-cancel"]`))
	waitJS(t, ctx, "the confirmation gone", `!document.querySelector('[data-testid="ref-confirm"]')`)
	if !evalJS[bool](t, ctx, `oscoreLab.store.scenario.nodes.some(n => n.id === 'P2')`) {
		t.Fatal("Cancel removed P2")
	}
	run(t, ctx, chromedp.Click(`[data-testid="remove-node-P2"]`), chromedp.Click(`[data-testid="ref-clear"]`))
	waitJS(t, ctx, "P2 removed", `!oscoreLab.store.scenario.nodes.some(n => n.id === 'P2')`)
	if st := evalJS[string](t, ctx, `document.querySelector('[data-testid="status"]').className + ' ' + document.querySelector('[data-testid="status"]').textContent`); !strings.Contains(st, "good") || !strings.Contains(st, "removed P2") {
		t.Errorf("after removing P2 the status says %q", st)
	}
	sc := tl.lab.Scenario()
	for _, n := range sc.Nodes {
		if n.ID == "P1" && (n.Upstream != "" || len(n.NextHopContexts) > 0) {
			t.Errorf("the running P1 still names P2: %+v", n)
		}
	}
	if len(sc.Steps) != 0 || len(sc.Contexts) != 2 {
		t.Errorf("the running scenario keeps %d steps and %d contexts, want 0 and 2 (CTX_C_S, CTX_C_P1)", len(sc.Steps), len(sc.Contexts))
	}
}

// TestBrowserRemoveGroupMember: removing a server that is a member of a
// group and of its Group OSCORE context, and whose answer the group step
// expects, lists the memberships and the expectation and, on Clear, leaves
// the group and the context with the other members.
func TestBrowserRemoveGroupMember(t *testing.T) {
	tl := newTestLab(t, "group-direct")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run(t, ctx, chromedp.Click(`[data-testid="remove-node-S1"]`))
	waitJS(t, ctx, "the references of S1", `document.querySelector('[data-testid="ref-confirm"]')`)
	refs := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="ref-item"]')].map(e => e.textContent).join('; ')`)
	for _, want := range []string{"member of group G", "member of group context GRP", "step 1's expected answer from S1"} {
		if !strings.Contains(refs, want) {
			t.Errorf("removing S1 lists %q, missing %q", refs, want)
		}
	}
	run(t, ctx, chromedp.Click(`[data-testid="ref-clear"]`))
	waitJS(t, ctx, "S1 removed", `!oscoreLab.store.scenario.nodes.some(n => n.id === 'S1')`)
	sc := tl.lab.Scenario()
	if len(sc.Groups) != 1 || len(sc.Groups[0].Members) != 2 || len(sc.GroupContexts) != 1 || len(sc.GroupContexts[0].Members) != 3 {
		t.Errorf("after removing S1 the lab runs groups %+v and group contexts of %d members", sc.Groups, len(sc.GroupContexts[0].Members))
	}
}
