package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
const readabilityAudit = `((rootSel, minPx, sizeExempt) => {
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
    if (px < minPx - 0.01 && !(sizeExempt && e.closest(sizeExempt))) out.push(name(e) + ' ' + JSON.stringify(text) + ': ' + px.toFixed(1) + ' px < ' + minPx);
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
	bad := evalJS[[]string](t, ctx, fmt.Sprintf(`%s(%s, %d, %s)`, readabilityAudit, jsString(root), minPx, jsString(auditSizeExempt)))
	if len(bad) > 0 {
		t.Errorf("%s: %d texts below %d px or under 4.5:1 contrast:\n  %s", what, len(bad), minPx, strings.Join(bad, "\n  "))
	}
}

// auditSizeExempt is what the size check leaves out: the topology drawing
// scales with its panel, so its labels' size is the topology view's own
// concern (its contrast is checked all the same).
const auditSizeExempt = `[data-view="topology"] svg`

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

// answerQuiz answers the question on screen with its last choice, as the
// page's own button would, without scrolling anything into view.
const answerQuiz = `(() => { const b = [...document.querySelectorAll('[data-testid="quiz-choice"]')].pop(); oscoreLab.quiz.answer(b.dataset.value); return true; })()`

// TestBrowserReadableText: at a laptop's 1280x720 and a projector's
// 1024x768, no text of the lab view is smaller than 12 px and none on the
// presenter's stage smaller than 18 px, and every text (the quiz's
// answered buttons included) has a contrast of at least 4.5:1.
func TestBrowserReadableText(t *testing.T) {
	tl := newTestLab(t, "draft-b6")
	tl.sendFirstStep(t)
	for _, vp := range viewports {
		t.Run(fmt.Sprintf("%dx%d", vp[0], vp[1]), func(t *testing.T) {
			ctx := labAt(t, tl, vp[0], vp[1])
			// The lab view with a message in the inspector.
			run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="datagram"][data-from="P1"][data-to="P2"]`))
			waitJS(t, ctx, "the inspector", `document.querySelector('[data-testid="opt-class"]')`)
			audit(t, ctx, "lab view", "body", 12)

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
}
