package trace

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"oscore-lab/oscore"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeDatagram(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		// RFC 8613 C.4 protected request.
		{"C.4", "44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e",
			`CON POST  MID 0x5d1f  Token 0x00003974  Uri-Host "localhost", OSCORE [kid:, piv:14], 0xff, 0x612f1092f1776f1c1668b3825e`},
		// RFC 8613 C.6: kid context in the option.
		{"C.6", "44022f8eef9bbf7a396c6f63616c686f73746b19140837cbf3210017a2d3ff72cd7273fd331ac45cffbe55c3",
			`CON POST  MID 0x2f8e  Token 0xef9bbf7a  Uri-Host "localhost", OSCORE [kid:, piv:14, kidctx:37cbf3210017a2d3], 0xff, 0x72cd7273fd331ac45cffbe55c3`},
		// RFC 8613 C.7 protected response: empty OSCORE option.
		{"C.7", "64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106",
			`ACK 2.04  MID 0x5d1f  Token 0x00003974  OSCORE -, 0xff, 0xdbaad1e9a7e7b2a813d3c31524378303cdafae119106`},
		// RFC 8613 C.4 unprotected request: printable payload-free GET.
		{"C.4 plain", "44015d1f00003974396c6f63616c686f737483747631",
			`CON GET  MID 0x5d1f  Token 0x00003974  Uri-Host "localhost", Uri-Path "tv1"`},
		{"empty ACK", "60000001", `ACK Empty  MID 0x0001`},
		{"text payload, uint option", "5045abcd" + "c10a" + "ff" + "3230", `NON 2.05  MID 0xabcd  Content-Format 10, 0xff, "20"`},
		{"unknown option", "5045abcd" + "e0fcdb", `NON 2.05  MID 0xabcd  Option 65000 -`},
		{"malformed OSCORE option", "40020001" + "91e0" + "ff00", `OSCORE 0xe0 (malformed: oscore: `},
		{"short", "40", `malformed CoAP (trace: CoAP message of 1 bytes is shorter than the 4-byte header): 0x40`},
		{"version 2", "80000001", `malformed CoAP (trace: CoAP version 2, want 1)`},
		{"tkl 9", "49000001", `malformed CoAP (trace: token length 9 is reserved (RFC 7252 3))`},
		{"truncated token", "42010001aa", `token truncated`},
		{"marker without payload", "40010001ff", `payload marker with no payload`},
		{"reserved delta", "40010001f0", `option delta nibble 15 is reserved`},
		{"truncated option", "4001000135aa", `option truncated: option 3 wants 5 bytes, 1 left`},
		{"empty with token", "41000001aa", `Empty message (code 0.00) with a token`},
	} {
		if got := DecodeDatagram(unhex(t, c.in)); !strings.Contains(got, c.want) {
			t.Errorf("%s: DecodeDatagram = %q, want it to contain %q", c.name, got, c.want)
		}
	}
}

func TestParseDatagramExtendedOptions(t *testing.T) {
	// Uri-Host (3), then Proxy-Scheme (39): delta 36 = 13 + 23 (0x17).
	b := unhex(t, "40010001"+"3161"+"d11762")
	d, err := ParseDatagram(b)
	must(t, err)
	if len(d.Options) != 2 || d.Options[1].Number != 39 || string(d.Options[1].Value) != "b" {
		t.Fatalf("options = %+v", d.Options)
	}
	// Delta 14: 269 + 0x0001 = 270 (even, elective: unknown).
	d, err = ParseDatagram(unhex(t, "40010001"+"e000010"+"0"))
	if err != nil || d.Options[0].Number != 270 {
		t.Fatalf("delta 14: %+v, %v", d, err)
	}
}

func TestInnerText(t *testing.T) {
	// RFC 8613 C.4 plaintext: GET, Uri-Path "tv1".
	r := &oscore.Report{Context: "CTX_C_S", Plaintext: unhex(t, "01b3747631")}
	if got, want := InnerText(r), `{CTX_C_S: GET, Uri-Path "tv1"}`; got != want {
		t.Errorf("InnerText = %s, want %s", got, want)
	}
	// RFC 8613 C.7 plaintext: 2.05, payload "Hello World!".
	r = &oscore.Report{Context: "CTX_C_S", Plaintext: unhex(t, "45ff48656c6c6f20576f726c6421")}
	if got, want := InnerText(r), `{CTX_C_S: 2.05, 0xff, "Hello World!"}`; got != want {
		t.Errorf("InnerText = %s, want %s", got, want)
	}
	r = &oscore.Report{Context: "X", Plaintext: unhex(t, "44ff00ff")}
	if got, want := InnerText(r), `{X: 2.04, 0xff, 0x00ff}`; got != want {
		t.Errorf("InnerText = %s, want %s", got, want)
	}
	if got := InnerText(&oscore.Report{Context: "X"}); !strings.Contains(got, "malformed plaintext") {
		t.Errorf("empty plaintext: %s", got)
	}
}

func TestEventString(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Seq: 1, Time: at, Type: TypeDatagram, Exchange: 1, Link: "C-P", From: "C", To: "P", Dir: DirACK, Bytes: unhex(t, "60000001")},
			"#1 ex1 hop0 datagram C -> P (link C-P) ack: ACK Empty  MID 0x0001"},
		{Event{Seq: 2, Type: TypeLayer, Exchange: 1, Hop: 1, Layer: 2, Node: "P", Dir: DirRequest,
			Layer_: &LayerEvent{Action: LayerRemoved, Report: &oscore.Report{Context: "CTX_C_P", Message: "request", Details: &oscore.Details{Option: "[kid:20, piv:31]"}}}},
			"#2 ex1 hop1 layer 2 P removed CTX_C_P request [kid:20, piv:31]"},
		{Event{Seq: 3, Type: TypeDecision, Exchange: 1, Node: "P", Decision: &Decision{Rule: RuleIncomingRequest, Step: "2->4", Section: "2.4", Outcome: "forward", Code: ""}},
			"#3 ex1 hop0 decision P incoming-request step 2->4 (2.4): forward"},
		{Event{Seq: 4, Type: TypeError, Exchange: 2, Node: "P", Error: &ErrorEvent{Code: "4.01", Diagnostic: "Security context not found", ProtectedBy: []string{"CTX_C_P"}, Section: "RFC 8613 8.2"}},
			`#4 ex2 hop0 error P 4.01 "Security context not found" protected by CTX_C_P (RFC 8613 8.2)`},
		{Event{Seq: 5, Type: TypeDelivery, Exchange: 1, Hop: 1, Node: "S", Delivery: &Delivery{Method: "GET", Resource: "/alarm_status"}},
			"#5 ex1 hop1 delivery S GET /alarm_status"},
		{Event{Seq: 6, Type: TypeFault, Link: "C-P", Fault: &Fault{Kind: "drop"}}, "#6 ex0 hop0 fault link C-P drop"},
		{Event{Seq: 7, Type: TypeExchange, Exchange: 3, Note: "start"}, "#7 ex3 hop0 exchange: start"},
		{Event{Type: TypeNotice, Note: "lost 3 events"}, "#0 ex0 hop0 notice: lost 3 events"},
	} {
		if got := c.e.String(); got != c.want {
			t.Errorf("String() = %q\n           want %q", got, c.want)
		}
	}
}

func FuzzParseDatagram(f *testing.F) {
	for _, s := range []string{
		"44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e",
		"64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106",
		"60000001", "40010001e0000100", "400100013161d11762",
	} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDatagram(b)
		s := DecodeDatagram(b)
		if err != nil {
			if !strings.HasPrefix(s, "malformed CoAP") {
				t.Fatalf("error %v but text %q", err, s)
			}
			return
		}
		if s != d.String() {
			t.Fatalf("DecodeDatagram and String disagree")
		}
		_, _, _, _ = ParsePlaintext(b)
	})
}
