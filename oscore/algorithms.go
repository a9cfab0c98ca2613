package oscore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// AEADAlg is a COSE AEAD algorithm number (RFC 9053 section 4, RFC 8613
// section 3.1: AES-CCM-16-64-128 is mandatory to implement and the default).
type AEADAlg int

// AEAD algorithms the lab supports, by COSE number.
const (
	AESCCM16_64_128  AEADAlg = 10 // default (RFC 8613 3.2)
	AESCCM16_64_256  AEADAlg = 11
	AESCCM16_128_128 AEADAlg = 30
	AESCCM16_128_256 AEADAlg = 31
	A128GCM          AEADAlg = 1
	A192GCM          AEADAlg = 2
	A256GCM          AEADAlg = 3
	ChaCha20Poly1305 AEADAlg = 24
)

type aeadInfo struct {
	name                  string
	keyLen, nonceLen, tag int
}

// aeadTable holds the parameters of RFC 9053 sections 4.1-4.3: CCM with
// L=2 has a 13-byte nonce, GCM and ChaCha20/Poly1305 use 12 bytes. It is
// indexed by COSE number (an array, not a map: protect and unprotect ask
// for lengths several times per message); unused entries have no name.
var aeadTable = [...]aeadInfo{
	AESCCM16_64_128:  {"AES-CCM-16-64-128", 16, 13, 8},
	AESCCM16_64_256:  {"AES-CCM-16-64-256", 32, 13, 8},
	AESCCM16_128_128: {"AES-CCM-16-128-128", 16, 13, 16},
	AESCCM16_128_256: {"AES-CCM-16-128-256", 32, 13, 16},
	A128GCM:          {"A128GCM", 16, 12, 16},
	A192GCM:          {"A192GCM", 24, 12, 16},
	A256GCM:          {"A256GCM", 32, 12, 16},
	ChaCha20Poly1305: {"ChaCha20/Poly1305", 32, 12, 16},
}

// AEADAlgs lists the supported algorithms in a stable order (for UIs and tests).
func AEADAlgs() []AEADAlg {
	return []AEADAlg{AESCCM16_64_128, AESCCM16_64_256, AESCCM16_128_128, AESCCM16_128_256,
		A128GCM, A192GCM, A256GCM, ChaCha20Poly1305}
}

// info returns a's parameters, the zero aeadInfo for an unknown number.
func (a AEADAlg) info() aeadInfo {
	if a >= 0 && int(a) < len(aeadTable) {
		return aeadTable[a]
	}
	return aeadInfo{}
}

// Valid reports whether a is a supported algorithm.
func (a AEADAlg) Valid() bool { return a.info().name != "" }

// String returns the COSE name, or "AEAD(n)" for an unknown number.
func (a AEADAlg) String() string {
	if i := a.info(); i.name != "" {
		return i.name
	}
	return "AEAD(" + strconv.Itoa(int(a)) + ")"
}

// KeyLen is the key length in bytes (0 for an unknown algorithm).
func (a AEADAlg) KeyLen() int { return a.info().keyLen }

// NonceLen is the nonce length in bytes; RFC 8613 5.2 pads ID_PIV to NonceLen-6.
func (a AEADAlg) NonceLen() int { return a.info().nonceLen }

// TagLen is the authentication tag length in bytes.
func (a AEADAlg) TagLen() int { return a.info().tag }

// MaxIDLen is the longest Sender/Recipient ID the nonce can hold (RFC 8613 3.3).
func (a AEADAlg) MaxIDLen() int { return a.NonceLen() - 6 }

// ParseAEADAlg accepts a COSE number ("10") or a name ("AES-CCM-16-64-128",
// case-insensitive; "ChaCha20-Poly1305" is accepted too).
func ParseAEADAlg(s string) (AEADAlg, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if a := AEADAlg(n); a.Valid() {
			return a, nil
		}
		return 0, fmt.Errorf("oscore: unknown AEAD algorithm %d", n)
	}
	norm := strings.ReplaceAll(strings.ToUpper(s), "/", "-")
	for a, i := range aeadTable {
		if i.name != "" && strings.ReplaceAll(strings.ToUpper(i.name), "/", "-") == norm {
			return AEADAlg(a), nil
		}
	}
	return 0, fmt.Errorf("oscore: unknown AEAD algorithm %q", s)
}

// NewAEAD returns the cipher for key, for protocols that use the lab's COSE
// AEADs outside an OSCORE context (EDHOC's message_3 and message_4,
// RFC 9528 5.4.2). The CCM variants are the package's allocation-free CCM.
func (a AEADAlg) NewAEAD(key []byte) (cipher.AEAD, error) { return a.newAEAD(key) }

// newAEAD builds the cipher once per key (RFC 8613 3.2: keys are fixed for
// the life of a context, so the key schedule is computed once).
func (a AEADAlg) newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != a.KeyLen() {
		return nil, fmt.Errorf("oscore: %v needs a %d-byte key, got %d", a, a.KeyLen(), len(key))
	}
	switch a {
	case AESCCM16_64_128, AESCCM16_64_256, AESCCM16_128_128, AESCCM16_128_256:
		blk, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("oscore: %w", err)
		}
		return newCCM(blk, a.TagLen(), a.NonceLen())
	case A128GCM, A192GCM, A256GCM:
		blk, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("oscore: %w", err)
		}
		return cipher.NewGCM(blk)
	case ChaCha20Poly1305:
		return chacha20poly1305.New(key)
	}
	return nil, fmt.Errorf("oscore: unknown AEAD algorithm %d", int(a))
}

// HKDFAlg is a COSE HKDF algorithm number (RFC 9053 section 5.1).
type HKDFAlg int

// HKDF algorithms: SHA-256 is the default (RFC 8613 3.2).
const (
	HKDFSHA256 HKDFAlg = -10
	HKDFSHA512 HKDFAlg = -11
)

// String returns "SHA-256" or "SHA-512".
func (h HKDFAlg) String() string {
	switch h {
	case HKDFSHA256:
		return "SHA-256"
	case HKDFSHA512:
		return "SHA-512"
	}
	return "HKDF(" + strconv.Itoa(int(h)) + ")"
}

// Valid reports whether h is supported.
func (h HKDFAlg) Valid() bool { return h == HKDFSHA256 || h == HKDFSHA512 }

func (h HKDFAlg) hash() func() hash.Hash {
	if h == HKDFSHA512 {
		return sha512.New
	}
	return sha256.New
}

// ParseHKDFAlg accepts "-10", "-11", "SHA-256", "SHA-512", "HKDF-SHA-256",
// "HKDF-SHA256" and similar spellings.
func ParseHKDFAlg(s string) (HKDFAlg, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimPrefix(strings.TrimPrefix(t, "HKDF"), "-")
	switch strings.ReplaceAll(t, "-", "") {
	case "10", "SHA256":
		return HKDFSHA256, nil
	case "11", "SHA512":
		return HKDFSHA512, nil
	}
	return 0, fmt.Errorf("oscore: unknown HKDF algorithm %q", s)
}
