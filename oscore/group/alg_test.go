package group

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"
	"testing"

	"oscore-lab/oscore"
)

// TestPrimitives: the Ed25519 to X25519 map, X25519 and P-256 shared
// secrets of the IETF 109 hackathon keys (RFC 10021 2.5.1, 2.5.2.1).
func TestPrimitives(t *testing.T) {
	p := loadSet(t, "primitives")
	ents := p.get(t, "ed25519_x25519").([]any)
	keys := make([]*PrivateKey, len(ents))
	creds := make([]*Credential, len(ents))
	for i, e := range ents {
		m := vectorSet(e.(map[string]any))
		k, err := NewEd25519Key(m.hex(t, "ed25519_seed"))
		if err != nil {
			t.Fatal(err)
		}
		equalHex(t, "Ed25519 public", k.Public().(ed25519.PublicKey), m.hex(t, "ed25519_public"))
		equalHex(t, "X25519 scalar", clamp(k.X25519Scalar()), m.hex(t, "x25519_scalar_clamped"))
		ccs, _ := MakeCCS("e", k.Public())
		if creds[i], err = ParseCCS(ccs); err != nil {
			t.Fatal(err)
		}
		u, _ := creds[i].ECDH()
		equalHex(t, "u", u.Bytes(), m.hex(t, "x25519_public_u"))
		keys[i] = k
	}
	for _, pair := range [][2]int{{0, 1}, {0, 2}} {
		s, err := keys[pair[0]].sharedSecret(creds[pair[1]])
		if err != nil {
			t.Fatal(err)
		}
		r, _ := keys[pair[1]].sharedSecret(creds[pair[0]])
		name := fmt.Sprintf("ed25519_x25519_shared.%d_%d", pair[0]+1, pair[1]+1)
		equalHex(t, name, s, p.hex(t, name))
		equalHex(t, name+" other side", r, s)
	}
	ecs := p.get(t, "p256").([]any)
	pk := make([]*PrivateKey, len(ecs))
	pc := make([]*Credential, len(ecs))
	for i, e := range ecs {
		m := vectorSet(e.(map[string]any))
		k, err := NewP256Key(m.hex(t, "d"))
		if err != nil {
			t.Fatal(err)
		}
		pub := k.Public().(*ecdsa.PublicKey)
		b, _ := pub.Bytes()
		equalHex(t, "P-256 x||y", b[1:], append(m.hex(t, "x"), m.hex(t, "y")...))
		ccs, _ := MakeCCS("e", pub)
		if pc[i], err = ParseCCS(ccs); err != nil {
			t.Fatal(err)
		}
		pk[i] = k
	}
	for _, pair := range [][2]int{{0, 1}, {0, 2}} {
		s, err := pk[pair[0]].sharedSecret(pc[pair[1]])
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("p256_shared.%d_%d", pair[0]+1, pair[1]+1)
		equalHex(t, name, s, p.hex(t, name))
	}
	if _, err := keys[0].sharedSecret(pc[1]); err == nil {
		t.Fatal("ECDH between X25519 and P-256 keys")
	}
}

// TestES256Deterministic: ES256 countersignatures use RFC 6979 nonces, so
// the same message protects to the same bytes, and verify.
func TestES256Deterministic(t *testing.T) {
	k, err := NewP256Key(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := k.sign([]byte("countersign me"))
	b, _ := k.sign([]byte("countersign me"))
	if !bytes.Equal(a, b) || len(a) != 64 {
		t.Fatalf("signatures differ or have %d bytes", len(a))
	}
	cred, _ := MakeCCS("p", k.Public())
	c, _ := ParseCCS(cred)
	if !c.verify(ES256, []byte("countersign me"), a) || c.verify(ES256, []byte("countersign mE"), a) || c.verify(EdDSA, []byte("countersign me"), a) {
		t.Fatal("ES256 verification")
	}
}

// suite is one algorithm profile of a test group.
type suite struct {
	name          string
	groupEnc, aed oscore.AEADAlg
	sig           SigAlg
	p256          bool
}

// newGroup makes a client 01 and a server 02 with fresh keys of the
// suite's curve.
func newGroup(t testing.TB, s suite) (cli, srv *Context) {
	t.Helper()
	mkKey := func(b byte) *PrivateKey {
		seed := bytes.Repeat([]byte{b}, 32)
		var k *PrivateKey
		var err error
		if s.p256 {
			k, err = NewP256Key(seed)
		} else {
			k, err = NewEd25519Key(seed)
		}
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	kc, ks := mkKey(1), mkKey(2)
	cc, _ := MakeCCS("client", kc.Public())
	sc, _ := MakeCCS("server", ks.Public())
	p := Params{MasterSecret: []byte("group master secret"), MasterSalt: []byte{1, 2}, GroupID: []byte{0xfe, 0xed},
		GroupEnc: s.groupEnc, Sig: s.sig, AEAD: s.aed, GMCred: []byte{0xa0}}
	if s.aed != 0 {
		p.KeyAgreement = ECDHSSHKDF256
	}
	mk := func(name string, sid []byte, k *PrivateKey, own []byte, peer []byte, peerID []byte) *Context {
		q := p
		q.SenderID, q.SenderKey, q.SenderCred = sid, k, own
		c, err := NewContext(name, q)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AddRecipient(peerID, peer); err != nil {
			t.Fatal(err)
		}
		return c
	}
	return mk("client", []byte{1}, kc, cc, sc, []byte{2}), mk("server", []byte{2}, ks, sc, cc, []byte{1})
}

// TestSuites runs both modes under every supported profile: ES256 with
// P-256 ECDH, ChaCha20/Poly1305 and A128GCM (12-byte nonces beside CCM's
// 13: the Common IV is the longer, each algorithm uses its prefix, IDs fit
// the shorter, RFC 10021 2.1.4, 2.2, 3.3).
func TestSuites(t *testing.T) {
	for _, s := range []suite{
		{"Ed25519 CCM/CCM", oscore.AESCCM16_64_128, oscore.AESCCM16_64_128, EdDSA, false},
		{"ES256 P-256 CCM/CCM", oscore.AESCCM16_64_128, oscore.AESCCM16_64_128, ES256, true},
		{"Ed25519 ChaCha20/CCM", oscore.ChaCha20Poly1305, oscore.AESCCM16_64_128, EdDSA, false},
		{"ES256 CCM/A128GCM", oscore.AESCCM16_128_128, oscore.A128GCM, ES256, true},
		{"Ed25519 A128GCM, group mode only", oscore.A128GCM, 0, EdDSA, false},
		{"pairwise mode only, A128GCM", 0, oscore.A128GCM, 0, false},
	} {
		t.Run(s.name, func(t *testing.T) {
			cli, srv := newGroup(t, s)
			want := max(s.groupEnc.NonceLen(), s.aed.NonceLen())
			if len(cli.CommonIV()) != want {
				t.Fatalf("Common IV of %d bytes, want %d", len(cli.CommonIV()), want)
			}
			var modes []Mode
			if s.groupEnc != 0 {
				modes = append(modes, GroupMode)
			}
			if s.aed != 0 {
				modes = append(modes, PairwiseMode)
			}
			for _, mode := range modes {
				req, cx, rep, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: mode, To: []byte{2}})
				if err != nil {
					t.Fatal(err)
				}
				g := rep.Complete().Group
				if alg := map[Mode]oscore.AEADAlg{GroupMode: s.groupEnc, PairwiseMode: s.aed}[mode]; len(g.Nonce.Nonce) != alg.NonceLen() || g.Algorithm != alg.String() {
					t.Fatalf("%v: nonce of %d bytes with %s", mode, len(g.Nonce.Nonce), g.Algorithm)
				}
				again, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: mode, To: []byte{2}})
				if bytes.Equal(again.Payload, req.Payload) {
					t.Fatal("two requests with one nonce")
				}
				got, sx, _, err := UnprotectRequest(req, lookupOf(srv))
				if err != nil || string(got.Options[0].Value) != "temp" {
					t.Fatalf("%v request: %v", mode, err)
				}
				for _, rmode := range modes {
					resp, _, err := ProtectResponse(sx, content215(), ProtectOptions{Mode: rmode})
					if err != nil {
						t.Fatal(err)
					}
					back, _, err := UnprotectResponse(cx, resp)
					if (err == nil) != (mode == GroupMode || rmode == modes[0]) {
						// a pairwise request takes one response; a group-mode one several
						t.Fatalf("%v request, %v response: %v", mode, rmode, err)
					}
					if err == nil && string(back.Payload) != "21.5" {
						t.Fatalf("payload %q", back.Payload)
					}
				}
			}
		})
	}
}

// TestContextChecks: parameters RFC 10021 refuses.
func TestContextChecks(t *testing.T) {
	k, _ := NewEd25519Key(bytes.Repeat([]byte{1}, 32))
	cred, _ := MakeCCS("c", k.Public())
	pk, _ := NewP256Key(bytes.Repeat([]byte{1}, 32))
	pcred, _ := MakeCCS("c", pk.Public())
	ok := Params{MasterSecret: []byte{1}, GroupID: []byte{1}, GroupEnc: oscore.AESCCM16_64_128, Sig: EdDSA,
		AEAD: oscore.A128GCM, KeyAgreement: ECDHSSHKDF256, SenderID: []byte{1}, SenderKey: k, SenderCred: cred}
	if _, err := NewContext("ok", ok); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(p *Params){
		"Sender ID longer than the shorter nonce allows": func(p *Params) { p.SenderID = make([]byte, 7) },
		"HKDF-512 with ECDH-SS + HKDF-256":               func(p *Params) { p.HKDF = HMAC512 },
		"Group Encryption without Signature":             func(p *Params) { p.Sig = 0 },
		"AEAD without Key Agreement":                     func(p *Params) { p.KeyAgreement = 0 },
		"no mode at all":                                 func(p *Params) { p.GroupEnc, p.Sig, p.AEAD, p.KeyAgreement = 0, 0, 0, 0 },
		"credential of another key":                      func(p *Params) { p.SenderCred = pcred },
		"Ed25519 key for ES256":                          func(p *Params) { p.Sig = ES256 },
		"no Gid":                                         func(p *Params) { p.GroupID = nil },
		"unknown Group Encryption Algorithm":             func(p *Params) { p.GroupEnc = -65534 },
	} {
		p := ok
		change(&p)
		if _, err := NewContext(name, p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := ok
	p.SenderID = make([]byte, 6)
	if _, err := NewContext("six", p); err != nil {
		t.Fatalf("6-byte Sender ID with a 12-byte nonce: %v", err)
	}
}
