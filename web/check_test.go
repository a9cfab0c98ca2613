package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/check"
	"oscore-lab/internal/scenario"
	"oscore-lab/oscore"
)

// nodeAddr returns the listening address of the lab node id.
func (tl *testLab) nodeAddr(t *testing.T, id string) string {
	t.Helper()
	for _, n := range tl.lab.Nodes() {
		if n.ID == id {
			return n.Addr
		}
	}
	t.Fatalf("no node %s", id)
	return ""
}

// awaitCheck polls GET /api/check/{id} until the run ends.
func awaitCheck(t *testing.T, tl *testLab, id string) checkRun {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		code, body := do(t, "GET", tl.srv.URL+"/api/check/"+id, "", nil)
		if code != 200 {
			t.Fatalf("GET /api/check/%s = %d %s", id, code, body)
		}
		var run checkRun
		if err := json.Unmarshal([]byte(body), &run); err != nil {
			t.Fatal(err)
		}
		if run.State != checkRunning {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("check %s still running after 3 minutes: %d of %d cases", id, len(run.Cases), run.Total)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkServerScenario is a lab whose server S holds a context of every
// kind the server cases use, each shared with the client C: one per AEAD
// algorithm, one with an ID Context, one whose responses carry S's own
// Partial IV, and S challenges first requests with Echo.
func checkServerScenario() *scenario.Scenario {
	checkSecret := strings.Repeat("5a", 16)
	s := &scenario.Scenario{Name: "check-server", Nodes: []scenario.Node{
		{ID: "C", Role: scenario.RoleClient},
		{ID: "S", Role: scenario.RoleServer, RequireEcho: true},
	}}
	add := func(name, alg, cid, sid string, idc *string, respPIV bool) {
		s.Contexts = append(s.Contexts, scenario.Context{Name: name, Alg: alg, IDContext: idc, SendIDContext: idc != nil, ResponsePIV: respPIV,
			MasterSecret: checkSecret, MasterSalt: "9e7ca92223786340",
			A: scenario.Endpoint{Node: "C", SenderID: cid, RecipientID: sid},
			B: scenario.Endpoint{Node: "S", SenderID: sid, RecipientID: cid}})
	}
	add("main", "10", "", "01", nil, false)
	for i, alg := range oscore.AEADAlgs()[1:] {
		add("alg-"+alg.String(), strconv.Itoa(int(alg)), fmt.Sprintf("a%d", i), "01", nil, false)
	}
	idc := "37cbf3210017a2d3"
	add("kid-context", "10", "b0", "01", &idc, false)
	add("response-piv", "10", "b1", "02", nil, true)
	return s
}

// TestAPICheckLabServer runs the server suite from the API against the
// lab's own server node: every MUST case passes, the trace holds every case's exchange, and the
// lab's client is moved past the suite's numbers, so its next request is
// answered rather than refused as a replay.
func TestAPICheckLabServer(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	sc, _ := json.Marshal(checkServerScenario())
	if code, body := do(t, "POST", tl.srv.URL+"/api/load", string(sc), nil); code != 200 {
		t.Fatalf("POST /api/load = %d %s", code, body)
	}
	direct := scenario.Step{From: "C", Method: "GET", URI: "coap://S/hello", Contexts: []string{"main"}}
	target := "udp://" + tl.nodeAddr(t, "S")
	code, body := do(t, "POST", tl.srv.URL+"/api/check", `{"target":"`+target+`","role":"server"}`, nil)
	if code != 202 {
		t.Fatalf("POST /api/check = %d %s", code, body)
	}
	var started checkRun
	if err := json.Unmarshal([]byte(body), &started); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, "POST", tl.srv.URL+"/api/check", `{"target":"`+target+`","role":"server"}`, nil); code != 409 {
		t.Errorf("a second run while one runs = %d %s, want 409", code, body)
	}
	run := awaitCheck(t, tl, started.ID)
	if run.State != checkDone || run.Summary == nil || !run.Summary.OK {
		t.Fatalf("run ended %s (%s), summary %+v", run.State, run.Error, run.Summary)
	}
	if len(run.Cases) != len(check.CasesFor(check.RoleServer)) {
		t.Errorf("%d cases, want %d", len(run.Cases), len(check.CasesFor(check.RoleServer)))
	}
	for _, c := range run.Cases {
		if c.Level == check.MUST && c.Result != check.Pass {
			t.Errorf("%s (MUST, %s): %s: %s", c.ID, c.Section, c.Result, c.Reason)
		}
	}
	code, body = do(t, "GET", tl.srv.URL+"/api/check/"+started.ID+"/trace", "", nil)
	if code != 200 || !strings.Contains(body, `"oscore-lab-trace"`) || strings.Contains(body, strings.Repeat("5a", 16)) {
		t.Errorf("GET /api/check/%s/trace = %d, %d bytes: want a redacted trace", started.ID, code, len(body))
	}
	var tr struct {
		Events []struct{ Exchange int } `json:"events"`
	}
	json.Unmarshal([]byte(body), &tr)
	seen := map[int]bool{}
	for _, e := range tr.Events {
		seen[e.Exchange] = true
	}
	for _, c := range run.Cases {
		if !seen[c.Exchange] {
			t.Errorf("%s: exchange %d not in the trace", c.ID, c.Exchange)
		}
	}
	if r, err := tl.send(direct); err != nil || r.Code != "2.05" {
		t.Errorf("the lab's client after the check: %v %+v", err, r)
	}
}

// TestAPICheckRefusesTargets: only loopback targets without -expose, and
// bad roles or case IDs are bad requests; nothing starts.
func TestAPICheckRefusesTargets(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"target":"udp://192.0.2.7:5683","role":"server"}`, 403},
		{`{"target":"udp://example.com:5683","role":"server"}`, 403},
		{`{"target":"udp://[::ffff:10.0.0.1]:5683","role":"server"}`, 403},
		{`{"target":"udp://127.0.0.1:0","role":"server"}`, 403},
		{`{"target":"udp://127.0.0.1","role":"server"}`, 403},
		{`{"target":"udp://127.0.0.1:5683","role":"client"}`, 400},
		{`{"target":"udp://127.0.0.1:5683","role":"server","only":["nope"]}`, 400},
		{`{"target":"udp://127.0.0.1:5683","role":"server","extra":1}`, 400},
	} {
		if code, body := do(t, "POST", tl.srv.URL+"/api/check", tc.body, nil); code != tc.code {
			t.Errorf("POST /api/check %s = %d %s, want %d", tc.body, code, body, tc.code)
		}
	}
	if code, _ := do(t, "GET", tl.srv.URL+"/api/check/1", "", nil); code != 404 {
		t.Errorf("a refused run was kept: GET /api/check/1 = %d", code)
	}
	if _, err := checkTarget("udp://192.0.2.7:5683", true); err != nil {
		t.Errorf("with -expose: %v", err)
	}
	// A page on another site cannot start a run.
	if code, _ := do(t, "POST", tl.srv.URL+"/api/check", `{"target":"udp://127.0.0.1:5683","role":"server"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != 403 {
		t.Errorf("cross-site POST /api/check = %d, want 403", code)
	}
}

// TestBrowserCheckRunsAndOpensACase starts a run from the page against
// the lab's own server (the target the panel proposes), sees the rows
// fill in, and opens a case in the sequence diagram and inspector.
func TestBrowserCheckRunsAndOpensACase(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	want := "udp://" + tl.nodeAddr(t, "S")
	waitJS(t, ctx, "the default target", fmt.Sprintf(`document.querySelector('[data-testid="check-target"]').value === %q`, want))
	run(t, ctx, chromedp.SetValue(`[data-testid="check-role"]`, "server"), chromedp.Click(`[data-testid="check-run"]`))
	waitJS(t, ctx, "a first row", `document.querySelectorAll('[data-testid="check-row"]').length > 0`)
	total := len(check.CasesFor(check.RoleServer))
	waitLong(t, ctx, "every row and the summary", fmt.Sprintf(`document.querySelectorAll('[data-testid="check-row"]').length === %d && document.querySelector('[data-testid="check-status"]').dataset.state === 'done'`, total))
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="check-row"][data-result="fail"]').length`); n != 0 {
		t.Errorf("%d failing rows against the lab's server: %s", n, evalJS[string](t, ctx, `document.querySelector('[data-testid="check-table"]').innerText`))
	}
	screenshot(t, ctx, "check-panel.png")
	run(t, ctx, chromedp.Click(`[data-testid="check-row"][data-case="server-replay"] [data-testid="check-open"]`))
	waitJS(t, ctx, "the case's datagrams in the sequence diagram", `document.body.dataset.mode === 'trace' && document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length > 0`)
	waitJS(t, ctx, "the inspector on the case's first datagram", `oscoreLab.store.selected > 0 && document.querySelector('[data-testid="insp-summary"]') !== null && document.querySelectorAll('[data-testid="onion-layer"]').length > 0`)
	exch := evalJS[int](t, ctx, `oscoreLab.store.bySeq.get(oscoreLab.store.selected).exchange`)
	wantExch := evalJS[int](t, ctx, `(() => { const rows = [...document.querySelectorAll('[data-testid="check-row"]')]; return rows.findIndex(r => r.dataset.case === 'server-replay') + 1; })()`)
	if exch != wantExch {
		t.Errorf("the selected message is in exchange %d, want the case's %d", exch, wantExch)
	}
}

// waitLong polls like waitJS, for a whole conformance run on a loaded machine.
func waitLong(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[any](expr, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}
