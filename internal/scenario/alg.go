package scenario

import (
	"strconv"
	"strings"
)

// aeadAlg is what validation needs to know of an AEAD algorithm: its COSE
// number and nonce length. The oscore package owns the algorithms; this
// table only bounds the Sender and Recipient IDs (RFC 8613 section 3.3:
// at most nonce length - 6 bytes) and keeps this package free of crypto.
type aeadAlg struct {
	number   int
	name     string
	nonceLen int
}

// aeadAlgs are the AEAD algorithms the lab supports (COSE registry,
// RFC 9053 section 4); RFC 8613 section 3.2.1 makes AES-CCM-16-64-128 (10)
// mandatory.
var aeadAlgs = []aeadAlg{
	{10, "AES-CCM-16-64-128", 13},
	{11, "AES-CCM-16-64-256", 13},
	{30, "AES-CCM-16-128-128", 13},
	{31, "AES-CCM-16-128-256", 13},
	{1, "A128GCM", 12},
	{2, "A192GCM", 12},
	{3, "A256GCM", 12},
	{24, "ChaCha20/Poly1305", 12},
}

// lookupAEAD accepts a COSE number ("10") or a name ("AES-CCM-16-64-128",
// case-insensitive); "" is the default, 10.
func lookupAEAD(s string) (aeadAlg, bool) {
	if s == "" {
		return aeadAlgs[0], true
	}
	n, err := strconv.Atoi(s)
	for _, a := range aeadAlgs {
		if (err == nil && a.number == n) || strings.EqualFold(a.name, s) {
			return a, true
		}
	}
	return aeadAlg{}, false
}

func aeadNames() string {
	var b strings.Builder
	for i, a := range aeadAlgs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(a.number) + " " + a.name)
	}
	return b.String()
}

// validHKDF accepts the HKDF algorithms of RFC 8613 section 3.2.1 by name
// or COSE number; "" is the default, SHA-256.
func validHKDF(s string) bool {
	switch strings.ToUpper(s) {
	case "", "SHA-256", "SHA-512", "HKDF-SHA-256", "HKDF-SHA-512", "-10", "-11":
		return true
	}
	return false
}
