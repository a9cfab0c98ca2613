package nodes

import (
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// criExampleCom is the CRI coap://example.com/alarm_status?x=1
// (draft-ietf-core-href, CRI = [scheme-id, authority, path, query]:
// [-1, ["example", "com"], ["alarm_status"], ["x=1"]]).
var criExampleCom = hx("842082676578616d706c6563636f6d816c616c61726d5f737461747573816378" + "3d31")

func withOption(m message.Message, num uint16, v []byte) message.Message {
	m.Options, _, _ = m.Options.AddBytes(make([]byte, len(v)), message.OptionID(num), v)
	return m
}

// TestProxyCriForwarded: a forward-proxy takes Proxy-Cri like Proxy-Uri
// (draft-ietf-core-href, CoAP Options for Forward-Proxies; draft 1.1 set
// (a)) and turns it into Uri-* options for the server, query included.
func TestProxyCriForwarded(t *testing.T) {
	lab, bus := startLab(t, formsScenario())
	r := askRaw(t, nodeAddr(lab, "P"), withOption(message.Message{Code: codes.GET}, optProxyCRI, criExampleCom))
	if r.Code != codes.Content || string(r.Payload) != "0" {
		t.Fatalf("Proxy-Cri through the forward-proxy: %v %q", r.Code, r.Payload)
	}
	var up message.Message
	for _, d := range eventsOf(bus, trace.TypeDatagram, 0) {
		if d.From == "P" && d.To == "S" && d.Dir == trace.DirRequest {
			up = decode(t, d.Bytes)
		}
	}
	host, _ := up.Options.GetString(optURIHost)
	q, _ := up.Options.GetString(optURIQuery)
	if host != "example.com" || q != "x=1" || up.Options.HasOption(optProxyCRI) || strings.Join(uriPath(up.Options), "/") != "alarm_status" {
		t.Errorf("P -> S options %v: want Uri-Host example.com, Uri-Path alarm_status, Uri-Query x=1 and no Proxy-Cri", optionNumbers(up.Options))
	}
}

// TestProxySchemeNumberForwarded: Proxy-Scheme-Number 0 (coap, an empty
// uint) with Uri-Host is forwarded like Proxy-Scheme (draft 1.1 set (b)).
func TestProxySchemeNumberForwarded(t *testing.T) {
	lab, _ := startLab(t, formsScenario())
	m := withOption(message.Message{Code: codes.GET}, optURIHost, []byte("example.com"))
	m = withOption(m, optURIPath, []byte("alarm_status"))
	m = withOption(m, optProxySchemeNumber, nil)
	if r := askRaw(t, nodeAddr(lab, "P"), m); r.Code != codes.Content {
		t.Errorf("Proxy-Scheme-Number 0: %v %q", r.Code, r.Payload)
	}
	m = withOption(m, optProxyScheme, []byte("coap"))
	if r := askRaw(t, nodeAddr(lab, "P"), m); r.Code != codes.BadRequest {
		t.Errorf("Proxy-Scheme beside Proxy-Scheme-Number: %v %q, want 4.00", r.Code, r.Payload)
	}
	n := withOption(message.Message{Code: codes.GET}, optURIHost, []byte("example.com"))
	n = withOption(n, optProxySchemeNumber, []byte{1})
	if r := askRaw(t, nodeAddr(lab, "P"), n); r.Code != codes.ProxyingNotSupported || !strings.Contains(string(r.Payload), "DTLS") {
		t.Errorf("Proxy-Scheme-Number 1 (coaps): %v %q, want 5.05 naming DTLS", r.Code, r.Payload)
	}
}

// TestProxyCriAtServer: a node that is not a forward-proxy answers 5.05 to
// Proxy-Cri and to Proxy-Scheme-Number (draft 2.4 step 2; RFC 7252 5.10.2).
func TestProxyCriAtServer(t *testing.T) {
	lab, bus := startLab(t, formsScenario())
	for _, m := range []message.Message{
		withOption(message.Message{Code: codes.GET}, optProxyCRI, criExampleCom),
		withOption(withOption(message.Message{Code: codes.GET}, optURIHost, []byte("example.com")), optProxySchemeNumber, nil),
	} {
		if r := askRaw(t, nodeAddr(lab, "S"), m); r.Code != codes.ProxyingNotSupported {
			t.Errorf("options %v at the server: %v %q, want 5.05", optionNumbers(m.Options), r.Code, r.Payload)
		}
	}
	var step2 int
	for _, e := range eventsOf(bus, trace.TypeDecision, 0) {
		if e.Node == "S" && e.Decision.Step == "2" {
			step2++
		}
	}
	if step2 != 2 {
		t.Errorf("%d step 2 decisions at S, want 2", step2)
	}
}

// TestUriPathAbbrev: Uri-Path-Abbrev 0 stands for /.well-known/core
// (draft-ietf-core-uri-path-abbrev); an unknown value, or one beside
// Uri-Path, is an unprocessable critical option: 4.02, not 4.04.
func TestUriPathAbbrev(t *testing.T) {
	s := formsScenario()
	s.Nodes[2].Resources = []string{".well-known/core=text:</alarm_status>"}
	lab, _ := startLab(t, s)
	ask := func(m message.Message) message.Message { return askRaw(t, nodeAddr(lab, "S"), m) }
	if r := ask(withOption(message.Message{Code: codes.GET}, optURIPathAbbrev, nil)); r.Code != codes.Content || string(r.Payload) != "</alarm_status>" {
		t.Errorf("Uri-Path-Abbrev 0: %v %q", r.Code, r.Payload)
	}
	if r := ask(withOption(message.Message{Code: codes.GET}, optURIPathAbbrev, []byte{0x27, 0x0f})); r.Code != codes.BadOption {
		t.Errorf("unknown Uri-Path-Abbrev value: %v %q, want 4.02", r.Code, r.Payload)
	}
	both := withOption(withOption(message.Message{Code: codes.GET}, optURIPath, []byte("x")), optURIPathAbbrev, nil)
	if r := ask(both); r.Code != codes.BadOption {
		t.Errorf("Uri-Path beside Uri-Path-Abbrev: %v %q, want 4.02", r.Code, r.Payload)
	}
}

// TestUnknownCriticalOption: an unknown critical option left once the last
// layer is off gets 4.02 (RFC 7252 5.4.1), protected by that layer, and
// never reaches the application.
func TestUnknownCriticalOption(t *testing.T) {
	s := builtinScenario(t, "rfc8613-c4-c7")
	lab, bus := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://localhost/hello", Contexts: []string{"CTX_C_S"},
		Options: []scenario.StepOption{{Number: 2049, Value: "01"}}})
	if r.Code != "4.02" || len(r.Layers) != 1 || !strings.Contains(r.Payload, "2049") {
		t.Fatalf("%+v, want 4.02 naming option 2049 under the end-to-end layer", r)
	}
	if n := len(eventsOf(bus, trace.TypeDelivery, r.Exchange)); n != 1 { // the client's delivery only
		t.Errorf("%d deliveries, want only the client's", n)
	}
}
