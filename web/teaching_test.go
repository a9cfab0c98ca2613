package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"oscore-lab/internal/trace"
)

// currentChips lists the layer chips of the newest datagram row on screen,
// outermost first.
const currentChips = `(() => { const r = [...document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]')].sort((a, b) => a.dataset.seq - b.dataset.seq).pop();
  return r ? r.dataset.from + '>' + r.dataset.to + ' ' + [...r.querySelectorAll('[data-testid="layer-chip"]')].map(c => c.dataset.ctx).join(' ') : ''; })()`

const datagramRows = `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length`

// replayHashAtCursor is true once the URL fragment names the replay's
// position (the fragment follows the cursor within 100 ms).
const replayHashAtCursor = `(() => { const p = oscoreLab.replay.position(); return location.hash === (p.exchange ? '#ex=' + p.exchange + '&step=' + p.exStep : '#step=' + p.step); })()`

func key(t *testing.T, ctx context.Context, k string) {
	t.Helper()
	run(t, ctx, chromedp.KeyEvent(k))
}

// openDraftB6 runs draft-b6's first step in a new lab and opens the lab in
// a new tab once its six datagrams are on screen.
func openDraftB6(t *testing.T) (*testLab, context.Context) {
	t.Helper()
	tl := newTestLab(t, "draft-b6")
	tl.sendFirstStep(t)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "six datagrams", datagramRows+` >= 6`)
	return tl, ctx
}

// TestBrowserReplayDraftB6 steps through two forward-proxies and four
// layers: the diagram shows only what happened up to the cursor, and the
// chips change hop by hop as each proxy removes its layer and adds the next.
func TestBrowserReplayDraftB6(t *testing.T) {
	tl, ctx := openDraftB6(t)

	run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`))
	waitJS(t, ctx, "replay at step 0", `oscoreLab.replay.active && oscoreLab.replay.cursor === 0 && `+datagramRows+` === 0`)
	hops := []struct{ want, inspector string }{
		{"C>P1 CTX_C_P1 CTX_C_S", "C → P1"},
		{"P1>P2 CTX_P1_P2 CTX_C_S", "P1 → P2"},
		{"P2>S CTX_P2_S CTX_C_S", "P2 → S"},
	}
	var hashes []string
	for i, h := range hops {
		key(t, ctx, " ")
		waitJS(t, ctx, fmt.Sprintf("%d datagram rows", i+1), datagramRows+fmt.Sprintf(` === %d`, i+1))
		if got := evalJS[string](t, ctx, currentChips); got != h.want {
			t.Errorf("step %d: newest arrow %q, want %q (outermost first)", i+1, got, h.want)
		}
		waitJS(t, ctx, "the inspector on the current message", fmt.Sprintf(`(document.querySelector('[data-testid="insp-summary"]')?.textContent || '').startsWith(%q)`, h.inspector))
		waitJS(t, ctx, "the fragment on the cursor", replayHashAtCursor)
		hashes = append(hashes, evalJS[string](t, ctx, `location.hash`))
	}
	if !strings.HasPrefix(hashes[1], "#ex=1&step=") || hashes[1] == hashes[0] {
		t.Errorf("URL fragments per step: %q", hashes)
	}
	key(t, ctx, kb.ArrowLeft)
	waitJS(t, ctx, "a step back", datagramRows+` === 2`)
	waitJS(t, ctx, "the fragment on the cursor", replayHashAtCursor)
	if got := evalJS[string](t, ctx, `location.hash`); got != hashes[1] {
		t.Errorf("after a step back the fragment is %q, want %q", got, hashes[1])
	}
	key(t, ctx, kb.ArrowRight)
	waitJS(t, ctx, "a step forward", datagramRows+` === 3`)
	key(t, ctx, "r")
	waitJS(t, ctx, "reset", `oscoreLab.replay.cursor === 0 && `+datagramRows+` === 0`)

	// Presenter mode: one message on stage, its onion from outside in.
	key(t, ctx, " ")
	run(t, ctx, chromedp.Click(`[data-testid="presenter-toggle"]`))
	waitJS(t, ctx, "the stage", `!document.querySelector('[data-testid="presenter-stage"]').hidden && document.querySelectorAll('[data-testid="stage-layer"]').length === 2`)
	if got := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="stage-layer"]')].map(e => e.dataset.ctx).join(' ')`); got != "CTX_C_P1 CTX_C_S" {
		t.Errorf("stage layers %q, want CTX_C_P1 CTX_C_S (outer box first)", got)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="stage-layer"]').textContent`); !strings.Contains(got, "kid") || !strings.Contains(got, "Partial IV") || !strings.Contains(got, "inside: ") {
		t.Errorf("outer box label %q lacks kid, Partial IV or its options", got)
	}
	if evalJS[bool](t, ctx, `document.querySelector('[data-testid="scenario-select"]').checkVisibility()`) {
		t.Error("editing controls still visible in presenter mode")
	}
	key(t, ctx, " ")
	waitJS(t, ctx, "the stage on the next hop", `[...document.querySelectorAll('[data-testid="stage-layer"]')].map(e => e.dataset.ctx).join(' ') === 'CTX_P1_P2 CTX_C_S'`)

	// Quiz: the next hop's question hides the layers until answered, then
	// the reveal explains with the draft's steps.
	run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
	key(t, ctx, "r")
	key(t, ctx, " ")
	waitJS(t, ctx, "a quiz question", `document.querySelector('[data-testid="quiz-card"]') && document.body.classList.contains('quiz-pending')`)
	qtype := evalJS[string](t, ctx, `document.querySelector('[data-testid="quiz-card"]').dataset.question`)
	screenshot(t, ctx, "presenter-quiz.png")
	run(t, ctx, chromedp.Click(`[data-testid="quiz-reveal"]`))
	waitJS(t, ctx, "the reveal", `document.querySelector('[data-testid="quiz-why"]') && !document.body.classList.contains('quiz-pending')`)
	why := evalJS[string](t, ctx, `document.querySelector('[data-testid="quiz-why"]').textContent`)
	answer := evalJS[string](t, ctx, `document.querySelector('[data-testid="quiz-card"]').dataset.answer`)
	if qtype == "class" && (!strings.Contains(why, "Step 1: ") || !strings.Contains(why, "Class "+answer) || !strings.Contains(why, "2.2")) {
		t.Errorf("class reveal %q (answer %q)", why, answer)
	}
	if qtype == "decision" && !strings.Contains(why, "2.4") {
		t.Errorf("decision reveal %q", why)
	}
	// The second question is what P2 does with the request from P1: the
	// P1-P2 layer hides the proxy-related options, so Step 1 finds none and
	// goes to Step 5, which finds the OSCORE option: P2 decrypts (Step 6,
	// draft 2.4). The answer is one of the fixed choices, and the reveal
	// walks through the steps that led there.
	key(t, ctx, " ")
	waitJS(t, ctx, "the second question", `document.querySelector('[data-testid="quiz-card"]') && document.querySelector('[data-testid="quiz-card"]').dataset.answer === ''`)
	choices := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="quiz-choice"]')].map(b => b.dataset.value).join(' ')`)
	run(t, ctx, chromedp.Click(`[data-testid="quiz-choice"]`))
	waitJS(t, ctx, "the answer", `document.querySelector('[data-testid="quiz-score"]')`)
	if s := evalJS[string](t, ctx, `document.querySelector('[data-testid="quiz-score"]').textContent`); !strings.HasPrefix(s, "score ") || choices == "" {
		t.Errorf("score %q, choices %q", s, choices)
	}
	q2 := evalJS[string](t, ctx, `document.querySelector('[data-testid="quiz-card"]').dataset.question`)
	a2 := evalJS[string](t, ctx, `document.querySelector('[data-testid="quiz-card"]').dataset.answer`)
	why2 := evalJS[string](t, ctx, `document.querySelector('[data-testid="quiz-why"]').textContent`)
	if q2 != "decision" || a2 != "6" || !strings.Contains(why2, "P2: Step 1→5") || !strings.Contains(why2, "; Step 5→6") ||
		!strings.Contains(why2, "2.4") || choices != "6 2->4 3->4 5 4 2" {
		t.Errorf("second question %q: answer %q, reveal %q, choices %q; want P2's Step 6 after Steps 1→5 and 5→6 (draft 2.4), among the six fixed choices", q2, a2, why2, choices)
	}
	run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
	screenshot(t, ctx, "presenter.png")

	// A deep link opens the same moment in a fresh page.
	run(t, ctx, chromedp.Navigate(tl.srv.URL+"/?again=1"+hashes[1]))
	waitJS(t, ctx, "the deep-linked step", `document.body.dataset.ready === '1' && oscoreLab.replay.active && `+datagramRows+` === 2`)
	if got := evalJS[string](t, ctx, currentChips); got != hops[1].want {
		t.Errorf("deep link %s shows %q, want %q", hashes[1], got, hops[1].want)
	}
}

// TestBrowserExportOfflineImportCompare exports the run as one HTML file,
// opens it from disk in a browser that has no network, finds the same
// arrows, imports it back into the lab, and compares two runs whose
// Uri-Path differs.
func TestBrowserExportOfflineImportCompare(t *testing.T) {
	path := chromiumPath()
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	_, _, html := get(t, tl.srv.URL+"/api/export.html")
	want := datagrams(traceInHTML(t, html))
	file := filepath.Join(t.TempDir(), "draft-b3-trace.html")
	if err := os.WriteFile(file, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, first := get(t, tl.srv.URL+"/api/trace")

	// Run two: the same scenario reloaded (same keys, tokens and sequence
	// numbers), the request to another resource.
	sc := tl.lab.Scenario()
	if err := tl.lab.Load(sc); err != nil {
		t.Fatal(err)
	}
	step := sc.Steps[0]
	step.URI = strings.Replace(step.URI, "alarm_status", "temperature", 1)
	if step.URI == sc.Steps[0].URI {
		t.Fatalf("draft-b3's first step %q has no alarm_status to change", step.URI)
	}
	if _, err := tl.send(step); err != nil {
		t.Fatal(err)
	}
	_, _, second := get(t, tl.srv.URL+"/api/trace")
	dir := t.TempDir()
	fa, fb := filepath.Join(dir, "run1.json"), filepath.Join(dir, "run2.json")
	os.WriteFile(fa, []byte(first), 0o644)
	os.WriteFile(fb, []byte(second), 0o644)

	t.Run("offline", func(t *testing.T) {
		newTab(t) // skips without chromium, like every browser test
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1400, 900),
			// Every request, loopback included, goes to a proxy that is not there.
			chromedp.ProxyServer("http://127.0.0.1:9"), chromedp.Flag("proxy-bypass-list", "<-loopback>"))
		actx, c1 := chromedp.NewExecAllocator(context.Background(), opts...)
		defer c1()
		bctx, c2 := chromedp.NewContext(actx)
		defer c2()
		ctx, c3 := context.WithTimeout(bctx, 30*time.Second)
		defer c3()
		run(t, ctx, chromedp.Navigate("file://"+file))
		waitJS(t, ctx, "the offline viewer", `document.body.dataset.ready === '1' && document.body.dataset.mode === 'trace'`)
		waitJS(t, ctx, "every arrow", datagramRows+fmt.Sprintf(` === %d`, want))
		if got := evalJS[string](t, ctx, `fetch(`+jsString(tl.srv.URL+"/api/state")+`).then(() => 'reached', () => 'offline')`); got != "offline" {
			t.Errorf("the offline browser reached the lab server (%s): the test proves nothing", got)
		}
		// The teaching tools work from the file too.
		run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`), chromedp.KeyEvent(" "))
		waitJS(t, ctx, "replay in the file", `oscoreLab.replay.active && `+datagramRows+` === 1`)

		// The audience window of a file has no BroadcastChannel peer of the
		// same origin to rely on: it follows through postMessage.
		opened := chromedp.WaitNewTarget(ctx, func(i *target.Info) bool { return strings.HasSuffix(i.URL, "#audience") })
		run(t, ctx, chromedp.Click(`[data-testid="presenter-toggle"]`), chromedp.Click(`[data-testid="audience-open"]`))
		var id target.ID
		select {
		case id = <-opened:
		case <-time.After(10 * time.Second):
			t.Fatal("no audience window opened")
		}
		// The presenter steps on once the audience has caught up; a second
		// chromedp call on the pop-up's target hangs (chromedp, not the page),
		// so the audience is checked with a single poll.
		evalJS[bool](t, ctx, `(() => { const iv = setInterval(() => { if (oscoreLab.presenter.child && oscoreLab.presenter.child.closed === false && oscoreLab.replay.cursor > 0 && !window.__stepped) { window.__stepped = 1; setTimeout(() => oscoreLab.replay.next(), 600); clearInterval(iv); } }, 50); return true; })()`)
		actx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(id))
		defer cancel()
		waitJS(t, actx, "the audience of the file following the presenter to the second hop", `document.body.dataset.audience === '1' && oscoreLab.replay.active && `+
			`[...document.querySelectorAll('[data-testid="stage-layer"]')].map(e => e.dataset.ctx).join(' ') === 'CTX_P_S CTX_C_S'`)
	})

	t.Run("import-and-compare", func(t *testing.T) {
		ctx := newTab(t)
		openLab(t, ctx, tl.srv.URL)
		// Drop the exported HTML onto the lab, as a user would.
		drop := fmt.Sprintf(`(() => { const dt = new DataTransfer(); dt.items.add(new File([%s], 'bug.html', {type: 'text/html'}));
			document.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})); return true; })()`, jsString(html))
		evalJS[bool](t, ctx, drop)
		waitJS(t, ctx, "the imported trace", `document.body.dataset.mode === 'trace' && `+datagramRows+fmt.Sprintf(` === %d`, want))

		run(t, ctx, chromedp.SetUploadFiles(`[data-testid="compare-file"]`, []string{fa, fb}))
		waitJS(t, ctx, "the comparison", `document.querySelector('[data-testid="compare-first"]')`)
		field := evalJS[string](t, ctx, `document.querySelector('[data-testid="compare-first"]').dataset.field`)
		text := evalJS[string](t, ctx, `document.querySelector('[data-testid="compare-first"]').textContent`)
		if !strings.Contains(field, "Uri-Path") || !strings.Contains(text, "alarm_status") || !strings.Contains(text, "temperature") {
			t.Errorf("first difference %q: %q, want the Uri-Path alarm_status vs temperature", field, text)
		}
		if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="compare-row"].first-diff').length`); n != 1 {
			t.Errorf("%d rows marked as the first difference", n)
		}
		run(t, ctx, chromedp.ScrollIntoView(`[data-testid="view-compare"]`))
		screenshot(t, ctx, "compare.png")

		// Two identical traces: no difference.
		var tr trace.Trace
		if err := json.Unmarshal([]byte(first), &tr); err != nil {
			t.Fatal(err)
		}
		same := evalJS[string](t, ctx, fmt.Sprintf(`(() => { const a = JSON.parse(%s); const d = oscoreLab.share.diff(a, a); return d.first ? d.first.diff.field : 'none:' + d.pairs.filter((p) => p.kind === 'datagram').length; })()`, jsString(first)))
		if same != fmt.Sprintf("none:%d", datagrams(&tr)) {
			t.Errorf("a trace compared with itself: %q", same)
		}
	})
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserAudienceFollowsPresenter opens the audience view in a second
// tab of the same origin: it follows the presenter's replay, stage and quiz
// over the BroadcastChannel.
func TestBrowserAudienceFollowsPresenter(t *testing.T) {
	pres, aud := presenterAndAudience(t, "draft-b6")
	waitJS(t, aud, "the audience view", `document.body.classList.contains('presenting')`)

	run(t, pres, chromedp.Click(`[data-testid="replay-toggle"]`), chromedp.Click(`[data-testid="presenter-toggle"]`))
	key(t, pres, " ")
	key(t, pres, " ")
	waitJS(t, aud, "the audience on P1->P2", `[...document.querySelectorAll('[data-testid="stage-layer"]')].map(e => e.dataset.ctx).join(' ') === 'CTX_P1_P2 CTX_C_S' && `+datagramRows+` === 2`)
	key(t, pres, kb.ArrowLeft)
	waitJS(t, aud, "the audience back on C->P1", `[...document.querySelectorAll('[data-testid="stage-layer"]')].map(e => e.dataset.ctx).join(' ') === 'CTX_C_P1 CTX_C_S'`)

	run(t, pres, chromedp.Click(`[data-testid="quiz-toggle"]`))
	waitJS(t, aud, "the question in the audience", `document.querySelector('[data-testid="quiz-card"]') && document.body.classList.contains('quiz-pending')`)
	run(t, pres, chromedp.Click(`[data-testid="quiz-reveal"]`))
	waitJS(t, aud, "the reveal in the audience", `document.querySelector('[data-testid="quiz-why"]') && !document.body.classList.contains('quiz-pending')`)
	if a, b := evalJS[string](t, pres, `document.querySelector('[data-testid="quiz-why"]').textContent`), evalJS[string](t, aud, `document.querySelector('[data-testid="quiz-why"]').textContent`); a != b {
		t.Errorf("the audience explains %q, the presenter %q", b, a)
	}
	if evalJS[bool](t, aud, `[...document.querySelectorAll('[data-testid="replay-toggle"], [data-testid="quiz-reveal"], [data-testid="presenter-toggle"]')].some(e => e.checkVisibility())`) {
		t.Error("the audience view shows controls")
	}
	screenshot(t, aud, "audience.png")
}

// TestBrowserQuizClickDuringLiveEvent presses a quiz choice, lets a live
// event arrive while the button is held, then releases it: the answer must
// count. A click is lost when its button leaves the document between press
// and release, so the quiz card and the presenter's stage must not be
// rebuilt or moved by an event that changes nothing on them.
func TestBrowserQuizClickDuringLiveEvent(t *testing.T) {
	_, ctx := openDraftB6(t)
	for _, presenterOn := range []bool{false, true} {
		if presenterOn {
			run(t, ctx, chromedp.Click(`[data-testid="presenter-toggle"]`))
		}
		run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
		// The next question not answered yet: the first round answered one.
		key(t, ctx, "r")
		for i := 0; i < 12 && !evalJS[bool](t, ctx, `document.body.classList.contains('quiz-pending')`); i++ {
			key(t, ctx, " ")
		}
		waitJS(t, ctx, "a quiz question", `document.querySelector('[data-testid="quiz-card"]') && document.body.classList.contains('quiz-pending')`)
		xy := evalJS[[]float64](t, ctx, `(() => { const b = document.querySelector('[data-testid="quiz-choice"]'); b.scrollIntoView({block: 'center'});
			const r = b.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
		run(t, ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, xy[0], xy[1], chromedp.ButtonLeft, chromedp.ClickCount(1)))
		// A live event joins the replay's trace while the button is down.
		evalJS[bool](t, ctx, `(() => { const all = oscoreLab.replay.all; const last = all[all.length - 1];
			oscoreLab.store.addEvents([{seq: last.seq + 1, type: 'notice', note: 'late live event', time: last.time}]); return true; })()`)
		run(t, ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, xy[0], xy[1], chromedp.ButtonLeft, chromedp.ClickCount(1)))
		waitJS(t, ctx, "the answer to count (presenter "+fmt.Sprint(presenterOn)+")", `document.querySelector('[data-testid="quiz-score"]') && !document.body.classList.contains('quiz-pending')`)
		run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
	}
}
