package nodes

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// echoAnswer is the Echo value a client repeats a request with, and the
// layer it goes in: the one of the endpoint that asked (RFC 9175 2.3).
type echoAnswer struct {
	ctx   string
	value []byte
}

// echoRequested: a 4.01 that carries an Echo option inside a layer the
// client removed asks for the request again with that Echo (RFC 9175 2.3,
// RFC 8613 B.1.2). An Echo in a response nobody authenticated is ignored:
// anyone on the path could have added it. layers lists the removed
// layers innermost first; the innermost is the asking endpoint's.
func echoRequested(resp message.Message, layers []string) *echoAnswer {
	if resp.Code != codes.Unauthorized || len(layers) == 0 {
		return nil
	}
	v, err := resp.Options.GetBytes(optEcho)
	if err != nil || len(v) == 0 {
		return nil
	}
	return &echoAnswer{ctx: layers[0], value: append([]byte(nil), v...)}
}

// echoGate is a server's freshness state for one of its contexts (RFC 8613
// B.1.2): need says the context has no replay state, as after a start
// without saved state, so no request can be told fresh from a replay
// until one comes back with the Echo value last sent in challenge.
type echoGate struct {
	mu        sync.Mutex
	need      bool
	challenge []byte
}

// gate is node's echo gate for context name, or nil.
func (t *topology) gate(name, node string) *echoGate {
	p, ok := t.contexts[name]
	if !ok {
		return nil
	}
	switch node {
	case p.cfg.A.Node:
		return &p.gates[0]
	case p.cfg.B.Node:
		return &p.gates[1]
	}
	return nil
}

// checkFreshness runs after a layer came off a request (RFC 8613 B.1.2,
// RFC 9175 2.4): a context without replay state takes the request only if
// it carries the Echo value this node sent; the replay window then starts
// at the request's sequence number (everything below counts as received).
// Any other request is not processed and gets a 4.01 with a new Echo, in
// the layer just removed.
func (in *incoming) checkFreshness(b *oscore.Binding, m *message.Message, seq int64) *reply {
	g := in.t.gate(b.Ctx.Name(), in.n.id)
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.need {
		return nil
	}
	const section = "RFC 8613 B.1.2; RFC 9175 2.4"
	if v, err := m.Options.GetBytes(optEcho); err == nil && len(g.challenge) > 0 && bytes.Equal(v, g.challenge) && seq >= 0 {
		g.need, g.challenge = false, nil
		b.Ctx.RestoreReplay(oscore.ReplayState{Highest: seq})
		m.Options = m.Options.Remove(optEcho)
		in.n.decision(in.at, trace.RuleSequence, "", section, fmt.Sprintf("Echo %x verified: the request is fresh; the replay window of %s now starts at sequence number %d", v, b.Ctx.Name(), seq), 0)
		return nil
	}
	g.challenge = in.n.lab.ids.token()
	in.n.decision(in.at, trace.RuleSequence, "", section, fmt.Sprintf("%s has no replay state (started without saved state): request not processed -> 4.01 with Echo %x", b.Ctx.Name(), g.challenge), codes.Unauthorized)
	r := in.fail(codes.Unauthorized, "", "freshness unknown: Echo requested", section)
	r.msg.Options = message.Options{{ID: optEcho, Value: append([]byte(nil), g.challenge...)}}
	return r
}
