package group

import (
	"bytes"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// FuzzParseCCS: any input is either refused or kept byte for byte, and
// never panics (credentials come from the network via the Group Manager or
// a peer, RFC 10021 2.4).
func FuzzParseCCS(f *testing.F) {
	v := loadSet(f, "lab-crosschecked")
	for _, k := range []string{"client_cred_ccs", "server_cred_ccs", "gm_cred_ccs"} {
		f.Add(v.hex(f, "common_context."+k))
	}
	f.Add([]byte{0xa1, 0x08, 0xa1, 0x01, 0xa4, 0x01, 0x02, 0x20, 0x01, 0x21, 0x40, 0x22, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCCS(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatal("credential bytes changed")
		}
		c.Curve()
		c.ECDH()
		c.verify(EdDSA, b, make([]byte, 64))
		c.verify(ES256, b, make([]byte, 64))
	})
}

// protectedSeeds are the cross-checked requests in both modes.
func protectedSeeds(f *testing.F) (reqs []message.Message, srv *Context) {
	_, cli, srv := crossChecked(f)
	for _, mode := range []Mode{GroupMode, PairwiseMode} {
		r, _, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: mode, To: []byte{0x52}})
		if err != nil {
			f.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	return reqs, srv
}

// FuzzUnprotectRequest: hostile OSCORE options and payloads are refused
// with an error and never panic; nothing but the genuine bytes verifies,
// neither for the server nor for an external signature checker.
func FuzzUnprotectRequest(f *testing.F) {
	reqs, _ := protectedSeeds(f)
	for _, r := range reqs {
		f.Add(optionOf(f, r), r.Payload)
	}
	cv, ccli, _ := coGroup(f)
	det, _, _, err := ProtectDeterministicRequest(ccli, decode(f, cv.hex(f, "request.unprotected_message")), nil, ProtectOptions{})
	if err != nil {
		f.Fatal(err)
	}
	h, _ := optionValue(det.Options, OptRequestHash)
	f.Add(optionOf(f, det), det.Payload)
	f.Add([]byte{0x39, 0x00, 0x03, 0x44, 0x61, 0x6c, 0x25}, make([]byte, 60))
	f.Add([]byte{0x3d, 0x01, 0x02, 0x03, 0x04, 0x05, 0x03, 0x44, 0x61, 0x6c}, []byte{1})
	_, _, srv := crossChecked(f)
	_, _, csrv := coGroup(f) // with a Deterministic Client
	f.Fuzz(func(t *testing.T, opt, payload []byte) {
		srv.Recipient([]byte{0x25}).replay.Reset() // a genuine request verifies every time
		m := message.Message{Code: codes.POST, Token: message.Token{1}, Payload: payload}
		m.Options = m.Options.Add(message.Option{ID: 9, Value: opt})
		m.Options = m.Options.Add(message.Option{ID: OptRequestHash, Value: h})
		if g, err := CheckRequestSignature(srv, m); err == nil && (g == nil || !bytes.Equal(opt, optionOf(t, reqs[0])) || !bytes.Equal(payload, reqs[0].Payload)) {
			t.Fatalf("external checker accepted a forged request: %x / %x", opt, payload)
		}
		out, x, rep, err := UnprotectRequest(m, lookupOf(srv, csrv))
		if rep == nil {
			t.Fatal("no report")
		}
		rep.Complete()
		if err == nil {
			if x == nil || out.Code != codes.GET {
				t.Fatalf("accepted %x / %x", opt, payload)
			}
			genuine := false
			for _, r := range append(reqs, det) {
				genuine = genuine || (bytes.Equal(optionOf(t, r), opt) && bytes.Equal(r.Payload, payload))
			}
			if !genuine {
				t.Fatalf("forged request accepted: %x / %x", opt, payload)
			}
		}
	})
}

// FuzzUnprotectResponse: hostile responses to a group-mode and a pairwise
// request are refused silently and never panic.
func FuzzUnprotectResponse(f *testing.F) {
	reqs, srv := protectedSeeds(f)
	var seeds []message.Message
	for _, r := range reqs {
		_, sx, _, err := UnprotectRequest(r, lookupOf(srv))
		if err != nil {
			f.Fatal(err)
		}
		for _, o := range []ProtectOptions{{}, {ResponsePIV: true, Mode: GroupMode}} {
			resp, _, err := ProtectResponse(sx, content215(), o)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, resp)
			f.Add(optionOf(f, resp), resp.Payload, r.Options[0].Value[0]&0x20 != 0)
		}
	}
	f.Fuzz(func(t *testing.T, opt, payload []byte, group bool) {
		_, cli, _ := crossChecked(t) // a fresh client: its numbers never move back
		mode := GroupMode            // the seeds' requests: group mode PIV 0, pairwise PIV 1
		if !group {
			mode = PairwiseMode
			_ = cli.SetSenderSeq(1)
		}
		_, cx, _, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: mode, To: []byte{0x52}})
		if err != nil {
			t.Fatal(err)
		}
		m := message.Message{Code: codes.Changed, Token: message.Token{1}, Payload: payload}
		m.Options = m.Options.Add(message.Option{ID: 9, Value: opt})
		_, rep, err := UnprotectResponse(cx, m)
		if err != nil && rep == nil {
			t.Fatal("no report")
		}
		if rep != nil {
			rep.Complete()
		}
		if err == nil {
			genuine := false
			for _, s := range seeds {
				genuine = genuine || (bytes.Equal(optionOf(t, s), opt) && bytes.Equal(s.Payload, payload))
			}
			if !genuine {
				t.Fatalf("forged response accepted: %x / %x", opt, payload)
			}
		}
	})
}
