package group

import (
	"errors"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// threeMembers is the cross-checked group with a second server, 77, whose
// key is entity 1 of the primitives set.
func threeMembers(t testing.TB) (cli, s1, s2 *Context) {
	t.Helper()
	v, cli, s1 := crossChecked(t)
	p := loadSet(t, "primitives")
	seed := unhex(t, p.get(t, "ed25519_x25519").([]any)[0].(map[string]any)["ed25519_seed"].(string))
	k, err := NewEd25519Key(seed)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := MakeCCS("server2", k.Public())
	if err != nil {
		t.Fatal(err)
	}
	s2 = member(t, v, "server2", []byte{0x77}, seed, cred, map[string][]byte{"\x25": v.hex(t, "common_context.client_cred_ccs")})
	if _, err := cli.AddRecipient([]byte{0x77}, cred); err != nil {
		t.Fatal(err)
	}
	return cli, s1, s2
}

// TestGroupRequestManyResponses: one group-mode request, two servers, two
// responses each (RFC 10021 5.3.1): only the first of a server may reuse
// the request nonce, later ones carry the server's Partial IV; the client
// keeps a Response Number per server, accepts at most one response without
// Partial IV per server, refuses replays and older Partial IVs.
func TestGroupRequestManyResponses(t *testing.T) {
	cli, s1, s2 := threeMembers(t)
	req, cx, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !cx.Long() {
		t.Fatal("a group-mode request starts a long exchange")
	}
	type sent struct {
		m   message.Message
		srv *Context
	}
	var all []sent
	for _, s := range []*Context{s1, s2} {
		_, sx, _, err := UnprotectRequest(req, lookupOf(s))
		if err != nil {
			t.Fatal(err)
		}
		for i, mode := range []Mode{PairwiseMode, GroupMode, PairwiseMode} {
			resp, rep, err := ProtectResponse(sx, content215(), ProtectOptions{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			ov, _ := oscore.ParseOption(optionOf(t, resp))
			if (i == 0) != (ov.PartialIV == nil) || ov.KID == nil || ov.Group != (mode == GroupMode) {
				t.Fatalf("%s response %d: option %v (notes %v)", s.name, i, ov, rep.Notes)
			}
			all = append(all, sent{resp, s})
		}
	}
	// Deliver server 2's in order, then server 1's newest first: its older
	// response with a Partial IV is then refused (the simpler policy of 5.3.1).
	order := []int{3, 4, 5, 2, 0, 1}
	want := []bool{true, true, true, true, true, false}
	for k, i := range order {
		_, rep, err := UnprotectResponse(cx, all[i].m)
		if (err == nil) != want[k] {
			t.Fatalf("response %d of %s: err %v", i%3, all[i].srv.name, err)
		}
		if err != nil && !errors.Is(err, oscore.ErrReplay) {
			t.Fatalf("refused as %v, want a replay", err)
		}
		if err == nil && rep.Complete().Group.ResponseNumber != cx.ResponseNumber(cli.Recipient(all[i].srv.p.SenderID)) {
			t.Fatal("report and exchange disagree on the Response Number")
		}
	}
	if n := cx.ResponseNumber(cli.Recipient([]byte{0x77})); n != 1 {
		t.Fatalf("Response Number of 77 = %d, want 1", n)
	}
	for _, i := range []int{0, 3, 5} {
		if _, _, err := UnprotectResponse(cx, all[i].m); !errors.Is(err, oscore.ErrReplay) {
			t.Fatalf("replay of response %d: %v", i, err)
		}
	}
}

// TestPairwiseExchangeOneResponse: a pairwise request that is not Observe
// takes exactly one response (RFC 10021 5.3.1, RFC 8613 7.4), and only from
// the server it was for (7.4).
func TestPairwiseExchangeOneResponse(t *testing.T) {
	cli, s1, s2 := threeMembers(t)
	req, cx, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := UnprotectRequest(req, lookupOf(s2)); !errors.Is(err, oscore.ErrDecryptionFailed) {
		t.Fatalf("another server read a pairwise request: %v", err)
	}
	// 77 answers a group request of its own with the same PIV and kid: a
	// response from it must not pass as 52's.
	greq, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{})
	_, gx, _, err := UnprotectRequest(greq, lookupOf(s2))
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := ProtectResponse(gx, content215(), ProtectOptions{Mode: GroupMode})
	if _, _, err := UnprotectResponse(cx, other); err == nil {
		t.Fatal("a response from 77 accepted for a pairwise request to 52")
	}
	_, sx, _, err := UnprotectRequest(req, lookupOf(s1))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := ProtectResponse(sx, content215(), ProtectOptions{})
	second, _, _ := ProtectResponse(sx, content215(), ProtectOptions{})
	if _, _, err := UnprotectResponse(cx, first); err != nil {
		t.Fatal(err)
	}
	if _, _, err := UnprotectResponse(cx, second); !errors.Is(err, oscore.ErrReplay) {
		t.Fatalf("second response to a short exchange: %v", err)
	}
}

// TestObserveAcrossGroup: a group-mode Observe registration; each server's
// notifications carry its own Partial IV after the first and bind to the
// original request (RFC 10021 5.1, groupcomm-bis 3.7); the outer code is
// FETCH for the request and 2.05 for notifications (RFC 8613 4.1.3.5).
func TestObserveAcrossGroup(t *testing.T) {
	cli, s1, s2 := threeMembers(t)
	reg := getTemp()
	reg.Options = reg.Options.Add(message.Option{ID: message.Observe, Value: []byte{}})
	req, cx, _, err := ProtectRequest(cli, reg, ProtectOptions{})
	if err != nil || req.Code != codes.FETCH || !cx.Observe() {
		t.Fatalf("registration: %v, outer %v", err, req.Code)
	}
	for _, s := range []*Context{s1, s2} {
		_, sx, _, err := UnprotectRequest(req, lookupOf(s))
		if err != nil || !sx.Observe() {
			t.Fatalf("%s: %v", s.name, err)
		}
		for seq := 1; seq <= 3; seq++ {
			n := content215()
			n.Options = n.Options.Add(message.Option{ID: message.Observe, Value: []byte{byte(seq)}})
			out, _, err := ProtectResponse(sx, n, ProtectOptions{Mode: GroupMode})
			if err != nil || out.Code != codes.Content {
				t.Fatalf("notification: %v, outer %v", err, out.Code)
			}
			got, _, err := UnprotectResponse(cx, out)
			if err != nil {
				t.Fatalf("%s notification %d: %v", s.name, seq, err)
			}
			// The value travels outside; inside it is empty (RFC 8613 4.1.3.5.2).
			if v, ok := optionValue(out.Options, message.Observe); !ok || len(v) != 1 || v[0] != byte(seq) {
				t.Fatalf("notification %d: outer Observe %x", seq, v)
			}
			if _, ok := optionValue(got.Options, message.Observe); !ok {
				t.Fatalf("notification %d lost its Observe", seq)
			}
		}
	}
	if cx.Responses() != 6 {
		t.Fatalf("%d notifications accepted, want 6", cx.Responses())
	}
}

// TestRecipientsInIDOrder: Recipients lists every Recipient Context in the
// order of the IDs, one made on the fly for a request (RFC 10021 7.2)
// included, with the window that request left (RFC 10021 2.6).
func TestRecipientsInIDOrder(t *testing.T) {
	cli, s1, _ := threeMembers(t)
	var ids []string
	for _, r := range cli.Recipients() {
		ids = append(ids, hexID(r.ID()))
	}
	if strings.Join(ids, " ") != "52 77" {
		t.Errorf("the client's recipients: %v, want 52 77", ids)
	}
	p := s1.p
	p.Credentials = func(kid []byte) ([]byte, error) { return cli.p.SenderCred, nil }
	p.SenderKey = s1.p.SenderKey
	dyn, err := NewContext("dynamic", p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(dyn.Recipients()); n != 0 {
		t.Fatalf("a context without peers lists %d recipients", n)
	}
	cli.SetSenderSeq(7)
	req, _, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := UnprotectRequest(req, lookupOf(dyn)); err != nil {
		t.Fatal(err)
	}
	rs := dyn.Recipients()
	if len(rs) != 1 || hexID(rs[0].ID()) != "25" || rs[0].Replay().Highest != 7 {
		t.Errorf("after a request from 25 with Partial IV 7: %d recipients, first %+v", len(rs), rs)
	}
}
