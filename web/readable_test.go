package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// readabilityAudit is a function of (root selector, minimum px) that lists
// every visible text of the page under root whose computed font size is
// below the minimum or whose contrast with what is painted behind it is
// under 4.5:1 (WCAG 2.x, 1.4.3). The background is found by compositing the
// background colours of the element and its ancestors (with their opacity)
// over white; the text colour is composited over that background with the
// opacity of the element and its ancestors. SVG text counts at its rendered
// size. Text blurred on purpose (the quiz hides the layers until answered)
// is skipped, since no one is meant to read it.
const readabilityAudit = `((rootSel, minPx) => {
  const parse = (c) => {
    let m = /^rgba?\(([^)]*)\)$/.exec(c);
    if (m) { const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    m = /^color\(srgb ([^)]*)\)$/.exec(c);
    if (m) { const p = m[1].split(/[\s\/]+/).filter(Boolean).map(Number); return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1]; }
    return null;
  };
  const over = (top, bottom) => { const a = top[3]; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1); };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const chain = (e) => { const out = []; for (let n = e; n && n.nodeType === 1; n = n.parentElement) out.push(n); return out; };
  const blurred = (e) => chain(e).some((n) => /blur/.test(getComputedStyle(n).filter));
  const background = (e) => {
    const layers = [];
    let opacity = 1;
    for (const n of chain(e).reverse()) { // root first, so opacity accumulates
      const s = getComputedStyle(n);
      opacity *= Number(s.opacity);
      const c = parse(s.backgroundColor);
      if (c && c[3] > 0) layers.push([c[0], c[1], c[2], c[3] * opacity]);
    }
    let bg = [255, 255, 255, 1];
    for (const l of layers) bg = over(l, bg);
    return { bg, opacity };
  };
  const name = (e) => (e.dataset.testid ? '[data-testid=' + e.dataset.testid + ']' : '') + e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  const root = document.querySelector(rootSel);
  if (!root) return ['no ' + rootSel];
  const out = [];
  const seen = new Set();
  const texts = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const els = [];
  for (let t = texts.nextNode(); t; t = texts.nextNode()) {
    if (!t.textContent.trim()) continue;
    const e = t.parentElement;
    if (!e || seen.has(e) || e.closest('script,style,option,title,[hidden]')) continue;
    seen.add(e);
    els.push(e);
  }
  for (const e of root.querySelectorAll('input:not([type=checkbox]):not([type=radio]):not([type=file]):not([hidden]),select')) if (!seen.has(e)) els.push(e);
  for (const e of els) {
    if (!e.checkVisibility({ checkOpacity: true, visibilityProperty: true })) continue;
    const r = e.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || blurred(e)) continue;
    const s = getComputedStyle(e);
    let px = parseFloat(s.fontSize);
    if (e instanceof SVGElement && e.getScreenCTM) px *= Math.hypot(e.getScreenCTM().a, e.getScreenCTM().b);
    const { bg, opacity } = background(e);
    const fg = parse(e instanceof SVGElement ? (s.fill && s.fill.startsWith('rgb') ? s.fill : s.color) : s.color);
    const text = (e.value !== undefined && e.tagName !== 'BUTTON' && e.tagName !== 'LI' ? String(e.value) : e.textContent).trim().slice(0, 40);
    if (px < minPx - 0.01) out.push(name(e) + ' ' + JSON.stringify(text) + ': ' + px.toFixed(1) + ' px < ' + minPx);
    if (fg) {
      const ink = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
      const cr = ratio(ink, bg);
      if (cr < 4.5) out.push(name(e) + ' ' + JSON.stringify(text) + ': contrast ' + cr.toFixed(2) + ' (' + s.color + ' on ' + bg.slice(0, 3).map(Math.round).join(',') + ')');
    }
  }
  return out;
})`

// audit runs readabilityAudit under root and fails the test with every
// offender, named by its test id, tag and classes.
func audit(t *testing.T, ctx context.Context, what, root string, minPx int) {
	t.Helper()
	bad := evalJS[[]string](t, ctx, fmt.Sprintf(`%s(%s, %d)`, readabilityAudit, jsString(root), minPx))
	if len(bad) > 0 {
		t.Errorf("%s: %d texts below %d px or under 4.5:1 contrast:\n  %s", what, len(bad), minPx, strings.Join(bad, "\n  "))
	}
}

// clickInMenu opens the toolbar drop-down that holds sel, as a user
// would, and clicks sel.
func clickInMenu(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if !evalJS[bool](t, ctx, fmt.Sprintf(`(() => { const m = document.querySelector(%s)?.closest('.tool-menu'); if (!m) return false; if (!m.open) m.querySelector('summary').click(); return m.open; })()`, jsString(sel))) {
		t.Fatalf("no open toolbar menu holds %s", sel)
	}
	waitJS(t, ctx, "the menu in place", fmt.Sprintf(`document.querySelector(%s).closest('.tool-menu').dataset.placed === '1'`, jsString(sel)))
	run(t, ctx, chromedp.Click(sel))
}

func viewport(t *testing.T, ctx context.Context, w, h int64) {
	t.Helper()
	run(t, ctx, chromedp.EmulateViewport(w, h))
}

// labAt opens the lab of tl in a new tab with a w x h viewport.
func labAt(t *testing.T, tl *testLab, w, h int64) context.Context {
	t.Helper()
	ctx := newTab(t)
	viewport(t, ctx, w, h)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "six datagrams", datagramRows+` >= 6`)
	return ctx
}

// viewports are a laptop's and a projector's.
var viewports = [][2]int64{{1280, 720}, {1024, 768}}

// atEachViewport runs check in a subtest per viewport, on a lab of
// draft-b6 that ran its first step, open in a tab of that size.
func atEachViewport(t *testing.T, check func(t *testing.T, ctx context.Context, vp [2]int64)) {
	tl := newTestLab(t, "draft-b6")
	tl.sendFirstStep(t)
	for _, vp := range viewports {
		t.Run(fmt.Sprintf("%dx%d", vp[0], vp[1]), func(t *testing.T) { check(t, labAt(t, tl, vp[0], vp[1]), vp) })
	}
}

// answerQuiz answers the question on screen with its last choice, as the
// page's own button would, without scrolling anything into view.
const answerQuiz = `(() => { const b = [...document.querySelectorAll('[data-testid="quiz-choice"]')].pop(); oscoreLab.quiz.answer(b.dataset.value); return true; })()`

// TestBrowserReadableText: at a laptop's 1280x720 and a projector's
// 1024x768, no text of the lab view is smaller than 12 px and none on the
// presenter's stage smaller than 18 px, and every text (the quiz's
// answered buttons included) has a contrast of at least 4.5:1.
func TestBrowserReadableText(t *testing.T) {
	atEachViewport(t, func(t *testing.T, ctx context.Context, vp [2]int64) {
		// The lab view with a message in the inspector.
		run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="datagram"][data-from="P1"][data-to="P2"]`))
		waitJS(t, ctx, "the inspector", `document.querySelector('[data-testid="opt-class"]')`)
		audit(t, ctx, "lab view", "body", 12)
		// The packet list in place of the diagram, a packet open.
		run(t, ctx, chromedp.Click(`[data-testid="packets-toggle"]`))
		waitJS(t, ctx, "the packet list", `document.querySelector('[data-testid="pk-row"]')`)
		run(t, ctx, chromedp.Click(`[data-testid="pk-row"][data-type="datagram"]`))
		audit(t, ctx, "lab view with the packet list", "body", 12)
		run(t, ctx, chromedp.Click(`[data-testid="packets-close"]`))

		// Quiz in the lab view, answered.
		run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
		key(t, ctx, "r")
		key(t, ctx, " ")
		waitJS(t, ctx, "a quiz question", `document.querySelector('[data-testid="quiz-card"]')`)
		evalJS[bool](t, ctx, answerQuiz)
		waitJS(t, ctx, "the reveal", `document.querySelector('[data-testid="quiz-why"]')`)
		audit(t, ctx, "lab view with an answered quiz", "body", 12)

		// The stage, with a question answered, then without the quiz.
		run(t, ctx, chromedp.Click(`[data-testid="presenter-toggle"]`))
		key(t, ctx, " ")
		waitJS(t, ctx, "a quiz question on stage", `document.querySelector('[data-testid="presenter-stage"] [data-testid="quiz-card"]')`)
		evalJS[bool](t, ctx, answerQuiz)
		waitJS(t, ctx, "the reveal on stage", `document.querySelector('[data-testid="presenter-stage"] [data-testid="quiz-why"]')`)
		audit(t, ctx, "stage with an answered quiz", `[data-testid="presenter-stage"]`, 18)
		audit(t, ctx, "presenter header", `header.top`, 12)
		run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
		audit(t, ctx, "stage", `[data-testid="presenter-stage"]`, 18)
	})
}

// toolbarLayout describes the toolbar: how many rows its tools take, the
// header's height, and every control that is cut off, off screen or
// covered, and every tool group split over two rows.
const toolbarLayout = `(() => {
  const bar = document.querySelector('[data-testid="toolbar"]');
  const tops = new Set();
  const bad = [];
  const W = innerWidth, H = innerHeight;
  const name = (e) => (e.dataset.testid || e.textContent.trim().slice(0, 20) || e.tagName);
  for (const tool of bar.children) {
    if (!tool.checkVisibility()) continue;
    const controls = tool.matches('button,a,select,label,input') ? [tool] : [...tool.querySelectorAll('button,a,select,label')];
    const rows = new Set();
    for (const c of controls) {
      if (!c.checkVisibility({ visibilityProperty: true })) continue;
      const r = c.getBoundingClientRect();
      if (r.width < 1) continue;
      rows.add(Math.round(r.top / 8));
      tops.add(Math.round(r.top / 8));
      if (r.left < 0 || r.right > W + 0.5 || r.top < 0 || r.bottom > H) bad.push(name(c) + ' off screen ' + JSON.stringify([r.left, r.top, r.right, r.bottom].map(Math.round)));
      else if (c.scrollWidth > c.clientWidth + 1 && c.tagName !== 'SELECT') bad.push(name(c) + ' cut off');
      else {
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (!hit || !(c === hit || c.contains(hit) || hit.contains(c))) bad.push(name(c) + ' covered by ' + (hit ? hit.tagName + '.' + hit.className : 'nothing'));
      }
    }
    if (rows.size > 1) bad.push((tool.className || tool.tagName) + ' split over ' + rows.size + ' rows');
  }
  return { rows: tops.size, header: document.querySelector('header.top').getBoundingClientRect().height, bad };
})()`

// menuLayout lists the controls of the open File menu that are off
// screen or covered.
const menuLayout = `(() => {
  const bad = [];
  for (const c of document.querySelectorAll('[data-testid="menu-file"] .menu-items :is(button, a, label)')) {
    if (!c.checkVisibility({ visibilityProperty: true })) { bad.push((c.dataset.testid || c.textContent.trim()) + ' not visible'); continue; }
    const r = c.getBoundingClientRect();
    const name = c.dataset.testid || c.textContent.trim();
    if (r.left < 0 || r.right > innerWidth + 0.5 || r.top < 0 || r.bottom > innerHeight) { bad.push(name + ' off screen'); continue; }
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!hit || !(c === hit || c.contains(hit) || hit.contains(c))) bad.push(name + ' covered by ' + (hit ? hit.tagName + '.' + hit.className : 'nothing'));
  }
  return bad;
})()`

type toolbarGeometry struct {
	Rows   int      `json:"rows"`
	Header float64  `json:"header"`
	Bad    []string `json:"bad"`
}

// TestBrowserToolbarFits: at 1280 px the whole toolbar is one row; at
// 1024x768 it may wrap, but every control is on screen, uncovered and
// whole, no tool group is split, and the header leaves the lab most of
// the screen. Replay adds its bar; the check runs with it shown too.
func TestBrowserToolbarFits(t *testing.T) {
	atEachViewport(t, func(t *testing.T, ctx context.Context, vp [2]int64) {
		for _, replaying := range []bool{false, true} {
			if replaying {
				run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`))
				key(t, ctx, " ")
				waitJS(t, ctx, "the replay bar", `!document.querySelector('[data-testid="replay-bar"]').hidden`)
			}
			g := evalJS[toolbarGeometry](t, ctx, toolbarLayout)
			t.Logf("replaying %v: %d rows, header %.0f px", replaying, g.Rows, g.Header)
			for _, b := range g.Bad {
				t.Errorf("replaying %v: %s", replaying, b)
			}
			if vp[0] >= 1280 && g.Rows != 1 {
				t.Errorf("replaying %v: the toolbar takes %d rows at %d px, want one", replaying, g.Rows, vp[0])
			}
			if g.Header > 96 {
				t.Errorf("replaying %v: the header is %.0f px high at %dx%d", replaying, g.Header, vp[0], vp[1])
			}
			// The File menu: open, every item on screen and uncovered;
			// using one closes it.
			run(t, ctx, chromedp.Click(`[data-testid="menu-file"] > summary`))
			waitJS(t, ctx, "the open File menu", `document.querySelector('[data-testid="menu-file"]').dataset.placed === '1'`)
			for _, b := range evalJS[[]string](t, ctx, menuLayout) {
				t.Errorf("replaying %v: File menu: %s", replaying, b)
			}
			screenshot(t, ctx, fmt.Sprintf("toolbar-%d-%v.png", vp[0], replaying))
			run(t, ctx, chromedp.Click(`[data-testid="tool-save"]`))
			waitJS(t, ctx, "the File menu to close after use", `!document.querySelector('[data-testid="menu-file"]').open`)
		}
	})
}

// inSight tells whether sel is on screen whole: inside the viewport and
// inside the visible part of every scrolling box around it.
func inSight(sel string) string {
	return fmt.Sprintf(`(() => {
  const e = document.querySelector(%s);
  if (!e || !e.checkVisibility()) return 'absent';
  const r = e.getBoundingClientRect();
  if (r.top < 0 || r.bottom > innerHeight || r.left < 0 || r.right > innerWidth) return 'outside the viewport ' + JSON.stringify([r.top, r.bottom, innerHeight]);
  for (let p = e.parentElement; p; p = p.parentElement) {
    if (!/(auto|scroll|hidden)/.test(getComputedStyle(p).overflowY)) continue;
    const b = p.getBoundingClientRect();
    if (r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5) return 'scrolled out of ' + (p.dataset.testid || p.className || p.tagName) + ' ' + JSON.stringify([r.top, r.bottom, b.top, b.bottom]);
  }
  return 'in sight';
})()`, jsString(sel))
}

// TestBrowserQuizRevealInSight: at 1280x720 the quiz's reveal shows
// without scrolling, in the lab view and on the presenter's stage, for
// every question of draft-b6's exchange.
func TestBrowserQuizRevealInSight(t *testing.T) {
	tl := newTestLab(t, "draft-b6")
	tl.sendFirstStep(t)
	for _, presenting := range []bool{false, true} {
		ctx := labAt(t, tl, 1280, 720)
		if presenting {
			run(t, ctx, chromedp.Click(`[data-testid="presenter-toggle"]`))
		}
		run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
		asked := 0
		for i := 0; i < 14 && !evalJS[bool](t, ctx, `oscoreLab.replay.atEnd()`); i++ {
			key(t, ctx, kb.PageDown)
			if !evalJS[bool](t, ctx, `document.body.classList.contains('quiz-pending')`) {
				continue
			}
			asked++
			// The clicker's next press reveals; nothing is scrolled.
			key(t, ctx, kb.PageDown)
			waitJS(t, ctx, "the reveal", `document.querySelector('[data-testid="quiz-why"]')`)
			if got := evalJS[string](t, ctx, inSight(`[data-testid="quiz-why"]`)); got != "in sight" {
				t.Errorf("presenting %v, step %d: the reveal is %s", presenting, evalJS[int](t, ctx, `oscoreLab.replay.cursor`), got)
				screenshot(t, ctx, fmt.Sprintf("quiz-reveal-%v.png", presenting))
			}
		}
		if asked < 3 {
			t.Errorf("presenting %v: %d questions asked over draft-b6's exchange", presenting, asked)
		}
	}
}

// TestBrowserClickerKeys: a clicker's Page Down and Page Up, Space and the
// arrows do the same in replay, on the stage (with and without replay), in
// the quiz (a pending question is revealed first) and from the audience
// window; a select used in the replay bar does not keep them.
func TestBrowserClickerKeys(t *testing.T) {
	tl := newTestLab(t, "draft-b6")
	tl.sendFirstStep(t)
	ctx := labAt(t, tl, 1280, 720)
	cursor := func() int { return evalJS[int](t, ctx, `oscoreLab.replay.cursor`) }
	// Where "next" and "back" lead from the cursor, by the replay's own steps.
	nextOf := func() int {
		return evalJS[int](t, ctx, `(() => { const r = oscoreLab.replay, c = r.cursor; r.next(); const n = r.cursor; r.seek(c); return n; })()`)
	}
	prevOf := func() int {
		return evalJS[int](t, ctx, `(() => { const r = oscoreLab.replay, c = r.cursor; r.prev(); const n = r.cursor; r.seek(c); return n; })()`)
	}
	press := func(mode, k string, want int) {
		t.Helper()
		key(t, ctx, k)
		waitJS(t, ctx, fmt.Sprintf("%s: %q to step to %d", mode, k, want), fmt.Sprintf(`oscoreLab.replay.cursor === %d`, want))
	}
	steps := func(mode string) {
		t.Helper()
		for _, k := range []string{kb.PageDown, " ", kb.ArrowRight} {
			press(mode, k, nextOf())
		}
		for _, k := range []string{kb.PageUp, kb.ArrowLeft} {
			press(mode, k, prevOf())
		}
	}
	run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`))
	waitJS(t, ctx, "replay", `oscoreLab.replay.active`)
	steps("replay")

	// A select of the replay bar, once used, leaves the keys to the replay.
	evalJS[bool](t, ctx, `(() => { const s = document.querySelector('[data-testid="replay-unit"]'); s.focus(); s.value = 'event'; s.dispatchEvent(new Event('change')); return true; })()`)
	press("after choosing 'by event'", kb.PageDown, nextOf())
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="replay-unit"]').value`); got != "event" {
		t.Errorf("Page Down changed the unit select to %q", got)
	}
	evalJS[bool](t, ctx, `(() => { const s = document.querySelector('[data-testid="replay-unit"]'); s.value = 'message'; s.dispatchEvent(new Event('change')); return true; })()`)

	run(t, ctx, chromedp.Click(`[data-testid="presenter-toggle"]`))
	steps("presenter, replaying")

	// The quiz: the press on a pending question reveals it, the next steps.
	run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))
	key(t, ctx, "r")
	for i := 0; i < 14 && !evalJS[bool](t, ctx, `document.body.classList.contains('quiz-pending')`); i++ {
		key(t, ctx, kb.PageDown)
	}
	at := cursor()
	key(t, ctx, kb.PageDown)
	waitJS(t, ctx, "the reveal by Page Down", `document.querySelector('[data-testid="quiz-why"]') && !document.body.classList.contains('quiz-pending')`)
	if c := cursor(); c != at {
		t.Errorf("Page Down on a pending question stepped from %d to %d instead of revealing", at, c)
	}
	press("quiz, revealed", kb.PageDown, nextOf())
	run(t, ctx, chromedp.Click(`[data-testid="quiz-toggle"]`))

	// The audience window's keys step the presenter.
	aud := newTab(t)
	openLab(t, aud, tl.srv.URL+"/#audience")
	waitJS(t, aud, "the audience view", `document.body.dataset.audience === '1' && oscoreLab.replay.active`)
	want := nextOf()
	key(t, aud, kb.PageDown)
	waitJS(t, ctx, "the presenter stepped by the audience's Page Down", fmt.Sprintf(`oscoreLab.replay.cursor === %d`, want))
	want = prevOf()
	key(t, aud, kb.PageUp)
	waitJS(t, ctx, "the presenter stepped back by the audience's Page Up", fmt.Sprintf(`oscoreLab.replay.cursor === %d`, want))

	// On the stage outside replay the keys walk the diagram's messages.
	run(t, ctx, chromedp.Click(`[data-testid="replay-toggle"]`))
	waitJS(t, ctx, "replay off, still presenting", `!oscoreLab.replay.active && document.body.classList.contains('presenting')`)
	rows := evalJS[[]int](t, ctx, `oscoreLab.store.rows.map((r) => r.seq)`)
	evalJS[bool](t, ctx, fmt.Sprintf(`(oscoreLab.store.select(%d), true)`, rows[0]))
	for i, k := range []string{kb.PageDown, " ", kb.ArrowRight} {
		key(t, ctx, k)
		waitJS(t, ctx, fmt.Sprintf("%q to select row %d", k, i+1), fmt.Sprintf(`oscoreLab.store.selected === %d`, rows[i+1]))
	}
	for i, k := range []string{kb.PageUp, kb.ArrowLeft} {
		key(t, ctx, k)
		waitJS(t, ctx, fmt.Sprintf("%q to select row %d", k, 2-i), fmt.Sprintf(`oscoreLab.store.selected === %d`, rows[2-i]))
	}
}
