package peerctx

import (
	"bytes"
	"os"
	"testing"
	"testing/fstest"
)

// The readers take files from users and peers: any input gives a context
// or an error, never a panic.

func FuzzReadLab(f *testing.F) {
	b, _ := os.ReadFile("testdata/lab.json")
	f.Add(b)
	f.Add([]byte(`{"format":"oscore-lab-contexts","version":1,"contexts":[{"name":"a","alg":"10","hkdf":-11,"master_secret":"01","sender_id":"","recipient_id":"01","id_context":""}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		cs, err := ReadLab(bytes.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteLab(&out, cs); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLab(&out); err != nil {
			t.Fatalf("a context file the reader accepted does not read back: %v\n%s", err, out.Bytes())
		}
	})
}

func FuzzReadLibcoap(f *testing.F) {
	for _, name := range []string{"testdata/libcoap-client.conf", "testdata/libcoap-complex.conf"} {
		b, _ := os.ReadFile(name)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = ReadLibcoap(bytes.NewReader(in), "fuzz")
	})
}

func FuzzReadAiocoap(f *testing.F) {
	s, _ := os.ReadFile("testdata/aiocoap-client/settings.json")
	q, _ := os.ReadFile("testdata/aiocoap-client/sequence.json")
	f.Add(s, []byte(nil), q)
	f.Fuzz(func(t *testing.T, settings, secret, sequence []byte) {
		fsys := fstest.MapFS{"settings.json": {Data: settings}, "sequence.json": {Data: sequence}}
		if secret != nil {
			fsys["secret.json"] = &fstest.MapFile{Data: secret}
		}
		_, _ = ReadAiocoapFS(fsys, "fuzz")
	})
}
