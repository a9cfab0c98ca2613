package multicast

import (
	"bytes"
	"testing"
)

// FuzzDecodeInformative: any payload is refused with an error or decoded
// without panic; a decoded tp_info encodes to bytes that decode to the
// same tp_info.
func FuzzDecodeInformative(f *testing.F) {
	f.Add(unhex(f, "a200"+tpInfoExampleFlat+"0241ff"))
	f.Add(unhex(f, "a300"+tpInfoExampleNested+"0142016002430a0b0c"))
	f.Add(unhex(f, "a3056b636f61703a2f2f6d79474d06676d7947726f7570637a7a7a01"))
	f.Add(unhex(f, "a204fb41d0000000000000116170f5"))
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeInformative(b)
		if err != nil {
			return
		}
		_ = in.Diag()
		if in.TPInfo != nil {
			roundTripTPInfo(t, *in.TPInfo)
		}
		if in.LastNotif != nil {
			_, _ = DecodeMessageInfo(in.LastNotif, []byte{1})
		}
	})
}

func roundTripTPInfo(t *testing.T, tp TPInfo) {
	enc, err := tp.Encode()
	if err != nil {
		t.Fatalf("decoded tp_info does not encode: %v", err)
	}
	back, err := DecodeTPInfo(enc)
	if err != nil {
		t.Fatalf("re-encoded tp_info %x does not decode: %v", enc, err)
	}
	if back.Diag() != tp.Diag() {
		t.Fatalf("tp_info changed: %s -> %s", tp.Diag(), back.Diag())
	}
}

// FuzzDecodeListenOption: any option value is refused or gives a tp_info
// with details that round-trips.
func FuzzDecodeListenOption(f *testing.F) {
	f.Add(unhex(f, tpInfoExampleFlat))
	f.Add(unhex(f, tpInfoExampleNested))
	f.Add(unhex(f, "83822082617a00822083f4617963686f7374417b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tp, err := DecodeListenOption(b)
		if err != nil {
			return
		}
		if !tp.HasDetails {
			t.Fatal("option accepted without details")
		}
		roundTripTPInfo(t, tp)
	})
}

// FuzzDecodeMessageInfo: any transport-independent message is refused or
// rebuilt; a rebuilt one serializes back to the same bytes when its
// options were in order.
func FuzzDecodeMessageInfo(f *testing.F) {
	f.Add(unhex(f, "45610a813cff31323334"))
	f.Add(unhex(f, "05d90a2a01f60357ab2e05ff0102"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessageInfo(b, []byte{0x7b})
		if err != nil {
			return
		}
		again, err := EncodeMessageInfo(m)
		if err != nil {
			return
		}
		m2, err := DecodeMessageInfo(again, nil)
		if err != nil {
			t.Fatalf("re-encoded %x does not decode: %v", again, err)
		}
		if m2.Code != m.Code || !bytes.Equal(m2.Payload, m.Payload) || len(m2.Options) != len(m.Options) {
			t.Fatal("message changed in a round trip")
		}
	})
}
