package group

import (
	"bytes"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"oscore-lab/oscore"
)

// coGroup returns a client (no Sender Context) and the server 52 of the
// draft-ietf-core-cacheable-oscore test vectors.
func coGroup(t testing.TB) (v vectorSet, cli, srv *Context) {
	t.Helper()
	v = loadSet(t, "cacheable-oscore-appendix")
	sc := v.hex(t, "common_context.server_cred_ccs")
	det := v.hex(t, "common_context.deterministic_client_sender_id")
	mk := func(name string, sid, seed, cred []byte, peers map[string][]byte) *Context {
		var key *PrivateKey
		if seed != nil {
			key, _ = NewEd25519Key(seed)
		}
		c, err := NewContext(name, Params{
			MasterSecret: v.hex(t, "common_context.master_secret"), MasterSalt: v.hex(t, "common_context.master_salt"),
			GroupID: v.hex(t, "common_context.id_context"), AEAD: oscore.AESCCM16_64_128, GroupEnc: oscore.AESCCM16_64_128,
			Sig: EdDSA, KeyAgreement: ECDHSSHKDF256, GMCred: v.hex(t, "common_context.gm_cred_ccs"),
			SenderID: sid, SenderCred: cred, SenderKey: key, DetSenderID: det,
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
	cli = mk("client", nil, nil, nil, map[string][]byte{"\x52": sc})
	srv = mk("server", []byte{0x52}, v.hex(t, "common_context.server_ed25519_private_seed"), sc, nil)
	return v, cli, srv
}

func decode(t testing.TB, b []byte) message.Message {
	t.Helper()
	m, err := oscore.DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t testing.TB, m message.Message) []byte {
	t.Helper()
	b, err := oscore.EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCacheableOSCOREVectors reproduces the deterministic request and its
// group-mode response of draft-ietf-core-cacheable-oscore's test vectors,
// whole datagrams included, and every printed intermediate value.
func TestCacheableOSCOREVectors(t *testing.T) {
	v, cli, srv := coGroup(t)
	equalHex(t, "common IV", cli.CommonIV(), v.hex(t, "derived.common_iv"))
	equalHex(t, "Signature Encryption Key", cli.SignatureEncryptionKey(), v.hex(t, "derived.signature_encryption_key"))
	equalHex(t, "Deterministic Client Sender Key", cli.detKey.Output, v.hex(t, "derived.deterministic_client_sender_key"))
	equalHex(t, "its info", cli.detKey.Info, v.hex(t, "derived.info_deterministic_client_sender_key"))
	equalHex(t, "server Sender Key", srv.SenderKey(), v.hex(t, "derived.server_sender_key"))
	equalHex(t, "Common IV info", cli.deriv.CommonIV.Info, v.hex(t, "derived.info_common_iv"))
	equalHex(t, "SEKey info", cli.deriv.SEKey.Info, v.hex(t, "derived.info_signature_encryption_key"))

	plain := decode(t, v.hex(t, "request.unprotected_message"))
	req, cx, rep, err := ProtectDeterministicRequest(cli, plain, []byte{0x52}, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, "deterministic request datagram", encode(t, req), v.hex(t, "request.protected_message"))
	g := rep.Complete().Group
	equalHex(t, "request aad_array", g.AADArray, v.hex(t, "request.aad_array"))
	equalHex(t, "request aad", g.AAD, v.hex(t, "request.aad"))
	equalHex(t, "request nonce", g.Nonce.Nonce, v.hex(t, "request.nonce"))
	equalHex(t, "request key", g.Key.Key, v.hex(t, "request.encryption_key"))
	equalHex(t, "request key info", g.Key.Info, v.hex(t, "request.info_deterministic_key"))
	equalHex(t, "request hash", cx.det.hash, v.hex(t, "request.request_hash"))
	equalHex(t, "request plaintext", rep.Plaintext, v.hex(t, "request.plaintext"))

	got, sx, _, err := UnprotectRequest(decode(t, encode(t, req)), lookupOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := optionValue(got.Options, OptRequestHash); !bytes.Equal(h, cx.det.hash) || got.Code != plain.Code {
		t.Fatalf("server's request %s", oscore.FormatMessage(got))
	}

	resp, rrep, err := ProtectResponse(sx, decode(t, v.hex(t, "response.unprotected_message")), ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, "group-mode response datagram", encode(t, resp), v.hex(t, "response.protected_message"))
	g = rrep.Complete().Group
	for _, f := range []struct {
		name string
		got  []byte
	}{
		{"aad_array", g.AADArray}, {"aad", g.AAD}, {"nonce", g.Nonce.Nonce}, {"encryption_key", g.Key.Key},
		{"countersign_structure", g.CountersignStructure}, {"signature", g.Signature}, {"keystream_info", g.KeystreamInfo},
		{"keystream_salt", g.KeystreamSalt}, {"keystream", g.Keystream}, {"encrypted_signature", g.EncryptedSignature},
		{"ciphertext", rrep.Ciphertext}, {"plaintext", rrep.Plaintext}, {"payload", resp.Payload},
	} {
		equalHex(t, "response "+f.name, f.got, v.hex(t, "response."+f.name))
	}

	back, crep, err := UnprotectResponse(cx, decode(t, encode(t, resp)))
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := optionValue(back.Options, OptRequestHash); !bytes.Equal(h, cx.det.hash) || crep.Complete().Group.ResponseNumber != -1 {
		t.Fatalf("client's response %s", oscore.FormatMessage(back))
	}
	if !bytes.Equal(encode(t, back), v.hex(t, "response.unprotected_message")) {
		t.Errorf("client's response:\n got %x\nwant %s", encode(t, back), v.get(t, "response.unprotected_message"))
	}
}
