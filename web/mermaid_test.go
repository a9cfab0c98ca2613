package web

import (
	"bytes"
	"encoding/json"
	"os"
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
	traces := append(scenarioTraces(t), hostileTrace())
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
// its syntax, as a trace file from anywhere may.
func hostileTrace() *trace.Trace {
	ids := []string{"end", "opt", "Note", "participant", "as", "1st", "x y", "a-b", "loop", "box", "rect",
		"alt", "else", "par", "and", "critical", "break", "activate", "deactivate", "autonumber", "title",
		"actor", "create", "destroy", "link", "links", "over", "left", "right", "of", "END", "Off", "AccTitle",
		"properties", "details", "option", "end_1"}
	var ascii strings.Builder
	for c := byte(0x20); c < 0x7f; c++ {
		ascii.WriteByte(c)
	}
	texts := []string{ascii.String(), "end", "%% comment", "a\nb\r\nc", "<script>alert(1)</script>", "---",
		"->> x", "Note over end: y", "é 漢字 🙂", "#59; &amp; &#35;", "`code`", "back\\slash", "{{x}} [y] (z)",
		":::", "tab\there", "end\nend", "x;y", "  leading", "trailing  ", "<br/>", "\x00nul", "\u202eRTL"}
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
		)
	}
	return tr
}
