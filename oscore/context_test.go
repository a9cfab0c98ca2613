package oscore

import (
	"bytes"
	"crypto/sha512"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	xhkdf "golang.org/x/crypto/hkdf"
)

func mustContext(t testing.TB, name string, p Params) *Context {
	t.Helper()
	c, err := NewContext(name, p)
	if err != nil {
		t.Fatalf("NewContext(%s): %v", name, err)
	}
	return c
}

// pair returns a client and a server context that share a Master Secret.
func pair(t testing.TB, alg AEADAlg, h HKDFAlg) (cli, srv *Context) {
	secret := []byte("0123456789abcdef")
	salt := []byte{0x9e, 0x7c, 0xa9, 0x22}
	cli = mustContext(t, "C-S", Params{MasterSecret: secret, MasterSalt: salt, SenderID: []byte{0x5f}, RecipientID: []byte{}, AEAD: alg, HKDF: h})
	srv = mustContext(t, "S-C", Params{MasterSecret: secret, MasterSalt: salt, SenderID: []byte{}, RecipientID: []byte{0x5f}, AEAD: alg, HKDF: h})
	return cli, srv
}

func TestNewContextValidation(t *testing.T) {
	good := func() Params {
		return Params{MasterSecret: []byte{1, 2, 3}, SenderID: []byte{1}, RecipientID: []byte{2}}
	}
	tests := []struct {
		name   string
		mod    func(*Params)
		substr string
	}{
		{"empty master secret", func(p *Params) { p.MasterSecret = nil }, "empty master secret"},
		{"equal IDs", func(p *Params) { p.RecipientID = []byte{1} }, "sender and recipient ID are equal"},
		{"both IDs empty", func(p *Params) { p.SenderID, p.RecipientID = []byte{}, nil }, "equal"},
		{"sender ID too long for CCM", func(p *Params) { p.SenderID = make([]byte, 8) }, "sender ID of 8 bytes is longer than 7"},
		{"recipient ID too long for GCM", func(p *Params) { p.AEAD = A128GCM; p.RecipientID = make([]byte, 7) }, "recipient ID of 7 bytes is longer than 6"},
		{"unknown AEAD", func(p *Params) { p.AEAD = 99 }, "unknown AEAD algorithm 99"},
		{"unknown HKDF", func(p *Params) { p.HKDF = -12 }, "unknown HKDF algorithm"},
		{"bad window", func(p *Params) { p.ReplayWindow = -1 }, "replay window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := good()
			tt.mod(&p)
			_, err := NewContext("x", p)
			if err == nil || !strings.Contains(err.Error(), tt.substr) || !strings.HasPrefix(err.Error(), "oscore: ") {
				t.Fatalf("err = %v, want containing %q", err, tt.substr)
			}
		})
	}
	// The longest allowed IDs work.
	p := good()
	p.SenderID = make([]byte, 7)
	if _, err := NewContext("x", p); err != nil {
		t.Fatalf("7-byte sender ID with CCM: %v", err)
	}
}

func TestContextDefaultsAndCopies(t *testing.T) {
	c := mustContext(t, "d", Params{MasterSecret: []byte{1}, SenderID: []byte{1}})
	p := c.Params()
	if p.AEAD != AESCCM16_64_128 || p.HKDF != HKDFSHA256 || p.ReplayWindow != 32 || p.RecipientID == nil {
		t.Fatalf("defaults: %+v", p)
	}
	k := c.SenderKey()
	k[0] ^= 0xff
	if bytes.Equal(k, c.SenderKey()) {
		t.Fatal("SenderKey returns internal storage")
	}
	// Absent and empty master salt derive the same keys (RFC 8613 3.2: default is empty).
	c2 := mustContext(t, "d2", Params{MasterSecret: []byte{1}, MasterSalt: []byte{}, SenderID: []byte{1}})
	if !bytes.Equal(c.SenderKey(), c2.SenderKey()) {
		t.Fatal("nil and empty master salt differ")
	}
}

// infoArray is the HKDF info of RFC 8613 3.2.1 for fxamacker/cbor.
type infoArray struct {
	_         struct{} `cbor:",toarray"`
	ID        []byte
	IDContext []byte
	Alg       int
	Type      string
	L         int
}

// TestCBORAgreesWithLibrary checks the hand-built info and AAD bytes
// against fxamacker/cbor for every algorithm and for ID/context shapes.
func TestCBORAgreesWithLibrary(t *testing.T) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	ids := [][]byte{{}, {0}, {1, 2, 3, 4, 5, 6, 7}}
	ctxs := [][]byte{nil, {}, {0x37, 0xcb}, bytes.Repeat([]byte{9}, 30)}
	for _, alg := range AEADAlgs() {
		for _, id := range ids {
			for _, ctx := range ctxs {
				want, err := em.Marshal(infoArray{ID: id, IDContext: ctx, Alg: int(alg), Type: "Key", L: alg.KeyLen()})
				if err != nil {
					t.Fatal(err)
				}
				if got := buildInfo(id, ctx, alg, "Key", alg.KeyLen()); !bytes.Equal(got, want) {
					t.Errorf("info %v %x %x: got %x want %x", alg, id, ctx, got, want)
				}
			}
			piv := []byte{0x14}
			arr, err := em.Marshal([]any{1, []any{int(alg)}, id, piv, []byte{}})
			if err != nil {
				t.Fatal(err)
			}
			ext, _ := em.Marshal(arr)
			want, _ := em.Marshal([]any{"Encrypt0", []byte{}, arr})
			r := aadReport(alg, id, piv)
			if !bytes.Equal(r.AADArray, arr) || !bytes.Equal(r.ExternalAAD, ext) || !bytes.Equal(r.AAD, want) {
				t.Errorf("aad %v %x: got %x / %x / %x want %x / %x / %x", alg, id, r.AADArray, r.ExternalAAD, r.AAD, arr, ext, want)
			}
		}
	}
}

// TestHKDFSHA512 checks derivation with HKDF-SHA-512 against the
// independent x/crypto/hkdf reader API.
func TestHKDFSHA512(t *testing.T) {
	secret, salt := []byte("secret-secret-16"), []byte("salt")
	c := mustContext(t, "512", Params{MasterSecret: secret, MasterSalt: salt, SenderID: []byte{1}, RecipientID: []byte{2}, HKDF: HKDFSHA512, AEAD: AESCCM16_64_256})
	for _, k := range []KeyDerivation{c.Derivation().SenderKey, c.Derivation().RecipientKey, c.Derivation().CommonIV} {
		want := make([]byte, k.L)
		if _, err := io.ReadFull(xhkdf.New(sha512.New, secret, salt, k.Info), want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Output, want) {
			t.Errorf("%s: got %x want %x", k.Label, k.Output, want)
		}
	}
	if c.Derivation().SenderKey.L != 32 || len(c.CommonIV()) != 13 {
		t.Fatalf("lengths: key %d iv %d", c.Derivation().SenderKey.L, len(c.CommonIV()))
	}
	// SHA-256 and SHA-512 must differ.
	c256 := mustContext(t, "256", Params{MasterSecret: secret, MasterSalt: salt, SenderID: []byte{1}, RecipientID: []byte{2}, AEAD: AESCCM16_64_256})
	if bytes.Equal(c.SenderKey(), c256.SenderKey()) {
		t.Fatal("SHA-512 and SHA-256 derive the same key")
	}
}

func TestInfoDiag(t *testing.T) {
	v := loadVectors(t)
	c := vectorContext(t, v, "C.3.1")
	d := c.Derivation()
	if got, want := d.SenderKey.InfoDiag, `[h'', h'37cbf3210017a2d3', 10, "Key", 16]`; got != want {
		t.Errorf("diag %s, want %s", got, want)
	}
	if got, want := d.CommonIV.InfoDiag, `[h'', h'37cbf3210017a2d3', 10, "IV", 13]`; got != want {
		t.Errorf("diag %s, want %s", got, want)
	}
	c1 := vectorContext(t, v, "C.1.2")
	if got, want := c1.Derivation().SenderKey.InfoDiag, `[h'01', null, 10, "Key", 16]`; got != want {
		t.Errorf("diag %s, want %s", got, want)
	}
}

func TestAlgorithmParsing(t *testing.T) {
	for _, a := range AEADAlgs() {
		for _, s := range []string{a.String(), strings.ToLower(a.String()), strconv.Itoa(int(a))} {
			got, err := ParseAEADAlg(s)
			if err != nil || got != a {
				t.Errorf("ParseAEADAlg(%q) = %v, %v", s, got, err)
			}
		}
		if a.NonceLen()-6 != a.MaxIDLen() || a.KeyLen() == 0 || a.TagLen() == 0 {
			t.Errorf("%v parameters", a)
		}
	}
	if _, err := ParseAEADAlg("12"); err == nil {
		t.Error("12 accepted")
	}
	if got, _ := ParseAEADAlg("ChaCha20-Poly1305"); got != ChaCha20Poly1305 {
		t.Error("ChaCha20-Poly1305 spelling")
	}
	for s, want := range map[string]HKDFAlg{"-10": HKDFSHA256, "SHA-256": HKDFSHA256, "HKDF-SHA-512": HKDFSHA512, "hkdf-sha512": HKDFSHA512, "-11": HKDFSHA512} {
		if got, err := ParseHKDFAlg(s); err != nil || got != want {
			t.Errorf("ParseHKDFAlg(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseHKDFAlg("SHA-1"); err == nil {
		t.Error("SHA-1 accepted")
	}
	if GCMNonce := A128GCM.NonceLen(); GCMNonce != 12 {
		t.Errorf("GCM nonce %d", GCMNonce)
	}
}
