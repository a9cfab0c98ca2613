package scenario

import (
	"os"
	"strings"
	"testing"
)

func edhocScenario(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/edhoc-trace2.json")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParseEDHOC accepts a context established by EDHOC (no
// master_secret) and refuses each broken part with its path.
func TestParseEDHOC(t *testing.T) {
	src := edhocScenario(t)
	s, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if e := s.Contexts[0].EDHOC; e == nil || e.Method != 3 || len(e.PinInitiator) != 2 || s.Steps[0].EDHOC != "CTX_C_S" {
		t.Fatalf("decoded wrongly: %+v", s.Contexts[0])
	}
	for _, c := range []struct{ old, new, want string }{
		{`"method": 3`, `"method": 4`, "contexts[0].edhoc.method: 4 is not an EDHOC method"},
		{`"responder_suites": [
     2
    ]`, `"responder_suites": [
     0
    ]`, "contexts[0].edhoc.responder_suites: no cipher suite in common"},
		{`"suites": [
     6,
     2
    ]`, `"suites": [
     6,
     25
    ]`, "contexts[0].edhoc.suites[1]: cipher suite 25 is not supported"},
		{`"credential": "ccs",
     "cred": "a20277`, `"credential": "cwt",
     "cred": "a20277`, "contexts[0].edhoc.initiator: credential: \"cwt\""},
		{`"private_key": "fb13`, `"private_key": "fa13`, "contexts[0].edhoc.initiator: edhoc: the private key does not match"},
		{`"responder_suites": [
     2
    ]`, `"responder_suites": [
     6
    ]`, "contexts[0].edhoc.suites: the negotiated cipher suite 6 gives OSCORE A128GCM"},
		{`"edhoc": "CTX_C_S"`, `"edhoc": "CTX_X"`, `steps[0].edhoc: unknown context "CTX_X"`},
		{`"from": "C",
   "method": "POST"`, `"from": "C",
   "method": "GET"`, "steps[0].method: EDHOC requests are POSTs"},
	} {
		if strings.Count(src, c.old) != 1 {
			t.Fatalf("edit %q must match once", c.old)
		}
		_, err := Parse([]byte(strings.Replace(src, c.old, c.new, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q -> %q: got %v, want %q", c.old, c.new, err, c.want)
		}
	}
	// without edhoc, the master secret is required as before
	noEDHOC := strings.Replace(src, `"edhoc": {`, `"x_edhoc": {`, 1)
	if _, err := Parse([]byte(noEDHOC)); err == nil {
		t.Error("context without edhoc or master_secret accepted")
	}
}
