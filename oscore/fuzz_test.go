package oscore

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
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
// valid OSCORE option and verifies it.
func FuzzUnprotectRequest(f *testing.F) {
	addVectorSeeds(f, func(raw []byte) { f.Add(raw, []byte{0x01, 0xb3, 't', 'v', '1'}) })
	f.Add([]byte{0x44, 0x02, 0, 1, 1, 2, 3, 4, 0x92, 0x09, 0x00, 0xff, 0x00}, []byte{0x45, 0xff})
	cli, srv := fuzzContexts(f)
	f.Fuzz(func(t *testing.T, raw, plaintext []byte) {
		srv.ResetReplay()
		lookup := func(kid, kidContext []byte) (*Context, error) {
			if len(kid) == 0 {
				return srv, nil
			}
			return nil, nil
		}
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
		}
		// A genuine ciphertext of an arbitrary plaintext.
		if len(plaintext) > 1024 {
			return
		}
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
		sealed := message.Message{Token: m.Token, Code: m.Code, Type: m.Type, MessageID: m.MessageID, Options: opts, Payload: ct}
		out, _, rep, err = UnprotectRequest(sealed, lookup)
		checkReport(t, rep)
		if err == nil && (len(plaintext) == 0 || byte(out.Code) != plaintext[0]) {
			t.Fatalf("accepted plaintext %x as code %v", plaintext, out.Code)
		}
	})
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
