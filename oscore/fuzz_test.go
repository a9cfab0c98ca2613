package oscore

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// addVectorSeeds seeds a fuzz target with every RFC 8613 Appendix C datagram.
func addVectorSeeds(f *testing.F, add func(raw []byte)) {
	v := loadVectors(f)
	for _, r := range v.Requests {
		add(unhex(f, r.Protected))
		add(unhex(f, r.Unprotected))
	}
	for _, r := range v.Responses {
		add(unhex(f, r.Protected))
		add(unhex(f, r.Unprotected))
	}
}

func FuzzParseOption(f *testing.F) {
	v := loadVectors(f)
	for _, r := range v.Requests {
		f.Add(unhex(f, r.OptionValue))
	}
	for _, c := range v.Compression {
		f.Add(unhex(f, c.OptionValue))
	}
	f.Add([]byte{0x1f})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOption(b)
		if err != nil {
			return
		}
		// The strict codec has exactly one encoding per value.
		if got := o.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("round trip %x -> %+v -> %x", b, o, got)
		}
		if o.String() == "" {
			t.Fatal("empty text form")
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	addVectorSeeds(f, func(raw []byte) { f.Add(raw) })
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := DecodeMessage(raw)
		if err != nil {
			return
		}
		text := FormatDatagram(m)
		enc, err := EncodeMessage(m)
		if err != nil {
			return // go-coap refuses some decoded values (e.g. a token longer than 8)
		}
		m2, err := DecodeMessage(enc)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v\n%s", err, text)
		}
		if got := FormatDatagram(m2); got != text {
			t.Fatalf("text form changed after re-encoding:\n%s\n%s", text, got)
		}
	})
}

// fuzzContexts are the RFC 8613 C.1 client and server contexts.
func fuzzContexts(t testing.TB) (cli, srv *Context) {
	v := loadVectors(t)
	return vectorContext(t, v, "C.1.1"), vectorContext(t, v, "C.1.2")
}

// FuzzUnprotectRequest feeds arbitrary datagrams to UnprotectRequest and,
// to reach the plaintext parser, also seals an arbitrary plaintext under a
// valid OSCORE option and verifies it. Properties beyond not panicking:
//   - a request that unprotects, protected again with the same context and
//     Partial IV, unprotects to the same message, and protecting that once
//     more gives the same datagram (reprotectStable);
//   - a sealed plaintext that verifies is written back byte for byte from
//     the message it became: Code, Inner options in the RFC 7252 3.1
//     encoding, 0xff and the payload (RFC 8613 5.3).
func FuzzUnprotectRequest(f *testing.F) {
	addVectorSeeds(f, func(raw []byte) { f.Add(raw, []byte{0x01, 0xb3, 't', 'v', '1'}) })
	f.Add([]byte{0x44, 0x02, 0, 1, 1, 2, 3, 4, 0x92, 0x09, 0x00, 0xff, 0x00}, []byte{0x45, 0xff})
	// GET /a/b: a repeated option keeps its order (RFC 7252 5.4.5).
	f.Add([]byte{0x40, 0x02, 0, 1}, []byte{0x01, 0xb1, 'a', 0x01, 'b'})
	cli, srv := fuzzContexts(f)
	lookup := func(kid, kidContext []byte) (*Context, error) {
		if len(kid) == 0 {
			return srv, nil
		}
		return nil, nil
	}
	f.Fuzz(func(t *testing.T, raw, plaintext []byte) {
		srv.ResetReplay()
		m, err := DecodeMessage(raw)
		if err != nil {
			return
		}
		out, b, rep, err := UnprotectRequest(m, lookup)
		checkReport(t, rep)
		if err == nil {
			if b == nil || out.Options.HasOption(optOSCORE) && countOSCORE(out) > 1 {
				t.Fatal("bad result")
			}
			_, _ = EncodeMessage(out)
			ov, _ := m.Options.GetBytes(optOSCORE)
			o, _ := ParseOption(ov)
			reprotectStable(t, cli, srv, lookup, out, pivValue(o.PartialIV))
		}
		// A genuine ciphertext of an arbitrary plaintext, under the
		// fuzzed request's outer options and under none.
		if len(plaintext) > 1024 {
			return
		}
		bare := message.Message{Token: m.Token, Code: codes.POST, Type: m.Type, MessageID: m.MessageID}
		for _, outer := range []message.Message{m, bare} {
			out, _, rep, err = UnprotectRequest(sealRequest(cli, outer, plaintext), lookup)
			checkReport(t, rep)
			if err != nil {
				continue
			}
			if len(plaintext) == 0 || byte(out.Code) != plaintext[0] {
				t.Fatalf("accepted plaintext %x as code %v", plaintext, out.Code)
			}
			if len(outer.Options) == 0 {
				back := append([]byte{byte(out.Code)}, appendOptions(nil, out.Options)...)
				if len(out.Payload) > 0 {
					back = append(append(back, 0xff), out.Payload...)
				}
				if !bytes.Equal(back, plaintext) {
					t.Fatalf("plaintext %x verified as %v, which writes back as %x", plaintext, out, back)
				}
			}
		}
	})
}

// sealRequest seals plaintext with cli's next Partial IV under the outer
// options of m (without its OSCORE option), as a client would.
func sealRequest(cli *Context, m message.Message, plaintext []byte) message.Message {
	seq := cli.SenderSeq()
	piv := encodePIV(nil, seq)
	_ = cli.SetSenderSeq(seq + 1)
	nonce := make([]byte, 13)
	makeNonce(nonce, cli.SenderID(), piv, cli.CommonIV())
	aad, _, _ := appendAAD(nil, cli.AEAD(), cli.SenderID(), piv)
	ct := cli.sealer.Seal(nil, nonce, plaintext, aad)
	opts := make(message.Options, 0, len(m.Options)+1)
	for _, o := range m.Options {
		if o.ID != optOSCORE {
			opts = append(opts, o)
		}
	}
	opts = opts.Add(message.Option{ID: optOSCORE, Value: OptionValue{PartialIV: piv, KID: []byte{}}.Marshal()})
	return message.Message{Token: m.Token, Code: m.Code, Type: m.Type, MessageID: m.MessageID, Options: opts, Payload: ct}
}

// reprotectStable protects an unprotected request with cli at sequence
// number seq, unprotects it and protects the result again at seq: the
// second unprotected message and the second datagram must equal the first.
func reprotectStable(t *testing.T, cli, srv *Context, lookup ContextLookup, out message.Message, seq uint64) {
	t.Helper()
	defer cli.SetSenderSeq(cli.SenderSeq())
	protect := func(m message.Message) ([]byte, bool) {
		// Protecting twice at one Partial IV reuses a nonce on purpose:
		// the two results must be the same bytes.
		if err := cli.ReuseSenderSeq(seq); err != nil {
			return nil, false
		}
		p, _, _, err := ProtectRequest(cli, m, ProtectOptions{})
		if err != nil {
			return nil, false
		}
		raw, err := EncodeMessage(p)
		return raw, err == nil
	}
	p1, ok := protect(out)
	if !ok {
		return // a message this context cannot protect (an option too long, a Partial IV past the limit...)
	}
	srv.ResetReplay()
	m1, err := DecodeMessage(p1)
	if err != nil {
		t.Fatalf("protected request %x does not decode: %v", p1, err)
	}
	out2, _, _, err := UnprotectRequest(m1, lookup)
	if err != nil {
		t.Fatalf("a request protected from %v does not unprotect: %v", out, err)
	}
	if a, b := FormatDatagram(out), FormatDatagram(out2); a != b {
		t.Fatalf("protect then unprotect changed the request:\n%s\n%s", a, b)
	}
	p2, ok := protect(out2)
	if !ok || !bytes.Equal(p1, p2) {
		t.Fatalf("protecting the same request again at the same Partial IV:\n%x\n%x", p1, p2)
	}
}

// checkReport completes a report from hostile input and checks that its
// JSON decodes to a report with the same JSON.
func checkReport(t *testing.T, rep *Report) {
	t.Helper()
	if rep == nil {
		t.Fatal("no report")
	}
	b1, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	if b2, err := json.Marshal(&back); err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("report JSON does not round-trip (%v):\n%s\n%s", err, b1, b2)
	}
}

func countOSCORE(m message.Message) int {
	n := 0
	for _, o := range m.Options {
		if o.ID == optOSCORE {
			n++
		}
	}
	return n
}

// FuzzUnprotectResponse feeds arbitrary datagrams as responses to the C.4
// request, and arbitrary plaintexts sealed as genuine responses.
func FuzzUnprotectResponse(f *testing.F) {
	addVectorSeeds(f, func(raw []byte) { f.Add(raw, []byte{0x45, 0xff, 'h', 'i'}, false) })
	cli, srv := fuzzContexts(f)
	f.Fuzz(func(t *testing.T, raw, plaintext []byte, observe bool) {
		b, err := newBinding(cli, []byte{}, []byte{0x14}, nil, observe, nil)
		if err != nil {
			t.Fatal(err)
		}
		makeNonce(b.Nonce(), []byte{}, []byte{0x14}, cli.CommonIV())
		m, err := DecodeMessage(raw)
		if err != nil {
			return
		}
		out, rep, err := UnprotectResponse(b, m)
		checkReport(t, rep)
		if err == nil {
			_, _ = EncodeMessage(out)
		} else if e, ok := err.(*Error); !ok || !e.Silent {
			t.Fatalf("client error not silent: %v", err)
		}
		if len(plaintext) > 1024 {
			return
		}
		// The same plaintext sealed by the server, first without then with a Partial IV.
		aad, _, _ := appendAAD(nil, srv.AEAD(), []byte{}, []byte{0x14})
		b2, err := newBinding(cli, []byte{}, []byte{0x14}, nil, observe, nil)
		if err != nil {
			t.Fatal(err)
		}
		b2.nonce = b.nonce
		for _, withPIV := range []bool{false, true} {
			nonce, ov := b.Nonce(), OptionValue{}
			if withPIV {
				ov.PartialIV = []byte{0x07}
				nonce = make([]byte, 13)
				makeNonce(nonce, srv.SenderID(), ov.PartialIV, srv.CommonIV())
			}
			ct := srv.sealer.Seal(nil, nonce, plaintext, aad)
			resp := message.Message{Token: m.Token, Code: m.Code, Type: m.Type, MessageID: m.MessageID, Payload: ct}
			resp.Options = resp.Options.Add(message.Option{ID: optOSCORE, Value: ov.Marshal()})
			out, rep, err := UnprotectResponse(b2, resp)
			checkReport(t, rep)
			if err == nil && (len(plaintext) == 0 || byte(out.Code) != plaintext[0]) {
				t.Fatalf("accepted plaintext %x as code %v", plaintext, out.Code)
			}
		}
	})
}
