package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// RFC 9529 trace 1 (section 2): the Responder's ephemeral public key and
// PRK_2e, the first secret of the key schedule.
const (
	rfc9529GY    = "dc 88 d2 d5 1d a5 ed 67 fc 46 16 35 6b c8 ca 74 ef 9e be 8b 38 7e 62 3a 36 0b a4 80 b9 b2 9d 1c"
	rfc9529PRK2e = "d5 84 ac 2e 5d ad 5a 77 d1 4b 53 eb e7 2e f1 d5 da a8 86 0d 39 93 73 bf 2c 24 0a fa 7b a8 04 da"
)

// TestBrowserEDHOCMessage2 runs the first exchange of edhoc-rfc9529-1 and
// opens message_2 in the inspector: the sequence view marks the row as
// EDHOC, the message's items show (G_Y as RFC 9529 has it) and the key
// schedule's cards (TH_2, PRK_2e, KEYSTREAM_2) with their labels, PRK_2e's
// secret output live, and withheld once the trace is saved without secrets.
func TestBrowserEDHOCMessage2(t *testing.T) {
	tl := newTestLab(t, "edhoc-rfc9529-1")
	tl.sendFirstStep(t)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	const row = `document.querySelector('[data-testid="seq-row"][data-kind="datagram"][data-from="S"][data-to="C"]')`
	waitJS(t, ctx, "message_2's row marked EDHOC", row+`?.querySelector('[data-testid="edhoc-chip"][data-message="message_2"]')`)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="edhoc-chip"][data-message="message_1"]').length`); n != 1 {
		t.Errorf("%d rows marked EDHOC message_1, want 1 (the request)", n)
	}
	evalJS[bool](t, ctx, row+`.click() || true`)
	waitJS(t, ctx, "both views of message_2", `document.querySelectorAll('[data-testid="edhoc"][data-message="message_2"]').length === 2`)
	sec := `document.querySelector('[data-testid="edhoc"][data-message="message_2"][data-role="responder"]')`
	if got := evalJS[string](t, ctx, sec+`.querySelector('[data-testid="edhoc-field"][data-name="G_Y"]')?.textContent || ''`); !strings.Contains(got, strings.ReplaceAll(rfc9529GY, " ", "")) {
		t.Errorf("the G_Y item reads %q, want RFC 9529's G_Y", got)
	}
	for name, title := range map[string]string{"th_2": "TH_2", "prk_2e": "PRK_2e", "keystream_2": "KEYSTREAM_2", "mac_2": "MAC_2"} {
		got := evalJS[string](t, ctx, fmt.Sprintf(sec+`.querySelector('[data-testid="edhoc-card"][data-name=%q] .card-title')?.textContent || ''`, name))
		if !strings.HasPrefix(got, title) {
			t.Errorf("card %s titled %q, want %s", name, got, title)
		}
	}
	if got := evalJS[string](t, ctx, sec+`.querySelector('[data-testid="edhoc-card"][data-name="keystream_2"]').textContent`); !strings.Contains(got, "KEYSTREAM_2") || !strings.Contains(got, "PRK_2e") {
		t.Errorf("KEYSTREAM_2's card does not say it comes from PRK_2e: %q", got)
	}
	prk := sec + `.querySelector('[data-testid="edhoc-card"][data-name="prk_2e"]')`
	if got := evalJS[string](t, ctx, prk+`.querySelector('[data-testid="edhoc-output"]')?.textContent || ''`); !strings.Contains(got, rfc9529PRK2e) {
		t.Errorf("live PRK_2e output %q, want RFC 9529's %q", got, rfc9529PRK2e)
	}
	screenshot(t, ctx, "inspector-edhoc-message2.png")

	// The same trace saved without secrets: PRK_2e is withheld, TH_2 stays.
	evalJS[bool](t, ctx, `(async () => {
		const { share } = await import('/static/js/share.js');
		const text = await (await fetch('/api/trace')).text();
		share.view(share.parseTraceText(text, 'saved.json'));
		return true;
	})()`)
	waitJS(t, ctx, "the saved trace", `document.body.dataset.mode === 'trace' && `+row+`?.querySelector('[data-testid="edhoc-chip"]')`)
	evalJS[bool](t, ctx, row+`.click() || true`)
	waitJS(t, ctx, "message_2 from the file", sec+`?.querySelector('[data-testid="edhoc-card"][data-name="prk_2e"] [data-testid="edhoc-withheld"]')`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="inspector"]').textContent`); strings.Contains(got, rfc9529PRK2e) {
		t.Error("PRK_2e shows although the trace was saved without secrets")
	}
	if got := evalJS[string](t, ctx, sec+`.querySelector('[data-testid="edhoc-card"][data-name="th_2"] [data-testid="edhoc-output"]')?.textContent || ''`); !strings.Contains(got, "c6 40 5c 15") {
		t.Errorf("TH_2 output %q from the file, want RFC 9529's c6405c15...", got)
	}
}

// TestBrowserImportHostileEDHOC imports a real EDHOC run's trace whose
// EDHOC parts are spoilt: markup in every text, hex fields that are not
// hex, lists and objects of the wrong kinds. Every row opens, the EDHOC
// sections still draw, nothing becomes markup or runs, and a non-hex
// output never reaches the page.
func TestBrowserImportHostileEDHOC(t *testing.T) {
	tl := newTestLab(t, "edhoc-rfc9529-1")
	tl.sendFirstStep(t)
	code, _, body := get(t, tl.srv.URL+"/api/trace")
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); code != 200 || err != nil {
		t.Fatalf("GET /api/trace: %d %v", code, err)
	}
	img := func(k int) string { return `<img src=x onerror="window.__pwned=` + itoa(k) + `">` }
	bad := []any{img(40), 7, []any{img(41)}, map[string]any{"x": img(42)}, nil, true}
	n := 0
	for _, x := range doc["events"].([]any) {
		d, ok := x.(map[string]any)["decision"].(map[string]any)
		if !ok || d["edhoc"] == nil {
			continue
		}
		p := d["edhoc"].(map[string]any)
		p["session"], p["role"] = img(43), bad[n%len(bad)]
		fields, _ := p["fields"].([]any)
		for i, f := range fields {
			f := f.(map[string]any)
			f["name"], f["diag"], f["note"] = img(44), img(45), bad[(n+i)%len(bad)]
			f["hex"], f["raw"] = img(46), "zz"
		}
		cards, _ := p["cards"].([]any)
		for i, c := range cards {
			c := c.(map[string]any)
			c["name"], c["formula"], c["info_diag"] = img(47), img(48), bad[(n+i)%len(bad)]
			c["inputs"] = []any{img(49), 5, nil}
			c["output"], c["input"], c["info"] = "<b>"+img(50), bad[(n+i+1)%len(bad)], "0g"
			c["secret"] = bad[(n+i)%len(bad)]
		}
		p["cards"] = append(cards, img(51), 3, []any{}, nil)
		p["fields"] = append(fields, "x", nil)
		n++
	}
	if n < 4 {
		t.Fatalf("only %d EDHOC parts in the run", n)
	}
	// One part of the wrong kind altogether, one with lists as objects.
	for _, x := range doc["events"].([]any) {
		if d, ok := x.(map[string]any)["decision"].(map[string]any); ok && d["edhoc"] != nil {
			d["edhoc"] = map[string]any{"message": img(54), "fields": map[string]any{"0": img(52)}, "cards": img(53)}
			break
		}
	}
	in, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	importJSON(t, ctx, in, len(doc["events"].([]any)))
	clickEveryRow(t, ctx)
	// The spoilt parts still draw, as text: message_2's row opens both views.
	evalJS[bool](t, ctx, `document.querySelector('[data-testid="seq-row"][data-kind="datagram"][data-from="S"][data-to="C"]').click() || true`)
	waitJS(t, ctx, "the spoilt message_2", `document.querySelectorAll('[data-testid="edhoc"][data-message="message_2"]').length === 2`)
	text := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="edhoc"]')].map((e) => e.textContent).join(' ')`)
	if !strings.Contains(text, `<img src=x onerror="window.__pwned=43">`) || !strings.Contains(text, "window.__pwned=48") {
		t.Errorf("the spoilt session and formula do not show as text: %.300q", text)
	}
	if strings.Contains(text, "<b>") || strings.Contains(text, "0g") {
		t.Errorf("a value that is not hex reached the page: %.300q", text)
	}
	noMarkupFromTrace(t, ctx)
}

// TestBrowserEDHOCThroughProxy runs draft-b5 (EDHOC C-P, then EDHOC C-S
// through P under CTX_C_P with combined requests) and checks that each
// datagram is marked with the EDHOC messages its bytes carry, found in the
// clear or inside an OSCORE layer, whatever exchange the node filed the
// message under: C prepares message_3 for CTX_C_P when message_2 arrives,
// and sends it with the next request (RFC 9668 3.2.1).
func TestBrowserEDHOCThroughProxy(t *testing.T) {
	tl := newTestLab(t, "draft-b5")
	for i, st := range tl.lab.Scenario().Steps {
		if res, err := tl.send(st); err != nil || res.Code == "" {
			t.Fatalf("step %d: %v %s", i, err, res.Problem)
		}
	}
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the steps' datagrams", `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length >= 10`)
	got := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]')].map((r) => r.dataset.exchange + ':' + r.dataset.from + '>' + r.dataset.to + '=' + (r.querySelector('[data-testid="edhoc-chip"]')?.dataset.message || '-')).join(' ')`)
	const want = "1:C>P=message_1 1:P>C=message_2 2:C>P=message_3, message_1 2:P>S=message_1 2:S>P=message_2 2:P>C=message_2 3:C>P=message_3 3:P>S=message_3 3:S>P=- 3:P>C=-"
	if got != want {
		t.Errorf("EDHOC chips by row (exchange:from>to=messages)\n got %s\nwant %s", got, want)
	}
	// The combined request C->P: message_3 for CTX_C_P as C sent it and P
	// received it, and message_1 for CTX_C_S inside the CTX_C_P layer.
	evalJS[bool](t, ctx, `document.querySelector('[data-testid="seq-row"][data-kind="datagram"][data-exchange="2"][data-from="C"][data-to="P"]').click() || true`)
	waitJS(t, ctx, "the combined request's EDHOC messages", `document.querySelectorAll('[data-testid="edhoc"]').length === 3`)
	views := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="edhoc"]')].map((e) => e.dataset.message + '@' + e.dataset.node).join(' ')`)
	if views != "message_3@C message_3@P message_1@S" {
		t.Errorf("the combined request shows %q, want message_3 as C sent and P received it, then message_1 as S received it", views)
	}
}
