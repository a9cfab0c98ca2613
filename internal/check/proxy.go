package check

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// Behind a proxy under test the suite plays both ends: the client on its
// socket and the origin server on a second one, so it sees exactly what
// the proxy forwards in both directions. The end-to-end context is the
// suite's own, fresh for every case; the proxy never holds it.

// e2e is the end-to-end context pair, the client's side and the origin's.
type e2e struct{ client, origin *oscore.Context }

func newE2E() (e2e, error) {
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	c, err := oscore.NewContext("end-to-end", oscore.Params{MasterSecret: secret, SenderID: []byte{0xc1}, RecipientID: []byte{0x5e}})
	if err != nil {
		return e2e{}, err
	}
	o, err := oscore.NewContext("end-to-end", oscore.Params{MasterSecret: secret, SenderID: []byte{0x5e}, RecipientID: []byte{0xc1}})
	return e2e{client: c, origin: o}, err
}

// proxyRun is one request through the proxy and what each end saw.
type proxyRun struct {
	binds       []*oscore.Binding // innermost (end-to-end) first
	sentOption  []byte            // the end-to-end OSCORE option as the client sent it
	sentPayload []byte

	origin *atOrigin // nil when nothing reached the origin

	resp     received
	got      bool
	err      error
	removed  int             // response layers the client removed
	inner    message.Message // the response after removing them
	vErr     error
	e2eResp  []byte // the end-to-end layer of the response as it reached the client
	e2eRespP []byte
}

// atOrigin is what reached the suite's origin server.
type atOrigin struct {
	req        message.Message
	hopLayers  int    // layers the proxy added towards the origin, removed first
	option     []byte // the end-to-end OSCORE option as it arrived
	payload    []byte
	hopLimit   uint32
	hasHop     bool
	inner      message.Message
	err        error // the end-to-end layer did not verify
	respOption []byte
	respPay    []byte
}

// originAddr is the origin server's host and port for Uri-Host and Uri-Port.
func (t *T) originAddr() (string, uint32) {
	if h, p, err := net.SplitHostPort(t.cfg.OriginAddr); err == nil {
		if n, err := strconv.ParseUint(p, 10, 16); err == nil {
			return h, uint32(n)
		}
	}
	a := t.cl.origin.LocalAddr().(*net.UDPAddr)
	return a.IP.String(), uint32(a.Port)
}

// proxied is a forward-proxy request for path on the suite's origin
// (Proxy-Scheme with Uri-Host and Uri-Port, RFC 7252 5.7.2).
func (t *T) proxied(code codes.Code, path string, opts ...message.Option) message.Message {
	host, port := t.originAddr()
	opts = append(opts, message.Option{ID: optURIHost, Value: []byte(host)}, uintOpt(optURIPort, port),
		message.Option{ID: optProxyScheme, Value: []byte("coap")})
	return request(code, path, opts...)
}

// hops is the path the suite knows: itself, the proxy, its origin.
var proxyHops = []oscore.Hop{{Name: NodeSuite, Role: oscore.RoleClient}, {Name: NodeTarget, Role: oscore.RoleForwardProxy}, {Name: NodeOrigin, Role: oscore.RoleServer}}

// reverseHops is the path through a reverse-proxy the suite knows of: the
// proxy reads Hop-Limit and routes on Uri-Host, which therefore stay outer
// (draft 2.2).
var reverseHops = []oscore.Hop{{Name: NodeSuite, Role: oscore.RoleClient}, {Name: NodeTarget, Role: oscore.RoleReverseProxy}, {Name: NodeOrigin, Role: oscore.RoleServer}}

// reversed is a request for path at the origin as a reverse-proxy maps it:
// Uri-Host and Uri-Port name the origin's address (-origin-addr), which
// the proxy routes on.
func (t *T) reversed(code codes.Code, path string, opts ...message.Option) message.Message {
	host, port := t.originAddr()
	opts = append(opts, message.Option{ID: optURIHost, Value: []byte(host)}, uintOpt(optURIPort, port))
	return request(code, path, opts...)
}

// protectStack applies the end-to-end layer, then one layer per entry of
// proxyLayers (innermost first), each with the draft's option-protection
// rule for its endpoint (draft 2.2, 2.3).
func (t *T) protectStack(r *proxyRun, m message.Message, e e2e, proxyLayers []*ctxState, edit func(*message.Message)) (message.Message, error) {
	m.Token = t.cl.newToken()
	hops, far := proxyHops, 2
	if t.cfg.Role == RoleReverseProxy {
		hops = reverseHops
	}
	idx := []int{far}
	for range proxyLayers {
		idx = append(idx, 1)
	}
	route := oscore.RequestRoute(&m, hops, 0, idx)
	out, b, rep, err := oscore.ProtectRequest(e.client, m, oscore.ProtectOptions{Rule: route.RuleFor(far)})
	t.cl.rec.layer(trace.LayerApplied, trace.DirRequest, rep)
	if err != nil {
		return message.Message{}, err
	}
	r.binds = append(r.binds, b)
	r.sentOption, r.sentPayload = optionValue(out), append([]byte(nil), out.Payload...)
	if edit != nil {
		edit(&out)
	}
	for _, cs := range proxyLayers {
		next, b, rep, err := oscore.ProtectRequest(cs.oc, out, oscore.ProtectOptions{Rule: route.RuleFor(1)})
		cs.used = true
		t.cl.rec.layer(trace.LayerApplied, trace.DirRequest, rep)
		if err != nil {
			return message.Message{}, err
		}
		r.binds = append(r.binds, b)
		out = next
	}
	return out, nil
}

// viaProxy sends m through the proxy with the given layers, lets the
// origin answer (when the request reaches it) and reads the response.
// expectOrigin false waits for the proxy's own answer first and then only
// briefly for anything the proxy forwarded anyway.
func (t *T) viaProxy(m message.Message, proxyLayers []*ctxState, edit func(*message.Message), expectOrigin bool) *proxyRun {
	r := &proxyRun{}
	e, err := newE2E()
	if err != nil {
		r.err = err
		return r
	}
	pm, err := t.protectStack(r, m, e, proxyLayers, edit)
	if err != nil {
		r.err = fmt.Errorf("protecting the request: %w", err)
		return r
	}
	pm.Type = message.Confirmable
	if err := t.cl.send(pm); err != nil {
		r.err = err
		return r
	}
	if expectOrigin {
		r.origin = t.serveOrigin(e, t.cfg.Timeout)
	}
	r.resp, r.err = t.cl.await(pm.Token, t.cfg.Timeout)
	r.got = r.err == nil
	if !expectOrigin {
		r.origin = t.serveOrigin(e, t.cfg.Timeout/4)
	}
	if r.got {
		t.unprotectStack(r)
	}
	return r
}

// serveOrigin waits for the forwarded request, removes the layers the
// proxy added towards the origin (contexts with peer "origin"), keeps the
// end-to-end layer as it arrived, verifies it and answers 2.05 "origin"
// protected end to end, then with the proxy's layers in reverse order.
func (t *T) serveOrigin(e e2e, wait time.Duration) *atOrigin {
	req, from, err := t.cl.awaitOrigin(wait)
	if err != nil {
		return nil
	}
	o := t.originAnswer(e, req, from)
	if o.err != nil {
		// Answer anyway (RFC 8613 8.2), so that the proxy stops
		// retransmitting into the next case.
		_ = t.cl.replyOrigin(from, req.msg, message.Message{Code: codes.BadRequest})
	}
	return o
}

// originAnswer processes the forwarded request and answers it when it
// verifies.
func (t *T) originAnswer(e e2e, req received, from *net.UDPAddr) *atOrigin {
	o := &atOrigin{req: req.msg}
	m := req.msg
	var hopBinds []*oscore.Binding
	for {
		ov, err := oscore.ParseOption(optionValue(m))
		if err != nil || !m.Options.HasOption(optOSCORE) {
			break
		}
		cs := t.originContext(ov.KID)
		if cs == nil {
			break
		}
		next, b, rep, err := oscore.UnprotectRequest(m, func(kid, _ []byte) (*oscore.Context, error) { return cs.oc, nil })
		if err != nil {
			t.cl.rec.layer(trace.LayerFailed, trace.DirRequest, rep)
			o.err = fmt.Errorf("the layer the proxy added with %s does not verify: %w", cs.pc.Name, err)
			return o
		}
		t.cl.rec.layer(trace.LayerRemoved, trace.DirRequest, rep)
		next.Token, next.MessageID, next.Type = m.Token, m.MessageID, m.Type
		m = next
		hopBinds = append(hopBinds, b)
	}
	o.hopLayers = len(hopBinds)
	o.option, o.payload = optionValue(m), append([]byte(nil), m.Payload...)
	if v, err := m.Options.GetUint32(optHopLimit); err == nil {
		o.hopLimit, o.hasHop = v, true
	}
	inner, b, rep, err := oscore.UnprotectRequest(m, func(kid, _ []byte) (*oscore.Context, error) { return e.origin, nil })
	if err != nil {
		t.cl.rec.layer(trace.LayerFailed, trace.DirRequest, rep)
		o.err = err
		return o
	}
	t.cl.rec.layer(trace.LayerRemoved, trace.DirRequest, rep)
	o.inner = inner
	resp, rep, err := oscore.ProtectResponse(b, message.Message{Code: codes.Content, Payload: []byte("origin")}, oscore.ProtectOptions{})
	t.cl.rec.layer(trace.LayerApplied, trace.DirResponse, rep)
	if err != nil {
		o.err = err
		return o
	}
	o.respOption, o.respPay = optionValue(resp), append([]byte(nil), resp.Payload...)
	for i := len(hopBinds) - 1; i >= 0; i-- {
		if resp, rep, err = oscore.ProtectResponse(hopBinds[i], resp, oscore.ProtectOptions{}); err != nil {
			o.err = err
			return o
		}
		t.cl.rec.layer(trace.LayerApplied, trace.DirResponse, rep)
	}
	_ = t.cl.replyOrigin(from, req.msg, resp)
	return o
}

// originContext is the context with peer "origin" whose recipient is kid.
func (t *T) originContext(kid []byte) *ctxState {
	for _, cs := range t.env.contexts {
		if cs.pc.Peer == peerctx.PeerOrigin && bytes.Equal(cs.pc.Params.RecipientID, kid) {
			return cs
		}
	}
	return nil
}

// unprotectStack removes the response's layers, outermost (the last
// request layer) first, as far as they go (draft 2.6).
func (t *T) unprotectStack(r *proxyRun) {
	m := r.resp.msg
	for i := len(r.binds) - 1; i >= 0 && m.Options.HasOption(optOSCORE); i-- {
		if i == 0 {
			r.e2eResp, r.e2eRespP = optionValue(m), append([]byte(nil), m.Payload...)
		}
		next, rep, err := oscore.UnprotectResponse(r.binds[i], m)
		if err != nil {
			t.cl.rec.layer(trace.LayerFailed, trace.DirResponse, rep)
			r.vErr = fmt.Errorf("response layer %d: %w", len(r.binds)-i, err)
			return
		}
		t.cl.rec.layer(trace.LayerRemoved, trace.DirResponse, rep)
		next.Token = m.Token
		m = next
		r.removed++
	}
	r.inner = m
}

func (r *proxyRun) describe() string {
	switch {
	case r.err != nil && !r.got:
		return r.err.Error()
	case r.vErr != nil:
		return fmt.Sprintf("%s that does not verify: %v", codeText(r.resp.msg.Code), r.vErr)
	}
	s := codeText(r.inner.Code)
	if r.removed > 0 {
		s += fmt.Sprintf(" inside %d layer(s)", r.removed)
	} else {
		s = "unprotected " + s
	}
	if len(r.inner.Payload) > 0 {
		s += fmt.Sprintf(" %q", truncate(string(r.inner.Payload), 40))
	}
	return s
}

// transparentCases are the checks of a proxy that forwards OSCORE end to
// end without a layer of its own; build makes a request for path through
// the proxy (forward: Proxy-Scheme; reverse: the origin's Uri-Host).
func transparentCases(prefix, role string, build func(t *T, opts ...message.Option) message.Message) []*Case {
	return []*Case{
		{ID: prefix + "-oscore-untouched", Role: role, Section: "RFC 8613 10; RFC 7252 5.7.2", Level: MUST,
			Requirement: "the OSCORE option and the ciphertext are forwarded unchanged, to the origin and back",
			Run:         func(t *T) { untouched(t, build(t)) }},
		{ID: prefix + "-hop-limit-decrement", Role: role, Section: "RFC 8768 3", Level: MUST,
			Requirement: "a forwarded request's Hop-Limit is one less than the one received",
			Run:         func(t *T) { hopLimitDecrement(t, build(t, uintOpt(optHopLimit, 10)), nil) }},
		{ID: prefix + "-hop-limit-reached", Role: role, Section: "RFC 8768 3", Level: MUST,
			Requirement: "a request with Hop-Limit 1 is not forwarded but answered 5.08 Hop Limit Reached",
			Run: func(t *T) {
				wantProxyError(t, t.viaProxy(build(t, uintOpt(optHopLimit, 1)), nil, nil, false), codes.Code(0xa8), 0)
			}},
	}
}

func forwardProxyCases() []*Case {
	return append(transparentCases("fwd", RoleForwardProxy, func(t *T, opts ...message.Option) message.Message {
		return t.proxied(codes.GET, t.cfg.Resource, opts...)
	}), &Case{ID: "fwd-unsupported-scheme", Role: RoleForwardProxy, Section: "RFC 7252 5.7.2", Level: MUST,
		Requirement: "a request for a scheme the proxy does not serve is answered 5.05 Proxying Not Supported",
		Run:         fwdUnsupportedScheme})
}

func reverseProxyCases() []*Case {
	return transparentCases("rproxy", RoleReverseProxy, func(t *T, opts ...message.Option) message.Message {
		return t.reversed(codes.GET, t.cfg.Resource, opts...)
	})
}

// untouched sends m end to end through the proxy and compares what each
// end received with what the other sent.
func untouched(t *T, m message.Message) {
	r := t.viaProxy(m, nil, nil, true)
	switch {
	case r.origin == nil:
		t.Fail("nothing reached the origin; the proxy answered %s", r.describe())
	case !bytes.Equal(r.origin.option, r.sentOption):
		t.Fail("the OSCORE option changed on the way: sent %x, the origin got %x", r.sentOption, r.origin.option)
	case !bytes.Equal(r.origin.payload, r.sentPayload):
		t.Fail("the ciphertext changed on the way to the origin")
	case r.origin.err != nil:
		t.Fail("the request does not verify at the origin: %v", r.origin.err)
	case !r.got:
		t.Fail("no response came back: %v", r.err)
	case !bytes.Equal(r.e2eResp, r.origin.respOption) || !bytes.Equal(r.e2eRespP, r.origin.respPay):
		t.Fail("the response's OSCORE option or ciphertext changed on the way back")
	case r.vErr != nil || r.inner.Code != codes.Content:
		t.Fail("the response: %s", r.describe())
	default:
		t.Pass("option %x and %d bytes of ciphertext forwarded unchanged both ways; %s", r.sentOption, len(r.sentPayload), r.describe())
	}
}

// hopLimitDecrement sends m, which carries Hop-Limit 10, and wants 9 at
// the origin.
func hopLimitDecrement(t *T, m message.Message, layers []*ctxState) {
	r := t.viaProxy(m, layers, nil, true)
	switch {
	case r.origin == nil:
		t.Fail("nothing reached the origin; the proxy answered %s", r.describe())
	case !r.origin.hasHop:
		t.Fail("the forwarded request carries no Hop-Limit")
	case r.origin.hopLimit != 9:
		t.Fail("sent Hop-Limit 10, the origin got %d", r.origin.hopLimit)
	default:
		t.Pass("Hop-Limit 10 arrived as 9")
	}
}

func fwdUnsupportedScheme(t *T) {
	m := t.proxied(codes.GET, t.cfg.Resource)
	for i := range m.Options {
		if m.Options[i].ID == optProxyScheme {
			m.Options[i].Value = []byte("x-unsupported")
		}
	}
	r := t.viaProxy(m, nil, nil, false)
	wantProxyError(t, r, codes.ProxyingNotSupported, 0)
}

// wantProxyError wants the proxy's own error response with code, under
// exactly layers layers (the ones it removed, draft 2.5), and nothing at
// the origin.
func wantProxyError(t *T, r *proxyRun, code codes.Code, layers int) {
	switch {
	case r.origin != nil:
		t.Fail("the proxy forwarded the request to the origin")
	case !r.got:
		t.Fail("no response: %v", r.err)
	case r.vErr != nil:
		t.Fail("%s", r.describe())
	case r.inner.Code != code:
		t.Fail("answered %s, want %s", r.describe(), codeText(code))
	case r.removed != layers:
		t.Fail("%s protected with %d layer(s), want %d", codeText(code), r.removed, layers)
	case r.inner.Options.HasOption(optOSCORE):
		t.Fail("an OSCORE option is left after removing %d layer(s)", r.removed)
	default:
		t.Pass("answered %s", r.describe())
	}
}

func oscoreProxyCases() []*Case {
	cs := []*Case{
		{ID: "oproxy-layer-removed", Section: "draft-ietf-core-oscore-capable-proxies 2.4 step 6, 2.3", Level: MUST,
			Requirement: "the proxy removes its own layer and forwards the end-to-end layer unchanged",
			Run:         oproxyLayerRemoved},
		{ID: "oproxy-response-reverse-order", Section: "draft-ietf-core-oscore-capable-proxies 2.5, 2.6", Level: MUST,
			Requirement: "the response comes back with the proxy's layer outside the end-to-end one (reverse order) and both verify",
			Run:         oproxyResponseReverse},
		{ID: "oproxy-error-removed-layers", Section: "draft-ietf-core-oscore-capable-proxies 2.5; RFC 8768 3", Level: MUST,
			Requirement: "an error the proxy produces after removing its layer (5.08) is protected with that layer only",
			Run:         oproxyErrorRemovedLayers},
		{ID: "oproxy-unknown-client", Section: "draft-ietf-core-oscore-capable-proxies 2.4 step 6; RFC 8613 8.2", Level: MUST,
			Requirement: "a layer for the proxy from a client it holds no context for is refused with 4.01, unprotected, and not forwarded",
			Run:         oproxyUnknownClient},
		{ID: "oproxy-unauthorised-client", Section: "draft-ietf-core-oscore-capable-proxies 2.4 step 4, 2.5", Level: MUST,
			Requirement: "a client the proxy knows but does not authorise to forward is refused with 4.01, protected with the layer the proxy removed, and nothing is forwarded",
			Run:         oproxyUnauthorised},
		{ID: "oproxy-unrecognised-option", Section: "draft-ietf-core-oscore-capable-proxies 2.2", Level: MUST,
			Requirement: "a proxy that must protect the forwarded request and meets an option it does not recognise answers 4.02, protected with its layer",
			Run:         oproxyUnrecognised},
		{ID: "oproxy-layer-limit", Section: "draft-ietf-core-oscore-capable-proxies 2.1", Level: MUST,
			Requirement: "a request with more layers for the proxy than it accepts is answered 4.01 and not forwarded",
			Run:         oproxyLayerLimit},
		{ID: "oproxy-hop-limit", Section: "RFC 8768 3; draft-ietf-core-oscore-capable-proxies 3", Level: MUST,
			Requirement: "the proxy decrements the Hop-Limit it finds in its layer when it forwards",
			Run: func(t *T) {
				if layers := t.proxyLayer(); layers != nil {
					hopLimitDecrement(t, t.proxied(codes.GET, t.cfg.Resource, uintOpt(optHopLimit, 10)), layers)
				}
			}},
	}
	for _, c := range cs {
		c.Role = RoleOSCOREProxy
	}
	return cs
}

// proxyLayer is the suite's layer for the proxy: the main target context.
func (t *T) proxyLayer() []*ctxState {
	cs := t.main()
	if cs == nil {
		return nil
	}
	return []*ctxState{cs}
}

func oproxyLayerRemoved(t *T) {
	layers := t.proxyLayer()
	if layers == nil {
		return
	}
	r := t.viaProxy(t.proxied(codes.GET, t.cfg.Resource), layers, nil, true)
	switch {
	case r.origin == nil:
		t.Fail("nothing reached the origin; the proxy answered %s", r.describe())
	case !bytes.Equal(r.origin.option, r.sentOption) || !bytes.Equal(r.origin.payload, r.sentPayload):
		t.Fail("the end-to-end layer changed: sent option %x, the origin got %x", r.sentOption, r.origin.option)
	case r.origin.err != nil:
		t.Fail("at the origin: %v", r.origin.err)
	default:
		t.Pass("its layer removed, the end-to-end layer (option %x) reached the origin unchanged", r.sentOption)
	}
}

func oproxyResponseReverse(t *T) {
	layers := t.proxyLayer()
	if layers == nil {
		return
	}
	r := t.viaProxy(t.proxied(codes.GET, t.cfg.Resource), layers, nil, true)
	switch {
	case r.origin == nil:
		t.Fail("nothing reached the origin; the proxy answered %s", r.describe())
	case !r.got:
		t.Fail("no response: %v", r.err)
	case r.vErr != nil:
		t.Fail("%s", r.describe())
	case r.removed != 2:
		t.Fail("the response had %d layer(s), want 2 (the proxy's outside the end-to-end one)", r.removed)
	case !bytes.Equal(r.e2eResp, r.origin.respOption) || !bytes.Equal(r.e2eRespP, r.origin.respPay):
		t.Fail("the end-to-end layer of the response changed inside the proxy's layer")
	case r.inner.Code != codes.Content || string(r.inner.Payload) != "origin":
		t.Fail("the origin's answer came back as %s", r.describe())
	default:
		t.Pass("%s: the proxy's layer, then the end-to-end layer, verified", r.describe())
	}
}

func oproxyErrorRemovedLayers(t *T) {
	layers := t.proxyLayer()
	if layers == nil {
		return
	}
	r := t.viaProxy(t.proxied(codes.GET, t.cfg.Resource, uintOpt(optHopLimit, 1)), layers, nil, false)
	wantProxyError(t, r, codes.Code(0xa8), 1)
}

func oproxyUnknownClient(t *T) {
	stranger := t.stranger()
	if stranger == nil {
		return
	}
	r := t.viaProxy(t.proxied(codes.GET, t.cfg.Resource), []*ctxState{stranger}, nil, false)
	wantProxyError(t, r, codes.Unauthorized, 0)
}

func oproxyUnrecognised(t *T) {
	layers := t.proxyLayer()
	if layers == nil {
		return
	}
	if !slicesContainsPeer(t.env.contexts, peerctx.PeerOrigin) {
		t.Skip("needs a context the proxy protects forwarded requests with (peer \"origin\" in the context file)")
		return
	}
	// Option 65000 is elective and safe to forward: only a proxy that has to
	// classify it for its own layer towards the origin trips over it.
	unknown := func(m *message.Message) {
		m.Options = append(m.Options, message.Option{ID: 65000, Value: []byte{0x2a}})
		sortOptions(m.Options)
	}
	r := t.viaProxy(t.proxied(codes.GET, t.cfg.Resource), layers, unknown, false)
	wantProxyError(t, r, codes.BadOption, 1)
}

func oproxyUnauthorised(t *T) {
	var cs *ctxState
	for _, c := range t.env.contexts {
		if c.pc.Peer == peerctx.PeerUnauthorised {
			cs = c
			break
		}
	}
	if cs == nil {
		t.Skip("needs a context the proxy holds but does not authorise (peer \"unauthorised\" in the context file)")
		return
	}
	r := t.viaProxy(t.proxied(codes.GET, t.cfg.Resource), []*ctxState{cs}, nil, false)
	wantProxyError(t, r, codes.Unauthorized, 1)
}

func slicesContainsPeer(cs []*ctxState, peer string) bool {
	for _, c := range cs {
		if c.pc.Peer == peer {
			return true
		}
	}
	return false
}

// proxyLayerLimit is how many layers for the proxy the case sends: more
// than any limit a proxy sensibly sets for one client.
const proxyLayerLimit = 9

func oproxyLayerLimit(t *T) {
	cs := t.main()
	if cs == nil {
		return
	}
	layers := make([]*ctxState, proxyLayerLimit)
	for i := range layers {
		layers[i] = cs
	}
	r := t.viaProxy(t.proxied(codes.GET, t.cfg.Resource), layers, nil, false)
	switch {
	case r.origin != nil:
		t.Fail("the proxy removed %d layers and forwarded the request", proxyLayerLimit)
	case !r.got:
		t.Fail("no response: %v", r.err)
	case r.vErr != nil:
		t.Fail("%s", r.describe())
	case r.inner.Code != codes.Unauthorized:
		t.Fail("answered %s, want 4.01", r.describe())
	default:
		t.Pass("%d layers refused: %s", proxyLayerLimit, r.describe())
	}
}
