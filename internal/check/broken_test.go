package check

import (
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/oscore"
)

// tamper is a misbehaving front for a lab node: a UDP relay that passes
// datagrams between the suite and the node and breaks one rule on the way,
// standing in for an implementation with that bug.
type tamper struct {
	front, back *net.UDPConn
	mu          sync.Mutex
	client      *net.UDPAddr
	request     func(tp *tamper, m *message.Message) (reply *message.Message) // nil: forward
	response    func(tp *tamper, m *message.Message)
	seen        map[string]message.Message // replay cache: OSCORE option value -> response
	asked       map[string]string          // token -> OSCORE option value of its request
}

// newTamper starts a relay to target that breaks the rules request and
// response (either may be nil) implement.
func newTamper(t *testing.T, target string, request func(*tamper, *message.Message) *message.Message, response func(*tamper, *message.Message)) *tamper {
	t.Helper()
	oscore.RegisterGoCoapOptions() // before the relay decodes anything
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	raddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	tp := &tamper{front: front, back: back, request: request, response: response, seen: map[string]message.Message{}, asked: map[string]string{}}
	t.Cleanup(func() { front.Close(); back.Close() })
	go tp.up()
	go tp.down()
	return tp
}

func (tp *tamper) addr() string { return tp.front.LocalAddr().String() }

func decode(raw []byte) (message.Message, bool) {
	m := message.Message{Options: make(message.Options, 0, 64)}
	_, err := coder.DefaultCoder.Decode(raw, &m)
	return m, err == nil
}

func (tp *tamper) up() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := tp.front.ReadFromUDP(buf)
		if err != nil {
			return
		}
		tp.mu.Lock()
		tp.client = from
		tp.mu.Unlock()
		raw := append([]byte(nil), buf[:n]...)
		if m, ok := decode(raw); ok && tp.request != nil && m.Code != codes.Empty {
			if reply := tp.request(tp, &m); reply != nil {
				if b, err := oscore.EncodeMessage(*reply); err == nil {
					tp.front.WriteToUDP(b, from)
				}
				continue
			}
			if b, err := oscore.EncodeMessage(m); err == nil {
				raw = b
			}
		}
		tp.back.Write(raw)
	}
}

func (tp *tamper) down() {
	buf := make([]byte, maxDatagram)
	for {
		n, err := tp.back.Read(buf)
		if err != nil {
			return
		}
		raw := append([]byte(nil), buf[:n]...)
		if m, ok := decode(raw); ok && tp.response != nil && m.Code != codes.Empty {
			tp.response(tp, &m)
			if b, err := oscore.EncodeMessage(m); err == nil {
				raw = b
			}
		}
		tp.mu.Lock()
		to := tp.client
		tp.mu.Unlock()
		tp.front.WriteToUDP(raw, to)
	}
}

// misbehaviours: each breaks one rule and must fail exactly these cases.
var misbehaviours = []struct {
	name     string
	request  func(tp *tamper, m *message.Message) *message.Message
	response func(tp *tamper, m *message.Message)
	fails    []string
}{{
	// An OSCORE error response without the outer Max-Age 0.
	name: "error without Max-Age",
	response: func(_ *tamper, m *message.Message) {
		if !m.Options.HasOption(optOSCORE) {
			m.Options = m.Options.Remove(optMaxAge)
		}
	},
	fails: []string{"server-error-max-age"},
}, {
	// Protected responses to POST requests with outer 2.05 instead of 2.04.
	name: "outer code 2.05 for POST",
	response: func(_ *tamper, m *message.Message) {
		if m.Options.HasOption(optOSCORE) && m.Code == codes.Changed {
			m.Code = codes.Content
		}
	},
	fails: []string{"server-outer-code-post"},
}, {
	// A server that answers a repeated Partial IV from a response cache
	// instead of refusing it: its replay window is as good as ignored.
	name: "replays served from a cache",
	request: func(tp *tamper, m *message.Message) *message.Message {
		v, err := m.Options.GetBytes(optOSCORE)
		if err != nil {
			return nil
		}
		tp.mu.Lock()
		defer tp.mu.Unlock()
		tp.asked[string(m.Token)] = string(v)
		if r, ok := tp.seen[string(v)]; ok {
			r.Token, r.MessageID, r.Type = m.Token, m.MessageID, message.Acknowledgement
			return &r
		}
		return nil
	},
	response: func(tp *tamper, m *message.Message) {
		tp.mu.Lock()
		defer tp.mu.Unlock()
		if v, ok := tp.asked[string(m.Token)]; ok && m.Options.HasOption(optOSCORE) {
			c := *m
			c.Options = append(message.Options(nil), m.Options...)
			c.Payload = append([]byte(nil), m.Payload...)
			tp.seen[v] = c
		}
	},
	fails: []string{"server-replay"},
}}

// TestBrokenServersFailTheirCases runs the server suite against the lab
// server behind each misbehaving front: exactly the cases of the broken
// rule fail.
func TestBrokenServersFailTheirCases(t *testing.T) {
	for _, mb := range misbehaviours {
		t.Run(mb.name, func(t *testing.T) {
			s := labServerScenario()
			tp := newTamper(t, startLab(t, s, "S"), mb.request, mb.response)
			rep := runSuite(t, Config{Target: tp.addr(), Role: RoleServer, Contexts: suiteContexts(t, s), Seq: -1,
				Only: withoutObserve(RoleServer)})
			failed := failedIDs(rep)
			if !slices.Equal(failed, mb.fails) {
				t.Errorf("failed %v, want %v\n%s", failed, mb.fails, reportText(rep))
			}
		})
	}
}

// withoutObserve lists the role's cases but the Observe ones, which take
// seconds of notifications and are checked against the lab server alone.
func withoutObserve(role string) []string {
	var ids []string
	for _, c := range CasesFor(role) {
		if c.ID != "server-observe-piv" && c.ID != "server-outer-code-fetch" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// TestBrokenProxiesFailTheirCases puts a misbehaving relay between the lab
// proxy and the suite's origin, standing in for a proxy that breaks one
// rule when it forwards: exactly the cases of that rule fail.
func TestBrokenProxiesFailTheirCases(t *testing.T) {
	dropOSCORE := func(_ *tamper, m *message.Message) *message.Message {
		m.Options = m.Options.Remove(optOSCORE)
		return nil
	}
	tests := []struct {
		name    string
		role    string
		request func(tp *tamper, m *message.Message) *message.Message
		fails   []string
	}{
		{"forward-proxy drops the OSCORE option", RoleForwardProxy, dropOSCORE, []string{"fwd-oscore-untouched"}},
		{"forward-proxy keeps the Hop-Limit", RoleForwardProxy, func(_ *tamper, m *message.Message) *message.Message {
			if v, err := m.Options.GetUint32(optHopLimit); err == nil {
				m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optHopLimit, v+1)
			}
			return nil
		}, []string{"fwd-hop-limit-decrement"}},
		// The lab proxy protects what it forwards with CTX_P_O, and the
		// Hop-Limit travels inside that layer: without the option the
		// origin cannot read it either.
		{"OSCORE proxy drops the OSCORE option", RoleOSCOREProxy, dropOSCORE, []string{"oproxy-layer-removed", "oproxy-response-reverse-order", "oproxy-hop-limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, origin := originSocket(t)
			tp := newTamper(t, origin, tt.request, nil)
			s := labProxyScenario(tp.addr(), tt.role == RoleOSCOREProxy)
			target := startLab(t, s, "P")
			cfg := Config{Target: target, Role: tt.role, OriginConn: conn, OriginAddr: tp.addr(), Seq: -1, Timeout: time.Second}
			if tt.role == RoleOSCOREProxy {
				cfg.Contexts = proxySuiteContexts(t, s)
			}
			rep := runSuite(t, cfg)
			failed := failedIDs(rep)
			if !slices.Equal(failed, tt.fails) {
				t.Errorf("failed %v, want %v\n%s", failed, tt.fails, reportText(rep))
			}
		})
	}
}

func failedIDs(rep *Report) []string {
	var ids []string
	for _, c := range rep.Cases {
		if c.Result == Fail {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// TestFloodingTargetStaysBounded: a target that answers each request with
// a flood of datagrams for other tokens leaves a bounded trace, and the
// case still ends at its timeout.
func TestFloodingTargetStaysBounded(t *testing.T) {
	flood, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	go func() {
		buf := make([]byte, 2048)
		junk := []byte{0x51, 0x45, 0, 1, 0xee} // NON 2.05 with a token nobody asked for
		for {
			_, from, err := flood.ReadFromUDP(buf)
			if err != nil {
				return
			}
			for i := 0; i < 3*maxCaseEvents; i++ {
				flood.WriteToUDP(junk, from)
			}
		}
	}()
	s := labServerScenario()
	rep := runSuite(t, Config{Target: flood.LocalAddr().String(), Role: RoleServer, Contexts: suiteContexts(t, s), Seq: -1,
		Timeout: 500 * time.Millisecond, Only: []string{"server-aead-10"}})
	if n := len(rep.Trace.Events); n > maxCaseEvents+1 {
		t.Errorf("%d events recorded for one case, want at most %d", n, maxCaseEvents+1)
	}
	if rep.Cases[0].Result != Fail {
		t.Errorf("result %s (%s), want fail", rep.Cases[0].Result, rep.Cases[0].Reason)
	}
}
