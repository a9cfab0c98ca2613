package nodes

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// TestLocationAnonymity: a server behind a reverse-proxy accepts CTX_C_S
// only from the proxy (draft 2.4.1). Sent straight to the server, the same
// request gets an unprotected 4.01 "Security context not found", through
// the same lookup path as an unknown kid (draft 7.1), so the answer does
// not confirm that the address belongs to the server.
func TestLocationAnonymity(t *testing.T) {
	s := &scenario.Scenario{Name: "anonymity",
		Nodes: []scenario.Node{
			{ID: "C", Role: scenario.RoleClient},
			{ID: "P", Role: scenario.RoleProxy, Reverse: []scenario.ReverseRoute{{Host: "hidden.example", To: "S"}}},
			{ID: "S", Role: scenario.RoleServer, Authority: "direct.example", SourcePolicy: map[string][]string{"P": {"CTX_C_S"}}},
		},
		Contexts: []scenario.Context{{Name: "CTX_C_S", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
			A: scenario.Endpoint{Node: "C", SenderID: "5f", RecipientID: "01"}, B: scenario.Endpoint{Node: "S", SenderID: "01", RecipientID: "5f"}}},
	}
	lab, bus := startLab(t, s)
	via := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://hidden.example/alarm_status", Route: []string{"P"}, ProxyStyle: "reverse", Contexts: []string{"CTX_C_S"}})
	if via.Code != "2.05" || via.Payload != "0" {
		t.Fatalf("through the reverse-proxy: %+v", via)
	}
	direct := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://direct.example/alarm_status", Contexts: []string{"CTX_C_S"}})
	if direct.Code != "4.01" || direct.Payload != "Security context not found" || len(direct.Layers) != 0 {
		t.Fatalf("straight to the server: %+v", direct)
	}
	dg := datagrams(bus, direct.Exchange)
	if m := decode(t, dg[len(dg)-1].Bytes); m.Options.HasOption(9) {
		t.Errorf("the 4.01 is protected: %x", []byte(dg[len(dg)-1].Bytes))
	}
	if r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://hidden.example/alarm_status", Route: []string{"P"}, ProxyStyle: "reverse", Contexts: []string{"CTX_C_S"}}); r.Code != "2.05" {
		t.Fatalf("afterwards: %+v", r)
	}
}

// TestExternalNode reaches a CoAP server outside the lab (here a separate
// go-coap server on its own socket, standing for another implementation)
// directly and through the lab's forward-proxy, every datagram recorded.
func TestExternalNode(t *testing.T) {
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := udp.NewServer(options.WithBlockwise(false, 0, 0), options.WithHandlerFunc(func(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
		w.SetResponse(codes.Content, message.TextPlain, bytes.NewReader([]byte("outside")))
	}))
	go srv.Serve(l)
	defer srv.Stop()
	addr := l.LocalAddr().(*net.UDPAddr).String()
	s := &scenario.Scenario{Name: "external",
		Nodes: []scenario.Node{
			{ID: "C", Role: scenario.RoleClient},
			{ID: "P", Role: scenario.RoleProxy, Forward: true},
			{ID: "X", Role: scenario.RoleExternal, Addr: addr},
		},
	}
	lab, bus := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://" + addr + "/anything"})
	if r.Code != "2.05" || r.Payload != "outside" {
		t.Fatalf("direct: %+v", r)
	}
	r = send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://" + addr + "/anything", Route: []string{"P"}})
	if r.Code != "2.05" || r.Payload != "outside" {
		t.Fatalf("through P: %+v", r)
	}
	var px int
	for _, e := range datagrams(bus, r.Exchange) {
		if e.Link == "P-X" && e.Type == trace.TypeDatagram {
			px++
		}
	}
	if px != 2 {
		t.Errorf("%d datagrams on P-X, want 2", px)
	}
	// Relays towards X outlive the EXCHANGE_LIFETIME an external stack may
	// remember a peer for; those between lab nodes go after relayIdle.
	for _, tc := range []struct {
		a, b string
		want time.Duration
	}{{"P", "X", externalRelayIdle}, {"C", "X", externalRelayIdle}, {"C", "P", relayIdle}} {
		lk, err := lab.linkBetween(tc.a, tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := lk.relayIdleTime(); got != tc.want {
			t.Errorf("link %s keeps idle relays %v, want %v", lk.ID(), got, tc.want)
		}
	}
}

// TestExternalRetransmission: a request towards an external node is
// retransmitted after RFC 7252's ACK_TIMEOUT (2 to 3 s, 4.8), not the
// lab's 250 ms. The external node here is a bare UDP socket that ignores
// the first copy of the request and answers the retransmission.
func TestExternalRetransmission(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 2 s ACK_TIMEOUT")
	}
	x, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	gaps := make(chan time.Duration, 1)
	go func() {
		buf := make([]byte, 1500)
		var first time.Time
		for {
			n, from, err := x.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req := message.Message{Options: make(message.Options, 0, 16)}
			if _, err := coder.DefaultCoder.Decode(buf[:n], &req); err != nil {
				continue
			}
			if first.IsZero() {
				first = time.Now()
				continue
			}
			select {
			case gaps <- time.Since(first):
			default: // a later copy: the first gap is the one checked
			}
			resp := message.Message{Type: message.Acknowledgement, Code: codes.Content, MessageID: req.MessageID, Token: req.Token, Payload: []byte("late")}
			out := make([]byte, 256)
			k, err := coder.DefaultCoder.Encode(resp, out)
			if err == nil {
				x.WriteToUDP(out[:k], from)
			}
		}
	}()
	addr := x.LocalAddr().String()
	s := &scenario.Scenario{Name: "external-retransmission", Nodes: []scenario.Node{
		{ID: "C", Role: scenario.RoleClient},
		{ID: "X", Role: scenario.RoleExternal, Addr: addr},
	}}
	lab, _ := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://" + addr + "/slow"})
	if r.Code != "2.05" || r.Payload != "late" {
		t.Fatalf("got %+v, want 2.05 \"late\" after one retransmission", r)
	}
	// ACK_TIMEOUT times a random factor in [1, 1.5], plus up to the
	// retransmission runner's period (ACK_TIMEOUT / 5); the upper bound
	// leaves room for a loaded machine and stays below the earliest second
	// retransmission (3 x ACK_TIMEOUT after the first copy).
	if gap := <-gaps; gap < externalAckTimeout || gap > 2*externalAckTimeout {
		t.Errorf("retransmission after %v, want 2 to 4 s (RFC 7252 ACK_TIMEOUT)", gap)
	}
}

// TestUnrecognisedOptionInResponse: an outside server answers with an
// option the proxy does not know (65000). The proxy must protect that
// response with CTX_C_P, so it cannot classify the option and answers
// 5.02 Bad Gateway instead, protected with CTX_C_P (draft 2.2).
func TestUnrecognisedOptionInResponse(t *testing.T) {
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := udp.NewServer(options.WithBlockwise(false, 0, 0), options.WithHandlerFunc(func(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
		w.SetResponse(codes.Content, message.TextPlain, bytes.NewReader([]byte("odd")), message.Option{ID: 65000, Value: []byte{1}})
	}))
	go srv.Serve(l)
	defer srv.Stop()
	addr := l.LocalAddr().(*net.UDPAddr).String()
	s := &scenario.Scenario{Name: "odd-option",
		Nodes: []scenario.Node{
			{ID: "C", Role: scenario.RoleClient},
			{ID: "P", Role: scenario.RoleProxy, Forward: true},
			{ID: "X", Role: scenario.RoleExternal, Addr: addr},
		},
		Contexts: []scenario.Context{{Name: "CTX_C_P", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
			A: scenario.Endpoint{Node: "C", SenderID: "20", RecipientID: "02"}, B: scenario.Endpoint{Node: "P", SenderID: "02", RecipientID: "20"}}},
	}
	lab, bus := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://" + addr + "/x", Route: []string{"P"}, Contexts: []string{"CTX_C_P"}})
	if r.Code != "5.02" || len(r.Layers) != 1 {
		t.Fatalf("%+v", r)
	}
	e := errorOf(t, bus, r.Exchange)
	if e.Node != "P" || e.Error.Code != "5.02" {
		t.Errorf("error event %+v", e.Error)
	}
}
