package check

import (
	"bytes"
	"testing"
)

// FuzzOptionParts: the suite splits OSCORE option values that come from
// the target (notifications, responses): any bytes give parts that fit in
// the value, and the rewrites the malformed-option cases make never panic.
func FuzzOptionParts(f *testing.F) {
	for _, seed := range [][]byte{nil, {0x09, 0x14}, {0x19, 0x14, 0x08, 0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3, 0x01}, {0x1f}, {0x15, 0xff}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		flags, piv, kidCtx, kid := optionParts(v)
		if len(v) > 0 && flags != v[0] {
			t.Fatalf("flags %x, want %x", flags, v[0])
		}
		if n := len(piv) + len(kidCtx) + len(kid); len(v) > 0 && n != len(v)-1 {
			t.Fatalf("parts cover %d bytes of %d", n, len(v)-1)
		}
		if len(v) > 0 && !bytes.Equal(append(append(append([]byte{flags}, piv...), kidCtx...), kid...), v) {
			t.Fatalf("parts do not rebuild %x", v)
		}
		if len(v) > 0 {
			_ = pivLength6(append([]byte(nil), v...))
			_ = dropKID(append([]byte(nil), v...))
		}
		_ = pivValue(piv)
	})
}
