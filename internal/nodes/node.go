package nodes

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"oscore-lab/internal/nodes/udpserver"
	"oscore-lab/internal/scenario"
	"oscore-lab/oscore/coaposcore"
)

// node is one CoAP endpoint: its own UDP socket on 127.0.0.1 and a go-coap
// server whose catch-all handler runs the draft's incoming-request steps
// (OSCORE must come off before any routing, so no mux). External nodes
// have no socket: they are an address outside the process.
type node struct {
	id   string
	lab  *Lab
	addr *net.UDPAddr

	listen *coapNet.UDPConn
	srv    *udpserver.Server
	ctx    context.Context // cancelled when the node stops: in-flight exchanges fail
	cancel context.CancelFunc

	poolsMu sync.Mutex
	pools   map[string]*connPool // by target address (a link port)

	observers     observerSet
	groupForwards groupForwardSet // group requests whose responses it relays (groupproxy.go)
	groupPortsMu  sync.Mutex
	groupPorts    map[string]*groupPort // destination address -> the socket group requests leave from
	app           serverApp

	lastNotifications atomic.Int64 // notifications of the observation the last deregistration ended

	received, sent, errs atomic.Uint64
	stopOnce             sync.Once
}

func startNode(l *Lab, id string, cfg *scenario.Node) (*node, error) {
	n := &node{id: id, lab: l, pools: map[string]*connPool{}}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if cfg.Role == scenario.RoleExternal {
		a, err := net.ResolveUDPAddr("udp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("nodes: node %s: addr %q: %v", id, cfg.Addr, err)
		}
		n.addr = a
		return n, nil
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	lc, err := coapNet.NewListenUDP("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("nodes: node %s: listen %s: %v", id, listen, err)
	}
	n.listen = lc
	n.addr = lc.LocalAddr().(*net.UDPAddr)
	n.observers.init() // before the first datagram reaches n.handle
	n.srv = newServer(lc, n.handle, n.outsideTraffic)
	go n.srv.Serve()
	return n, nil
}

// cfg is the node's configuration in the current topology.
func (n *node) cfg() *scenario.Node {
	if c, ok := n.lab.topo.Load().cfg[n.id]; ok {
		return c
	}
	return &scenario.Node{ID: n.id}
}

// stop frees the socket and fails every exchange in flight.
func (n *node) stop() {
	n.stopOnce.Do(func() {
		n.cancel()
		n.observers.stopAll()
		n.groupForwards.stopAll()
		n.closeGroupPorts()
		if n.srv != nil {
			n.srv.Stop()
		}
		if n.listen != nil {
			n.listen.Close()
		}
		n.poolsMu.Lock()
		pools := n.pools
		n.pools = map[string]*connPool{}
		n.poolsMu.Unlock()
		for _, p := range pools {
			p.close()
		}
	})
}

// pool returns the client connections towards link, through the port
// the link has for this node.
func (n *node) pool(link *Link) (*connPool, error) {
	if n.ctx.Err() != nil {
		return nil, fmt.Errorf("nodes: node %s stopped", n.id)
	}
	key := link.addrFor(n.id).String()
	n.poolsMu.Lock()
	defer n.poolsMu.Unlock()
	p, ok := n.pools[key]
	if !ok {
		p = newConnPool(n, link, key)
		n.pools[key] = p
	}
	return p, nil
}

// handle is the catch-all go-coap handler: every request of every peer
// that passed the message layer (rejectAtMessageLayer), and every ACK or
// Reset that matched nothing of go-coap's.
func (n *node) handle(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
	n.received.Add(1)
	switch r.Type() {
	case message.Reset:
		// A Reset in reply to a notification ends its observation
		// (RFC 7641 3.6); any other is ignored (RFC 7252 4.2).
		n.observers.resetBy(w.Conn().RemoteAddr().String(), uint16(r.MessageID()))
		n.stopGroupOnReset(w.Conn().RemoteAddr().String(), uint16(r.MessageID()))
		return
	case message.Acknowledgement:
		return // unmatched: silently ignored (RFC 7252 4.2)
	}
	if !knownMethod(r.Code()) {
		// RFC 7252 5.8: an unrecognized method gets 4.05 (the
		// message layer let only request codes through).
		n.respond(w, r.Type(), &message.Message{Code: codes.MethodNotAllowed})
		return
	}
	req, err := copyMessage(r)
	if err != nil {
		return
	}
	peer, ok := n.lab.peerOf(w.Conn().RemoteAddr())
	if !ok {
		peer = n.outsidePeer(w.Conn().RemoteAddr().String())
	}
	in := newIncoming(n, w.Conn(), req, peer)
	out := in.run()
	if out == nil {
		return
	}
	n.respond(w, r.Type(), out)
}

// respond answers a request: piggybacked on the ACK of a CON request
// (RFC 7252 5.2.1), as a NON message of its own to a NON request (RFC 7252
// 5.2.3: go-coap would send it Confirmable), with the lab's seeded MID
// (ids.go) so that a run answers with the same MIDs every time.
func (n *node) respond(w *responsewriter.ResponseWriter[*udpClient.Conn], typ message.Type, m *message.Message) {
	n.sent.Add(1)
	if typ != message.NonConfirmable {
		writeResponse(w, m)
		return
	}
	cc := w.Conn()
	pm := cc.AcquireMessage(n.ctx)
	defer cc.ReleaseMessage(pm)
	setPooled(pm, message.NonConfirmable, n.lab.ids.mid(), w.Message().Token(), m)
	cc.Session().WriteMessage(pm)
}

// setPooled makes pm a message of type typ with Message ID mid and token
// tok carrying m's code, options and payload.
func setPooled(pm *pool.Message, typ message.Type, mid uint16, tok []byte, m *message.Message) {
	pm.SetToken(tok)
	pm.SetType(typ)
	pm.SetMessageID(int32(mid))
	coaposcore.SetResponse(pm, *m)
}

// writeResponse puts m into go-coap's response. It goes out piggybacked on
// the ACK of a CON request.
func writeResponse(w *responsewriter.ResponseWriter[*udpClient.Conn], m *message.Message) {
	coaposcore.SetResponse(w.Message(), *m)
}

// copyMessage detaches a pooled go-coap message (stack-notes 2.4 item 8).
func copyMessage(r *pool.Message) (message.Message, error) {
	body, err := readBody(r)
	if err != nil {
		return message.Message{}, err
	}
	m := message.Message{Code: r.Code(), Token: append(message.Token(nil), r.Token()...),
		Type: r.Type(), MessageID: r.MessageID(), Payload: body}
	opts := r.Options()
	m.Options = make(message.Options, len(opts))
	for i, o := range opts {
		m.Options[i] = message.Option{ID: o.ID, Value: append([]byte(nil), o.Value...)}
	}
	return m, nil
}

// readBody copies the payload with one exact-size allocation (go-coap's
// ReadBody allocates at least 1 KiB per message).
func readBody(r *pool.Message) ([]byte, error) {
	body := r.Body()
	if body == nil {
		return nil, nil
	}
	size, err := body.Seek(0, io.SeekEnd)
	if err != nil || size == 0 {
		return nil, err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, err
	}
	return b, nil
}
