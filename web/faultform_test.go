package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/scenario"
)

// TestBrowserFaultFormLabelled: every field of the Link faults form has a
// label saying what it is, each kind shows exactly the fields it takes,
// directions are named by the link's nodes, and the replay and strip
// fields (replay_of, code, payload) reach the running scenario.
func TestBrowserFaultFormLabelled(t *testing.T) {
	tl := newTestLab(t, "draft-b1")
	tl.sendFirstStep(t)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run(t, ctx, chromedp.Click(`[data-testid="fault-section"] summary`))
	waitJS(t, ctx, "the link C-P offered", `[...document.querySelectorAll('[data-testid="fault-link"] option')].some(o => o.value === 'C-P')`)
	setSelect := func(testid, value string) {
		t.Helper()
		evalJS[bool](t, ctx, fmt.Sprintf(`(() => { const s = document.querySelector('[data-testid=%q]'); s.value = %q; s.dispatchEvent(new Event('change')); return s.value === %q; })()`, testid, value, value))
	}
	setSelect("fault-link", "C-P")
	if got := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="fault-dir"] option')].map(o => o.textContent).join('|')`); got != "both ways|C → P|P → C" {
		t.Errorf("directions %q, want both ways|C → P|P → C", got)
	}
	for kind, want := range map[string]string{
		"drop": "", "duplicate": "", "delay": "delay", "corrupt": "byte", "replay": "replay_of", "strip": "code payload",
	} {
		setSelect("fault-kind", kind)
		// Every control on screen sits in a label with text.
		unlabelled := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="fault-section"] .ff-form input, [data-testid="fault-section"] .ff-form select')]
			.filter(x => x.offsetParent !== null)
			.filter(x => !(x.labels && x.labels.length && x.labels[0].textContent.replace(x.textContent, '').trim().length > 2))
			.map(x => x.dataset.testid || x.outerHTML.slice(0, 60))`)
		if len(unlabelled) > 0 {
			t.Errorf("kind %s: unlabelled fields %v", kind, unlabelled)
		}
		shown := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="fault-section"] .ff-field')].filter(f => !f.hidden && !['link', 'kind', 'dir', 'match'].includes(f.dataset.field)).map(f => f.dataset.field).join(' ')`)
		if shown != want {
			t.Errorf("kind %s shows the fields %q, want %q", kind, shown, want)
		}
		if what := evalJS[string](t, ctx, `document.querySelector('[data-testid="fault-what"]').textContent`); !strings.HasPrefix(what, kind+":") {
			t.Errorf("kind %s explained as %q", kind, what)
		}
	}

	// A replay of the 2nd datagram P -> C in place of the 3rd.
	setSelect("fault-kind", "replay")
	setSelect("fault-dir", "b->a")
	run(t, ctx, chromedp.SetValue(`[data-testid="fault-match"]`, "3"), chromedp.SetValue(`[data-testid="fault-replay-of"]`, "2"), chromedp.Click(`[data-testid="add-fault"]`))
	waitJS(t, ctx, "the replay fault listed", `document.querySelectorAll('[data-testid="fault-item"]').length === 1`)
	// A strip answering 4.04 "gone" in clear.
	setSelect("fault-kind", "strip")
	setSelect("fault-dir", "")
	run(t, ctx, chromedp.SetValue(`[data-testid="fault-match"]`, "0"), chromedp.SetValue(`[data-testid="fault-code"]`, "4.04"), chromedp.SetValue(`[data-testid="fault-payload"]`, "gone"), chromedp.Click(`[data-testid="add-fault"]`))
	waitJS(t, ctx, "the strip fault listed", `document.querySelectorAll('[data-testid="fault-item"]').length === 2`)

	var got []scenario.Fault
	for _, l := range tl.lab.Scenario().Links {
		if (l.A == "C" && l.B == "P") || (l.A == "P" && l.B == "C") {
			got = l.Faults
			if l.A == "P" { // the stored link names its ends the other way round
				t.Logf("link stored as %s-%s", l.A, l.B)
			}
		}
	}
	want := []scenario.Fault{{Kind: "replay", Dir: "b->a", Match: 3, ReplayOf: 2}, {Kind: "strip", Code: "4.04", Payload: "gone"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("running faults on C-P %+v, want %+v", got, want)
	}
	items := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="fault-item"]')].map(li => li.firstChild.textContent).join('\n')`)
	for _, s := range []string{"C-P: replay, the 3rd datagram P→C from when it was set; bytes of the 2nd datagram P→C", `C-P: strip, every datagram both ways; answer 4.04 "gone"`} {
		if !strings.Contains(items, s) {
			t.Errorf("fault list %q lacks %q", items, s)
		}
	}
}
