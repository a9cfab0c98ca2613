package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/trace"
)

// TestBrowserMermaidParses runs Mermaid's own parser (testdata/mermaid,
// the library GitHub renders Mermaid blocks with) on the Mermaid export of
// every built-in scenario's run and of a hostile trace: node ids that are
// words of Mermaid's grammar ("end", "opt", "participant", ...) and notes
// with every printable ASCII character, line breaks, HTML, comments and
// entity codes. A bug report with a diagram GitHub cannot draw is worse
// than none.
func TestBrowserMermaidParses(t *testing.T) {
	ctx := newTab(t)
	js, err := os.ReadFile("testdata/mermaid/mermaid.min.js")
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Navigate("about:blank"))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](string(js)+";0")); err != nil {
		t.Fatalf("loading Mermaid: %v", err)
	}
	// The parser is live: it refuses a broken diagram (';' ends a message).
	parse := func(texts []string) []string {
		in, _ := json.Marshal(texts)
		return evalJS[[]string](t, ctx, `(async () => {
			const r = [];
			for (const s of `+string(in)+`) {
				try { await mermaid.parse(s); r.push(''); } catch (e) { r.push(String(e.message || e).slice(0, 600)); }
			}
			return r;
		})()`)
	}
	if got := parse([]string{"sequenceDiagram\n    A->>B: x;y\n"}); got[0] == "" {
		t.Fatal("Mermaid accepted a broken diagram: the check would prove nothing")
	}
	traces := append(slices.Clone(scenarioTraces(t)), hostileTrace()) // the corpus is shared
	var texts []string
	for _, tr := range traces {
		var b bytes.Buffer
		if err := trace.WriteMermaid(&b, tr); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, b.String())
	}
	for i, e := range parse(texts) {
		if e != "" {
			t.Errorf("%s: Mermaid refuses the export: %s", traces[i].Scenario.Name, e)
		}
	}
}

// hostileTrace has nodes named after Mermaid's keywords and notes full of
// its syntax and of HTML that runs script if not escaped, as a trace file
// from anywhere may.
func hostileTrace() *trace.Trace {
	ids := []string{"end", "opt", "Note", "participant", "as", "1st", "x y", "a-b", "loop", "box", "rect",
		"alt", "else", "par", "and", "critical", "break", "activate", "deactivate", "autonumber", "title",
		"actor", "create", "destroy", "link", "links", "over", "left", "right", "of", "END", "Off", "AccTitle",
		"properties", "details", "option", "end_1", `<img src=x onerror="window.__pwned=1">`, `"><svg onload=window.__pwned=2>`}
	var ascii strings.Builder
	for c := byte(0x20); c < 0x7f; c++ {
		ascii.WriteByte(c)
	}
	texts := []string{ascii.String(), "end", "%% comment", "a\nb\r\nc", "<script>alert(1)</script>", "---",
		"->> x", "Note over end: y", "é 漢字 🙂", "#59; &amp; &#35;", "`code`", "back\\slash", "{{x}} [y] (z)",
		":::", "tab\there", "end\nend", "x;y", "  leading", "trailing  ", "<br/>", "\x00nul", "\u202eRTL",
		`</script><script>window.__pwned=3</script>`, `<img src=x onerror=window.__pwned=4>`, `' onmouseover='window.__pwned=5`}
	tr := &trace.Trace{Format: trace.FormatName, Version: trace.FormatVersion, Scenario: trace.ScenarioInfo{Name: "hostile"}}
	for _, id := range ids {
		tr.Nodes = append(tr.Nodes, trace.NodeInfo{ID: id, Role: "proxy"})
	}
	get := []byte{0x40, 0x01, 0x12, 0x34, 0xb5, 'h', 'e', 'l', 'l', 'o'} // CON GET /hello
	for i, id := range ids {
		next, txt := ids[(i+1)%len(ids)], texts[i%len(texts)]
		tr.Events = append(tr.Events,
			trace.Event{Type: trace.TypeDatagram, Exchange: 1, From: id, To: next, Link: id + "-" + next, Dir: trace.DirRequest, Bytes: get},
			trace.Event{Type: trace.TypeDecision, Exchange: 1, Node: next, Decision: &trace.Decision{Rule: txt, Step: txt, Section: txt, Outcome: txt}},
			trace.Event{Type: trace.TypeError, Exchange: 1, Node: next, Error: &trace.ErrorEvent{Code: txt, Diagnostic: txt, Reason: txt}},
			trace.Event{Type: trace.TypeFault, From: id, To: next, Fault: &trace.Fault{Kind: txt, Detail: txt}},
			trace.Event{Type: trace.TypeDelivery, Exchange: 1, Node: next, Delivery: &trace.Delivery{Resource: txt, Payload: txt}},
			trace.Event{Type: trace.TypeNotice, Note: txt},
			trace.Event{Type: trace.TypeDatagram, Exchange: 1, From: next, To: id, Link: id + "-" + next, Dir: trace.DirResponse, Bytes: []byte(txt)},
			// A group link's legs, named by the trace.
			trace.Event{Type: trace.TypeDatagram, From: id, To: next, Dir: trace.DirRequest, Bytes: get, Multicast: &trace.Multicast{Group: next, Leg: trace.MulticastSend, Of: 2}},
			trace.Event{Type: trace.TypeDatagram, From: next, To: id, Dir: trace.DirRequest, Bytes: get, Multicast: &trace.Multicast{Group: next, Leg: trace.MulticastCopy, Copy: 1, Of: 2}},
			trace.Event{Type: trace.TypeDatagram, From: id, To: id, Dir: trace.DirResponse, Bytes: []byte(txt), Multicast: &trace.Multicast{Group: txt, Leg: txt}},
		)
	}
	return tr
}

// TestBrowserViewerHostileTrace opens the hostile trace in the viewer, as
// served by /view and as a standalone HTML file, and opens every row in
// the inspector: every event shows, no node id or text becomes markup, no
// script it carries runs, and the page throws nothing (newTab fails the
// test on any JavaScript exception).
func TestBrowserViewerHostileTrace(t *testing.T) {
	tr := hostileTrace()
	for i := range tr.Events {
		tr.Events[i].Seq = uint64(i + 1)
	}
	var page strings.Builder
	if err := WriteStandaloneTrace(context.Background(), &page, tr, false); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/static/", StaticHandler())
	mux.Handle("/view", ViewTrace(tr))
	mux.HandleFunc("/trace.html", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page.String()) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/view", "/trace.html"} {
		t.Run(path, func(t *testing.T) {
			ctx := newTab(t)
			run(t, ctx, chromedp.Navigate(srv.URL+path))
			waitJS(t, ctx, "the trace's events", `document.querySelector('[data-testid="event-count"]')?.textContent === '`+itoa(len(tr.Events))+`'`)
			clickEveryRow(t, ctx)
			noMarkupFromTrace(t, ctx)
		})
	}
}

// TestBrowserImportHostileJSON imports, as the Import and Open trace tools
// do, the hostile trace's JSON with the fields docs/trace-format.md types
// as numbers and strings replaced by markup, objects and negative numbers.
// Nothing from it becomes markup or runs, the page throws nothing, and the
// events that keep a valid sequence number all show.
func TestBrowserImportHostileJSON(t *testing.T) {
	var b bytes.Buffer
	if err := trace.WriteJSON(&b, hostileTrace(), false); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	evs := doc["events"].([]any)
	img := func(k int) string { return `<img src=x onerror="window.__pwned=` + itoa(k) + `">` }
	valid := 0
	for i, x := range evs {
		ev := x.(map[string]any)
		ev["seq"] = i + 1
		switch i % 7 {
		case 0:
			ev["exchange"] = img(10)
			ev["hop"] = img(11)
		case 1:
			ev["layer"] = -1
			ev["exchange"] = map[string]any{"toString": img(12)}
		case 2:
			ev["from"], ev["to"] = 7, []any{img(13)}
			ev["bytes"] = map[string]any{"length": 3}
		case 3:
			ev["seq"] = img(14) // dropped: no valid sequence number
			continue
		case 4:
			ev["time"], ev["dir"], ev["link"] = 12, img(15), false
		case 5:
			ev["hop"] = 1.5
		}
		valid++
	}
	importEveryRow(t, doc, valid)
}

// importEveryRow imports the trace doc into the lab's page as the Import
// tool does, waits for its events (want of them), clicks every row and
// checks that nothing from the trace became an element or ran.
func importEveryRow(t *testing.T, doc map[string]any, want int) {
	t.Helper()
	in, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	tl := newTestLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	importJSON(t, ctx, in, want)
	clickEveryRow(t, ctx)
	clickEveryPacket(t, ctx)
	// The teaching tools read the same events: replay every step with the
	// presenter's stage, the topology stage (the processing of the message's
	// sender and receiver opened)
	// and the quiz on (revealing each answer), and compare the trace with
	// itself.
	evalJS[bool](t, ctx, `(async () => {
		const L = window.oscoreLab;
		document.querySelector('[data-testid="presenter-toggle"]').click();
		L.quiz.enable(true);
		L.topoStage.show(true);
		L.replay.start(0);
		for (let i = 0; i < 1000 && L.replay.cursor < L.replay.all.length; i++) {
			L.replay.next();
			await new Promise((r) => requestAnimationFrame(() => r()));
			document.querySelector('[data-testid="quiz-reveal"]')?.click();
			for (const n of document.querySelectorAll('[data-testid="stage-node"].from, [data-testid="stage-node"].to')) {
				L.topoStage.node = n.dataset.node;
				L.topoStage.show(true);
			}
		}
		const tr = L.share.parseTraceText(`+strconv.Quote(string(in))+`, 'hostile.json');
		L.share.compare(tr, tr, ['a', 'b']);
		return true;
	})()`)
	noMarkupFromTrace(t, ctx)
}

// importJSON imports a trace file's text into the open page as the Import
// tool does and waits for its events (want of them).
func importJSON(t *testing.T, ctx context.Context, in []byte, want int) {
	t.Helper()
	evalJS[bool](t, ctx, `(async () => {
		const { share } = await import('/static/js/share.js');
		share.view(share.parseTraceText(`+strconv.Quote(string(in))+`, 'hostile.json'));
		return true;
	})()`)
	waitJS(t, ctx, "the imported events", `document.querySelector('[data-testid="event-count"]').textContent === '`+itoa(want)+`'`)
}

// clickEveryRow scrolls the sequence view (it keeps only the rows on
// screen) and clicks every row, which opens each in the inspector.
func clickEveryRow(t *testing.T, ctx context.Context) {
	t.Helper()
	evalJS[bool](t, ctx, `(async () => {
		const sc = document.querySelector('[data-testid="seq-scroll"]');
		for (let y = 0; y <= sc.scrollHeight; y += sc.clientHeight) {
			sc.scrollTop = y;
			await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
			for (const row of sc.querySelectorAll('[data-testid="seq-row"]')) row.click();
		}
		return true;
	})()`)
}

// noMarkupFromTrace fails the test if the hostile trace's text became an
// element or ran.
func noMarkupFromTrace(t *testing.T, ctx context.Context) {
	t.Helper()
	if got := evalJS[string](t, ctx, `String(window.__pwned)`); got != "undefined" {
		t.Errorf("a script from the trace ran: window.__pwned = %s", got)
	}
	if k := evalJS[int](t, ctx, `document.querySelectorAll('[onerror], [onload], [onmouseover], img[src="x"]').length`); k != 0 {
		t.Errorf("%d elements made from the trace's text", k)
	}
}

// TestBrowserImportHostileReports imports a real run's trace (the first
// built-in scenario) with the events' nested parts (layer reports,
// decisions, errors, faults, deliveries; a layer event keeps its action)
// spoilt: values replaced by markup, numbers, arrays, objects, null or
// booleans in turn, and every third list or object inside by such a value
// (three runs, one per third). The import
// shows every event, every row opens in the inspector, the replay with the
// presenter's stage and the quiz runs to the end, the trace compares with
// itself, all without a JavaScript exception, and nothing becomes markup.
func TestBrowserImportHostileReports(t *testing.T) {
	for phase := range 3 {
		t.Run("phase"+itoa(phase), func(t *testing.T) { importSpoiltReports(t, phase) })
	}
	// The trace's own parts: scenario, nodes and contexts of the wrong
	// shapes.
	t.Run("envelope", func(t *testing.T) {
		doc := traceDoc(t)
		doc["scenario"] = map[string]any{"name": []any{"<b>"}, "title": 5, "steps": 7, "explanation": map[string]any{}, "links": []any{3, map[string]any{"a": "C", "b": "P", "faults": 9}},
			"nodes": []any{nil, map[string]any{"id": "C", "role": "client"}, map[string]any{"id": "P", "role": "proxy", "reverse": 4, "forward": "x"}, map[string]any{"id": "S", "role": "server"}}}
		doc["nodes"] = []any{map[string]any{"id": 5, "role": map[string]any{}}, "x", nil, map[string]any{"id": `<img src=x onerror="window.__pwned=30">`, "role": "proxy", "addr": 9}}
		doc["contexts"] = 5
		importEveryRow(t, doc, len(doc["events"].([]any)))
	})
	// Only the lists a report's readers walk, each something else.
	t.Run("lists", func(t *testing.T) {
		doc := traceDoc(t)
		evs := doc["events"].([]any)
		n := 0
		for _, x := range evs {
			if le, ok := x.(map[string]any)["layer_event"].(map[string]any); ok {
				if rep, ok := le["report"].(map[string]any); ok {
					rep["options"] = []any{"<b>x</b>", 7, map[string]any{"a": 1}, true}[n%4]
					rep["notes"] = []any{5, "note", map[string]any{}, []any{nil, 3}}[n%4]
					n++
				}
			}
		}
		if n < 4 {
			t.Fatalf("only %d layer reports", n)
		}
		importEveryRow(t, doc, len(evs))
	})
}

// traceDoc is the first built-in scenario's trace as generic JSON.
func traceDoc(t *testing.T) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := trace.WriteJSON(&b, scenarioTraces(t)[0], false); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// importSpoiltReports spoils the trace as TestBrowserImportHostileReports
// says, replacing the lists and objects whose count (in key order) is
// phase modulo 3, and imports it.
func importSpoiltReports(t *testing.T, phase int) {
	doc := traceDoc(t)
	bad := []any{`<img src=x onerror="window.__pwned=20">`, 5, []any{1, "<b>"}, map[string]any{"a": 1}, nil, true, -3, 1e300}
	k, containers := 0, 0
	var spoil func(v any, top bool) any
	spoil = func(v any, top bool) any {
		switch x := v.(type) {
		case map[string]any:
			if containers++; !top && containers%3 == phase {
				break
			}
			for _, key := range slices.Sorted(maps.Keys(x)) {
				x[key] = spoil(x[key], false)
			}
			return x
		case []any:
			if containers++; containers%3 == phase {
				break
			}
			for i, e := range x {
				x[i] = spoil(e, false)
			}
			return x
		}
		k++
		return bad[k%len(bad)]
	}
	evs := doc["events"].([]any)
	for _, x := range evs {
		ev := x.(map[string]any)
		for _, part := range []string{"decision", "error", "fault", "delivery"} {
			if p, ok := ev[part]; ok {
				ev[part] = spoil(p, true)
			}
		}
		// The action stays: a layer that is never applied never reaches a
		// datagram's row, and the rows are what must survive the report.
		if le, ok := ev["layer_event"].(map[string]any); ok {
			le["report"] = spoil(le["report"], true)
		}
	}
	if k < 100 {
		t.Fatalf("only %d values spoilt: the trace has too few nested parts to test", k)
	}
	importEveryRow(t, doc, len(evs))
}

// TestBrowserSavedTraceKeepsTopology: a trace saved from the live page
// (Save JSON) carries the live scenario; imported again, after the store
// reads its envelope into the documented shapes, it draws the same
// topology: nodes, links and context arcs (draft-b7: a reverse-proxy).
func TestBrowserSavedTraceKeepsTopology(t *testing.T) {
	tl := newTestLab(t, "draft-b7")
	tl.sendFirstStep(t)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the exchange", `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length >= 4`)
	const drawn = `[...document.querySelectorAll('[data-testid="topo-link"], [data-testid="topo-node"], [data-testid="topo-ctx"]')].map((e) => e.dataset.link || e.dataset.node || e.dataset.ctx).sort().join(' ')`
	before := evalJS[string](t, ctx, drawn)
	evalJS[bool](t, ctx, `(() => { const L = window.oscoreLab; L.share.view(JSON.parse(JSON.stringify(L.share.current())), 'saved.json'); return true; })()`)
	waitJS(t, ctx, "the imported trace", `document.body.dataset.mode === 'trace' && document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length >= 4`)
	if after := evalJS[string](t, ctx, drawn); after != before || !strings.Contains(before, "P-S") {
		t.Errorf("topology drawn %q live, %q from the saved trace", before, after)
	}
}
