package edhoc

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"oscore-lab/oscore"
)

// Suite is an EDHOC cipher suite number (RFC 9528 3.6, IANA "EDHOC Cipher
// Suites").
type Suite int

// Cipher suites by number.
const (
	Suite0  Suite = 0  // AES-CCM-16-64-128, SHA-256, 8, X25519, EdDSA
	Suite1  Suite = 1  // AES-CCM-16-128-128, SHA-256, 16, X25519, EdDSA
	Suite2  Suite = 2  // AES-CCM-16-64-128, SHA-256, 8, P-256, ES256
	Suite3  Suite = 3  // AES-CCM-16-128-128, SHA-256, 16, P-256, ES256
	Suite4  Suite = 4  // ChaCha20/Poly1305, SHA-256, 16, X25519, EdDSA
	Suite5  Suite = 5  // ChaCha20/Poly1305, SHA-256, 16, P-256, ES256
	Suite6  Suite = 6  // A128GCM, SHA-256, 16, X25519, ES256
	Suite24 Suite = 24 // A256GCM, SHA-384, 16, P-384, ES384
	Suite25 Suite = 25 // ChaCha20/Poly1305, SHAKE256, 16, X448, EdDSA (not supported)
)

// Curve is an ECDH curve by COSE number (RFC 9053 7.1).
type Curve int

// Curves EDHOC suites use.
const (
	P256   Curve = 1
	P384   Curve = 2
	X25519 Curve = 4
	X448   Curve = 5
)

func (c Curve) String() string {
	switch c {
	case P256:
		return "P-256"
	case P384:
		return "P-384"
	case X25519:
		return "X25519"
	case X448:
		return "X448"
	}
	return fmt.Sprintf("curve(%d)", int(c))
}

// SigAlg is a COSE signature algorithm number (RFC 9053 2).
type SigAlg int

// Signature algorithms EDHOC suites use.
const (
	EdDSA SigAlg = -8
	ES256 SigAlg = -7
	ES384 SigAlg = -35
)

func (a SigAlg) String() string {
	switch a {
	case EdDSA:
		return "EdDSA"
	case ES256:
		return "ES256"
	case ES384:
		return "ES384"
	}
	return fmt.Sprintf("sig(%d)", int(a))
}

// suiteParams are one registered suite's algorithms (RFC 9528 3.6).
type suiteParams struct {
	aead      oscore.AEADAlg // EDHOC AEAD
	sha384    bool           // EDHOC hash SHA-384 instead of SHA-256
	macLen    int            // EDHOC MAC length for static DH
	curve     Curve
	sig       SigAlg
	appAEAD   oscore.AEADAlg
	supported bool
}

var suites = map[Suite]suiteParams{
	Suite0:  {oscore.AESCCM16_64_128, false, 8, X25519, EdDSA, oscore.AESCCM16_64_128, true},
	Suite1:  {oscore.AESCCM16_128_128, false, 16, X25519, EdDSA, oscore.AESCCM16_64_128, true},
	Suite2:  {oscore.AESCCM16_64_128, false, 8, P256, ES256, oscore.AESCCM16_64_128, true},
	Suite3:  {oscore.AESCCM16_128_128, false, 16, P256, ES256, oscore.AESCCM16_64_128, true},
	Suite4:  {oscore.ChaCha20Poly1305, false, 16, X25519, EdDSA, oscore.ChaCha20Poly1305, true},
	Suite5:  {oscore.ChaCha20Poly1305, false, 16, P256, ES256, oscore.ChaCha20Poly1305, true},
	Suite6:  {oscore.A128GCM, false, 16, X25519, ES256, oscore.A128GCM, true},
	Suite24: {oscore.A256GCM, true, 16, P384, ES384, oscore.A256GCM, true},
	// Go has neither X448 nor Ed448; the entry only lets message_1 checks
	// know the key length.
	Suite25: {oscore.ChaCha20Poly1305, false, 16, X448, 0, oscore.ChaCha20Poly1305, false},
}

// Supported reports whether this package can run a session with s.
func (s Suite) Supported() bool { return suites[s].supported }

// SupportedSuites lists the suites this package runs, in number order.
func SupportedSuites() []Suite {
	return []Suite{Suite0, Suite1, Suite2, Suite3, Suite4, Suite5, Suite6, Suite24}
}

func (s Suite) params() suiteParams { return suites[s] }

// Curve is the suite's ECDH curve (0 for an unregistered suite).
func (s Suite) Curve() Curve { return suites[s].curve }

// Sig is the suite's signature algorithm.
func (s Suite) Sig() SigAlg { return suites[s].sig }

// AEAD is the suite's EDHOC AEAD algorithm.
func (s Suite) AEAD() oscore.AEADAlg { return suites[s].aead }

// AppAEAD is the suite's application AEAD, the OSCORE AEAD (RFC 9528 A.1).
func (s Suite) AppAEAD() oscore.AEADAlg { return suites[s].appAEAD }

// MACLen is the suite's EDHOC MAC length.
func (s Suite) MACLen() int { return suites[s].macLen }

func (s Suite) newHash() hash.Hash {
	if suites[s].sha384 {
		return sha512.New384()
	}
	return sha256.New()
}

// HashLen is the length of the suite's EDHOC hash output.
func (s Suite) HashLen() int {
	if suites[s].sha384 {
		return 48
	}
	return 32
}

func (s Suite) hashName() string {
	if suites[s].sha384 {
		return "SHA-384"
	}
	return "SHA-256"
}

// hash returns H(data) with the suite's EDHOC hash.
func (s Suite) hash(data []byte) []byte {
	h := s.newHash()
	h.Write(data)
	return h.Sum(nil)
}

func (s Suite) String() string {
	p, ok := suites[s]
	if !ok {
		return fmt.Sprintf("suite %d (unregistered)", int(s))
	}
	return fmt.Sprintf("suite %d (%v, %s, %v, %v)", int(s), p.aead, s.hashName(), p.curve, p.sig)
}

// Method is the EDHOC authentication method (RFC 9528 3.2).
type Method int

// Methods: which side signs and which uses a static DH key.
const (
	MethodSigSig Method = 0 // Initiator signature, Responder signature
	MethodSigDH  Method = 1 // Initiator signature, Responder static DH
	MethodDHSig  Method = 2 // Initiator static DH, Responder signature
	MethodDHDH   Method = 3 // Initiator static DH, Responder static DH
)

// Valid reports whether m is one of the four methods.
func (m Method) Valid() bool { return m >= 0 && m <= 3 }

// InitiatorSigns reports whether the Initiator authenticates by signature.
func (m Method) InitiatorSigns() bool { return m == MethodSigSig || m == MethodSigDH }

// ResponderSigns reports whether the Responder authenticates by signature.
func (m Method) ResponderSigns() bool { return m == MethodSigSig || m == MethodDHSig }

// macLen is mac_length_2 or mac_length_3 (RFC 9528 5.3.2, 5.4.2): the
// hash length for a signing side, the suite's MAC length for static DH.
func macLen(s Suite, signs bool) int {
	if signs {
		return s.HashLen()
	}
	return s.MACLen()
}

func (m Method) String() string {
	switch m {
	case MethodSigSig:
		return "method 0 (signature/signature)"
	case MethodSigDH:
		return "method 1 (signature/static DH)"
	case MethodDHSig:
		return "method 2 (static DH/signature)"
	case MethodDHDH:
		return "method 3 (static DH/static DH)"
	}
	return fmt.Sprintf("method %d", int(m))
}
