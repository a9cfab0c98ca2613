package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/trace"
)

// exchangeTemplate records one real draft-b3 exchange (real UDP nodes) and
// returns its events, to be published again as fresh exchanges.
func exchangeTemplate(t *testing.T, tl *testLab) []trace.Event {
	t.Helper()
	tl.sendFirstStep(t)
	tmpl := tl.bus.Recent()
	if len(tmpl) < 10 {
		t.Fatalf("one exchange gave only %d events", len(tmpl))
	}
	return tmpl
}

// publishCopy publishes the template again as exchange number k.
func publishCopy(bus *trace.Bus, tmpl []trace.Event, k int) int {
	for _, e := range tmpl {
		if e.Exchange != 0 {
			e.Exchange = k
		}
		e.Time = time.Time{}
		bus.Publish(e)
	}
	return len(tmpl)
}

// publishTenThousand records one draft-b3 exchange in tl and publishes it
// again until the bus holds 10,000 events or more; it returns how many.
func publishTenThousand(t *testing.T, tl *testLab) int {
	t.Helper()
	tmpl := exchangeTemplate(t, tl)
	total := len(tmpl)
	for k := 2; total < 10000; k++ {
		total += publishCopy(tl.bus, tmpl, k)
	}
	return total
}

func p95(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)*95/100]
}

// TestBrowserTenThousandEvents: with 10,000 events in the ring, the page
// paints them within 2 s and the virtualised diagram scrolls with p95
// frame time under 33 ms.
func TestBrowserTenThousandEvents(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	total := publishTenThousand(t, tl)
	ctx := newTab(t)
	// A load of the page is measured at most twice: one slow load on a
	// shared machine (the browser's own GC, another build's burst) says
	// little; two in a row say the page is too slow.
	var paint float64
	var t0 time.Time
	for attempt := 1; attempt <= 2; attempt++ {
		t0 = time.Now()
		run(t, ctx, chromedp.Navigate(tl.srv.URL))
		waitJS(t, ctx, "all events painted", `window.__seqPaint && window.__seqPaint.events >= `+itoa(total))
		t.Logf("load %d: painted (%v); ws %v; store %v; nav %v", attempt, time.Since(t0), evalJS[any](t, ctx, `window.__wsStats`), evalJS[any](t, ctx, `window.__storeStats`), evalJS[any](t, ctx, `(() => { const n = performance.getEntriesByType('navigation')[0]; return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; })()`))
		paint = evalJS[float64](t, ctx, `window.__seqPaint.t`)
		t.Logf("load %d: %d events: first rows at %.0f ms, all painted at %.0f ms after navigation", attempt, total,
			evalJS[float64](t, ctx, `window.__seqFirstPaint`), paint)
		if paint <= 2000 {
			break
		}
	}
	if paint > 2000 {
		t.Errorf("10,000 events painted after %.0f ms in two loads in a row, want under 2000", paint)
	}
	wantRows := 0
	for _, e := range tl.bus.Recent() {
		switch e.Type {
		case trace.TypeDatagram, trace.TypeError, trace.TypeFault, trace.TypeNotice:
			wantRows++
		}
	}
	rows := evalJS[int](t, ctx, `document.querySelectorAll('.seq-rows .row').length`)
	shown := evalJS[int](t, ctx, `Number(document.querySelector('[data-testid="row-count"]').textContent)`)
	if shown != wantRows {
		t.Errorf("the diagram has %d rows, want %d (datagrams, errors, faults, notices)", shown, wantRows)
	}
	if rows > 120 {
		t.Errorf("%d rows in the DOM for %d rows in the diagram: not virtualised", rows, shown)
	}

	idle := evalJS[[]float64](t, ctx, `new Promise((done) => {
		const out = []; let last = 0, n = 0;
		function frame(ts) { if (last) out.push(ts - last); last = ts; if (++n < 60) requestAnimationFrame(frame); else done(out); }
		requestAnimationFrame(frame);
	})`)
	t.Logf("idle: p95 frame %.1f ms (%v)", p95(idle), time.Since(t0))
	// Scroll programmatically, one step per frame, and time the frames; a
	// short first pass warms up the JIT and the raster caches.
	scroll := func(frames int) []float64 {
		return evalJS[[]float64](t, ctx, `new Promise((done) => {
		const sc = document.querySelector('[data-testid="seq-scroll"]');
		document.querySelector('[data-testid="follow"]').checked = false;
		sc.scrollTop = 0;
		const out = []; let last = 0, n = 0;
		function frame(ts) {
			if (last) out.push(ts - last);
			last = ts;
			sc.scrollTop += 97;
			if (++n < `+itoa(frames)+`) requestAnimationFrame(frame); else done(out);
		}
		requestAnimationFrame(frame);
	})`)
	}
	scroll(30)
	deltas := scroll(150)
	p := p95(deltas)
	t.Logf("scrolling: %d frames, p95 frame %.1f ms (%v)", len(deltas), p, time.Since(t0))
	if p > 33 {
		t.Errorf("p95 frame time while scrolling = %.1f ms, want under 33", p)
	}
	if top := evalJS[float64](t, ctx, `document.querySelector('[data-testid="seq-scroll"]').scrollTop`); top < 97*100 {
		t.Errorf("the scroller only reached %.0f px", top)
	}
	screenshot(t, ctx, "sequence-10k.png")
}

// TestBrowserLiveThousandPerSecond: 1,000 events a second for 3 s all reach
// the page, none dropped.
func TestBrowserLiveThousandPerSecond(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tmpl := exchangeTemplate(t, tl)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the recorded exchange", `oscoreLab.store.events.length === `+itoa(len(tmpl)))

	start := time.Now()
	published := 0
	for k := 2; published < 3000; {
		due := int(time.Since(start).Milliseconds()) // 1 event per ms
		for published < due && published < 3000 {
			e := tmpl[published%len(tmpl)]
			if e.Exchange != 0 {
				e.Exchange = k + published/len(tmpl)
			}
			e.Time = time.Time{}
			tl.bus.Publish(e)
			published++
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	want := len(tmpl) + published
	waitJS(t, ctx, "every live event", `oscoreLab.store.events.length === `+itoa(want))
	lag := time.Since(start) - elapsed
	t.Logf("published %d events in %v; the page had them all %v later", published, elapsed.Round(time.Millisecond), lag.Round(time.Millisecond))
	if d := evalJS[int](t, ctx, `oscoreLab.store.dropped`); d != 0 {
		t.Errorf("the page was told %d events were dropped", d)
	}
	waitJS(t, ctx, "the event counter", `document.querySelector('[data-testid="event-count"]').textContent === '`+itoa(want)+`'`)
	if lag > 2*time.Second {
		t.Errorf("the page lagged %v behind 1,000 events/s", lag)
	}
}

// TestBrowserViewerWithoutServer: the sequence diagram and the inspector run
// from a trace file alone, with no API and no WebSocket.
func TestBrowserViewerWithoutServer(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	exchangeTemplate(t, tl)
	tr := (&server{lab: tl.lab, bus: tl.bus}).buildTrace()
	var apiCalls int
	mux := http.NewServeMux()
	mux.Handle("/static/", StaticHandler())
	mux.Handle("/view", ViewTrace(tr))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiCalls++
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tl.lab.Close() // nothing live remains

	var ps uint64 // the P->S datagram, opened through a deep link
	for _, e := range tr.Events {
		if e.Type == trace.TypeDatagram && e.From == "P" && e.To == "S" {
			ps = e.Seq
		}
	}
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/view#msg="+itoa(int(ps))))
	waitJS(t, ctx, "the trace rows", `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length === 4`)
	waitJS(t, ctx, "the deep-linked message", `document.querySelector('[data-testid="insp-summary"]') && document.querySelector('[data-testid="insp-summary"]').textContent.startsWith('P → S')`)
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="datagram"][data-from="C"]`))
	waitJS(t, ctx, "the inspector", `document.querySelector('[data-testid="opt-class"][data-opt="Uri-Host"][data-ctx="CTX_C_P"]')`)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-view="composer"], [data-view="topology"]').length`); n != 0 {
		t.Errorf("the viewer shows %d live-only views", n)
	}
	if apiCalls != 0 {
		t.Errorf("the viewer made %d requests outside /static and /view", apiCalls)
	}
	screenshot(t, ctx, "viewer-offline.png")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestBrowserStandaloneHTML: one HTML file with the viewer inlined shows
// the trace with no other request at all.
func TestBrowserStandaloneHTML(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	exchangeTemplate(t, tl)
	var page strings.Builder
	tr := (&server{lab: tl.lab, bus: tl.bus}).buildTrace()
	if err := WriteStandaloneTrace(context.Background(), &page, tr, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "a761c87bf200747b89502887c9c01787") {
		t.Error("the standalone page carries a master secret")
	}
	srv, other := serveOnly(t, page.String())
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/trace.html"))
	waitJS(t, ctx, "the trace rows", `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length === 4`)
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="datagram"][data-from="C"]`))
	waitJS(t, ctx, "the inspector", `document.querySelector('[data-testid="opt-class"][data-opt="Uri-Host"][data-ctx="CTX_C_P"]')`)
	if *other != 0 {
		t.Errorf("the standalone page made %d other requests", *other)
	}
	os.MkdirAll(filepath.Join("..", "artifacts"), 0o755)
	os.WriteFile(filepath.Join("..", "artifacts", "draft-b3-trace.html"), []byte(page.String()), 0o644)
}
