package oscore

import (
	"crypto/hkdf"
	"fmt"
	"strconv"
	"strings"

	"oscore-lab/oscore/internal/cborenc"
)

// KeyDerivation records one HKDF output of RFC 8613 3.2.1: the info array
// in bytes and in CBOR diagnostic notation, its length and the output.
type KeyDerivation struct {
	Label    string `json:"label"` // "sender key", "recipient key", "common iv"
	ID       Hex    `json:"id"`
	Type     string `json:"type"` // "Key" or "IV"
	L        int    `json:"l"`
	Info     Hex    `json:"info"`
	InfoDiag string `json:"info_diag"`
	Output   Hex    `json:"output"`
}

// Derivation records how a context's keys and Common IV were derived.
type Derivation struct {
	HKDF         string        `json:"hkdf"`
	AEAD         string        `json:"aead"`
	MasterSalt   Hex           `json:"master_salt"`
	IDContext    Hex           `json:"id_context,omitempty"`
	SenderKey    KeyDerivation `json:"sender_key"`
	RecipientKey KeyDerivation `json:"recipient_key"`
	CommonIV     KeyDerivation `json:"common_iv"`
}

// buildInfo encodes info = [id, id_context, alg_aead, type, L]
// (RFC 8613 3.2.1): id is a bstr (empty bstr h” for an empty ID, never
// null); id_context is null when absent; alg_aead an int; type a tstr.
func buildInfo(id, idContext []byte, alg AEADAlg, typ string, l int) []byte {
	b := make([]byte, 0, 16+len(id)+len(idContext))
	b = append(b, 0x85)
	b = cborenc.AppendBstr(b, id)
	if idContext == nil {
		b = append(b, cborNull)
	} else {
		b = cborenc.AppendBstr(b, idContext)
	}
	b = cborenc.AppendInt(b, int(alg))
	b = cborenc.AppendTstr(b, typ)
	return cborenc.AppendInt(b, l)
}

// infoDiag is the CBOR diagnostic notation of the info array.
func infoDiag(id, idContext []byte, alg AEADAlg, typ string, l int) string {
	ctx := "null"
	if idContext != nil {
		ctx = "h'" + Hex(idContext).String() + "'"
	}
	return fmt.Sprintf("[h'%s', %s, %d, %q, %d]", Hex(id), ctx, int(alg), typ, l)
}

// derive runs HKDF(salt, secret, info, L) (RFC 8613 3.2.1; RFC 5869).
func derive(h HKDFAlg, secret, salt []byte, label string, id, idContext []byte, alg AEADAlg, typ string, l int) (KeyDerivation, error) {
	info := buildInfo(id, idContext, alg, typ, l)
	out, err := hkdf.Key(h.hash(), secret, salt, string(info), l)
	if err != nil {
		return KeyDerivation{}, fmt.Errorf("oscore: HKDF: %w", err)
	}
	return KeyDerivation{
		Label: label, ID: Hex(nonNil(id)), Type: typ, L: l,
		Info: info, InfoDiag: infoDiag(id, idContext, alg, typ, l), Output: out,
	}, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// String is a compact multi-line summary for logs.
func (d Derivation) String() string {
	var sb strings.Builder
	sb.WriteString("HKDF-" + d.HKDF + " " + d.AEAD + "\n")
	for _, k := range []KeyDerivation{d.SenderKey, d.RecipientKey, d.CommonIV} {
		sb.WriteString(k.Label + ": info " + k.Info.String() + " " + k.InfoDiag + " -> " + k.Output.String() + " (L=" + strconv.Itoa(k.L) + ")\n")
	}
	return sb.String()
}
