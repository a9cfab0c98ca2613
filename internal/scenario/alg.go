package scenario

import (
	"strconv"
	"strings"

	"oscore-lab/oscore"
)

// lookupAEAD accepts what oscore.ParseAEADAlg accepts, a COSE number ("10")
// or a name ("AES-CCM-16-64-128"); "" is the default of RFC 8613 section
// 3.2.1, AES-CCM-16-64-128.
func lookupAEAD(s string) (oscore.AEADAlg, bool) {
	if s == "" {
		return oscore.AESCCM16_64_128, true
	}
	a, err := oscore.ParseAEADAlg(s)
	return a, err == nil
}

// aeadNames lists the supported algorithms for error messages.
func aeadNames() string {
	var names []string
	for _, a := range oscore.AEADAlgs() {
		names = append(names, strconv.Itoa(int(a))+" "+a.String())
	}
	return strings.Join(names, ", ")
}

// validHKDF accepts what oscore.ParseHKDFAlg accepts; "" is the default,
// SHA-256 (RFC 8613 section 3.2.1).
func validHKDF(s string) bool {
	if s == "" {
		return true
	}
	_, err := oscore.ParseHKDFAlg(s)
	return err == nil
}
