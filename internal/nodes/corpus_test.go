package nodes

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/oscore"
)

// silence is the reply a corpus case expects when the node must answer
// nothing.
const silence = "silence"

// datagramCorpus is every malformed or out-of-place datagram the lab's
// nodes have been found to, or must, handle, each with the reply its
// server socket owes (RFC 7252 3, 4.1-4.3, 5.2.3, 5.3.2, 5.4.1, 5.8):
// silence, "RST" (a matching Reset), or the type and code of a response
// (piggybacked "ACK c.dd", or "NON c.dd"). A reply that differs per node
// lists the nodes of draft-b3 that differ. New crashers and findings go
// here, by name.
var datagramCorpus = []struct {
	name  string
	hex   string
	reply string
	per   map[string]string // node id -> reply, where it differs
}{
	{"empty datagram", "", silence, nil},
	{"one byte", "40", silence, nil},
	{"three bytes", "400112", silence, nil},
	{"version 0", "01011234", silence, nil},
	{"version 2", "81011234aa", silence, nil},
	{"token length 9, CON", "49011234aabbccddeeff001122", "RST", nil},
	{"token length 9, NON", "59011234aabbccddeeff001122", silence, nil},
	{"token cut short", "44011234aabb", "RST", nil},
	{"option delta 15 without payload marker", "40011234f0", "RST", nil},
	{"option length 15", "400112340f", "RST", nil},
	{"option longer than the datagram", "40011234b5616263", "RST", nil},
	{"payload marker without payload", "40011234ff", "RST", nil},
	{"Reset", "70001234", silence, nil},
	{"Reset with a token", "71001234aa", silence, nil},
	{"unmatched empty ACK", "60001234", silence, nil},
	{"unmatched ACK with 2.05", "60451234", silence, nil},
	{"unsolicited CON 2.05", "41451234aa", "RST", nil},
	{"unsolicited CON 4.04", "41841234aa", "RST", nil},
	{"unsolicited NON 2.05", "51451234aa", silence, nil},
	{"ping (empty CON)", "40001234", "RST", nil},
	{"empty NON", "50001234", silence, nil},
	{"empty CON with a token", "41001234aa", "RST", nil},
	{"empty CON with a payload", "40001234ff01", "RST", nil},
	{"empty CON with an option", "40001234b161", "RST", nil},
	{"empty NON with a token", "51001234aa", silence, nil},
	{"reserved class 1, CON", "41201234aa", "RST", nil},
	{"reserved class 6, CON", "41c01234aa", "RST", nil},
	{"reserved class 7, CON", "41e01234aa", "RST", nil},
	{"reserved class 7, NON", "51e01234aa", silence, nil},
	{"unknown method 0.09, CON", "41091234aa", "ACK 4.05", nil},
	{"unknown method 0.31, NON", "511f1234aa", "NON 4.05", nil},
	{"unknown critical option 25", "41011234aad10c00", "ACK 4.02", nil},
	{"NON GET /hello", "51011234aab568656c6c6f", "NON 4.04", map[string]string{"S": "NON 2.05"}},
	{"CON GET /hello", "41011234aab568656c6c6f", "ACK 4.04", map[string]string{"S": "ACK 2.05"}},
	{"OSCORE option without payload", "4002123490", "ACK 4.02", nil},
	{"OSCORE option with reserved flag bits", "4002123493e00000ff01", "ACK 4.02", nil},
	{"OSCORE option with an unknown kid", "40021234920901ff0102030405060708", "ACK 4.01", nil},
}

// TestDatagramCorpus sends every corpus case to the server socket of
// every node of draft-b3, from a socket of its own, and checks the reply;
// afterwards every node still answers a ping and the scenario's step
// still succeeds.
func TestDatagramCorpus(t *testing.T) {
	s := builtinScenario(t, "draft-b3")
	lab, _ := startLab(t, s)
	nodes := []string{"C", "P", "S"}
	var mu sync.Mutex
	var wg sync.WaitGroup
	failures := map[string][]string{}
	for _, id := range nodes {
		addr := mustAddr(t, nodeAddr(lab, id))
		wg.Add(1)
		go func() { // nodes in parallel, cases in order: each waits for silence
			defer wg.Done()
			for _, c := range datagramCorpus {
				want := c.reply
				if r, ok := c.per[id]; ok {
					want = r
				}
				got := replyTo(t, addr, hx(c.hex))
				if got != want {
					mu.Lock()
					failures[c.name] = append(failures[c.name], fmt.Sprintf("%s: %s, want %s", id, got, want))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, c := range datagramCorpus {
		for _, f := range failures[c.name] {
			t.Errorf("%s: %s", c.name, f)
		}
	}
	for _, id := range nodes {
		if got := replyTo(t, mustAddr(t, nodeAddr(lab, id)), hx("40004242")); got != "RST" {
			t.Errorf("after the corpus, %s answers a ping with %s", id, got)
		}
	}
	st := s.Steps[0]
	st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
	if r := send(t, lab, st); !r.OK {
		t.Fatalf("after the corpus: %+v", r)
	}
}

// replyTo sends b from a fresh socket and describes the reply: silence,
// "RST", or the reply's type and code.
func replyTo(t *testing.T, to *net.UDPAddr, b []byte) string {
	c, err := net.DialUDP("udp", nil, to)
	if err != nil {
		t.Error(err)
		return err.Error()
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		return "write: " + err.Error()
	}
	c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return silence
	}
	m := message.Message{Options: make(message.Options, 0, 16)}
	if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
		return fmt.Sprintf("undecodable %x", buf[:n])
	}
	if len(b) >= 4 && m.MessageID != int32(b[2])<<8|int32(b[3]) && m.Type != message.NonConfirmable {
		return fmt.Sprintf("%v with Message ID %#x", m.Type, m.MessageID)
	}
	switch m.Type {
	case message.Reset:
		return "RST"
	case message.Acknowledgement:
		return "ACK " + codeText(m.Code)
	case message.NonConfirmable:
		return "NON " + codeText(m.Code)
	}
	return "CON " + codeText(m.Code)
}

// TestEmptyKIDContextIsNotAbsent: a request protected with a context that
// has no ID Context, but whose OSCORE option carries the kid context h”
// (present, empty), names a context that does not exist (RFC 8613 3.3,
// 5.1) and gets 4.01; the same request without the kid context is served.
func TestEmptyKIDContextIsNotAbsent(t *testing.T) {
	lab, _ := startLab(t, builtinScenario(t, "draft-b3"))
	ctx, _, err := lab.topo.Load().contextFor("CTX_C_S", "C")
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Params().IDContext != nil {
		t.Fatal("CTX_C_S has an ID Context; the test needs one without")
	}
	req := message.Message{Code: codes.GET, Type: message.Confirmable, MessageID: 0x4711, Token: []byte{0x71},
		Options: message.Options{{ID: message.URIPath, Value: []byte("alarm_status")}}}
	for _, c := range []struct {
		name  string
		kidCx []byte
		want  string
	}{
		{"kid context absent", nil, "ACK 2.04"}, // outer code of a protected 2.05
		{"kid context h''", []byte{}, "ACK 4.01"},
	} {
		prot, _, _, err := oscore.ProtectRequest(ctx, req, oscore.ProtectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range prot.Options {
			if o.ID == optOSCORE {
				v, err := oscore.ParseOption(o.Value)
				if err != nil {
					t.Fatal(err)
				}
				v.KIDContext = c.kidCx
				prot.Options[i].Value = v.Marshal()
			}
		}
		b := make([]byte, 512)
		n, err := coder.DefaultCoder.Encode(prot, b)
		if err != nil {
			t.Fatal(err)
		}
		if got := replyTo(t, mustAddr(t, nodeAddr(lab, "S")), b[:n]); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
