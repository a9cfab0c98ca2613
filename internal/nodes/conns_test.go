package nodes

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// TestPortReuseAfterClose: a client socket carries a request with MID m
// through the link to S, the pool closes it (broken), and a new socket
// gets the same local port, as the kernel's ephemeral port choice often
// does within seconds. The new socket's request with the same MID must be
// served, not answered from the duplicate-detection cache S keeps for the
// old peer (RFC 7252 4.4, 4.5): the link must not relay it from the old
// socket's relay. The port is bound explicitly to make the reuse certain.
func TestPortReuseAfterClose(t *testing.T) {
	lab, _ := startLab(t, builtinScenario(t, "draft-b3"))
	c := lab.topo.Load().nodes["C"]
	link, err := lab.linkBetween("C", "S")
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.pool(link)
	if err != nil {
		t.Fatal(err)
	}
	const mid = 0x4242
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	pc, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	req := pc.cc.AcquireMessage(ctx)
	req.SetCode(codes.GET)
	req.SetToken([]byte("old-tok1"))
	req.SetMessageID(mid)
	req.SetType(message.Confirmable)
	if err := req.SetPath("/hello"); err != nil {
		t.Fatal(err)
	}
	resp, err := pc.cc.Do(req)
	pc.cc.ReleaseMessage(req)
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	pc.cc.ReleaseMessage(resp)
	local := pc.cc.LocalAddr().(*net.UDPAddr)
	p.put(pc, false) // broken: put closes it

	conn, err := net.DialUDP("udp", &net.UDPAddr{IP: local.IP, Port: local.Port}, link.addrFor("C"))
	if err != nil {
		t.Fatalf("bind the closed socket's port %d again: %v", local.Port, err)
	}
	defer conn.Close()
	link.admit("C", conn.LocalAddr()) // the new socket stands for C's next pool socket
	fresh := []byte("new-tok2")
	b := make([]byte, 64)
	k, err := coder.DefaultCoder.Encode(message.Message{Code: codes.GET, Type: message.Confirmable, MessageID: mid, Token: fresh,
		Options: message.Options{{ID: message.URIPath, Value: []byte("hello")}}}, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b[:k]); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no answer to the new socket's request: %v", err)
	}
	got := decode(t, buf[:n])
	if !bytes.Equal(got.Token, fresh) {
		t.Fatalf("answer with token %q to a request with token %q: S replayed the old peer's cached response for MID %#x", string(got.Token), fresh, mid)
	}
	if got.Code != codes.Content || string(got.Payload) != "Hello World!" {
		t.Errorf("answer %v %q, want 2.05 Hello World!", got.Code, got.Payload)
	}
}
