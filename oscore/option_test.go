package oscore

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseOptionTable(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    OptionValue
		text    string
		wantErr bool
	}{
		{"empty", "", OptionValue{}, "-", false},
		{"request kid 25 piv 05 (RFC 8613 6.3)", "090525", OptionValue{PartialIV: []byte{5}, KID: []byte{0x25}}, "[kid:25, piv:05]", false},
		{"request empty kid piv 00 (RFC 8613 6.3)", "0900", OptionValue{PartialIV: []byte{0}, KID: []byte{}}, "[kid:, piv:00]", false},
		{"kid context (RFC 8613 6.3)", "19050544616c656b", OptionValue{PartialIV: []byte{5}, KIDContext: []byte("Dalek"), KID: []byte{}}, "[kid:, piv:05, kidctx:44616c656b]", false},
		{"response piv 07 (RFC 8613 6.3)", "0107", OptionValue{PartialIV: []byte{7}}, "[piv:07]", false},
		{"C.6 kid context", "19140837cbf3210017a2d3", OptionValue{PartialIV: []byte{0x14}, KIDContext: []byte{0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3}, KID: []byte{}}, "[kid:, piv:14, kidctx:37cbf3210017a2d3]", false},
		{"five byte piv", "0d0102030405aa", OptionValue{PartialIV: []byte{1, 2, 3, 4, 5}, KID: []byte{0xaa}}, "[kid:aa, piv:0102030405]", false},
		{"kid only", "08abcd", OptionValue{KID: []byte{0xab, 0xcd}}, "[kid:abcd]", false},
		{"empty kid context", "1800", OptionValue{KIDContext: []byte{}, KID: []byte{}}, "[kid:, kidctx:]", false},
		{"reserved bit 0", "890525", OptionValue{}, "", true},
		{"reserved bit 1", "490525", OptionValue{}, "", true},
		{"group request (RFC 10021 4.3)", "39050344616c25", OptionValue{Group: true, PartialIV: []byte{5}, KIDContext: []byte("Dal"), KID: []byte{0x25}}, "[group, kid:25, piv:05, kidctx:44616c]", false},
		{"group response (RFC 10021 4.3)", "2852", OptionValue{Group: true, KID: []byte{0x52}}, "[group, kid:52]", false},
		{"pairwise request (RFC 10021 4.3)", "19050344616c25", OptionValue{PartialIV: []byte{5}, KIDContext: []byte("Dal"), KID: []byte{0x25}}, "[kid:25, piv:05, kidctx:44616c]", false},
		{"piv length 6", "0e010203040506", OptionValue{}, "", true},
		{"piv length 7", "0f01020304050607", OptionValue{}, "", true},
		{"piv truncated", "0301", OptionValue{}, "", true},
		{"kid context length missing", "11aa", OptionValue{}, "", true},
		{"kid context truncated", "1105aa0102", OptionValue{}, "", true},
		{"trailing bytes without k", "01aabb", OptionValue{}, "", true},
		{"all flags zero but not empty", "00", OptionValue{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := unhex(t, tt.in)
			got, err := ParseOption(in)
			if tt.wantErr {
				if err == nil || !errors.Is(err, ErrDecodeCOSE) {
					t.Fatalf("want ErrDecodeCOSE, got %v (%+v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOption: %v", err)
			}
			if !bytes.Equal(got.PartialIV, tt.want.PartialIV) || !bytes.Equal(got.KID, tt.want.KID) ||
				!bytes.Equal(got.KIDContext, tt.want.KIDContext) ||
				(got.KID == nil) != (tt.want.KID == nil) || (got.KIDContext == nil) != (tt.want.KIDContext == nil) ||
				got.Group != tt.want.Group {
				t.Fatalf("got %+v want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.text {
				t.Errorf("String() = %q, want %q", s, tt.text)
			}
			if m := got.Marshal(); !bytes.Equal(m, in) {
				t.Errorf("Marshal() = %x, want %x", m, in)
			}
		})
	}
}

func TestOptionCompressionExamples(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Compression {
		raw := unhex(t, c.OptionValue)
		o, err := ParseOption(raw)
		if err != nil {
			t.Fatalf("%s: %v", c.Case, err)
		}
		if got := o.Marshal(); !bytes.Equal(got, raw) {
			t.Errorf("%s: round trip %x, want %x", c.Case, got, raw)
		}
	}
}

func TestOptionMarshalRejectsLongFields(t *testing.T) {
	if _, err := (OptionValue{PartialIV: make([]byte, 6)}).AppendTo(nil); err == nil {
		t.Error("6-byte Partial IV accepted")
	}
	if _, err := (OptionValue{KIDContext: make([]byte, 256)}).AppendTo(nil); err == nil {
		t.Error("256-byte kid context accepted")
	}
	if b := (OptionValue{}).Marshal(); b == nil || len(b) != 0 {
		t.Errorf("empty value marshals to %#v", b)
	}
}

func TestPartialIVEncoding(t *testing.T) {
	for _, tc := range []struct {
		seq  uint64
		want string
	}{{0, "00"}, {20, "14"}, {255, "ff"}, {256, "0100"}, {MaxSequenceNumber, "ffffffffff"}} {
		got := encodePIV(nil, tc.seq)
		eqHex(t, "piv", got, tc.want)
		if pivValue(got) != tc.seq {
			t.Errorf("pivValue(%x) = %d", got, pivValue(got))
		}
	}
}
