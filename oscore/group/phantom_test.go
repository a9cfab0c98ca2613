package group

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// mnGroup is the OSCORE group "myGroup" of
// draft-ietf-core-observe-multicast-notifications 10: Gid 57ab2e, server S
// with Sender ID 05 and Sender Sequence Number 501, clients 01 and 02.
// The draft gives no keys; these are the lab's (Ed25519 from fixed seeds).
func mnGroup(t testing.TB) (srv, c1, c2 *Context) {
	t.Helper()
	ids := [][]byte{{0x05}, {0x01}, {0x02}}
	keys := make([]*PrivateKey, len(ids))
	creds := make([][]byte, len(ids))
	for i, id := range ids {
		seed := sha256.Sum256(append([]byte("mn-goscore member "), id...))
		k, err := NewEd25519Key(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		cr, err := MakeCCS(string(rune('0'+id[0])), k.Public())
		if err != nil {
			t.Fatal(err)
		}
		keys[i], creds[i] = k, cr
	}
	ctxs := make([]*Context, len(ids))
	for i, id := range ids {
		c, err := NewContext("myGroup", Params{
			MasterSecret: []byte("mn-goscore master secret"), MasterSalt: []byte{0x9e, 0x7c},
			GroupID: []byte{0x57, 0xab, 0x2e}, GroupEnc: oscore.AESCCM16_64_128, Sig: EdDSA,
			AEAD: oscore.AESCCM16_64_128, KeyAgreement: ECDHSSHKDF256,
			SenderID: id, SenderCred: creds[i], SenderKey: keys[i],
		})
		if err != nil {
			t.Fatal(err)
		}
		for j, peer := range ids {
			if j != i {
				if _, err := c.AddRecipient(peer, creds[j]); err != nil {
					t.Fatal(err)
				}
			}
		}
		ctxs[i] = c
	}
	if err := ctxs[0].SetSenderSeq(501); err != nil {
		t.Fatal(err)
	}
	return ctxs[0], ctxs[1], ctxs[2]
}

// phantomGET is the phantom observation request of the figures: GET /r,
// Observe 0, Token 0x7b.
func phantomGET() message.Message {
	m := message.Message{Code: codes.GET, Token: message.Token{0x7b}}
	m.Options = m.Options.Add(observeOpt(0))
	m.Options = m.Options.Add(message.Option{ID: message.URIPath, Value: []byte("r")})
	return m
}

func notification(obs uint32, payload string) message.Message {
	m := message.Message{Code: codes.Content, Token: message.Token{0x7b}, Type: message.NonConfirmable, Payload: []byte(payload)}
	m.Options = m.Options.Add(observeOpt(obs))
	return m
}

// TestPhantomFigureValues reproduces the values of the Group OSCORE example
// of draft-ietf-core-observe-multicast-notifications 10: the phantom
// request with OSCORE option [kid 05, Partial IV 01f5, kid context
// 57ab2e] and outer code FETCH, the server's SN then 502, and a
// notification with Partial IV 01f6 whose external_aad names request_kid
// 05, request_piv 01f5 and request_kid_context 57ab2e.
func TestPhantomFigureValues(t *testing.T) {
	srv, c1, c2 := mnGroup(t)
	ph, _, err := ProtectPhantom(srv, phantomGET())
	if err != nil {
		t.Fatal(err)
	}
	m := ph.Message()
	equalHex(t, "phantom OSCORE option", optionOf(t, m), unhex(t, "3a01f50357ab2e05"))
	if m.Code != codes.FETCH {
		t.Errorf("phantom outer code %v, want FETCH (9.2.2)", m.Code)
	}
	if got := srv.SenderSeq(); got != 502 {
		t.Errorf("server SN after the phantom %d, want 502", got)
	}
	n, rep, err := ph.ProtectNotification(notification(1, "1234"))
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, "notification OSCORE option", optionOf(t, n), unhex(t, "2a01f605"))
	// aad_array after its algorithms: request_kid, request_piv, options
	// (none), request_kid_context, then the notification's option value.
	wantAAD := unhex(t, "4105"+"4201f5"+"40"+"4357ab2e"+"442a01f605")
	if g := rep.Complete().Details.Group; g == nil || !bytes.Contains(g.AADArray, wantAAD) {
		t.Fatalf("notification aad_array lacks %x", wantAAD)
	}
	for _, c := range []*Context{c1, c2} {
		before := c.Recipient([]byte{0x05}).Replay()
		got, inner, _, err := VerifyPhantom(c, m)
		if err != nil {
			t.Fatalf("%x: %v", c.SenderID(), err)
		}
		if inner.Code != codes.GET || pathOfMsg(inner) != "r" {
			t.Errorf("phantom inner %v %q, want GET r", inner.Code, pathOfMsg(inner))
		}
		if after := c.Recipient([]byte{0x05}).Replay(); !reflect.DeepEqual(before, after) {
			t.Errorf("replay window of 05 changed by the phantom: %+v -> %+v (9.3.1)", before, after)
		}
		equalHex(t, "request_kid", got.KID(), []byte{0x05})
		equalHex(t, "request_piv", got.PIV(), []byte{0x01, 0xf5})
		equalHex(t, "request_kid_context", got.KIDContext(), []byte{0x57, 0xab, 0x2e})
		out, _, err := got.UnprotectNotification(n)
		if err != nil {
			t.Fatalf("%x: notification: %v", c.SenderID(), err)
		}
		if string(out.Payload) != "1234" {
			t.Errorf("payload %q", out.Payload)
		}
	}
}

func pathOfMsg(m message.Message) string {
	var p []byte
	for _, o := range m.Options {
		if o.ID == message.URIPath {
			p = append(p, o.Value...)
		}
	}
	return string(p)
}

// TestPhantomVerifyNoReplayState: verifying the same phantom twice works
// (no replay check), and a real request from the server with the same
// Partial IV is still accepted afterwards (the window was not updated).
func TestPhantomVerifyNoReplayState(t *testing.T) {
	srv, c1, _ := mnGroup(t)
	ph, _, err := ProtectPhantom(srv, phantomGET())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, _, _, err := VerifyPhantom(c1, ph.Message()); err != nil {
			t.Fatalf("verification %d: %v", i+1, err)
		}
	}
	if st := c1.Recipient([]byte{0x05}).Replay(); st.Highest != -1 {
		t.Errorf("replay window highest %d after two phantom verifications, want -1", st.Highest)
	}
}

// TestPhantomNotificationRefusals: the error paths of MN 9.3.2 at a
// client: a forged notification, one bound to another request, a replayed
// one, one without Partial IV, and one from another member.
func TestPhantomNotificationRefusals(t *testing.T) {
	srv, c1, c2 := mnGroup(t)
	ph, _, err := ProtectPhantom(srv, phantomGET())
	if err != nil {
		t.Fatal(err)
	}
	cph, _, _, err := VerifyPhantom(c1, ph.Message())
	if err != nil {
		t.Fatal(err)
	}
	good, _, err := ph.ProtectNotification(notification(2, "5678"))
	if err != nil {
		t.Fatal(err)
	}
	forged := good
	forged.Payload = bytes.Clone(good.Payload)
	forged.Payload[0] ^= 1

	// Bound to another request: a second phantom of the same server.
	other, _, err := ProtectPhantom(srv, phantomGET())
	if err != nil {
		t.Fatal(err)
	}
	unbound, _, err := other.ProtectNotification(notification(3, "9999"))
	if err != nil {
		t.Fatal(err)
	}
	// From another member: C2 signs a notification bound to the phantom.
	c2ph, _, _, err := VerifyPhantom(c2, ph.Message())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c2ph.ProtectNotification(notification(4, "evil")); err == nil {
		t.Fatal("a client protected a notification for the server's phantom")
	}
	fromC2, _, err := ProtectResponse(c2ph.Exchange(), notification(4, "evil"), ProtectOptions{Mode: GroupMode, ResponsePIV: true})
	if err != nil {
		t.Fatal(err)
	}
	noPIV := good
	noPIV.Options = setOSCORE(good.Options, unhex(t, "2805"))

	if _, _, err := cph.UnprotectNotification(forged); !errors.Is(err, oscore.ErrDecryptionFailed) {
		t.Errorf("forged notification: %v, want decryption failed", err)
	}
	if _, _, err := cph.UnprotectNotification(unbound); !errors.Is(err, oscore.ErrDecryptionFailed) {
		t.Errorf("notification bound to another request: %v, want decryption failed", err)
	}
	if _, _, err := cph.UnprotectNotification(fromC2); !errors.Is(err, oscore.ErrContextNotFound) {
		t.Errorf("notification from member 02: %v, want refused", err)
	}
	if _, _, err := cph.UnprotectNotification(noPIV); !errors.Is(err, oscore.ErrDecodeCOSE) {
		t.Errorf("notification without Partial IV: %v, want refused", err)
	}
	if _, _, err := cph.UnprotectNotification(good); err != nil {
		t.Fatalf("good notification after the refusals: %v", err)
	}
	if _, _, err := cph.UnprotectNotification(good); !errors.Is(err, oscore.ErrReplay) {
		t.Errorf("replayed notification: %v, want replay", err)
	}
}

func setOSCORE(opts message.Options, v []byte) message.Options {
	out := make(message.Options, 0, len(opts))
	for _, o := range opts {
		if o.ID == oscore.OptOSCORE {
			o.Value = v
		}
		out = append(out, o)
	}
	return out
}

// TestPhantomRefusals: VerifyPhantom refuses a tampered phantom, one in
// pairwise mode, one under another Gid, and one that is not a GET with
// Observe 0; ProtectPhantom refuses to make the latter.
func TestPhantomRefusals(t *testing.T) {
	srv, c1, _ := mnGroup(t)
	ph, _, err := ProtectPhantom(srv, phantomGET())
	if err != nil {
		t.Fatal(err)
	}
	tampered := ph.Message()
	tampered.Payload[1] ^= 0x80
	if _, _, _, err := VerifyPhantom(c1, tampered); !errors.Is(err, oscore.ErrDecryptionFailed) {
		t.Errorf("tampered phantom: %v", err)
	}
	pw, _, _, err := ProtectRequest(srv, phantomGET(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x01}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := VerifyPhantom(c1, pw); !errors.Is(err, oscore.ErrDecodeCOSE) {
		t.Errorf("pairwise phantom: %v", err)
	}
	wrongGid := ph.Message()
	wrongGid.Options = setOSCORE(wrongGid.Options, unhex(t, "3a01f50357ab2f05"))
	if _, _, _, err := VerifyPhantom(c1, wrongGid); !errors.Is(err, oscore.ErrContextNotFound) {
		t.Errorf("phantom under another Gid: %v", err)
	}
	post := phantomGET()
	post.Code = codes.POST
	if _, _, err := ProtectPhantom(srv, post); err == nil {
		t.Error("ProtectPhantom made a POST phantom")
	}
	notObs, _, _, err := ProtectRequest(srv, getTemp(), ProtectOptions{Mode: GroupMode})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := VerifyPhantom(c1, notObs); !errors.Is(err, oscore.ErrDecodeCOSE) {
		t.Errorf("phantom without Observe 0: %v", err)
	}
}

// observeOpt is an Observe option with value v in the shortest form (RFC 7641 2).
func observeOpt(v uint32) message.Option {
	var b []byte
	for x := v; x > 0; x >>= 8 {
		b = append([]byte{byte(x)}, b...)
	}
	return message.Option{ID: message.Observe, Value: b}
}

// FuzzPhantom: a phantom request or notification with hostile OSCORE
// option and payload is refused with an error and never panics; only the
// genuine bytes verify, and the server's replay window stays untouched.
func FuzzPhantom(f *testing.F) {
	srv, c1, _ := mnGroup(f)
	ph, _, err := ProtectPhantom(srv, phantomGET())
	if err != nil {
		f.Fatal(err)
	}
	n, _, err := ph.ProtectNotification(notification(2, "5678"))
	if err != nil {
		f.Fatal(err)
	}
	pm := ph.Message()
	f.Add(optionOf(f, pm), pm.Payload, true)
	f.Add(optionOf(f, n), n.Payload, false)
	f.Fuzz(func(t *testing.T, opt, payload []byte, phantom bool) {
		if phantom {
			m := pm
			m.Options = setOSCORE(pm.Options, opt)
			m.Payload = payload
			_, _, _, err := VerifyPhantom(c1, m)
			if err == nil && (!bytes.Equal(opt, optionOf(t, pm)) || !bytes.Equal(payload, pm.Payload)) {
				t.Fatal("a changed phantom verified")
			}
			if st := c1.Recipient([]byte{0x05}).Replay(); st.Highest != -1 {
				t.Fatal("replay window updated")
			}
			return
		}
		cph, _, _, err := VerifyPhantom(c1, pm)
		if err != nil {
			t.Fatal(err)
		}
		m := n
		m.Options = setOSCORE(n.Options, opt)
		m.Payload = payload
		if _, _, err := cph.UnprotectNotification(m); err == nil && (!bytes.Equal(opt, optionOf(t, n)) || !bytes.Equal(payload, n.Payload)) {
			t.Fatal("a changed notification verified")
		}
	})
}
