package peerctx

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// render is what a golden file holds: the contexts in the lab's form and
// the keys each one derives (RFC 8613 3.2.1).
func render(t *testing.T, cs []Context) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteLab(&b, cs); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		oc, err := c.New()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: sender key %x, recipient key %x, common IV %x\n", c.Name, oc.SenderKey(), oc.RecipientKey(), oc.CommonIV())
	}
	return b.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

func readLabFile(t *testing.T, path string) []Context {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := ReadLab(f)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestReadersGolden(t *testing.T) {
	tests := []struct {
		name string
		read func(t *testing.T) []Context
	}{
		{"lab", func(t *testing.T) []Context { return readLabFile(t, "testdata/lab.json") }},
		{"aiocoap-client", func(t *testing.T) []Context {
			c, err := ReadAiocoap("testdata/aiocoap-client")
			if err != nil {
				t.Fatal(err)
			}
			return []Context{c}
		}},
		{"aiocoap-split", func(t *testing.T) []Context {
			c, err := ReadAiocoap("testdata/aiocoap-split")
			if err != nil {
				t.Fatal(err)
			}
			return []Context{c}
		}},
		{"libcoap-client", func(t *testing.T) []Context { return []Context{readLibcoapFile(t, "testdata/libcoap-client.conf")} }},
		{"libcoap-complex", func(t *testing.T) []Context { return []Context{readLibcoapFile(t, "testdata/libcoap-complex.conf")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.name, render(t, tt.read(t))) })
	}
}

func readLibcoapFile(t *testing.T, path string) Context {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := ReadLibcoap(f, filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLabFileRFC8613C1 checks the first context of testdata/lab.json
// against the client keys of RFC 8613 Appendix C.1.1.
func TestLabFileRFC8613C1(t *testing.T) {
	c := readLabFile(t, "testdata/lab.json")[0]
	oc, err := c.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []struct {
		name      string
		got, want string
	}{
		{"sender key", hex.EncodeToString(oc.SenderKey()), "f0910ed7295e6ad4b54fc793154302ff"},
		{"recipient key", hex.EncodeToString(oc.RecipientKey()), "ffb14e093c94c9cac9471648b4f98710"},
		{"common IV", hex.EncodeToString(oc.CommonIV()), "4622d4dd6d944168eefb54987c"},
	} {
		if kv.got != kv.want {
			t.Errorf("%s %s, want %s (RFC 8613 C.1.1)", kv.name, kv.got, kv.want)
		}
	}
}

// TestLabRoundTrip: WriteLab then ReadLab gives the same contexts.
func TestLabRoundTrip(t *testing.T) {
	cs := readLabFile(t, "testdata/lab.json")
	var b bytes.Buffer
	if err := WriteLab(&b, cs); err != nil {
		t.Fatal(err)
	}
	again, err := ReadLab(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(render(t, cs), render(t, again)) {
		t.Errorf("round trip changed the contexts:\n%s\n%s", render(t, cs), render(t, again))
	}
}

func TestLabErrors(t *testing.T) {
	const ok = `"name":"a","master_secret":"01","sender_id":"","recipient_id":"01"`
	tests := []struct{ name, in, err string }{
		{"not json", `nope`, "invalid character"},
		{"wrong format", `{"format":"x","version":1,"contexts":[{` + ok + `}]}`, `format is "x"`},
		{"wrong version", `{"format":"oscore-lab-contexts","version":2,"contexts":[{` + ok + `}]}`, "version 2"},
		{"no contexts", `{"format":"oscore-lab-contexts","version":1,"contexts":[]}`, "no contexts"},
		{"unknown field", `{"format":"oscore-lab-contexts","version":1,"contexts":[{` + ok + `,"salt":"01"}]}`, `unknown field "salt"`},
		{"no name", `{"format":"oscore-lab-contexts","version":1,"contexts":[{"master_secret":"01","sender_id":"","recipient_id":"01"}]}`, "contexts[0].name: missing"},
		{"no sender id", `{"format":"oscore-lab-contexts","version":1,"contexts":[{"name":"a","master_secret":"01","recipient_id":"01"}]}`, "contexts[0].sender_id: missing"},
		{"bad hex", `{"format":"oscore-lab-contexts","version":1,"contexts":[{"name":"a","master_secret":"0g","sender_id":"","recipient_id":"01"}]}`, "bad hex"},
		{"bad alg", `{"format":"oscore-lab-contexts","version":1,"contexts":[{` + ok + `,"alg":99}]}`, "contexts[0].alg"},
		{"bad peer", `{"format":"oscore-lab-contexts","version":1,"contexts":[{` + ok + `,"peer":"proxy"}]}`, "contexts[0].peer"},
		{"equal ids", `{"format":"oscore-lab-contexts","version":1,"contexts":[{"name":"a","master_secret":"01","sender_id":"01","recipient_id":"01"}]}`, "equal"},
		{"duplicate name", `{"format":"oscore-lab-contexts","version":1,"contexts":[{` + ok + `},{` + ok + `}]}`, "used twice"},
		{"kid context without id context", `{"format":"oscore-lab-contexts","version":1,"contexts":[{` + ok + `,"send_kid_context":true}]}`, "no id_context"},
		{"trailing data", `{"format":"oscore-lab-contexts","version":1,"contexts":[{` + ok + `}]} {}`, "data after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadLab(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestAiocoapErrors(t *testing.T) {
	base := `"sender-id_hex":"01","recipient-id_hex":"","secret_hex":"0102"`
	tests := []struct {
		name  string
		files map[string]string
		err   string
	}{
		{"empty dir", map[string]string{}, "neither settings.json nor secret.json"},
		{"missing secret", map[string]string{"settings.json": `{"sender-id_hex":"01","recipient-id_hex":""}`}, "secret missing"},
		{"in both files", map[string]string{"settings.json": `{` + base + `}`, "secret.json": `{"secret_hex":"0102"}`}, "both settings.json and secret.json"},
		{"bad hex", map[string]string{"settings.json": `{"sender-id_hex":"0z","recipient-id_hex":"","secret_hex":"0102"}`}, "sender-id_hex"},
		{"raw bytes key", map[string]string{"settings.json": `{"sender-id":"01","recipient-id_hex":"","secret_hex":"0102"}`}, "sender-id must be given as"},
		{"unknown algorithm", map[string]string{"settings.json": `{` + base + `,"algorithm":"AES-CCM-64-64-128"}`}, "algorithm"},
		{"sha384", map[string]string{"settings.json": `{` + base + `,"kdf-hashfun":"sha384"}`}, "kdf-hashfun"},
		{"bad window", map[string]string{"settings.json": `{` + base + `,"window":"32"}`}, "window"},
		{"bad sequence", map[string]string{"settings.json": `{` + base + `}`, "sequence.json": `{"next-to-send":-1}`}, "next-to-send"},
		{"non-ascii", map[string]string{"settings.json": `{"sender-id_ascii":"é","recipient-id_hex":"","secret_hex":"0102"}`}, "not ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, body := range tt.files {
				fsys[n] = &fstest.MapFile{Data: []byte(body)}
			}
			_, err := ReadAiocoapFS(fsys, "dir")
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestLibcoapErrors(t *testing.T) {
	const ok = "master_secret,hex,\"0102\"\nsender_id,hex,\"01\"\n"
	tests := []struct{ name, in, err string }{
		{"no secret", "sender_id,hex,01\nrecipient_id,hex,02\n", "master_secret missing"},
		{"no recipient", ok, "recipient_id missing"},
		{"not three fields", ok + "recipient_id\n", "line 3: want keyword,encoding,value"},
		{"unknown keyword", ok + "recipient_id,hex,02\nfoo,hex,01\n", "line 4: foo: unknown keyword"},
		{"bad encoding", ok + "recipient_id,base64,AA==\n", "encoding \"base64\""},
		{"bad hex", ok + "recipient_id,hex,\"0x\"\n", "bad hex"},
		{"bad integer", ok + "recipient_id,hex,02\nreplay_window,integer,many\n", "bad integer"},
		{"unclosed block", ok + "complex_recipient,config,'\nrecipient_id,hex,02\n", "no closing '"},
		{"block in block", ok + "complex_recipient,config,'\ncomplex_sender,config,'x'\n'\n", "inside complex_recipient"},
		{"secret in recipient block", ok + "complex_recipient,config,'\nmaster_secret,hex,01\n'\n", "not allowed in complex_recipient"},
		{"unknown alg", ok + "recipient_id,hex,02\naead_alg,text,\"AES-CCM-64-64-128\"\n", "aead_alg"},
		{"two sender ids", ok + "sender_id,hex,02\nrecipient_id,hex,03\n", "given twice"},
		{"broken sender key", ok + "recipient_id,hex,02\nbreak_sender_key,bool,true\n", "broken sender key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadLibcoap(strings.NewReader(tt.in), "conf")
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	big := strings.Repeat("#", MaxFileSize+1)
	if _, err := ReadLibcoap(strings.NewReader(big), "big"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("libcoap: %v", err)
	}
	if _, err := ReadLab(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("lab: %v", err)
	}
}
