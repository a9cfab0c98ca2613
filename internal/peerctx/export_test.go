package peerctx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"oscore-lab/oscore"
)

// exportAll renders every context of testdata/lab.json, as its peer holds
// it (Mirror) and as the lab holds it, in both formats; refusals are part
// of the output.
func exportAll(t *testing.T) (aiocoap, libcoap []byte) {
	t.Helper()
	var a, l bytes.Buffer
	for _, c := range readLabFile(t, "testdata/lab.json") {
		for _, v := range []struct {
			side string
			c    Context
		}{{"peer", c.Mirror()}, {"lab", c}} {
			fmt.Fprintf(&a, "== %s, %s side\n", c.Name, v.side)
			files, err := AiocoapFiles(v.c)
			if err != nil {
				fmt.Fprintf(&a, "error: %v\n", err)
			}
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(&a, "-- %s\n%s", n, files[n])
			}
			fmt.Fprintf(&l, "== %s, %s side\n", c.Name, v.side)
			if err := WriteLibcoap(&l, v.c); err != nil {
				fmt.Fprintf(&l, "error: %v\n", err)
			}
		}
	}
	return a.Bytes(), l.Bytes()
}

func TestExportGolden(t *testing.T) {
	a, l := exportAll(t)
	golden(t, "export-aiocoap", a)
	golden(t, "export-libcoap", l)
}

// What is written reads back as the same context, its keys included.
func TestExportRoundTrip(t *testing.T) {
	for _, c := range readLabFile(t, "testdata/lab.json") {
		for _, c := range []Context{c, c.Mirror()} {
			files, err := AiocoapFiles(c)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			fsys := fstest.MapFS{}
			for n, b := range files {
				fsys[n] = &fstest.MapFile{Data: b}
			}
			back, err := ReadAiocoapFS(fsys, c.Name)
			if err != nil {
				t.Fatalf("%s: reading the aiocoap export back: %v", c.Name, err)
			}
			sameContext(t, "aiocoap", c, back)
			if c.SenderSeq != 0 || c.Params.AEAD != 0 && !libcoapAEADs[c.Params.AEAD] {
				continue
			}
			var b bytes.Buffer
			if err := WriteLibcoap(&b, c); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			back, err = ReadLibcoap(&b, c.Name)
			if err != nil {
				t.Fatalf("%s: reading the libcoap export back: %v", c.Name, err)
			}
			sameContext(t, "libcoap", c, back)
		}
	}
}

func sameContext(t *testing.T, format string, want, got Context) {
	t.Helper()
	norm := func(p oscore.Params) oscore.Params {
		if p.AEAD == 0 {
			p.AEAD = oscore.AESCCM16_64_128
		}
		if p.HKDF == 0 {
			p.HKDF = oscore.HKDFSHA256
		}
		if p.ReplayWindow == 0 {
			p.ReplayWindow = 32
		}
		if len(p.MasterSalt) == 0 {
			p.MasterSalt = nil
		}
		return p
	}
	if !reflect.DeepEqual(norm(want.Params), norm(got.Params)) || want.SenderSeq != got.SenderSeq {
		t.Errorf("%s %s: read back %+v seq %d, want %+v seq %d", format, want.Name, got.Params, got.SenderSeq, want.Params, want.SenderSeq)
	}
	w, err := want.New()
	if err != nil {
		t.Fatal(err)
	}
	g, err := got.New()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.SenderKey(), g.SenderKey()) || !bytes.Equal(w.RecipientKey(), g.RecipientKey()) || !bytes.Equal(w.CommonIV(), g.CommonIV()) {
		t.Errorf("%s %s: keys differ after the round trip", format, want.Name)
	}
}

// What a format cannot say is refused with the reason.
func TestExportRefusals(t *testing.T) {
	base := Context{Name: "x", Params: oscore.Params{MasterSecret: bytes.Repeat([]byte{1}, 16), SenderID: []byte{1}, RecipientID: []byte{2}}}
	with := func(f func(*Context)) Context { c := base; f(&c); return c }
	for _, tc := range []struct {
		c    Context
		want string
	}{
		{with(func(c *Context) { c.Params.AEAD = oscore.A128GCM }), "algorithm A128GCM: libcoap takes AES-CCM-16-64-128 (10) and AES-CCM-16-64-256 (11) only"},
		{with(func(c *Context) { c.Params.ReplayWindow = 64 }), "replay window 64: libcoap supports 1 to 63"},
		{with(func(c *Context) { c.SenderSeq = 5 }), "Sender Sequence Number 5: the configuration file has none"},
		{with(func(c *Context) { c.Params.SenderID = bytes.Repeat([]byte{1}, 8) }), "libcoap export x"},
	} {
		err := WriteLibcoap(&bytes.Buffer{}, tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WriteLibcoap: %v, want %q", err, tc.want)
		}
	}
	if _, err := AiocoapFiles(with(func(c *Context) { c.Params.SenderID = bytes.Repeat([]byte{1}, 8) })); err == nil {
		t.Error("aiocoap: a Sender ID too long for the nonce was written")
	}
	dir := t.TempDir()
	if err := WriteAiocoap(dir, base); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "settings.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("settings.json: %v %v, want mode 0600", fi, err)
	}
	if err := WriteAiocoap(dir, base); err == nil || !strings.Contains(err.Error(), "must not be overwritten") {
		t.Errorf("second export into the same directory: %v", err)
	}
}
