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
	v, err := in.req.Options.GetUint32(optMulticastTimeout)
	if err != nil {
		in.groupDecide(in.at, "GP 5.2.1 step 3", "No Multicast-Timeout: the client has not said it takes several responses -> 4.00 with an empty Multicast-Timeout and a hint", codes.BadRequest)
		r := in.fail(codes.BadRequest, missingTimeoutHint, "Multicast-Timeout missing in a request to a group", "GP 5.2.1 step 3")
		r.msg.Options = r.msg.Options.Add(message.Option{ID: optMulticastTimeout, Value: []byte{}})
		return r
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
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		in.groupDecide(in.at, "GP 5.2.1 step 5", err.Error()+" -> 5.00", codes.InternalServerError)
		return in.fail(codes.InternalServerError, "", err.Error(), "GP 5.2.1 step 5")
	}
	if link != nil {
		link.admit(in.n.id, conn.LocalAddr())
	}
	up := where{in.at.ex, in.at.hop + 1}
	tok := in.xch.pinnedToken(up.hop)
	if tok == nil {
		tok = in.n.lab.ids.token()
	}
	m.Token, m.MessageID, m.Type = tok, int32(in.n.lab.ids.mid()), message.NonConfirmable
	if chain {
		m.Type = message.Confirmable // unicast to the next proxy (RFC 7252 8.1 binds NON to multicast only)
		in.n.lab.reg.registerToken(link.id, tok, corr{Exchange: up.ex, Hop: up.hop})
	} else {
		in.n.lab.groupTokens.Store(string(tok), up.ex)
		in.group.link.NameSender(conn.LocalAddr().(*net.UDPAddr), in.n.id)
	}
	if in.stack != nil {
		in.xch.setStack(up.hop, in.stack[:max(len(in.stack)-len(in.removed), 0)])
	}
	b, err := oscore.EncodeMessage(m)
	if err == nil {
		_, err = conn.WriteToUDP(b, to)
	}
	if err != nil {
		conn.Close()
		in.groupDecide(in.at, "GP 5.2.1 step 5", "sending to "+in.nextHop+" failed: "+err.Error()+" -> 5.02", codes.BadGateway)
		return in.fail(codes.BadGateway, "", err.Error(), "GP 5.2.1 step 5")
	}
	observe := m.Options.HasOption(optObserve)
	if v == 0 {
		in.groupDecide(up, "GP 5.2.1 steps 5, 6", fmt.Sprintf("Group request sent to %s as one NON datagram; T' = 0: no response will be relayed", in.nextHop), 0)
	} else {
		in.groupDecide(up, "GP 5.2.1 steps 5, 6", fmt.Sprintf("Group request sent to %s as one NON datagram (token %x); timer T' = %d s started: responses until then are relayed to %s", in.nextHop, tok, v, firstNonEmpty(in.from, "the client")), 0)
	}
	f := in.n.groupForwards.start(in, tok, conn, t1, observe)
	go f.collect()
	return &reply{none: true}
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
	conn     *net.UDPConn
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

func (s *groupForwardSet) start(in *incoming, tok []byte, conn *net.UDPConn, t1 time.Duration, observe bool) *groupForward {
	key := in.cc.RemoteAddr().String() + "/" + hex.EncodeToString(in.req.Token)
	f := &groupForward{in: in, set: s, key: key, tok: tok, conn: conn, deadline: time.Now().Add(t1), observe: observe, stopped: make(chan struct{})}
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
		f.conn.SetReadDeadline(time.Now())
	})
}

// collect relays responses until T' (and, for a group observation that
// drew a 2.xx notification, until the observation ends), then keeps
// reading for lateWindow only to trace what it drops (GP 5.4.1).
func (f *groupForward) collect() {
	in := f.in
	up := where{in.at.ex, in.at.hop + 1}
	defer func() {
		f.conn.Close()
		f.set.remove(f)
		in.n.lab.groupTokens.Delete(string(f.tok))
	}()
	buf := make([]byte, 65536)
	relayed, observing := 0, false
	var late time.Time
	for {
		select {
		case <-f.stopped:
			in.groupDecide(up, "GP 5.2.3", fmt.Sprintf("Forwarding stopped (%s) after %d responses: token %x freed, later responses are not relayed", f.why, relayed, f.tok), 0)
			return
		default:
		}
		switch {
		case !late.IsZero():
			f.conn.SetReadDeadline(late)
		case observing:
			f.conn.SetReadDeadline(time.Time{})
		default:
			f.conn.SetReadDeadline(f.deadline)
		}
		k, src, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				select {
				case <-f.stopped:
					continue
				default:
				}
				if !late.IsZero() {
					return
				}
				if observing {
					continue
				}
				in.groupDecide(up, "GP 5.4.1", fmt.Sprintf("Timer T' expired after %d relayed responses: token %x freed, later responses are dropped", relayed, f.tok), 0)
				late = time.Now().Add(lateWindow)
				continue
			}
			return
		}
		m, err := oscore.DecodeMessage(buf[:k])
		h := parseHeader(buf[:k])
		if err != nil || !h.ok || string(h.token) != string(f.tok) || m.Code < 64 {
			continue
		}
		from := f.serverName(src)
		if !late.IsZero() {
			in.groupDecide(up, "GP 5.4.1", fmt.Sprintf("Late response from %s (outer code %s) after T': token freed, dropped (not relayed)", from, codeText(m.Code)), 0)
			continue
		}
		if relayed >= maxGroupResponses {
			continue
		}
		if f.observe && m.Options.HasOption(optObserve) && m.Code>>5 == 2 {
			observing = f.observe
		}
		if err := f.relay(m, src, from); err != nil {
			in.groupDecide(up, "GP 5.4.1 step 2", "Response from "+from+" not relayed: "+err.Error(), 0)
			continue
		}
		relayed++
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
func (f *groupForward) relay(m message.Message, src *net.UDPAddr, from string) error {
	in := f.in
	up := where{in.at.ex, in.at.hop + 1}
	out := message.Message{Code: m.Code, Options: append(message.Options(nil), m.Options...), Payload: m.Payload}
	if in.nextHop == in.group.cfg.ID {
		rf := replyFromOf(src)
		out.Options = out.Options.Remove(optReplyFrom)
		out.Options = out.Options.Add(message.Option{ID: optReplyFrom, Value: encodeReplyFrom(rf)})
		in.groupDecide(up, "GP 5.4.1 step 1", fmt.Sprintf("Response from %s (outer code %s): Reply-From %s added", from, codeText(m.Code), rf), 0)
	} else {
		in.groupDecide(up, "GP 8.2", fmt.Sprintf("Response from the next proxy %s (outer code %s): its Reply-From kept unchanged", in.nextHop, codeText(m.Code)), 0)
	}
	protected, err := in.protectResponse(out, relayedResponse)
	if err != nil {
		return err
	}
	mid := uint16(in.cc.GetMessageID())
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
