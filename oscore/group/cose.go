package group

import (
	"crypto/hkdf"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"oscore-lab/oscore"
	"oscore-lab/oscore/internal/cborenc"
)

// The CBOR structures of Group OSCORE, built by hand in the deterministic
// encoding of RFC 8949 4.2.1 (shortest heads), which is what the published
// vectors use.

// keyInfo is info = [id, id_context, alg, type, L] of RFC 8613 3.2.1, with
// the Gid as id_context (always a bstr in a group) and alg the Group
// Encryption Algorithm when set (RFC 10021 2.2, 2.1.9, 2.5.1).
func keyInfo(id, gid []byte, alg oscore.AEADAlg, typ string, l int) []byte {
	b := make([]byte, 0, 16+len(id)+len(gid)+len(typ))
	b = cborenc.AppendBstr(append(b, 0x85), id)
	b = cborenc.AppendBstr(b, gid)
	b = cborenc.AppendInt(b, int(alg))
	b = cborenc.AppendTstr(b, typ)
	return cborenc.AppendInt(b, l)
}

func keyInfoDiag(id, gid []byte, alg oscore.AEADAlg, typ string, l int) string {
	return fmt.Sprintf("[h'%x', h'%x', %d, %q, %d]", id, gid, int(alg), typ, l)
}

// keystreamInfo is the 4-element info of RFC 10021 4.2: [id, id_context,
// type (true for a request), L].
func keystreamInfo(id, gid []byte, request bool, l int) []byte {
	b := make([]byte, 0, 12+len(id)+len(gid))
	b = cborenc.AppendBstr(append(b, 0x84), id)
	b = cborenc.AppendBstr(b, gid)
	t := byte(cborFalse)
	if request {
		t = cborTrue
	}
	return cborenc.AppendInt(append(b, t), l)
}

// CBOR simple values.
const (
	cborFalse = 0xf4
	cborTrue  = 0xf5
	cborNull  = 0xf6
)

func keystreamInfoDiag(id, gid []byte, request bool, l int) string {
	return fmt.Sprintf("[h'%x', h'%x', %t, %d]", id, gid, request, l)
}

// KeyDerivation records one HKDF output: its info in bytes and in CBOR
// diagnostic notation, the salt's role and the output.
type KeyDerivation struct {
	Label    string     `json:"label"` // "Sender Key of 25", "Signature Encryption Key", "Pairwise Sender Key 25→52"
	Salt     string     `json:"salt"`  // "Master Salt", "Sender Key", ...
	Info     oscore.Hex `json:"info"`
	InfoDiag string     `json:"info_diag"`
	L        int        `json:"l"`
	Output   oscore.Hex `json:"output"`
}

func hkdfKey(h HKDFAlg, ikm, salt, info []byte, l int) ([]byte, error) {
	out, err := hkdf.Key(h.hash(), ikm, salt, string(info), l)
	if err != nil {
		return nil, fmt.Errorf("group: HKDF: %w", err)
	}
	return out, nil
}

// algs is the algorithms element of aad_array: [alg_aead, alg_group_enc,
// alg_signature, alg_pairwise_key_agreement], null for a parameter not set
// in the Common Context (RFC 10021 3.4).
func (p *Params) algs() []any {
	a := make([]any, 4)
	if p.AEAD != 0 {
		a[0] = int(p.AEAD)
	}
	if p.GroupEnc != 0 {
		a[1] = int(p.GroupEnc)
	}
	if p.Sig != 0 {
		a[2] = int(p.Sig)
	}
	if p.KeyAgreement != 0 {
		a[3] = int(p.KeyAgreement)
	}
	return a
}

func (p *Params) algsDiag() string {
	parts := make([]string, 4)
	for i, v := range p.algs() {
		if v == nil {
			parts[i] = "null"
		} else {
			parts[i] = strconv.Itoa(v.(int))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// aadInput are the message-specific elements of aad_array (RFC 10021 3.4).
type aadInput struct {
	reqKID, reqPIV, options, reqKIDContext, optVal, senderCred []byte
}

// aadArray encodes aad_array = [1, algorithms, request_kid, request_piv,
// options, request_kid_context, OSCORE_option, sender_cred, gm_cred]
// (RFC 10021 3.4). OSCORE_option is the final option value of this message.
func (c *Context) aadArray(in *aadInput) []byte {
	n := 32 + len(in.reqKID) + len(in.reqPIV) + len(in.options) + len(in.reqKIDContext) + len(in.optVal) + len(in.senderCred) + len(c.p.GMCred)
	b := append(make([]byte, 0, n), 0x89, 0x01, 0x84)
	for _, a := range [...]int{int(c.p.AEAD), int(c.p.GroupEnc), int(c.p.Sig), int(c.p.KeyAgreement)} {
		if a == 0 { // not set: null (RFC 10021 3.4)
			b = append(b, cborNull)
		} else {
			b = cborenc.AppendInt(b, a)
		}
	}
	for _, v := range [...][]byte{in.reqKID, in.reqPIV, in.options, in.reqKIDContext, in.optVal, in.senderCred, c.p.GMCred} {
		b = cborenc.AppendBstr(b, v)
	}
	return b
}

func (c *Context) aadDiag(in *aadInput, senderFP string) string {
	b := make([]byte, 0, 160+2*(len(in.reqKID)+len(in.reqPIV)+len(in.options)+len(in.reqKIDContext)+len(in.optVal)))
	b = append(b, "[1, "...)
	b = append(b, c.algsDiag...)
	for _, v := range [][]byte{in.reqKID, in.reqPIV, in.options, in.reqKIDContext, in.optVal} {
		b = append(b, ", h'"...)
		b = hex.AppendEncode(b, v)
		b = append(b, '\'')
	}
	b = append(b, ", h'…' (sender_cred, "...)
	b = append(b, senderFP...)
	b = append(b, "), h'…' (gm_cred, "...)
	b = append(b, c.gmFP...)
	return string(append(b, ")]"...))
}

// encStructure is the AEAD's associated data: Enc_structure = ["Encrypt0",
// h”, external_aad] with external_aad = bstr .cbor aad_array (RFC 9052
// 5.3; RFC 10021 3.4, both modes).
func encStructure(aadArray []byte) []byte {
	b := cborenc.AppendTstr(append(make([]byte, 0, 16+len(aadArray)), 0x83), "Encrypt0")
	return cborenc.AppendBstr(append(b, 0x40), aadArray)
}

// countersignStructure is what the countersignature signs (RFC 10021 3.1;
// RFC 9338 3.3): ["CounterSignature0", h”, h”, external_aad, ciphertext],
// with both body_protected and sign_protected as empty bstrs, the 5-element
// form that the published vector and the interoperable implementations use
// (docs/group-oscore.md).
func countersignStructure(aadArray, ciphertext []byte) []byte {
	b := cborenc.AppendTstr(append(make([]byte, 0, 32+len(aadArray)+len(ciphertext)), 0x85), "CounterSignature0")
	b = cborenc.AppendBstr(append(b, 0x40, 0x40), aadArray)
	return cborenc.AppendBstr(b, ciphertext)
}

func countersignDiag(aadArray, ciphertext []byte) string {
	return fmt.Sprintf(`["CounterSignature0", h'', h'', << aad_array (%d bytes) >>, h'%s' (ciphertext)]`, len(aadArray), hex.EncodeToString(ciphertext))
}

func xor(dst, a, b []byte) []byte {
	for i := range a {
		dst = append(dst, a[i]^b[i])
	}
	return dst
}

// bstr turns nil into an empty byte string, for values that report "h”"
// rather than nothing.
func bstr(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
