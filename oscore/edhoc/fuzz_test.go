package edhoc

import (
	"bytes"
	"testing"
)

// seeds returns every message and invalid example of the vector file.
func seeds(f *testing.F) [][]byte {
	v := loadVectors(f)
	var out [][]byte
	for _, tr := range v.Traces {
		for _, h := range []string{tr.Message1["message_1"], tr.Message2["message_2"], tr.Message2["plaintext_2"],
			tr.Message3["message_3"], tr.Message3["plaintext_3"], tr.Message4["message_4"]} {
			out = append(out, unhex(f, h))
		}
		if tr.FirstAttempt != nil {
			out = append(out, unhex(f, tr.FirstAttempt["message_1"]), unhex(f, tr.FirstAttempt["error"]))
		}
	}
	for _, ex := range v.Invalid {
		out = append(out, unhex(f, ex.Hex))
	}
	return out
}

// FuzzParseMessage1: a message_1 that parses re-encodes to the same bytes
// (deterministic CBOR has one encoding per value).
func FuzzParseMessage1(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage1(b)
		if err != nil {
			return
		}
		if got := m.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("message_1 %x re-encodes as %x", b, got)
		}
		_ = m.String()
	})
}

// FuzzParsePlaintext: PLAINTEXT_2 and PLAINTEXT_3 round-trip too.
func FuzzParsePlaintext(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, withCR bool) {
		p, err := parsePlaintext("PLAINTEXT", b, withCR, 0)
		if err != nil {
			return
		}
		if got := p.marshal(withCR); !bytes.Equal(got, b) {
			t.Fatalf("plaintext %x re-encodes as %x", b, got)
		}
		_ = p.String()
	})
}

// FuzzParseSmall covers message_2's split, the single-bstr messages, the
// error message, PLAINTEXT_4, the CoAP payload framings, CCS credentials
// and diagnostic notation.
func FuzzParseSmall(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Add([]byte{0x02, 0x82, 0x06, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []Curve{X25519, P256, P384} {
			if gy, ct, err := ParseMessage2(b, c); err == nil && len(gy)+len(ct) >= len(b) {
				t.Fatalf("message_2 split longer than the input")
			}
		}
		_, _ = ParseCiphertext("message_3", b)
		if e, err := ParseError(b); err == nil {
			if got := e.Marshal(); !bytes.Equal(got, b) {
				t.Fatalf("error %x re-encodes as %x", b, got)
			}
			_, _ = e.SuitesR()
			_ = e.String()
		}
		_, _ = ParsePlaintext4(b)
		_, _ = Message1Fields(b)
		_, _ = ErrorFields(b)
		for n := 2; n <= 4; n++ {
			_, _ = PlaintextFields(n, b)
		}
		if first, _, msg, err := ParseRequestPayload(b); err == nil && (len(msg) == 0 || first && len(msg) != len(b)-1) {
			t.Fatalf("request payload %x split into %x", b, msg)
		}
		if m3, ct, err := SplitCombinedPayload(b); err == nil && (len(ct) == 0 || len(m3)+len(ct) != len(b)) {
			t.Fatalf("combined payload %x split into %x | %x", b, m3, ct)
		}
		_, _ = NewCCS(b)
		for _, c := range []Curve{X25519, P256, P384} {
			_, _ = c.parsePublic(b)
		}
		_ = diag(b)
	})
}

// FuzzResponder feeds hostile message_1 and message_3 to a Responder
// holding trace 2's keys: every failure is an *Error with a message, and
// nothing panics.
func FuzzResponder(f *testing.F) {
	v := loadVectors(f)
	tr := v.Traces[1]
	_, cr := tr.configs(f)
	cr.Suites = []Suite{Suite0, Suite2}
	m1 := unhex(f, tr.Message1["message_1"])
	for _, s := range seeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, third bool) {
		r, err := NewResponder(cr)
		if err != nil {
			t.Fatal(err)
		}
		if third {
			if err := r.ReadMessage1(m1); err != nil {
				t.Fatal(err)
			}
			if _, err := r.WriteMessage2(); err != nil {
				t.Fatal(err)
			}
			err = r.ReadMessage3(b)
		} else {
			err = r.ReadMessage1(b)
		}
		if e, ok := err.(*Error); ok {
			if _, perr := ParseError(e.Message()); perr != nil {
				t.Fatalf("error message %x does not parse: %v", e.Message(), perr)
			}
		}
	})
}

// FuzzInitiator feeds hostile message_2 and message_4 to an Initiator
// holding trace 2's keys.
func FuzzInitiator(f *testing.F) {
	v := loadVectors(f)
	tr := v.Traces[1]
	ci, cr := tr.configs(f)
	ci.Suites, ci.Ephemeral = []Suite{Suite2}, ci.Ephemeral[1:]
	for _, s := range seeds(f) {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fourth bool) {
		i, err := NewInitiator(ci)
		if err != nil {
			t.Fatal(err)
		}
		m1, err := i.WriteMessage1()
		if err != nil {
			t.Fatal(err)
		}
		if fourth {
			r, _ := NewResponder(cr)
			if err := r.ReadMessage1(m1); err != nil {
				t.Fatal(err)
			}
			m2, _ := r.WriteMessage2()
			if err := i.ReadMessage2(m2); err != nil {
				t.Fatal(err)
			}
			if _, err := i.WriteMessage3(); err != nil {
				t.Fatal(err)
			}
			_ = i.ReadMessage4(b)
			return
		}
		_ = i.ReadMessage2(b)
	})
}
