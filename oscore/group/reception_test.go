package group

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// TestReceptionRules: RFC 10021 6 and 7.2: a mode the group does not use,
// an unknown Gid or kid, our own kid and a request without kid context are
// refused with the RFC's errors; an unknown kid is accepted once the
// application supplies its credential (Params.Credentials).
func TestReceptionRules(t *testing.T) {
	v, cli, srv := crossChecked(t)
	greq, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{})
	preq, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}})
	onlyGroup := Params{MasterSecret: v.hex(t, "common_context.master_secret"), MasterSalt: v.hex(t, "common_context.master_salt"),
		GroupID: v.hex(t, "common_context.id_context"), GroupEnc: oscore.AESCCM16_64_128, Sig: EdDSA, GMCred: v.hex(t, "common_context.gm_cred_ccs")}
	onlyPair := onlyGroup
	onlyPair.GroupEnc, onlyPair.Sig, onlyPair.AEAD, onlyPair.KeyAgreement = 0, 0, oscore.AESCCM16_64_128, ECDHSSHKDF256
	mk := func(p Params) *Context {
		c, err := NewContext("s", p)
		if err != nil {
			t.Fatal(err)
		}
		c.AddRecipient([]byte{0x25}, v.hex(t, "common_context.client_cred_ccs"))
		return c
	}
	sameKidAsClient := member(t, v, "server25", []byte{0x25}, v.hex(t, "common_context.client_ed25519_private_seed"), v.hex(t, "common_context.client_cred_ccs"), nil)
	noCtx := withOSCORE(greq, []byte{0x39, 0x05, 0x00, 0x25}, greq.Payload)
	noKIDCtx := withOSCORE(greq, []byte{0x29, 0x05, 0x25}, greq.Payload)
	for _, tt := range []struct {
		name string
		m    message.Message
		c    *Context
		want *oscore.Error
	}{
		{"group mode in a pairwise-only group", greq, mk(onlyPair), oscore.ErrDecodeCOSE},
		{"pairwise mode in a group-mode-only group", preq, mk(onlyGroup), oscore.ErrDecodeCOSE},
		{"unknown Gid", noCtx, srv, oscore.ErrContextNotFound},
		{"no kid context", noKIDCtx, srv, oscore.ErrDecodeCOSE},
		{"unknown kid", greq, member(t, v, "lonely", []byte{0x52}, v.hex(t, "common_context.server_ed25519_private_seed"), v.hex(t, "common_context.server_cred_ccs"), nil), oscore.ErrContextNotFound},
		{"our own Sender ID as kid", greq, sameKidAsClient, oscore.ErrContextNotFound},
	} {
		_, _, _, err := UnprotectRequest(tt.m, lookupOf(tt.c))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	asked := 0
	p := srv.p
	p.Credentials = func(kid []byte) ([]byte, error) {
		asked++
		if bytes.Equal(kid, []byte{0x25}) {
			return v.hex(t, "common_context.client_cred_ccs"), nil
		}
		return nil, errors.New("not a member")
	}
	p.SenderKey, _ = NewEd25519Key(v.hex(t, "common_context.server_ed25519_private_seed"))
	dyn, err := NewContext("dynamic", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := UnprotectRequest(greq, lookupOf(dyn)); err != nil || asked != 1 || dyn.Recipient([]byte{0x25}) == nil {
		t.Fatalf("on-the-fly Recipient Context: %v (asked %d)", err, asked)
	}
	if _, _, _, err := UnprotectRequest(preq, lookupOf(dyn)); err != nil || asked != 1 {
		t.Fatalf("second request from 25: %v (asked %d)", err, asked)
	}
	dyn3, _ := NewContext("dynamic", p)
	forged := withOSCORE(greq, optionOf(t, greq), flipped(greq.Payload, 3))
	if _, _, _, err := UnprotectRequest(forged, lookupOf(dyn3)); !errors.Is(err, oscore.ErrDecryptionFailed) || dyn3.Recipient([]byte{0x25}) != nil {
		t.Fatalf("a Recipient Context made for a forged request stays: %v", err)
	}
	_, _, stranger := threeMembers(t) // 77, a member the credential source does not know
	sreq, _, _, _ := ProtectRequest(stranger, getTemp(), ProtectOptions{})
	dyn2, _ := NewContext("dynamic", p)
	var oe *oscore.Error
	if _, _, _, err := UnprotectRequest(sreq, lookupOf(dyn2)); !errors.Is(err, oscore.ErrNoCredential) || !errors.As(err, &oe) || oe.CodeString() != "5.03" {
		t.Fatalf("unknown member: %v", err)
	}
}

// TestDeterministicRefusals: a deterministic request whose Request-Hash
// does not match its content, with an unsafe method, or a response with
// another Request-Hash are refused (draft-ietf-core-cacheable-oscore
// 3.4.3, 3.4.4).
func TestDeterministicRefusals(t *testing.T) {
	v, cli, srv := coGroup(t)
	plain := decode(t, v.hex(t, "request.unprotected_message"))
	if _, _, _, err := ProtectDeterministicRequest(cli, withMethod(plain, codes.POST), nil, ProtectOptions{}); err == nil {
		t.Fatal("deterministic POST protected")
	}
	req, cx, _, err := ProtectDeterministicRequest(cli, plain, nil, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := optionValue(req.Options, OptRequestHash)
	bad := req
	bad.Options = append(message.Options(nil), req.Options...).Set(message.Option{ID: OptRequestHash, Value: flipped(h, 0)})
	if _, _, _, err := UnprotectRequest(bad, lookupOf(srv)); !errors.Is(err, oscore.ErrDecryptionFailed) {
		t.Fatalf("wrong Request-Hash: %v", err)
	}
	// Twice the same request: no replay window for deterministic requests.
	for range 2 {
		if _, _, _, err := UnprotectRequest(req, lookupOf(srv)); err != nil {
			t.Fatal(err)
		}
	}
	_, sx, _, _ := UnprotectRequest(req, lookupOf(srv))
	resp, _, err := ProtectResponse(sx, decode(t, v.hex(t, "response.unprotected_message")), ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ov, _ := oscore.ParseOption(optionOf(t, resp)); ov.PartialIV == nil || !ov.Group {
		t.Fatalf("response to a deterministic request: %v", ov)
	}
	wrong := resp
	wrong.Options = append(message.Options(nil), resp.Options...).Add(message.Option{ID: OptRequestHash, Value: flipped(h, 3)})
	if _, _, err := UnprotectResponse(cx, wrong); !errors.Is(err, oscore.ErrResponseNotVerified) {
		t.Fatalf("response with another Request-Hash: %v", err)
	}
	if _, _, err := UnprotectResponse(cx, resp); err != nil {
		t.Fatal(err)
	}
	noKID := withOSCORE(resp, []byte{0x21, 0x01}, resp.Payload)
	if _, _, err := UnprotectResponse(cx, noKID); err == nil {
		t.Fatal("a response without kid to a deterministic request for several servers")
	}
}

func withMethod(m message.Message, c codes.Code) message.Message {
	m.Code = c
	return m
}

// TestEdwardsPointsWithoutMontgomeryForm: Ed25519 keys with y = 1 (the
// identity) or y = -1 have no usable X25519 form; pairwise keys with such a
// member are refused (RFC 10021 2.5.2.1: MUST abort), while the
// credential itself parses.
func TestEdwardsPointsWithoutMontgomeryForm(t *testing.T) {
	v, cli, _ := crossChecked(t)
	identity := make([]byte, 32)
	identity[0] = 1
	minusOne := bytes.Repeat([]byte{0xff}, 32)
	minusOne[0], minusOne[31] = 0xec, 0x7f
	for i, x := range [][]byte{identity, minusOne} {
		ccs := v.hex(t, "common_context.client_cred_ccs")
		bad := append(append([]byte{}, ccs[:len(ccs)-32]...), x...)
		r, err := cli.AddRecipient([]byte{byte(0x60 + i)}, bad)
		if err != nil {
			t.Fatalf("point %d: %v", i, err)
		}
		if _, _, _, err := r.PairwiseKeys(); err == nil || !strings.Contains(err.Error(), "2.5.2.1") {
			t.Fatalf("point %d: pairwise keys: %v", i, err)
		}
		if _, _, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{byte(0x60 + i)}}); err == nil {
			t.Fatalf("point %d: pairwise request protected", i)
		}
	}
}

// TestSilentServer: a member without Sender Context verifies group-mode
// requests and sends nothing (RFC 10021 2.2).
func TestSilentServer(t *testing.T) {
	v, cli, _ := crossChecked(t)
	silent := member(t, v, "silent", nil, nil, nil, map[string][]byte{"\x25": v.hex(t, "common_context.client_cred_ccs")})
	req, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{})
	_, x, _, err := UnprotectRequest(req, lookupOf(silent))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ProtectResponse(x, content215(), ProtectOptions{}); err == nil {
		t.Fatal("a silent server responded")
	}
	preq, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}})
	if _, _, _, err := UnprotectRequest(preq, lookupOf(silent)); err == nil {
		t.Fatal("a silent server read a pairwise request")
	}
}

// TestMultiResponsePairwise: a pairwise request marked as drawing several
// responses (a proxy relaying them) accepts the server's later responses
// in Partial IV order (RFC 10021 5.1, 5.3.1).
func TestMultiResponsePairwise(t *testing.T) {
	_, cli, srv := crossChecked(t)
	req, cx, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}})
	cx.SetMultiResponse()
	_, sx, _, err := UnprotectRequest(req, lookupOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	var resps []message.Message
	for range 3 {
		r, _, err := ProtectResponse(sx, content215(), ProtectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, r)
	}
	for i, r := range []message.Message{resps[0], resps[2], resps[1]} {
		_, _, err := UnprotectResponse(cx, r)
		if (err == nil) != (i < 2) {
			t.Fatalf("response %d: %v", i, err)
		}
	}
	if n := cx.ResponseNumber(cx.Peer()); n != 1 {
		t.Fatalf("Response Number %d, want 1", n)
	}
}

// TestSenderSeqNeverBack: the Sender Sequence Number, shared by both modes,
// may be moved forward but not back onto numbers that may have been used
// (RFC 10021 2.5.3; RFC 8613 7.2).
func TestSenderSeqNeverBack(t *testing.T) {
	_, cli, _ := crossChecked(t)
	if err := cli.SetSenderSeq(5); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}}); err != nil {
		t.Fatal(err)
	}
	if err := cli.SetSenderSeq(5); !errors.Is(err, oscore.ErrSequenceReused) {
		t.Fatalf("moving back to 5: %v", err)
	}
	if err := cli.SetSenderSeq(6); err != nil || cli.SenderSeq() != 6 {
		t.Fatalf("the next number: %v", err)
	}
}
