package nodes

import (
	"testing"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// TestClientFeatures: Proxy-Uri through a forward-proxy (RFC 8613 4.1.3.3
// splits it), a NON request (answered by a CON response that the client
// ACKs, stack-notes 2.4 item 7), POST /echo, and /large reassembled from
// inner Block2 blocks (RFC 8613 4.1.3.4.1), all with two layers.
func TestClientFeatures(t *testing.T) {
	s := builtinScenario(t, "draft-b3")
	lab, bus := startLab(t, s)
	base := scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: []string{"P"}, Contexts: []string{"CTX_C_S", "CTX_C_P"}}

	uri := base
	uri.ProxyStyle = scenario.StyleProxyURI
	if r := send(t, lab, uri); r.Code != "2.05" || r.Payload != "0" {
		t.Errorf("proxy-uri: %+v", r)
	}

	non := base
	non.Type = "NON"
	r := send(t, lab, non)
	if r.Code != "2.05" || r.Payload != "0" {
		t.Errorf("NON: %+v", r)
	}
	var acks int
	for _, d := range datagrams(bus, r.Exchange) {
		if d.Dir == trace.DirACK {
			acks++
		}
	}
	if acks == 0 {
		t.Errorf("NON: no ACK of the CON responses on the wire")
	}

	echo := base
	echo.Method, echo.URI, echo.Payload = "POST", "coap://example.com/echo", "ping over two layers"
	if r := send(t, lab, echo); r.Code != "2.04" || r.Payload != "ping over two layers" {
		t.Errorf("echo: %+v", r)
	}

	large := base
	large.URI = "coap://example.com/large"
	r = send(t, lab, large)
	if r.Code != "2.05" || len(r.Payload) != 4096 || r.Payload != string(largeBody) {
		t.Errorf("large: code %s, %d bytes", r.Code, len(r.Payload))
	}
}
