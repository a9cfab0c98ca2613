package nodes

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/edhoc"
)

// defaultStepTimeout bounds a step whose expectation names none.
const defaultStepTimeout = 5 * time.Second

// maxBlocks bounds inner Block2 reassembly (4 KiB in 1 KiB blocks needs 4).
const maxBlocks = 64

// clientLayer is one layer the client applies: the context, the other
// endpoint's hop index and the binding that matches the response.
type clientLayer struct {
	ctx  *oscore.Context
	name string
	peer int
	b    *oscore.Binding
}

// Send sends one request as the step describes and returns what the client
// got back after removing every layer it can. The error is non-nil when the
// step cannot be sent (unknown node, context...) or no response arrived and
// none was expected not to; the Result is filled in either case.
func (l *Lab) Send(ctx context.Context, st scenario.Step) (Result, error) {
	if st.EDHOC != "" {
		return l.runEDHOC(ctx, st)
	}
	if st.ReplyFrom != "" {
		var err error
		if st, err = l.followUp(st); err != nil {
			return Result{Step: firstNonEmpty(st.Name, st.Method+" "+st.URI), Problem: err.Error()}, err
		}
	}
	if st.To != "" && len(st.Route) > 0 {
		return l.sendGroupViaProxy(ctx, st)
	}
	if st.To != "" {
		return l.sendGroup(ctx, st)
	}
	start := time.Now()
	res := Result{Step: firstNonEmpty(st.Name, st.Method+" "+st.URI)}
	t := l.topo.Load()
	n := t.nodes[st.From]
	if n == nil {
		res.Problem = fmt.Sprintf("nodes: unknown client %q", st.From)
		return res, errors.New(res.Problem)
	}
	reused, err := pinSeqs(t, st)
	if err != nil {
		res.Problem = err.Error()
		return res, err
	}
	plan, err := t.plan(st)
	if err != nil {
		res.Problem = err.Error()
		return res, err
	}
	var hopTokens [][]byte
	for _, s := range st.HopTokens {
		b, _ := hex.DecodeString(s)
		hopTokens = append(hopTokens, nonNil(b))
	}
	xch := l.exchanges.start(hopTokens, st.HopMIDs)
	res.Exchange = xch.id
	at := where{xch.id, 0}
	var names []string
	for _, h := range plan.hops {
		names = append(names, h.Name)
	}
	l.publish(trace.Event{Type: trace.TypeExchange, Exchange: xch.id, Node: st.From,
		Note: fmt.Sprintf("start: %s %s %s via %v", st.From, st.Method, st.URI, names)})
	for _, pin := range reused {
		t.nodes[pin.Node].decision(at, trace.RuleSequence, "", "RFC 8613 7.2", fmt.Sprintf("Sender sequence number %d of %s at %s was used before with the same keys: this step reuses a nonce on purpose (nonce_reuse)", pin.Value, pin.Context, pin.Node), 0)
	}

	timeout := defaultStepTimeout
	if st.Expect != nil && st.Expect.Timeout != "" {
		if d, err := time.ParseDuration(st.Expect.Timeout); err == nil {
			timeout = d
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(n.ctx, cancel) // a removed client fails its exchanges
	defer stop()

	var tok []byte
	if st.Token != "" {
		b, _ := hex.DecodeString(st.Token)
		tok = nonNil(b)
	}
	var mid *uint16
	if st.MID != nil {
		v := uint16(*st.MID)
		mid = &v
	}
	var payload []byte
	var final message.Message
	var layers []string
	var sendErr error
	block := -1
	var echo *echoAnswer
	for i := 0; i < maxBlocks; i++ {
		var resp message.Message
		resp, layers, sendErr = n.roundTrip(ctx, t, st, plan, at, xch, tok, mid, block, echo)
		if sendErr != nil {
			break
		}
		if e := echoRequested(resp, layers); e != nil && echo == nil {
			n.decision(at, trace.RuleResponse, "", "RFC 9175 2.3; RFC 8613 B.1.2", fmt.Sprintf("4.01 with Echo %x under %s: request repeated once with that Echo and a new Partial IV", e.value, e.ctx), 0)
			echo, tok, mid = e, nil, nil
			continue
		}
		echo = nil
		final = resp
		payload = append(payload, resp.Payload...)
		v, err := resp.Options.GetUint32(optBlock2)
		if err != nil || v&8 == 0 || resp.Code != codes.Content {
			break
		}
		block = int(v>>4) + 1
		tok, mid = nil, nil // every block is an exchange of its own
	}
	res.Duration = time.Since(start)
	if sendErr == nil {
		res.Code = codeText(final.Code)
		res.Payload = string(payload)
		res.Layers = layers
		if st.Observe == "deregister" {
			res.Notifications = int(n.lastNotifications.Load())
		}
		n.delivery(at, trace.DirResponse, st.URI, st.Method, final.Code, payload)
	}
	for _, pin := range reused {
		l.showNonceReuse(at, pin)
	}
	res.OK, res.Problem = judge(st.Expect, res, sendErr)
	end := fmt.Sprintf("end: %s %q in %v", res.Code, res.Payload, res.Duration.Round(time.Microsecond))
	if sendErr != nil {
		end = "end: " + sendErr.Error()
	}
	l.publish(trace.Event{Type: trace.TypeExchange, Exchange: xch.id, Node: st.From, Note: end})
	if sendErr != nil && !(st.Expect != nil && (st.Expect.NoResponse || st.Expect.Refused && errors.Is(sendErr, errRefused))) {
		return res, sendErr
	}
	return res, nil
}

// judge compares the result with the step's expectations.
func judge(e *scenario.Expect, r Result, err error) (bool, string) {
	if e != nil && e.Refused {
		if errors.Is(err, errRefused) {
			return true, ""
		}
		if err != nil {
			return false, "expected the response refused, got " + err.Error()
		}
		return false, fmt.Sprintf("expected the response refused, got %s %q", r.Code, r.Payload)
	}
	if e != nil && e.NoResponse {
		if err != nil {
			return true, ""
		}
		return false, fmt.Sprintf("expected no response, got %s", r.Code)
	}
	if err != nil {
		return false, err.Error()
	}
	if e == nil {
		return true, ""
	}
	if e.Code != "" && e.Code != r.Code {
		return false, fmt.Sprintf("expected code %s, got %s %q", e.Code, r.Code, r.Payload)
	}
	if e.Payload != nil && *e.Payload != r.Payload {
		return false, fmt.Sprintf("expected payload %q, got %q", *e.Payload, r.Payload)
	}
	return true, ""
}

// roundTrip protects the request with the step's contexts (draft 2.3: the
// end-to-end layer first, then one per intermediary from the one nearest
// the destination back to the next hop), sends it and removes the layers
// from the response in reverse order (draft 2.6). block >= 0 asks for that
// inner Block2 block (RFC 8613 4.1.3.4.1: Block2 is end-to-end).
func (n *node) roundTrip(ctx context.Context, t *topology, st scenario.Step, plan *requestPlan, at where, xch *exchange, tok []byte, mid *uint16, block int, echo *echoAnswer) (message.Message, []string, error) {
	cfg := t.cfg[n.id]
	m := plan.base
	m.Options = append(message.Options(nil), m.Options...)
	if block >= 0 {
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optBlock2, uint32(block)<<4|6)
	}
	if limit := layerLimit(cfg); len(st.Contexts) > limit {
		n.decision(at, trace.RuleLayerLimit, "", "2.1", fmt.Sprintf("Outgoing request needs %d layers, limit %d: sending aborted", len(st.Contexts), limit), 0)
		return message.Message{}, nil, fmt.Errorf("nodes: %d layers exceed the layer limit %d of %s (draft 2.1): sending aborted", len(st.Contexts), limit, n.id)
	}
	var layers []clientLayer
	var peers []int
	for _, name := range st.Contexts {
		c, peer, err := t.contextFor(name, n.id)
		if err != nil {
			return message.Message{}, nil, err
		}
		x := slices.IndexFunc(plan.hops, func(h oscore.Hop) bool { return h.Name == peer })
		if x <= 0 {
			names := make([]string, len(plan.hops))
			for i, h := range plan.hops {
				names[i] = h.Name
			}
			return message.Message{}, nil, fmt.Errorf("nodes: context %s: its other endpoint %s is not on the path %s (does %s answer to the URI's host? give it \"authority\")", name, peer, strings.Join(names, " -> "), peer)
		}
		layers = append(layers, clientLayer{ctx: c, name: name, peer: x})
		peers = append(peers, x)
	}
	done := make([]bool, len(plan.late))
	var stack []string
	combinedPeer := 0
	for i := range layers {
		ly := &layers[i]
		addLate(&m, plan.late, ly.peer, done)
		if echo != nil && echo.ctx == ly.name {
			// Inner to the layer of the endpoint that asked (RFC 9175 2.3).
			m.Options, _, _ = m.Options.SetBytes(make([]byte, len(echo.value)), optEcho, echo.value)
		}
		route := oscore.RequestRoute(&m, plan.hops, 0, peers)
		if combinedPeer > 0 {
			route = route.CombinedEDHOC(combinedPeer) // the EDHOC option is for that endpoint (draft 2.2, RFC 9668)
		}
		onion := isOnionLayer(st, ly.peer)
		if onion {
			route = onionRoute(route, &m, ly.peer)
		}
		out, b, rep, err := oscore.ProtectRequest(ly.ctx, m, oscore.ProtectOptions{Rule: route.RuleFor(ly.peer),
			IncludeKIDContext: t.contexts[ly.name].cfg.SendIDContext})
		if err != nil {
			n.decision(at, trace.RuleOutgoingRequest, "", "2.3", fmt.Sprintf("Cannot apply layer %s: %v: sending aborted", ly.name, err), 0)
			return message.Message{}, nil, fmt.Errorf("nodes: %s: %w", ly.name, err)
		}
		stack = append(stack, ly.name)
		n.layer(at, i+1, trace.LayerApplied, trace.DirRequest, rep)
		if m3 := n.lab.takeCombined(ly.name); m3 != nil {
			// RFC 9668 3.2.1: message_3 before the ciphertext, and the EDHOC option.
			out.Payload = edhoc.CombinedPayload(m3, out.Payload)
			out.Options = out.Options.Add(message.Option{ID: edhoc.OptionEDHOC})
			combinedPeer = ly.peer
			n.decision(at, trace.RuleEDHOC, "message_3", "RFC 9668 3.2.1", fmt.Sprintf("Initiator for %s: message_3 goes before the OSCORE ciphertext of this first request, with the EDHOC option", ly.name), 0)
		}
		ly.b, m = b, out
		if onion {
			addr := addressProxy(&m, t, plan.hops[ly.peer].Name)
			n.decision(at, trace.RuleOutgoingRequest, "", "2.3, A.7", fmt.Sprintf("Onion layer %s for %s, which is not the next hop: the forward-proxy options %s acts on are inside it, and Proxy-Scheme coap with Uri-Host %q outside it address %s for the proxies before it",
				ly.name, plan.hops[ly.peer].Name, plan.hops[ly.peer].Name, addr, plan.hops[ly.peer].Name), 0)
		}
	}
	addLate(&m, plan.late, 0, done)
	xch.setStack(0, stack)
	if st.Type == "NON" {
		m.Type = message.NonConfirmable
	}

	if st.Observe == "register" && tok == nil {
		tok = n.lab.ids.token()
	}
	so := sendOpts{token: tok, mid: mid, uri: st.URI, register: st.Observe == "register"}
	var obs *clientObservation
	if st.Observe == "deregister" {
		// Deregister on the registration's socket with its token (RFC 7641 3.6).
		if obs = n.observationFor(st.URI); obs != nil {
			so.conn, so.token, so.obs = obs.pc, obs.token, obs
		}
	}
	resp, err := n.exchangeOnce(ctx, plan.hops[1].Name, m, at, xch, time.Hour, so)
	if obs != nil {
		n.lastNotifications.Store(int64(n.endObservation(obs)))
	}
	if err != nil {
		return message.Message{}, nil, err
	}
	if so.register {
		n.setObservationLayers(so.token, layers)
	}
	var removed []string
	for i := len(layers) - 1; i >= 0; i-- {
		if !resp.Options.HasOption(optOSCORE) {
			if err := n.missingLayers(at, resp.Code, layerNames(layers[:i+1]), len(removed), len(layers)); err != nil {
				return message.Message{}, nil, err
			}
			break
		}
		plain, rep, err := oscore.UnprotectResponse(layers[i].b, resp)
		if err != nil {
			n.decision(at, trace.RuleResponse, "", "RFC 8613 8.4", fmt.Sprintf("Response does not verify with %s: %v: stop silently", layers[i].name, err), 0)
			return message.Message{}, nil, fmt.Errorf("nodes: response not verified with %s: %w", layers[i].name, err)
		}
		n.layer(at, i+1, trace.LayerRemoved, trace.DirResponse, rep)
		resp = plain
		removed = append(removed, layers[i].name)
	}
	if len(removed) == len(layers) && len(layers) > 0 && resp.Options.HasOption(optOSCORE) {
		n.decision(at, trace.RuleResponse, "", "2.6", "OSCORE option still present after removing every layer the client added: stop", 0)
		return message.Message{}, nil, errors.New("nodes: response still protected after all layers were removed (draft 2.6)")
	}
	slices.Reverse(removed)
	return resp, removed, nil
}

// forwardProxyOptions are the options a forward-proxy acts on (draft 1.1,
// sets (a) and (b), with Uri-Host and Uri-Port; RFC 7252 5.7.2).
var forwardProxyOptions = []uint16{optURIHost, optURIPort, optProxyURI, optProxyCRI, optProxyScheme, optProxySchemeNumber}

// isOnionLayer: the layer towards path hop x is for a forward-proxy that is
// not the next hop (draft 2.3: "one layer per intermediary", A.7 Onion
// CoAP). The proxies before it must be able to reach it, and it must find,
// once its layer is off, where to forward.
func isOnionLayer(st scenario.Step, x int) bool {
	return x > 1 && x <= len(st.Route) && st.ProxyStyle != scenario.StyleReverse
}

// onionRoute makes the proxy at hop x the one consumer of the forward-proxy
// options the message carries: they are meant for it alone, so the rule of
// draft 2.2 (steps 2, 3, 5, 6, 7, 8) encrypts them in its layer instead of
// leaving them outer for a proxy before it.
func onionRoute(r oscore.Route, m *message.Message, x int) oscore.Route {
	for _, opt := range forwardProxyOptions {
		if m.Options.HasOption(message.OptionID(opt)) {
			r.SetConsumers(opt, x)
		}
	}
	return r
}

// addressProxy adds, outside an onion layer, the forward-proxy options that
// lead the proxies before node id to it (RFC 7252 5.10.2: Proxy-Scheme and
// Uri-Host): its authority, or its node id, which the lab resolves.
func addressProxy(m *message.Message, t *topology, id string) string {
	host := id
	if c := t.cfg[id]; c != nil && c.Authority != "" {
		host = c.Authority
	}
	m.Options, _, _ = m.Options.SetString(make([]byte, 4), optProxyScheme, "coap")
	m.Options, _, _ = m.Options.SetString(make([]byte, len(host)), optURIHost, host)
	return host
}
