package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// restartableLab is one URL in front of a lab server process that the test
// can replace (a restart, possibly with another scenario) or take away
// (every request and socket is cut, as when the process is gone).
type restartableLab struct {
	t    testing.TB
	srv  *httptest.Server
	mu   sync.Mutex
	h    http.Handler // nil while down
	lab  *nodes.Lab
	done chan struct{}
}

func newRestartableLab(t testing.TB, name string) *restartableLab {
	t.Helper()
	rl := &restartableLab{t: t}
	rl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rl.mu.Lock()
		h := rl.h
		rl.mu.Unlock()
		if h == nil {
			panic(http.ErrAbortHandler) // the connection is cut: unreachable
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		rl.stop()
		rl.srv.Close()
	})
	rl.start(name)
	return rl
}

// start runs a new server process with the built-in scenario name, ending
// the previous one (and its WebSockets) first.
func (rl *restartableLab) start(name string) {
	rl.t.Helper()
	rl.stop()
	sc, ok := scenario.Builtin(name)
	if !ok {
		rl.t.Fatalf("no built-in scenario %q", name)
	}
	bus := trace.NewBus(0)
	lab := nodes.NewLab(bus)
	if err := lab.Load(sc); err != nil {
		lab.Close()
		rl.t.Fatalf("loading %s: %v", name, err)
	}
	done := make(chan struct{})
	h := NewServer(lab, bus, Options{Version: "test", StateInterval: 200 * time.Millisecond, Done: done})
	rl.mu.Lock()
	rl.h, rl.lab, rl.done = h, lab, done
	rl.mu.Unlock()
}

// stop ends the running process: its sockets close and requests fail.
func (rl *restartableLab) stop() {
	rl.mu.Lock()
	lab, done := rl.lab, rl.done
	rl.h, rl.lab, rl.done = nil, nil, nil
	rl.mu.Unlock()
	if done != nil {
		close(done)
	}
	if lab != nil {
		lab.Close()
	}
}

func (rl *restartableLab) running() *nodes.Lab {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.lab
}

// After a restart with another scenario (whose revision count starts
// again), the page shows the new process's scenario, and an edit made on
// the page lands on that scenario, never on the one from before.
func TestBrowserRestartShowsServerScenario(t *testing.T) {
	rl := newRestartableLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, rl.srv.URL)
	// Three edits: the page now holds revision 3 of the first process.
	for i := 0; i < 3; i++ {
		run(t, ctx, chromedp.SetValue(`[data-testid="add-node-id"]`, fmt.Sprintf("X%d", i)), chromedp.Click(`[data-testid="add-node"]`))
		waitJS(t, ctx, "edit applied", fmt.Sprintf(`oscoreLab.store.rev === %d && document.querySelector('[data-testid="topo-node"][data-node="X%d"]')`, i+1, i))
	}
	rl.start("draft-b1")
	waitJS(t, ctx, "the new process's scenario", `oscoreLab.store.scenario && oscoreLab.store.scenario.name === 'draft-b1' && document.body.dataset.live === 'live' && !document.querySelector('[data-testid="add-node"]').closest('[inert]') && document.querySelector('[data-testid="topo-node"][data-node="C"]') && !document.querySelector('[data-testid="topo-node"][data-node^="X"]')`)
	run(t, ctx, chromedp.SetValue(`[data-testid="add-node-id"]`, "P9"), chromedp.Click(`[data-testid="add-node"]`))
	waitJS(t, ctx, "the edit", `oscoreLab.store.scenario.nodes.some(n => n.id === 'P9')`)
	sc := rl.running().Scenario()
	if sc.Name != "draft-b1" {
		t.Fatalf("the page's edit replaced the running draft-b1 with %q", sc.Name)
	}
	var ids []string
	for _, n := range sc.Nodes {
		ids = append(ids, n.ID)
	}
	if got := strings.Join(ids, " "); got != "C P S P9" {
		t.Errorf("running nodes after the edit = %q, want draft-b1's C P S plus P9", got)
	}
}

// While the server is gone the page says so, and sending and editing are
// off; when it is back the banner and the outage's error go away.
func TestBrowserUnreachableServer(t *testing.T) {
	rl := newRestartableLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, rl.srv.URL)
	rl.stop()
	waitJS(t, ctx, "the unreachable banner", `(() => { const b = document.querySelector('[data-testid="offline-banner"]'); return b && !b.hidden && b.getBoundingClientRect().height > 0; })()`)
	for _, sel := range []string{`[data-testid="send"]`, `[data-testid="add-node"]`, `[data-testid="tool-run-steps"]`, `[data-testid="load-scenario"]`} {
		if !evalJS[bool](t, ctx, fmt.Sprintf(`!!document.querySelector(%q).closest('[inert]')`, sel)) {
			t.Errorf("%s is usable while the server is unreachable", sel)
		}
	}
	if bad := evalJS[bool](t, ctx, `document.querySelector('[data-testid="status"]').classList.contains('bad')`); !bad {
		t.Errorf("the status line does not report the outage")
	}
	rl.start("draft-b3")
	waitJS(t, ctx, "the reconnect", `document.body.dataset.live === 'live' && document.querySelector('[data-testid="offline-banner"]').hidden`)
	if bad := evalJS[bool](t, ctx, `document.querySelector('[data-testid="status"]').classList.contains('bad')`); bad {
		t.Errorf("an error is still shown after the reconnect: %s", evalJS[string](t, ctx, `document.querySelector('[data-testid="status"]').textContent`))
	}
	if evalJS[bool](t, ctx, `!!document.querySelector('[data-testid="send"]').closest('[inert]')`) {
		t.Errorf("send stays off after the reconnect")
	}
	if code := clickSend(t, ctx); code != "2.05" {
		t.Errorf("send after the reconnect answered %q", code)
	}
}

// A trace opened in the live page makes it a viewer: no live badge, no
// editing or sending against the running lab, no panel moves, and the
// live lab comes back on request.
func TestBrowserImportedTraceIsViewer(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	code, body := do(t, "GET", tl.srv.URL+"/api/trace", "", nil)
	if code != 200 {
		t.Fatalf("GET /api/trace = %d", code)
	}
	file := filepath.Join(t.TempDir(), "saved.json")
	// The saved trace is of another scenario than the one now running.
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, "POST", tl.srv.URL+"/api/load", `{"builtin":"draft-b1"}`, nil); code != 200 {
		t.Fatalf("load: %d %s", code, body)
	}
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	const rects = `JSON.stringify([...document.querySelectorAll('main.grid > .panel, main.grid > .bottom')].map(p => { const r = p.getBoundingClientRect(); return [p.dataset.view || p.className, Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)]; }))`
	before := evalJS[string](t, ctx, rects)
	run(t, ctx, chromedp.SetUploadFiles(`[data-testid="trace-file"]`, []string{file}))
	waitJS(t, ctx, "the imported trace", `oscoreLab.store.mode === 'trace' && oscoreLab.store.scenario.name === 'draft-b3' && document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length >= 4`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="live"]').dataset.state + ' ' + document.querySelector('[data-testid="live"]').textContent`); strings.Contains(got, "live") {
		t.Errorf("the badge still says %q while a file is shown", got)
	}
	for _, sel := range []string{`[data-testid="send"]`, `[data-testid="add-node"]`, `[data-testid="load-scenario"]`, `[data-testid="tool-run-steps"]`, `[data-testid="tool-export-html"]`} {
		if !evalJS[bool](t, ctx, fmt.Sprintf(`!!document.querySelector(%q).closest('[inert]')`, sel)) {
			t.Errorf("%s still works on the running lab while a file is shown", sel)
		}
	}
	if after := evalJS[string](t, ctx, rects); after != before {
		t.Errorf("the panels moved when the file opened:\nbefore %s\nafter  %s", before, after)
	}
	// A live event must not reach the viewer.
	shown := evalJS[int](t, ctx, `oscoreLab.store.events.length`)
	tl.sendFirstStep(t)
	// Export trace saves what is shown: capture the blob it downloads.
	evalJS[any](t, ctx, `window.__saved = null; { const orig = URL.createObjectURL; URL.createObjectURL = (b) => { b.text().then(t => { window.__saved = t; }); return orig(b); }; } null`)
	clickInMenu(t, ctx, `[data-testid="tool-export"]`)
	waitJS(t, ctx, "the export", `window.__saved !== null`)
	if got := evalJS[string](t, ctx, `JSON.parse(window.__saved).scenario.name + ' ' + JSON.parse(window.__saved).events.length`); got != fmt.Sprintf("draft-b3 %d", shown) {
		t.Errorf("Export trace saved %q, want the shown draft-b3 trace with %d events", got, shown)
	}
	if n := evalJS[int](t, ctx, `oscoreLab.store.events.length`); n != shown {
		t.Errorf("the viewer took live events: %d events, %d in the file", n, shown)
	}
	run(t, ctx, chromedp.Click(`[data-testid="back-to-live"]`))
	waitJS(t, ctx, "the live lab again", `oscoreLab.store.mode === 'live' && oscoreLab.store.scenario.name === 'draft-b1' && document.querySelector('[data-testid="live"]').dataset.state === 'live' && !document.querySelector('[data-testid="send"]').closest('[inert]')`)
	if after := evalJS[string](t, ctx, rects); after != before {
		t.Errorf("the panels moved back from the file:\nbefore %s\nafter  %s", before, after)
	}
}

// Esc leaves presenter mode and keeps the selected message; X clears it.
func TestBrowserEscLeavesPresenterKeepsSelection(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	tl.sendFirstStep(t)
	waitJS(t, ctx, "a datagram row", `document.querySelector('[data-testid="seq-row"][data-kind="datagram"]')`)
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-kind="datagram"]`))
	waitJS(t, ctx, "a selection", `oscoreLab.store.selected !== null`)
	sel := evalJS[int](t, ctx, `oscoreLab.store.selected`)
	evalJS[any](t, ctx, `document.activeElement && document.activeElement.blur(); null`)
	run(t, ctx, chromedp.KeyEvent("f"))
	waitJS(t, ctx, "presenter mode", `document.body.classList.contains('presenting')`)
	run(t, ctx, chromedp.KeyEvent("\u001b"))
	waitJS(t, ctx, "presenter mode left", `!document.body.classList.contains('presenting')`)
	if got := evalJS[any](t, ctx, `oscoreLab.store.selected`); got != float64(sel) {
		t.Fatalf("Esc changed the selection from %d to %v", sel, got)
	}
	run(t, ctx, chromedp.KeyEvent("x"))
	waitJS(t, ctx, "X to clear the selection", `oscoreLab.store.selected === null`)
}

// An edit conditional on a version that no longer runs (If-Match) is
// refused with 412 and the running scenario, and changes nothing.
func TestAPIStaleEditRefused(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	res, err := http.Get(tl.srv.URL + "/api/scenario")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `.0"`) {
		t.Fatalf("GET /api/scenario ETag = %q, want \"EPOCH.0\"", etag)
	}
	sc, _ := scenario.Builtin("draft-b1")
	body, _ := json.Marshal(sc)
	for _, stale := range []string{strings.Replace(etag, ".0", ".7", 1), `"0000000000000000.0"`} {
		code, reply := do(t, "PUT", tl.srv.URL+"/api/scenario", string(body), map[string]string{"If-Match": stale})
		if code != http.StatusPreconditionFailed || !strings.Contains(reply, `"name":"draft-b3"`) || !strings.Contains(reply, `"error"`) {
			t.Errorf("PUT with If-Match %s = %d %.200s, want 412 with the running draft-b3", stale, code, reply)
		}
		code, reply = do(t, "POST", tl.srv.URL+"/api/links/C-P/faults", `[{"kind":"drop"}]`, map[string]string{"If-Match": stale})
		if code != http.StatusPreconditionFailed {
			t.Errorf("POST faults with If-Match %s = %d %.200s, want 412", stale, code, reply)
		}
	}
	if got := tl.lab.Scenario().Name; got != "draft-b3" {
		t.Fatalf("a stale edit replaced the scenario with %q", got)
	}
	code, reply := do(t, "PUT", tl.srv.URL+"/api/scenario", string(body), map[string]string{"If-Match": etag})
	if code != 200 || !strings.Contains(reply, `"rev":1`) || !strings.Contains(reply, `"epoch":"`+strings.Trim(etag, `"`)[:16]+`"`) {
		t.Fatalf("PUT with the current If-Match = %d %.300s", code, reply)
	}
}

// lifelineLayout lists the lifelines and, per datagram row on screen,
// whether its arrow still starts and ends on its nodes' lifelines.
const lifelineLayout = `(() => {
  const x = new Map([...document.querySelectorAll('[data-testid="lifelines"] .life-name')].map(e => [e.dataset.node, Math.round(e.getBoundingClientRect().left + e.getBoundingClientRect().width / 2)]));
  const bad = [];
  for (const r of document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]')) {
    const a = r.querySelector('.arrow').getBoundingClientRect();
    const [l, rt] = [x.get(r.dataset.from), x.get(r.dataset.to)].sort((p, q) => p - q);
    if (Math.abs(a.left - l) > 2 || Math.abs(a.right - rt) > 2) bad.push(r.dataset.from + '->' + r.dataset.to);
  }
  return [...x.keys()].join(' ') + ' | ' + bad.join(',');
})()`

// Adding or removing a node keeps every lifeline drawn so far in its
// place: past arrows stay between the nodes that exchanged them, and a
// removed node keeps its (marked) lifeline.
func TestBrowserHistoryDoesNotMove(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run(t, ctx,
		chromedp.SetValue(`[data-testid="add-node-id"]`, "P2"),
		chromedp.SetValue(`[data-testid="add-node-kind"]`, "forward"),
		chromedp.Click(`[data-testid="add-node"]`))
	waitJS(t, ctx, "P2 in the lab", `document.querySelector('[data-testid="topo-node"][data-node="P2"]') && document.querySelector('[data-testid="remove-node-P2"]')`)
	tl.sendFirstStep(t)
	run(t, ctx,
		chromedp.SetValue(`[data-testid="comp-route"]`, "P2"),
		chromedp.SetValue(`[data-testid="comp-contexts"]`, "CTX_C_S"))
	if code := clickSend(t, ctx); code != "2.05" {
		t.Fatalf("send through P2 answered %q", code)
	}
	waitJS(t, ctx, "the arrows through P2", `document.querySelector('[data-testid="seq-row"][data-from="P2"][data-to="S"]')`)
	before := evalJS[string](t, ctx, lifelineLayout)
	if before != "C P P2 S | " {
		t.Fatalf("before the edit: %q, want lifelines C P P2 S and every arrow on its lifelines", before)
	}
	run(t, ctx, chromedp.Click(`[data-testid="remove-node-P2"]`))
	waitJS(t, ctx, "P2 removed", `!oscoreLab.store.scenario.nodes.some(n => n.id === 'P2') && !document.querySelector('[data-testid="topo-node"][data-node="P2"]')`)
	waitJS(t, ctx, "the lifelines redrawn", fmt.Sprintf(`document.querySelector('[data-testid="lifelines"] .life-name[data-node="P2"][data-gone]') || %s !== %q`, lifelineLayout, before))
	if got := evalJS[string](t, ctx, lifelineLayout); got != before {
		t.Errorf("after removing P2: %q, want %q", got, before)
	}
	// A new node takes its place by role; the lifelines drawn stay in order.
	run(t, ctx,
		chromedp.SetValue(`[data-testid="add-node-id"]`, "P3"),
		chromedp.SetValue(`[data-testid="add-node-kind"]`, "forward"),
		chromedp.Click(`[data-testid="add-node"]`))
	waitJS(t, ctx, "the P3 lifeline", `document.querySelector('[data-testid="lifelines"] .life-name[data-node="P3"]')`)
	if got := evalJS[string](t, ctx, lifelineLayout); got != "C P P2 P3 S | " {
		t.Errorf("after adding P3: %q, want C P P2 P3 S with every arrow on its lifelines", got)
	}
}

// A deep link prepared in rehearsal (#ex=2&step=5) opens the same step
// after the scenario is loaded again for the talk: exchange ids count from
// 1 per loaded scenario.
func TestBrowserDeepLinkStableAcrossReload(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	const link = "#ex=2&step=5"
	const at = `(() => { const e = oscoreLab.replay.current(); return e ? [e.exchange, e.type, e.hop, e.node || '', e.from || '', e.to || ''].join(' ') : ''; })()`
	openAt := func(what string) string {
		if sc := tl.lab.Scenario(); len(sc.Steps) == 0 {
			t.Fatalf("%s: the lab runs %q with no steps", what, sc.Name)
		}
		tl.sendFirstStep(t)
		tl.sendFirstStep(t)
		ctx := newTab(t)
		openLab(t, ctx, tl.srv.URL+"/"+link)
		waitJS(t, ctx, what+": the link's step", `oscoreLab.replay && oscoreLab.replay.active && oscoreLab.replay.current()`)
		return evalJS[string](t, ctx, at)
	}
	rehearsal := openAt("rehearsal")
	if !strings.HasPrefix(rehearsal, "2 ") {
		t.Fatalf("rehearsal: the link opened %q, want an event of exchange 2", rehearsal)
	}
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	rev := evalJS[int](t, ctx, `oscoreLab.store.rev`)
	run(t, ctx, chromedp.SetValue(`[data-testid="scenario-select"]`, "draft-b3"), chromedp.Click(`[data-testid="load-scenario"]`))
	waitJS(t, ctx, "draft-b3 loaded again", fmt.Sprintf(`oscoreLab.store.rev > %d`, rev))
	if talk := openAt("talk"); talk != rehearsal {
		t.Errorf("after loading the scenario again the link opens %q, in rehearsal %q", talk, rehearsal)
	}
}

// A fault added while the lab runs counts its match from then ("1" is the
// next datagram), and a send that gets no answer is reported as a timeout:
// 504, said once.
func TestBrowserFaultFromNowAndTimeout(t *testing.T) {
	tl := newTestLabWith(t, "draft-b3", Options{Version: "test", StateInterval: 200 * time.Millisecond, SendTimeout: 10 * time.Second})
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	if code := clickSend(t, ctx); code != "2.05" {
		t.Fatalf("first send answered %q", code)
	}
	// The editor's Add fault posts the same request.
	if code, body := do(t, "POST", tl.srv.URL+"/api/links/C-P/faults", `[{"kind":"drop","dir":"a->b","match":1}]`, nil); code != 200 {
		t.Fatalf("setting the fault: %d %s", code, body)
	}
	waitJS(t, ctx, "the fault in the scenario", `(oscoreLab.store.scenario.links || []).some(l => (l.faults || []).some(f => f.kind === 'drop' && f.match === 1))`)
	clickSend(t, ctx)
	waitJS(t, ctx, "the fault row", `document.querySelectorAll('[data-testid="seq-row"][data-kind="fault"]').length > 0`)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="seq-row"][data-kind="fault"]').length`); n != 1 {
		t.Errorf("%d fault rows, want 1 (the first datagram C->P after the fault was set)", n)
	}

	// Every datagram C->P dropped: the send times out.
	if code, body := do(t, "POST", tl.srv.URL+"/api/links/C-P/faults", `[{"kind":"drop","dir":"a->b"}]`, nil); code != 200 {
		t.Fatalf("setting the faults: %d %s", code, body)
	}
	waitJS(t, ctx, "the new faults", `(oscoreLab.store.scenario.links || []).some(l => (l.faults || []).some(f => f.kind === 'drop' && !f.match))`)
	clickSend(t, ctx)
	got := evalJS[string](t, ctx, `document.querySelector('[data-testid="send-result"]').textContent`)
	if !strings.Contains(got, "timed out") || strings.Count(got, "cannot write request") > 0 || !strings.Contains(got, "C -> P") {
		t.Errorf("a send with every request dropped shows %q, want one timeout message naming C -> P", got)
	}
	step := `{"from":"C","method":"GET","uri":"coap://example.com/alarm_status","route":["P"],"proxy_style":"proxy-scheme","contexts":["CTX_C_S","CTX_C_P"]}`
	if code, body := do(t, "POST", tl.srv.URL+"/api/send", step, nil); code != 504 {
		t.Errorf("POST /api/send with every request dropped = %d %s, want 504", code, body)
	}
}
