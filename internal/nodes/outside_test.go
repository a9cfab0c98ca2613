package nodes

import (
	"bytes"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// outsideScenario: a forward-proxy P and S (authority example.com) with an
// end-to-end context between C and S; an outside client speaks with C's
// side of it.
func outsideScenario() *scenario.Scenario {
	return &scenario.Scenario{Name: "outside", Nodes: []scenario.Node{
		{ID: "C", Role: scenario.RoleClient},
		{ID: "P", Role: scenario.RoleProxy, Forward: true},
		{ID: "S", Role: scenario.RoleServer, Authority: "example.com"},
	}, Contexts: []scenario.Context{{Name: "CTX_C_S", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
		A: scenario.Endpoint{Node: "C", SenderID: "01", RecipientID: "02"},
		B: scenario.Endpoint{Node: "S", SenderID: "02", RecipientID: "01"}}}}
}

// outsideClient is a CoAP client of the test's own: a UDP socket of its
// own, no lab link, with copies of lab contexts for its OSCORE layers
// (end-to-end first).
type outsideClient struct {
	t      *testing.T
	conn   *net.UDPConn
	layers []*oscore.Context
	// hops and ends, when set, escalate options as the draft's client
	// does (2.2): ends[i] is the hop layers[i] is for.
	hops []oscore.Hop
	ends []int
}

func newOutsideClient(t *testing.T, lab *Lab, to, as string, ctxNames ...string) *outsideClient {
	t.Helper()
	topo := lab.topo.Load()
	c, err := net.DialUDP("udp", nil, topo.nodes[to].addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	oc := &outsideClient{t: t, conn: c}
	for _, name := range ctxNames {
		lc, _, err := topo.contextFor(name, as)
		if err != nil {
			t.Fatal(err)
		}
		own, err := oscore.NewContext(name, lc.Params())
		if err != nil {
			t.Fatal(err)
		}
		oc.layers = append(oc.layers, own)
	}
	return oc
}

func (oc *outsideClient) addr() string { return oc.conn.LocalAddr().String() }

// request encodes a CON request with the client's layers.
func (oc *outsideClient) request(mid uint16, token string, m message.Message) ([]byte, []*oscore.Binding) {
	oc.t.Helper()
	m.Type, m.MessageID, m.Token = message.Confirmable, int32(mid), message.Token(token)
	var bs []*oscore.Binding
	for i, c := range oc.layers {
		var o oscore.ProtectOptions
		if oc.hops != nil {
			o.Rule = oscore.RequestRoute(&m, oc.hops, 0, oc.ends).RuleFor(oc.ends[i])
		}
		out, b, _, err := oscore.ProtectRequest(c, m, o)
		if err != nil {
			oc.t.Fatal(err)
		}
		m, bs = out, append(bs, b)
	}
	sort.SliceStable(m.Options, func(i, j int) bool { return m.Options[i].ID < m.Options[j].ID })
	d := make([]byte, 1024)
	n, err := coder.DefaultCoder.Encode(m, d)
	if err != nil {
		oc.t.Fatal(err)
	}
	return d[:n], bs
}

// roundTrip writes d and returns the answer, its layers removed with bs.
func (oc *outsideClient) roundTrip(d []byte, bs []*oscore.Binding) ([]byte, message.Message) {
	oc.t.Helper()
	if _, err := oc.conn.Write(d); err != nil {
		oc.t.Fatal(err)
	}
	oc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	n, err := oc.conn.Read(buf)
	if err != nil {
		oc.t.Fatalf("no answer: %v", err)
	}
	m := decode(oc.t, buf[:n])
	if len(bs) > 0 {
		inner, _, err := oscore.UnprotectResponseLayers(m, bs)
		if err != nil {
			oc.t.Fatalf("answer %v does not verify: %v", m.Code, err)
		}
		m = inner
	}
	return buf[:n], m
}

func viaProxy(path string) message.Message {
	return message.Message{Code: codes.GET, Options: message.Options{
		{ID: message.URIHost, Value: []byte("example.com")},
		{ID: message.URIPath, Value: []byte(path)},
		{ID: message.ProxyScheme, Value: []byte("coap")}}}
}

// waitDatagrams waits for n datagram events of exchange ex.
func waitDatagrams(t *testing.T, bus *trace.Bus, ex, n int) []trace.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := datagrams(bus, ex)
		if len(d) >= n || time.Now().After(deadline) {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An outside client's traffic is recorded like link traffic: each
// datagram it sends to the lab proxy and each the proxy sends back once,
// in order, in the exchange the request started, hop 0, with the P-S leg
// (hop 1) between them; a retransmission and the answer the proxy sends
// again join the same exchange; a new request starts a new one.
func TestOutsideClientTrafficIsRecorded(t *testing.T) {
	lab, bus := startLab(t, outsideScenario())
	oc := newOutsideClient(t, lab, "P", "C", "CTX_C_S")
	req, b := oc.request(0x1234, "\xab\xcd", viaProxy("hello"))
	ans, m := oc.roundTrip(req, b)
	if m.Code != codes.Content {
		t.Fatalf("answer %v", m.Code)
	}
	again, _ := oc.roundTrip(req, nil)
	if !bytes.Equal(again, ans) {
		t.Fatalf("retransmission answered %x, first answer %x", again, ans)
	}
	var ex int
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram && e.From == oc.addr() {
			ex = e.Exchange
			break
		}
	}
	if ex == 0 {
		t.Fatalf("no datagram from %s with an exchange id", oc.addr())
	}
	type leg struct {
		from, to string
		hop      int
		dir      string
	}
	want := []leg{
		{oc.addr(), "P", 0, trace.DirRequest}, {"P", "S", 1, trace.DirRequest},
		{"S", "P", 1, trace.DirResponse}, {"P", oc.addr(), 0, trace.DirResponse},
		{oc.addr(), "P", 0, trace.DirRequest}, {"P", oc.addr(), 0, trace.DirResponse},
	}
	got := waitDatagrams(t, bus, ex, len(want))
	if len(got) != len(want) {
		t.Fatalf("exchange %d has %d datagrams, want %d: %v", ex, len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if (leg{g.From, g.To, g.Hop, g.Dir}) != w {
			t.Errorf("datagram %d: %s -> %s hop %d %s, want %+v", i, g.From, g.To, g.Hop, g.Dir, w)
		}
	}
	if !bytes.Equal(got[0].Bytes, req) || !bytes.Equal(got[3].Bytes, ans) {
		t.Errorf("recorded bytes differ from the wire: %x / %x", got[0].Bytes, got[3].Bytes)
	}
	for _, e := range eventsOf(bus, trace.TypeExchange, ex) {
		if e.Node != oc.addr() {
			t.Errorf("exchange event names %q, want the peer %s", e.Node, oc.addr())
		}
	}
	// Everything the peer's socket sent or got is in that exchange, once.
	n := 0
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram && (e.From == oc.addr() || e.To == oc.addr()) {
			n++
			if e.Exchange != ex {
				t.Errorf("peer datagram in exchange %d, want %d", e.Exchange, ex)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d datagrams of the peer recorded, want 4", n)
	}

	req2, b2 := oc.request(0x1235, "\xab\xcd", viaProxy("hello"))
	oc.roundTrip(req2, b2)
	var ex2 int
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram && e.From == oc.addr() && bytes.Equal(e.Bytes, req2) {
			ex2 = e.Exchange
		}
	}
	if ex2 == 0 || ex2 == ex {
		t.Fatalf("second request (same token, new MID) in exchange %d, first in %d", ex2, ex)
	}
	if got := waitDatagrams(t, bus, ex2, 4); len(got) != 4 {
		t.Fatalf("second exchange has %d datagrams, want 4", len(got))
	}
}

// A peer's layers are on record only as the lab nodes removed them: the
// text export and the pcapng comments show its request decrypted from
// those removals, each layer with its number (2 for the proxy's, 1 for
// the end-to-end one), and the responses the lab applied as before.
func TestOutsidePeerLayersShownDecrypted(t *testing.T) {
	s := outsideScenario()
	s.Contexts = append(s.Contexts, scenario.Context{Name: "CTX_C_P", MasterSecret: "1112131415161718191a1b1c1d1e1f10",
		A: scenario.Endpoint{Node: "C", SenderID: "0a", RecipientID: "0b"},
		B: scenario.Endpoint{Node: "P", SenderID: "0b", RecipientID: "0a"}})
	lab, _ := startLab(t, s)
	oc := newOutsideClient(t, lab, "P", "C", "CTX_C_S", "CTX_C_P")
	oc.hops = []oscore.Hop{{Name: "C", Role: oscore.RoleClient}, {Name: "P", Role: oscore.RoleForwardProxy}, {Name: "S", Role: oscore.RoleServer}}
	oc.ends = []int{2, 1}
	req, bs := oc.request(0x4321, "\x01", viaProxy("hello"))
	if _, m := oc.roundTrip(req, bs); m.Code != codes.Content {
		t.Fatalf("answer %v %q", m.Code, m.Payload)
	}
	var ex int
	tr := lab.Trace()
	for _, e := range tr.Events {
		if e.Type == trace.TypeDatagram && e.From == oc.addr() {
			ex = e.Exchange
		}
	}
	if path := os.Getenv("OSCORE_LAB_OUTSIDE_TRACE"); path != "" {
		// web/testdata/outside-peer.json, which the browser's layer
		// stacks are compared against (web/jsagree_test.go), is this trace.
		var b bytes.Buffer
		if err := trace.WriteJSON(&b, tr, false); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var text bytes.Buffer
	if err := trace.WriteText(&text, tr); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{
		oc.addr() + " -> P  CON POST",
		"0xff, {CTX_C_P: POST, ",
		"0xff, {CTX_C_S: GET, Uri-Path \"hello\"}}",
		"P: removed CTX_C_P (layer 2)",
		"S: removed CTX_C_S (layer 1)",
		"P -> " + oc.addr() + "  ACK 2.04",
		"0xff, {CTX_C_P: 2.04, OSCORE -, 0xff, {CTX_C_S: 2.05, 0xff, \"Hello World!\"}}",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text export lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(layer 0)") {
		t.Errorf("a layer numbered 0:\n%s", out)
	}
	for _, e := range tr.Events {
		if e.Type == trace.TypeLayer && e.Exchange == ex && e.Layer_.Report != nil {
			want := map[string]int{"CTX_C_P": 2, "CTX_C_S": 1}[e.Layer_.Report.Context]
			if e.Layer != want {
				t.Errorf("%s %s %s %s: layer %d, want %d", e.Node, e.Layer_.Action, e.Dir, e.Layer_.Report.Context, e.Layer, want)
			}
		}
	}
	layers := trace.DatagramLayers(tr)
	for _, e := range tr.Events {
		if e.Type == trace.TypeDatagram && e.Exchange == ex && e.From == oc.addr() {
			if got := strings.Join(layers[e.Seq], ","); got != "CTX_C_P,CTX_C_S" {
				t.Errorf("peer's request: layers %q, want CTX_C_P,CTX_C_S", got)
			}
		}
	}
}

// namedScenario: a forward-proxy P that takes CTX_E_P only from external
// node E (draft 2.4.1) and lets that context reach S only (2.4 step 4);
// E is the outside socket at eAddr, E2 any other port of 127.0.0.1 when
// withE2.
func namedScenario(eAddr string, withE2 bool) *scenario.Scenario {
	s := outsideScenario()
	s.Nodes[1].SourcePolicy = map[string][]string{"E": {"CTX_E_P"}}
	s.Nodes[1].Allow = map[string][]string{"CTX_E_P": {"S"}}
	s.Nodes = append(s.Nodes, scenario.Node{ID: "E", Role: scenario.RoleExternal, Addr: eAddr})
	if withE2 {
		s.Nodes = append(s.Nodes, scenario.Node{ID: "E2", Role: scenario.RoleExternal, Addr: "127.0.0.1:9", Sources: []string{"127.0.0.0/8"}})
	}
	s.Contexts = append(s.Contexts, scenario.Context{Name: "CTX_E_P", MasterSecret: "2122232425262728292a2b2c2d2e2f20",
		A: scenario.Endpoint{Node: "E", SenderID: "0e", RecipientID: "0f"},
		B: scenario.Endpoint{Node: "P", SenderID: "0f", RecipientID: "0e"}})
	return s
}

// outsideVia is an outside client whose layers are CTX_C_S end to end and
// ctx for the forward-proxy P, as the draft's client builds them (2.2).
func outsideVia(t *testing.T, lab *Lab, conn *net.UDPConn, as, ctx string) *outsideClient {
	t.Helper()
	oc := newOutsideClient(t, lab, "P", "C", "CTX_C_S")
	oc.conn.Close()
	if conn != nil {
		oc.conn = conn
	}
	lc, _, err := lab.topo.Load().contextFor(ctx, as)
	if err != nil {
		t.Fatal(err)
	}
	own, err := oscore.NewContext(ctx, lc.Params())
	if err != nil {
		t.Fatal(err)
	}
	oc.layers = append(oc.layers, own)
	oc.hops = []oscore.Hop{{Name: "C", Role: oscore.RoleClient}, {Name: "P", Role: oscore.RoleForwardProxy}, {Name: "S", Role: oscore.RoleServer}}
	oc.ends = []int{2, 1}
	return oc
}

func dialNode(t *testing.T, lab *Lab, id string) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, lab.topo.Load().nodes[id].addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// An outside peer is the previous hop an external node names: by its addr
// (E), by a source range (E2) or, when no address names it, by the
// context its first layer is protected with, whose other side E holds. A
// source-based policy then admits E with CTX_E_P and refuses E2 with it;
// the allow-list of CTX_E_P lets it reach S.
func TestOutsidePeerNamedForSourcePolicy(t *testing.T) {
	sock, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	eAddr := sock.LocalAddr().String()

	ask := func(t *testing.T, lab *Lab, oc *outsideClient, mid uint16) message.Message {
		t.Helper()
		req, bs := oc.request(mid, "\x07", viaProxy("hello"))
		if _, err := oc.conn.WriteToUDP(req, lab.topo.Load().nodes["P"].addr); err != nil {
			t.Fatal(err)
		}
		oc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 2048)
		n, _, err := oc.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		m := decode(t, buf[:n])
		// An error response carries only the layers removed before it.
		for i := len(bs) - 1; i >= 0 && m.Options.HasOption(optOSCORE); i-- {
			if m, _, err = oscore.UnprotectResponse(bs[i], m); err != nil {
				t.Fatalf("answer does not verify: %v", err)
			}
		}
		return m
	}
	listen := func(t *testing.T) *net.UDPConn {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("addr admits", func(t *testing.T) {
		lab, bus := startLab(t, namedScenario(eAddr, true))
		m := ask(t, lab, outsideVia(t, lab, sock, "E", "CTX_E_P"), 0x100)
		if m.Code != codes.Content {
			t.Fatalf("E by its addr: %v %q, want 2.05", m.Code, m.Payload)
		}
		if !decided(bus, 0, "P", "", "is external node E (its addr or sources)") {
			t.Error("no decision naming E")
		}
		if n := len(eventsOf(bus, trace.TypeDatagram, 0)); n == 0 {
			t.Fatal("no datagrams")
		}
		for _, e := range eventsOf(bus, trace.TypeDatagram, 0) {
			if e.From == eAddr || e.To == eAddr {
				t.Errorf("datagram %d names the address %s, not E", e.Seq, eAddr)
			}
		}
	})
	t.Run("source range refuses", func(t *testing.T) {
		lab, bus := startLab(t, namedScenario(eAddr, true))
		m := ask(t, lab, outsideVia(t, lab, listen(t), "E", "CTX_E_P"), 0x200)
		if m.Code != codes.Unauthorized || string(m.Payload) != "Security context not found" {
			t.Fatalf("E2 with E's context: %v %q, want 4.01 Security context not found", m.Code, m.Payload)
		}
		if !decided(bus, 0, "P", "", "is external node E2") {
			t.Error("no decision naming E2")
		}
	})
	t.Run("context admits", func(t *testing.T) {
		lab, bus := startLab(t, namedScenario(eAddr, false))
		m := ask(t, lab, outsideVia(t, lab, listen(t), "E", "CTX_E_P"), 0x300)
		if m.Code != codes.Content {
			t.Fatalf("unnamed peer holding E's context: %v %q, want 2.05", m.Code, m.Payload)
		}
		if !decided(bus, 0, "P", "", "is external node E, which holds the other side of CTX_E_P") {
			t.Error("no decision naming E by its context")
		}
	})
	t.Run("unnamed refused", func(t *testing.T) {
		s := namedScenario(eAddr, false)
		s.Contexts = append(s.Contexts, scenario.Context{Name: "CTX_C_P", MasterSecret: "1112131415161718191a1b1c1d1e1f10",
			A: scenario.Endpoint{Node: "C", SenderID: "0a", RecipientID: "0b"},
			B: scenario.Endpoint{Node: "P", SenderID: "0b", RecipientID: "0a"}})
		s.Nodes[1].SourcePolicy["C"] = []string{"CTX_C_P"}
		lab, _ := startLab(t, s)
		m := ask(t, lab, outsideVia(t, lab, listen(t), "C", "CTX_C_P"), 0x400)
		if m.Code != codes.Unauthorized || string(m.Payload) != "Security context not found" {
			t.Fatalf("unnamed peer with C's context: %v %q, want 4.01 Security context not found", m.Code, m.Payload)
		}
	})
	t.Run("allow refuses", func(t *testing.T) {
		s := namedScenario(eAddr, false)
		s.Nodes[1].Allow = map[string][]string{"": {"S"}}
		lab, bus := startLab(t, s)
		if m := ask(t, lab, outsideVia(t, lab, sock, "E", "CTX_E_P"), 0x500); m.Code == codes.Content {
			t.Fatalf("E with CTX_E_P, which is not on the allow-list: %v %q, want a refusal", m.Code, m.Payload)
		}
		if !decided(bus, 0, "P", "4", "context CTX_E_P is not on the allow-list") {
			t.Error("no step 4 refusal")
		}
	})
}
