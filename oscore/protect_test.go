package oscore

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// TestRoundTripEveryAlgorithm protects and verifies a request and a
// response with every AEAD and both HKDFs, checking nonce and tag sizes.
func TestRoundTripEveryAlgorithm(t *testing.T) {
	for _, alg := range AEADAlgs() {
		for _, h := range []HKDFAlg{HKDFSHA256, HKDFSHA512} {
			t.Run(alg.String()+"/"+h.String(), func(t *testing.T) {
				cli, srv := pair(t, alg, h)
				req := getRequest("/alarm_status")
				req.Payload = bytes.Repeat([]byte{0xab}, 64)
				prot, cb, rep, err := ProtectRequest(cli, req, ProtectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Complete().Nonce.Nonce) != alg.NonceLen() || len(prot.Payload) != len(rep.Plaintext)+alg.TagLen() {
					t.Fatalf("nonce %d, ct %d, pt %d", len(rep.Nonce.Nonce), len(prot.Payload), len(rep.Plaintext))
				}
				rep.Complete()
				if len(rep.Nonce.PaddedIDPIV) != alg.NonceLen()-5 || len(rep.Nonce.PaddedPIV) != 5 {
					t.Fatalf("nonce parts %x %x", rep.Nonce.PaddedIDPIV, rep.Nonce.PaddedPIV)
				}
				got, sb, _, err := UnprotectRequest(prot, recipientLookup(srv))
				if err != nil {
					t.Fatal(err)
				}
				if FormatMessage(got) != FormatMessage(req) {
					t.Fatalf("request\n got %s\nwant %s", FormatMessage(got), FormatMessage(req))
				}
				for _, piv := range []bool{false, true} {
					resp := contentResponse("hello")
					// A fresh binding per response: only one response per request is accepted.
					sbb, cbb := sb, cb
					if piv {
						prot2, cb2, _, _ := ProtectRequest(cli, req, ProtectOptions{})
						_, sb2, _, err := UnprotectRequest(prot2, recipientLookup(srv))
						if err != nil {
							t.Fatal(err)
						}
						sbb, cbb = sb2, cb2
					}
					pr, rrep, err := ProtectResponse(sbb, resp, ProtectOptions{ResponsePIV: piv})
					if err != nil {
						t.Fatal(err)
					}
					if pr.Code != codes.Changed || (rrep.Complete().PartialIV != nil) != piv {
						t.Fatalf("response code %v piv %x", pr.Code, rrep.PartialIV)
					}
					back, _, err := UnprotectResponse(cbb, pr)
					if err != nil {
						t.Fatalf("piv=%v: %v", piv, err)
					}
					if back.Code != codes.Content || string(back.Payload) != "hello" {
						t.Fatalf("response %s", FormatMessage(back))
					}
				}
			})
		}
	}
}

// TestOuterCodesAndClasses checks RFC 8613 4.1 and 4.2: Class E options
// inside, Class U outside, outer POST / 2.04, report entries.
func TestOuterCodesAndClasses(t *testing.T) {
	cli, _ := pair(t, 0, 0)
	req := getRequest("/a/b")
	req = withOption(req, optURIPort, []byte{0x16, 0x33})
	req = withOption(req, optETag, []byte{1})
	req = withOption(req, optHopLimit, []byte{16})
	req = withOption(req, 65000, []byte{7})
	req = withOption(req, optURIQuery, []byte("q=1"))
	prot, _, rep, err := ProtectRequest(cli, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if prot.Code != codes.POST {
		t.Fatalf("outer code %v", prot.Code)
	}
	var outer []string
	for _, o := range prot.Options {
		outer = append(outer, OptionName(uint16(o.ID)))
	}
	if got := strings.Join(outer, ","); got != "Uri-Host,Uri-Port,OSCORE,Hop-Limit" {
		t.Fatalf("outer options %s", got)
	}
	where := map[string]string{}
	for _, o := range rep.Complete().Options {
		where[o.Name] = o.Where + "/" + o.Class
	}
	want := map[string]string{"Uri-Host": "outer/U", "Uri-Port": "outer/U", "ETag": "inner/E", "Uri-Path": "inner/E",
		"Hop-Limit": "outer/U", "Option 65000": "inner/E", "Uri-Query": "inner/E"}
	for k, v := range want {
		if where[k] != v {
			t.Errorf("%s: %s, want %s", k, where[k], v)
		}
	}
	// Plaintext = GET, ETag, Uri-Path a, Uri-Path b, Uri-Query, Option 65000.
	pt := rep.Plaintext
	if pt[0] != byte(codes.GET) {
		t.Fatalf("plaintext code %x", pt[0])
	}
	inner, payload, err := parseOptions(pt[1:], nil)
	if err != nil || payload != nil || len(inner) != 5 {
		t.Fatalf("plaintext options %v %v %x", inner, err, payload)
	}
}

// TestEscalationRule: a ClassRule turns U options into E for a layer and
// the previous layer's OSCORE option becomes Inner (draft 2.2, B.1).
func TestEscalationRule(t *testing.T) {
	cliS, srvS := pair(t, 0, 0)
	cliP := mustContext(t, "C-P", Params{MasterSecret: []byte("proxy secret"), SenderID: []byte{0x20}, RecipientID: []byte{0x21}})
	srvP := mustContext(t, "P-C", Params{MasterSecret: []byte("proxy secret"), SenderID: []byte{0x21}, RecipientID: []byte{0x20}})
	req := getRequest("/alarm_status")
	req = withOption(req, optProxyScheme, []byte("coap"))
	e2e, _, _, err := ProtectRequest(cliS, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The end-to-end layer left Uri-Host and Proxy-Scheme outer.
	if !e2e.Options.HasOption(optURIHost) || !e2e.Options.HasOption(optProxyScheme) {
		t.Fatalf("e2e outer: %s", FormatMessage(e2e))
	}
	rule := func(opt uint16, opts message.Options) RuleResult {
		// C->P layer: everything meant for P is escalated (B.1).
		return RuleResult{Class: ClassE, Steps: []int{1, 2, 3, 5, 6, 8}, Original: originalClass(opt)}
	}
	outer, _, rep, err := ProtectRequest(cliP, e2e, ProtectOptions{Rule: rule})
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatMessage(outer); !strings.HasPrefix(got, "POST 0x8c OSCORE [kid:20, piv:00] payload(") {
		t.Fatalf("outer %s", got)
	}
	for _, o := range rep.Complete().Options {
		if o.Name == "OSCORE" && (!o.Escalated || o.Where != "inner" || len(o.Steps) != 6) {
			t.Errorf("OSCORE report %+v", o)
		}
	}
	// P removes its layer: Uri-Host, inner OSCORE, Proxy-Scheme reappear.
	mid, _, prep, err := UnprotectRequest(outer, recipientLookup(srvP))
	if err != nil {
		t.Fatal(err)
	}
	if FormatMessage(mid) != FormatMessage(e2e) {
		t.Fatalf("after P\n got %s\nwant %s", FormatMessage(mid), FormatMessage(e2e))
	}
	escalated := 0
	for _, o := range prep.Complete().Options {
		if o.Escalated {
			escalated++
		}
	}
	if escalated != 3 {
		t.Fatalf("%d escalated options reported", escalated)
	}
	final, _, _, err := UnprotectRequest(mid, recipientLookup(srvS))
	if err != nil {
		t.Fatal(err)
	}
	if FormatMessage(final) != FormatMessage(req) {
		t.Fatalf("final %s", FormatMessage(final))
	}
	// A rule that leaves the old OSCORE option outer is refused.
	keepU := func(opt uint16, opts message.Options) RuleResult { return RuleResult{Class: ClassU, Original: ClassU} }
	if _, _, _, err := ProtectRequest(cliP, e2e, ProtectOptions{Rule: keepU}); err == nil {
		t.Fatal("two OSCORE options produced")
	}
}

// TestProxyURIDecomposition follows RFC 8613 4.1.3.3's example.
func TestProxyURIDecomposition(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	req := message.Message{Code: codes.GET, Token: message.Token{1}, Type: message.Confirmable, MessageID: 1}
	req.Options = req.Options.Add(message.Option{ID: optProxyURI, Value: []byte("coap://example.com/resource?q=1")})
	prot, _, rep, err := ProtectRequest(cli, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := findOption(prot.Options, optProxyURI); string(v) != "coap://example.com" {
		t.Fatalf("outer Proxy-Uri %q", v)
	}
	got, _, _, err := UnprotectRequest(prot, recipientLookup(srv))
	if err != nil {
		t.Fatal(err)
	}
	if s := FormatMessage(got); s != `GET 0x01 Uri-Path "resource" Uri-Query "q=1" Proxy-Uri "coap://example.com"` {
		t.Fatalf("server sees %s", s)
	}
	const note = `Proxy-Uri decomposed: outer "coap://example.com", 1 Uri-Path and 1 Uri-Query inner (RFC 8613 4.1.3.3)`
	if opts := rep.Complete().Options; len(opts) != 1 || opts[0].Note != note || opts[0].Where != "outer" {
		t.Errorf("Proxy-Uri row %+v, want note %q", opts, note)
	}
	if len(rep.Notes) == 0 {
		t.Fatal("no note")
	}
	for _, tc := range []struct{ in, outer, path, query string }{
		{"coap://[2001:db8::1]:5683/", "coap://[2001:db8::1]", "", ""},
		{"coaps://h:1234/a%2Fb/c?x&y=%20", "coaps://h:1234", "a/b|c", "x|y= "},
		{"coap://h", "coap://h", "", ""},
	} {
		o, p, q, err := decomposeProxyURI(tc.in)
		if err != nil || o != tc.outer || strings.Join(p, "|") != tc.path || strings.Join(q, "|") != tc.query {
			t.Errorf("%s: %q %q %q %v", tc.in, o, p, q, err)
		}
	}
	for _, bad := range []string{"/relative", "coap://h/x#frag", "mailto:x@y", "coap://h/%zz"} {
		if _, _, _, err := decomposeProxyURI(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestObserve: outer FETCH and inner+outer Observe for the registration,
// notifications with 2.05 and empty inner Observe, ordered by Partial IV,
// at most one without Partial IV (RFC 8613 4.1.3.5, 7.4.1).
func TestObserve(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	req := withOption(getRequest("/temp"), optObserve, []byte{})
	prot, cb, rep, err := ProtectRequest(cli, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if prot.Code != codes.FETCH || !prot.Options.HasOption(optObserve) || !cb.Observe {
		t.Fatalf("registration %s", FormatMessage(prot))
	}
	if !bytes.Contains(rep.Plaintext, []byte{0x60}) { // Observe delta 6, length 0
		t.Fatalf("no inner Observe in %x", rep.Plaintext)
	}
	_, sb, _, err := UnprotectRequest(prot, recipientLookup(srv))
	if err != nil || !sb.Observe {
		t.Fatalf("server: %v %v", err, sb)
	}
	notify := func(seq uint32, piv bool) message.Message {
		n := contentResponse("21 C")
		n = withOption(n, optObserve, encodeUint(uint64(seq)))
		out, nrep, err := ProtectResponse(sb, n, ProtectOptions{ResponsePIV: piv})
		if err != nil {
			t.Fatal(err)
		}
		if out.Code != codes.Content {
			t.Fatalf("notification outer code %v", out.Code)
		}
		if v, _ := findOption(out.Options, optObserve); decodeUint(v) != uint64(seq) {
			t.Fatalf("outer Observe %x", v)
		}
		if !bytes.HasPrefix(nrep.Plaintext, []byte{byte(codes.Content), 0x60}) {
			t.Fatalf("inner Observe not empty: %x", nrep.Plaintext)
		}
		return out
	}
	first := notify(2, false) // first response: no Partial IV
	n2 := notify(3, false)    // later ones always have one
	n3 := notify(4, true)
	if _, _, err := UnprotectResponse(cb, n3); err != nil {
		t.Fatal(err)
	}
	// n2 has a lower Partial IV than n3: stale.
	if _, _, err := UnprotectResponse(cb, n2); !errors.Is(err, ErrReplay) || !errors.Is(err, ErrResponseNotVerified) {
		t.Fatalf("older notification: %v", err)
	}
	if _, _, err := UnprotectResponse(cb, first); err != nil {
		t.Fatalf("first notification without Partial IV: %v", err)
	}
	if _, _, err := UnprotectResponse(cb, first); !errors.Is(err, ErrReplay) {
		t.Fatalf("second notification without Partial IV: %v", err)
	}
	if cb.NotificationNumber() != 1 {
		t.Fatalf("notification number %d", cb.NotificationNumber())
	}
	// A notification to a non-Observe request is refused (RFC 8613 4.1.3.5.2).
	plain, pcb, _, _ := ProtectRequest(cli, getRequest("/temp"), ProtectOptions{})
	_, psb, _, err := UnprotectRequest(plain, recipientLookup(srv))
	if err != nil {
		t.Fatal(err)
	}
	psb.Observe = true // server misbehaves
	bad, _, _ := ProtectResponse(psb, withOption(contentResponse("x"), optObserve, []byte{5}), ProtectOptions{})
	if _, _, err := UnprotectResponse(pcb, bad); !errors.Is(err, ErrResponseNotVerified) {
		t.Fatalf("notification to plain request: %v", err)
	}
}

// TestOneResponsePerRequest: without Observe only one response is
// accepted (RFC 8613 7.4).
func TestOneResponsePerRequest(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	prot, cb, _, _ := ProtectRequest(cli, getRequest("/"), ProtectOptions{})
	_, sb, _, _ := UnprotectRequest(prot, recipientLookup(srv))
	r1, _, _ := ProtectResponse(sb, contentResponse("1"), ProtectOptions{})
	r2, rep2, _ := ProtectResponse(sb, contentResponse("2"), ProtectOptions{})
	if rep2.Complete().PartialIV == nil {
		t.Fatal("second response without own Partial IV (draft 2.5.1)")
	}
	if _, _, err := UnprotectResponse(cb, r1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := UnprotectResponse(cb, r2); !errors.Is(err, ErrReplay) {
		t.Fatalf("second response: %v", err)
	}
}

// TestMultiResponse: a request that may draw several responses accepts
// at most one without Partial IV, treated as the oldest, and the others in
// increasing Partial IV order (draft 2.6.1); a replay of either is refused.
// Without the flag, TestOneResponsePerRequest.
func TestMultiResponse(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	prot, cb, _, _ := ProtectRequest(cli, getRequest("/"), ProtectOptions{})
	cb.MultiResponse = true
	_, sb, _, _ := UnprotectRequest(prot, recipientLookup(srv))
	first, _, _ := ProtectResponse(sb, contentResponse("1"), ProtectOptions{}) // no Partial IV
	second, _, _ := ProtectResponse(sb, contentResponse("2"), ProtectOptions{})
	third, _, _ := ProtectResponse(sb, contentResponse("3"), ProtectOptions{})
	fourth, _, _ := ProtectResponse(sb, contentResponse("4"), ProtectOptions{})
	for _, step := range []struct {
		name string
		msg  message.Message
		ok   bool
	}{
		{"third (own Partial IV)", third, true},
		{"first, without Partial IV, after a newer one", first, true},
		{"second, Partial IV below the third's", second, false},
		{"replayed third", third, false},
		{"replayed first: a second response without Partial IV", first, false},
		{"fourth (own Partial IV)", fourth, true},
	} {
		_, rep, err := UnprotectResponse(cb, step.msg)
		if (err == nil) != step.ok {
			t.Fatalf("%s: error %v, want ok=%v", step.name, err, step.ok)
		}
		if step.ok && (len(rep.Notes) == 0 || !strings.Contains(rep.Notes[len(rep.Notes)-1], "draft 2.6.1")) {
			t.Errorf("%s: notes %q", step.name, rep.Notes)
		}
	}
}

func TestNoResponseInnerOnly(t *testing.T) {
	cli, _ := pair(t, 0, 0)
	req := withOption(getRequest("/"), optNoResponse, []byte{26})
	prot, _, rep, err := ProtectRequest(cli, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if prot.Options.HasOption(optNoResponse) {
		t.Fatal("outer No-Response")
	}
	for _, o := range rep.Complete().Options {
		if o.Name == "No-Response" && o.Where != "inner" {
			t.Fatalf("No-Response %+v", o)
		}
	}
}

// TestStrictOptions: draft 2.2, a proxy protecting a message with an
// unrecognised option fails: 4.02 for a request, 5.02 for a response,
// before any sequence number is used.
func TestStrictOptions(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	req := withOption(getRequest("/"), 65001, []byte{1})
	_, _, _, err := ProtectRequest(cli, req, ProtectOptions{StrictOptions: true})
	var oe *Error
	if !errors.Is(err, ErrUnrecognisedOption) || !errors.As(err, &oe) || oe.Code != codes.BadOption {
		t.Fatalf("request: %v", err)
	}
	if cli.SenderSeq() != 0 {
		t.Fatal("sequence number used")
	}
	prot, _, _, _ := ProtectRequest(cli, getRequest("/"), ProtectOptions{})
	_, sb, _, _ := UnprotectRequest(prot, recipientLookup(srv))
	_, _, err = ProtectResponse(sb, withOption(contentResponse("x"), 65001, nil), ProtectOptions{StrictOptions: true})
	if !errors.Is(err, ErrUnrecognisedOption) || !errors.As(err, &oe) || oe.Code != codes.BadGateway {
		t.Fatalf("response: %v", err)
	}
}

// TestUnprotectErrors covers each RFC 8613 8.2 failure with its code and
// diagnostic payload.
func TestUnprotectErrors(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	good, _, _, _ := ProtectRequest(cli, getRequest("/"), ProtectOptions{})
	mutate := func(f func(m *message.Message)) message.Message {
		m := good
		m.Options = append(message.Options(nil), good.Options...)
		m.Payload = append([]byte(nil), good.Payload...)
		f(&m)
		return m
	}
	tests := []struct {
		name   string
		m      message.Message
		lookup ContextLookup
		want   *Error
		code   codes.Code
		diag   string
	}{
		{"no OSCORE option", getRequest("/"), recipientLookup(srv), ErrNotProtected, codes.Unauthorized, "OSCORE required"},
		{"no payload", mutate(func(m *message.Message) { m.Payload = nil }), recipientLookup(srv), ErrDecodeCOSE, codes.BadOption, "Failed to decode COSE"},
		{"two OSCORE options", mutate(func(m *message.Message) {
			m.Options = m.Options.Add(message.Option{ID: optOSCORE, Value: []byte{0x09, 0x01, 0x5f}})
		}), recipientLookup(srv), ErrDecodeCOSE, codes.BadOption, "Failed to decode COSE"},
		{"reserved flag", mutate(func(m *message.Message) {
			m.Options = m.Options.Set(message.Option{ID: optOSCORE, Value: []byte{0x89, 0x00, 0x5f}})
		}), recipientLookup(srv), ErrDecodeCOSE, codes.BadOption, "Failed to decode COSE"},
		{"Group Flag without a group context (RFC 10021 6)", mutate(func(m *message.Message) {
			v, _ := findOption(m.Options, optOSCORE)
			m.Options = m.Options.Set(message.Option{ID: optOSCORE, Value: append([]byte{v[0] | 0x20}, v[1:]...)})
		}), recipientLookup(srv), ErrDecodeCOSE, codes.BadOption, "Failed to decode COSE"},
		{"request without Partial IV", mutate(func(m *message.Message) {
			m.Options = m.Options.Set(message.Option{ID: optOSCORE, Value: []byte{0x08, 0x5f}})
		}), recipientLookup(srv), ErrDecodeCOSE, codes.BadOption, "Failed to decode COSE"},
		{"unknown kid", mutate(func(m *message.Message) {
			m.Options = m.Options.Set(message.Option{ID: optOSCORE, Value: []byte{0x09, 0x00, 0x77}})
		}), recipientLookup(srv), ErrContextNotFound, codes.Unauthorized, "Security context not found"},
		{"lookup error", good, func(kid, kidContext []byte) (*Context, error) { return nil, errors.New("db down") }, ErrContextNotFound, codes.Unauthorized, "Security context not found"},
		{"tampered ciphertext", mutate(func(m *message.Message) { m.Payload[3] ^= 0x40 }), recipientLookup(srv), ErrDecryptionFailed, codes.BadRequest, "Decryption failed"},
		{"short ciphertext", mutate(func(m *message.Message) { m.Payload = m.Payload[:4] }), recipientLookup(srv), ErrDecryptionFailed, codes.BadRequest, "Decryption failed"},
		{"wrong Partial IV", mutate(func(m *message.Message) {
			m.Options = m.Options.Set(message.Option{ID: optOSCORE, Value: []byte{0x09, 0x07, 0x5f}})
		}), recipientLookup(srv), ErrDecryptionFailed, codes.BadRequest, "Decryption failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, rep, err := UnprotectRequest(tt.m, tt.lookup)
			var oe *Error
			if !errors.Is(err, tt.want) || !errors.As(err, &oe) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if oe.Code != tt.code || oe.Diagnostic != tt.diag || !strings.HasPrefix(oe.Error(), "oscore: ") || rep == nil {
				t.Fatalf("code %v diag %q err %q", oe.Code, oe.Diagnostic, oe.Error())
			}
			resp, ok := ErrorResponse(tt.m, err)
			if !ok || resp.Code != tt.code || string(resp.Payload) != tt.diag || resp.Type != message.Acknowledgement {
				t.Fatalf("error response %s", FormatDatagram(resp))
			}
			if v, ok := findOption(resp.Options, optMaxAge); !ok || len(v) != 0 {
				t.Fatal("no Outer Max-Age 0")
			}
			if resp.Options.HasOption(optOSCORE) {
				t.Fatal("OSCORE error response must be unprotected")
			}
		})
	}
	if srv.Replay().Highest != -1 {
		t.Fatal("failures touched the replay window")
	}
}

// TestUnprotectResponseErrors: client-side failures are silent.
func TestUnprotectResponseErrors(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	prot, cb, _, _ := ProtectRequest(cli, getRequest("/"), ProtectOptions{})
	_, sb, _, _ := UnprotectRequest(prot, recipientLookup(srv))
	resp, _, _ := ProtectResponse(sb, contentResponse("hi"), ProtectOptions{})
	bad := resp
	bad.Payload = append([]byte(nil), resp.Payload...)
	bad.Payload[0] ^= 1
	_, _, err := UnprotectResponse(cb, bad)
	var oe *Error
	if !errors.Is(err, ErrDecryptionFailed) || !errors.Is(err, ErrResponseNotVerified) || !errors.As(err, &oe) || !oe.Silent {
		t.Fatalf("tampered response: %v", err)
	}
	if _, ok := ErrorResponse(bad, err); ok {
		t.Fatal("client failure produced an error response")
	}
	// The genuine response still verifies after the failed attempt.
	if _, _, err := UnprotectResponse(cb, resp); err != nil {
		t.Fatal(err)
	}
	flagged := resp
	flagged.Options = append(message.Options(nil), resp.Options...).Set(message.Option{ID: optOSCORE, Value: []byte{0x28, 0x01}})
	if _, _, err := UnprotectResponse(cb, flagged); !errors.Is(err, ErrDecodeCOSE) || !errors.Is(err, ErrResponseNotVerified) {
		t.Fatalf("group-mode response to an RFC 8613 context: %v", err)
	}
	plain := contentResponse("unprotected 4.01")
	if _, _, err := UnprotectResponse(cb, plain); !errors.Is(err, ErrNotProtected) || !errors.Is(err, ErrResponseNotVerified) {
		t.Fatalf("unprotected response: %v", err)
	}
}

func TestReportJSON(t *testing.T) {
	v := loadVectors(t)
	c := vectorContext(t, v, "C.1.1")
	_ = c.SetSenderSeq(20)
	req := decodeDatagram(t, unhex(t, v.Requests[0].Unprotected))
	_, _, rep, err := ProtectRequest(c, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"nonce":"4622d4dd6d944168eefb549868"`, `"aad":"8368456e63727970743040488501810a40411440"`,
		`"ciphertext":"612f1092f1776f1c1668b3825e"`, `"option":"[kid:, piv:14]"`, `"padded_piv":"0000000014"`,
		`"common_iv":"4622d4dd6d944168eefb54987c"`, `"info":"8540f60a634b657910"`, `"outer_code":"0.02"`, `"inner_code":"0.01"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report JSON lacks %s", want)
		}
	}
	if rep.Complete().AAD.Diag != `["Encrypt0", h'', << [1, [10], h'', h'14', h''] >>]` {
		t.Errorf("AAD diag %s", rep.AAD.Diag)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || !bytes.Equal(back.Ciphertext, rep.Ciphertext) {
		t.Fatalf("round trip: %v", err)
	}
	rep.Redact()
	if rep.Key.Key != nil {
		t.Fatal("Redact left the key")
	}
	// The key report is shared with the context: redacting one report
	// must not take the key from the next.
	if _, _, next, err := ProtectRequest(c, req, ProtectOptions{}); err != nil || next.Complete().Key.Key == nil {
		t.Fatalf("Redact cleared the context's key report (%v)", err)
	}
}

func TestErrorTable(t *testing.T) {
	seen := map[errKind]bool{}
	for _, e := range Errors() {
		if seen[e.kind] || e.Reason == "" || e.Section == "" || !strings.HasPrefix(e.Error(), "oscore: ") {
			t.Errorf("row %+v", e)
		}
		seen[e.kind] = true
		if !errors.Is(e.withDetail("x"), e) {
			t.Errorf("%v: detail breaks identity", e)
		}
	}
	if len(seen) != len(errorTable) {
		t.Fatalf("%d sentinels for %d rows", len(seen), len(errorTable))
	}
	if ErrHopLimit.CodeString() != "5.08" || ErrUnrecognisedOption.ResponseCode() != codes.BadGateway ||
		ErrProxyingNotSupported.CodeString() != "5.05" || ErrNotFound.CodeString() != "4.04" || ErrLayerLimit.CodeString() != "4.01" {
		t.Fatal("codes")
	}
	if errors.Is(ErrReplay, ErrContextNotFound) {
		t.Fatal("distinct rows match")
	}
}

// TestNestedResponse: a responder adding a second layer to a response
// protects the inner layer's empty OSCORE option (draft 2.5; examples B.2,
// B.3: "OSCORE: -" inside the outer ciphertext), and the client removes
// both layers in reverse order (draft 2.6).
func TestNestedResponse(t *testing.T) {
	cliS, srvS := pair(t, 0, 0)
	cliP := mustContext(t, "P-S", Params{MasterSecret: []byte("leg secret"), SenderID: []byte{0xd4}, RecipientID: []byte{0xd5}})
	srvP := mustContext(t, "S-P", Params{MasterSecret: []byte("leg secret"), SenderID: []byte{0xd5}, RecipientID: []byte{0xd4}})
	e2e, cbS, _, _ := ProtectRequest(cliS, getRequest("/alarm_status"), ProtectOptions{})
	leg, cbP, _, err := ProtectRequest(cliP, e2e, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mid, sbP, _, err := UnprotectRequest(leg, recipientLookup(srvP))
	if err != nil {
		t.Fatal(err)
	}
	_, sbS, _, err := UnprotectRequest(mid, recipientLookup(srvS))
	if err != nil {
		t.Fatal(err)
	}
	inner, _, err := ProtectResponse(sbS, contentResponse("0"), ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	outer, rep, err := ProtectResponse(sbP, inner, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Outer plaintext: 2.04, OSCORE (delta 9, length 0), payload marker.
	if !bytes.HasPrefix(rep.Plaintext, []byte{byte(codes.Changed), 0x90, 0xff}) {
		t.Fatalf("outer plaintext %x", rep.Plaintext)
	}
	if got := FormatMessage(outer); !strings.HasPrefix(got, "2.04 0x8c OSCORE - payload(") {
		t.Fatalf("outer %s", got)
	}
	back, _, err := UnprotectResponse(cbP, outer)
	if err != nil {
		t.Fatal(err)
	}
	final, _, err := UnprotectResponse(cbS, back)
	if err != nil {
		t.Fatal(err)
	}
	if final.Code != codes.Content || string(final.Payload) != "0" {
		t.Fatalf("final %s", FormatMessage(final))
	}
}

// TestBadBindings: hand-made bindings that cannot give a valid nonce are
// refused, never handed to the AEAD; identities too long for a Binding are
// refused when it is made.
func TestBadBindings(t *testing.T) {
	cli, _ := pair(t, 0, 0)
	for _, b := range []*Binding{nil, {}, {Ctx: cli}, {Ctx: cli, nonce: nonceBuf{n: 12}}} {
		if _, _, err := ProtectResponse(b, contentResponse("x"), ProtectOptions{}); err == nil {
			t.Errorf("ProtectResponse accepted %+v", b)
		}
		resp := contentResponse("x")
		resp.Options = resp.Options.Add(message.Option{ID: optOSCORE, Value: []byte{}})
		if _, _, err := UnprotectResponse(b, resp); err == nil {
			t.Errorf("UnprotectResponse accepted %+v", b)
		}
	}
	if _, _, _, err := ProtectRequest(nil, getRequest("/"), ProtectOptions{}); err == nil {
		t.Error("nil context accepted")
	}
	long := getRequest("/")
	long.Token = make(message.Token, message.MaxTokenSize+1)
	if _, _, _, err := ProtectRequest(cli, long, ProtectOptions{}); err == nil || !strings.Contains(err.Error(), "token of 9") {
		t.Errorf("token of 9 bytes: %v", err)
	}
	for _, c := range []struct{ kid, piv []byte }{{make([]byte, maxIDLen+1), []byte{1}}, {nil, make([]byte, maxPIVLen+1)}} {
		if _, err := newBinding(cli, c.kid, c.piv, nil, false, nil); err == nil {
			t.Errorf("binding made for kid %x, Partial IV %x", c.kid, c.piv)
		}
	}
	if _, _, _, err := ProtectRequest(cli, contentResponse("x"), ProtectOptions{}); err == nil {
		t.Error("response code protected as a request")
	}
	if _, _, _, err := UnprotectRequest(getRequest("/"), nil); err == nil {
		t.Error("nil lookup accepted")
	}
}

// TestLayerAllocations holds the allocation budget of one layer, for every
// algorithm (issue target: under 10): a request's protect and unprotect
// each make one allocation, its report box holding the binding and the
// returned message, when the message fits the box's room; a larger one
// costs one more each, for its bytes.
func TestLayerAllocations(t *testing.T) {
	for _, alg := range AEADAlgs() {
		cli, srv := pair(t, alg, 0)
		srv = mustContext(t, "S-allocs", withWindow(srv.Params(), 64))
		lookup := fixedLookup(srv)
		for _, c := range []struct {
			payload int
			want    float64
		}{{64, 2}, {1024, 4}} {
			m := getRequest("/sensors/temp")
			m.Payload = bytes.Repeat([]byte{0x42}, c.payload)
			n := testing.AllocsPerRun(200, func() {
				p, _, _, err := ProtectRequest(cli, m, ProtectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if _, _, _, err := UnprotectRequest(p, lookup); err != nil {
					t.Fatal(err)
				}
			})
			if n != c.want {
				t.Errorf("%v, %d-byte payload: protect+unprotect allocates %v times; want %v", alg, c.payload, n, c.want)
			}
		}
	}
}

// TestAADLen checks that buffers sized by aadLen hold the AAD exactly,
// for every algorithm and request kid and Partial IV lengths around the
// CBOR head sizes.
func TestAADLen(t *testing.T) {
	for _, alg := range AEADAlgs() {
		for _, kl := range []int{0, 1, 7, 23, 24, 255, 256} {
			for _, pl := range []int{0, 1, 5} {
				kid, piv := make([]byte, kl), make([]byte, pl)
				aad, _, _ := appendAAD(nil, alg, kid, piv)
				if n := aadLen(alg, kid, piv); n != len(aad) {
					t.Errorf("%v, kid %d bytes, piv %d bytes: aadLen = %d; the AAD has %d", alg, kl, pl, n, len(aad))
				}
			}
		}
	}
}

// TestReportBoxSizes keeps the report boxes inside the 768-byte size class
// (less the runtime's 8-byte header for objects with pointers of more than
// 512 bytes); growing a field past it costs every layer a larger
// allocation.
func TestReportBoxSizes(t *testing.T) {
	if n := unsafe.Sizeof(reportAndBinding{}); n > 768-8 {
		t.Errorf("request report box is %d bytes; the 768-byte class holds 760", n)
	}
	if n := unsafe.Sizeof(responseBox{}); n > 768-8 {
		t.Errorf("response report box is %d bytes; the 768-byte class holds 760", n)
	}
}

// TestReportManyOptions: a report with more option rows than its box
// holds keeps them all, in the order they were decided, at the cost of one
// allocation for the list.
func TestReportManyOptions(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	srv = mustContext(t, "S-many", withWindow(srv.Params(), 64))
	m := getRequest("/a/b/c/d/e") // Uri-Host and five Uri-Path: six rows
	var want []uint16
	for _, o := range m.Options {
		want = append(want, uint16(o.ID))
	}
	p, _, rep, err := ProtectRequest(cli, m, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint16
	for _, o := range rep.Complete().Options {
		got = append(got, o.Number)
	}
	if !slices.Equal(got, want) {
		t.Errorf("protect rows %v, want %v", got, want)
	}
	_, _, urep, err := UnprotectRequest(p, fixedLookup(srv))
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, o := range urep.Complete().Options {
		got = append(got, o.Number)
	}
	// The outer Uri-Host and OSCORE option, then the inner Uri-Path.
	if wantU := []uint16{optURIHost, optOSCORE, optURIPath, optURIPath, optURIPath, optURIPath, optURIPath}; !slices.Equal(got, wantU) {
		t.Errorf("unprotect rows %v, want %v", got, wantU)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, _, _, err := ProtectRequest(cli, m, ProtectOptions{}); err != nil {
			t.Fatal(err)
		}
	}); n != 2 {
		t.Errorf("protect of a request with six options allocates %v times; want 2 (the box and the longer row list)", n)
	}
}
