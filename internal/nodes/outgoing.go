package nodes

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// proxyTimeout bounds how long a proxy waits for the next hop.
const proxyTimeout = 4 * time.Second

// forwardRequest sends the request on to the next hop (draft 2.3): Hop-Limit
// first (RFC 8768 3 with draft 3), then the layer towards the next hop if
// the node shares a context with it, a token of its own for the new leg
// (RFC 8613 8: responses are matched per leg), and on the way back the
// proxy removes exactly the layers it added (draft 2.6).
func (in *incoming) forwardRequest() *reply {
	m := in.req
	m.Options = append(message.Options(nil), m.Options...)
	var added []uint16
	if out := in.hopLimit(&m, &added); out != nil {
		return out
	}

	var layer *oscore.Context
	ctxName := in.cfg.NextHopContexts[in.nextHop]
	if ctxName != "" {
		c, _, err := in.t.contextFor(ctxName, in.n.id)
		if err != nil {
			in.n.decision(in.at, trace.RuleOutgoingRequest, "", "2.3", err.Error()+" -> 5.00", codes.InternalServerError)
			return in.fail(codes.InternalServerError, "", err.Error(), "2.3")
		}
		layer = c
		if limit := layerLimit(in.cfg); limit < 1 {
			in.n.decision(in.at, trace.RuleLayerLimit, "", "2.1", "Outgoing request needs 1 layer, limit 0: sending aborted", codes.InternalServerError)
			return in.fail(codes.InternalServerError, "", "layer limit", "2.1")
		}
	}

	// The next leg's layer stack, for numbering.
	var stack []string
	if in.stack != nil {
		stack = append(stack, in.stack[:max(len(in.stack)-len(in.removed), 0)]...)
	} else if m.Options.HasOption(optOSCORE) {
		stack = []string{""} // a peer's layers, not on record: counted as one (layerNumber)
	}
	var binding *oscore.Binding
	if layer != nil {
		hops := []oscore.Hop{{Name: firstNonEmpty(in.from, "client"), Role: roleOf(in.t.cfg[in.from])}, {Name: in.n.id, Role: in.selfRole()}}
		hops = append(hops, oscore.Hop{Name: in.nextHop, Role: roleOf(in.t.cfg[in.nextHop])})
		if in.target != "" && in.target != in.nextHop {
			hops = append(hops, oscore.Hop{Name: in.target, Role: oscore.RoleServer})
		}
		route := oscore.RequestRoute(&m, hops, 1, []int{2}, added...)
		out, b, rep, err := oscore.ProtectRequest(layer, m, oscore.ProtectOptions{Rule: route.RuleFor(2), StrictOptions: true,
			IncludeKIDContext: in.t.contexts[ctxName].cfg.SendIDContext})
		if err != nil {
			var oe *oscore.Error
			code := codes.InternalServerError
			if errors.As(err, &oe) {
				code = oe.Code
			}
			in.n.decision(in.at, trace.RuleOptionProtection, "", "2.2", fmt.Sprintf("Cannot protect the request towards %s with %s: %v -> %s", in.nextHop, ctxName, err, codeText(code)), code)
			return in.fail(code, "", err.Error(), "2.2")
		}
		stack = append(stack, ctxName)
		in.n.layer(where{in.at.ex, in.at.hop + 1}, len(stack), trace.LayerApplied, trace.DirRequest, rep)
		in.n.decision(where{in.at.ex, in.at.hop + 1}, trace.RuleOutgoingRequest, "", "2.3", "Layer "+ctxName+" added towards next hop "+in.nextHop, 0)
		m, binding = out, b
	} else {
		in.n.decision(where{in.at.ex, in.at.hop + 1}, trace.RuleOutgoingRequest, "", "2.3", in.noLayerReason(), 0)
	}
	in.xch.setStack(in.at.hop+1, stack)

	// Observe through the proxy (RFC 7641 5; the outer Observe is visible,
	// RFC 8613 4.1.3.5): a registration keeps its upstream socket for the
	// notifications, a deregistration goes out on it with its token.
	so := sendOpts{}
	var relayObs *clientObservation
	if v, err := in.req.Options.GetUint32(optObserve); err == nil && in.cc != nil {
		downKey := in.cc.RemoteAddr().String() + "/" + hex.EncodeToString(in.req.Token)
		if v == 0 {
			so.register, so.token = true, in.n.lab.ids.token()
			if pt := in.xch.pinnedToken(in.at.hop + 1); pt != nil {
				so.token = pt
			}
			so.relay = &relay{in: in, cc: in.cc, token: append([]byte(nil), in.req.Token...), own: binding, downKey: downKey}
		} else if relayObs = in.n.relayFor(downKey); relayObs != nil {
			so.conn, so.token, so.obs = relayObs.pc, relayObs.token, relayObs
		}
	}
	resp, err := in.n.exchangeOnce(in.n.ctx, in.nextHop, m, where{in.at.ex, in.at.hop + 1}, in.xch, proxyTimeout, so)
	if relayObs != nil {
		in.n.endObservation(relayObs)
	}
	if err != nil {
		code := codes.BadGateway
		if errors.Is(err, context.DeadlineExceeded) {
			code = codes.GatewayTimeout
		}
		in.n.decision(in.at, trace.RuleResponse, "", "2.6", fmt.Sprintf("No response from %s: %v -> %s", in.nextHop, err, codeText(code)), code)
		return in.fail(code, "", err.Error(), "RFC 7252 5.9.3")
	}
	age, ageErr := resp.Options.GetUint32(optMaxAge)
	outerAge0 := ageErr == nil && age == 0 // before the proxy's layer comes off: outer
	if binding != nil {
		if !resp.Options.HasOption(optOSCORE) {
			// Never relay it: wrapped in the downstream layers it would
			// look authenticated by the whole chain (see unprotectedUpstream).
			return in.unprotectedUpstream(resp.Code, ctxName)
		} else {
			plain, rep, err := oscore.UnprotectResponse(binding, resp)
			if err != nil {
				in.n.decision(in.at, trace.RuleResponse, "", "2.6", fmt.Sprintf("Response from %s does not verify with %s: %v -> 5.02", in.nextHop, ctxName, err), codes.BadGateway)
				return in.fail(codes.BadGateway, "", err.Error(), "RFC 8613 8.4")
			}
			in.n.layer(where{in.at.ex, in.at.hop + 1}, len(stack), trace.LayerRemoved, trace.DirResponse, rep)
			resp = plain
		}
	}
	out := message.Message{Code: resp.Code, Options: resp.Options, Payload: resp.Payload}
	if so.relay != nil {
		so.relay.numberOuterObserve(in.n, &out)
	}
	// An OSCORE error keeps its outer Max-Age 0 for the caches of the next
	// legs too (RFC 8613 4.1.3.1, 8.2).
	return &reply{msg: out, relayed: true, outerAge0: outerAge0 && unprotectedError(out.Code)}
}

// unprotectedUpstream answers a response from the next hop that lacks the
// layer ctxName the proxy added: RFC 8613 8.4 and draft 2.6 make the proxy,
// as the client of its upstream leg, stop processing it; as the server of
// the downstream leg it still owes an answer, and RFC 7252 5.9.3.3 names
// the one for an invalid response from upstream: 5.02 Bad Gateway, sent
// with the layers the proxy removed (draft 2.5), so the previous hop
// learns at once, authenticated by the proxy, instead of waiting for a
// timeout (docs/architecture.md, "Responses that lack a layer").
func (in *incoming) unprotectedUpstream(code codes.Code, ctxName string) *reply {
	why := fmt.Sprintf("response %s from %s lacks the layer %s that %s added", codeText(code), in.nextHop, ctxName, in.n.id)
	in.n.decision(in.at, trace.RuleResponse, "", "RFC 8613 8.4; draft 2.6", "Response "+codeText(code)+" from "+in.nextHop+" lacks layer "+ctxName+" that "+in.n.id+" added: not relayed -> 5.02 Bad Gateway", codes.BadGateway)
	return in.fail(codes.BadGateway, "Unprotected response from next hop", why, "RFC 8613 8.4; draft 2.6")
}

func (in *incoming) selfRole() oscore.Role {
	if in.forward {
		return oscore.RoleForwardProxy
	}
	return oscore.RoleReverseProxy
}

// hopLimit applies RFC 8768 section 3 (Hop-Limit is Class U, draft 3): a
// value 0 is a bad request; a request that would leave with 0 gets 5.08
// Hop Limit Reached; a missing option is inserted with the configured value
// (default 16), unless the proxy is configured to insert none (hop_limit -1:
// the draft's section 3 says the first proxy "can include it", and its
// Appendix B figures show none).
func (in *incoming) hopLimit(m *message.Message, added *[]uint16) *reply {
	at := where{in.at.ex, in.at.hop}
	v, err := m.Options.GetUint32(optHopLimit)
	if err != nil {
		hl := in.cfg.HopLimit
		switch {
		case hl == scenario.NoHopLimit:
			return nil
		case hl <= 0:
			hl = scenario.DefaultHopLimit
		}
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optHopLimit, uint32(hl))
		*added = append(*added, optHopLimit)
		in.n.decision(at, trace.RuleHopLimit, "", "RFC 8768 3", "No Hop-Limit: inserted "+strconv.Itoa(int(hl)), 0)
		return nil
	}
	if v == 0 || v > 255 {
		in.n.decision(at, trace.RuleHopLimit, "", "RFC 8768 3", fmt.Sprintf("Hop-Limit %d is invalid -> 4.00", v), codes.BadRequest)
		return in.fail(codes.BadRequest, "Bad Hop-Limit", "Hop-Limit out of range", "RFC 8768 3")
	}
	if v == 1 {
		in.n.decision(at, trace.RuleHopLimit, "", "RFC 8768 3", "Hop-Limit 1 would reach 0 -> 5.08 Hop Limit Reached", codes.Code(0xa8))
		r := in.fail(codes.Code(0xa8), firstNonEmpty(in.cfg.Authority, in.n.id), "Hop Limit Reached", "RFC 8768 3")
		return r
	}
	m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optHopLimit, v-1)
	in.n.decision(at, trace.RuleHopLimit, "", "RFC 8768 3", "Hop-Limit "+strconv.FormatUint(uint64(v), 10)+" -> "+strconv.FormatUint(uint64(v-1), 10), 0)
	return nil
}

// exchangeOnce sends request m to node `to` through the link between them
// and waits for the response, on a client socket of its own (one exchange
// per socket at a time). The token and MID are pinned from the exchange
// when the scenario says so, and registered for the link's correlation.
func (n *node) exchangeOnce(parent context.Context, to string, m message.Message, at where, xch *exchange, timeout time.Duration, so sendOpts) (message.Message, error) {
	tok, pinMID := so.token, so.mid
	link, err := n.lab.linkBetween(n.id, to)
	if err != nil {
		return message.Message{}, err
	}
	p, err := n.pool(link)
	if err != nil {
		return message.Message{}, err
	}
	pc := so.conn
	if pc == nil {
		if pc, err = p.get(); err != nil {
			return message.Message{}, err
		}
	}
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	req := pc.cc.AcquireMessage(ctx)
	defer pc.cc.ReleaseMessage(req)
	if tok == nil {
		if pt := xch.pinnedToken(at.hop); pt != nil {
			tok = pt
		} else {
			tok = n.lab.ids.token()
		}
	}
	mid, pinned := xch.pinnedMID(at.hop)
	if pinMID != nil {
		mid, pinned = *pinMID, true
	}
	if !pinned {
		mid = n.lab.ids.mid()
	}
	req.SetCode(m.Code)
	req.SetToken(tok)
	req.SetMessageID(int32(mid))
	req.SetType(message.Confirmable)
	if m.Type == message.NonConfirmable {
		req.SetType(message.NonConfirmable)
	}
	req.ResetOptionsTo(m.Options)
	if len(m.Payload) > 0 {
		req.SetBody(bytes.NewReader(m.Payload))
	}
	n.lab.reg.registerToken(link.id, tok, corr{Exchange: at.ex, Hop: at.hop})
	n.lab.reg.registerMID(link.id, mid, corr{Exchange: at.ex, Hop: at.hop})
	n.sent.Add(1)
	if so.obs != nil {
		out, err := n.requestOnObservation(ctx, pc, req, so.obs)
		if err != nil {
			return message.Message{}, exchangeErr(n.id, to, ctx, parent, err)
		}
		n.received.Add(1)
		return out, nil
	}
	resp, err := pc.cc.Do(req)
	if err == nil && so.register && so.relay != nil {
		n.keepRelay(tok, pc, p, at, so.relay)
	} else if err == nil && so.register {
		n.keepObservation(so.uri, tok, pc, p, at)
	} else if so.conn != nil {
		// the observation's socket: its owner releases it
	} else if err != nil {
		p.put(pc, false)
	}
	if err != nil {
		return message.Message{}, exchangeErr(n.id, to, ctx, parent, err)
	}
	out, err := copyMessage(resp)
	pc.cc.ReleaseMessage(resp)
	if !so.register && so.conn == nil {
		p.put(pc, err == nil)
	}
	n.received.Add(1)
	return out, err
}

// exchangeErr names the leg of a failed exchange; the leg's own timeout
// (not the caller's cancellation) reads as context.DeadlineExceeded.
func exchangeErr(from, to string, ctx, parent context.Context, err error) error {
	if ctx.Err() != nil && parent.Err() == nil {
		return fmt.Errorf("nodes: %s -> %s: %w", from, to, context.DeadlineExceeded)
	}
	return fmt.Errorf("nodes: %s -> %s: %v", from, to, err)
}

// sendOpts pins the first leg and ties a request to an observation.
type sendOpts struct {
	token    []byte             // nil: pinned by the exchange or random
	mid      *uint16            // nil: pinned by the exchange or go-coap's
	register bool               // Observe registration: keep the socket for the notifications
	conn     *pooledConn        // send on this socket (deregistration on the registration's socket)
	obs      *clientObservation // the observation whose token and socket conn are: its notifications may cross the request
	uri      string
	relay    *relay // proxy: where the notifications of a registration go
}

// noLayerReason says why a forwarded request gets no layer of this proxy:
// it shares no context with the next hop, or it shares some that
// next_hop_contexts does not name for that hop (draft 2.3 leaves the choice
// to the proxy's configuration).
func (in *incoming) noLayerReason() string {
	var shared []string
	for name, p := range in.t.contexts {
		if c, peer := p.side(in.n.id); c != nil && peer == in.nextHop {
			shared = append(shared, name)
		}
	}
	if len(shared) == 0 {
		return fmt.Sprintf("No context shared with next hop %s: forwarded without a new layer", in.nextHop)
	}
	slices.Sort(shared)
	return fmt.Sprintf("Shares %s with next hop %s, but next_hop_contexts names no context for %s: forwarded without a new layer", strings.Join(shared, ", "), in.nextHop, in.nextHop)
}
