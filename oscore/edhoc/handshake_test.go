package edhoc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"oscore-lab/oscore/internal/cborenc"
)

// ccsKey builds a CCS holding an OKP or EC2 COSE_Key with the given kid
// (RFC 9528 3.5.2), keys in deterministic order.
func ccsKey(t testing.TB, kind KeyKind, kid []byte) *Identity {
	t.Helper()
	var priv, x, y []byte
	kty, crv := int64(1), int64(0)
	switch kind {
	case KeyEd25519:
		pub, sk, _ := ed25519.GenerateKey(rand.Reader)
		priv, x, crv = sk.Seed(), pub, 6
	case KeyX25519:
		k, _ := ecdh.X25519().GenerateKey(rand.Reader)
		priv, x, crv = k.Bytes(), k.PublicKey().Bytes(), 4
	case KeyP256, KeyP384:
		c, n := ecdh.P256(), 32
		kty, crv = 2, 1
		if kind == KeyP384 {
			c, n, crv = ecdh.P384(), 48, 2
		}
		k, _ := c.GenerateKey(rand.Reader)
		pub := k.PublicKey().Bytes()
		priv, x, y = k.Bytes(), pub[1:1+n], pub[1+n:]
	}
	key := cborenc.AppendHead(nil, mtMap, map[bool]uint64{true: 5, false: 4}[y != nil])
	key = cborenc.AppendInt(cborenc.AppendInt(key, 1), kty)
	key = cborenc.AppendBstr(cborenc.AppendInt(key, 2), kid)
	key = cborenc.AppendInt(cborenc.AppendInt(key, -1), crv)
	key = cborenc.AppendBstr(cborenc.AppendInt(key, -2), x)
	if y != nil {
		key = cborenc.AppendBstr(cborenc.AppendInt(key, -3), y)
	}
	ccs := cborenc.AppendTstr([]byte{0xa2, 0x02}, "lab")
	ccs = append(append(ccs, 0x08, 0xa1, 0x01), key...)
	c, err := NewCCS(ccs)
	return mustIdentity(t, c, err, priv)
}

// keyKind is the key a side needs under a method and suite.
func keyKind(s Suite, signs bool) KeyKind {
	if signs {
		return map[SigAlg]KeyKind{EdDSA: KeyEd25519, ES256: KeyP256, ES384: KeyP384}[s.Sig()]
	}
	return map[Curve]KeyKind{X25519: KeyX25519, P256: KeyP256, P384: KeyP384}[s.Curve()]
}

// handshake runs a complete session, message_4 included.
func handshake(t testing.TB, ci, cr Config) (*Initiator, *Responder) {
	t.Helper()
	ini, err := NewInitiator(ci)
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewResponder(cr)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := ini.WriteMessage1()
	if err != nil {
		t.Fatal(err)
	}
	if err := res.ReadMessage1(m1); err != nil {
		t.Fatal(err)
	}
	m2, err := res.WriteMessage2()
	if err != nil {
		t.Fatal(err)
	}
	if err := ini.ReadMessage2(m2); err != nil {
		t.Fatal(err)
	}
	m3, err := ini.WriteMessage3()
	if err != nil {
		t.Fatal(err)
	}
	if err := res.ReadMessage3(m3); err != nil {
		t.Fatal(err)
	}
	m4, err := res.WriteMessage4()
	if err != nil {
		t.Fatal(err)
	}
	if err := ini.ReadMessage4(m4); err != nil {
		t.Fatal(err)
	}
	return ini, res
}

func pairConfigs(t testing.TB, s Suite, m Method) (Config, Config) {
	idI := ccsKey(t, keyKind(s, m.InitiatorSigns()), []byte{0x2b})
	idR := ccsKey(t, keyKind(s, m.ResponderSigns()), []byte{0x32, 0x10})
	ci := Config{Method: m, Suites: []Suite{s}, ConnID: []byte{0x37}, Identity: idI, PeerCredentials: Trust(idR.Credential)}
	cr := Config{Suites: []Suite{s}, ConnID: []byte{0x18}, Identity: idR, PeerCredentials: Trust(idI.Credential)}
	return ci, cr
}

// checkAgree checks that both sides hold the same PRK_out and matching
// OSCORE contexts (RFC 9528 A.1).
func checkAgree(t *testing.T, ini *Initiator, res *Responder) {
	t.Helper()
	if !bytes.Equal(ini.PRKOut(), res.PRKOut()) || len(ini.PRKOut()) != ini.Suite().HashLen() {
		t.Fatalf("PRK_out differs: %x %x", ini.PRKOut(), res.PRKOut())
	}
	if ini.Suite() == Suite24 {
		a, _ := ini.Exporter(5, []byte("x"), 20)
		b, _ := res.Exporter(5, []byte("x"), 20)
		if !bytes.Equal(a, b) {
			t.Fatal("exporters differ")
		}
		return
	}
	ctxI, err := ini.OSCORE("I")
	if err != nil {
		t.Fatal(err)
	}
	ctxR, err := res.OSCORE("R")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ctxI.SenderKey(), ctxR.RecipientKey()) || !bytes.Equal(ctxR.SenderKey(), ctxI.RecipientKey()) ||
		!bytes.Equal(ctxI.CommonIV(), ctxR.CommonIV()) || !bytes.Equal(ctxI.SenderID(), ctxR.RecipientID()) {
		t.Fatal("OSCORE contexts do not match")
	}
	if ctxI.AEAD() != ini.Suite().AppAEAD() {
		t.Fatalf("OSCORE AEAD %v, want %v", ctxI.AEAD(), ini.Suite().AppAEAD())
	}
}

// TestHandshakeAllMethodsSuites runs every method with every supported
// suite, credentials as CCS referenced by kid.
func TestHandshakeAllMethodsSuites(t *testing.T) {
	for _, s := range SupportedSuites() {
		for m := Method(0); m <= 3; m++ {
			t.Run(s.String()+"/"+m.String(), func(t *testing.T) {
				ci, cr := pairConfigs(t, s, m)
				ini, res := handshake(t, ci, cr)
				checkAgree(t, ini, res)
			})
		}
	}
}

// selfSigned makes a certificate for a signature key.
func selfSigned(t testing.TB, kind KeyKind) *Identity {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lab"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0)}
	var der, priv []byte
	var err error
	if kind == KeyEd25519 {
		pub, sk, _ := ed25519.GenerateKey(rand.Reader)
		der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, sk)
		priv = sk.Seed()
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		priv, _ = k.Bytes()
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewX509(der)
	return mustIdentity(t, c, err, priv)
}

// TestHandshakeX509 authenticates with certificates by x5t and by value
// (x5chain), for suites 0 and 2.
func TestHandshakeX509(t *testing.T) {
	for _, s := range []Suite{Suite0, Suite2} {
		for _, byValue := range []bool{false, true} {
			idI, idR := selfSigned(t, keyKind(s, true)), selfSigned(t, keyKind(s, true))
			send := func(id *Identity) *Identity {
				if byValue {
					v := *id
					v.Credential = id.Credential.ByValue()
					return &v
				}
				return id
			}
			ci := Config{Method: MethodSigSig, Suites: []Suite{s}, ConnID: []byte{1}, Identity: send(idI), PeerCredentials: Trust(idR.Credential)}
			cr := Config{Suites: []Suite{s}, ConnID: []byte{2}, Identity: send(idR), PeerCredentials: Trust(idI.Credential)}
			ini, res := handshake(t, ci, cr)
			checkAgree(t, ini, res)
			wantKey := byte(hdrX5T)
			if byValue {
				wantKey = hdrX5Chain
			}
			if m := res.PeerIDCred().Map; m[1] != 0x18 || m[2] != wantKey {
				t.Errorf("suite %d byValue %v: ID_CRED_I %x", s, byValue, m)
			}
		}
	}
}

func errCode(t *testing.T, err error, code int64) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("got %v, want error %d", err, code)
	}
	return e
}

// TestHandshakeFailures covers the refusals of RFC 9528 5 and 6: unknown
// credentials (error 3), tampered messages, critical EAD, negotiation.
func TestHandshakeFailures(t *testing.T) {
	t.Run("unknown initiator credential", func(t *testing.T) {
		ci, cr := pairConfigs(t, Suite2, MethodDHDH)
		cr.PeerCredentials = Trust()
		ini, _ := NewInitiator(ci)
		res, _ := NewResponder(cr)
		m1, _ := ini.WriteMessage1()
		if err := res.ReadMessage1(m1); err != nil {
			t.Fatal(err)
		}
		m2, _ := res.WriteMessage2()
		if err := ini.ReadMessage2(m2); err != nil {
			t.Fatal(err)
		}
		m3, _ := ini.WriteMessage3()
		e := errCode(t, res.ReadMessage3(m3), ErrCodeUnknownCredential)
		if !bytes.Equal(e.Message(), []byte{0x03, 0xf5}) {
			t.Fatalf("error message %x", e.Message())
		}
		if _, err := res.WriteMessage4(); err == nil {
			t.Fatal("aborted session wrote message_4")
		}
	})
	t.Run("wrong responder key behind a known kid", func(t *testing.T) {
		for _, m := range []Method{MethodSigSig, MethodDHDH} {
			ci, cr := pairConfigs(t, Suite0, m)
			impostor := ccsKey(t, keyKind(Suite0, m.ResponderSigns()), []byte{0x32, 0x10})
			// the impostor presents the real credential's kid with its own key
			cr.Identity = &Identity{Credential: cr.Identity.Credential, ed: impostor.ed, dh: impostor.dh}
			ini, _ := NewInitiator(ci)
			res, _ := NewResponder(cr)
			m1, _ := ini.WriteMessage1()
			res.ReadMessage1(m1)
			m2, err := res.WriteMessage2()
			if err != nil {
				t.Fatal(err)
			}
			errCode(t, ini.ReadMessage2(m2), ErrCodeUnspecified)
		}
	})
	t.Run("tampered messages", func(t *testing.T) {
		for _, at := range []int{2, 3, 4} {
			ci, cr := pairConfigs(t, Suite2, MethodDHDH)
			ini, _ := NewInitiator(ci)
			res, _ := NewResponder(cr)
			m1, _ := ini.WriteMessage1()
			res.ReadMessage1(m1)
			m2, _ := res.WriteMessage2()
			if at == 2 {
				m2[len(m2)-1] ^= 1
				errCode(t, ini.ReadMessage2(m2), ErrCodeUnspecified)
				continue
			}
			ini.ReadMessage2(m2)
			m3, _ := ini.WriteMessage3()
			if at == 3 {
				m3[3] ^= 0x80
				errCode(t, res.ReadMessage3(m3), ErrCodeUnspecified)
				continue
			}
			res.ReadMessage3(m3)
			m4, _ := res.WriteMessage4()
			m4[1] ^= 1
			errCode(t, ini.ReadMessage4(m4), ErrCodeUnspecified)
		}
	})
	t.Run("critical EAD", func(t *testing.T) {
		ci, cr := pairConfigs(t, Suite0, MethodSigSig)
		ead := EADItem{Label: -7, Value: []byte{1, 2}, HasValue: true}
		ini, _ := NewInitiator(ci)
		res, _ := NewResponder(cr)
		m1, _ := ini.WriteMessage1(ead)
		e := errCode(t, res.ReadMessage1(m1), ErrCodeUnspecified)
		if !strings.Contains(e.Error(), "label -7") {
			t.Fatal(e)
		}
		cr.UnderstoodEAD = func(l int64) bool { return l == -7 }
		res, _ = NewResponder(cr)
		if err := res.ReadMessage1(m1); err != nil {
			t.Fatal(err)
		}
		if got := res.PeerEAD(1); len(got) != 1 || got[0].Label != -7 || !bytes.Equal(got[0].Value, []byte{1, 2}) {
			t.Fatalf("EAD_1 %v", got)
		}
		// padding and non-critical items pass; EAD_2 enters MAC_2
		m2, err := res.WriteMessage2(EADItem{Label: 0}, EADItem{Label: 9, Value: []byte("x"), HasValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := ini.ReadMessage2(m2); err != nil {
			t.Fatal(err)
		}
		if got := ini.PeerEAD(2); len(got) != 2 || got[1].Label != 9 {
			t.Fatalf("EAD_2 %v", got)
		}
	})
	t.Run("negotiation", func(t *testing.T) {
		ci, cr := pairConfigs(t, Suite2, MethodDHDH)
		ci.Suites = []Suite{Suite0, Suite2}
		ini, _ := NewInitiator(ci)
		res, _ := NewResponder(cr)
		m1, _ := ini.WriteMessage1()
		e := errCode(t, res.ReadMessage1(m1), ErrCodeWrongSuite)
		var pe *PeerError
		if err := ini.ReadMessage2(e.Message()); !errors.As(err, &pe) {
			t.Fatal(err)
		}
		if err := ini.Retry(); err != nil {
			t.Fatal(err)
		}
		m1b, err := ini.WriteMessage1()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := ParseMessage1(m1b)
		if len(p.SuitesI) != 2 || p.SuitesI[0] != Suite0 || p.Selected() != Suite2 || bytes.Equal(p.GX, mustParse(t, m1).GX) {
			t.Fatalf("retry message_1 %v", p)
		}
		// a Responder that supports a suite the Initiator prefers refuses
		cr.Suites = []Suite{Suite2, Suite0}
		res, _ = NewResponder(cr)
		errCode(t, res.ReadMessage1(m1b), ErrCodeWrongSuite)
	})
	t.Run("method and identifiers", func(t *testing.T) {
		ci, cr := pairConfigs(t, Suite0, MethodDHDH)
		cr.Methods = []Method{MethodSigSig}
		ini, _ := NewInitiator(ci)
		res, _ := NewResponder(cr)
		m1, _ := ini.WriteMessage1()
		errCode(t, res.ReadMessage1(m1), ErrCodeUnspecified)
		cr.Methods, cr.ConnID = nil, ci.ConnID
		res, _ = NewResponder(cr)
		errCode(t, res.ReadMessage1(m1), ErrCodeUnspecified)
	})
	t.Run("out of order", func(t *testing.T) {
		ci, cr := pairConfigs(t, Suite0, MethodDHDH)
		ini, _ := NewInitiator(ci)
		res, _ := NewResponder(cr)
		if _, err := ini.WriteMessage3(); err == nil {
			t.Fatal("message_3 before message_2")
		}
		if _, err := res.WriteMessage2(); err == nil {
			t.Fatal("message_2 before message_1")
		}
		if _, err := ini.Exporter(0, nil, 16); err == nil {
			t.Fatal("exporter before completion")
		}
	})
}

func mustParse(t *testing.T, m1 []byte) *Message1 {
	p, err := ParseMessage1(m1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mustIdentity pairs a freshly built credential with its private key.
func mustIdentity(t testing.TB, c *Credential, err error, priv []byte) *Identity {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewIdentity(c, priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIdentityChecksKey refuses a private key that is not the
// credential's.
func TestIdentityChecksKey(t *testing.T) {
	for _, k := range []KeyKind{KeyEd25519, KeyX25519, KeyP256, KeyP384} {
		a, b := ccsKey(t, k, []byte{1}), ccsKey(t, k, []byte{2})
		priv := map[KeyKind][]byte{}
		switch k {
		case KeyEd25519:
			priv[k] = b.ed.Seed()
		case KeyX25519:
			priv[k] = b.dh.Bytes()
		default:
			priv[k], _ = b.ec.Bytes()
		}
		if _, err := NewIdentity(a.Credential, priv[k]); err == nil {
			t.Errorf("%v: another key accepted for the credential", k)
		}
		if _, err := NewIdentity(b.Credential, priv[k]); err != nil {
			t.Errorf("%v: own key refused: %v", k, err)
		}
		fits := map[KeyKind][2]bool{KeyEd25519: {true, false}, KeyX25519: {false, true}, KeyP256: {false, false}, KeyP384: {false, false}}[k]
		if got := [2]bool{b.Fits(Suite0, true) == nil, b.Fits(Suite0, false) == nil}; got != fits {
			t.Errorf("%v: fits suite 0 (sign, DH) = %v, want %v", k, got, fits)
		}
		if k == KeyP256 && (b.Fits(Suite2, true) != nil || b.Fits(Suite2, false) != nil) {
			t.Error("a P-256 key does not fit suite 2")
		}
	}
}
