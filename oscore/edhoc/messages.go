package edhoc

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"oscore-lab/oscore/internal/cborenc"
)

// Wire encoding of the EDHOC messages (RFC 9528 5, CDDL in Appendix C.2),
// apart from the state machines that fill them. Every parser refuses
// trailing bytes and non-deterministic CBOR.

// maxSuites bounds SUITES_I; the registry holds far fewer.
const maxSuites = 32

// Message1 is message_1 (RFC 9528 5.2.1): METHOD, SUITES_I, G_X, C_I, ? EAD_1.
type Message1 struct {
	Method  Method
	SuitesI []Suite // the Initiator's preference order, selected suite last
	GX      []byte  // ephemeral public key (x-coordinate for NIST curves)
	CI      []byte  // connection identifier, as a byte string
	EAD     []EADItem
}

// Selected is the suite the Initiator selected: the last of SUITES_I.
func (m *Message1) Selected() Suite { return m.SuitesI[len(m.SuitesI)-1] }

// Marshal encodes message_1. SUITES_I goes as a single integer when it
// holds one suite, else as an array (RFC 9528 5.2.1).
func (m *Message1) Marshal() []byte {
	b := cborenc.AppendInt(nil, int64(m.Method))
	b = appendSuites(b, m.SuitesI)
	b = cborenc.AppendBstr(b, m.GX)
	b = AppendID(b, m.CI)
	return appendEAD(b, m.EAD)
}

func appendSuites(b []byte, s []Suite) []byte {
	if len(s) == 1 {
		return cborenc.AppendInt(b, int64(s[0]))
	}
	b = cborenc.AppendHead(b, mtArray, uint64(len(s)))
	for _, x := range s {
		b = cborenc.AppendInt(b, int64(x))
	}
	return b
}

// suites reads SUITES_I or SUITES_R: an integer, or an array of at least
// two integers (a one-element array is not allowed, RFC 9528 5.2.1).
func (r *reader) suites() ([]Suite, error) {
	mt, err := r.peek()
	if err != nil {
		return nil, err
	}
	if mt != mtArray {
		v, err := r.int()
		if err != nil {
			return nil, err
		}
		return []Suite{Suite(v)}, nil
	}
	_, n, err := r.head()
	if err != nil {
		return nil, err
	}
	if n < 2 {
		return nil, errors.New("a single suite must be sent as an integer, not an array")
	}
	if n > maxSuites {
		return nil, fmt.Errorf("%d suites, at most %d accepted", n, maxSuites)
	}
	out := make([]Suite, 0, n)
	for range n {
		v, err := r.int()
		if err != nil {
			return nil, err
		}
		out = append(out, Suite(v))
	}
	return out, nil
}

// suiteRange is the registry's number space (RFC 9528 10.2: -65536..65535).
func suiteInRange(s Suite) bool { return s >= -65536 && s <= 65535 }

// ParseMessage1 decodes message_1. A registered selected suite fixes the
// length of G_X (RFC 9529 4); the point itself is checked by the Responder.
func ParseMessage1(b []byte) (*Message1, error) {
	r := &reader{b: b}
	m := &Message1{}
	method, err := r.int()
	if err != nil {
		return nil, fmt.Errorf("message_1 METHOD: %w", err)
	}
	m.Method = Method(method)
	if m.SuitesI, err = r.suites(); err != nil {
		return nil, fmt.Errorf("message_1 SUITES_I: %w", err)
	}
	for _, s := range m.SuitesI {
		if !suiteInRange(s) {
			return nil, fmt.Errorf("message_1 SUITES_I: suite %d out of range", int(s))
		}
	}
	gx, err := r.bstr()
	if err != nil {
		return nil, fmt.Errorf("message_1 G_X: %w", err)
	}
	if c := m.Selected().Curve(); c != 0 && len(gx) != c.PublicLen() {
		return nil, fmt.Errorf("message_1 G_X: %d bytes, %v of the selected suite %d needs %d", len(gx), c, int(m.Selected()), c.PublicLen())
	}
	m.GX = bytes.Clone(gx)
	if m.CI, err = r.id(); err != nil {
		return nil, fmt.Errorf("message_1 C_I: %w", err)
	}
	if m.EAD, _, err = r.ead(); err != nil {
		return nil, fmt.Errorf("message_1 %w", err)
	}
	return m, nil
}

func (m *Message1) String() string {
	ss := make([]string, len(m.SuitesI))
	for i, s := range m.SuitesI {
		ss[i] = strconv.Itoa(int(s))
	}
	return fmt.Sprintf("message_1 METHOD %d, SUITES_I [%s], G_X %x, C_I %s%s", int(m.Method), strings.Join(ss, ", "), m.GX, diag(EncodeID(m.CI)), eadString(m.EAD))
}

func eadString(items []EADItem) string {
	s := ""
	for _, it := range items {
		s += ", " + it.String()
	}
	return s
}

// single reads a message that is exactly one byte string (message_2's
// G_Y_CIPHERTEXT_2, message_3, message_4: RFC 9528 5.3.1, 5.4.1, 5.5.1).
func single(name string, b []byte) ([]byte, error) {
	r := &reader{b: b}
	v, err := r.bstr()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !r.done() {
		return nil, fmt.Errorf("%s: %d bytes after the byte string; the message is a single byte string", name, len(b)-r.off)
	}
	return v, nil
}

// ParseMessage2 splits message_2 into G_Y and CIPHERTEXT_2 (RFC 9528
// 5.3.1: one byte string G_Y || CIPHERTEXT_2); c is the selected suite's
// curve.
func ParseMessage2(b []byte, c Curve) (gy, ciphertext []byte, err error) {
	v, err := single("message_2", b)
	if err != nil {
		return nil, nil, err
	}
	if len(v) <= c.PublicLen() {
		return nil, nil, fmt.Errorf("message_2: %d bytes, G_Y alone needs %d", len(v), c.PublicLen())
	}
	return v[:c.PublicLen()], v[c.PublicLen():], nil
}

// ParseCiphertext reads message_3 or message_4 (one byte string).
func ParseCiphertext(name string, b []byte) ([]byte, error) { return single(name, b) }

// Plaintext is PLAINTEXT_2 (with C_R) or PLAINTEXT_3 (RFC 9528 5.3.2,
// 5.4.2): C_R, ID_CRED_x, Signature_or_MAC_x, ? EAD_x.
type Plaintext struct {
	CR       []byte // PLAINTEXT_2 only
	IDCred   IDCred
	SigOrMAC []byte
	EAD      []EADItem
	ead      []byte // EAD as received, for context_2/3
}

// marshal encodes a plaintext; withCR for PLAINTEXT_2. ID_CRED goes in
// its compact form when it is a kid (RFC 9528 3.5.3.2).
func (p *Plaintext) marshal(withCR bool) []byte {
	var b []byte
	if withCR {
		b = AppendID(b, p.CR)
	}
	b = appendCompactIDCred(b, p.IDCred.Map)
	b = cborenc.AppendBstr(b, p.SigOrMAC)
	return appendEAD(b, p.EAD)
}

// ParsePlaintext2 decodes PLAINTEXT_2; sigLen is the Signature_or_MAC_2
// length the method and suite require (RFC 9529 4, "Error in length of
// MAC"), 0 to skip that check.
func ParsePlaintext2(b []byte, sigLen int) (*Plaintext, error) {
	return parsePlaintext("PLAINTEXT_2", b, true, sigLen)
}

// ParsePlaintext3 decodes PLAINTEXT_3 (see ParsePlaintext2).
func ParsePlaintext3(b []byte, sigLen int) (*Plaintext, error) {
	return parsePlaintext("PLAINTEXT_3", b, false, sigLen)
}

func parsePlaintext(name string, b []byte, withCR bool, sigLen int) (*Plaintext, error) {
	r := &reader{b: b}
	p := &Plaintext{}
	var err error
	if withCR {
		if p.CR, err = r.id(); err != nil {
			return nil, fmt.Errorf("%s C_R: %w", name, err)
		}
	}
	if p.IDCred, _, err = r.idCred(); err != nil {
		return nil, fmt.Errorf("%s %w", name, err)
	}
	sig, err := r.bstr()
	if err != nil {
		return nil, fmt.Errorf("%s Signature_or_MAC: %w", name, err)
	}
	if sigLen > 0 && len(sig) != sigLen {
		return nil, fmt.Errorf("%s Signature_or_MAC of %d bytes, want %d", name, len(sig), sigLen)
	}
	p.SigOrMAC = bytes.Clone(sig)
	if p.EAD, p.ead, err = r.ead(); err != nil {
		return nil, fmt.Errorf("%s %w", name, err)
	}
	p.ead = bytes.Clone(p.ead)
	return p, nil
}

func (p *Plaintext) String() string {
	s := ""
	if p.CR != nil {
		s = "C_R " + diag(EncodeID(p.CR)) + ", "
	}
	return s + fmt.Sprintf("ID_CRED %s, Signature_or_MAC %x%s", p.IDCred, p.SigOrMAC, eadString(p.EAD))
}

// ParsePlaintext4 decodes PLAINTEXT_4 (RFC 9528 5.5.2: ? EAD_4).
func ParsePlaintext4(b []byte) ([]EADItem, error) {
	items, _, err := (&reader{b: b}).ead()
	if err != nil {
		return nil, fmt.Errorf("PLAINTEXT_4 %w", err)
	}
	return items, nil
}

// Error codes (RFC 9528 6, IANA "EDHOC Error Codes").
const (
	ErrCodeSuccess           = 0
	ErrCodeUnspecified       = 1
	ErrCodeWrongSuite        = 2
	ErrCodeUnknownCredential = 3
)

// ErrorMessage is the EDHOC error message (RFC 9528 6): ERR_CODE, ERR_INFO.
type ErrorMessage struct {
	Code int64
	Info []byte // ERR_INFO as one CBOR item; nil when absent
}

// Marshal encodes the error message.
func (e *ErrorMessage) Marshal() []byte { return append(cborenc.AppendInt(nil, e.Code), e.Info...) }

// Diagnostic is ERR_INFO of error 1 (a text string), else "".
func (e *ErrorMessage) Diagnostic() string {
	if e.Code != ErrCodeUnspecified {
		return ""
	}
	s, err := (&reader{b: e.Info}).bytesOf(mtTstr)
	if err != nil {
		return ""
	}
	return string(s)
}

// SuitesR is ERR_INFO of error 2: the suites the Responder supports.
func (e *ErrorMessage) SuitesR() ([]Suite, error) {
	if e.Code != ErrCodeWrongSuite {
		return nil, errors.New("not a wrong-selected-suite error")
	}
	return (&reader{b: e.Info}).suites()
}

// errorNames are the error codes' meanings (RFC 9528 6, Table 3).
var errorNames = map[int64]string{ErrCodeSuccess: "success", ErrCodeUnspecified: "unspecified error",
	ErrCodeWrongSuite: "wrong selected cipher suite", ErrCodeUnknownCredential: "unknown credential referenced"}

func (e *ErrorMessage) String() string {
	return fmt.Sprintf("EDHOC error %d (%s), ERR_INFO %s", e.Code, errorNames[e.Code], diag(e.Info))
}

// ParseError decodes an error message. ERR_INFO is checked against its
// code: a text string for 1, SUITES_R for 2, true for 3 (RFC 9528 6.2-6.4).
func ParseError(b []byte) (*ErrorMessage, error) {
	r := &reader{b: b}
	code, err := r.int()
	if err != nil {
		return nil, fmt.Errorf("error ERR_CODE: %w", err)
	}
	e := &ErrorMessage{Code: code}
	if !r.done() {
		info, err := r.item()
		if err != nil {
			return nil, fmt.Errorf("error ERR_INFO: %w", err)
		}
		e.Info = bytes.Clone(info)
	}
	if !r.done() {
		return nil, errors.New("error: bytes after ERR_INFO")
	}
	switch code {
	case ErrCodeUnspecified:
		if _, err := (&reader{b: e.Info}).bytesOf(mtTstr); err != nil {
			return nil, fmt.Errorf("error 1 ERR_INFO: %w", err)
		}
	case ErrCodeWrongSuite:
		ir := &reader{b: e.Info}
		if _, err := ir.suites(); err != nil || !ir.done() {
			return nil, fmt.Errorf("error 2 ERR_INFO is not SUITES_R: %v", err)
		}
	case ErrCodeUnknownCredential:
		if !bytes.Equal(e.Info, []byte{0xf5}) {
			return nil, errors.New("error 3 ERR_INFO is not true")
		}
	}
	return e, nil
}

// IsError reports whether b has the shape of an error message rather
// than message_2, 3 or 4, which are one byte string: it starts with an
// integer (RFC 9528 6).
func IsError(b []byte) bool {
	return len(b) > 0 && (b[0]>>5 == mtUint || b[0]>>5 == mtNegInt)
}
