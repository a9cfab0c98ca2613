package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"oscore-lab/internal/nodes"
)

func do(t *testing.T, method, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAPIScenarioListLoadAndSend(t *testing.T) {
	tl := newTestLab(t, "draft-b1")
	code, body := do(t, "GET", tl.srv.URL+"/api/scenarios", "", nil)
	if code != 200 || !strings.Contains(body, `"name":"draft-b3"`) {
		t.Fatalf("GET /api/scenarios = %d %s", code, body)
	}
	code, body = do(t, "POST", tl.srv.URL+"/api/load", `{"builtin":"draft-b3"}`, nil)
	if code != 200 || !strings.Contains(body, `"CTX_P_S"`) {
		t.Fatalf("POST /api/load = %d %s", code, body)
	}
	if got := tl.lab.Scenario().Name; got != "draft-b3" {
		t.Fatalf("lab runs %q after load, want draft-b3", got)
	}
	step := `{"from":"C","method":"GET","uri":"coap://example.com/alarm_status","route":["P"],"proxy_style":"proxy-scheme","contexts":["CTX_C_S","CTX_C_P"]}`
	code, body = do(t, "POST", tl.srv.URL+"/api/send", step, nil)
	if code != 200 {
		t.Fatalf("POST /api/send = %d %s", code, body)
	}
	var res nodes.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if res.Code != "2.05" || res.Payload != "0" || !res.OK {
		t.Fatalf("send result %+v, want 2.05 \"0\"", res)
	}
	code, body = do(t, "GET", tl.srv.URL+"/api/state", "", nil)
	if code != 200 || !strings.Contains(body, `"sender_seq"`) {
		t.Fatalf("GET /api/state = %d %s", code, body)
	}
}

func TestAPILoadScenarioFile(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	sc := tl.lab.Scenario()
	sc.Name = "my-topology"
	b, _ := json.Marshal(sc)
	code, body := do(t, "POST", tl.srv.URL+"/api/load", string(b), nil)
	if code != 200 || !strings.Contains(body, `"name":"my-topology"`) {
		t.Fatalf("POST /api/load with a file = %d %s", code, body)
	}
	if got := tl.lab.Scenario().Name; got != "my-topology" {
		t.Fatalf("lab runs %q, want my-topology", got)
	}
	if res := tl.sendFirstStep(t); res.Code != "2.05" {
		t.Fatalf("send after loading the file: %+v", res)
	}
}

func TestAPIApplyScenarioLive(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	sc := tl.lab.Scenario()
	sc.Nodes[1].LayerLimit = 2
	b, _ := json.Marshal(sc)
	code, body := do(t, "PUT", tl.srv.URL+"/api/scenario", string(b), nil)
	if code != 200 {
		t.Fatalf("PUT /api/scenario = %d %s", code, body)
	}
	if got := tl.lab.Scenario().Nodes[1].LayerLimit; got != 2 {
		t.Fatalf("layer limit after PUT = %d, want 2", got)
	}
	code, body = do(t, "GET", tl.srv.URL+"/api/scenario", "", nil)
	if code != 200 || !strings.Contains(body, `"layer_limit":2`) {
		t.Fatalf("GET /api/scenario = %d %s", code, body)
	}
}

func TestAPILinkFaults(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	code, body := do(t, "POST", tl.srv.URL+"/api/links/C-P/faults", `[{"kind":"drop","dir":"a->b","match":1}]`, nil)
	if code != 200 {
		t.Fatalf("POST faults = %d %s", code, body)
	}
	sc := tl.lab.Scenario()
	if len(sc.Links) != 1 || len(sc.Links[0].Faults) != 1 || sc.Links[0].Faults[0].Kind != "drop" {
		t.Fatalf("scenario links after POST faults: %+v", sc.Links)
	}
	lk, ok := tl.lab.Link("C-P")
	if !ok || len(lk.Faults()) != 1 {
		t.Fatalf("running link C-P faults: ok=%v", ok)
	}
}

func TestAPITraceRedactsSecrets(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	const secret = "a761c87bf200747b89502887c9c01787" // CTX_C_S in draft-b3
	code, body := do(t, "GET", tl.srv.URL+"/api/trace", "", nil)
	if code != 200 || !strings.Contains(body, `"format": "oscore-lab-trace"`) || !strings.Contains(body, `"type":"datagram"`) {
		t.Fatalf("GET /api/trace = %d %.300s", code, body)
	}
	if strings.Contains(body, secret) {
		t.Fatal("trace without include_secrets contains the master secret")
	}
	_, body = do(t, "GET", tl.srv.URL+"/api/trace?include_secrets=1", "", nil)
	if !strings.Contains(body, secret) {
		t.Fatal("trace with include_secrets=1 lacks the master secret")
	}
}

// TestAPIHostileRequests is the API abuse corpus: every bad request gets
// a 4xx with a JSON error, nothing changes the running lab, and every node
// still answers afterwards. New findings go here, by name.
func TestAPIHostileRequests(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	big := `{"builtin":"` + strings.Repeat("x", 2<<20) + `"}`
	cross := map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	crossOld := map[string]string{"Origin": "http://evil.example"}
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
		wantErr                  string
	}{
		{"cross-site load", "POST", "/api/load", `{"builtin":"draft-b1"}`, cross, 403, "cross-origin"},
		{"cross-origin put, Origin only", "PUT", "/api/scenario", `{}`, crossOld, 403, "cross-origin"},
		{"cross-site send", "POST", "/api/send", `{"from":"C","method":"GET","uri":"coap://example.com/x"}`, cross, 403, "cross-origin"},
		{"cross-site faults", "POST", "/api/links/C-P/faults", `[]`, cross, 403, "cross-origin"},
		{"body too large", "POST", "/api/load", big, nil, 413, "larger than"},
		{"wrong content type", "POST", "/api/send", `{}`, map[string]string{"Content-Type": "text/plain"}, 415, "Content-Type"},
		{"unknown field in step", "POST", "/api/send", `{"from":"C","method":"GET","uri":"coap://x/","bogus":1}`, nil, 400, "unknown field"},
		{"trailing data", "POST", "/api/send", `{"from":"C","method":"GET","uri":"coap://x/"} {}`, nil, 400, "after the first value"},
		{"malformed json", "POST", "/api/send", `{"from":`, nil, 400, "invalid JSON"},
		{"incomplete step", "POST", "/api/send", `{"from":"C"}`, nil, 400, "needs from, method and uri"},
		{"unknown node in step", "POST", "/api/send", `{"from":"Z","method":"GET","uri":"coap://example.com/x"}`, nil, 400, `scenario: step.from: unknown node "Z"`},
		{"step through a server", "POST", "/api/send", `{"from":"C","method":"GET","uri":"coap://example.com/x","route":["S"]}`, nil, 400, `step.route[0]: node "S" is a server, not a proxy`},
		{"step with a context C lacks", "POST", "/api/send", `{"from":"C","method":"GET","uri":"coap://example.com/x","contexts":["NOPE"]}`, nil, 400, "step.contexts[0]"},
		{"step too large", "POST", "/api/send", `{"from":"C","method":"POST","uri":"coap://example.com/echo","payload":"` + strings.Repeat("x", 40000) + `"}`, nil, 400, "step.payload"},
		{"unknown builtin", "POST", "/api/load", `{"builtin":"nope"}`, nil, 404, "no built-in"},
		{"invalid scenario", "PUT", "/api/scenario", `{"name":"x","nodes":[{"id":"A","role":"prox"}]}`, nil, 400, "scenario:"},
		{"scenario not an object", "POST", "/api/load", `[1,2]`, nil, 400, "scenario"},
		{"faults on unknown link", "POST", "/api/links/C-Q/faults", `[]`, nil, 404, "no link"},
		{"bad fault kind", "POST", "/api/links/C-P/faults", `[{"kind":"explode"}]`, nil, 400, ""},
		{"bad include_secrets", "GET", "/api/trace?include_secrets=yes", "", nil, 400, "include_secrets"},
		{"unknown route", "GET", "/api/nothing", "", nil, 404, "no route"},
		{"DNS-rebinding host", "GET", "/api/trace?include_secrets=1", "", map[string]string{"Host": "evil.example:8080"}, 421, "not served here"},
		{"unconfigured IP literal host", "GET", "/api/scenario", "", map[string]string{"Host": "192.0.2.7:8080"}, 421, "not served here"},
		{"unconfigured IPv6 literal host", "GET", "/api/scenario", "", map[string]string{"Host": "[2001:db8::7]:8080"}, 421, "not served here"},
		{"wrong method", "DELETE", "/api/scenario", "", nil, 405, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, tc.method, tl.srv.URL+tc.path, tc.body, tc.header)
			if code != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, code, body, tc.want)
			}
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Fatalf("error body is not {\"error\": ...}: %q", body)
			}
			if !strings.Contains(e.Error, tc.wantErr) {
				t.Fatalf("error %q does not mention %q", e.Error, tc.wantErr)
			}
		})
	}
	if got := tl.lab.Scenario().Name; got != "draft-b3" {
		t.Fatalf("hostile requests changed the scenario to %q", got)
	}
	// Every node still answers: the step crosses C, P and S.
	tl.sendFirstStep(t)
	// Same-origin browser requests pass the check.
	code, body := do(t, "POST", tl.srv.URL+"/api/load", `{"builtin":"draft-b1"}`, map[string]string{"Origin": tl.srv.URL, "Sec-Fetch-Site": "same-origin"})
	if code != 200 {
		t.Fatalf("same-origin load = %d %s", code, body)
	}
}

func TestPageAndStatic(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	code, body := do(t, "GET", tl.srv.URL+"/", "", nil)
	for _, want := range []string{`data-view="sequence"`, `data-slot="toolbar"`, `id="scenario-data"`, `value="draft-b3" selected`, `/static/js/app.js`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("GET / = %d, missing %q", code, want)
		}
	}
	for _, p := range []string{"/static/js/app.js", "/static/js/store.js", "/static/js/sequence.js", "/static/js/inspector.js", "/static/lab.css"} {
		code, body := do(t, "GET", tl.srv.URL+p, "", nil)
		if code != 200 || len(body) < 100 {
			t.Fatalf("GET %s = %d (%d bytes)", p, code, len(body))
		}
	}
	if code, _ := do(t, "GET", tl.srv.URL+"/static/js/missing.js", "", nil); code != 404 {
		t.Fatalf("missing asset = %d, want 404", code)
	}
}

// TestAPIMulticast runs a loaded scenario's group observation: every
// client's check holds; a scenario without one gets 409.
func TestAPIMulticast(t *testing.T) {
	tl := newTestLab(t, "draft-b1")
	if code, body := do(t, "POST", tl.srv.URL+"/api/multicast", "", nil); code != http.StatusConflict {
		t.Fatalf("POST /api/multicast without a group observation = %d %s", code, body)
	}
	if code, body := do(t, "POST", tl.srv.URL+"/api/load", `{"builtin":"mn-proxy-goscore-cp"}`, nil); code != 200 {
		t.Fatalf("POST /api/load = %d %s", code, body)
	}
	code, body := do(t, "POST", tl.srv.URL+"/api/multicast", "", nil)
	if code != 200 {
		t.Fatalf("POST /api/multicast = %d %s", code, body)
	}
	var res []nodes.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("results %+v, want C1, C2 and the counters", res)
	}
	for _, r := range res {
		if !r.OK {
			t.Errorf("%s: %s", r.Step, r.Problem)
		}
	}
}
