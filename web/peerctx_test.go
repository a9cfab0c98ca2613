package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"oscore-lab/internal/peerctx"
)

// A side of a running lab's context goes to a peer in its own format: the
// files read back (peerctx's readers) as the very side the node holds,
// its next Sender Sequence Number included; libcoap's file cannot carry
// one, so once the node has sent, libcoap is refused with the reason.
func TestPeerContextExport(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	base := tl.srv.URL + "/api/contexts/CTX_C_S/"
	code, _, conf := get(t, base+"libcoap?as=S&include_secrets=1")
	if code != 200 {
		t.Fatalf("libcoap: %d %s", code, conf)
	}
	got, err := peerctx.ReadLibcoap(strings.NewReader(conf), "export")
	if err != nil {
		t.Fatalf("the exported file does not read back: %v\n%s", err, conf)
	}
	want, seq, err := tl.lab.ContextSide("CTX_C_S", "S")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Params.SenderID) != string(want.SenderID) || string(got.Params.RecipientID) != string(want.RecipientID) ||
		string(got.Params.MasterSecret) != string(want.MasterSecret) || seq != 0 {
		t.Errorf("libcoap export read back as %+v, S holds %+v (seq %d)", got.Params, want, seq)
	}

	tl.sendFirstStep(t)
	want, seq, err = tl.lab.ContextSide("CTX_C_S", "C")
	if err != nil || seq == 0 {
		t.Fatalf("C's side: seq %d, %v", seq, err)
	}
	if code, _, body := get(t, base+"libcoap?as=C&include_secrets=1"); code != 422 || !strings.Contains(body, fmt.Sprintf("Sender Sequence Number %d", seq)) {
		t.Errorf("libcoap after C sent: %d %s, want 422 naming the sequence number", code, body)
	}
	code, _, js := get(t, base+"aiocoap?as=C&include_secrets=1")
	var files map[string]string
	if code != 200 || json.Unmarshal([]byte(js), &files) != nil {
		t.Fatalf("aiocoap: %d %s", code, js)
	}
	fsys := fstest.MapFS{}
	for n, b := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(b)}
	}
	ac, err := peerctx.ReadAiocoapFS(fsys, "export")
	if err != nil || ac.SenderSeq != seq || string(ac.Params.SenderID) != string(want.SenderID) {
		t.Errorf("aiocoap export read back as %+v (seq %d), %v; want C's side at seq %d", ac.Params, ac.SenderSeq, err, seq)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"aiocoap?as=C", 403},
		{"aiocoap?include_secrets=1", 400},
		{"aiocoap?as=P&include_secrets=1", 404},
		{"nope?as=C&include_secrets=1", 404},
	} {
		if code, _, _ := get(t, base+tc.path); code != tc.code {
			t.Errorf("%s: %d, want %d", tc.path, code, tc.code)
		}
	}
}
