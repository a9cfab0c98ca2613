package nodes

import (
	"errors"
	"fmt"

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
	m := out.msg
	m.Options = append(message.Options(nil), m.Options...)
	if out.oscoreErr {
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optMaxAge, 0)
	}
	if out.err {
		in.n.errorEvent(in.at, m.Code, string(m.Payload), out.reason, out.section, in.removedNames())
	}
	protected, err := in.protectResponse(m)
	if err != nil {
		var oe *oscore.Error
		code := codes.InternalServerError
		if errors.As(err, &oe) {
			code = oe.ResponseCode()
		}
		in.n.decision(in.at, trace.RuleResponse, "", "2.2, 2.5", fmt.Sprintf("Cannot protect the response: %v -> %s", err, codeText(code)), code)
		in.n.errorEvent(in.at, code, "", err.Error(), "2.2", in.removedNames())
		bad := message.Message{Code: code}
		if protected, err = in.protectResponse(bad); err != nil {
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
func (in *incoming) protectResponse(m message.Message) (message.Message, error) {
	if len(in.removed) == 0 {
		return m, nil
	}
	hops, layers := in.responseHops()
	for i := len(in.removed) - 1; i >= 0; i-- {
		rl := in.removed[i]
		route := oscore.ResponseRoute(&m, hops, 0, layers)
		opts := oscore.ProtectOptions{
			Rule:          route.RuleFor(layers[len(in.removed)-1-i]),
			StrictOptions: in.cfg.Role == scenario.RoleProxy,
			ResponsePIV:   in.responsePIV(rl.ctx.Name()),
		}
		out, rep, err := oscore.ProtectResponse(rl.b, m, opts)
		if err != nil {
			return message.Message{}, err
		}
		in.n.layer(in.at, max(len(in.stack)-i, 0), trace.LayerApplied, trace.DirResponse, rep)
		m = out
	}
	return m, nil
}

// responseHops is the response's path as the responder knows it: itself,
// then the other endpoints of the removed layers, nearest first, and the
// hop index of each layer's other endpoint in the order the layers are
// applied (the last removed first).
func (in *incoming) responseHops() ([]oscore.Hop, []int) {
	// A path is a handful of nodes: a linear search beats a map here.
	hops := make([]oscore.Hop, 1, 2+len(in.removed))
	hops[0] = oscore.Hop{Name: in.n.id, Role: roleOf(in.cfg)}
	indexOrAdd := func(id string) int {
		for i := range hops {
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
	return hops, layers
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
