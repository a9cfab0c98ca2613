package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCompareStepByStep compares two runs of draft-b3 in the
// full-width comparison view: one asks for /alarm_status, the other for a
// resource the server lacks. The steps line up one by one; the request
// differs in its Uri-Path, the response in its inner code (2.05 against
// 4.04) and its payload; each step opens to every field side by side. A
// run with one more exchange lines up with its extra steps against nothing.
func TestBrowserCompareStepByStep(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	sc := tl.lab.Scenario()
	step := sc.Steps[0]
	if !strings.Contains(step.URI, "alarm_status") {
		t.Fatalf("draft-b3's first step %q has no alarm_status", step.URI)
	}
	runs := map[string]string{}
	record := func(name string, uris ...string) {
		t.Helper()
		if err := tl.lab.Load(sc); err != nil {
			t.Fatal(err)
		}
		for _, u := range uris {
			st := step
			st.URI = u
			if _, err := tl.send(st); err != nil {
				t.Fatal(err)
			}
		}
		_, _, tr := get(t, tl.srv.URL+"/api/trace")
		file := filepath.Join(t.TempDir(), name+".json")
		if err := os.WriteFile(file, []byte(tr), 0o644); err != nil {
			t.Fatal(err)
		}
		runs[name] = file
	}
	missing := strings.Replace(step.URI, "alarm_status", "no_such_resource", 1)
	record("found", step.URI)
	record("missing", missing)
	record("twice", step.URI, step.URI)

	ctx := labAt(t, tl, 1280, 720)
	run(t, ctx, chromedp.SetUploadFiles(`[data-testid="compare-file"]`, []string{runs["found"], runs["missing"]}))
	waitJS(t, ctx, "the comparison", `document.querySelector('[data-testid="compare-first"]') && !document.querySelector('[data-testid="view-compare"]').hidden`)

	// Full width, in place of the lab.
	if w := evalJS[float64](t, ctx, `document.querySelector('[data-testid="view-compare"]').getBoundingClientRect().width / innerWidth`); w < 0.97 {
		t.Errorf("the comparison takes %.0f%% of the width, want all of it", w*100)
	}
	if evalJS[bool](t, ctx, `document.querySelector('main.grid').checkVisibility()`) {
		t.Error("the lab's panels still show beside the comparison")
	}
	// Step by step: every step numbered in order, both runs on each.
	steps := evalJS[[]map[string]string](t, ctx, `[...document.querySelectorAll('[data-testid="compare-row"]')].map((r) => ({
		step: r.dataset.step, kind: r.dataset.kind, key: r.dataset.key, a: r.querySelector('[data-testid="compare-a"]').textContent,
		b: r.querySelector('[data-testid="compare-b"]').textContent, diffs: [...r.querySelectorAll('.compare-d')].map((d) => d.textContent).join(' | ') }))`)
	if len(steps) < 4 {
		t.Fatalf("%d steps lined up, want at least draft-b3's four datagrams", len(steps))
	}
	var request, response map[string]string
	for i, s := range steps {
		if s["step"] != itoa(i+1) {
			t.Errorf("row %d is numbered step %s", i+1, s["step"])
		}
		if s["a"] == "—" || s["b"] == "—" {
			t.Errorf("step %s lacks a side: %q against %q", s["step"], s["a"], s["b"])
		}
		if s["kind"] == "datagram" && strings.HasPrefix(s["a"], "C→P ") && request == nil {
			request = s
		}
		if s["kind"] == "datagram" && strings.HasPrefix(s["a"], "P→C ") {
			response = s
		}
	}
	if request == nil || response == nil {
		t.Fatalf("no C→P request or P→C response among the steps: %v", steps)
	}
	if !strings.Contains(request["diffs"], "Uri-Path") || !strings.Contains(request["diffs"], "no_such_resource") {
		t.Errorf("the request's differences %q lack the Uri-Path", request["diffs"])
	}
	if !strings.Contains(response["diffs"], "inner code: 2.05 ≠ 4.04") || !strings.Contains(response["diffs"], "payload inside:") {
		t.Errorf("the response's differences %q lack the inner code 2.05 ≠ 4.04 and the payload inside", response["diffs"])
	}
	if !strings.Contains(response["a"], "⟨2.05⟩") || !strings.Contains(response["b"], "⟨4.04⟩") {
		t.Errorf("the response step shows %q against %q, want the inner codes", response["a"], response["b"])
	}
	// A step opens to all its fields, the differing ones marked.
	sel := `[data-testid="compare-row"][data-key="` + response["key"] + `"]`
	run(t, ctx, chromedp.Click(sel+` [data-testid="compare-open"]`))
	waitJS(t, ctx, "the response's fields", `document.querySelector('[data-testid="compare-fields"]')`)
	marked := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="compare-fields"] tr[data-differs="1"]')].map((r) => r.dataset.field).join(',')`)
	for _, f := range []string{"inner code", "payload inside", "layer CTX_C_S code inside"} {
		if !strings.Contains(marked, f) {
			t.Errorf("the response's differing fields %q lack %q", marked, f)
		}
	}
	if same := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="compare-fields"] tr:not([data-differs="1"])')].map((r) => r.dataset.field).join(',')`); !strings.Contains(same, "layer contexts") {
		t.Errorf("the response's equal fields %q lack the layer contexts", same)
	}
	audit(t, ctx, "comparison", `[data-testid="view-compare"]`, 12)
	screenshot(t, ctx, "compare-steps.png")
	run(t, ctx, chromedp.Click(`[data-testid="compare-close"]`))
	waitJS(t, ctx, "the lab again", `document.querySelector('main.grid').checkVisibility() && document.querySelector('[data-testid="view-compare"]').hidden`)

	// One more exchange in B: its steps line up against nothing, after A's.
	run(t, ctx, chromedp.SetUploadFiles(`[data-testid="compare-file"]`, []string{runs["found"], runs["twice"]}))
	waitJS(t, ctx, "the second comparison", `!document.querySelector('[data-testid="view-compare"]').hidden && document.querySelector('[data-testid="compare-first"]').dataset.field !== ''`)
	got := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="compare-row"]')].map((r) => r.dataset.key.split('|')[0] + ':' + (r.querySelector('[data-testid="compare-a"]').textContent === '—' ? 'B only' : 'both'))`)
	sawExtra := false
	for _, g := range got {
		switch g {
		case "1:both":
			if sawExtra {
				t.Errorf("exchange 1 after exchange 2's steps: %v", got)
			}
		case "2:B only":
			sawExtra = true
		default:
			t.Errorf("step %q, want exchange 1 on both sides and exchange 2 in B only: %v", g, got)
		}
	}
	if !sawExtra {
		t.Errorf("B's second exchange is not lined up: %v", got)
	}
}
