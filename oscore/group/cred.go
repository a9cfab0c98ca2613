package group

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
	"github.com/fxamacker/cbor/v2"
)

// Credential is a member's authentication credential (RFC 10021 2.4): a
// CWT Claims Set (CCS, RFC 8392) whose cnf claim holds a COSE_Key (RFC
// 8747 3.1). The bytes are kept as the Group Manager gave them and used
// as they are in the external_aad and the pairwise derivation; they are
// never re-encoded (2.4).
type Credential struct {
	raw      []byte
	kty, crv int
	ed       ed25519.PublicKey
	ec       *ecdsa.PublicKey
	dh       *ecdh.PublicKey // for ECDH: P-256 as is, X25519 as is or mapped from Ed25519 (2.5.2.1)
	dhErr    error           // why there is no ECDH key
	fp       string          // Fingerprint, computed once
}

// maxCredLen bounds a credential (hostile input: the bytes go into every
// AAD).
const maxCredLen = 4096

// ccsDec decodes CCS strictly: no duplicate map keys, bounded nesting and
// sizes (RFC 8949 5.6; hostile input).
var ccsDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  8,
		MaxArrayElements: 64,
		MaxMapPairs:      64,
		IndefLength:      cbor.IndefLengthForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

type ccsClaims struct {
	Cnf *struct {
		Key *coseKey `cbor:"1,keyasint"`
	} `cbor:"8,keyasint"`
}

type coseKey struct {
	Kty int    `cbor:"1,keyasint"`
	Alg any    `cbor:"3,keyasint,omitempty"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint,omitempty"`
}

// ParseCCS reads a credential given as a CCS (RFC 10021 2.4, Authentication
// Credential Format kccs 14). Supported keys: OKP Ed25519 and X25519, EC2
// P-256 with both coordinates; the point must be on its curve.
func ParseCCS(b []byte) (*Credential, error) {
	if len(b) == 0 || len(b) > maxCredLen {
		return nil, fmt.Errorf("group: credential of %d bytes", len(b))
	}
	var c ccsClaims
	if err := ccsDec.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("group: credential is not a CCS: %w", err)
	}
	if c.Cnf == nil || c.Cnf.Key == nil {
		return nil, errors.New("group: CCS without a cnf claim holding a COSE_Key (RFC 8747 3.1)")
	}
	k := c.Cnf.Key
	cr := &Credential{raw: bytes.Clone(b), kty: k.Kty, crv: k.Crv, fp: fingerprint(b)}
	switch {
	case k.Kty == ktyOKP && k.Crv == crvEd25519:
		p, err := new(edwards25519.Point).SetBytes(k.X)
		if err != nil || len(k.X) != ed25519.PublicKeySize {
			return nil, errors.New("group: Ed25519 public key is not a point of the curve (RFC 8032 5.1.3)")
		}
		cr.ed = ed25519.PublicKey(bytes.Clone(k.X))
		cr.dh, cr.dhErr = montgomery(p)
	case k.Kty == ktyOKP && k.Crv == crvX25519:
		pub, err := ecdh.X25519().NewPublicKey(k.X)
		if err != nil {
			return nil, fmt.Errorf("group: X25519 public key: %w", err)
		}
		cr.dh = pub
	case k.Kty == ktyEC2 && k.Crv == crvP256:
		if len(k.X) != 32 || len(k.Y) != 32 {
			return nil, errors.New("group: P-256 key needs 32-byte x and y (compressed points are not supported)")
		}
		pt := append(append([]byte{4}, k.X...), k.Y...)
		ec, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			return nil, fmt.Errorf("group: P-256 public key: %w", err)
		}
		cr.ec = ec
		if cr.dh, err = ecdh.P256().NewPublicKey(pt); err != nil {
			return nil, fmt.Errorf("group: P-256 public key: %w", err)
		}
	default:
		return nil, fmt.Errorf("group: unsupported COSE key (%s)", crvName(k.Kty, k.Crv))
	}
	return cr, nil
}

// montgomery maps an Ed25519 public key to its X25519 u-coordinate, u =
// (1 + y) / (1 - y) mod p (RFC 10021 2.5.2.1; RFC 7748 4.1). y = 1 (the
// identity) and y = -1 (u = 0) are refused as the RFC requires.
func montgomery(p *edwards25519.Point) (*ecdh.PublicKey, error) {
	if p.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, errors.New("group: Ed25519 public key with y = 1 has no X25519 form (RFC 10021 2.5.2.1)")
	}
	u := p.BytesMontgomery()
	if bytes.Equal(u, make([]byte, 32)) {
		return nil, errors.New("group: Ed25519 public key with y = -1 maps to u = 0 (RFC 10021 2.5.2.1)")
	}
	return ecdh.X25519().NewPublicKey(u)
}

// Bytes returns a copy of the credential as received.
func (c *Credential) Bytes() []byte { return bytes.Clone(c.raw) }

// Curve names the key's curve: "Ed25519", "X25519" or "P-256".
func (c *Credential) Curve() string { return crvName(c.kty, c.crv) }

// Ed25519 returns the Ed25519 public key, nil for other curves.
func (c *Credential) Ed25519() ed25519.PublicKey { return c.ed }

// ECDH returns the key used for pairwise key agreement: an X25519 key
// mapped from an Ed25519 one, or the P-256 key (RFC 10021 2.5.1).
func (c *Credential) ECDH() (*ecdh.PublicKey, error) {
	if c.dh == nil {
		if c.dhErr != nil {
			return nil, c.dhErr
		}
		return nil, errors.New("group: credential has no key-agreement key")
	}
	return c.dh, nil
}

// Fingerprint is a short name for the credential in reports: its length
// and the first 4 bytes of its SHA-256.
func (c *Credential) Fingerprint() string { return c.fp }

func fingerprint(b []byte) string {
	h := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes, sha256 %x…", len(b), h[:4])
}

// verify checks sig over msg with the Signature Algorithm alg (RFC 9338 3.3;
// RFC 9053 2). The key must suit the algorithm.
func (c *Credential) verify(alg SigAlg, msg, sig []byte) bool {
	switch {
	case alg == EdDSA && c.ed != nil:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(c.ed, msg, sig)
	case alg == ES256 && c.ec != nil:
		return verifyES256(c.ec, msg, sig)
	}
	return false
}

// suits reports whether the credential's key can make alg's signatures.
func (c *Credential) suits(alg SigAlg) bool {
	return (alg == EdDSA && c.ed != nil) || (alg == ES256 && c.ec != nil)
}

// MakeCCS encodes a minimal CCS for pub (an ed25519.PublicKey or an
// *ecdsa.PublicKey of P-256): {sub, cnf: {COSE_Key: {kty, alg, crv, x[, y]}}}
// with the keys in the order of the published examples (RFC 10021 2.4,
// draft-ietf-core-cacheable-oscore test vectors).
func MakeCCS(sub string, pub any) ([]byte, error) {
	type cnf struct {
		Key coseKey `cbor:"1,keyasint"`
	}
	type claims struct {
		Sub string `cbor:"2,keyasint"`
		Cnf cnf    `cbor:"8,keyasint"`
	}
	var k coseKey
	switch p := pub.(type) {
	case ed25519.PublicKey:
		k = coseKey{Kty: ktyOKP, Alg: int(EdDSA), Crv: crvEd25519, X: p}
	case *ecdsa.PublicKey:
		b, err := p.Bytes()
		if err != nil || p.Curve != elliptic.P256() {
			return nil, errors.New("group: MakeCCS needs a P-256 key")
		}
		k = coseKey{Kty: ktyEC2, Alg: int(ES256), Crv: crvP256, X: b[1:33], Y: b[33:]}
	default:
		return nil, fmt.Errorf("group: MakeCCS: unsupported key %T", pub)
	}
	return cbor.Marshal(claims{Sub: sub, Cnf: cnf{Key: k}})
}
