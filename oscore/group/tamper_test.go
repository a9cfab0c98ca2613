package group

import (
	"errors"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"oscore-lab/oscore"
)

// withOSCORE returns a copy of m with its OSCORE option value and payload
// replaced.
func withOSCORE(m message.Message, opt, payload []byte) message.Message {
	out := m
	out.Options = append(message.Options(nil), m.Options...).Set(message.Option{ID: 9, Value: opt})
	out.Payload = payload
	return out
}

func flipped(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0x01
	return c
}

// refusedAs reports whether err is one of the RFC's errors for a message
// that does not verify: decoding (4.02), no context (4.01), replay (4.01)
// or decryption, countersignature included (4.00) (RFC 10021 6, 7.2, 8.4).
func refusedAs(err error) bool {
	for _, e := range []error{oscore.ErrDecodeCOSE, oscore.ErrContextNotFound, oscore.ErrReplay, oscore.ErrDecryptionFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// TestTamperedRequestBytes flips every bit 0 of every byte of a group-mode
// and a pairwise request's OSCORE option and payload: each copy is refused
// with one of the RFC's errors, a flipped ciphertext or signature byte as
// "Decryption failed", and no refusal moves the replay window; the genuine
// request then still verifies.
func TestTamperedRequestBytes(t *testing.T) {
	for _, mode := range []Mode{GroupMode, PairwiseMode} {
		t.Run(mode.String(), func(t *testing.T) {
			_, cli, srv := crossChecked(t)
			req, _, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: mode, To: []byte{0x52}})
			if err != nil {
				t.Fatal(err)
			}
			opt := optionOf(t, req)
			for i := range opt {
				_, _, _, err := UnprotectRequest(withOSCORE(req, flipped(opt, i), req.Payload), lookupOf(srv))
				if err == nil || !refusedAs(err) {
					t.Errorf("option byte %d flipped: %v", i, err)
				}
			}
			for i := range req.Payload {
				_, _, rep, err := UnprotectRequest(withOSCORE(req, opt, flipped(req.Payload, i)), lookupOf(srv))
				if !errors.Is(err, oscore.ErrDecryptionFailed) {
					t.Errorf("payload byte %d flipped: %v", i, err)
				}
				if mode == GroupMode && rep.Complete().Group.Verification == "" {
					t.Errorf("payload byte %d: report without verification result", i)
				}
			}
			if h := srv.Recipient([]byte{0x25}).Replay().Highest; h != -1 {
				t.Fatalf("refusals moved the replay window to %d", h)
			}
			if _, _, _, err := UnprotectRequest(req, lookupOf(srv)); err != nil {
				t.Fatalf("genuine request after the tampered ones: %v", err)
			}
			if _, _, _, err := UnprotectRequest(req, lookupOf(srv)); !errors.Is(err, oscore.ErrReplay) {
				t.Fatalf("replayed request: %v", err)
			}
		})
	}
}

// TestTamperedSignature: a countersignature that does not verify stops
// processing before decryption (RFC 10021 7.2): "Decryption failed", no
// plaintext in the report, the replay window untouched.
func TestTamperedSignature(t *testing.T) {
	_, cli, srv := crossChecked(t)
	req, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{})
	n := len(req.Payload) - EdDSA.SigLen()
	for _, i := range []int{n, n + 31, len(req.Payload) - 1} {
		_, _, rep, err := UnprotectRequest(withOSCORE(req, optionOf(t, req), flipped(req.Payload, i)), lookupOf(srv))
		var oe *oscore.Error
		if !errors.As(err, &oe) || !errors.Is(err, oscore.ErrDecryptionFailed) || oe.Diagnostic != "Decryption failed" || oe.CodeString() != "4.00" {
			t.Fatalf("signature byte %d: %v", i, err)
		}
		if rep.Plaintext != nil || rep.Complete().Group.Verification == "" {
			t.Fatalf("signature byte %d: plaintext %x, verification %q", i, rep.Plaintext, rep.Group.Verification)
		}
	}
	if srv.Recipient([]byte{0x25}).Replay().Highest != -1 {
		t.Fatal("a bad signature moved the replay window")
	}
}

// TestTamperedCredential: the server holds a credential for 25 that differs
// from the client's in one byte, or a different Group Manager credential;
// each either cannot be used at all or makes the request fail to verify
// (the credentials are in the external_aad and the key agreement,
// RFC 10021 2.5.1, 3.4).
func TestTamperedCredential(t *testing.T) {
	v := loadSet(t, "lab-crosschecked")
	cc, sc := v.hex(t, "common_context.client_cred_ccs"), v.hex(t, "common_context.server_cred_ccs")
	for _, mode := range []Mode{GroupMode, PairwiseMode} {
		_, cli, _ := crossChecked(t)
		req, _, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: mode, To: []byte{0x52}})
		if err != nil {
			t.Fatal(err)
		}
		usable := 0
		for i := range cc {
			srv := member(t, v, "server", []byte{0x52}, v.hex(t, "common_context.server_ed25519_private_seed"), sc, nil)
			if _, err := srv.AddRecipient([]byte{0x25}, flipped(cc, i)); err != nil {
				continue // refused as a credential
			}
			usable++
			if _, _, _, err := UnprotectRequest(req, lookupOf(srv)); !refusedAs(err) {
				t.Errorf("%v: client credential byte %d flipped: %v", mode, i, err)
			}
		}
		if usable < len(cc)/3 {
			t.Errorf("%v: only %d of %d one-byte changes gave a usable credential: the test shows little", mode, usable, len(cc))
		}
		gm := flipped(v.hex(t, "common_context.gm_cred_ccs"), 5)
		srv, err := NewContext("server", Params{
			MasterSecret: v.hex(t, "common_context.master_secret"), MasterSalt: v.hex(t, "common_context.master_salt"),
			GroupID: v.hex(t, "common_context.id_context"), AEAD: oscore.AESCCM16_64_128, GroupEnc: oscore.AESCCM16_64_128,
			Sig: EdDSA, KeyAgreement: ECDHSSHKDF256, GMCred: gm,
		})
		if err != nil {
			t.Fatal(err)
		}
		if mode == PairwiseMode {
			continue // a silent server has no pairwise keys; the GM credential case is group mode's
		}
		srv.AddRecipient([]byte{0x25}, cc)
		if _, _, _, err := UnprotectRequest(req, lookupOf(srv)); !errors.Is(err, oscore.ErrDecryptionFailed) {
			t.Errorf("%v: other Group Manager credential: %v", mode, err)
		}
	}
}

// TestTamperedResponseBytes: every flipped byte of a group-mode response
// is refused silently (RFC 10021 7.4), and the genuine response is then
// accepted.
func TestTamperedResponseBytes(t *testing.T) {
	_, cli, srv := crossChecked(t)
	req, cx, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{})
	_, sx, _, err := UnprotectRequest(req, lookupOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := ProtectResponse(sx, content215(), ProtectOptions{ResponsePIV: true})
	if err != nil {
		t.Fatal(err)
	}
	opt := optionOf(t, resp)
	try := func(what string, m message.Message) {
		_, _, err := UnprotectResponse(cx, m)
		var oe *oscore.Error
		if !errors.As(err, &oe) || !oe.Silent || !errors.Is(err, oscore.ErrResponseNotVerified) || !refusedAs(err) {
			t.Errorf("%s: %v", what, err)
		}
	}
	for i := range opt {
		try("option byte", withOSCORE(resp, flipped(opt, i), resp.Payload))
	}
	for i := range resp.Payload {
		try("payload byte", withOSCORE(resp, opt, flipped(resp.Payload, i)))
	}
	if _, _, err := UnprotectResponse(cx, resp); err != nil {
		t.Fatalf("genuine response: %v", err)
	}
	try("replayed response", resp)
}
