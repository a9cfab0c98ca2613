package web

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
)

// The interaction budgets of a page holding 10,000 events
// (docs/benchmarks.md): every event painted within 1 s of navigation, a
// click on an arrow answered (the frame showing it drawn) within 50 ms, and
// a replay of the whole trace, one step a frame, that drops no frame.
//
// Wall-clock times on a shared machine say as much about the other
// processes as about the page. Each budget is measured twice and holds if
// either measurement keeps it; the click and replay budgets also hold if
// the page's main thread spent less CPU time than the budget (Chromium's
// ThreadTime metric). A budget missed while the machine's load average
// exceeds its CPUs skips the test with the figures instead of failing it:
// such a machine cannot tell a slow page from a busy neighbour.

// missed reports a missed budget: an error, or a skip on an overloaded
// machine.
func missed(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		var load float64
		if _, err := fmt.Sscan(string(b), &load); err == nil && load > float64(goruntime.NumCPU()) {
			t.Skipf("%s; the load average is %.1f on %d CPUs, too loaded to judge", msg, load, goruntime.NumCPU())
		}
	}
	t.Error(msg)
}

// mainThreadMS is the CPU time the page's main thread has used, in ms.
func mainThreadMS(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	var ms float64
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, performance.Enable, performance.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			return err
		}
		for _, m := range res.Metrics {
			if m.Name == "ThreadTime" {
				ms = m.Value * 1000
				return nil
			}
		}
		return fmt.Errorf("no ThreadTime among the page's metrics")
	}))
	if err != nil {
		t.Fatalf("performance metrics: %v", err)
	}
	return ms
}

// afterFrame is a JavaScript promise expression: run stmt, then resolve
// with the ms until the frame showing its effect has been drawn.
func afterFrame(stmt string) string {
	return `new Promise((done) => { const t0 = performance.now(); ` + stmt + `; requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0)); })`
}

// lateFrames counts the frames that came late: a gap between two frames
// of more than one and a half frame intervals (the median gap) means at
// least one frame was missed.
func lateFrames(gaps []float64) (n int, median, worst float64) {
	s := append([]float64(nil), gaps...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0, 0, 0
	}
	median, worst = s[len(s)/2], s[len(s)-1]
	for _, g := range gaps {
		if g > 1.5*median {
			n++
		}
	}
	return n, median, worst
}

// tenThousandEvents fills a draft-b3 lab's ring with copies of one real
// exchange up to 10,000 events and returns the lab and the count.
func tenThousandEvents(t *testing.T) (*testLab, int) {
	tl := newTestLab(t, "draft-b3")
	tmpl := exchangeTemplate(t, tl)
	total := len(tmpl)
	for k := 2; total < 10000; k++ {
		total += publishCopy(tl.bus, tmpl, k)
	}
	return tl, total
}

// openPainted opens the lab at 1280x720 in a tab bounded by d and waits
// until every event is painted; it returns the ms from navigation.
func openPainted(t *testing.T, tl *testLab, total int, d time.Duration) (context.Context, float64) {
	t.Helper()
	ctx := newTabFor(t, d)
	viewport(t, ctx, 1280, 720)
	run(t, ctx, chromedp.Navigate(tl.srv.URL))
	waitJS(t, ctx, "all events painted", `window.__seqPaint && window.__seqPaint.events >= `+itoa(total))
	waitJS(t, ctx, "the live page", `document.body.dataset.ready === '1' && document.body.dataset.live === 'live'`)
	return ctx, evalJS[float64](t, ctx, `window.__seqPaint.t`)
}

func TestBrowserBudgetFirstPaint(t *testing.T) {
	tl, total := tenThousandEvents(t)
	var paint float64
	for attempt := 1; attempt <= 3; attempt++ {
		var ctx context.Context
		ctx, paint = openPainted(t, tl, total, time.Minute)
		t.Logf("load %d: %d events painted %.0f ms after navigation (first rows at %.0f ms)", attempt, total, paint, evalJS[float64](t, ctx, `window.__seqFirstPaint`))
		if paint <= 1000 {
			return
		}
	}
	missed(t, "10,000 events painted %.0f ms after navigation in three loads in a row, want under 1000", paint)
}

func TestBrowserBudgetClick(t *testing.T) {
	tl, total := tenThousandEvents(t)
	ctx, _ := openPainted(t, tl, total, 2*time.Minute)
	evalJS[bool](t, ctx, `(document.querySelector('[data-testid="follow"]').checked = false, true)`)
	// Arrows at the top of the trace and, scrolled, far down it; the
	// first clicks warm up the JIT.
	round := func() (wall, cpu []float64) {
		for i := 0; i < 24; i++ {
			evalJS[bool](t, ctx, fmt.Sprintf(`(document.querySelector('[data-testid="seq-scroll"]').scrollTop = %d, true)`, (i%6)*(i%2)*40000))
			waitJS(t, ctx, "arrows on screen", `document.querySelector('[data-testid="seq-row"][data-kind="datagram"]:not(.sel)')`)
			c0 := mainThreadMS(t, ctx)
			w := evalJS[float64](t, ctx, afterFrame(`document.querySelector('[data-testid="seq-row"][data-kind="datagram"]:not(.sel)').click()`))
			c := mainThreadMS(t, ctx) - c0
			if i >= 4 {
				wall, cpu = append(wall, w), append(cpu, c)
			}
		}
		return wall, cpu
	}
	var wall, cpu []float64
	for attempt := 1; attempt <= 2; attempt++ {
		wall, cpu = round()
		t.Logf("clicks %d: wall p50 %.1f ms, p95 %.1f ms; main-thread CPU p50 %.1f ms, p95 %.1f ms", attempt, median(wall), p95(wall), median(cpu), p95(cpu))
		if p95(wall) <= 50 || p95(cpu) <= 50 {
			break
		}
	}
	if p95(wall) > 50 && p95(cpu) > 50 {
		missed(t, "a click on an arrow took %.1f ms (p95; %.1f ms of main-thread CPU) in two rounds, want under 50", p95(wall), p95(cpu))
	}
	if !evalJS[bool](t, ctx, `!!document.querySelector('[data-testid="insp-summary"]')`) {
		t.Error("the clicks opened nothing in the inspector")
	}
}

func TestBrowserBudgetReplay(t *testing.T) {
	tl, total := tenThousandEvents(t)
	ctx, _ := openPainted(t, tl, total, 4*time.Minute)
	evalJS[bool](t, ctx, `(oscoreLab.replay.start(0), true)`)
	steps := evalJS[int](t, ctx, `(() => { const r = oscoreLab.replay; let n = 0; while (!r.atEnd()) { r.next(); n++; } r.seek(0); return n; })()`)
	// One step a frame from the start to the end; the gaps between frames
	// tell the frames missed.
	pass := func() (late int, median, worst, cpuPerStep float64) {
		evalJS[bool](t, ctx, `(oscoreLab.replay.seek(0), true)`)
		c0 := mainThreadMS(t, ctx)
		gaps := evalJS[[]float64](t, ctx, `new Promise((done) => {
			const r = oscoreLab.replay, out = []; let last = 0;
			function frame(ts) {
				if (last) out.push(ts - last);
				last = ts;
				if (r.atEnd()) { done(out); return; }
				r.next();
				requestAnimationFrame(frame);
			}
			requestAnimationFrame(frame);
		})`)
		cpuPerStep = (mainThreadMS(t, ctx) - c0) / float64(steps)
		late, median, worst = lateFrames(gaps)
		return
	}
	var late int
	var cpu float64
	for attempt := 1; attempt <= 2; attempt++ {
		start := time.Now()
		var median, worst float64
		late, median, worst, cpu = pass()
		t.Logf("replay %d: %d steps over %d events in %v; frame median %.1f ms, worst %.1f ms, %d frames late; main-thread CPU %.1f ms a step",
			attempt, steps, total, time.Since(start).Round(time.Millisecond), median, worst, late, cpu)
		if late == 0 || cpu <= 1000.0/60 {
			break
		}
	}
	if late > 0 && cpu > 1000.0/60 {
		missed(t, "replaying 10,000 events one step a frame missed %d frames and spent %.1f ms of main-thread CPU a step, in two passes; want no frame missed", late, cpu)
	}
	// A step back redraws every event before the cursor (the store only
	// grows): at the end of 10,000 events that is the costliest step, shown
	// here for docs/benchmarks.md.
	evalJS[bool](t, ctx, `new Promise((done) => { oscoreLab.replay.end(); requestAnimationFrame(() => setTimeout(() => done(true), 0)); })`)
	c0 := mainThreadMS(t, ctx)
	back := evalJS[float64](t, ctx, afterFrame(`document.querySelector('[data-testid="replay-prev"]').click()`))
	t.Logf("a step back from the end: %.1f ms (main-thread CPU %.1f ms)", back, mainThreadMS(t, ctx)-c0)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
