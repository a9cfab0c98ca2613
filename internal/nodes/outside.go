package nodes

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message/codes"

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
	ev := trace.Event{Type: trace.TypeDatagram, Bytes: b, Dir: h.dir(), From: peer, To: n.id}
	if !in {
		ev.From, ev.To = n.id, peer
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
		n.lab.publish(trace.Event{Type: trace.TypeExchange, Exchange: c.Exchange, Node: peer,
			Note: fmt.Sprintf("start: %s from outside peer %s to %s", codes.Code(h.code).String(), peer, n.id)})
	}
	if ok {
		ev.Exchange, ev.Hop = c.Exchange, c.Hop
	}
	n.lab.publish(ev)
}

// outsidePeer is the previous hop of a request from an address that is no
// link's relay socket: the registry path its exchange was recorded under.
func (n *node) outsidePeer(addr string) peerRef {
	return peerRef{link: outsideLink(n.id, addr)}
}
