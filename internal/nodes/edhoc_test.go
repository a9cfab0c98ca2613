package nodes

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore/edhoc"
)

// The RFC 9529 traces as RFC 9528 A.2.1 frames them (oscore/edhoc's
// testdata/edhoc-vectors.json, derived_coap_payloads), and the OSCORE
// Master Secret and Salt each gives.
var edhocTraces = []struct {
	scenario                      string
	first                         [][]byte // payloads before message_1: the refused attempt and its error
	request1, response2, request3 string
	secret, salt                  string
}{
	{"edhoc-rfc9529-1", nil,
		"f50000582031f82c7b5b9cbbf0f194d913cc12ef1532d328ef32632a4881a1c0701e237f042d",
		"5872dc88d2d51da5ed67fc4616356bc8ca74ef9ebe8b387e623a360ba480b9b29d1cbc26dd270fe9c02c44ce3934794b1cc62ba22f05459f8d358c8d12275ac42c5f96ded5f13cc9084e5b201889a45e5a60a5562dc118619c3daa2fd9f4c9f4d6edad109dd4edf95962aafbaf9ab3f4a1f6b98f",
		"4118585825c345884aaaeb22c527f9b1d2b6787207e0163c69b62a0d43928150427203c31674e4514ea6e383b566eb29763efeb0afa518776ae1c65f856d84bf32af3a7836970466dcb71f76745d39d3025e7703e0c032ebad51947c",
		"1e1c6beac3a8a1cac435de7e2f9ae7ff", "ce7ab844c0106d73"},
	{"edhoc-rfc9529-2", [][]byte{nil, {0x02, 0x02}},
		"f50382060258208af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3b637",
		"582b419701d7f00a26c2dc587a36dd752549f33763c893422c8ea0f955a13a4ff5d59862a1eef9e0e7e1886fcd",
		"2752e562097bc417dd5919485ac7891ffd90a9fc",
		"f9868f6a3aca78a05d1485b35030b162", "ada24c7dbfc85eeb"},
}

// TestEDHOCStep runs each RFC 9529 trace between a client and a server
// over the lab's links (trace 2 with its refused suite 6 first) and checks
// message_1 to message_3 byte for byte on the wire; the context EDHOC
// gives then protects a GET.
func TestEDHOCStep(t *testing.T) {
	for _, tr := range edhocTraces {
		t.Run(tr.scenario, func(t *testing.T) {
			s := builtinScenario(t, tr.scenario)
			lab, bus := startLab(t, s)
			if _, _, err := lab.topo.Load().contextFor("CTX_C_S", "C"); err == nil {
				t.Fatal("the EDHOC context exists before its step ran")
			}
			if r := send(t, lab, s.Steps[0]); !r.OK || r.Code != "2.04" {
				t.Fatalf("EDHOC step: %+v", r)
			}
			var payloads [][]byte
			for _, e := range bus.Recent() {
				if e.Type == trace.TypeDatagram {
					if m := decode(t, e.Bytes); len(m.Payload) > 0 {
						payloads = append(payloads, m.Payload)
					}
				}
			}
			want := append(append([][]byte{}, tr.first...), hx(tr.request1), hx(tr.response2), hx(tr.request3))
			if len(payloads) != len(want) {
				t.Fatalf("%d payloads on the wire: %x", len(payloads), payloads)
			}
			for i, w := range want {
				if w != nil && !bytes.Equal(payloads[i], w) {
					t.Errorf("payload %d = %x, want %x", i, payloads[i], w)
				}
			}
			var got []string
			for _, e := range eventsOf(bus, trace.TypeDecision, 0) {
				if e.Decision.Rule == trace.RuleEDHOC {
					got = append(got, e.Node+":"+e.Decision.Step)
				}
			}
			want1 := []string{"S:message_1", "S:message_2", "C:message_2", "S:message_3", "C:message_3"}
			if tr.first != nil {
				want1 = append([]string{"S:message_1", "C:6.3"}, want1...)
			}
			if strings.Join(got, " ") != strings.Join(want1, " ") {
				t.Errorf("edhoc decisions %v, want %v", got, want1)
			}
			c := lab.Scenario().Contexts[0]
			if c.MasterSecret != tr.secret || c.MasterSalt != tr.salt {
				t.Fatalf("context after EDHOC: secret %s salt %s", c.MasterSecret, c.MasterSalt)
			}
			if r := send(t, lab, s.Steps[1]); !r.OK || r.Payload != "0" {
				t.Fatalf("GET under the EDHOC context: %+v", r)
			}
			checkEDHOCCards(t, lab, bus, tr.secret)
		})
	}
}

// checkEDHOCCards finds the Initiator's message_3 decision: its items and
// the key schedule's cards up to the OSCORE Master Secret, which an
// exported trace drops unless secrets are included.
func checkEDHOCCards(t *testing.T, lab *Lab, bus *trace.Bus, secret string) {
	t.Helper()
	var part *trace.EDHOCPart
	for _, e := range eventsOf(bus, trace.TypeDecision, 0) {
		if d := e.Decision; d.EDHOC != nil && e.Node == "C" && d.EDHOC.Message == "message_3" {
			part = d.EDHOC
		}
	}
	if part == nil || part.Role != "initiator" || part.Session != "CTX_C_S" || len(part.Fields) < 3 || part.Fields[0].Name != "CIPHERTEXT_3" {
		t.Fatalf("message_3 part %+v", part)
	}
	cards := map[string]trace.EDHOCCard{}
	for _, c := range part.Cards {
		cards[c.Name] = c
	}
	for _, name := range []string{"h_message_1", "th_2", "prk_2e", "prk_3e2m", "mac_2", "th_3", "prk_4e3m", "mac_3", "k_3", "iv_3", "th_4", "prk_out", "prk_exporter"} {
		if _, ok := cards[name]; !ok {
			t.Errorf("no card %s", name)
		}
	}
	ms := cards["master_secret"]
	if ms.Output != secret || !ms.Secret || ms.InfoDiag != "0, h'', 16" {
		t.Fatalf("master_secret card %+v", ms)
	}
	for _, include := range []bool{false, true} {
		var buf bytes.Buffer
		if err := trace.WriteJSON(&buf, lab.Trace(), include); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(buf.String(), `"output":"`+secret+`"`); got != include {
			t.Errorf("exported with secrets %v: Master Secret card output present %v", include, got)
		}
		if !strings.Contains(buf.String(), `"name":"th_2"`) {
			t.Error("exported trace lacks the TH_2 card")
		}
	}
}

// TestEDHOCThroughProxy runs draft-b4: EDHOC with P (C_R 0x20 sent as
// the integer 20), then with S through P under CTX_C_P (C_R 0x5f sent as
// 41 5f, plain on the P-S leg), then B.1's GET with both contexts.
func TestEDHOCThroughProxy(t *testing.T) {
	_, bus := runAllSteps(t, "draft-b4")
	var toP, toS bool
	for _, e := range bus.Recent() {
		if e.Type != trace.TypeDatagram {
			continue
		}
		m := decode(t, e.Bytes)
		first, cR, _, err := edhoc.ParseRequestPayload(m.Payload)
		if err != nil || first || m.Code != codes.POST {
			continue
		}
		toP = toP || bytes.Equal(cR, []byte{0x20}) && m.Payload[0] == 0x20
		toS = toS || bytes.Equal(cR, []byte{0x5f}) && bytes.HasPrefix(m.Payload, []byte{0x41, 0x5f})
	}
	if !toP || !toS {
		t.Fatalf("message_3 to P in clear %v, to S in clear on the P-S leg %v", toP, toS)
	}
}

// TestEDHOCResourceRefusesHostilePayloads feeds the server's
// /.well-known/edhoc malformed and out-of-order payloads: each gets a 4.00
// with Content-Format 64 and a well-formed EDHOC error message (RFC 9528
// A.2.3), and no session is left behind.
func TestEDHOCResourceRefusesHostilePayloads(t *testing.T) {
	lab, _ := startLab(t, builtinScenario(t, "edhoc-rfc9529-2"))
	srv := lab.topo.Load().nodes["S"]
	for _, p := range []string{
		"", "f5", "f5ff", "f500", "410e03", "60", "27",
		"2752e562097bc417dd5919485ac7891ffd90a9fc",                                           // message_3 of trace 2 with no session
		"f5030258208af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3b60e",       // unknown C_I
		"f50382060258208af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3",       // truncated: no C_I
		"f5039f0602ff58208af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3b637", // indefinite SUITES_I
	} {
		m := srv.edhocRespond(where{}, hx(p))
		cf, err := m.Options.ContentFormat()
		if m.Code != codes.BadRequest || err != nil || cf != edhoc.ContentFormatEDHOC {
			t.Errorf("payload %q: %v, Content-Format %v %v", p, m.Code, cf, err)
			continue
		}
		if _, err := edhoc.ParseError(m.Payload); err != nil {
			t.Errorf("payload %q: error message %x: %v", p, m.Payload, err)
		}
	}
	if n := len(lab.edhoc.responders); n != 0 {
		t.Errorf("%d sessions left behind", n)
	}
}

// TestEDHOCCombinedThroughProxy runs draft-b5: message_3 for P rides in
// the request that carries message_1 for S (EDHOC option outside, class
// U: P consumes it), message_3 for S in the GET (EDHOC option inside the
// C-P layer, class E, and outside again on the P-S leg); no message_3
// travels on its own.
func TestEDHOCCombinedThroughProxy(t *testing.T) {
	lab, bus := runAllSteps(t, "draft-b5")
	var outerFromC, outerFromP int
	for _, e := range bus.Recent() {
		if e.Type != trace.TypeDatagram {
			continue
		}
		m := decode(t, e.Bytes)
		if first, _, _, err := edhoc.ParseRequestPayload(m.Payload); err == nil && !first && m.Code == codes.POST && !m.Options.HasOption(9) {
			t.Errorf("a message_3 travelled on its own: %x", m.Payload)
		}
		if !m.Options.HasOption(edhoc.OptionEDHOC) {
			continue
		}
		if _, _, err := edhoc.SplitCombinedPayload(m.Payload); err != nil {
			t.Errorf("combined request payload %x: %v", m.Payload, err)
		}
		switch e.From {
		case "C":
			outerFromC++
		case "P":
			outerFromP++
		}
	}
	// C->P: only the combined request for P shows the option outside; the
	// one for S hides it in the C-P layer. P->S: the one for S.
	if outerFromC != 1 || outerFromP != 1 {
		t.Fatalf("EDHOC option outside: %d datagrams from C, %d from P; want 1 and 1", outerFromC, outerFromP)
	}
	if lab.edhoc.combining.Load() != 0 {
		t.Fatalf("combined-request state left: %d", lab.edhoc.combining.Load())
	}
}

// runAllSteps runs every step of a built-in, each of which must pass.
func runAllSteps(t *testing.T, name string) (*Lab, *trace.Bus) {
	t.Helper()
	s := builtinScenario(t, name)
	lab, bus := startLab(t, s)
	for _, st := range s.Steps {
		if r := send(t, lab, st); !r.OK {
			t.Fatalf("%s: %+v", st.Name, r)
		}
	}
	return lab, bus
}

// TestEDHOCCombinedContextWaitsForMessage3: after message_2 the client
// holds CTX_C_P, but P may not use it before it has processed message_3
// (RFC 9668 3.3.1): a request under CTX_C_P without message_3 is refused
// as if P had no such context.
func TestEDHOCCombinedContextWaitsForMessage3(t *testing.T) {
	s := builtinScenario(t, "draft-b5")
	lab, _ := startLab(t, s)
	if r := send(t, lab, s.Steps[0]); !r.OK {
		t.Fatalf("EDHOC with P: %+v", r)
	}
	if lab.takeCombined("CTX_C_P") == nil {
		t.Fatal("no message_3 kept for the combined request")
	}
	st := s.Steps[1]
	st.EDHOC, st.Method, st.URI, st.Route, st.ProxyStyle = "", "GET", "coap://proxy.example/anything", nil, ""
	st.Expect = &scenario.Expect{Code: "4.01"}
	if r := send(t, lab, st); !r.OK {
		t.Fatalf("request under CTX_C_P before message_3: %+v", r)
	}
	if !lab.awaitingMessage3("CTX_C_P") {
		t.Fatal("P no longer waits for message_3")
	}
}
