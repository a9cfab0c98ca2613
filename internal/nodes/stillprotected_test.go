package nodes

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// TestResponseStillProtectedAfterEveryLayer: a response that still carries
// an OSCORE option once the client has removed every layer it applied is
// not delivered (draft 2.6): the client stops with an error instead of
// taking the inner message for the answer. The peer is an external node,
// here a bare UDP socket with the server's side of CTX_C_X, which answers
// first with a well-formed response and then with one whose plaintext
// carries an OSCORE option of its own.
func TestResponseStillProtectedAfterEveryLayer(t *testing.T) {
	const secret = "0102030405060708090a0b0c0d0e0f10"
	x, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	srv, err := oscore.NewContext("CTX_C_X", oscore.Params{MasterSecret: hx(secret), SenderID: []byte{0x01}, RecipientID: []byte{0x5f}})
	if err != nil {
		t.Fatal(err)
	}
	var nested atomic.Bool // answer with an OSCORE option inside the layer
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := x.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req, err := oscore.DecodeMessage(buf[:n])
			if err != nil {
				continue
			}
			_, b, _, err := oscore.UnprotectRequest(req, func(kid, _ []byte) (*oscore.Context, error) { return srv, nil })
			if err != nil {
				continue
			}
			resp := message.Message{Code: codes.Content, Payload: []byte("x")}
			if nested.Load() {
				resp.Options = message.Options{{ID: optOSCORE, Value: []byte{}}}
			}
			inner := func(uint16, message.Options) oscore.RuleResult { return oscore.RuleResult{Class: oscore.ClassE} }
			out, _, err := oscore.ProtectResponse(b, resp, oscore.ProtectOptions{Rule: inner})
			if err != nil {
				t.Errorf("external node: %v", err)
				continue
			}
			out.Type, out.MessageID, out.Token = message.Acknowledgement, req.MessageID, req.Token
			if raw, err := oscore.EncodeMessage(out); err == nil {
				x.WriteToUDP(raw, from)
			}
		}
	}()
	addr := x.LocalAddr().String()
	s := &scenario.Scenario{Name: "still-protected",
		Nodes: []scenario.Node{{ID: "C", Role: scenario.RoleClient}, {ID: "X", Role: scenario.RoleExternal, Addr: addr}},
		Contexts: []scenario.Context{{Name: "CTX_C_X", MasterSecret: secret,
			A: scenario.Endpoint{Node: "C", SenderID: "5f", RecipientID: "01"}, B: scenario.Endpoint{Node: "X", SenderID: "01", RecipientID: "5f"}}},
	}
	lab, bus := startLab(t, s)
	st := scenario.Step{From: "C", Method: "GET", URI: "coap://" + addr + "/x", Contexts: []string{"CTX_C_X"}}
	if r := send(t, lab, st); r.Code != "2.05" || r.Payload != "x" || !r.OK {
		t.Fatalf("well-formed response: %+v", r)
	}
	nested.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := lab.Send(ctx, st)
	if err == nil || r.OK || r.Code != "" || !strings.Contains(r.Problem, "still protected after all layers were removed") {
		t.Fatalf("response with an OSCORE option left: err %v, result %+v", err, r)
	}
	var said bool
	for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
		said = said || e.Node == "C" && e.Decision.Section == "2.6" && strings.Contains(e.Decision.Outcome, "still present")
	}
	if !said {
		t.Error("the client's decision does not say why it stopped (draft 2.6)")
	}
}
