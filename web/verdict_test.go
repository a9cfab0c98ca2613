package web

import (
	"encoding/json"
	"testing"

	"oscore-lab/internal/nodes"
)

// TestAPISendVerdict: POST /api/send judges the step's expectation both
// ways: the right one says ok, a wrong code, payload or no_response says
// not-ok with the reason, while the response itself is still reported.
func TestAPISendVerdict(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	const step = `{"from":"C","method":"GET","uri":"coap://example.com/alarm_status","route":["P"],"proxy_style":"proxy-scheme","contexts":["CTX_C_S","CTX_C_P"]`
	for _, tc := range []struct {
		expect  string
		ok      bool
		problem string
	}{
		{`{"code":"2.05","payload":"0"}`, true, ""},
		{`{"code":"4.04"}`, false, `expected code 4.04, got 2.05 "0"`},
		{`{"code":"2.05","payload":"1"}`, false, `expected payload "1", got "0"`},
		{`{"no_response":true,"timeout":"2s"}`, false, "expected no response, got 2.05"},
	} {
		code, body := do(t, "POST", tl.srv.URL+"/api/send", step+`,"expect":`+tc.expect+`}`, nil)
		if code != 200 {
			t.Fatalf("expect %s: POST /api/send = %d %s", tc.expect, code, body)
		}
		var res nodes.Result
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		if res.OK != tc.ok || res.Problem != tc.problem {
			t.Errorf("expect %s: ok %v problem %q, want ok %v problem %q", tc.expect, res.OK, res.Problem, tc.ok, tc.problem)
		}
		if res.Code != "2.05" || res.Payload != "0" {
			t.Errorf("expect %s: result %+v, want the 2.05 \"0\" that came", tc.expect, res)
		}
	}
}
