package group

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// vectorSet is one set of testdata/group-oscore-vectors.json, a copy of
// the published and cross-checked Group OSCORE vectors.
type vectorSet map[string]any

var vectorFile struct {
	once sync.Once
	sets []map[string]any
	err  error
}

// loadSet returns one set of the vectors, read and parsed once.
func loadSet(t testing.TB, id string) vectorSet {
	t.Helper()
	vectorFile.once.Do(func() {
		raw, err := os.ReadFile("testdata/group-oscore-vectors.json")
		if err != nil {
			vectorFile.err = err
			return
		}
		var f struct {
			Sets []map[string]any `json:"sets"`
		}
		vectorFile.err = json.Unmarshal(raw, &f)
		vectorFile.sets = f.Sets
	})
	if vectorFile.err != nil {
		t.Fatal(vectorFile.err)
	}
	for _, s := range vectorFile.sets {
		if s["id"] == id {
			return s
		}
	}
	t.Fatalf("no vector set %q", id)
	return nil
}

// get returns the value at a dotted path ("derived.common_iv").
func (v vectorSet) get(t testing.TB, path string) any {
	t.Helper()
	var cur any = map[string]any(v)
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("vector %s: %s is not an object", path, k)
		}
		if cur, ok = m[k]; !ok {
			t.Fatalf("vector %s missing", path)
		}
	}
	return cur
}

// hex returns the bytes at path.
func (v vectorSet) hex(t testing.TB, path string) []byte {
	t.Helper()
	s, ok := v.get(t, path).(string)
	if !ok {
		t.Fatalf("vector %s is not a string", path)
	}
	return unhex(t, s)
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func equalHex(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// member builds the context of one member of the vectors' group: sender
// sid with seed and credential, and a Recipient Context for each peer.
func member(t testing.TB, v vectorSet, name string, sid, seed, cred []byte, peers map[string][]byte) *Context {
	t.Helper()
	var key *PrivateKey
	if seed != nil {
		var err error
		if key, err = NewEd25519Key(seed); err != nil {
			t.Fatal(err)
		}
	}
	c, err := NewContext(name, Params{
		MasterSecret: v.hex(t, "common_context.master_secret"),
		MasterSalt:   v.hex(t, "common_context.master_salt"),
		GroupID:      v.hex(t, "common_context.id_context"),
		AEAD:         oscore.AESCCM16_64_128, GroupEnc: oscore.AESCCM16_64_128,
		Sig: EdDSA, KeyAgreement: ECDHSSHKDF256, HKDF: HMAC256,
		GMCred:   v.hex(t, "common_context.gm_cred_ccs"),
		SenderID: sid, SenderCred: cred, SenderKey: key,
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, cr := range peers {
		if _, err := c.AddRecipient([]byte(id), cr); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// crossChecked returns the client (25) and server (52) of the set
// lab-crosschecked.
func crossChecked(t testing.TB) (v vectorSet, cli, srv *Context) {
	t.Helper()
	v = loadSet(t, "lab-crosschecked")
	cc, sc := v.hex(t, "common_context.client_cred_ccs"), v.hex(t, "common_context.server_cred_ccs")
	cli = member(t, v, "client", []byte{0x25}, v.hex(t, "common_context.client_ed25519_private_seed"), cc, map[string][]byte{"\x52": sc})
	srv = member(t, v, "server", []byte{0x52}, v.hex(t, "common_context.server_ed25519_private_seed"), sc, map[string][]byte{"\x25": cc})
	return v, cli, srv
}

func lookupOf(cs ...*Context) Lookup {
	return func(gid []byte) (*Context, error) {
		for _, c := range cs {
			if bytes.Equal(c.p.GroupID, gid) {
				return c, nil
			}
		}
		return nil, nil
	}
}

// getTemp is the vectors' request: GET Uri-Path "temp" (plaintext 01b474656d70).
func getTemp() message.Message {
	m := message.Message{Code: codes.GET, Token: message.Token{0x7b}, MessageID: 0x0101, Type: message.NonConfirmable}
	m.Options = m.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	return m
}

// content215 is the vectors' response: 2.05 "21.5" (plaintext 45ff32312e35).
func content215() message.Message {
	return message.Message{Code: codes.Content, Token: message.Token{0x7b}, MessageID: 0x0101, Type: message.NonConfirmable, Payload: []byte("21.5")}
}

func optionOf(t testing.TB, m message.Message) []byte {
	t.Helper()
	v, err := oscore.FindOSCORE(&m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
