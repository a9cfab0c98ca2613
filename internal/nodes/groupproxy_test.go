package nodes

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// groupProxyLab is client C, forward-proxy P sharing CTX_C_P with C, a
// unicast server S, and a group G of n members S1..Sn sharing the group
// context GRP with C, behind the fan-out link.
type groupProxyLab struct {
	lab *Lab
	bus *trace.Bus
	ids []string
}

func gpScenario(n int, allow map[string][]string) *scenario.Scenario {
	s := &scenario.Scenario{Name: "gp-test",
		Nodes: []scenario.Node{{ID: "C", Role: scenario.RoleClient},
			{ID: "P", Role: scenario.RoleProxy, Forward: true, Allow: allow},
			{ID: "S", Role: scenario.RoleServer}},
		Contexts: []scenario.Context{{Name: "CTX_C_P",
			A:            scenario.Endpoint{Node: "C", SenderID: "20", RecipientID: "02"},
			B:            scenario.Endpoint{Node: "P", SenderID: "02", RecipientID: "20"},
			MasterSecret: "9a6c99ec29d0cb93f8fe55da6cd6395c"}},
		GroupContexts: []scenario.GroupContext{{Name: "GRP", GID: "57ab2e", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
			Members: []scenario.GroupContextMember{{Node: "C", SenderID: "01"}}}},
		Groups: []scenario.Group{{ID: "G", Context: "GRP"}},
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("S%d", i)
		s.Nodes = append(s.Nodes, scenario.Node{ID: id, Role: scenario.RoleServer, Resources: []string{fmt.Sprintf("temp=text:21.%d", i)}})
		s.GroupContexts[0].Members = append(s.GroupContexts[0].Members, scenario.GroupContextMember{Node: id, SenderID: fmt.Sprintf("%02x", 0x10+i)})
		s.Groups[0].Members = append(s.Groups[0].Members, scenario.GroupMember{Node: id})
	}
	return s
}

func startGroupProxyLab(t *testing.T, n int, allow map[string][]string) *groupProxyLab {
	t.Helper()
	s := gpScenario(n, allow)
	lab, bus := startLab(t, s)
	g := &groupProxyLab{lab: lab, bus: bus}
	for _, m := range s.Groups[0].Members {
		g.ids = append(g.ids, m.Node)
	}
	return g
}

// link is the group's fan-out link.
func (g *groupProxyLab) link() *GroupLink { return g.lab.topo.Load().groups["G"].link }

// call is a GET of coap://G/temp through P with Multicast-Timeout t1
// (nil: none), the client keeping its token for wait.
func (g *groupProxyLab) call(t1 *uint32, wait time.Duration) GroupProxyCall {
	req := message.Message{Code: codes.GET}
	req.Options, _, _ = req.Options.SetString(make([]byte, 64), optProxyURI, "coap://G/temp")
	return GroupProxyCall{Client: "C", Proxy: "P", CP: "CTX_C_P", Group: "G", Request: req, Timeout: t1, Wait: wait}
}

func (g *groupProxyLab) run(t *testing.T, c GroupProxyCall) (GroupOutcome, int) {
	t.Helper()
	out, ex, err := g.lab.GroupViaProxy(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return out, ex
}

func seconds(v uint32) *uint32 { return &v }

// TestGroupViaForwardProxy: GP 5.6's flow with the C-P layer of the
// proxies draft's A.1: every member's response reaches C through P,
// verified through both layers, each with a Reply-From naming its member;
// the first C-P response reuses the request nonce and every later one
// carries P's own Partial IV, increasing (draft 2.5.1, 2.6.1); P's trace
// says which decisions it took.
func TestGroupViaForwardProxy(t *testing.T) {
	g := startGroupProxyLab(t, 3, map[string][]string{"CTX_C_P": {"G"}})
	out, ex := g.run(t, g.call(seconds(1), 2500*time.Millisecond))
	if err := out.Check(g.ids); err != nil {
		t.Fatal(err)
	}
	if len(out.Responses) != 3 || len(out.Proxy) != 0 {
		t.Fatalf("%d responses, %d answers of P; want 3 and 0: %+v", len(out.Responses), len(out.Proxy), out)
	}
	noPIV := 0
	var last uint64
	for i, r := range out.Responses {
		if r.Code != "2.05" || r.Payload != "21."+r.Member[1:] {
			t.Errorf("%s: %s %q", r.Member, r.Code, r.Payload)
		}
		if r.ReplyFromMember != r.Member || !strings.HasPrefix(r.ReplyFrom, "coap://127.0.0.1:") {
			t.Errorf("response %d: Reply-From %q names %q, kid names %s", i, r.ReplyFrom, r.ReplyFromMember, r.Member)
		}
		if r.CPPartialIV == nil {
			noPIV++
			if i != 0 {
				t.Errorf("response %d has no C-P Partial IV; only the first may (draft 2.5.1)", i)
			}
			continue
		}
		v := oscorePIV(r.CPPartialIV)
		if v <= last && last != 0 {
			t.Errorf("C-P Partial IV %d after %d", v, last)
		}
		last = v
	}
	if noPIV != 1 {
		t.Errorf("%d C-P responses without Partial IV, want exactly the first", noPIV)
	}
	for _, want := range []string{"allow-listed for group G", "Multicast-Timeout T' = 1 s read and removed", "timer T' = 1 s started",
		"Reply-From coap://127.0.0.1:", "Timer T' expired after 3 relayed responses"} {
		if !decided(g.bus, 0, "P", "", want) {
			t.Errorf("no decision of P saying %q", want)
		}
	}
	// The group datagram and its copies belong to the exchange.
	var toGroup, copies int
	for _, e := range eventsOf(g.bus, trace.TypeDatagram, ex) {
		switch {
		case e.To == "G":
			toGroup++
			if m := decode(t, e.Bytes); m.Options.HasOption(optMulticastTimeout) || m.Type != message.NonConfirmable {
				t.Errorf("P's group datagram is %v with options %v: want NON without Multicast-Timeout (GP 5.2.1 steps 4, 5)", m.Type, m.Options)
			}
		case e.From == "G":
			copies++
		}
	}
	if toGroup != 1 || copies != 3 {
		t.Errorf("exchange %d: %d datagrams to G and %d copies, want 1 and 3", ex, toGroup, copies)
	}
}

func oscorePIV(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// TestGroupViaProxyErrors: the errors of GP 5.2.1, each protected with the
// C-P layer: a client P cannot identify (no C-P layer) and one whose
// context is not allow-listed for the group get 4.01; a request without
// Multicast-Timeout gets 4.00 with an empty Multicast-Timeout and the
// hint. None reaches the group.
func TestGroupViaProxyErrors(t *testing.T) {
	cases := []struct {
		name    string
		allow   map[string][]string
		cp      string
		timeout *uint32
		code    string
		payload string
		mt      bool // the answer carries Multicast-Timeout 0
	}{
		{name: "not allow-listed", allow: map[string][]string{"CTX_C_P": {"S"}}, cp: "CTX_C_P", timeout: seconds(1), code: "4.01"},
		{name: "no allow-list", cp: "CTX_C_P", timeout: seconds(1), code: "4.01"},
		{name: "client not identified", allow: map[string][]string{"": {"G"}, "CTX_C_P": {"G"}}, timeout: seconds(1), code: "4.01"},
		{name: "missing Multicast-Timeout", allow: map[string][]string{"CTX_C_P": {"G"}}, cp: "CTX_C_P", code: "4.00", payload: missingTimeoutHint, mt: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := startGroupProxyLab(t, 2, tc.allow)
			c := g.call(tc.timeout, 2*time.Second)
			c.CP = tc.cp
			out, ex := g.run(t, c)
			if len(out.Proxy) != 1 || len(out.Responses) != 0 {
				t.Fatalf("%+v; want one answer of P and no member response", out)
			}
			a := out.Proxy[0]
			if a.Code != tc.code || (tc.payload != "" && a.Payload != tc.payload) {
				t.Fatalf("P answered %s %q, want %s %q", a.Code, a.Payload, tc.code, tc.payload)
			}
			if tc.mt != (a.MulticastTimeout != nil && *a.MulticastTimeout == 0) {
				t.Fatalf("Multicast-Timeout in the answer: %v, want present and 0: %v", a.MulticastTimeout, tc.mt)
			}
			for _, e := range eventsOf(g.bus, trace.TypeDatagram, 0) {
				if e.To == "G" {
					t.Fatalf("exchange %d: a datagram reached the group", ex)
				}
			}
			if tc.cp != "" {
				errs := eventsOf(g.bus, trace.TypeError, ex)
				if len(errs) != 1 || len(errs[0].Error.ProtectedBy) != 1 || errs[0].Error.ProtectedBy[0] != "CTX_C_P" {
					t.Fatalf("error events %+v, want one protected by CTX_C_P", errs)
				}
			}
		})
	}
}

// TestGroupViaProxyMulticastTimeoutIsClassE: in the C-P layer
// Multicast-Timeout is encrypted (Class E: P is its consumer, draft 2.2),
// in the group layer it would be U; the datagram C sends carries no
// option 2 in clear, and the responses P relays no Reply-From in clear
// (C consumes it).
func TestGroupViaProxyMulticastTimeoutIsClassE(t *testing.T) {
	g := startGroupProxyLab(t, 1, map[string][]string{"CTX_C_P": {"G"}})
	c := g.call(seconds(1), 1500*time.Millisecond)
	c.Enough = 1
	out, ex := g.run(t, c)
	if len(out.Responses) != 1 || out.Responses[0].ReplyFrom == "" {
		t.Fatalf("%+v", out)
	}
	seen := 0
	for _, e := range eventsOf(g.bus, trace.TypeDatagram, ex) {
		m := decode(t, e.Bytes)
		switch {
		case e.From == "C" && e.To == "P":
			seen++
			if m.Options.HasOption(optMulticastTimeout) || m.Options.HasOption(optProxyURI) {
				t.Errorf("C's datagram shows Multicast-Timeout or Proxy-Uri in clear: %v", m.Options)
			}
		case e.From == "P" && e.To == "C":
			seen++
			if m.Options.HasOption(optReplyFrom) {
				t.Errorf("P's relayed response shows Reply-From in clear: %v", m.Options)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("%d datagrams between C and P, want the request and one response", seen)
	}
}

// TestGroupViaProxyLateResponseDropped: a member whose reply is delayed
// past T' is not relayed; P traces the drop.
func TestGroupViaProxyLateResponseDropped(t *testing.T) {
	lateWindow = 3 * time.Second
	g := startGroupProxyLab(t, 2, map[string][]string{"CTX_C_P": {"G"}})
	if err := g.link().SetFaults("S2", []scenario.Fault{{Kind: scenario.FaultDelay, Dir: "b->a", Delay: "1500ms"}}); err != nil {
		t.Fatal(err)
	}
	out, _ := g.run(t, g.call(seconds(1), 3*time.Second))
	if err := out.Check([]string{"S1"}); err != nil || len(out.Responses) != 1 {
		t.Fatalf("%v %+v; want S1's response alone", err, out.Responses)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !decided(g.bus, 0, "P", "", "Late response from S2") {
		if time.Now().After(deadline) {
			for _, e := range g.bus.Recent() {
				t.Logf("%s %s %s %s %v", e.Type, e.Node, e.From, e.To, e.Decision)
			}
			t.Fatal("P did not trace S2's late response as dropped")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGroupViaProxyEarlyStop: an Early Stop Request (GET, same token,
// empty Multicast-Timeout, no proxy options, under the C-P layer) stops
// the forwarding: a member answering after it is not relayed.
func TestGroupViaProxyEarlyStop(t *testing.T) {
	g := startGroupProxyLab(t, 2, map[string][]string{"CTX_C_P": {"G"}})
	if err := g.link().SetFaults("S2", []scenario.Fault{{Kind: scenario.FaultDelay, Dir: "b->a", Delay: "1500ms"}}); err != nil {
		t.Fatal(err)
	}
	c := g.call(seconds(4), 3*time.Second)
	c.EarlyStopAfter = 1
	out, _ := g.run(t, c)
	if len(out.Responses) != 1 || out.Responses[0].Member != "S1" || out.AfterStop != 0 {
		t.Fatalf("%+v, %d after the Early Stop; want S1's response alone", out.Responses, out.AfterStop)
	}
	if !decided(g.bus, 0, "P", "", "Early Stop Request with token") || !decided(g.bus, 0, "P", "", "Forwarding stopped (Early Stop Request") {
		t.Fatal("P did not trace the Early Stop")
	}
}

// TestGroupViaProxyChain: through two proxies (GP 8): P1 keeps
// Multicast-Timeout but lowers it to T” = T' - 1 s and adds its layer
// CTX_P1_P2, by which P2 identifies it and finds it allow-listed; P2
// sends to the group and adds Reply-From; P1 removes its layer from each
// response, keeps Reply-From unchanged and relays under CTX_C_P1.
func TestGroupViaProxyChain(t *testing.T) {
	lab, bus := startLab(t, builtinScenario(t, "gp-errors"))
	st := builtinScenario(t, "gp-errors").Steps[3]
	three := 3
	st.MulticastTimeout, st.Expect = &three, nil
	r := send(t, lab, st)
	if !r.OK || len(r.Responses) != 2 {
		t.Fatalf("%+v", r)
	}
	for _, m := range r.Responses {
		if m.Refused != "" || m.Payload != m.Member+" r" || !strings.HasPrefix(m.ReplyFrom, "coap://127.0.0.1:") {
			t.Errorf("%+v", m)
		}
	}
	for _, want := range []struct{ node, text string }{
		{"P1", "rewritten to T'' = 2 s for the next proxy P2"},
		{"P1", "Layer CTX_P1_P2 added towards the next proxy P2"},
		{"P2", "context CTX_P1_P2 is allow-listed for group G"},
		{"P2", "Multicast-Timeout T' = 2 s read and removed"},
		{"P1", "its Reply-From kept unchanged"},
	} {
		if !decided(bus, r.Exchange, want.node, "", want.text) {
			t.Errorf("no decision of %s saying %q", want.node, want.text)
		}
	}
}

// TestGroupViaProxyResetStops: a client that forgets its token after the
// first response answers the next relayed one with a Reset, and the proxy
// stops forwarding (GP 5.1.3 first approach, 5.2.3).
func TestGroupViaProxyResetStops(t *testing.T) {
	g := startGroupProxyLab(t, 3, map[string][]string{"CTX_C_P": {"G"}})
	for _, m := range []string{"S2", "S3"} {
		if err := g.link().SetFaults(m, []scenario.Fault{{Kind: scenario.FaultDelay, Dir: "b->a", Delay: map[string]string{"S2": "700ms", "S3": "1400ms"}[m]}}); err != nil {
			t.Fatal(err)
		}
	}
	c := g.call(seconds(3), 2500*time.Millisecond)
	c.EarlyStopAfter, c.StopByReset = 1, true
	out, _ := g.run(t, c)
	if len(out.Responses) != 1 || out.AfterStop != 1 {
		t.Fatalf("%d responses, %d after forgetting the token; want 1 and 1 (S2's, answered with a Reset; S3's never relayed)", len(out.Responses), out.AfterStop)
	}
	if !decided(g.bus, 0, "P", "", "Forwarding stopped (Reset from the client") {
		t.Fatal("P did not stop on the Reset")
	}
}

// TestGroupViaProxyObserve: a group observation through the proxy (GP
// 5.1.2, 5.4.2): each member answers the registration and sends three
// notifications, the last ones after T'; since the members answered with
// 2.05 and Observe, P keeps relaying them after T', each with Reply-From,
// and C verifies every one through both layers.
func TestGroupViaProxyObserve(t *testing.T) {
	g := startGroupProxyLab(t, 2, map[string][]string{"CTX_C_P": {"G"}})
	c := g.call(seconds(1), 2500*time.Millisecond)
	c.Request.Options = c.Request.Options.Add(message.Option{ID: optObserve, Value: []byte{}})
	out, _ := g.run(t, c)
	per := map[string]int{}
	for _, r := range out.Responses {
		per[r.Member]++
		if r.ReplyFromMember != r.Member {
			t.Errorf("%s: Reply-From names %q", r.Member, r.ReplyFromMember)
		}
	}
	if per["S1"] != 4 || per["S2"] != 4 || len(out.Refused) > 0 {
		t.Fatalf("responses per member %v, refused %v; want the registration's and 3 notifications from each", per, out.Refused)
	}
	if !decided(g.bus, 0, "P", "", "the group observation goes on") || !true {
		t.Fatal("P did not say it keeps relaying the observation after T'")
	}
	if !decided(g.bus, 0, "P", "", "Notification of the group observation, after T', from S") {
		t.Fatal("P relayed no notification after T' with Reply-From")
	}
}

// TestGroupViaReverseProxyStandsForMembers: a reverse-proxy that stands in
// for the members (GP 6.1, App. A.1) puts its own address first in
// Reply-From and the member's in a CRI reference; the client names the
// member by the reference.
func TestGroupViaReverseProxyStandsForMembers(t *testing.T) {
	s := builtinScenario(t, "gp-reverse-1")
	lab, _ := startLab(t, s)
	r := send(t, lab, s.Steps[1])
	if !r.OK || len(r.Responses) != 2 {
		t.Fatalf("%+v", r)
	}
	p := lab.topo.Load().nodes["P"].addr.String()
	for _, m := range r.Responses {
		if want := "coap://" + p + ", //" + m.From; m.ReplyFrom != want {
			t.Errorf("%s: Reply-From %q, want %q", m.Member, m.ReplyFrom, want)
		}
	}
}

// TestGroupViaProxyClientChecksReplyFrom: the client refuses a relayed
// response without Reply-From (GP 5.4.1 step 1 makes it mandatory), one
// whose Reply-From names another member than the kid that verified it,
// and one whose Reply-From does not decode.
func TestGroupViaProxyClientChecksReplyFrom(t *testing.T) {
	defer func() { replyFromFault = nil }()
	cases := []struct {
		name  string
		fault func(v []byte) []byte
		want  string
	}{
		{"missing", func([]byte) []byte { return nil }, "carries no Reply-From"},
		{"another member", nil, "but kid"},
		{"undecodable", func([]byte) []byte { return []byte{0x82, 0x21, 0x00, 0x00, 0x00} }, "unreadable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := startGroupProxyLab(t, 2, map[string][]string{"CTX_C_P": {"G"}})
			replyFromFault = tc.fault
			if tc.fault == nil {
				// Every response claims to come from the first member
				// that answered.
				var first []byte
				var mu sync.Mutex
				replyFromFault = func(v []byte) []byte {
					mu.Lock()
					defer mu.Unlock()
					if first == nil {
						first = v
					}
					return first
				}
			}
			out, _ := g.run(t, g.call(seconds(1), 1500*time.Millisecond))
			replyFromFault = nil
			refused := 0
			for _, r := range out.Refused {
				if strings.Contains(r.Why, tc.want) {
					refused++
				}
			}
			want := 2
			if tc.fault == nil {
				want = 1 // the first member's own response is right
			}
			if refused != want {
				t.Fatalf("%d refusals saying %q, want %d: %+v", refused, tc.want, want, out.Refused)
			}
		})
	}
}

// TestGroupViaProxyZeroTimeout: T' = 0 asks for no responses (GP 5.1.1
// step 3, 5.2.1 step 6): P forwards to the group and relays nothing.
func TestGroupViaProxyZeroTimeout(t *testing.T) {
	g := startGroupProxyLab(t, 2, map[string][]string{"CTX_C_P": {"G"}})
	out, ex := g.run(t, g.call(seconds(0), 1200*time.Millisecond))
	if len(out.Responses) != 0 || len(out.Proxy) != 0 {
		t.Fatalf("%+v; want nothing relayed", out)
	}
	delivered := 0
	for _, e := range eventsOf(g.bus, trace.TypeDelivery, ex) {
		if e.Node == "S1" || e.Node == "S2" {
			delivered++
		}
	}
	if delivered != 2 || !decided(g.bus, ex, "P", "", "T' = 0: no response will be relayed") {
		t.Fatalf("%d deliveries at the members, want 2, and P's decision", delivered)
	}
}

// TestGroupViaReverseProxyForGroupOnly: a reverse-proxy that stands in for
// the group alone (GP 6.1 second case, App. A.3) names the member itself
// in Reply-From, one CRI and no reference.
func TestGroupViaReverseProxyForGroupOnly(t *testing.T) {
	s := builtinScenario(t, "gp-reverse-3")
	lab, _ := startLab(t, s)
	r := send(t, lab, s.Steps[1])
	if !r.OK || len(r.Responses) != 2 {
		t.Fatalf("%+v", r)
	}
	for _, m := range r.Responses {
		if want := "coap://" + m.From; m.ReplyFrom != want {
			t.Errorf("%s: Reply-From %q, want %q", m.Member, m.ReplyFrom, want)
		}
	}
}

// TestFollowUpNeedsReplyFrom: a reply_from step before any group step has
// no address to go to and fails naming why, sending nothing.
func TestFollowUpNeedsReplyFrom(t *testing.T) {
	s := builtinScenario(t, "gp-reverse-1")
	lab, bus := startLab(t, s)
	_, err := lab.Send(context.Background(), s.Steps[2])
	if err == nil || !strings.Contains(err.Error(), "has no Reply-From from S1 yet") {
		t.Fatalf("err = %v", err)
	}
	if n := len(eventsOf(bus, trace.TypeDatagram, 0)); n != 0 {
		t.Fatalf("%d datagrams sent", n)
	}
}

// TestGroupForwardWithoutConnection: a request processed without a client
// connection (as the fuzz target runs it) cannot have responses relayed:
// 5.00, nothing sent to the group, no panic.
func TestGroupForwardWithoutConnection(t *testing.T) {
	g := startGroupProxyLab(t, 1, map[string][]string{"CTX_C_P": {"G"}})
	top := g.lab.topo.Load()
	ctxC, _, err := top.contextFor("CTX_C_P", "C")
	if err != nil {
		t.Fatal(err)
	}
	m := message.Message{Code: codes.GET, Token: message.Token{1}, Type: message.NonConfirmable}
	m.Options, _, _ = m.Options.SetString(make([]byte, 64), optProxyURI, "coap://G/temp")
	m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optMulticastTimeout, 1)
	hops := []oscore.Hop{{Name: "C", Role: oscore.RoleClient}, {Name: "P", Role: oscore.RoleForwardProxy}, {Name: "G", Role: oscore.RoleServer}}
	prot, _, _, err := oscore.ProtectRequest(ctxC, m, oscore.ProtectOptions{Rule: oscore.RequestRoute(&m, hops, 0, []int{1}).RuleFor(1)})
	if err != nil {
		t.Fatal(err)
	}
	if out := newIncoming(top.nodes["P"], nil, prot, peerRef{node: "C"}).run(); out == nil {
		t.Fatal("no answer")
	}
	errs := eventsOf(g.bus, trace.TypeError, 0)
	if len(errs) != 1 || errs[0].Error.Code != "5.00" {
		t.Fatalf("error events %+v, want one 5.00", errs)
	}
	for _, e := range eventsOf(g.bus, trace.TypeDatagram, 0) {
		if e.To == "G" {
			t.Fatal("a datagram reached the group")
		}
	}
}

// TestGroupForwardLimits: a Multicast-Timeout beyond the lab's 600 s runs
// the timer for 600 s, and once 256 group requests are in progress the
// next gets 5.03: a client cannot make the proxy keep state without end.
func TestGroupForwardLimits(t *testing.T) {
	g := startGroupProxyLab(t, 1, map[string][]string{"CTX_C_P": {"G"}})
	c := g.call(seconds(4000000000), 1500*time.Millisecond)
	c.Enough = 1
	if out, _ := g.run(t, c); len(out.Responses) != 1 {
		t.Fatalf("%+v", out)
	}
	if !decided(g.bus, 0, "P", "", "Multicast-Timeout 4000000000 s is beyond the 600 s P waits") {
		t.Fatal("no decision on the capped timer")
	}
	p := g.lab.topo.Load().nodes["P"]
	p.groupForwards.mu.Lock()
	for i := len(p.groupForwards.all); i < maxGroupForwards; i++ {
		p.groupForwards.all[fmt.Sprintf("filler/%d", i)] = &groupForward{}
	}
	p.groupForwards.mu.Unlock()
	t.Cleanup(func() { // before the lab closes: the fillers have nothing to stop
		p.groupForwards.mu.Lock()
		for k := range p.groupForwards.all {
			if strings.HasPrefix(k, "filler/") {
				delete(p.groupForwards.all, k)
			}
		}
		p.groupForwards.mu.Unlock()
	})
	out, _ := g.run(t, g.call(seconds(1), 1500*time.Millisecond))
	if len(out.Proxy) != 1 || out.Proxy[0].Code != "5.03" {
		t.Fatalf("%+v; want 5.03 from P", out)
	}
}
