package edhoc

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"math/big"
)

func (c Curve) ecdh() ecdh.Curve {
	switch c {
	case X25519:
		return ecdh.X25519()
	case P256:
		return ecdh.P256()
	case P384:
		return ecdh.P384()
	}
	return nil
}

func (c Curve) elliptic() elliptic.Curve {
	switch c {
	case P256:
		return elliptic.P256()
	case P384:
		return elliptic.P384()
	}
	return nil
}

// PublicLen is the length of a public key on the wire: the x-coordinate
// alone for the NIST curves (RFC 9528 3.7, compact representation RFC 6090).
func (c Curve) PublicLen() int {
	switch c {
	case X25519, P256:
		return 32
	case P384:
		return 48
	case X448:
		return 56
	}
	return 0
}

// wirePublic returns the public key as EDHOC sends it.
func (c Curve) wirePublic(pk *ecdh.PublicKey) []byte {
	b := pk.Bytes()
	if c == X25519 {
		return b
	}
	return b[1 : 1+c.PublicLen()] // 04 || x || y: keep x
}

// parsePublic checks and decodes a public key as sent (RFC 9528 5.2.3:
// G_X must be a valid point; RFC 9529 4 lists the failures). For the NIST
// curves the y-coordinate is recovered; either root gives the same ECDH
// x-coordinate, so the even one is taken.
func (c Curve) parsePublic(raw []byte) (*ecdh.PublicKey, error) {
	if c.ecdh() == nil {
		return nil, fmt.Errorf("%v is not supported", c)
	}
	if len(raw) != c.PublicLen() {
		return nil, fmt.Errorf("%v public key of %d bytes, want %d", c, len(raw), c.PublicLen())
	}
	if c == X25519 {
		return c.ecdh().NewPublicKey(raw)
	}
	ec := c.elliptic()
	if new(big.Int).SetBytes(raw).Cmp(ec.Params().P) >= 0 {
		return nil, fmt.Errorf("%v x-coordinate not below p", c)
	}
	x, y := elliptic.UnmarshalCompressed(ec, append([]byte{2}, raw...))
	if x == nil {
		return nil, fmt.Errorf("%v x-coordinate of no curve point", c)
	}
	n := c.PublicLen()
	u := make([]byte, 1+2*n)
	u[0] = 4
	x.FillBytes(u[1 : 1+n])
	y.FillBytes(u[1+n:])
	return c.ecdh().NewPublicKey(u)
}

// newPrivate builds an ECDH private key from its scalar (X25519: 32 bytes;
// NIST curves: the big-endian scalar).
func (c Curve) newPrivate(d []byte) (*ecdh.PrivateKey, error) {
	if c.ecdh() == nil {
		return nil, fmt.Errorf("%v is not supported", c)
	}
	return c.ecdh().NewPrivateKey(d)
}

// generate draws an ephemeral private key from rnd. The scalar is read
// from rnd directly (crypto/ecdh ignores a custom reader), so a
// deterministic reader gives a reproducible key.
func (c Curve) generate(rnd io.Reader) (*ecdh.PrivateKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	d := make([]byte, c.PublicLen())
	for range 100 {
		if _, err := io.ReadFull(rnd, d); err != nil {
			return nil, fmt.Errorf("ephemeral key: %w", err)
		}
		if k, err := c.newPrivate(d); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("ephemeral key: no valid scalar drawn")
}

// dh computes the shared secret; crypto/ecdh refuses the all-zero X25519
// result of a low-order point (RFC 9529 4, RFC 7748 6.1).
func dh(priv *ecdh.PrivateKey, pub *ecdh.PublicKey) ([]byte, error) {
	z, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("ECDH: %w", err)
	}
	return z, nil
}

// sigLen is the signature length of a COSE algorithm (EdDSA, or r || s of
// fixed width for ECDSA, RFC 9053 2.1).
func (a SigAlg) sigLen() int {
	switch a {
	case EdDSA, ES256:
		return 64
	case ES384:
		return 96
	}
	return 0
}

func (a SigAlg) curve() elliptic.Curve {
	switch a {
	case ES256:
		return elliptic.P256()
	case ES384:
		return elliptic.P384()
	}
	return nil
}

func (a SigAlg) digest(msg []byte) []byte {
	if a == ES384 {
		h := sha512.Sum384(msg)
		return h[:]
	}
	h := sha256.Sum256(msg)
	return h[:]
}

var errBadSignature = errors.New("signature does not verify")

// verify checks sig over msg with the credential's public key.
func (a SigAlg) verify(pub *PublicKey, msg, sig []byte) error {
	if len(sig) != a.sigLen() {
		return fmt.Errorf("%v signature of %d bytes, want %d", a, len(sig), a.sigLen())
	}
	switch a {
	case EdDSA:
		if pub.Kind != KeyEd25519 {
			return fmt.Errorf("credential holds a %v key, EdDSA needs Ed25519", pub.Kind)
		}
		if !ed25519.Verify(ed25519.PublicKey(pub.Raw), msg, sig) {
			return errBadSignature
		}
		return nil
	case ES256, ES384:
		want := KeyP256
		if a == ES384 {
			want = KeyP384
		}
		if pub.Kind != want {
			return fmt.Errorf("credential holds a %v key, %v needs %v", pub.Kind, a, want)
		}
		k, err := ecdsa.ParseUncompressedPublicKey(a.curve(), pub.Raw)
		if err != nil {
			return err
		}
		n := a.sigLen() / 2
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		if !ecdsa.Verify(k, a.digest(msg), r, s) {
			return errBadSignature
		}
		return nil
	}
	return fmt.Errorf("signature algorithm %v not supported", a)
}

// KeyKind is the type of a credential's public key.
type KeyKind int

// Key kinds a credential can hold.
const (
	KeyEd25519 KeyKind = iota + 1
	KeyX25519
	KeyP256 // also usable for static DH on P-256
	KeyP384
)

func (k KeyKind) String() string {
	switch k {
	case KeyEd25519:
		return "Ed25519"
	case KeyX25519:
		return "X25519"
	case KeyP256:
		return "P-256"
	case KeyP384:
		return "P-384"
	}
	return "unknown"
}

// PublicKey is the authentication key a credential carries: 32 bytes for
// the Edwards/Montgomery keys, 04 || x || y for the NIST curves.
type PublicKey struct {
	Kind KeyKind
	Raw  []byte
}

// dhKey returns the key as a static DH key on curve c (RFC 9528 3.2: G_R,
// G_I).
func (p *PublicKey) dhKey(c Curve) (*ecdh.PublicKey, error) {
	ok := (c == X25519 && p.Kind == KeyX25519) || (c == P256 && p.Kind == KeyP256) || (c == P384 && p.Kind == KeyP384)
	if !ok {
		return nil, fmt.Errorf("credential holds a %v key, static DH on %v needs a key on that curve", p.Kind, c)
	}
	return c.ecdh().NewPublicKey(p.Raw)
}
