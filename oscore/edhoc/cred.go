package edhoc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"oscore-lab/oscore/internal/cborenc"
)

// COSE header parameters that identify credentials (RFC 9528 3.5.3,
// RFC 9360, RFC 8392/9528 kccs).
const (
	hdrKid       = 4
	hdrKCCS      = 14
	hdrX5Chain   = 33
	hdrX5T       = 34
	algSHA256_64 = -15 // COSE hash algorithm of the x5t thumbprint RFC 9529 uses
)

// Credential is an authentication credential CRED_x with the ID_CRED_x
// that points at it (RFC 9528 3.5). Its bytes enter MACs, signatures and
// transcript hashes exactly as provisioned and are never re-encoded.
type Credential struct {
	cred   []byte // CRED_x, one CBOR item
	idCred []byte // ID_CRED_x, the full header map
	byVal  []byte // the ID_CRED_x that carries the credential by value
	pub    PublicKey
	der    []byte // X.509 only
}

// Bytes returns CRED_x.
func (c *Credential) Bytes() []byte { return bytes.Clone(c.cred) }

// IDCred returns ID_CRED_x as a full COSE header map.
func (c *Credential) IDCred() []byte { return bytes.Clone(c.idCred) }

// Public returns the authentication public key the credential holds.
func (c *Credential) Public() PublicKey { return PublicKey{c.pub.Kind, bytes.Clone(c.pub.Raw)} }

// ByValue returns the same credential sent by value instead of by
// reference: x5chain for a certificate (RFC 9360), kccs for a CCS
// (RFC 9528 3.5.3.1). A peer that answers error 3 (unknown credential)
// can be sent this instead.
func (c *Credential) ByValue() *Credential {
	v := *c
	v.idCred = c.byVal
	return &v
}

// NewCCS takes a CWT Claims Set holding a COSE_Key ({2: sub, 8: {1:
// COSE_Key}}, RFC 9528 3.5.2) as CRED_x, identified by the COSE_Key's kid
// ({4: kid}). The bytes must be deterministic CBOR.
func NewCCS(ccs []byte) (*Credential, error) {
	r := &reader{b: ccs}
	m, _, err := r.intMap()
	if err != nil {
		return nil, fmt.Errorf("edhoc: CCS: %w", err)
	}
	if !r.done() {
		return nil, errors.New("edhoc: CCS: bytes after the map")
	}
	cnf, ok := m[8]
	if !ok {
		return nil, errors.New("edhoc: CCS: no cnf claim (8)")
	}
	cm, _, err := (&reader{b: cnf}).intMap()
	if err != nil {
		return nil, fmt.Errorf("edhoc: CCS cnf: %w", err)
	}
	key, ok := cm[1]
	if !ok {
		return nil, errors.New("edhoc: CCS cnf: no COSE_Key (1)")
	}
	pub, kid, err := parseCOSEKey(key)
	if err != nil {
		return nil, fmt.Errorf("edhoc: CCS: %w", err)
	}
	c := &Credential{cred: bytes.Clone(ccs), pub: pub}
	c.byVal = append(cborenc.AppendInt([]byte{0xa1}, hdrKCCS), ccs...)
	if kid != nil {
		c.idCred = cborenc.AppendBstr(cborenc.AppendInt([]byte{0xa1}, hdrKid), kid)
	} else {
		c.idCred = c.byVal
	}
	return c, nil
}

// parseCOSEKey reads an OKP or EC2 COSE_Key (RFC 9053 7) and returns its
// public key and kid (nil if absent).
func parseCOSEKey(b []byte) (PublicKey, []byte, error) {
	m, _, err := (&reader{b: b}).intMap()
	if err != nil {
		return PublicKey{}, nil, fmt.Errorf("COSE_Key: %w", err)
	}
	field := func(label int64) ([]byte, error) {
		v, ok := m[label]
		if !ok {
			return nil, fmt.Errorf("COSE_Key: missing label %d", label)
		}
		return (&reader{b: v}).bstr()
	}
	num := func(label int64) (int64, error) {
		v, ok := m[label]
		if !ok {
			return 0, fmt.Errorf("COSE_Key: missing label %d", label)
		}
		return (&reader{b: v}).int()
	}
	var kid []byte
	if _, ok := m[2]; ok {
		if kid, err = field(2); err != nil {
			return PublicKey{}, nil, err
		}
	}
	kty, err := num(1)
	if err != nil {
		return PublicKey{}, nil, err
	}
	crv, err := num(-1)
	if err != nil {
		return PublicKey{}, nil, err
	}
	x, err := field(-2)
	if err != nil {
		return PublicKey{}, nil, err
	}
	switch {
	case kty == 1 && (crv == 4 || crv == 6): // OKP X25519 / Ed25519
		if len(x) != 32 {
			return PublicKey{}, nil, fmt.Errorf("COSE_Key: OKP x of %d bytes", len(x))
		}
		kind := KeyX25519
		if crv == 6 {
			kind = KeyEd25519
		}
		return PublicKey{kind, bytes.Clone(x)}, kid, nil
	case kty == 2 && (crv == 1 || crv == 2): // EC2 P-256 / P-384
		c, kind := P256, KeyP256
		if crv == 2 {
			c, kind = P384, KeyP384
		}
		var pk *ecdh.PublicKey
		if y, err := field(-3); err == nil {
			if len(x) != c.PublicLen() || len(y) != c.PublicLen() {
				return PublicKey{}, nil, errors.New("COSE_Key: EC2 coordinates of the wrong length")
			}
			pk, err = c.ecdh().NewPublicKey(cat([]byte{4}, x, y))
			if err != nil {
				return PublicKey{}, nil, fmt.Errorf("COSE_Key: %w", err)
			}
		} else if pk, err = c.parsePublic(x); err != nil {
			return PublicKey{}, nil, fmt.Errorf("COSE_Key: %w", err)
		}
		return PublicKey{kind, pk.Bytes()}, kid, nil
	}
	return PublicKey{}, nil, fmt.Errorf("COSE_Key: kty %d crv %d not supported", kty, crv)
}

// NewX509 takes a DER certificate as CRED_x = bstr(DER) (RFC 9528 3.5.2),
// identified by its x5t thumbprint {34: [-15, SHA-256/64(DER)]} (RFC 9360,
// as in RFC 9529 2); ByValue gives x5chain {33: bstr(DER)}.
func NewX509(der []byte) (*Credential, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("edhoc: certificate: %w", err)
	}
	var pub PublicKey
	switch k := cert.PublicKey.(type) {
	case ed25519.PublicKey:
		pub = PublicKey{KeyEd25519, bytes.Clone(k)}
	case *ecdsa.PublicKey:
		e, err := k.ECDH()
		if err != nil {
			return nil, fmt.Errorf("edhoc: certificate key: %w", err)
		}
		pub = PublicKey{KeyP256, e.Bytes()}
		if e.Curve() == ecdh.P384() {
			pub.Kind = KeyP384
		} else if e.Curve() != ecdh.P256() {
			return nil, errors.New("edhoc: certificate key on an unsupported curve")
		}
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.X25519() {
			return nil, errors.New("edhoc: certificate key on an unsupported curve")
		}
		pub = PublicKey{KeyX25519, k.Bytes()}
	default:
		return nil, fmt.Errorf("edhoc: certificate key of type %T not supported", k)
	}
	sum := sha256.Sum256(der)
	x5t := cborenc.AppendInt([]byte{0xa1}, hdrX5T)
	x5t = append(x5t, 0x82)
	x5t = cborenc.AppendInt(x5t, algSHA256_64)
	x5t = cborenc.AppendBstr(x5t, sum[:8])
	return &Credential{
		cred:   bstr(der),
		idCred: x5t,
		byVal:  cborenc.AppendBstr(cborenc.AppendInt([]byte{0xa1}, hdrX5Chain), der),
		pub:    pub,
		der:    bytes.Clone(der),
	}, nil
}

// IDCred is an ID_CRED_x as received: the full header map it stands for
// and whether it came in the compact kid form.
type IDCred struct {
	Map     []byte // full map, e.g. a1 04 41 32
	Kid     []byte // the kid, if the map is {4: kid}
	Compact bool
}

func (id IDCred) String() string { return diag(id.Map) }

// appendCompactIDCred appends ID_CRED_x as PLAINTEXT_2/3 carry it: a map
// holding only a kid is replaced by the kid in its identifier form
// (RFC 9528 3.5.3.2); any other map goes as it is.
func appendCompactIDCred(dst, idCred []byte) []byte {
	if kid, ok := kidOnly(idCred); ok {
		return AppendID(dst, kid)
	}
	return append(dst, idCred...)
}

// kidOnly returns the kid of a map that holds nothing else.
func kidOnly(m []byte) ([]byte, bool) {
	r := &reader{b: m}
	mm, keys, err := r.intMap()
	if err != nil || !r.done() || len(keys) != 1 || keys[0] != hdrKid {
		return nil, false
	}
	kid, err := (&reader{b: mm[hdrKid]}).bstr()
	return kid, err == nil
}

// idCred reads ID_CRED_x from a plaintext: a compact kid (integer or byte
// string) or a map, which must not be a kid-only map (RFC 9528 3.5.3.2:
// that one has to be sent compactly; RFC 9529 4).
func (r *reader) idCred() (IDCred, []byte, error) {
	start := r.off
	mt, err := r.peek()
	if err != nil {
		return IDCred{}, nil, err
	}
	switch mt {
	case mtUint, mtNegInt, mtBstr:
		kid, err := r.id()
		if err != nil {
			return IDCred{}, nil, fmt.Errorf("ID_CRED kid: %w", err)
		}
		return IDCred{Map: cborenc.AppendBstr(cborenc.AppendInt([]byte{0xa1}, hdrKid), kid), Kid: kid, Compact: true}, r.b[start:r.off], nil
	case mtMap:
		m, err := r.item()
		if err != nil {
			return IDCred{}, nil, fmt.Errorf("ID_CRED: %w", err)
		}
		if _, _, err := (&reader{b: m}).intMap(); err != nil {
			return IDCred{}, nil, fmt.Errorf("ID_CRED: %w", err)
		}
		if _, ok := kidOnly(m); ok {
			return IDCred{}, nil, errors.New("ID_CRED: a map holding only a kid must be sent as the compact kid (RFC 9528 3.5.3.2)")
		}
		return IDCred{Map: bytes.Clone(m)}, m, nil
	}
	return IDCred{}, nil, fmt.Errorf("ID_CRED: major type %d, want a map, an integer or a byte string", mt)
}

// ErrUnknownCredential is returned by a CredentialLookup for an ID_CRED
// it cannot resolve; the session answers with error 3 (RFC 9528 6.4).
var ErrUnknownCredential = errors.New("unknown credential referenced")

// CredentialLookup resolves a peer's ID_CRED_x to its credential. The
// application decides whom it trusts (RFC 9528 3.5).
type CredentialLookup func(id IDCred) (*Credential, error)

// Trust returns a lookup that knows creds, referenced (kid, x5t) or by
// value (kccs, x5chain).
func Trust(creds ...*Credential) CredentialLookup {
	return func(id IDCred) (*Credential, error) {
		for _, c := range creds {
			if bytes.Equal(id.Map, c.idCred) || bytes.Equal(id.Map, c.byVal) {
				return c, nil
			}
		}
		return nil, ErrUnknownCredential
	}
}
