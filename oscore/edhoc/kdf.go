package edhoc

import (
	"crypto/hkdf"
	"crypto/hmac"
	"encoding/hex"
	"fmt"

	"oscore-lab/oscore/internal/cborenc"
)

// Step is one calculation of the key schedule, kept for reports and
// calculation cards: what was hashed or which key was derived from which
// key with which label. Names are those of RFC 9528 4 in lower case
// (th_2, prk_2e, keystream_2, ...).
type Step struct {
	Name    string
	Formula string   // e.g. "PRK_2e = EDHOC_Extract(TH_2, G_XY)"
	Inputs  []string // names of earlier steps or inputs this one uses
	Input   []byte   // what was hashed, MACed, signed or encrypted, if any
	Info    []byte   // EDHOC_KDF info (label, context, length), if any
	Output  []byte
	Secret  bool // keys and secrets: redact by default
}

// InfoDiag is the info in CBOR diagnostic notation.
func (s Step) InfoDiag() string {
	if s.Info == nil {
		return ""
	}
	return diag(s.Info)
}

func (s Step) String() string {
	out := s.Formula
	if s.Info != nil {
		out += " info " + s.InfoDiag()
	}
	if s.Secret {
		return out + " = (secret)"
	}
	return out + " = " + hex.EncodeToString(s.Output)
}

// transcript records the steps of one session in order.
type transcript struct {
	steps []Step
}

func (t *transcript) add(s Step) []byte {
	t.steps = append(t.steps, s)
	return s.Output
}

// hashStep computes name = H(input) and records it.
func (t *transcript) hashStep(s Suite, name, formula string, input []byte, inputs ...string) []byte {
	return t.add(Step{Name: name, Formula: formula, Inputs: inputs, Input: input, Output: s.hash(input)})
}

// extract is EDHOC_Extract(salt, IKM) = HKDF-Extract (RFC 9528 4.1.1.1).
func (t *transcript) extract(s Suite, name, saltName, ikmName string, salt, ikm []byte) []byte {
	prk, err := hkdf.Extract(s.newHash, ikm, salt)
	if err != nil {
		panic(err) // HKDF-Extract cannot fail
	}
	return t.add(Step{
		Name:    name,
		Formula: fmt.Sprintf("%s = EDHOC_Extract(%s, %s) = HMAC-%s(%s, %s)", upper(name), saltName, ikmName, s.hashName(), saltName, ikmName),
		Inputs:  []string{saltName, ikmName},
		Output:  prk,
		Secret:  true,
	})
}

// kdfInfo is the info of EDHOC_KDF: the CBOR sequence label, context
// (always a bstr, h” when empty), length (RFC 9528 4.1.2).
func kdfInfo(label int, context []byte, length int) []byte {
	info := cborenc.AppendInt(nil, int64(label))
	info = cborenc.AppendBstr(info, context)
	return cborenc.AppendInt(info, int64(length))
}

// expand is EDHOC_KDF(PRK, label, context, length) = HKDF-Expand(PRK,
// info, length) (RFC 9528 4.1.2). Lengths above 255 hash lengths would
// need RFC 9528 Appendix G and are refused by the callers.
func expand(s Suite, prk []byte, label int, context []byte, length int) ([]byte, []byte) {
	info := kdfInfo(label, context, length)
	out, err := hkdf.Expand(s.newHash, prk, string(info), length)
	if err != nil {
		panic(err) // lengths are bounded by the callers
	}
	return out, info
}

// kdf derives name = EDHOC_KDF(prkName, label, ctxName, length) and records it.
func (t *transcript) kdf(s Suite, name, prkName string, prk []byte, label int, ctxName string, context []byte, length int, secret bool) []byte {
	out, info := expand(s, prk, label, context, length)
	return t.add(Step{
		Name:    name,
		Formula: fmt.Sprintf("%s = EDHOC_KDF(%s, %d, %s, %d)", upper(name), upper(prkName), label, ctxName, length),
		Inputs:  []string{prkName, ctxName},
		Input:   context,
		Info:    info,
		Output:  out,
		Secret:  secret,
	})
}

// upper gives a step's name as RFC 9528 writes it: the first part in
// capitals (prk_2e -> PRK_2e, prk_out -> PRK_out).
func upper(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c == '_' {
			break
		}
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func macEqual(a, b []byte) bool { return hmac.Equal(a, b) }
