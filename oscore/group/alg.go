package group

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strconv"
)

// SigAlg is a COSE signature algorithm, the Signature Algorithm of the
// Common Context (RFC 10021 2.1.8).
type SigAlg int

// Signature algorithms: both give 64-byte signatures (RFC 10021 4.2 L).
const (
	EdDSA SigAlg = -8 // Ed25519 (RFC 9053 2.2); deterministic
	ES256 SigAlg = -7 // ECDSA P-256 SHA-256 (RFC 9053 2.1); deterministic nonces of RFC 6979
)

// Valid reports whether a is supported.
func (a SigAlg) Valid() bool { return a == EdDSA || a == ES256 }

// SigLen is the signature length in bytes: r || s for ES256 (RFC 9053 2.1).
func (a SigAlg) SigLen() int {
	if a.Valid() {
		return 64
	}
	return 0
}

func (a SigAlg) String() string {
	switch a {
	case EdDSA:
		return "EdDSA"
	case ES256:
		return "ES256"
	}
	return "Sig(" + strconv.Itoa(int(a)) + ")"
}

// KeyAgreementAlg is the Pairwise Key Agreement Algorithm (RFC 10021
// 2.1.10): ECDH static-static with the group's HKDF.
type KeyAgreementAlg int

// Key agreement algorithms (RFC 9053 6.3.1).
const (
	ECDHSSHKDF256 KeyAgreementAlg = -27 // with HMAC 256/256
	ECDHSSHKDF512 KeyAgreementAlg = -28 // with HMAC 512/512
)

func (a KeyAgreementAlg) String() string {
	switch a {
	case ECDHSSHKDF256:
		return "ECDH-SS + HKDF-256"
	case ECDHSSHKDF512:
		return "ECDH-SS + HKDF-512"
	}
	return "KA(" + strconv.Itoa(int(a)) + ")"
}

// HKDFAlg is the group's HKDF Algorithm, named by its HMAC algorithm
// (RFC 10021 2.1.2, 2.1.10).
type HKDFAlg int

// HKDF algorithms by COSE HMAC number (RFC 9053 3.1).
const (
	HMAC256 HKDFAlg = 5 // HKDF SHA-256, mandatory to implement (RFC 10021 10)
	HMAC512 HKDFAlg = 7 // HKDF SHA-512
)

func (h HKDFAlg) hash() func() hash.Hash {
	if h == HMAC512 {
		return sha512.New
	}
	return sha256.New
}

func (h HKDFAlg) String() string {
	switch h {
	case HMAC256:
		return "HKDF SHA-256"
	case HMAC512:
		return "HKDF SHA-512"
	}
	return "HKDF(" + strconv.Itoa(int(h)) + ")"
}

// keyAgreementFor is the one Pairwise Key Agreement Algorithm that goes
// with the group's HKDF (RFC 10021 2.1.10).
func keyAgreementFor(h HKDFAlg) KeyAgreementAlg {
	if h == HMAC512 {
		return ECDHSSHKDF512
	}
	return ECDHSSHKDF256
}

// COSE key parameters (RFC 9052 7.1, RFC 9053 7).
const (
	ktyOKP     = 1
	ktyEC2     = 2
	crvP256    = 1
	crvX25519  = 4
	crvEd25519 = 6
)

func crvName(kty, crv int) string {
	switch {
	case kty == ktyOKP && crv == crvEd25519:
		return "Ed25519"
	case kty == ktyOKP && crv == crvX25519:
		return "X25519"
	case kty == ktyEC2 && crv == crvP256:
		return "P-256"
	}
	return fmt.Sprintf("kty %d crv %d", kty, crv)
}
