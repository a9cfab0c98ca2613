package edhoc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestInvalidExamples refuses each of RFC 9529 4's invalid encodings, at
// the step a real peer meets it, with the error that names the fault.
func TestInvalidExamples(t *testing.T) {
	v := loadVectors(t)
	want := map[string]string{
		"Surplus array encoding of message":              "METHOD: expected an integer",
		"Surplus bstr encoding of connection identifier": "C_I: identifier: a one-byte value that encodes an integer",
		"Surplus array encoding of ciphersuite":          "a single suite must be sent as an integer",
		"Text string encoding of ephemeral key":          "G_X: expected major type 2",
		"Wrong number of CBOR sequence elements":         "the message is a single byte string",
		"Surplus map encoding of ID_CRED field":          "must be sent as the compact kid",
		"Surplus bstr encoding of ID_CRED field":         "ID_CRED kid: identifier: a one-byte value that encodes an integer",
		"Error in length of ephemeral key":               "G_X: 32 bytes, P-384 of the selected suite 24 needs 48",
		"Error in elliptic curve representation":         "x-coordinate not below p",
		"Error in elliptic curve point":                  "x-coordinate of no curve point",
		"Curve point of low order":                       "low order",
		"Error in length of MAC":                         "Signature_or_MAC of 4 bytes, want 8",
		"Error in elliptic curve encoding":               "G_X: 31 bytes",
		"Unnecessary long encoding":                      "not in its shortest form",
		"Indefinite-length array encoding":               "indefinite-length",
	}
	tr := v.Traces[1] // the examples use trace 2's suite 2 and method 3
	ci, cr := tr.configs(t)
	cr.Suites = []Suite{Suite0, Suite2}
	ci.Suites, ci.Ephemeral = []Suite{Suite2}, ci.Ephemeral[1:]
	for _, ex := range v.Invalid {
		t.Run(ex.Name, func(t *testing.T) {
			w, ok := want[ex.Name]
			if !ok {
				t.Fatalf("no expectation for %q", ex.Name)
			}
			b := unhex(t, ex.Hex)
			var err error
			switch ex.Kind {
			case "message_1":
				r, rerr := NewResponder(cr)
				if rerr != nil {
					t.Fatal(rerr)
				}
				err = r.ReadMessage1(b)
				var e *Error
				if !errors.As(err, &e) || e.Code != ErrCodeUnspecified {
					t.Fatalf("got %v, want error 1", err)
				}
				if em, perr := ParseError(e.Message()); perr != nil || em.Diagnostic() == "" {
					t.Fatalf("got %v, want error 1 with a diagnostic text", err)
				}
			case "message_2":
				ini, ierr := NewInitiator(ci)
				if ierr != nil {
					t.Fatal(ierr)
				}
				if _, ierr := ini.WriteMessage1(); ierr != nil {
					t.Fatal(ierr)
				}
				err = ini.ReadMessage2(b)
			case "plaintext_2":
				_, err = ParsePlaintext2(b, macLen(Suite2, false))
			default:
				t.Fatalf("unknown kind %q", ex.Kind)
			}
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Fatalf("%s (%s): got %v, want an error containing %q", ex.Name, ex.Why, err, w)
			}
		})
	}
}

// TestConnIDEncoding checks the int/bstr rule of RFC 9528 3.3.2 both ways.
func TestConnIDEncoding(t *testing.T) {
	for _, c := range []struct{ raw, wire string }{
		{"2d", "2d"}, {"18", "4118"}, {"37", "37"}, {"27", "27"}, {"20", "20"}, {"5f", "415f"},
		{"00", "00"}, {"17", "17"}, {"38", "4138"}, {"ff", "41ff"}, {"", "40"}, {"3210", "423210"},
	} {
		raw := unhexStr(c.raw)
		if got := hex.EncodeToString(EncodeID(raw)); got != c.wire {
			t.Errorf("EncodeID(%s) = %s, want %s", c.raw, got, c.wire)
		}
		r := &reader{b: unhexStr(c.wire)}
		id, err := r.id()
		if err != nil || !bytes.Equal(id, raw) || !r.done() {
			t.Errorf("decode %s = %x, %v; want %s", c.wire, id, err, c.raw)
		}
	}
	for _, bad := range []string{"410e", "4100", "4137", "4120", "1818", "3818", "60", "f5"} {
		if _, err := (&reader{b: unhexStr(bad)}).id(); err == nil {
			t.Errorf("identifier %s accepted", bad)
		}
	}
}

func unhexStr(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestDeterministicCBOR refuses the non-deterministic forms RFC 8949 4.2.1
// rules out, in every position the reader covers.
func TestDeterministicCBOR(t *testing.T) {
	for _, c := range []struct{ name, hex string }{
		{"int in two bytes", "1805"},
		{"int in three bytes", "190005"},
		{"negative int long", "3800"},
		{"bstr length long", "580141"},
		{"indefinite bstr", "5f41ff"},
		{"reserved ai", "1c"},
		{"truncated", "19"},
		{"huge bstr length", "5bffffffffffffffff"},
	} {
		if _, err := (&reader{b: unhexStr(c.hex)}).item(); err == nil {
			t.Errorf("%s (%s) accepted", c.name, c.hex)
		}
	}
	// maps: keys unique and in order
	for _, m := range []string{"a2020101 01", "a201010101", "a3"} {
		if _, _, err := (&reader{b: unhexStr(strings.ReplaceAll(m, " ", ""))}).intMap(); err == nil {
			t.Errorf("map %s accepted", m)
		}
	}
}

// TestErrorMessages encodes and decodes the three error codes of RFC 9528
// 6 and refuses ERR_INFO that does not fit its code.
func TestErrorMessages(t *testing.T) {
	e := fail("5.2.3", errors.New("method not supported"))
	em, err := ParseError(e.Message())
	if err != nil || em.Code != 1 || em.Diagnostic() != "method not supported" {
		t.Fatalf("error 1: %v %v", em, err)
	}
	em, err = ParseError(unhexStr("02820602"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := em.SuitesR(); err != nil || len(s) != 2 || s[0] != 6 || s[1] != 2 {
		t.Fatalf("SUITES_R %v %v", s, err)
	}
	e = fail("5.4.3", ErrUnknownCredential)
	if hex.EncodeToString(e.Message()) != "03f5" {
		t.Fatalf("error 3 = %x", e.Message())
	}
	for _, bad := range []string{"0102", "0281", "0360", "01607f", "f5"} {
		if _, err := ParseError(unhexStr(bad)); err == nil {
			t.Errorf("error message %s accepted", bad)
		}
	}
}

// TestEADRoundTrip keeps EAD items, critical flag and padding through
// encoding and decoding.
func TestEADRoundTrip(t *testing.T) {
	items := []EADItem{{Label: 0}, {Label: 0, Value: []byte{}, HasValue: true}, {Label: -5, Value: []byte{0xe9}, HasValue: true}, {Label: 7}}
	b := appendEAD(nil, items)
	if hex.EncodeToString(b) != "0000402441e907" {
		t.Fatalf("EAD encoding %x", b)
	}
	got, raw, err := (&reader{b: b}).ead()
	if err != nil || !bytes.Equal(raw, b) || len(got) != 4 || !got[2].Critical() || !got[0].Padding() || got[3].HasValue {
		t.Fatalf("EAD %v %x %v", got, raw, err)
	}
}
