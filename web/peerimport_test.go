package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"oscore-lab/internal/scenario"
)

// postImport posts an import request and returns the status and body.
func postImport(t *testing.T, tl *testLab, req importRequest) (int, string) {
	t.Helper()
	b, _ := json.Marshal(req)
	resp, err := http.Post(tl.srv.URL+"/api/contexts/import", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../internal/peerctx/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A golden aiocoap directory and a golden libcoap file become contexts of
// the running lab between C and S, and a request protected with each goes
// over the lab's UDP sockets and is answered; C sends from the aiocoap
// file's next-to-send on.
func TestImportPeerContexts(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	for _, c := range []struct {
		req     importRequest
		nextSeq uint64 // C's Sender Sequence Number after one request
	}{
		{importRequest{Name: "CTX_AIOCOAP", Format: "aiocoap", As: "C", Peer: "S", Files: map[string]string{
			"settings.json": golden(t, "aiocoap-client/settings.json"), "sequence.json": golden(t, "aiocoap-client/sequence.json")}}, 31},
		{importRequest{Name: "CTX_LIBCOAP", Format: "libcoap", As: "C", Peer: "S", Files: map[string]string{
			"client.conf": golden(t, "libcoap-client.conf")}}, 1},
	} {
		if code, body := postImport(t, tl, c.req); code != 200 {
			t.Fatalf("import %s: %d %s", c.req.Name, code, body)
		}
		res, err := tl.send(scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/hello", Contexts: []string{c.req.Name}})
		if err != nil || res.Code != "2.05" {
			t.Fatalf("request with %s: %+v, %v", c.req.Name, res, err)
		}
		if _, seq, err := tl.lab.ContextSide(c.req.Name, "C"); err != nil || seq != c.nextSeq {
			t.Errorf("%s at C after one request: sequence number %d (%v), want %d", c.req.Name, seq, err, c.nextSeq)
		}
	}
}

// Bad imports are refused with the reason, and the scenario is unchanged.
func TestImportPeerContextRefused(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	settings := map[string]string{"settings.json": golden(t, "aiocoap-client/settings.json")}
	for _, c := range []struct {
		name string
		req  importRequest
		code int
		want string
	}{
		{"no nodes", importRequest{Name: "X", Format: "aiocoap", Files: settings}, 400, "as (the node"},
		{"format", importRequest{Name: "X", Format: "oscore", As: "C", Peer: "S", Files: settings}, 400, "aiocoap or libcoap"},
		{"aiocoap file name", importRequest{Name: "X", Format: "aiocoap", As: "C", Peer: "S", Files: map[string]string{"../key": "{}"}}, 400, "settings.json, secret.json and sequence.json only"},
		{"aiocoap without settings", importRequest{Name: "X", Format: "aiocoap", As: "C", Peer: "S", Files: map[string]string{}}, 400, "aiocoap"},
		{"two libcoap files", importRequest{Name: "X", Format: "libcoap", As: "C", Peer: "S", Files: map[string]string{"a": "", "b": ""}}, 400, "exactly one file"},
		{"libcoap garbage", importRequest{Name: "X", Format: "libcoap", As: "C", Peer: "S", Files: map[string]string{"a": "master_secret,hex,\"zz\"\n"}}, 400, "master_secret"},
		{"unknown node", importRequest{Name: "X", Format: "aiocoap", As: "C", Peer: "Q", Files: settings}, 422, "Q"},
		{"name taken", importRequest{Name: "CTX_C_S", Format: "aiocoap", As: "C", Peer: "S", Files: settings}, 422, "CTX_C_S"},
	} {
		code, body := postImport(t, tl, c.req)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s; want %d with %q", c.name, code, body, c.code, c.want)
		}
	}
	if n := len(tl.lab.Scenario().Contexts); n != 3 {
		t.Errorf("%d contexts after refused imports, want 3", n)
	}
}
