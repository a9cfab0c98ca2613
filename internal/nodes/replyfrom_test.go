package nodes

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
)

// TestReplyFromEncoding: the CRI of coap://127.0.0.1:5684 is group-notes
// 10.1's bytes; a reference adds [null, authority]; both decode back.
func TestReplyFromEncoding(t *testing.T) {
	r := replyFrom{Addr: netip.MustParseAddrPort("127.0.0.1:5684")}
	b := encodeReplyFrom(r)
	if want := hx("8220824" + "47f000001191634"); !bytes.Equal(b, want) {
		t.Fatalf("Reply-From %x, want %x", b, want)
	}
	r.Ref, r.HasRef = netip.MustParseAddrPort("127.0.0.1:40001"), true
	b = encodeReplyFrom(r)
	if want := "822082447f000001191634" + "82f682447f000001199c41"; hex.EncodeToString(b) != want {
		t.Fatalf("Reply-From with reference %x, want %s", b, want)
	}
	got, err := decodeReplyFrom(b)
	if err != nil || got != r {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, r)
	}
}

// TestReplyFromRejects: each malformed value is refused with an error.
func TestReplyFromRejects(t *testing.T) {
	for name, h := range map[string]string{
		"short":         "8220",
		"coaps scheme":  "822182447f000001191634",
		"path given":    "832082447f00000119163481617218",
		"host name":     "822082616119163400",
		"three items":   "822082447f000001191634" + "82f682447f000001199c41" + "82f682447f000001199c41",
		"bad reference": "822082447f000001191634" + "822082447f000001199c41",
		"trailing byte": "822082447f00000119163400",
		"not an array":  "a1010203040506",
		"port too big":  "822082447f0000011a00010000",
	} {
		if r, err := decodeReplyFrom(hx(h)); err == nil {
			t.Errorf("%s: %s decoded as %+v", name, h, r)
		}
	}
}

// FuzzReplyFrom: any value decodes or fails, never panics, and what
// decodes encodes back to the same bytes.
func FuzzReplyFrom(f *testing.F) {
	f.Add(hx("822082447f000001191634"))
	f.Add(hx("822082447f000001191634" + "82f682447f000001199c41"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReplyFrom(b)
		if err != nil {
			return
		}
		if _, err := decodeReplyFrom(encodeReplyFrom(r)); err != nil {
			t.Fatalf("%x decoded as %+v, which does not re-decode: %v", b, r, err)
		}
	})
}
