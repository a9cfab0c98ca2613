package nodes

import (
	"context"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"

	"oscore-lab/internal/scenario"
)

// TestClientFeatures: Proxy-Uri through a forward-proxy (RFC 8613 4.1.3.3
// splits it), a NON request (answered by NON responses on every leg,
// RFC 7252 5.2.3), POST /echo, and /large reassembled from
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
	// A NON request gets NON responses on every leg (RFC 7252 5.2.3), so
	// nothing is acknowledged.
	for _, d := range datagrams(bus, r.Exchange) {
		if typ := message.Type(d.Bytes[0] >> 4 & 3); typ != message.NonConfirmable {
			t.Errorf("NON: a %s datagram %s -> %s is %v", d.Dir, d.From, d.To, typ)
		}
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

// TestOutgoingLayerLimit: a client whose layer limit is below the layers a
// step asks for aborts the sending (draft 2.1): an error, and nothing on the
// wire. State reports the limit and the untouched sequence numbers.
func TestOutgoingLayerLimit(t *testing.T) {
	s := builtinScenario(t, "draft-b3")
	s.Nodes[0].LayerLimit = 1
	lab, bus := startLab(t, s)
	st := s.Steps[0]
	r, err := lab.Send(context.Background(), st)
	if err == nil || !strings.Contains(err.Error(), "layer limit") || r.OK {
		t.Fatalf("want an abort, got %+v %v", r, err)
	}
	if n := len(datagrams(bus, r.Exchange)); n != 0 {
		t.Errorf("%d datagrams sent", n)
	}
	for _, n := range lab.State().Nodes {
		if n.ID != "C" {
			continue
		}
		for _, c := range n.Contexts {
			if c.LayerLimit != 1 {
				t.Errorf("%s: layer limit %d", c.Name, c.LayerLimit)
			}
			if c.Name == "CTX_C_S" && c.SenderSeq != 42 {
				t.Errorf("CTX_C_S sender seq %d, want the pinned 42 (nothing protected)", c.SenderSeq)
			}
		}
	}
}
