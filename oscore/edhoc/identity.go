package edhoc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
)

// Identity is one side's credential with its private authentication key,
// parsed once and checked against the credential's public key. The key
// serves the method's use of it: signing (EdDSA, ES256, ES384) or static
// DH on the suite's curve; a P-256 or P-384 key does both.
type Identity struct {
	Credential *Credential
	ed         ed25519.PrivateKey
	ec         *ecdsa.PrivateKey
	dh         *ecdh.PrivateKey
}

// NewIdentity pairs cred with priv: an Ed25519 seed, an X25519 scalar, or
// a big-endian P-256/P-384 scalar, according to the credential's key.
func NewIdentity(cred *Credential, priv []byte) (*Identity, error) {
	if cred == nil {
		return nil, errors.New("edhoc: identity without a credential")
	}
	id := &Identity{Credential: cred}
	var pub []byte
	switch cred.pub.Kind {
	case KeyEd25519:
		if len(priv) != ed25519.SeedSize {
			return nil, fmt.Errorf("edhoc: Ed25519 private key of %d bytes, want a %d-byte seed", len(priv), ed25519.SeedSize)
		}
		id.ed = ed25519.NewKeyFromSeed(priv)
		pub = id.ed.Public().(ed25519.PublicKey)
	case KeyX25519:
		k, err := X25519.newPrivate(priv)
		if err != nil {
			return nil, fmt.Errorf("edhoc: X25519 private key: %w", err)
		}
		id.dh, pub = k, k.PublicKey().Bytes()
	case KeyP256, KeyP384:
		c := P256
		if cred.pub.Kind == KeyP384 {
			c = P384
		}
		k, err := ecdsa.ParseRawPrivateKey(c.elliptic(), priv)
		if err != nil {
			return nil, fmt.Errorf("edhoc: %v private key: %w", c, err)
		}
		if id.dh, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("edhoc: %v private key: %w", c, err)
		}
		id.ec, pub = k, id.dh.PublicKey().Bytes()
	default:
		return nil, fmt.Errorf("edhoc: credential key %v not supported", cred.pub.Kind)
	}
	if !bytes.Equal(pub, cred.pub.Raw) {
		return nil, errors.New("edhoc: the private key does not match the credential's public key")
	}
	return id, nil
}

// sign signs msg (RFC 9528 5.3.2: the Sig_structure) with alg; ECDSA
// signatures are r || s of fixed width (RFC 9053 2.1) and randomised,
// EdDSA ones are deterministic.
func (id *Identity) sign(alg SigAlg, msg []byte) ([]byte, error) {
	switch {
	case alg == EdDSA && id.ed != nil:
		return ed25519.Sign(id.ed, msg), nil
	case (alg == ES256 && id.Credential.pub.Kind == KeyP256) || (alg == ES384 && id.Credential.pub.Kind == KeyP384):
		r, s, err := ecdsa.Sign(rand.Reader, id.ec, alg.digest(msg))
		if err != nil {
			return nil, err
		}
		n := alg.sigLen() / 2
		out := make([]byte, 2*n)
		r.FillBytes(out[:n])
		s.FillBytes(out[n:])
		return out, nil
	}
	return nil, fmt.Errorf("a %v key cannot sign with %v", id.Credential.pub.Kind, alg)
}

// staticDH returns the key for static DH on curve c (RFC 9528 3.2).
func (id *Identity) staticDH(c Curve) (*ecdh.PrivateKey, error) {
	if id.dh == nil || id.dh.Curve() != c.ecdh() {
		return nil, fmt.Errorf("a %v key cannot do static DH on %v", id.Credential.pub.Kind, c)
	}
	return id.dh, nil
}

// Fits reports whether the identity's key serves under suite s: for
// signing (the method has this side sign) with the suite's signature
// algorithm, else for static DH on the suite's ECDH curve.
func (id *Identity) Fits(s Suite, signs bool) error {
	if !signs {
		_, err := id.staticDH(s.Curve())
		return err
	}
	k := id.Credential.pub.Kind
	if (s.Sig() == EdDSA && k == KeyEd25519) || (s.Sig() == ES256 && k == KeyP256) || (s.Sig() == ES384 && k == KeyP384) {
		return nil
	}
	return fmt.Errorf("a %v key cannot sign with %v", k, s.Sig())
}
