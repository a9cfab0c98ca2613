package nodes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// fail builds an error response of this node with a diagnostic payload.
func (in *incoming) fail(code codes.Code, diag, reason, section string) *reply {
	r := &reply{err: true, reason: reason, section: section}
	r.msg = message.Message{Code: code}
	if diag != "" {
		r.msg.Payload = []byte(diag)
	}
	return r
}

// finish protects the answer with the layers removed from the request, in
// reverse order (draft 2.5): the last one removed is applied first. An
// error response gets only the layers removed successfully; an RFC 8613
// 8.2 error is never protected by the layer that failed, and carries an
// outer Max-Age 0.
func (in *incoming) finish(out *reply) *message.Message {
	if out.none {
		return nil
	}
	m := out.msg
	m.Options = append(message.Options(nil), m.Options...)
	if out.oscoreErr || out.outerAge0 {
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optMaxAge, 0)
		in.outerMaxAge = true
		if len(in.removed) > 0 {
			in.n.decision(in.at, trace.RuleResponse, "", "RFC 8613 4.1.3.1, 8.2", "Outer Max-Age 0 of the OSCORE error "+codeText(m.Code)+" stays outer in every layer re-applied, for the caches on the path", 0)
		}
	}
	if out.err {
		in.n.errorEvent(in.at, m.Code, string(m.Payload), out.reason, out.section, in.removedNames())
	}
	src := ownResponse
	switch {
	case out.err:
		src = ownError
	case out.relayed:
		src = relayedResponse
	}
	protected, err := in.protectResponse(m, src)
	if err != nil {
		var oe *oscore.Error
		code := codes.InternalServerError
		if errors.As(err, &oe) {
			code = oe.ResponseCode()
		}
		in.n.decision(in.at, trace.RuleResponse, "", "2.2, 2.5", fmt.Sprintf("Cannot protect the response: %v -> %s", err, codeText(code)), code)
		in.n.errorEvent(in.at, code, "", err.Error(), "2.2", in.removedNames())
		bad := message.Message{Code: code}
		if protected, err = in.protectResponse(bad, ownError); err != nil {
			return nil
		}
	}
	return &protected
}

// removedNames lists the removed layers innermost first.
func (in *incoming) removedNames() []string {
	var names []string
	for i := len(in.removed) - 1; i >= 0; i-- {
		names = append(names, in.removed[i].ctx.Name())
	}
	return names
}

// protectResponse applies the removed layers in reverse order of removal
// (draft 2.5), each with the option-protection rule of the response's path
// (draft 2.2) and, at a proxy, strict option recognition (5.02 otherwise).
// A relayed response came from the next hop, which added its options
// (draft 2.2 step 1 asks who did); otherwise this node is its origin. One
// decision says which layers went on, in which order, and which Partial IV
// rule each followed (draft 2.5, 2.5.1).
func (in *incoming) protectResponse(m message.Message, src responseSource) (message.Message, error) {
	if len(in.removed) == 0 {
		return m, nil
	}
	hops, sender, layers := in.responseHops(src == relayedResponse)
	var how []string
	for i := len(in.removed) - 1; i >= 0; i-- {
		rl := in.removed[i]
		route := oscore.ResponseRoute(&m, hops, sender, layers)
		opts := oscore.ProtectOptions{
			Rule:          route.RuleFor(layers[len(in.removed)-1-i]),
			StrictOptions: in.cfg.Role == scenario.RoleProxy,
			ResponsePIV:   in.responsePIV(rl.ctx.Name()),
			OuterMaxAge:   in.outerMaxAge,
		}
		out, rep, err := oscore.ProtectResponse(rl.b, m, opts)
		if err != nil {
			return message.Message{}, err
		}
		in.n.layer(in.at, rl.number, trace.LayerApplied, trace.DirResponse, rep)
		how = append(how, rl.ctx.Name()+" "+pivRule(out, opts.ResponsePIV))
		m = out
	}
	what, kind := "the layer it removed from the request: ", "Outgoing response"
	if len(how) > 1 {
		what = fmt.Sprintf("the %d layers it removed from the request, the last removed first: ", len(how))
	}
	if src == ownError {
		kind, what = "Outgoing error response", "only "+strings.TrimSuffix(what, "from the request: ")+"before the error: "
	}
	in.n.decision(in.at, trace.RuleResponse, "", "2.5, 2.5.1", kind+": "+in.n.id+" re-applies "+what+strings.Join(how, ", then "), 0)
	return m, nil
}

// responseSource says who made a response a node protects.
type responseSource int

const (
	ownResponse     responseSource = iota // the node's application, or a notification
	ownError                              // an error of the node (draft 2.5: only the layers removed)
	relayedResponse                       // the next hop's response, passed on
)

// pivRule says which Partial IV rule a protected response followed (RFC
// 8613 8.3, 4.1.3.5; draft 2.5.1): the request's nonce reused by the
// first response, or an own Partial IV.
func pivRule(m message.Message, configured bool) string {
	raw, _ := m.Options.GetBytes(optOSCORE)
	ov, err := oscore.ParseOption(raw)
	switch {
	case err != nil:
		return "(OSCORE option unreadable)"
	case ov.PartialIV == nil:
		return "(no Partial IV: first response, request nonce reused, RFC 8613 8.3)"
	case configured:
		return fmt.Sprintf("(own Partial IV %x: response_piv set, draft 2.5.1)", []byte(ov.PartialIV))
	}
	return fmt.Sprintf("(own Partial IV %x: not the first response to the request, RFC 8613 4.1.3.5, draft 2.5.1)", []byte(ov.PartialIV))
}

// responseHops is the response's path as the responder knows it, in the
// direction the response travels: for a relayed response the origin server
// (and the next hop it came from, when that is another proxy) first, then
// this node; then the node the request came from and the other endpoints of
// the removed layers, nearest first. It also returns this node's index and
// the hop index of each layer's other endpoint in the order the layers are
// applied (the last removed first).
func (in *incoming) responseHops(relayed bool) ([]oscore.Hop, int, []int) {
	// A path is a handful of nodes: a linear search beats a map here.
	hops := make([]oscore.Hop, 0, 4+len(in.removed))
	if relayed {
		origin := firstNonEmpty(in.target, in.nextHop, "origin server")
		hops = append(hops, oscore.Hop{Name: origin, Role: oscore.RoleServer})
		if in.nextHop != "" && in.nextHop != origin {
			hops = append(hops, oscore.Hop{Name: in.nextHop, Role: roleOf(in.t.cfg[in.nextHop])})
		}
	}
	sender := len(hops)
	hops = append(hops, oscore.Hop{Name: in.n.id, Role: roleOf(in.cfg)})
	indexOrAdd := func(id string) int {
		for i := sender; i < len(hops); i++ {
			if hops[i].Name == id {
				return i
			}
		}
		hops = append(hops, oscore.Hop{Name: id, Role: roleOf(in.t.cfg[id])})
		return len(hops) - 1
	}
	if in.from != "" {
		indexOrAdd(in.from)
	}
	layers := make([]int, len(in.removed))
	for i, rl := range in.removed {
		_, peer, _ := in.t.contextFor(rl.ctx.Name(), in.n.id)
		if peer == "" {
			peer = "peer of " + rl.ctx.Name()
		}
		layers[len(layers)-1-i] = indexOrAdd(peer)
	}
	return hops, sender, layers
}

func (in *incoming) responsePIV(ctx string) bool {
	if p, ok := in.t.contexts[ctx]; ok {
		return p.cfg.ResponsePIV
	}
	return false
}

// roleOf maps a node's configuration to its role on a path.
func roleOf(c *scenario.Node) oscore.Role {
	if c == nil {
		return oscore.RoleServer
	}
	switch c.Role {
	case scenario.RoleClient:
		return oscore.RoleClient
	case scenario.RoleProxy:
		if c.Forward {
			return oscore.RoleForwardProxy
		}
		return oscore.RoleReverseProxy
	}
	return oscore.RoleServer
}
