package nodes

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// Directions across a link: a->b is the traffic that node A sends to the
// link's A-side port, b->a the traffic B sends to the B-side port, and each
// one's replies travel the other way.
const (
	dirAB = 0
	dirBA = 1
)

// relayIdle is how long a per-source relay socket lives without traffic
// when both ends are lab nodes: longer than go-coap keeps an idle peer
// (16 s), so a port the kernel hands out again never reaches a lab node
// that still holds state for the old relay.
const relayIdle = 60 * time.Second

// externalRelayIdle is the same for a link with an external node, which may
// remember a peer's Message IDs and responses for the full
// EXCHANGE_LIFETIME (RFC 7252 4.8.2: 247 s with the default transmission
// parameters) and must not take a new relay on a reused port for the old
// one (RFC 7252 4.4, 4.5).
const externalRelayIdle = 247 * time.Second

// historySize bounds the datagrams a link keeps for Replay.
const historySize = 1024

// Link is a real UDP relay between two nodes (stack-notes 2.5: go-coap has
// no raw-bytes hook). Node A reaches B by sending to the link's A-side port;
// the link forwards from a socket of its own to B, one socket per source
// address of A, so B sees each of A's sockets as a distinct peer. Every
// datagram is published once as a trace "datagram" event, in the order the
// link received it, and faults can be injected on command.
type Link struct {
	id   string
	a, b string
	lab  *Lab
	// external: one end is an external node. Requests towards it use RFC
	// 7252's ACK_TIMEOUT (see externalAckTimeout) and its relays stay
	// for externalRelayIdle (see relayIdleTime).
	external bool
	// ext[d]: the node that sends into side[d] is external.
	ext [2]bool

	side   [2]*net.UDPConn                // side[dirAB]: A sends here; side[dirBA]: B sends here
	target [2]atomic.Pointer[net.UDPAddr] // target[dirAB]: B's address; target[dirBA]: A's address

	mu        sync.Mutex
	relays    [2]map[string]*relaySock // per direction: source address -> socket facing the other node
	admitted  [2]map[string]bool       // per direction: the sockets of the sending node (admit)
	retired   []*relaySock             // relays of closed sources, open until idle (forgetSource)
	faults    []scenario.Fault
	faultBase [][2]int // per standing fault: count when it was set (its match counts from there)
	oneShot   [2][]pendingFault
	count     [2]int      // datagrams entered per direction (faults match on it)
	overall   int         // datagrams entered in both directions
	history   []histEntry // recent datagrams, for replay
	attackers []*relaySock
	total     atomic.Uint64
	recorded  [2]atomic.Uint64 // datagrams published per direction (waitRecorded)
	refused   atomic.Uint64    // datagrams from neither end, dropped unrecorded
	closed    bool
	done      chan struct{}
	wg        sync.WaitGroup
}

// relaySock is the socket a link uses on behalf of one source socket.
type relaySock struct {
	conn *net.UDPConn
	src  *net.UDPAddr // the source this socket stands for
	last atomic.Int64 // unix nanoseconds of the last datagram
	fake bool         // attacker socket for replays: replies are recorded, not delivered
	gone atomic.Bool  // the source socket was closed (forgetSource): replies are recorded, not delivered
}

type histEntry struct {
	overall int
	record
}

// LinkInfo describes a link for the UI and tests.
type LinkInfo struct {
	ID        string `json:"id"`
	A         string `json:"a"`
	B         string `json:"b"`
	AddrA     string `json:"addr_a"` // the port A sends to
	AddrB     string `json:"addr_b"` // the port B sends to
	Datagrams uint64 `json:"datagrams"`
	Refused   uint64 `json:"refused,omitempty"` // datagrams from a source that is neither end, dropped
}

// newLink starts the relay between nodes a and b at the given addresses;
// extA and extB say which of them is external.
func newLink(lab *Lab, a, b string, addrA, addrB *net.UDPAddr, extA, extB bool) (*Link, error) {
	l := &Link{id: a + "-" + b, a: a, b: b, lab: lab, external: extA || extB, ext: [2]bool{extA, extB}, done: make(chan struct{})}
	for d := range l.side {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			l.Close()
			return nil, errors.New("nodes: link " + l.id + ": " + err.Error())
		}
		l.side[d] = c
		l.relays[d] = map[string]*relaySock{}
		l.admitted[d] = map[string]bool{}
	}
	l.target[dirAB].Store(addrB)
	l.target[dirBA].Store(addrA)
	for d := range l.side {
		l.wg.Add(1)
		go l.readSide(d)
	}
	l.wg.Add(1)
	go l.janitor()
	return l, nil
}

// relayIdleTime is how long the link keeps an idle relay socket:
// externalRelayIdle when one end is external, relayIdle otherwise.
func (l *Link) relayIdleTime() time.Duration {
	if l.external {
		return externalRelayIdle
	}
	return relayIdle
}

// ID is "A-B".
func (l *Link) ID() string { return l.id }

// Ends returns the two node ids.
func (l *Link) Ends() (a, b string) { return l.a, l.b }

// Info describes the link.
func (l *Link) Info() LinkInfo {
	return LinkInfo{ID: l.id, A: l.a, B: l.b, AddrA: l.side[dirAB].LocalAddr().String(),
		AddrB: l.side[dirBA].LocalAddr().String(), Datagrams: l.total.Load(), Refused: l.refused.Load()}
}

// admit lets the link relay what node sends from addr, one of the node's
// own sockets (connPool.get); forgetSource takes it back. A link relays
// only its two ends: a lab node's admitted sockets, an external node's
// address. Any other source would cost a socket, a goroutine and a
// buffer of its own, so it is dropped and counted (LinkInfo.Refused).
func (l *Link) admit(node string, addr net.Addr) {
	d := dirAB
	if node != l.a {
		d = dirBA
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.admitted[d][addr.String()] = true
	}
}

// fromEnd reports whether src may send into side d; the caller holds l.mu.
func (l *Link) fromEndLocked(d int, src *net.UDPAddr) bool {
	if l.admitted[d][src.String()] {
		return true
	}
	return l.ext[d] && sameAddr(src, l.target[1-d].Load())
}

func sameAddr(a, b *net.UDPAddr) bool {
	return a != nil && b != nil && a.Port == b.Port && a.IP.Equal(b.IP)
}

// addrFor is the port node sends to in order to reach the other end.
func (l *Link) addrFor(node string) *net.UDPAddr {
	if node == l.a {
		return l.side[dirAB].LocalAddr().(*net.UDPAddr)
	}
	return l.side[dirBA].LocalAddr().(*net.UDPAddr)
}

// setTargets updates where the link delivers (a node restarted elsewhere).
func (l *Link) setTargets(addrA, addrB *net.UDPAddr) {
	l.target[dirBA].Store(addrA)
	l.target[dirAB].Store(addrB)
}

// Close stops the relay and frees every socket.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	var socks []*net.UDPConn
	for d := range l.relays {
		for _, r := range l.relays[d] {
			socks = append(socks, r.conn)
			l.lab.forgetPeer(r.conn.LocalAddr().String())
		}
	}
	for _, r := range l.retired {
		socks = append(socks, r.conn)
		l.lab.forgetPeer(r.conn.LocalAddr().String())
	}
	for _, r := range l.attackers {
		socks = append(socks, r.conn)
		l.lab.forgetPeer(r.conn.LocalAddr().String())
	}
	l.mu.Unlock()
	for _, c := range l.side {
		if c != nil {
			c.Close()
		}
	}
	for _, c := range socks {
		c.Close()
	}
	l.wg.Wait()
	return nil
}

// readSide receives what a node sends to one side of the link.
func (l *Link) readSide(d int) {
	defer l.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, src, err := l.side[d].ReadFromUDP(buf)
		if err != nil {
			return
		}
		r, err := l.relayFor(d, src)
		if err != nil {
			continue
		}
		data := append([]byte(nil), buf[:n]...)
		l.pass(d, data, src, func(b []byte) {
			if t := l.target[d].Load(); t != nil {
				r.conn.WriteToUDP(b, t)
			}
		})
	}
}

// relayFor finds or creates the socket standing for source src.
func (l *Link) relayFor(d int, src *net.UDPAddr) (*relaySock, error) {
	key := src.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, net.ErrClosed
	}
	if r, ok := l.relays[d][key]; ok {
		r.last.Store(time.Now().UnixNano())
		return r, nil
	}
	if !l.fromEndLocked(d, src) {
		l.refused.Add(1)
		return nil, errNotAnEnd
	}
	r, err := l.newRelayLocked(d, src, false)
	if err != nil {
		return nil, err
	}
	l.relays[d][key] = r
	return r, nil
}

var errNotAnEnd = errors.New("nodes: datagram from a source that is neither end of the link")

// forgetSource ends the relay of a source socket that its node has closed
// (connPool.closeConn says why): datagrams from a new socket on the same
// address get a relay socket, and so a peer address at the other node, of
// their own. The old relay socket stays bound until it has been idle for
// the link's idle time, so its port cannot reach the other node as a new
// peer either while that node may still keep state for it (go-coap forgets
// a peer idle for 16 s, an external node may remember it for
// EXCHANGE_LIFETIME); replies that still arrive on it are recorded, not delivered,
// since the port they would go to may belong to another socket by now.
// target is the link port the socket sent to.
func (l *Link) forgetSource(target string, src net.Addr) {
	key := src.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	for d, c := range l.side {
		if c == nil || c.LocalAddr().String() != target {
			continue
		}
		delete(l.admitted[d], key)
		if r, ok := l.relays[d][key]; ok {
			r.gone.Store(true)
			delete(l.relays[d], key)
			l.retired = append(l.retired, r)
		}
	}
}

func (l *Link) newRelayLocked(d int, src *net.UDPAddr, fake bool) (*relaySock, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	r := &relaySock{conn: c, src: src, fake: fake}
	r.last.Store(time.Now().UnixNano())
	sender := l.a
	if d == dirBA {
		sender = l.b
	}
	// A replay's socket stands for the sender too: an on-path attacker
	// spoofs the sender's address, so the receiver takes the copy for the
	// sender's and its reaction joins the original's exchange.
	l.lab.rememberPeer(c.LocalAddr().String(), peerRef{node: sender, link: l.id})
	l.wg.Add(1)
	go l.readRelay(d, r)
	return r, nil
}

// readRelay receives the replies of the far node to one source.
func (l *Link) readRelay(d int, r *relaySock) {
	defer l.wg.Done()
	back := 1 - d
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if !sameAddr(from, l.target[d].Load()) {
			l.refused.Add(1) // only the far end answers a relay socket
			continue
		}
		r.last.Store(time.Now().UnixNano())
		data := append([]byte(nil), buf[:n]...)
		l.pass(back, data, nil, func(b []byte) {
			if !r.fake && !r.gone.Load() {
				l.side[d].WriteToUDP(b, r.src)
			}
		})
	}
}

// janitor closes relay sockets that have been idle for the link's idle
// time.
func (l *Link) janitor() {
	defer l.wg.Done()
	idleFor := l.relayIdleTime()
	t := time.NewTicker(idleFor / 4)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case now := <-t.C:
			idle := func(r *relaySock) bool { return now.UnixNano()-r.last.Load() > int64(idleFor) }
			l.mu.Lock()
			for d := range l.relays {
				for k, r := range l.relays[d] {
					if idle(r) {
						delete(l.relays[d], k)
						l.closeRelayLocked(r)
					}
				}
			}
			kept := l.retired[:0]
			for _, r := range l.retired {
				if idle(r) {
					l.closeRelayLocked(r)
				} else {
					kept = append(kept, r)
				}
			}
			clear(l.retired[len(kept):])
			l.retired = kept
			l.mu.Unlock()
		}
	}
}

func (l *Link) closeRelayLocked(r *relaySock) {
	l.lab.forgetPeer(r.conn.LocalAddr().String())
	r.conn.Close()
}

// publishDatagram records one datagram as a trace event, correlated with
// its exchange through the registry; orig, when given, is the datagram as
// its sender sent it, before a fault altered it (see publishAbout).
func (l *Link) publishDatagram(d int, b []byte, orig ...[]byte) {
	l.total.Add(1)
	l.publishAbout(d, b, trace.Event{Type: trace.TypeDatagram, Bytes: b}, orig...)
	l.recorded[d].Add(1)
}

// carrying returns the direction in which the link carries a datagram
// sent to addr: one of its sides, or a relay socket standing for a source.
func (l *Link) carrying(addr *net.UDPAddr) (int, bool) {
	for d, c := range l.side {
		if sameAddr(c.LocalAddr().(*net.UDPAddr), addr) {
			return d, true
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for d := range l.relays {
		for _, r := range l.relays[d] {
			if sameAddr(r.conn.LocalAddr().(*net.UDPAddr), addr) {
				return 1 - d, true
			}
		}
	}
	return 0, false
}

// waitRecorded waits, at most for max, until the link has recorded n
// datagrams in direction d: a run that knows what a node sent waits for
// the trace to show it before the next step starts, so the events of two
// steps never interleave.
func (l *Link) waitRecorded(d int, n uint64, max time.Duration) {
	for end := time.Now().Add(max); l.recorded[d].Load() < n && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
}

func (l *Link) publishFault(d int, kind, detail string, b []byte, orig ...[]byte) {
	l.publishAbout(d, b, trace.Event{Type: trace.TypeFault, Fault: &trace.Fault{Kind: kind, Detail: detail}}, orig...)
}

// publishAbout publishes ev as an event of datagram b travelling in
// direction d: the link's ends, the header's direction and, through the
// registry, the exchange and hop it belongs to. A datagram a fault made
// unreadable (a flipped version or token length) takes these from orig,
// the sender's datagram, so it stays in its exchange.
func (l *Link) publishAbout(d int, b []byte, ev trace.Event, orig ...[]byte) {
	h := parseHeader(b)
	if !h.ok && len(orig) > 0 {
		h = parseHeader(orig[0])
	}
	ev.Link, ev.Dir = l.id, h.dir()
	ev.From, ev.To = l.a, l.b
	if d == dirBA {
		ev.From, ev.To = l.b, l.a
	}
	if c, ok := l.lab.reg.lookup(l.id, h); ok {
		ev.Exchange, ev.Hop = c.Exchange, c.Hop
	}
	l.lab.publish(ev)
}
