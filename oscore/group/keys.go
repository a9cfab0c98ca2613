package group

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// PrivateKey is a member's signing key, also used for pairwise key
// agreement (RFC 10021 2.5: one key pair for both is allowed).
type PrivateKey struct {
	alg SigAlg
	ed  ed25519.PrivateKey
	ec  *ecdsa.PrivateKey
	dh  *ecdh.PrivateKey
}

// NewEd25519Key makes an Ed25519 key from its 32-byte seed (RFC 8032
// 5.1.5). Its X25519 scalar for pairwise mode is the first half of
// SHA-512(seed), which X25519 clamps (RFC 10021 2.5.2.1).
func NewEd25519Key(seed []byte) (*PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("group: Ed25519 seed of %d bytes, want 32", len(seed))
	}
	h := sha512.Sum512(seed)
	dh, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil {
		return nil, err
	}
	return &PrivateKey{alg: EdDSA, ed: ed25519.NewKeyFromSeed(seed), dh: dh}, nil
}

// NewP256Key makes a P-256 key from its 32-byte scalar d.
func NewP256Key(d []byte) (*PrivateKey, error) {
	ec, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("group: P-256 private key: %w", err)
	}
	dh, err := ecdh.P256().NewPrivateKey(d)
	if err != nil {
		return nil, fmt.Errorf("group: P-256 private key: %w", err)
	}
	return &PrivateKey{alg: ES256, ec: ec, dh: dh}, nil
}

// Alg is the signature algorithm the key makes signatures for.
func (k *PrivateKey) Alg() SigAlg { return k.alg }

// Public returns the public key: ed25519.PublicKey or *ecdsa.PublicKey.
func (k *PrivateKey) Public() any {
	if k.ed != nil {
		return k.ed.Public()
	}
	return &k.ec.PublicKey
}

// X25519Scalar returns the X25519 private key bytes of an Ed25519 key
// (before clamping), nil for P-256; for reports and tests.
func (k *PrivateKey) X25519Scalar() []byte {
	if k.ed == nil {
		return nil
	}
	return k.dh.Bytes()
}

// sign makes the countersignature over msg (RFC 10021 3.1; RFC 9338 3.3):
// Ed25519 over the bytes; ES256 over their SHA-256 with the deterministic
// nonce of RFC 6979, as r || s (RFC 9053 2.1). Both are reproducible.
func (k *PrivateKey) sign(msg []byte) ([]byte, error) {
	if k.ed != nil {
		return ed25519.Sign(k.ed, msg), nil
	}
	d := sha256.Sum256(msg)
	der, err := k.ec.Sign(nil, d[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return derToRS(der)
}

// sharedSecret is the static-static ECDH secret with peer (RFC 10021
// 2.5.1): X25519 for Ed25519 keys mapped to Montgomery form, P-256 as is.
// crypto/ecdh refuses low-order X25519 points (an all-zero secret).
func (k *PrivateKey) sharedSecret(peer *Credential) ([]byte, error) {
	pub, err := peer.ECDH()
	if err != nil {
		return nil, err
	}
	if pub.Curve() != k.dh.Curve() {
		return nil, fmt.Errorf("group: key agreement between %s and a %s credential", k.alg, peer.Curve())
	}
	return k.dh.ECDH(pub)
}

// derToRS turns an ASN.1 ECDSA signature into the fixed r || s form.
func derToRS(der []byte) ([]byte, error) {
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, errors.New("group: malformed ECDSA signature")
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

func verifyES256(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	d := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, d[:], r, s)
}
