package nodes

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"

	"oscore-lab/internal/trace"
)

// Outside peers. A lab node's server socket also answers addresses that
// are no link's relay socket: an aiocoap or libcoap client pointed at the
// node, the conformance suite's sockets. Links record their own traffic;
// the node's server records the rest (udpserver.Config.Traffic), each
// datagram once, as it is read or just before it is written, so the
// trace keeps the order the node saw. The peer appears in the trace under
// its address ("127.0.0.1:40613"), a lifeline of its own.

// outsideLink is the registry's name for the path between a node and an
// outside address; requestMIDs is the peer's Message ID space on it (the
// node's own, for its Confirmable notifications, is outsideLink's).
func outsideLink(node, peer string) string { return node + "|" + peer }

func requestMIDs(link string) string { return link + "<" }

// outsideTraffic records a datagram between n's server socket and peer
// (in: peer to n) when peer is outside the lab. A request that is not a
// retransmission starts an exchange, hop 0; everything else joins the
// exchange its token or Message ID names.
func (n *node) outsideTraffic(in bool, peer string, d []byte) {
	if _, ok := n.lab.peers.Load(peer); ok {
		return
	}
	b := append([]byte(nil), d...)
	h := parseHeader(b)
	link := outsideLink(n.id, peer)
	name := firstNonEmpty(n.lab.topo.Load().outsideNode(peer), peer)
	ev := trace.Event{Type: trace.TypeDatagram, Bytes: b, Dir: h.dir(), From: name, To: n.id}
	if !in {
		ev.From, ev.To = n.id, name
	}
	var c corr
	var ok, started bool
	if in && ev.Dir == trace.DirRequest {
		c, started = n.lab.reg.outsideRequest(link, requestMIDs(link), h, func() int { return n.lab.exchanges.start(nil, nil).id })
		ok = true
	} else if c, ok = n.lab.reg.lookup(link, h); !ok && !in && len(h.token) == 0 {
		c, ok = n.lab.reg.lookup(requestMIDs(link), h) // an empty ACK or RST to a request
	}
	if started {
		who := "outside peer " + peer
		if name != peer {
			who = name + " (outside peer " + peer + ")"
		}
		n.lab.publish(trace.Event{Type: trace.TypeExchange, Exchange: c.Exchange, Node: name,
			Note: fmt.Sprintf("start: %s from %s to %s", codes.Code(h.code).String(), who, n.id)})
	}
	if ok {
		ev.Exchange, ev.Hop = c.Exchange, c.Hop
	}
	n.lab.publish(ev)
}

// outsidePeer is the previous hop of a request from an address that is no
// link's relay socket: the external node the address names, if any, and
// the registry path its exchange was recorded under.
func (n *node) outsidePeer(addr string) peerRef {
	return peerRef{node: n.lab.topo.Load().outsideNode(addr), link: outsideLink(n.id, addr), outside: addr}
}

// externalSource is a source an external node's datagrams come from.
type externalSource struct {
	src  scenario.Source
	node string
}

// externalSources lists, in scenario order, each external node's addr (the
// address it was resolved to) and its sources.
func externalSources(t *topology) []externalSource {
	var out []externalSource
	for _, id := range t.order {
		cfg := t.cfg[id]
		if cfg.Role != scenario.RoleExternal {
			continue
		}
		if n := t.nodes[id]; n != nil && n.addr != nil {
			if ap := n.addr.AddrPort(); ap.IsValid() {
				a := ap.Addr().Unmap()
				out = append(out, externalSource{scenario.Source{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: ap.Port()}, id})
			}
		}
		for _, s := range cfg.Sources {
			if src, err := scenario.ParseSource(s); err == nil {
				out = append(out, externalSource{src, id})
			}
		}
	}
	return out
}

// outsideNode names the external node a datagram from addr comes from (its
// addr or one of its sources contains addr; the most specific source wins,
// then scenario order), or "" (draft 2.4.1: the previous hop's identity
// that a source-based policy keys on).
func (t *topology) outsideNode(addr string) string {
	if len(t.externals) == 0 {
		return ""
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return ""
	}
	best, spec := "", -1
	for _, e := range t.externals {
		if e.src.Contains(ap) && e.src.Specificity() > spec {
			best, spec = e.node, e.src.Specificity()
		}
	}
	return best
}

// namePeer says who the previous hop is when it is outside the lab: the
// external node its address names, or, for a node with a source-based
// policy, that no node does yet (the context of its first layer may).
func (in *incoming) namePeer() {
	switch {
	case in.outside == "":
	case in.from != "":
		in.n.decision(in.at, trace.RulePolicy, "", "2.4.1", fmt.Sprintf("Previous hop: outside peer %s is external node %s (its addr or sources)", in.outside, in.from), 0)
	case len(in.cfg.SourcePolicy) > 0:
		in.n.decision(in.at, trace.RulePolicy, "", "2.4.1", fmt.Sprintf("Previous hop: outside peer %s, named by no external node's addr or sources; only a context an external node holds can name it", in.outside), 0)
	}
}

// contextHolder is the external node holding the other side of context ctx
// from node, or "".
func (t *topology) contextHolder(ctx, node string) string {
	p, ok := t.contexts[ctx]
	if !ok {
		return ""
	}
	other := p.cfg.A.Node
	if other == node {
		other = p.cfg.B.Node
	}
	if c := t.cfg[other]; c != nil && c.Role == scenario.RoleExternal {
		return other
	}
	return ""
}

// namedBy reports whether context ctx may remove the first layer of an
// unnamed outside peer under the source-based policy: the context's other
// side is an external node whose policy entry lists it. Holding the context
// is then what identifies the peer (draft 2.4.1).
func (in *incoming) namedBy(ctx string) bool {
	if in.outside == "" || in.from != "" || len(in.removed) > 0 {
		return false
	}
	x := in.t.contextHolder(ctx, in.n.id)
	return x != "" && slices.Contains(in.cfg.SourcePolicy[x], ctx)
}

// nameByContext names an unnamed outside peer after its first layer came
// off with ctx, when an external node holds the other side of ctx.
func (in *incoming) nameByContext(ctx string) {
	if in.outside == "" || in.from != "" || len(in.removed) != 1 {
		return
	}
	if x := in.t.contextHolder(ctx, in.n.id); x != "" {
		in.from = x
		in.n.decision(in.at, trace.RulePolicy, "", "2.4.1", fmt.Sprintf("Previous hop: outside peer %s is external node %s, which holds the other side of %s", in.outside, x, ctx), 0)
	}
}
