package nodes

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// CoAP option numbers the proxy logic reads (RFC 7252 5.10, RFC 8613 6.1,
// RFC 8768 3).
const (
	optURIHost     = 3
	optObserve     = 6
	optURIPort     = 7
	optOSCORE      = 9
	optURIPath     = 11
	optMaxAge      = 14
	optURIQuery    = 15
	optHopLimit    = 16
	optBlock2      = 23
	optEcho        = 252
	optProxyURI    = 35
	optProxyScheme = 39

	optURIPathAbbrev     = oscore.OptURIPathAbbrev     // draft-ietf-core-uri-path-abbrev (provisional 13)
	optProxyCRI          = oscore.OptProxyCRI          // draft-ietf-core-href (TBD235)
	optProxySchemeNumber = oscore.OptProxySchemeNumber // draft-ietf-core-href (TBD239)
)

// maxPasses bounds the loop of the incoming-request steps (a hostile
// message could otherwise nest layers or bounce between local and forward).
const maxPasses = 64

// incoming is one request going through the draft's incoming-request
// processing (draft-ietf-core-oscore-capable-proxies section 2.4, steps 1
// to 6, one method per step). Servers and clients run the same steps: a
// node that is not a forward-proxy answers 5.05 at step 2, one that is not
// a reverse-proxy treats the request as local at step 3.
type incoming struct {
	n   *node
	t   *topology
	cfg *scenario.Node
	req message.Message

	cc      *udpClient.Conn // the connection the request came on
	from    string          // previous hop (node id), "" when the source is unknown
	outside string          // the previous hop's address when it is outside the lab
	link    string
	at      where
	xch     *exchange

	removed     []removedLayer // in the order they came off (outermost first)
	outerMaxAge bool           // the response is an OSCORE error whose Max-Age 0 stays outer (RFC 8613 4.1.3.1)
	stack       []string       // contexts of this leg's layers, innermost first, when known

	routeContexts []string // set by step 3: the next layer is one of these (B.7)

	forward bool // step 4 reached from step 2 (forward-proxy)
	route   *scenario.ReverseRoute
	target  string // destination node id ("" unknown host)
	host    string // destination host as the request names it
	nextHop string
	group   *labGroup // the target is a CoAP group (groupproxy.go)
}

type removedLayer struct {
	ctx    *oscore.Context
	b      *oscore.Binding
	number int // the layer's number on the request, which its response layer takes too
}

// reply is what a node answers: an error it produced, an application
// response, or the response of the next hop with the proxy's layers off.
type reply struct {
	msg       message.Message
	err       bool // an error response produced by this node
	relayed   bool // the next hop's response, passed on
	oscoreErr bool // an RFC 8613 8.2 error (outer Max-Age 0)
	outerAge0 bool // relayed: the next hop's error carried an outer Max-Age 0, which stays outer
	none      bool // nothing is sent back (a group request's responses follow on their own)
	reason    string
	section   string
}

func newIncoming(n *node, cc *udpClient.Conn, req message.Message, peer peerRef) *incoming {
	t := n.lab.topo.Load()
	in := &incoming{n: n, t: t, cfg: n.cfg(), req: req, cc: cc, from: peer.node, link: peer.link, outside: peer.outside}
	if c, ok := n.lab.reg.exchangeOf(peer.link, req.Token); ok {
		in.at = where{c.Exchange, c.Hop}
		in.xch = n.lab.exchanges.get(c.Exchange)
		in.stack = in.xch.stack(c.Hop)
	}
	return in
}

// run walks the steps until one of them answers.
func (in *incoming) run() *message.Message {
	in.namePeer()
	step := 1
	for pass := 0; pass < maxPasses; pass++ {
		var next int
		var out *reply
		switch step {
		case 1:
			next = in.step1()
		case 2:
			next, out = in.step2()
		case 3:
			next = in.step3()
		case 4:
			next, out = in.step4()
		case 5:
			next, out = in.step5()
		case 6:
			next, out = in.step6()
		}
		if out != nil {
			return in.finish(out)
		}
		step = next
	}
	return in.finish(in.fail(codes.InternalServerError, "Processing loop", "the request looped through the steps too often", "2.4"))
}

func (in *incoming) decide(step, outcome string, code codes.Code) {
	in.n.decision(in.at, trace.RuleIncomingRequest, step, "2.4", outcome, code)
}

// Step 1: does the request carry proxy-related options (draft 1.1, sets
// (a) to (c))?
func (in *incoming) step1() int {
	var names []string
	for _, num := range []uint16{optProxyURI, optProxyCRI, optProxyScheme, optProxySchemeNumber, optURIHost, optURIPort, optURIPath, optURIPathAbbrev} {
		if in.req.Options.HasOption(message.OptionID(num)) {
			names = append(names, oscore.OptionName(num))
		}
	}
	if len(names) == 0 {
		in.decide("1->5", "Step 1: no proxy-related options -> step 5", 0)
		return 5
	}
	in.decide("1->2", "Step 1: proxy-related options present ("+strings.Join(names, ", ")+") -> step 2", 0)
	return 2
}

// Step 2: forward-proxy options (set (a): Proxy-Uri or Proxy-Cri; set (b):
// Proxy-Scheme or Proxy-Scheme-Number with the Uri-* options; draft 1.1)
// need a forward-proxy; anything else is RFC 7252 5.10.2's 5.05.
// draft-ietf-core-href has Proxy-Cri and Proxy-Scheme-Number "used
// analogously" to Proxy-Uri and Proxy-Scheme, and a request with both
// Proxy-Scheme and Proxy-Scheme-Number rejected.
func (in *incoming) step2() (int, *reply) {
	var present []string
	for _, num := range []uint16{optProxyURI, optProxyCRI, optProxyScheme, optProxySchemeNumber} {
		if in.req.Options.HasOption(message.OptionID(num)) {
			present = append(present, oscore.OptionName(num))
		}
	}
	if len(present) == 0 {
		in.decide("2->3", "Step 2: no Proxy-Uri, Proxy-Cri, Proxy-Scheme or Proxy-Scheme-Number (sets a, b absent) -> step 3", 0)
		return 3, nil
	}
	which := strings.Join(present, " and ")
	if !in.cfg.Forward {
		in.decide("2", fmt.Sprintf("Step 2: %s present but %s is not a forward-proxy -> 5.05 Proxying Not Supported", which, in.n.id), codes.ProxyingNotSupported)
		return 0, in.fail(codes.ProxyingNotSupported, "", "forward-proxy options at a node that is not a forward-proxy", "2.4 step 2; RFC 7252 5.10.2")
	}
	if in.req.Options.HasOption(optProxyScheme) && in.req.Options.HasOption(optProxySchemeNumber) {
		why := "Proxy-Scheme and Proxy-Scheme-Number in one request"
		in.decide("2", "Step 2: "+why+" -> 4.00 Bad Request (draft-ietf-core-href: servers MUST reject it)", codes.BadRequest)
		return 0, in.fail(codes.BadRequest, why, why, "draft-ietf-core-href, Proxy-Scheme-Number")
	}
	if scheme := in.forwardScheme(); scheme != "coap" {
		why := fmt.Sprintf("scheme %q is not one %s forwards to (it speaks CoAP over UDP)", scheme, in.n.id)
		if scheme == "coaps" {
			why = "coaps needs DTLS (RFC 7252 9), which " + in.n.id + " does not speak; OSCORE over coap protects the request instead"
		}
		in.decide("2", "Step 2: "+which+" asks for "+why+" -> 5.05 Proxying Not Supported (RFC 7252 5.10.2)", codes.ProxyingNotSupported)
		return 0, in.fail(codes.ProxyingNotSupported, why, why, "RFC 7252 5.10.2")
	}
	in.forward = true
	in.decide("2->4", "Step 2: "+which+" present and "+in.n.id+" is a forward-proxy -> step 4", 0)
	return 4, nil
}

// forwardScheme is the scheme the forward-proxy request names: Proxy-Uri's,
// or Proxy-Scheme (RFC 7252 5.10.2), in lower case.
func (in *incoming) forwardScheme() string {
	if v, err := in.req.Options.GetBytes(optProxyCRI); err == nil {
		c, err := parseCRI(v)
		if err != nil {
			return "coap" // step 4 answers the malformed CRI with 4.00
		}
		return c.scheme
	}
	if s, err := in.req.Options.GetString(optProxyURI); err == nil {
		if u, err := url.Parse(s); err == nil {
			return strings.ToLower(u.Scheme)
		}
		return ""
	}
	if in.req.Options.HasOption(optProxySchemeNumber) {
		n, _ := in.req.Options.GetUint32(optProxySchemeNumber)
		return schemeOfNumber(uint64(n))
	}
	s, _ := in.req.Options.GetString(optProxyScheme)
	return strings.ToLower(s)
}

// defaultPort is a CoAP scheme's default port (RFC 7252 6.1, 6.2; RFC 8323
// 8.1, 8.2).
func defaultPort(scheme string) string {
	switch scheme {
	case "coaps", "coaps+tcp":
		return "5684"
	case "coap+ws":
		return "80"
	case "coaps+ws":
		return "443"
	}
	return "5683"
}

// Step 3: Uri-Host, Uri-Port or Uri-Path without Proxy-Scheme: the
// node's reverse routes alone decide whether the request is meant for
// reverse-proxying (draft 2.4 step 3), never a kid that happens to match a
// context. A route that says its requests carry a layer for this node
// (B.7) sends the request to step 5 until a layer of one of the route's
// contexts is off, and step 6 then tries only those contexts.
func (in *incoming) step3() int {
	if len(in.cfg.Reverse) == 0 {
		in.decide("3->5", "Step 3: "+in.n.id+" is not a reverse-proxy -> step 5 (local request)", 0)
		return 5
	}
	host, _ := in.req.Options.GetString(optURIHost)
	path, err := requestPath(in.req.Options)
	if err != nil {
		path = uriPath(in.req.Options)
	}
	r := matchRoute(in.cfg.Reverse, host, path)
	if r == nil {
		r = in.memberRoute(host)
	}
	if r == nil {
		in.decide("3->5", fmt.Sprintf("Step 3: Uri-Host %q, path /%s match no reverse route -> step 5 (local request)", host, strings.Join(path, "/")), 0)
		return 5
	}
	if len(r.Contexts) > 0 && in.req.Options.HasOption(optOSCORE) && !in.removedAny(r.Contexts) {
		in.routeContexts = r.Contexts
		in.decide("3->5", fmt.Sprintf("Step 3: %s matches the reverse route to %s, whose requests carry a layer of %s for %s: remove it first (B.7) -> step 5",
			describeRoute(r), r.To, strings.Join(r.Contexts, " or "), in.n.id), 0)
		return 5
	}
	in.routeContexts = nil
	in.route, in.target, in.nextHop = r, r.To, r.To
	in.group = in.t.groups[r.To] // nil unless the route leads to a group (groupproxy.go)
	if len(r.Contexts) == 0 && in.req.Options.HasOption(optOSCORE) {
		in.decide("3->4", fmt.Sprintf("Step 3: %s matches the reverse route to %s, which names no layer for %s: the OSCORE option goes on untouched -> step 4", describeRoute(r), r.To, in.n.id), 0)
	} else {
		in.decide("3->4", fmt.Sprintf("Step 3: %s matches the reverse route to %s -> step 4", describeRoute(r), r.To), 0)
	}
	return 4
}

// matchRoute is the first reverse route whose host and path prefix the
// request's Uri-Host and Uri-Path match.
func matchRoute(routes []scenario.ReverseRoute, host string, path []string) *scenario.ReverseRoute {
	for i := range routes {
		r := &routes[i]
		if r.Host == "" && len(r.PathPrefix) == 0 {
			continue
		}
		if r.Host != "" && !strings.EqualFold(r.Host, host) {
			continue
		}
		if len(r.PathPrefix) > len(path) || !slices.Equal(r.PathPrefix, path[:len(r.PathPrefix)]) {
			continue
		}
		return r
	}
	return nil
}

// removedAny: a layer of one of the named contexts is already off.
func (in *incoming) removedAny(names []string) bool {
	for _, rl := range in.removed {
		if slices.Contains(names, rl.ctx.Name()) {
			return true
		}
	}
	return false
}

// Step 4: acceptability, then consume the proxy-related options and forward
// (or, when the request names this node itself, take it as local and start
// over at step 1).
func (in *incoming) step4() (int, *reply) {
	self := false
	if in.forward {
		host, port, err := in.forwardAuthority()
		if err != nil {
			in.decide("4", "Step 4: "+err.Error()+" -> 4.00", codes.BadRequest)
			return 0, in.fail(codes.BadRequest, "Bad Proxy-Uri", err.Error(), "RFC 7252 5.10.2")
		}
		in.host = host
		if self = in.isSelf(host, port); self {
			in.target, in.nextHop = in.n.id, ""
		} else if g := in.t.groupFor(host, net.JoinHostPort(host, port)); g != nil {
			in.group, in.target, in.nextHop = g, g.cfg.ID, g.cfg.ID
			if up := in.cfg.Upstream; up != "" && up != in.n.id {
				in.nextHop = up
			}
		} else {
			in.target, _ = in.t.resolve(host, net.JoinHostPort(host, port))
			in.nextHop = in.target
			if up := in.cfg.Upstream; up != "" && up != in.n.id {
				in.nextHop = up
			}
		}
	}
	// Acceptability comes first (draft 2.4 step 4): a client the node does
	// not accept learns neither that the authority is the node itself nor
	// which hosts it knows.
	prev := in.previousContext()
	acceptable := in.acceptable
	if in.group != nil {
		acceptable = in.groupAcceptable
	}
	if ok, why := acceptable(prev); !ok {
		in.decide("4", "Step 4: forwarding not acceptable: "+why+" -> 4.01 Unauthorized", codes.Unauthorized)
		return 0, in.fail(codes.Unauthorized, "Forwarding not acceptable", why, "2.4 step 4")
	} else {
		in.decide("4", "Step 4: forwarding acceptable: "+why, 0)
	}
	if in.group != nil {
		if in.forward {
			in.consumeForwardOptions(in.nextHop != in.target)
		} else {
			in.consumeReverseOptions()
		}
		return 0, in.forwardToGroup()
	}
	if in.forward {
		if self {
			in.consumeForwardOptions(false)
			in.forward, in.target = false, ""
			in.decide("4->1", fmt.Sprintf("Step 4: the request's authority %s is %s itself -> local request, back to step 1", in.host, in.n.id), 0)
			return 1, nil
		}
		if in.nextHop == "" {
			in.decide("4", fmt.Sprintf("Step 4: no node answers to %s -> 5.02 Bad Gateway", in.host), codes.BadGateway)
			return 0, in.fail(codes.BadGateway, "No route to "+in.host, "unknown host "+in.host, "RFC 7252 5.7.2")
		}
		keep := in.nextHop != in.target
		in.consumeForwardOptions(keep)
		if keep {
			in.decide("4", fmt.Sprintf("Step 4: forward-proxy options kept for the next forward-proxy %s (B.6) -> forward", in.nextHop), 0)
		} else {
			in.decide("4", "Step 4: Proxy-Scheme/Proxy-Uri consumed (RFC 7252 5.7.2) -> forward to "+in.nextHop, 0)
		}
	} else {
		in.consumeReverseOptions()
		in.decide("4", "Step 4: Uri-Host, Uri-Port and path prefix consumed -> forward to "+in.nextHop, 0)
	}
	return 0, in.forwardRequest()
}

// Step 5: no OSCORE option left: deliver to the application, or 4.04.
func (in *incoming) step5() (int, *reply) {
	if in.req.Options.HasOption(optOSCORE) {
		in.decide("5->6", "Step 5: OSCORE option present -> step 6", 0)
		return 6, nil
	}
	if num, ok := unknownCritical(in.req.Options); ok {
		why := fmt.Sprintf("unrecognised critical option %d", num)
		in.decide("5", "Step 5: no OSCORE option left, but "+why+" -> 4.02 Bad Option (RFC 7252 5.4.1)", codes.BadOption)
		return 0, in.fail(codes.BadOption, fmt.Sprintf("Unrecognised critical option %d", num), why, "RFC 7252 5.4.1")
	}
	if out, ok := in.earlyStop(); ok && in.cfg.Role == scenario.RoleProxy {
		return 0, out
	}
	if in.cfg.Role != scenario.RoleServer && !isEDHOCRequest(&in.req) {
		in.decide("5", fmt.Sprintf("Step 5: no OSCORE option and no application at %s -> 4.04 Not Found", in.n.id), codes.NotFound)
		return 0, in.fail(codes.NotFound, "", "no application for the request", "2.4 step 5")
	}
	path, err := requestPath(in.req.Options)
	if err != nil {
		in.decide("5", "Step 5: "+err.Error()+" -> 4.02 Bad Option (draft-ietf-core-uri-path-abbrev: never 4.04)", codes.BadOption)
		return 0, in.fail(codes.BadOption, err.Error(), err.Error(), "draft-ietf-core-uri-path-abbrev")
	}
	in.decide("5", "Step 5: no OSCORE option left -> deliver "+in.req.Code.String()+" /"+strings.Join(path, "/")+" to the application", 0)
	return 0, in.deliver(path)
}

// unknownCritical finds a critical option (odd number, RFC 7252 5.4.6) that
// the lab does not recognise: RFC 7252 5.4.1 answers it with 4.02, for
// Non-confirmable requests too (as draft-ietf-core-uri-path-abbrev updates
// RFC 7252 5.4.1).
func unknownCritical(opts message.Options) (uint16, bool) {
	for _, o := range opts {
		num := uint16(o.ID)
		if num&1 == 1 {
			if _, known := oscore.LookupOption(num); !known {
				return num, true
			}
		}
	}
	return 0, false
}

// Step 6: remove one layer with the context the OSCORE option names, under
// the source-based policy if the node has one (2.4.1), within the layer
// limit (2.1); an OSCORE error stops per RFC 8613 8.2.
func (in *incoming) step6() (int, *reply) {
	limit := layerLimit(in.cfg)
	if len(in.removed) >= limit {
		in.n.decision(in.at, trace.RuleLayerLimit, "6", "2.1",
			fmt.Sprintf("Layer limit %d reached and the request still carries an OSCORE option -> 4.01 Unauthorized", limit), codes.Unauthorized)
		return 0, in.fail(codes.Unauthorized, "Too many OSCORE layers", fmt.Sprintf("more than %d layers", limit), "2.1")
	}
	if out := in.edhocCombined(); out != nil {
		return 0, out
	}
	m, b, rep, err := oscore.UnprotectRequest(in.req, in.lookup())
	if err != nil {
		var oe *oscore.Error
		if !errors.As(err, &oe) {
			in.decide("6", "Step 6: "+err.Error()+" -> 4.00", codes.BadRequest)
			return 0, in.fail(codes.BadRequest, "Bad request", err.Error(), "RFC 8613 8.2")
		}
		if rep != nil {
			in.n.layer(in.at, in.layerNumber(nil), "failed", trace.DirRequest, rep)
		}
		in.decide("6", fmt.Sprintf("Step 6: %s -> %s (RFC 8613 8.2)", oe.Reason, codeText(oe.Code)), oe.Code)
		out := in.fail(oe.Code, oe.Diagnostic, oe.Reason, oe.Section)
		out.oscoreErr = true
		return 0, out
	}
	number := in.layerNumber(&m)
	in.n.layer(in.at, number, trace.LayerRemoved, trace.DirRequest, rep)
	in.removed = append(in.removed, removedLayer{ctx: b.Ctx, b: b, number: number})
	in.nameByContext(b.Ctx.Name())
	in.routeContexts = nil
	if out := in.checkFreshness(b, &m, rep.Complete().Seq); out != nil {
		return 0, out
	}
	m.Token, m.MessageID, m.Type = in.req.Token, in.req.MessageID, in.req.Type
	m.Options = in.innerWins(m.Options, b.Ctx.Name())
	in.req = m
	in.decide("6->1", "Step 6: layer "+b.Ctx.Name()+" removed (kid "+hex.EncodeToString(b.KID())+") -> back to step 1", 0)
	return 1, nil
}

// innerWins keeps, of a non-repeatable option that the removed layer
// carried inside while the message also had it outside, the inner value:
// the layer's sender meant it for this node, and the outer one was for the
// hops before (an onion's Uri-Host, draft 2.3 and A.7). Options come back
// from the oscore package outer first, inner after (RFC 8613 8.2 step 7).
func (in *incoming) innerWins(opts message.Options, ctx string) message.Options {
	out := opts[:0:0]
	for i, o := range opts {
		if i+1 < len(opts) && opts[i+1].ID == o.ID {
			if def, ok := oscore.LookupOption(uint16(o.ID)); ok && !def.Repeatable {
				in.decide("6", fmt.Sprintf("Step 6: %s outside the layer and inside %s: the inner value, meant for %s, replaces the outer one (A.7)", oscore.OptionName(uint16(o.ID)), ctx, in.n.id), 0)
				continue
			}
		}
		out = append(out, o)
	}
	return out
}

// layerNumber numbers the layer being removed (1 = innermost) from the
// leg's stack when a lab node sent the request. The layers of a peer
// outside the lab are not on record: its layer is numbered from what
// removing it showed, inner (the plaintext it revealed, nil when the
// removal failed): 1 when no OSCORE option is left inside, else 2, since
// the lab cannot see how deep the rest goes (a peer's third layer and
// beyond are numbered 2 as well; docs/trace-format.md). 0: not known.
func (in *incoming) layerNumber(inner *message.Message) int {
	if len(in.stack) == 0 {
		switch {
		case inner == nil:
			return 0
		case inner.Options.HasOption(optOSCORE):
			return 2
		}
		return 1
	}
	return max(len(in.stack)-len(in.removed), 0)
}

// lookup finds the Recipient Context by kid (RFC 8613 8.2 step 3). With a
// source-based policy (draft 2.4.1) only the contexts listed for the
// previous hop are searched at all, so an ineligible context takes the very
// path of an unknown one: 4.01 "Security context not found" (draft 7.1).
// After step 3 named a route's contexts, only those are searched.
func (in *incoming) lookup() oscore.ContextLookup {
	cands := in.t.recipients[in.n.id]
	policy := in.cfg.SourcePolicy
	var allowed []string
	if len(policy) > 0 {
		allowed = policy[in.from]
	}
	only := in.routeContexts
	return func(kid, kidContext []byte) (*oscore.Context, error) {
		for _, c := range cands[string(kid)] {
			// A kid context names the ID Context, and an empty one
			// is an ID Context of zero bytes, not an absent one
			// (RFC 8613 3.3, 5.1): it matches only a context whose
			// ID Context is present and equal.
			if kidContext != nil {
				if id := c.Params().IDContext; id == nil || !bytes.Equal(id, kidContext) {
					continue
				}
			}
			if only != nil && !slices.Contains(only, c.Name()) {
				continue
			}
			if in.n.lab.awaitingMessage3(c.Name()) {
				continue // established by EDHOC, message_3 not yet here (RFC 9668)
			}
			if len(policy) > 0 && !slices.Contains(allowed, c.Name()) && !in.namedBy(c.Name()) {
				continue
			}
			return c, nil
		}
		return nil, nil
	}
}

// previousContext names the context that removed the last layer ("" none):
// it identifies the client or previous hop (draft 2.4 step 4, section 7).
func (in *incoming) previousContext() string {
	if len(in.removed) == 0 {
		return ""
	}
	return in.removed[len(in.removed)-1].ctx.Name()
}

// acceptable is the lab's authorisation check before forwarding (draft 2.4
// step 4): the allow-list of the context that removed the previous layer.
func (in *incoming) acceptable(prev string) (bool, string) {
	if len(in.cfg.Allow) == 0 {
		return true, "no allow-list configured"
	}
	who := "no OSCORE layer"
	if prev != "" {
		who = "context " + prev
	}
	list, ok := in.cfg.Allow[prev]
	if !ok {
		return false, who + " is not on the allow-list"
	}
	if slices.Contains(list, "*") || slices.Contains(list, in.target) || (in.target == "" && slices.Contains(list, in.host)) {
		return true, fmt.Sprintf("%s may reach %s", who, firstNonEmpty(in.target, in.host))
	}
	return false, fmt.Sprintf("%s may not reach %s", who, firstNonEmpty(in.target, in.host))
}

// forwardAuthority is the host and port the forward-proxy request names
// (RFC 7252 5.10.2): Proxy-Uri's authority, or Uri-Host and Uri-Port with
// Proxy-Scheme. A missing port is the scheme's default. Without Uri-Host
// the request names its own destination address and, without Uri-Port,
// its destination port (RFC 7252 6.5 steps 3 and 5): this node itself.
func (in *incoming) forwardAuthority() (string, string, error) {
	if v, err := in.req.Options.GetBytes(optProxyCRI); err == nil {
		c, err := parseCRI(v)
		if err != nil {
			return "", "", err
		}
		return c.host, firstNonEmpty(c.port, defaultPort(c.scheme)), nil
	}
	if s, err := in.req.Options.GetString(optProxyURI); err == nil {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", "", fmt.Errorf("Proxy-Uri %q is not an absolute URI", s)
		}
		port := u.Port()
		if port == "" {
			port = defaultPort(strings.ToLower(u.Scheme))
		}
		return u.Hostname(), port, nil
	}
	host, port := "", defaultPort(in.forwardScheme())
	if h, err := in.req.Options.GetString(optURIHost); err == nil {
		host = h
	} else if in.n.addr != nil {
		host, port = in.n.addr.IP.String(), strconv.Itoa(in.n.addr.Port)
	} else {
		return "", "", errors.New("Proxy-Scheme without Uri-Host, and the destination address is unknown")
	}
	if p, err := in.req.Options.GetUint32(optURIPort); err == nil {
		port = strconv.Itoa(int(p))
	}
	return host, port, nil
}

// isSelf: the URI's authority identifies this node (draft 2.4 step 4).
func (in *incoming) isSelf(host, port string) bool {
	if in.cfg.Authority != "" && strings.EqualFold(in.cfg.Authority, host) {
		return true
	}
	if strings.EqualFold(host, in.n.id) {
		return true
	}
	return in.n.addr != nil && net.JoinHostPort(host, port) == in.n.addr.String()
}

// consumeForwardOptions removes what a forward-proxy consumes (RFC 7252
// 5.7.2): Proxy-Scheme, or Proxy-Uri turned into Uri-* options. With keep,
// the next hop is another forward-proxy and everything stays (B.6).
func (in *incoming) consumeForwardOptions(keep bool) {
	if keep {
		return
	}
	opts := in.req.Options
	if v, err := opts.GetBytes(optProxyCRI); err == nil {
		// Proxy-Cri takes precedence over Proxy-Uri and the Uri-* options
		// (draft-ietf-core-href), which it replaces.
		opts = opts.Remove(optProxyCRI).Remove(optProxyURI).Remove(optURIHost).Remove(optURIPort).Remove(optURIPath).Remove(optURIQuery)
		if c, err := parseCRI(v); err == nil {
			if !c.ip {
				opts, _, _ = opts.SetString(make([]byte, len(c.host)), optURIHost, c.host)
			}
			if c.port != "" {
				p, _ := strconv.Atoi(c.port)
				opts, _, _ = opts.SetUint32(make([]byte, 4), optURIPort, uint32(p))
			}
			for _, seg := range c.path {
				opts, _, _ = opts.AddString(make([]byte, len(seg)), optURIPath, seg)
			}
			for _, arg := range c.query {
				opts, _, _ = opts.AddString(make([]byte, len(arg)), optURIQuery, arg)
			}
		}
	} else if s, err := opts.GetString(optProxyURI); err == nil {
		opts = opts.Remove(optProxyURI)
		if u, err := url.Parse(s); err == nil {
			buf := make([]byte, 256)
			if h := u.Hostname(); h != "" && net.ParseIP(h) == nil {
				opts, _, _ = opts.SetString(buf, optURIHost, h)
			}
			if p := u.Port(); p != "" {
				if v, err := strconv.Atoi(p); err == nil {
					opts, _, _ = opts.SetUint32(make([]byte, 4), optURIPort, uint32(v))
				}
			}
			for _, seg := range uriSegments(u) {
				opts, _, _ = opts.AddString(make([]byte, len(seg)), optURIPath, seg)
			}
			for _, arg := range uriQuery(u) {
				opts, _, _ = opts.AddString(make([]byte, len(arg)), optURIQuery, arg)
			}
		}
	}
	opts = opts.Remove(optProxyScheme).Remove(optProxySchemeNumber)
	in.req.Options = opts
}

// consumeReverseOptions removes Uri-Host, Uri-Port and the route's path
// prefix (draft 2.4 step 4, reverse-proxy case).
func (in *incoming) consumeReverseOptions() {
	opts := in.req.Options.Remove(optURIHost).Remove(optURIPort)
	if in.route != nil && len(in.route.PathPrefix) > 0 {
		opts = expandPathAbbrev(opts)
		rest := uriPath(opts)[len(in.route.PathPrefix):]
		opts = opts.Remove(optURIPath)
		for _, seg := range rest {
			opts, _, _ = opts.AddString(make([]byte, len(seg)), optURIPath, seg)
		}
	}
	in.req.Options = opts
}

func uriPath(opts message.Options) []string {
	var out []string
	for _, o := range opts {
		if o.ID == optURIPath {
			out = append(out, string(o.Value))
		}
	}
	return out
}

func describeRoute(r *scenario.ReverseRoute) string {
	var parts []string
	if r.Host != "" {
		parts = append(parts, fmt.Sprintf("Uri-Host %q", r.Host))
	}
	if len(r.PathPrefix) > 0 {
		parts = append(parts, "path prefix /"+strings.Join(r.PathPrefix, "/"))
	}
	return strings.Join(parts, " and ")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
