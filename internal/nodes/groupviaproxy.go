package nodes

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// GroupProxyCall is a group request a lab client sends through a proxy
// (draft-ietf-core-groupcomm-proxy 5.1.1).
type GroupProxyCall struct {
	Client string // the client's node id
	Proxy  string // the proxy's node id: the request goes over the link between them
	// CP names the OSCORE context the client shares with the proxy (the
	// C-P layer, draft-ietf-core-oscore-capable-proxies A.1); "" sends
	// none, and the proxy cannot identify the client.
	CP string
	// Group is the group the request is for: with a group context, the
	// client protects the request with its member context (group mode).
	Group string
	// Request is the request before protection: method, the group URI
	// (Proxy-Uri for a forward-proxy, Uri-Host and Uri-Path for a
	// reverse-proxy), Observe; Multicast-Timeout is added from Timeout.
	Request message.Message
	Timeout *uint32       // Multicast-Timeout T' in seconds; nil: none (the proxy answers 4.00)
	Wait    time.Duration // T: how long the client keeps the token (GP 5.1.1 step 2); T > T'
	Enough  int           // stop once this many end-to-end responses are in (0: wait for T)
	// EarlyStopAfter sends an Early Stop Request (GP 5.1.3) once that many
	// responses are in (0: never); the client then frees its token and
	// only counts what still arrives (GroupOutcome.AfterStop).
	EarlyStopAfter int
	// StopByReset stops the other way GP 5.1.3 gives: no Early Stop
	// Request; the client forgets its token and answers each later
	// response with a Reset.
	StopByReset bool
}

// ProxyAnswer is a response the proxy made itself (no end-to-end layer):
// an error of GP 5.2.1 or 8.1.
type ProxyAnswer struct {
	Code             string
	Payload          string
	MulticastTimeout *uint32 // the option's value, when the answer carries it
	CPPartialIV      []byte
}

// GroupViaProxy sends c's group request through the proxy and collects
// what comes back until c.Wait has passed, c.Enough responses are in, or
// the proxy answers itself. Each response loses the C-P layer (several
// responses, at most one without Partial IV, draft 2.6.1), then the Group
// OSCORE layer (RFC 10021 7.4, one Response Number per server), and names
// its server by Reply-From (GP 5.5.1 step 3), which must agree with the
// kid that verified it.
func (l *Lab) GroupViaProxy(ctx context.Context, c GroupProxyCall) (GroupOutcome, int, error) {
	var out GroupOutcome
	t := l.topo.Load()
	n := t.nodes[c.Client]
	if n == nil {
		return out, 0, fmt.Errorf("nodes: unknown client %q", c.Client)
	}
	link, err := l.linkBetween(c.Client, c.Proxy)
	if err != nil {
		return out, 0, err
	}
	g := t.groups[c.Group]
	if g == nil {
		return out, 0, fmt.Errorf("nodes: no group %q in the lab", c.Group)
	}
	var gctx *group.Context
	if g.ctx != nil {
		if gctx = g.ctx[c.Client]; gctx == nil {
			return out, 0, fmt.Errorf("nodes: client %s holds no member context of group %s (%s)", c.Client, c.Group, g.cfg.Context)
		}
	}
	xch := l.exchanges.start(nil, nil)
	at := where{xch.id, 0}
	l.publish(trace.Event{Type: trace.TypeExchange, Exchange: xch.id, Node: c.Client,
		Note: fmt.Sprintf("start: %s %s to group %s via %s; %s", c.Client, c.Request.Code, c.Group, c.Proxy, trace.MulticastSimulated)})
	m := c.Request
	m.Options = append(message.Options(nil), m.Options...)
	if c.Timeout != nil {
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optMulticastTimeout, *c.Timeout)
	}
	hops := []oscore.Hop{{Name: c.Client, Role: oscore.RoleClient}, {Name: c.Proxy, Role: roleOf(t.cfg[c.Proxy])}, {Name: "group", Role: oscore.RoleServer}}
	route := oscore.RequestRoute(&m, hops, 0, []int{2, 1})
	route.SetConsumers(optMulticastTimeout, 1) // meant for the proxy (GP 5.2.1 step 4): Class E in the C-P layer
	var stack []string
	var x *group.Exchange
	if gctx != nil {
		prot, gx, rep, err := group.ProtectRequest(gctx, m, group.ProtectOptions{Mode: group.GroupMode, Rule: route.RuleFor(2)})
		if err != nil {
			return out, xch.id, err
		}
		stack = append(stack, g.cfg.Context)
		n.layer(at, len(stack), trace.LayerApplied, trace.DirRequest, rep)
		m, x = prot, gx
	}
	var cp *oscore.Binding
	if c.CP != "" {
		ctxCP, _, err := t.contextFor(c.CP, c.Client)
		if err != nil {
			return out, xch.id, err
		}
		prot, b, rep, err := oscore.ProtectRequest(ctxCP, m, oscore.ProtectOptions{Rule: route.RuleFor(1)})
		if err != nil {
			return out, xch.id, err
		}
		b.MultiResponse = true // Multicast-Timeout: several responses (draft 2.6.1)
		stack = append(stack, c.CP)
		n.layer(at, len(stack), trace.LayerApplied, trace.DirRequest, rep)
		m, cp = prot, b
	}
	xch.setStack(0, stack)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return out, xch.id, err
	}
	defer conn.Close()
	link.admit(c.Client, conn.LocalAddr())
	tok := l.ids.token()
	m.Token, m.MessageID, m.Type = tok, int32(l.ids.mid()), message.NonConfirmable
	l.reg.registerToken(link.id, tok, corr{Exchange: xch.id})
	b, err := oscore.EncodeMessage(m)
	if err != nil {
		return out, xch.id, err
	}
	if _, err := conn.WriteToUDP(b, link.addrFor(c.Client)); err != nil {
		return out, xch.id, err
	}
	stopped := false
	var stopErr error
	err = readUntil(ctx, conn, c.Wait, func(b []byte, _ *net.UDPAddr) bool {
		resp, err := oscore.DecodeMessage(b)
		if err != nil || string(resp.Token) != string(tok) {
			return true
		}
		if stopped {
			out.AfterStop++
			if c.StopByReset {
				rst := []byte{0x70, 0, byte(resp.MessageID >> 8), byte(resp.MessageID)}
				n.decision(at, RuleGroupProxy, "", "GP 5.1.3; RFC 7252 4.2", fmt.Sprintf("Response with a forgotten token: answered with a Reset (MID %#04x)", uint16(resp.MessageID)), 0)
				stopErr = writeTo(conn, rst, link.addrFor(c.Client))
				return stopErr == nil
			}
			n.decision(at, RuleGroupProxy, "", "GP 5.1.3", "Response after the Early Stop Request: the token is freed, dropped", 0)
			return true
		}
		done := l.acceptViaProxy(n, at, c, g.kids, resp, cp, x, &out)
		if done || (c.Enough > 0 && len(out.Responses) >= c.Enough) {
			return false
		}
		if c.EarlyStopAfter > 0 && len(out.Responses) >= c.EarlyStopAfter {
			if c.StopByReset {
				n.decision(at, RuleGroupProxy, "", "GP 5.1.3", fmt.Sprintf("%s forgets token %x: later responses get a Reset", c.Client, tok), 0)
			} else {
				stopErr = l.sendEarlyStop(n, at, c, t, conn, link, tok)
			}
			stopped = true
		}
		return stopErr == nil
	})
	if err = errors.Join(err, stopErr); err != nil {
		return out, xch.id, err
	}
	l.publish(trace.Event{Type: trace.TypeExchange, Exchange: xch.id, Node: c.Client,
		Note: fmt.Sprintf("end: %d responses through %s, %d refused", len(out.Responses), c.Proxy, len(out.Refused))})
	return out, xch.id, nil
}

// sendEarlyStop sends the Early Stop Request of GP 5.1.3: GET, the group
// request's token, Multicast-Timeout 0 (an empty value, RFC 7252 3.2), no
// proxy-related options, protected with the C-P layer (the proxy must
// identify the client here too).
func (l *Lab) sendEarlyStop(n *node, at where, c GroupProxyCall, t *topology, conn *net.UDPConn, link *Link, tok []byte) error {
	m := message.Message{Code: codes.GET}
	m.Options = m.Options.Add(message.Option{ID: optMulticastTimeout, Value: []byte{}})
	if c.CP != "" {
		ctxCP, _, err := t.contextFor(c.CP, c.Client)
		if err != nil {
			return err
		}
		hops := []oscore.Hop{{Name: c.Client, Role: oscore.RoleClient}, {Name: c.Proxy, Role: oscore.RoleServer}}
		route := oscore.RequestRoute(&m, hops, 0, []int{1})
		route.SetConsumers(optMulticastTimeout, 1)
		prot, _, rep, err := oscore.ProtectRequest(ctxCP, m, oscore.ProtectOptions{Rule: route.RuleFor(1)})
		if err != nil {
			return err
		}
		n.layer(at, 1, trace.LayerApplied, trace.DirRequest, rep)
		m = prot
	}
	m.Token, m.MessageID, m.Type = tok, int32(l.ids.mid()), message.NonConfirmable
	b, err := oscore.EncodeMessage(m)
	if err != nil {
		return err
	}
	n.decision(at, RuleGroupProxy, "", "GP 5.1.3", fmt.Sprintf("Early Stop Request to %s (GET, token %x, empty Multicast-Timeout, no proxy options); the token is freed", c.Proxy, tok), 0)
	_, err = conn.WriteToUDP(b, link.addrFor(c.Client))
	return err
}

// readUntil hands each datagram conn receives to fn until fn returns
// false, wait has passed or ctx's deadline has come; a timeout is no
// error.
func readUntil(ctx context.Context, conn *net.UDPConn, wait time.Duration, fn func(b []byte, src *net.UDPAddr) bool) error {
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	buf := make([]byte, 65536)
	for {
		conn.SetReadDeadline(deadline)
		n, src, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil
			}
			return err
		}
		if !fn(buf[:n], src) {
			return nil
		}
	}
}

// acceptViaProxy processes one response; done says the proxy answered
// itself (an error: nothing else will come).
func (l *Lab) acceptViaProxy(n *node, at where, c GroupProxyCall, members map[string]string, resp message.Message, cp *oscore.Binding, x *group.Exchange, out *GroupOutcome) bool {
	var piv []byte
	if cp != nil {
		if raw, err := resp.Options.GetBytes(optOSCORE); err == nil {
			if ov, err := oscore.ParseOption(raw); err == nil {
				piv = bytes.Clone(ov.PartialIV)
			}
		}
		plain, rep, err := oscore.UnprotectResponse(cp, resp)
		if err != nil {
			why := "C-P layer " + c.CP + ": " + err.Error()
			out.Refused = append(out.Refused, RefusedResponse{Why: why})
			n.layer(at, 0, trace.LayerFailed, trace.DirResponse, rep)
			return false
		}
		number := 1 // the C-P layer is outermost: 2 over a group layer
		if x != nil {
			number = 2
		}
		n.layer(at, number, trace.LayerRemoved, trace.DirResponse, rep)
		resp = plain
	}
	if x == nil || !resp.Options.HasOption(optOSCORE) {
		a := ProxyAnswer{Code: codeText(resp.Code), Payload: string(resp.Payload), CPPartialIV: piv}
		if v, err := resp.Options.GetUint32(optMulticastTimeout); err == nil {
			a.MulticastTimeout = &v
		}
		if x == nil && resp.Options.HasOption(optReplyFrom) {
			// plain CoAP end to end: a member's response
			r := GroupResponse{Code: a.Code, Payload: a.Payload, CPPartialIV: piv}
			if why := l.nameByReplyFrom(&r, resp); why != "" {
				out.Refused = append(out.Refused, RefusedResponse{Why: why})
				return false
			}
			out.Responses = append(out.Responses, r)
			n.delivery(at, trace.DirResponse, "", "response from "+r.Member, resp.Code, resp.Payload)
			return false
		}
		out.Proxy = append(out.Proxy, a)
		n.delivery(at, trace.DirResponse, "", "answer of "+c.Proxy, resp.Code, resp.Payload)
		return resp.Code>>5 >= 4
	}
	rfRaw, _ := resp.Options.GetBytes(optReplyFrom)
	r, why := acceptGroupMessage(resp, x, members)
	r.CPPartialIV = piv
	if why == "" {
		unreadable := l.nameByReplyFrom(&r, resp)
		switch {
		case unreadable != "":
			why = unreadable
		case rfRaw == nil:
			why = fmt.Sprintf("response from %s carries no Reply-From (GP 5.4.1 step 1)", r.Member)
		case r.ReplyFromMember != "" && r.ReplyFromMember != r.Member:
			why = fmt.Sprintf("Reply-From %s names %s, but kid %x names %s", r.ReplyFrom, r.ReplyFromMember, r.KID, r.Member)
		}
	}
	if why != "" {
		out.Refused = append(out.Refused, RefusedResponse{Member: r.Member, Why: why})
		publishLayerAt(n, at, trace.LayerFailed, r.Report, why)
		return false
	}
	publishLayerAt(n, at, trace.LayerRemoved, r.Report, "response from "+r.Member+", Reply-From "+r.ReplyFrom)
	n.delivery(at, trace.DirResponse, "", "response from "+r.Member, r.code, []byte(r.Payload))
	out.Responses = append(out.Responses, r)
	return false
}

// nameByReplyFrom reads Reply-From and names the member behind its
// address; the reason is non-empty when the option is there but does not
// decode (the client cannot tell the server, GP 5.5.1 step 3).
func (l *Lab) nameByReplyFrom(r *GroupResponse, m message.Message) string {
	raw, err := m.Options.GetBytes(optReplyFrom)
	if err != nil {
		return ""
	}
	rf, err := decodeReplyFrom(raw)
	if err != nil {
		r.ReplyFrom = "unreadable: " + err.Error() + " (" + hex.EncodeToString(raw) + ")"
		return "Reply-From " + r.ReplyFrom
	}
	r.ReplyFrom, r.replyFrom = rf.String(), &rf
	member := rf.Addr
	if rf.HasRef {
		member = rf.Ref // the proxy stands in for the member (GP 6.2)
	}
	r.From = member.String()
	addr := net.UDPAddrFromAddrPort(member)
	for _, g := range l.topo.Load().groups {
		if id := g.link.MemberAt(addr); id != "" {
			r.ReplyFromMember = id
			break
		}
	}
	if r.Member == "" {
		r.Member = r.ReplyFromMember
	}
	return ""
}

// publishLayerAt records the group layer (layer 1) of a response at the
// client.
func publishLayerAt(n *node, at where, action string, rep *oscore.Report, note string) {
	e := layerEvent(at.ex, n.id, action, rep, note)
	e.Hop, e.Layer, e.Dir = at.hop, 1, trace.DirResponse
	e.Layer_.State = n.sideState(rep)
	n.lab.publish(e)
}

// followUp turns a reply_from step into the request GP 6.2 describes: the
// URI's path and query, with Uri-Host and Uri-Port set from the CRI
// reference of the Reply-From the member's last relayed response carried,
// sent to the reverse-proxy that stands in for it.
func (l *Lab) followUp(st scenario.Step) (scenario.Step, error) {
	v, ok := l.replyFroms.Load(st.From + "/" + st.ReplyFrom)
	if !ok {
		return st, fmt.Errorf("nodes: step: %s has no Reply-From from %s yet (a group step through the proxy comes first)", st.From, st.ReplyFrom)
	}
	rf := v.(replyFrom)
	if !rf.HasRef {
		return st, fmt.Errorf("nodes: step: the Reply-From of %s names no reference through the proxy: %s", st.ReplyFrom, rf)
	}
	u, err := url.Parse(st.URI)
	if err != nil {
		return st, fmt.Errorf("nodes: step: uri %q: %v", st.URI, err)
	}
	u.Host = rf.Ref.String()
	st.URI = u.String()
	// The reference's host is an IP literal, which a URI's authority would
	// leave out of the request (RFC 7252 6.4); GP 6.2 wants it sent.
	st.Options = append(append([]scenario.StepOption(nil), st.Options...), scenario.StepOption{Number: optURIHost, Text: rf.Ref.Addr().String()})
	return st, nil
}

// groupProxyMargin is T - T' for a group step through a proxy: at least
// the round trip between client and proxy (GP 5.1.1 step 3), which on
// loopback is far shorter.
const groupProxyMargin = 500 * time.Millisecond

// sendGroupViaProxy runs a group step with a route: the request goes to
// the proxy route[0] naming the group (Proxy-Uri, or Proxy-Scheme with
// Uri-Host, or for a reverse-proxy Uri-Host alone), under the step's
// context with that proxy, and every response the proxy relays is checked
// per member; an answer of the proxy itself (4.00, 4.01, 5.05) is the
// step's code and payload.
func (l *Lab) sendGroupViaProxy(ctx context.Context, st scenario.Step) (Result, error) {
	start := time.Now()
	res := Result{Step: firstNonEmpty(st.Name, st.Method+" "+st.URI)}
	t := l.topo.Load()
	g := t.groups[st.To]
	if g == nil {
		res.Problem = fmt.Sprintf("nodes: no group %q in the lab", st.To)
		return res, errors.New(res.Problem)
	}
	m, err := groupRequestMessage(st)
	if err != nil {
		res.Problem = err.Error()
		return res, err
	}
	if err := addGroupTarget(&m, st); err != nil {
		res.Problem = err.Error()
		return res, err
	}
	if st.Observe == "register" {
		m.Options = insertOption(m.Options, message.Option{ID: optObserve, Value: []byte{}})
	}
	call := GroupProxyCall{Client: st.From, Proxy: st.Route[0], Group: st.To, Request: m, EarlyStopAfter: st.EarlyStopAfter}
	if len(st.Contexts) > 0 {
		call.CP = st.Contexts[0]
	}
	call.Wait = defaultGroupWait
	if v := st.MulticastTimeout; v != nil {
		t1 := uint32(*v)
		call.Timeout = &t1
		call.Wait = time.Duration(*v)*time.Second + groupProxyMargin // T > T' (GP 5.1.1 step 3)
	}
	if st.Expect != nil && st.Expect.Timeout != "" {
		call.Wait, _ = time.ParseDuration(st.Expect.Timeout)
	}
	var members []string
	for _, mb := range g.cfg.Members {
		members = append(members, mb.Node)
	}
	out, xid, err := l.GroupViaProxy(ctx, call)
	res.Exchange, res.Duration = xid, time.Since(start)
	for _, r := range out.Responses {
		res.Responses = append(res.Responses, MemberResult{Member: r.Member, From: r.From, Code: r.Code, Payload: r.Payload, ReplyFrom: r.ReplyFrom})
		if r.replyFrom != nil && r.Member != "" {
			l.replyFroms.Store(st.From+"/"+r.Member, *r.replyFrom) // for a follow-up (GP 6.2)
		}
	}
	for _, r := range out.Refused {
		res.Responses = append(res.Responses, MemberResult{Member: r.Member, From: r.From, Refused: r.Why})
	}
	var answer *ProxyAnswer
	if len(out.Proxy) > 0 {
		answer = &out.Proxy[0]
		res.Code, res.Payload = answer.Code, answer.Payload
	}
	res.OK, res.Problem = judgeGroupViaProxy(st.Expect, members, res.Responses, answer, err)
	if err != nil {
		return res, err
	}
	return res, nil
}

// addGroupTarget names the group in a request to a proxy: Proxy-Uri with
// proxy_style proxy-uri, Uri-Host and Uri-Port for a reverse-proxy, else
// Proxy-Scheme with Uri-Host and Uri-Port (RFC 7252 5.10.2; GP 5.1.1
// step 1).
func addGroupTarget(m *message.Message, st scenario.Step) error {
	u, err := url.Parse(st.URI)
	if err != nil {
		return fmt.Errorf("nodes: step: uri %q: %v", st.URI, err)
	}
	if st.ProxyStyle == scenario.StyleProxyURI {
		m.Options = insertOption(m.Options, message.Option{ID: optProxyURI, Value: []byte(st.URI)})
		m.Options = m.Options.Remove(optURIPath).Remove(optURIQuery)
		return nil
	}
	m.Options = insertOption(m.Options, message.Option{ID: optURIHost, Value: []byte(u.Hostname())})
	if p := u.Port(); p != "" {
		v, _ := strconv.Atoi(p)
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optURIPort, uint32(v))
	}
	if st.ProxyStyle != scenario.StyleReverse {
		m.Options = insertOption(m.Options, message.Option{ID: optProxyScheme, Value: []byte(strings.ToLower(u.Scheme))})
	}
	return nil
}

// judgeGroupViaProxy checks the proxy's own answer against code, payload
// and multicast_timeout, and the members' responses as judgeGroup does;
// with an expected answer of the proxy, no member may answer unless
// responses says so.
func judgeGroupViaProxy(e *scenario.Expect, members []string, got []MemberResult, answer *ProxyAnswer, err error) (bool, string) {
	if err != nil {
		return false, err.Error()
	}
	if e != nil && e.NoResponse {
		// Nothing at all: no answer of the proxy, no member response (T' = 0).
		switch {
		case answer != nil:
			return false, fmt.Sprintf("expected no response, got %s", answer.Code)
		case len(got) > 0:
			return false, fmt.Sprintf("expected no response, got %s from %s", firstNonEmpty(got[0].Code, "a refused one"), firstNonEmpty(got[0].Member, got[0].From))
		}
		return true, ""
	}
	var problems []string
	wantAnswer := e != nil && e.Code != ""
	switch {
	case wantAnswer && answer == nil:
		problems = append(problems, fmt.Sprintf("expected code %s from the proxy, got none", e.Code))
	case wantAnswer && answer.Code != e.Code:
		problems = append(problems, fmt.Sprintf("expected code %s, got %s %q", e.Code, answer.Code, answer.Payload))
	case wantAnswer && e.Payload != nil && *e.Payload != answer.Payload:
		problems = append(problems, fmt.Sprintf("expected payload %q, got %q", *e.Payload, answer.Payload))
	case !wantAnswer && answer != nil:
		problems = append(problems, fmt.Sprintf("the proxy answered %s %q itself", answer.Code, answer.Payload))
	}
	if e != nil && e.MulticastTimeout != nil && answer != nil {
		if answer.MulticastTimeout == nil || int(*answer.MulticastTimeout) != *e.MulticastTimeout {
			problems = append(problems, fmt.Sprintf("expected Multicast-Timeout %d in the proxy's answer, got %v", *e.MulticastTimeout, optionalUint(answer.MulticastTimeout)))
		}
	}
	switch {
	case wantAnswer && (e.Responses == nil):
		for _, r := range got {
			problems = append(problems, fmt.Sprintf("expected no member response, got one from %s", firstNonEmpty(r.Member, r.From)))
		}
	default:
		if ok, why := judgeGroup(e, members, got, nil); !ok {
			problems = append(problems, why)
		}
	}
	return len(problems) == 0, strings.Join(problems, "; ")
}

func optionalUint(v *uint32) string {
	if v == nil {
		return "none"
	}
	return strconv.FormatUint(uint64(*v), 10)
}

func writeTo(c *net.UDPConn, b []byte, to *net.UDPAddr) error {
	_, err := c.WriteToUDP(b, to)
	return err
}
