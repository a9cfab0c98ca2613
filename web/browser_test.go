package web

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium against a real server and real
// UDP nodes. They skip only when chromium is absent and CI is unset.

// updateScreenshot refreshes docs/screenshot.png (the README's picture);
// the other screenshots always go to artifacts/, which git ignores.
var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/screenshot.png from the draft-b3 inspector view")

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

func chromiumPath() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newTab opens a tab in the shared headless browser; JavaScript exceptions
// on the page fail the test.
func newTab(t *testing.T) context.Context {
	t.Helper()
	return newTabFor(t, 60*time.Second)
}

// newTabFor is newTab with the tab's time bounded by d instead of a minute.
func newTabFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatal("chromium not found (apt-get install chromium) and CI is set")
		}
		t.Skip("chromium not found; set CI to make this a failure")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1600, 1000))
		actx, c1 := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, c2 := chromedp.NewContext(actx)
		browser.ctx, browser.cancel = bctx, func() { c2(); c1() }
		browser.err = chromedp.Do(bctx)
	})
	if browser.err != nil {
		t.Fatalf("starting chromium: %v", browser.err)
	}
	tab, cancel := chromedp.NewContext(browser.ctx)
	t.Cleanup(cancel)
	var mu sync.Mutex
	var jsErrors []string
	chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			jsErrors = append(jsErrors, fmt.Sprintf("%s (%s:%d)", msg, d.URL, d.LineNumber+1))
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range jsErrors {
			t.Errorf("JavaScript exception: %s", e)
		}
	})
	ctx, c2 := context.WithTimeout(tab, d)
	t.Cleanup(c2)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1600, 1000)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// waitJS polls a JavaScript expression until it is truthy.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[any](expr, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// openLab loads the page and waits until the views are mounted and live.
func openLab(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(url))
	waitJS(t, ctx, "the page to start", `document.body.dataset.ready === '1' && document.body.dataset.live === 'live'`)
}

func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("..", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
	return png
}

func loadBuiltin(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run(t, ctx, chromedp.SetValue(`[data-testid="scenario-select"]`, name), chromedp.Click(`[data-testid="load-scenario"]`))
	waitJS(t, ctx, "scenario "+name, fmt.Sprintf(`oscoreLab.store.scenario && oscoreLab.store.scenario.name === %q`, name))
}

func clickSend(t *testing.T, ctx context.Context) string {
	t.Helper()
	run(t, ctx, chromedp.Click(`[data-testid="send-result"]`), chromedp.Click(`[data-testid="send"]`))
	waitJS(t, ctx, "a send result", `document.querySelector('[data-testid="send-result"]').dataset.code !== undefined && !document.querySelector('[data-testid="send"]').disabled`)
	return evalJS[string](t, ctx, `document.querySelector('[data-testid="send-result"]').dataset.code || ''`)
}

// chipsOf lists the layer chips of the n-th datagram row, outermost first.
func chipsOf(t *testing.T, ctx context.Context, from, to string) string {
	t.Helper()
	return evalJS[string](t, ctx, fmt.Sprintf(`[...document.querySelector('[data-testid="seq-row"][data-kind="datagram"][data-from=%q][data-to=%q]').querySelectorAll('[data-testid="layer-chip"]')].map(c => c.dataset.ctx).join(' ')`, from, to))
}

func TestBrowserDraftB3LayersAndInspector(t *testing.T) {
	tl := newTestLab(t, "draft-b1")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	loadBuiltin(t, ctx, "draft-b3")
	waitJS(t, ctx, "the composer prefilled from the scenario", `document.querySelector('[data-testid="comp-uri"]').value === 'coap://example.com/alarm_status'`)
	if code := clickSend(t, ctx); code != "2.05" {
		t.Fatalf("send answered %q, want 2.05: %s", code, evalJS[string](t, ctx, `document.querySelector('[data-testid="send-result"]').textContent`))
	}
	waitJS(t, ctx, "four datagrams", `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length >= 4`)
	for _, tc := range []struct{ from, to, want string }{
		{"C", "P", "CTX_C_P CTX_C_S"},
		{"P", "S", "CTX_P_S CTX_C_S"},
		{"S", "P", "CTX_P_S CTX_C_S"},
		{"P", "C", "CTX_C_P CTX_C_S"},
	} {
		if got := chipsOf(t, ctx, tc.from, tc.to); got != tc.want {
			t.Errorf("layer chips %s->%s = %q, want %q (outermost first)", tc.from, tc.to, got, tc.want)
		}
	}

	// The inspector on the first leg: Uri-Host is Class E in the C-P layer
	// (draft 2.2: escalated while Proxy-Scheme travels with it).
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="datagram"][data-from="C"][data-to="P"]`))
	waitJS(t, ctx, "the options table", `document.querySelector('[data-testid="opt-class"][data-opt="Uri-Host"][data-ctx="CTX_C_P"]')`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="opt-class"][data-opt="Uri-Host"][data-ctx="CTX_C_P"] b').textContent`); got != "E" {
		t.Errorf("Uri-Host in CTX_C_P is class %q, want E", got)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="opt-class"][data-opt="Uri-Host"][data-ctx="CTX_C_P"] .steps').textContent`); !strings.HasPrefix(got, "Option-protection Step 1") {
		t.Errorf("Uri-Host step path = %q", got)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="onion-layer"]').length`); n != 2 {
		t.Errorf("onion shows %d layers, want 2", n)
	}
	// Calculation cards show the report's values, not recomputed ones.
	want := evalJS[string](t, ctx, `(() => { const r = oscoreLab.store.bySeq.get(oscoreLab.store.selected); return r.layers[1].applied.layer_event.report.nonce.nonce.replace(/(..)(?!$)/g, '$1 '); })()`)
	if card := evalJS[string](t, ctx, `document.querySelector('[data-testid="card-nonce"]').textContent`); want == "" || !strings.Contains(card, want) {
		t.Errorf("nonce card %q lacks the report's nonce %q", card, want)
	}
	for _, sel := range []string{"card-key", "card-aad", "flag-bits", "decision"} {
		if n := evalJS[int](t, ctx, fmt.Sprintf(`document.querySelectorAll('[data-testid=%q]').length`, sel)); n == 0 {
			t.Errorf("inspector has no %s", sel)
		}
	}
	// Hovering a field highlights its bytes.
	hl := evalJS[int](t, ctx, `(() => { const f = [...document.querySelectorAll('.fields .f')].find(x => x.textContent.includes('OSCORE')); f.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); return document.querySelectorAll('.hex .b.hl').length; })()`)
	if hl < 2 {
		t.Errorf("hovering the OSCORE option highlights %d bytes", hl)
	}
	png := screenshot(t, ctx, "inspector-draft-b3.png")
	if *updateScreenshot {
		if err := os.WriteFile(filepath.Join("..", "docs", "screenshot.png"), png, 0o644); err != nil {
			t.Errorf("docs/screenshot.png: %v", err)
		}
	}

	// The second leg: the proxy consumed Proxy-Scheme, so Uri-Host is no
	// longer escalated in the P-S layer.
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="datagram"][data-from="P"][data-to="S"]`))
	waitJS(t, ctx, "the P-S options", `document.querySelector('[data-testid="opt-class"][data-opt="Uri-Host"][data-ctx="CTX_P_S"]')`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="opt-class"][data-opt="Uri-Host"][data-ctx="CTX_P_S"] b').textContent`); got == "E" {
		t.Errorf("Uri-Host in CTX_P_S is class E; the draft's B.3 keeps it outer")
	}
	// The node panel shows the contexts' sender sequence numbers.
	waitJS(t, ctx, "node panel", `document.querySelector('[data-testid="node-card"][data-node="C"] [data-testid="ctx-state"][data-ctx="CTX_C_S"]')`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="node-card"][data-node="C"] [data-testid="ctx-state"][data-ctx="CTX_C_S"] [data-testid="sender-seq"]').textContent`); got != "43" {
		t.Errorf("C's CTX_C_S sender seq = %q, want 43 (pinned 42, one request sent)", got)
	}
	screenshot(t, ctx, "lab-draft-b3.png")
}

func TestBrowserEditorAddProxy(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run(t, ctx,
		chromedp.SetValue(`[data-testid="add-node-id"]`, "P2"),
		chromedp.SetValue(`[data-testid="add-node-kind"]`, "forward"),
		chromedp.Click(`[data-testid="add-node"]`))
	waitJS(t, ctx, "the add to be applied", `document.querySelector('[data-testid="status"]').textContent !== ''`)
	t.Logf("status: %s", evalJS[string](t, ctx, `document.querySelector('[data-testid="status"]').textContent`))
	waitJS(t, ctx, "P2 in the topology", `document.querySelector('[data-testid="topo-node"][data-node="P2"]')`)
	found := false
	for _, n := range tl.lab.Scenario().Nodes {
		found = found || (n.ID == "P2" && n.Role == "proxy" && n.Forward)
	}
	if !found {
		t.Fatalf("the running lab has no forward proxy P2: %+v", tl.lab.Scenario().Nodes)
	}
	// The node form edits the running node: a layer limit and an allow-list.
	run(t, ctx,
		chromedp.Click(`[data-testid="topo-node"][data-node="P2"]`),
		chromedp.SetValue(`[data-testid="node-layer-limit"]`, "3"),
		chromedp.SetValue(`[data-testid="node-allow"]`, "-: S, P"),
		chromedp.Click(`[data-testid="node-apply"]`))
	waitJS(t, ctx, "the node edit", `oscoreLab.store.scenario.nodes.some(n => n.id === 'P2' && n.layer_limit === 3)`)
	for _, n := range tl.lab.Scenario().Nodes {
		if n.ID == "P2" && (n.LayerLimit != 3 || len(n.Allow[""]) != 2) {
			t.Errorf("P2 in the running lab: layer limit %d, allow %v", n.LayerLimit, n.Allow)
		}
	}
	run(t, ctx,
		chromedp.SetValue(`[data-testid="comp-route"]`, "P2"),
		chromedp.SetValue(`[data-testid="comp-contexts"]`, "CTX_C_S"))
	if code := clickSend(t, ctx); code != "2.05" {
		t.Fatalf("send through P2 answered %q: %s", code, evalJS[string](t, ctx, `document.querySelector('[data-testid="send-result"]').textContent`))
	}
	waitJS(t, ctx, "datagrams through P2", `document.querySelector('[data-testid="seq-row"][data-from="C"][data-to="P2"]') && document.querySelector('[data-testid="seq-row"][data-from="P2"][data-to="S"]')`)
	if got := chipsOf(t, ctx, "C", "P2"); got != "CTX_C_S" {
		t.Errorf("C->P2 layers = %q, want CTX_C_S only", got)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="life-name"], .life-name').length`); n != 4 {
		t.Errorf("%d lifelines, want 4 (C, P, P2, S)", n)
	}

	// A new context between C and P2, typed in the editor, adds a layer.
	run(t, ctx,
		chromedp.SetValue(`[data-testid="ctx-name"]`, "CTX_C_P2"),
		chromedp.SetValue(`[data-testid="ctx-a"]`, "C"),
		chromedp.SetValue(`[data-testid="ctx-b"]`, "P2"),
		chromedp.SetValue(`[data-testid="ctx-sid-a"]`, "21"),
		chromedp.SetValue(`[data-testid="ctx-sid-b"]`, "07"),
		chromedp.Click(`[data-testid="add-ctx"]`))
	waitJS(t, ctx, "CTX_C_P2 in the lab", `oscoreLab.store.scenario.contexts.some(c => c.name === 'CTX_C_P2')`)
	run(t, ctx, chromedp.SetValue(`[data-testid="comp-contexts"]`, "CTX_C_S, CTX_C_P2"))
	// P2's allow-list names only requests that came without a layer, so a
	// request under CTX_C_P2 is not acceptable (draft 2.4 step 4)...
	if code := clickSend(t, ctx); code != "4.01" {
		t.Fatalf("P2 forwarded a request its allow-list does not cover: %q", code)
	}
	// ...until the allow-list admits CTX_C_P2, changed live.
	run(t, ctx,
		chromedp.Click(`[data-testid="topo-node"][data-node="P2"]`),
		chromedp.SetValue(`[data-testid="node-allow"]`, "-: S, P; CTX_C_P2: S"),
		chromedp.Click(`[data-testid="node-apply"]`))
	waitJS(t, ctx, "the new allow-list", `oscoreLab.store.scenario.nodes.some(n => n.id === 'P2' && n.allow && n.allow.CTX_C_P2)`)
	if code := clickSend(t, ctx); code != "2.05" {
		t.Fatalf("send with CTX_C_P2 answered %q: %s", code, evalJS[string](t, ctx, `document.querySelector('[data-testid="send-result"]').textContent`))
	}
	waitJS(t, ctx, "the third exchange", `document.querySelectorAll('[data-testid="seq-row"][data-from="C"][data-to="P2"]').length === 3`)
	if got := evalJS[string](t, ctx, `[...[...document.querySelectorAll('[data-testid="seq-row"][data-from="C"][data-to="P2"]')].pop().querySelectorAll('[data-testid="layer-chip"]')].map(c => c.dataset.ctx).join(' ')`); got != "CTX_C_P2 CTX_C_S" {
		t.Errorf("C->P2 layers with the new context = %q, want CTX_C_P2 CTX_C_S", got)
	}

	// A link fault from the editor: duplicate the next datagram on C-P2.
	run(t, ctx,
		chromedp.Click(`[data-testid="fault-section"] summary`),
		chromedp.SetValue(`[data-testid="fault-link"]`, "C-P2"),
		chromedp.SetValue(`[data-testid="fault-kind"]`, "duplicate"))
	run(t, ctx, chromedp.Click(`[data-testid="add-fault"]`))
	waitJS(t, ctx, "the fault in the scenario", `(oscoreLab.store.scenario.links || []).some(l => (l.faults || []).some(f => f.kind === 'duplicate'))`)
	clickSend(t, ctx)
	waitJS(t, ctx, "the fault row", `document.querySelector('[data-testid="seq-row"][data-kind="fault"]')`)
	screenshot(t, ctx, "editor-add-proxy.png")
}

func TestBrowserWrongKeyShowsWhy(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	loadBuiltin(t, ctx, "error-wrong-key")
	code := clickSend(t, ctx)
	if code != "4.00" && code != "4.01" {
		t.Fatalf("wrong key answered %q, want 4.00 or 4.01: %s; lab runs %s", code, evalJS[string](t, ctx, `document.querySelector('[data-testid="send-result"]').textContent + ' ' + document.querySelector('[data-testid="status"]').textContent`), tl.lab.Scenario().Name)
	}
	waitJS(t, ctx, "the error row", `document.querySelector('[data-testid="seq-row"][data-kind="error"]')`)
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="error"]`))
	waitJS(t, ctx, "the why", `document.querySelector('[data-testid="error-why"]')`)
	why := evalJS[string](t, ctx, `document.querySelector('[data-testid="error-why"]').textContent`)
	if !strings.Contains(why, code) || !strings.Contains(strings.ToLower(why), "decrypt") {
		t.Errorf("error explanation %q lacks the code %s and the decryption failure", why, code)
	}
	// The error response on the wire is marked as an error too.
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="seq-row"].err[data-kind="datagram"][data-from="P"][data-to="C"]').length`); n == 0 {
		t.Error("the P->C error response is not marked as an error")
	}
	// A good exchange next to the failed one (end-to-end layer only, so the
	// proxy's wrong key is not used), then the errors-only filter.
	run(t, ctx, chromedp.SetValue(`[data-testid="comp-contexts"]`, "CTX_C_S"))
	if code := clickSend(t, ctx); code != "2.05" {
		t.Fatalf("the end-to-end layer alone answered %q", code)
	}
	waitJS(t, ctx, "both exchanges", `document.querySelector('[data-testid="row-count"]').textContent === '7'`)
	run(t, ctx, chromedp.Click(`[data-testid="filter-errors"]`))
	waitJS(t, ctx, "errors only", `document.querySelector('[data-testid="row-count"]').textContent === '3'`)
	run(t, ctx, chromedp.Click(`[data-testid="filter-errors"]`))
	waitJS(t, ctx, "all rows again", `document.querySelector('[data-testid="row-count"]').textContent === '7'`)
	screenshot(t, ctx, "error-wrong-key.png")
}

// TestBrowserInspectorKeepsReaderState selects a message of an Observe
// exchange, whose notifications keep adding events to it, collapses a
// section and picks a byte tab: the inspector refreshes with each
// notification but keeps the collapsed section, the tab and the parts
// that did not change (a click on them is never lost to a redraw).
func TestBrowserInspectorKeepsReaderState(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	st := tl.lab.Scenario().Steps[0]
	st.URI, st.Observe = "coap://example.com/counter", "register"
	if res, err := tl.send(st); err != nil || res.Code != "2.05" {
		t.Fatalf("Observe registration: %+v %v", res, err)
	}
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the registration's request", `document.querySelector('[data-testid="seq-row"][data-kind="datagram"]')`)
	evalJS[bool](t, ctx, `(() => { const r = [...document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]')].sort((a, b) => a.dataset.seq - b.dataset.seq)[0];
		oscoreLab.store.select(Number(r.dataset.seq)); return true; })()`)
	waitJS(t, ctx, "the inspector", `document.querySelector('[data-testid="bytes-tab-1"]') && document.querySelector('[data-testid="calc"]')`)
	// The reader collapses the calculations and reads the plaintext tab.
	evalJS[bool](t, ctx, `(() => { document.querySelector('[data-testid="calc"]').open = false;
		document.querySelector('[data-testid="bytes-tab-1"]').click();
		document.querySelector('[data-testid="bytes"]').kept = true; // a property: no markup the comparison sees
		window.__decisions = document.querySelector('[data-testid="decisions"]').textContent; return true; })()`)
	waitJS(t, ctx, "two notifications redrawing the decisions", `(() => { const x = oscoreLab.store.exchanges.get(oscoreLab.store.bySeq.get(oscoreLab.store.selected).exchange);
		return x.events.filter((e) => e.delivery?.method === 'notification').length >= 2 &&
			document.querySelector('[data-testid="decisions"]').textContent !== window.__decisions; })()`)
	if evalJS[bool](t, ctx, `document.querySelector('[data-testid="calc"]').open`) {
		t.Error("the collapsed Calculations section opened again on a notification")
	}
	if !evalJS[bool](t, ctx, `document.querySelector('[data-testid="bytes-tab-1"]').classList.contains('on')`) {
		t.Error("the byte tab went back to the first on a notification")
	}
	if !evalJS[bool](t, ctx, `document.querySelector('[data-testid="bytes"]').kept === true`) {
		t.Error("the unchanged Bytes section was rebuilt on a notification")
	}
}
