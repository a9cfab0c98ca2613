package nodes

import (
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// Group requests through a proxy (draft-ietf-core-groupcomm-proxy, "GP"
// below): the proxy identifies the client by the C-P OSCORE layer it
// removed and checks its allow-list (GP 4 REQ1, REQ2; 5.2.1 step 2), reads
// and removes Multicast-Timeout (steps 3, 4), sends the request, still
// Group OSCORE-protected end to end, as one NON datagram to the group
// (step 5), and relays every response that arrives before the timer T'
// runs out (step 6; 5.4.1), each with Reply-From naming its server and
// each protected with the layers removed from the request, the proxy's own
// Partial IV from the second on (draft-ietf-core-oscore-capable-proxies
// 2.5.1). Responses after T' are dropped and traced.

const (
	optMulticastTimeout = oscore.OptMulticastTimeout // GP 2, suggested number 2 (TBD2)
	optReplyFrom        = oscore.OptReplyFrom        // GP 3, suggested number 248 (TBD248)
	optNoResponse       = oscore.OptNoResponse
)

// RuleGroupProxy names the decisions of the groupcomm-proxy steps.
const RuleGroupProxy = "groupcomm-proxy"

// missingTimeoutHint is the diagnostic payload of the 4.00 a request
// without Multicast-Timeout gets (GP 5.2.1 step 3; the text of App. A.1).
const missingTimeoutHint = "Please use Multicast-Timeout"

// chainMargin is what a proxy that forwards to another proxy takes off T'
// for the round trip on its own side (GP 8.1: T” < T', the difference at
// least the worst-case round trip to the previous hop). Loopback round
// trips are far shorter; one second is the option's unit.
const chainMargin = 1

// lateWindow is how long a proxy keeps listening after T' only to trace
// the responses it drops as late (GP 5.4.1: the token is freed; the lab
// shows what a freed token no longer matches).
var lateWindow = 3 * time.Second

// replyFromFault, set by tests only, replaces the Reply-From value a proxy
// adds (nil: none added): a faulty proxy, for the client's checks.
var replyFromFault func(v []byte) []byte

// maxGroupForwards bounds the group requests a node forwards at once, and
// maxMulticastTimeout the timer of each: a client must not make a proxy
// keep state without end (the lab's bounds; GP sets none).
const (
	maxGroupForwards    = 256
	maxMulticastTimeout = 600
)

// maxGroupResponses bounds the responses one group request relays: a
// member that floods the proxy cannot make it relay without end.
const maxGroupResponses = 4096

// groupFor finds the group a URI's host names: its id or, with the port,
// its address.
func (t *topology) groupFor(host, hostport string) *labGroup {
	for id, g := range t.groups {
		if strings.EqualFold(id, host) || g.link.Addr().String() == hostport {
			return g
		}
	}
	return nil
}

// groupAcceptable is the allow-list check of GP 5.2.1 step 2: the client
// must be identified, here by the C-P OSCORE layer the proxy removed (GP
// 4 REQ2, draft-ietf-core-oscore-capable-proxies A.1), and the allow-list
// (REQ1: the proxy is configured explicitly) must name the group for that
// context.
func (in *incoming) groupAcceptable(prev string) (bool, string) {
	if prev == "" {
		return false, "the client is not identified: no OSCORE layer between it and " + in.n.id + " was removed (GP 4 REQ2)"
	}
	list, ok := in.cfg.Allow[prev]
	if !ok {
		return false, "context " + prev + " has no allow-list entry for proxied group requests (GP 4 REQ1)"
	}
	if slices.Contains(list, in.group.cfg.ID) || slices.Contains(list, "*") {
		return true, fmt.Sprintf("context %s is allow-listed for group %s (GP 5.2.1 step 2)", prev, in.group.cfg.ID)
	}
	return false, fmt.Sprintf("context %s is not allow-listed for group %s (GP 5.2.1 step 2)", prev, in.group.cfg.ID)
}

// groupDecide records a decision of the groupcomm-proxy steps.
func (in *incoming) groupDecide(at where, section, outcome string, code codes.Code) {
	in.n.decision(at, RuleGroupProxy, "", section, outcome, code)
}

// forwardToGroup runs GP 5.2.1 steps 3 to 6 for a request whose target is
// a group (or, in a chain of proxies, 8.1 for the next proxy), once the
// client is identified and allow-listed.
func (in *incoming) forwardToGroup() *reply {
	if in.cc == nil {
		// Responses follow the answer on the client's connection; without
		// one the proxy cannot relay them.
		in.groupDecide(in.at, "GP 5.4.1", "No connection to the client to relay responses on -> 5.00", codes.InternalServerError)
		return in.fail(codes.InternalServerError, "", "no connection to relay group responses on", "GP 5.4.1")
	}
	v, err := in.req.Options.GetUint32(optMulticastTimeout)
	if err != nil {
		in.groupDecide(in.at, "GP 5.2.1 step 3", "No Multicast-Timeout: the client has not said it takes several responses -> 4.00 with an empty Multicast-Timeout and a hint", codes.BadRequest)
		r := in.fail(codes.BadRequest, missingTimeoutHint, "Multicast-Timeout missing in a request to a group", "GP 5.2.1 step 3")
		r.msg.Options = r.msg.Options.Add(message.Option{ID: optMulticastTimeout, Value: []byte{}})
		return r
	}
	if in.n.groupForwards.count() >= maxGroupForwards {
		in.groupDecide(in.at, "GP 5.2.1", fmt.Sprintf("%d group requests are being forwarded already, the most %s keeps -> 5.03", maxGroupForwards, in.n.id), codes.ServiceUnavailable)
		return in.fail(codes.ServiceUnavailable, "Too many group requests in progress", "group forwarding limit", "RFC 7252 5.9.3.4")
	}
	if v > maxMulticastTimeout {
		in.groupDecide(in.at, "GP 5.2.1 step 6", fmt.Sprintf("Multicast-Timeout %d s is beyond the %d s %s waits for responses: the timer runs %d s", v, maxMulticastTimeout, in.n.id, maxMulticastTimeout), 0)
		v = maxMulticastTimeout
	}
	t1 := time.Duration(v) * time.Second
	m := in.req
	m.Options = append(message.Options(nil), m.Options...)
	chain := in.nextHop != in.group.cfg.ID
	if chain {
		// GP 8.1 step 4: keep the option, with T'' < T' leaving room for
		// the round trip back to the previous hop.
		if v <= chainMargin {
			min := uint32(chainMargin + 1)
			in.groupDecide(in.at, "GP 8.1", fmt.Sprintf("Multicast-Timeout %d s leaves no usable T'' < T' for the next proxy %s (margin %d s) -> 5.05 with Multicast-Timeout %d, the least T' %s accepts", v, in.nextHop, chainMargin, min, in.n.id), codes.ProxyingNotSupported)
			r := in.fail(codes.ProxyingNotSupported, fmt.Sprintf("Multicast-Timeout too small for the chain; use at least %d", min), "no usable T'' for the next proxy", "GP 8.1")
			r.msg.Options, _, _ = r.msg.Options.SetUint32(make([]byte, 4), optMulticastTimeout, min)
			return r
		}
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optMulticastTimeout, v-chainMargin)
		in.groupDecide(in.at, "GP 8.1", fmt.Sprintf("Multicast-Timeout T' = %d s read; rewritten to T'' = %d s for the next proxy %s", v, v-chainMargin, in.nextHop), 0)
	} else {
		// The group's address is the destination: Uri-Host and Uri-Port
		// would only repeat it (RFC 7252 6.4; the request of GP 5.6's
		// figure carries Uri-Path alone).
		m.Options = m.Options.Remove(optMulticastTimeout).Remove(optURIHost).Remove(optURIPort)
		in.groupDecide(in.at, "GP 5.2.1 step 4", fmt.Sprintf("Multicast-Timeout T' = %d s read and removed", v), 0)
	}
	var added []uint16
	if out := in.hopLimit(&m, &added); out != nil {
		return out
	}
	to, link, err := in.groupDestination(chain)
	if err != nil {
		in.groupDecide(in.at, "GP 5.2.1 step 5", err.Error()+" -> 5.02", codes.BadGateway)
		return in.fail(codes.BadGateway, "", err.Error(), "GP 5.2.1 step 5")
	}
	port, err := in.n.groupPort(to, link)
	if err != nil {
		in.groupDecide(in.at, "GP 5.2.1 step 5", err.Error()+" -> 5.00", codes.InternalServerError)
		return in.fail(codes.InternalServerError, "", err.Error(), "GP 5.2.1 step 5")
	}
	up := where{in.at.ex, in.at.hop + 1}
	tok := in.xch.pinnedToken(up.hop)
	if tok == nil {
		tok = in.n.lab.ids.token()
	}
	var stack []string
	if in.stack != nil {
		stack = in.stack[:max(len(in.stack)-len(in.removed), 0)]
	}
	var own *oscore.Binding
	if chain {
		if m, own, stack, err = in.chainLayer(m, stack, added); err != nil {
			return in.fail(codes.InternalServerError, "", err.Error(), "2.3")
		}
	}
	m.Token, m.MessageID, m.Type = tok, int32(in.n.lab.ids.mid()), message.NonConfirmable
	if chain {
		in.n.lab.reg.registerToken(link.id, tok, corr{Exchange: up.ex, Hop: up.hop})
	} else {
		in.n.lab.groupTokens.Store(string(tok), up.ex)
		in.group.link.NameSender(port.addr(), in.n.id)
	}
	in.xch.setStack(up.hop, stack)
	f := in.n.groupForwards.start(in, tok, port, t1, m.Options.HasOption(optObserve))
	f.own = own
	b, err := oscore.EncodeMessage(m)
	if err == nil {
		// The decision is published before the datagram leaves: the
		// group link records the copies and the members answer at once,
		// and the trace keeps the same order on every run.
		if v == 0 {
			in.groupDecide(up, "GP 5.2.1 steps 5, 6", fmt.Sprintf("Group request sent to %s as one NON datagram; T' = 0: no response will be relayed", in.nextHop), 0)
		} else {
			in.groupDecide(up, "GP 5.2.1 steps 5, 6", fmt.Sprintf("Group request sent to %s as one NON datagram (token %x); timer T' = %d s started: responses until then are relayed to %s", in.nextHop, tok, v, firstNonEmpty(in.from, "the client")), 0)
		}
		_, err = port.conn.WriteToUDP(b, to)
	}
	if err != nil {
		f.stop("sending failed")
		in.groupDecide(in.at, "GP 5.2.1 step 5", "sending to "+in.nextHop+" failed: "+err.Error()+" -> 5.02", codes.BadGateway)
		return in.fail(codes.BadGateway, "", err.Error(), "GP 5.2.1 step 5")
	}
	go f.collect()
	return &reply{none: true}
}

// memberRoute routes a follow-up request to one member of a group the
// node stands in for (GP 6.1 first case, 6.2): its Uri-Host and Uri-Port
// name the address the node gave in that member's Reply-From reference.
// The route keeps the group route's contexts (the C-P layer, B.7).
func (in *incoming) memberRoute(host string) *scenario.ReverseRoute {
	port, err := in.req.Options.GetUint32(optURIPort)
	if err != nil || net.ParseIP(host) == nil {
		return nil
	}
	addr := &net.UDPAddr{IP: net.ParseIP(host), Port: int(port)}
	for _, r := range in.cfg.Reverse {
		g := in.t.groups[r.To]
		if g == nil || !r.StandsForMembers {
			continue
		}
		if id := g.link.MemberAt(addr); id != "" {
			in.decide("3", fmt.Sprintf("Step 3: Uri-Host %s and Uri-Port %d are the address %s gave for %s in Reply-From (GP 6.1, 6.2): route to %s", host, port, in.n.id, id, id), 0)
			return &scenario.ReverseRoute{Host: host, To: id, Contexts: r.Contexts}
		}
	}
	return nil
}

// groupDestination is where the group request goes: the group's address,
// or in a chain the next proxy through the link to it.
func (in *incoming) groupDestination(chain bool) (*net.UDPAddr, *Link, error) {
	if !chain {
		return in.group.link.Addr(), nil, nil
	}
	link, err := in.n.lab.linkBetween(in.n.id, in.nextHop)
	if err != nil {
		return nil, nil, err
	}
	return link.addrFor(in.n.id), link, nil
}

// groupForward is one group request a proxy is relaying responses of.
type groupForward struct {
	in       *incoming
	set      *groupForwardSet
	key      string // client address / client token
	tok      []byte // the token towards the group
	port     *groupPort
	inbox    chan groupDatagram
	own      *oscore.Binding // in a chain: the layer towards the next proxy, or nil
	deadline time.Time
	observe  bool
	stopOnce sync.Once
	stopped  chan struct{}
	why      string

	mu   sync.Mutex
	mids []uint16 // MIDs of the relayed responses, for a Reset (GP 5.1.3)
}

// groupForwardSet holds a node's group requests in progress, by client
// address and token, for Early Stop (GP 5.2.3) and Reset.
type groupForwardSet struct {
	mu  sync.Mutex
	all map[string]*groupForward
}

func (s *groupForwardSet) start(in *incoming, tok []byte, port *groupPort, t1 time.Duration, observe bool) *groupForward {
	key := in.cc.RemoteAddr().String() + "/" + hex.EncodeToString(in.req.Token)
	f := &groupForward{in: in, set: s, key: key, tok: tok, port: port, inbox: make(chan groupDatagram, groupInbox),
		deadline: time.Now().Add(t1), observe: observe, stopped: make(chan struct{})}
	port.listen(tok, f.inbox)
	s.mu.Lock()
	if s.all == nil {
		s.all = map[string]*groupForward{}
	}
	if old := s.all[key]; old != nil {
		old.stop("replaced by a new request with the same token")
	}
	s.all[key] = f
	s.mu.Unlock()
	return f
}

func (s *groupForwardSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all)
}

func (s *groupForwardSet) find(key string) *groupForward {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all[key]
}

// byReset finds the forwarding a Reset from peer with Message ID mid
// answers.
func (s *groupForwardSet) byReset(peer string, mid uint16) *groupForward {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.all {
		if !strings.HasPrefix(f.key, peer+"/") {
			continue
		}
		f.mu.Lock()
		hit := slices.Contains(f.mids, mid)
		f.mu.Unlock()
		if hit {
			return f
		}
	}
	return nil
}

func (s *groupForwardSet) remove(f *groupForward) {
	s.mu.Lock()
	if s.all[f.key] == f {
		delete(s.all, f.key)
	}
	s.mu.Unlock()
}

func (s *groupForwardSet) stopAll() {
	s.mu.Lock()
	all := s.all
	s.all = nil
	s.mu.Unlock()
	for _, f := range all {
		f.stop("the node stopped")
	}
}

// stop ends the forwarding: nothing more is relayed.
func (f *groupForward) stop(why string) {
	f.stopOnce.Do(func() {
		f.why = why
		close(f.stopped)
	})
}

// collect relays responses until T' (and, for a group observation that
// drew a 2.xx notification, until the observation ends), then keeps
// listening for lateWindow only to trace what it drops (GP 5.4.1).
func (f *groupForward) collect() {
	in := f.in
	up := where{in.at.ex, in.at.hop + 1}
	defer func() {
		f.port.forget(f.tok)
		f.set.remove(f)
		in.n.lab.groupTokens.Delete(string(f.tok))
	}()
	relayed, observing, late := 0, false, false
	timer := time.NewTimer(time.Until(f.deadline))
	defer timer.Stop()
	for {
		select {
		case <-f.stopped:
			in.groupDecide(up, "GP 5.2.3", fmt.Sprintf("Forwarding stopped (%s) after %d responses: token %x freed, later responses are not relayed", f.why, relayed, f.tok), 0)
			return
		case <-timer.C:
			switch {
			case late:
				return
			case observing:
				in.groupDecide(up, "GP 5.4.2", fmt.Sprintf("Timer T' expired after %d relayed responses, but a member answered with a 2.xx notification: the group observation goes on and its notifications are relayed, each with Reply-From", relayed), 0)
				timer.Reset(maxObservationRelay)
				late = true // the relay of a group observation is bounded too
				continue
			}
			in.groupDecide(up, "GP 5.4.1", fmt.Sprintf("Timer T' expired after %d relayed responses: token %x freed, later responses are dropped", relayed, f.tok), 0)
			late = true
			timer.Reset(lateWindow)
		case d := <-f.inbox:
			from := f.serverName(d.src)
			if late && !observing {
				in.groupDecide(up, "GP 5.4.1", fmt.Sprintf("Late response from %s (outer code %s) after T': token freed, dropped (not relayed)", from, codeText(d.m.Code)), 0)
				continue
			}
			if relayed >= maxGroupResponses {
				continue
			}
			if f.observe && d.m.Options.HasOption(optObserve) && d.m.Code>>5 == 2 {
				observing = true
			}
			if err := f.relay(d.m, d.src, from, late); err != nil {
				in.groupDecide(up, "GP 5.4.1 step 2", "Response from "+from+" not relayed: "+err.Error(), 0)
				continue
			}
			relayed++
		}
	}
}

// serverName is the node behind a response's source address.
func (f *groupForward) serverName(src *net.UDPAddr) string {
	if f.in.group != nil && f.in.nextHop == f.in.group.cfg.ID {
		if id := f.in.group.link.MemberAt(src); id != "" {
			return id + " (" + src.String() + ")"
		}
	}
	return src.String()
}

// relay passes one response on to the client: Reply-From naming its
// source (GP 5.4.1 step 1; in a chain the next proxy's is kept, GP 8.2),
// the removed layers re-applied (step 2; draft-ietf-core-oscore-capable-
// proxies 2.5, 2.5.1), with the client's token in a NON message.
func (f *groupForward) relay(m message.Message, src *net.UDPAddr, from string, afterT bool) error {
	in := f.in
	up := where{in.at.ex, in.at.hop + 1}
	if f.own != nil {
		// In a chain: the next proxy's layer comes off first (draft 2.6);
		// a response without it is not relayed (RFC 8613 8.4).
		if !m.Options.HasOption(optOSCORE) {
			return fmt.Errorf("it lacks the layer %s that %s added", f.own.Ctx.Name(), in.n.id)
		}
		plain, rep, err := oscore.UnprotectResponse(f.own, m)
		if err != nil {
			return fmt.Errorf("it does not verify with %s: %v", f.own.Ctx.Name(), err)
		}
		in.n.layer(up, 0, trace.LayerRemoved, trace.DirResponse, rep)
		m = plain
	}
	out := message.Message{Code: m.Code, Options: append(message.Options(nil), m.Options...), Payload: m.Payload}
	if in.nextHop == in.group.cfg.ID {
		rf := replyFromOf(src)
		if in.route != nil && in.route.StandsForMembers && in.n.addr != nil {
			// GP 6.1, first case (App. A.1): the proxy's address, and the
			// member's in a CRI reference the client sends as Uri-Host and
			// Uri-Port to reach that member through the proxy.
			rf = replyFrom{Addr: replyFromOf(in.n.addr).Addr, Ref: rf.Addr, HasRef: true}
		}
		out.Options = out.Options.Remove(optReplyFrom)
		if value := encodeReplyFrom(rf); replyFromFault == nil {
			out.Options = out.Options.Add(message.Option{ID: optReplyFrom, Value: value})
		} else if v := replyFromFault(value); v != nil {
			out.Options = out.Options.Add(message.Option{ID: optReplyFrom, Value: v})
		}
		what, section := "Response", "GP 5.4.1 step 1"
		if afterT {
			what, section = "Notification of the group observation, after T',", "GP 5.4.2"
		}
		in.groupDecide(up, section, fmt.Sprintf("%s from %s (outer code %s): Reply-From %s added", what, from, codeText(m.Code), rf), 0)
	} else {
		in.groupDecide(up, "GP 8.2", fmt.Sprintf("Response from the next proxy %s (outer code %s): its Reply-From kept unchanged", in.nextHop, codeText(m.Code)), 0)
	}
	protected, err := in.protectResponse(out, relayedResponse)
	if err != nil {
		return err
	}
	// The lab's seeded MIDs (ids.go), not the connection's random ones,
	// so a run relays with the same MIDs every time.
	mid := in.n.lab.ids.mid()
	f.mu.Lock()
	f.mids = append(f.mids, mid)
	if len(f.mids) > 64 {
		f.mids = f.mids[1:]
	}
	f.mu.Unlock()
	return in.n.notify(in.n.ctx, in.cc, in.req.Token, protected, message.NonConfirmable, mid)
}

// earlyStop handles an Early Stop Request (GP 5.1.3, 5.2.3): GET, the
// token of a group request in progress, an empty Multicast-Timeout and no
// proxy-related options. It is the proxy's own business: nothing is
// forwarded and, since the client has freed its token, nothing is
// answered. ok is false when the request is not one.
func (in *incoming) earlyStop() (*reply, bool) {
	v, err := in.req.Options.GetUint32(optMulticastTimeout)
	if err != nil || v != 0 || in.req.Code != codes.GET || in.cc == nil {
		return nil, false
	}
	key := in.cc.RemoteAddr().String() + "/" + hex.EncodeToString(in.req.Token)
	f := in.n.groupForwards.find(key)
	if f == nil {
		in.groupDecide(in.at, "GP 5.2.3", fmt.Sprintf("Early Stop Request (GET, empty Multicast-Timeout) with token %x, but no group request with that token is being forwarded: nothing to stop, no response", []byte(in.req.Token)), 0)
		return &reply{none: true}, true
	}
	in.groupDecide(in.at, "GP 5.2.3", fmt.Sprintf("Early Stop Request with token %x: forwarding of the group request in exchange %d stops, no response (the client freed its token)", []byte(in.req.Token), f.in.at.ex), 0)
	f.stop("Early Stop Request from " + firstNonEmpty(in.from, "the client"))
	return &reply{none: true}, true
}

// stopGroupOnReset ends the forwarding whose relayed response a Reset
// answers (GP 5.2.3: the client lost interest).
func (n *node) stopGroupOnReset(peer string, mid uint16) {
	if f := n.groupForwards.byReset(peer, mid); f != nil {
		f.stop("Reset from the client in reply to relayed response MID " + strconv.Itoa(int(mid)))
	}
}

// groupInbox bounds the datagrams waiting for one forwarding; more are
// dropped, so a flood costs no memory.
const groupInbox = 256

// maxObservationRelay bounds how long a proxy relays the notifications of
// a group observation after T' (GP 5.4.2 asks it to check the client's
// interest, RFC 7641 4.5; the lab stops after this long).
var maxObservationRelay = 30 * time.Second

// groupDatagram is one response a group port received.
type groupDatagram struct {
	m   message.Message
	src *net.UDPAddr
}

// groupPort is a proxy's socket towards one group (or next proxy): every
// group request it forwards there leaves from it, and responses are
// matched to their forwarding by token, as a client matches responses to
// a multicast request (RFC 7252 8.2). One socket per destination keeps
// the proxy one source for the group link, however many requests it
// forwards.
type groupPort struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	byTok map[string]chan groupDatagram
}

func (p *groupPort) addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

func (p *groupPort) listen(tok []byte, ch chan groupDatagram) {
	p.mu.Lock()
	p.byTok[string(tok)] = ch
	p.mu.Unlock()
}

func (p *groupPort) forget(tok []byte) {
	p.mu.Lock()
	delete(p.byTok, string(tok))
	p.mu.Unlock()
}

// read hands each response to the forwarding its token names; others
// (no such token: freed or never used) are dropped.
func (p *groupPort) read() {
	buf := make([]byte, 65536)
	for {
		k, src, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, err := oscore.DecodeMessage(append([]byte(nil), buf[:k]...))
		if err != nil || m.Code < 64 {
			continue
		}
		p.mu.Lock()
		ch := p.byTok[string(m.Token)]
		p.mu.Unlock()
		if ch == nil {
			continue
		}
		select {
		case ch <- groupDatagram{m: m, src: src}:
		default:
		}
	}
}

// groupPort returns the node's port towards to, opening it on first use;
// a port towards a next proxy is admitted on the link to it.
func (n *node) groupPort(to *net.UDPAddr, link *Link) (*groupPort, error) {
	n.groupPortsMu.Lock()
	defer n.groupPortsMu.Unlock()
	if n.ctx.Err() != nil {
		return nil, fmt.Errorf("nodes: node %s stopped", n.id)
	}
	if p := n.groupPorts[to.String()]; p != nil {
		return p, nil
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if link != nil {
		link.admit(n.id, c.LocalAddr())
	}
	p := &groupPort{conn: c, byTok: map[string]chan groupDatagram{}}
	if n.groupPorts == nil {
		n.groupPorts = map[string]*groupPort{}
	}
	n.groupPorts[to.String()] = p
	go p.read()
	return p, nil
}

// closeGroupPorts frees the node's group ports.
func (n *node) closeGroupPorts() {
	n.groupPortsMu.Lock()
	defer n.groupPortsMu.Unlock()
	for k, p := range n.groupPorts {
		p.conn.Close()
		delete(n.groupPorts, k)
	}
}

// chainLayer adds the proxy's layer towards the next proxy of a chain,
// when next_hop_contexts names one (draft-ietf-core-oscore-capable-proxies
// 2.3): that proxy identifies this one by it (GP 8). Multicast-Timeout is
// meant for the next proxy, so it is Class E in that layer (2.2).
func (in *incoming) chainLayer(m message.Message, stack []string, added []uint16) (message.Message, *oscore.Binding, []string, error) {
	name := in.cfg.NextHopContexts[in.nextHop]
	if name == "" {
		in.n.decision(where{in.at.ex, in.at.hop + 1}, trace.RuleOutgoingRequest, "", "2.3", in.noLayerReason(), 0)
		return m, nil, stack, nil
	}
	c, _, err := in.t.contextFor(name, in.n.id)
	if err != nil {
		return m, nil, stack, err
	}
	hops := []oscore.Hop{{Name: firstNonEmpty(in.from, "client"), Role: roleOf(in.t.cfg[in.from])}, {Name: in.n.id, Role: in.selfRole()},
		{Name: in.nextHop, Role: roleOf(in.t.cfg[in.nextHop])}, {Name: in.target, Role: oscore.RoleServer}}
	route := oscore.RequestRoute(&m, hops, 1, []int{2}, added...)
	route.SetConsumers(optMulticastTimeout, 2)
	out, b, rep, err := oscore.ProtectRequest(c, m, oscore.ProtectOptions{Rule: route.RuleFor(2), StrictOptions: true})
	if err != nil {
		return m, nil, stack, err
	}
	b.MultiResponse = true // the next proxy relays several responses (draft 2.6.1)
	stack = append(append([]string(nil), stack...), name)
	up := where{in.at.ex, in.at.hop + 1}
	in.n.layer(up, len(stack), trace.LayerApplied, trace.DirRequest, rep)
	in.n.decision(up, trace.RuleOutgoingRequest, "", "2.3", "Layer "+name+" added towards the next proxy "+in.nextHop, 0)
	return out, b, stack, nil
}
