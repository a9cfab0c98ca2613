package nodes

import (
	"fmt"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"oscore-lab/internal/nodes/udpserver"
)

// Transmission parameters (RFC 7252 4.8). ACK_TIMEOUT is 2 s in RFC 7252;
// every hop between lab nodes is loopback, so a shorter timeout keeps a
// lost datagram demo snappy while the retransmission logic stays RFC
// 7252's (4.8.1 lets an application environment choose its values);
// Lab.SetAckTimeout changes it (a headless run takes 2 s).
// Requests to an external node use RFC 7252's ACK_TIMEOUT: the lab cannot
// know how long another implementation takes to answer, and its traces
// should show the retransmissions any default stack would send.
const (
	ackTimeout         = 250 * time.Millisecond
	externalAckTimeout = 2 * time.Second
	maxRetransmit      = 4
)

// retransmitTicker returns the runner of go-coap's retransmission checks
// on a socket that sends requests with the given ACK_TIMEOUT. go-coap's
// default runner looks every 4 s, far coarser than ACK_TIMEOUT.
func retransmitTicker(ack time.Duration) func(f func(now time.Time) bool) {
	return func(f func(now time.Time) bool) { tickEvery(ack/5, f) }
}

// newServer is a node's CoAP server on its socket (package udpserver):
// go-coap's per-peer connections around a read loop whose duplicate
// detection costs O(1) per datagram and bounded memory. A server sends no
// Confirmable message of its own (responses go piggybacked on the ACK, RFC
// 7252 5.2.1; notifications go as NON, observe.go), so its once-a-second
// housekeeping only expires state. traffic records what outside peers
// send and receive (outside.go).
func newServer(l *coapNet.UDPConn, h udpClient.HandlerFunc, traffic func(in bool, peer string, d []byte)) *udpserver.Server {
	return udpserver.New(l, udpserver.Config{
		Handler:        h,
		Traffic:        traffic,
		RequestMonitor: rejectAtMessageLayer,
		AckTimeout:     serverTimers.ack,
		MaxRetransmit:  maxRetransmit,
		PeerIdle:       serverTimers.idle,
		Tick:           serverTimers.tick,
	})
}

// serverTimers are the server's ACK_TIMEOUT for its Confirmable
// notifications, how long it keeps a silent peer (0: EXCHANGE_LIFETIME)
// and its housekeeping period (0: 1 s); tests shorten them.
var serverTimers = struct{ ack, idle, tick time.Duration }{ack: ackTimeout}

func tickEvery(d time.Duration, f func(now time.Time) bool) {
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for now := range t.C {
			if !f(now) {
				return
			}
		}
	}()
}

// connPool holds a node's client sockets towards one address. Each exchange
// takes a socket for itself (go-coap runs handlers one at a time per peer,
// stack-notes 2.4 item 4, so a shared socket would serialise exchanges at
// the next hop) and gives it back afterwards.
type connPool struct {
	n      *node
	link   *Link
	target string

	mu     sync.Mutex
	idle   []*pooledConn
	all    map[*pooledConn]bool
	closed bool
}

type pooledConn struct {
	cc *udpClient.Conn
}

func newConnPool(n *node, link *Link, target string) *connPool {
	return &connPool{n: n, link: link, target: target, all: map[*pooledConn]bool{}}
}

func (p *connPool) get() (*pooledConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("nodes: node %s stopped", p.n.id)
	}
	if k := len(p.idle); k > 0 {
		pc := p.idle[k-1]
		p.idle = p.idle[:k-1]
		p.mu.Unlock()
		return pc, nil
	}
	p.mu.Unlock()
	ack := p.n.lab.ackTimeout()
	if p.link.external {
		ack = externalAckTimeout
	}
	cc, err := udp.Dial(p.target,
		options.WithBlockwise(false, 0, 0),
		options.WithTransmission(1, ack, maxRetransmit),
		options.WithPeriodicRunner(retransmitTicker(ack)),
		options.WithHandlerFunc(func(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
			p.n.onUnsolicited(w, r)
		}),
		options.WithErrors(func(error) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("nodes: node %s: dial %s: %v", p.n.id, p.target, err)
	}
	p.link.admit(p.n.id, cc.LocalAddr())
	pc := &pooledConn{cc: cc}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		cc.Close()
		return nil, fmt.Errorf("nodes: node %s stopped", p.n.id)
	}
	p.all[pc] = true
	p.mu.Unlock()
	return pc, nil
}

// put returns a socket; a broken one is closed instead.
func (p *connPool) put(pc *pooledConn, healthy bool) {
	p.mu.Lock()
	if !p.closed && healthy {
		p.idle = append(p.idle, pc)
		p.mu.Unlock()
		return
	}
	delete(p.all, pc)
	p.mu.Unlock()
	p.closeConn(pc)
}

// release closes a socket an observation kept out of the pool.
func (p *connPool) release(pc *pooledConn) {
	p.mu.Lock()
	delete(p.all, pc)
	p.mu.Unlock()
	p.closeConn(pc)
}

// closeConn closes a socket and first tells the link that the socket is
// gone. The kernel hands the freed port to the next socket that asks for
// an ephemeral port, often within seconds, and the link knows a source only
// by its address: without this it would take a new socket on the same port
// for the old one and relay its requests from the old relay socket, so the
// next node would see the old peer, whose duplicate detection remembers
// its requests (RFC 7252 4.5): a repeated pinned step, byte for byte the
// old request, would be answered with the old response. RFC 7252 4.4
// forbids reusing a Message ID with the same endpoint within
// EXCHANGE_LIFETIME, and a new socket passed off as the old endpoint
// breaks that rule from the other side.
func (p *connPool) closeConn(pc *pooledConn) {
	p.link.forgetSource(p.target, pc.cc.LocalAddr())
	pc.cc.Close()
}

func (p *connPool) close() {
	p.mu.Lock()
	p.closed = true
	all := p.all
	p.all = map[*pooledConn]bool{}
	p.idle = nil
	p.mu.Unlock()
	for pc := range all {
		p.closeConn(pc)
	}
}
