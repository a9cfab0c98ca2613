package nodes

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// formsScenario: a client, a forward-proxy and a server named example.com,
// without contexts, so every option is on the wire.
func formsScenario() *scenario.Scenario {
	return &scenario.Scenario{Name: "forms",
		Nodes: []scenario.Node{
			{ID: "C", Role: scenario.RoleClient},
			{ID: "P", Role: scenario.RoleProxy, Forward: true, Authority: "proxy.example"},
			{ID: "S", Role: scenario.RoleServer, Authority: "example.com"},
		},
	}
}

// askRaw sends m to addr from a socket of its own and returns the answer:
// a peer outside the lab that builds its own options.
func askRaw(t *testing.T, addr string, m message.Message) message.Message {
	t.Helper()
	c, err := net.DialUDP("udp", nil, mustAddr(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m.Type, m.MessageID, m.Token = message.Confirmable, 0x4242, []byte{0x42}
	buf := make([]byte, 1500)
	n, err := coder.DefaultCoder.Encode(m, buf)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(8 * time.Second))
	if _, err := c.Write(buf[:n]); err != nil {
		t.Fatal(err)
	}
	for {
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no answer from %s: %v", addr, err)
		}
		r := decode(t, buf[:k])
		if r.Code != codes.Empty {
			return r
		}
	}
}

func optionNumbers(opts message.Options) []uint16 {
	var out []uint16
	for _, o := range opts {
		out = append(out, uint16(o.ID))
	}
	return out
}

// TestProxyURIForm: with the proxy-uri style the client sends Proxy-Uri
// and no Uri-* option beside it (RFC 7252 5.10.2), and the proxy that turns
// Proxy-Uri into Uri-* options keeps the query (RFC 7252 6.4 steps 8-9).
func TestProxyURIForm(t *testing.T) {
	lab, bus := startLab(t, formsScenario())
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status?x=1&y=a%26b", Route: []string{"P"}, ProxyStyle: "proxy-uri"})
	if r.Code != "2.05" {
		t.Fatalf("%+v", r)
	}
	dg := datagrams(bus, r.Exchange)
	first := decode(t, dg[0].Bytes)
	for _, num := range []uint16{optURIHost, optURIPort, optURIPath, optURIQuery} {
		if first.Options.HasOption(message.OptionID(num)) {
			t.Errorf("C -> P carries option %d beside Proxy-Uri: %v", num, optionNumbers(first.Options))
		}
	}
	var up message.Message
	for _, d := range dg {
		if d.From == "P" && d.To == "S" && d.Dir == trace.DirRequest {
			up = decode(t, d.Bytes)
		}
	}
	var q []string
	for _, o := range up.Options {
		if o.ID == optURIQuery {
			q = append(q, string(o.Value))
		}
	}
	if !slices.Equal(q, []string{"x=1", "y=a&b"}) {
		t.Errorf("P -> S Uri-Query %q, want [x=1 y=a&b]", q)
	}
}

// TestProxySchemeWithoutHost: Proxy-Scheme without Uri-Host names the
// request's destination address (RFC 7252 6.5 step 3), the proxy itself:
// a local request, which a proxy without an application answers 4.04.
func TestProxySchemeWithoutHost(t *testing.T) {
	lab, bus := startLab(t, formsScenario())
	m := message.Message{Code: codes.GET}
	m.Options, _, _ = m.Options.SetString(make([]byte, 4), optProxyScheme, "coap")
	m.Options, _, _ = m.Options.AddString(make([]byte, 12), optURIPath, "alarm_status")
	r := askRaw(t, nodeAddr(lab, "P"), m)
	if r.Code != codes.NotFound {
		t.Fatalf("answer %v %q, want 4.04 (a local request)", r.Code, r.Payload)
	}
	if !decided(bus, 0, "P", "4->1", "") {
		t.Error("no step 4 decision that the request names P itself")
	}
}

// TestProxyURISchemes: a forward-proxy refuses coaps, saying why (RFC 7252
// 5.10.2: 5.05 for a scheme it cannot handle), and takes the default port
// from the scheme.
func TestProxyURISchemes(t *testing.T) {
	lab, _ := startLab(t, formsScenario())
	ask := func(uri string) message.Message {
		m := message.Message{Code: codes.GET}
		m.Options, _, _ = m.Options.SetString(make([]byte, len(uri)), optProxyURI, uri)
		return askRaw(t, nodeAddr(lab, "P"), m)
	}
	if r := ask("coaps://example.com/alarm_status"); r.Code != codes.ProxyingNotSupported || !strings.Contains(string(r.Payload), "DTLS") {
		t.Errorf("coaps: %v %q, want 5.05 naming DTLS", r.Code, r.Payload)
	}
	if r := ask("coap://example.com/alarm_status"); r.Code != codes.Content {
		t.Errorf("coap: %v %q", r.Code, r.Payload)
	}
	if r := ask("coap://example.com:5683/alarm_status"); r.Code != codes.Content {
		t.Errorf("coap with the default port: %v %q", r.Code, r.Payload)
	}
	if r := ask("http://example.com/alarm_status"); r.Code != codes.ProxyingNotSupported {
		t.Errorf("http: %v %q, want 5.05", r.Code, r.Payload)
	}
}

// TestAcceptabilityFirst: the acceptability check of step 4 runs before the
// unknown-host check, so a client the proxy does not accept learns nothing
// about which hosts exist (draft 2.4 step 4).
func TestAcceptabilityFirst(t *testing.T) {
	s := formsScenario()
	s.Nodes[1].Allow = map[string][]string{"": {"S"}}
	lab, bus := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://nowhere.example/alarm_status", Route: []string{"P"}})
	if r.Code != "4.01" {
		t.Fatalf("%+v, want 4.01 before any unknown-host answer", r)
	}
	for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
		if e.Node == "P" && strings.Contains(e.Decision.Outcome, "no node answers") {
			t.Errorf("unknown-host decision before acceptability: %s", e.Decision.Outcome)
		}
	}
}

// TestClientRefusesCoaps: the lab's client cannot send coaps itself and
// says why; through a forward-proxy the proxy refuses it with 5.05.
func TestClientRefusesCoaps(t *testing.T) {
	lab, _ := startLab(t, formsScenario())
	_, err := lab.Send(t.Context(), scenario.Step{From: "C", Method: "GET", URI: "coaps://example.com/alarm_status"})
	if err == nil || !strings.Contains(err.Error(), "DTLS") {
		t.Errorf("direct coaps: %v, want an error naming DTLS", err)
	}
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coaps://example.com/alarm_status", Route: []string{"P"}})
	if r.Code != "5.05" || !strings.Contains(r.Payload, "DTLS") {
		t.Errorf("coaps through the forward-proxy: %+v", r)
	}
}
