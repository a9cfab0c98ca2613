package nodes

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// simulatedNote is what the trace says about every datagram sent to a
// group: loopback has no IP multicast, so the lab copies it itself.
const simulatedNote = "IP multicast simulated by a fan-out link (loopback has no multicast): one datagram to the group, one copy to each member"

// maxGroupSources bounds the client source addresses a group link serves:
// each costs one socket per member, so a flood of sources from loopback
// must not cost unbounded sockets. Later sources are dropped and counted.
const maxGroupSources = 64

// GroupMember is one server of a CoAP group: its node id and the address
// it listens on.
type GroupMember struct {
	ID   string
	Addr *net.UDPAddr
}

// GroupLink stands in for IP multicast on loopback (RFC 7252 8.1,
// draft-ietf-core-groupcomm-bis 3): a client sends one datagram to the
// group's address; the link records it once, then sends and records one
// copy to each member. Each member answers a socket of the link that
// stands for the client, and each reply reaches the client from a socket
// that stands for that member alone, so the client tells the servers apart
// by source address as it would on a real multicast network, where every
// server answers from its own unicast address. Faults act per member.
type GroupLink struct {
	group   string // the group's node id, "G"
	client  string // the node that sends to the group
	bus     *trace.Bus
	in      *net.UDPConn
	members []GroupMember

	mu      sync.Mutex
	fans    map[string][]*fanSock // client source address -> one socket per member
	faults  map[string][]scenario.Fault
	count   map[string]int // copies sent to each member, for Fault.Match
	closed  bool
	refused int               // datagrams from sources beyond maxGroupSources
	senders map[string]string // client source address -> node id, for the trace
	wg      sync.WaitGroup

	// Tag gives the exchange id a datagram belongs to, for the trace; nil:
	// none. Set before the first datagram.
	Tag func(b []byte) int
}

// fanSock is the link's socket for one (client source, member) pair.
type fanSock struct {
	conn   *net.UDPConn
	member GroupMember
	client *net.UDPAddr
}

// NewGroupLink opens the group address of group on a loopback port;
// client is the node id the trace names as the sender.
func NewGroupLink(bus *trace.Bus, group, client string, members []GroupMember) (*GroupLink, error) {
	return NewGroupLinkAt(bus, group, client, members, "")
}

// NewGroupLinkAt is NewGroupLink at address listen ("" a loopback port).
// With client "", the trace names an unnamed sender by its address.
func NewGroupLinkAt(bus *trace.Bus, group, client string, members []GroupMember, listen string) (*GroupLink, error) {
	if len(members) == 0 {
		return nil, errors.New("nodes: group " + group + " has no members")
	}
	return newGroupLink(bus, group, client, members, listen)
}

// NewListenLink opens a multicast address on loopback whose listeners
// join later (Join), as a client or proxy starts listening to the
// address an informative response names
// (draft-ietf-core-observe-multicast-notifications 5.3 step 1); sender is
// the node id the trace names as the one sending to it.
func NewListenLink(bus *trace.Bus, group, sender string) (*GroupLink, error) {
	return newGroupLink(bus, group, sender, nil, "")
}

func newGroupLink(bus *trace.Bus, group, client string, members []GroupMember, listen string) (*GroupLink, error) {
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	addr, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("nodes: group %s: %w", group, err)
	}
	c, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("nodes: group %s: %w", group, err)
	}
	g := &GroupLink{group: group, client: client, bus: bus, in: c, members: members,
		fans: map[string][]*fanSock{}, faults: map[string][]scenario.Fault{}, count: map[string]int{}, senders: map[string]string{}}
	g.wg.Add(1)
	go g.readGroup()
	return g, nil
}

// NameSender makes the trace name node as the sender of the datagrams
// from addr (by default the client given to NewGroupLink).
func (g *GroupLink) NameSender(addr *net.UDPAddr, node string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.senders) >= maxGroupSources {
		clear(g.senders) // names only: a lost one falls back to the default
	}
	g.senders[addr.String()] = node
}

func (g *GroupLink) senderName(addr *net.UDPAddr) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n, ok := g.senders[addr.String()]; ok {
		return n
	}
	if g.client == "" {
		return addr.String()
	}
	return g.client
}

// MemberAt names the member whose replies come from addr, the link's
// socket that stands for it; "" for any other address.
func (g *GroupLink) MemberAt(addr *net.UDPAddr) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, fs := range g.fans {
		for _, f := range fs {
			if sameAddr(f.conn.LocalAddr().(*net.UDPAddr), addr) {
				return f.member.ID
			}
		}
	}
	return ""
}

// Addr is the group's address, where a client sends a group request.
func (g *GroupLink) Addr() *net.UDPAddr { return g.in.LocalAddr().(*net.UDPAddr) }

// SetFaults puts faults on the copies to member and its replies: "drop"
// and "delay" (Dir "a->b" is towards the member, "b->a" its replies).
func (g *GroupLink) SetFaults(member string, fs []scenario.Fault) error {
	for i, f := range fs {
		if f.Kind != scenario.FaultDrop && f.Kind != scenario.FaultDelay {
			return fmt.Errorf("nodes: group %s: faults[%d]: a group link drops or delays, not %q", g.group, i, f.Kind)
		}
		if f.Kind == scenario.FaultDelay {
			if _, err := time.ParseDuration(f.Delay); err != nil {
				return fmt.Errorf("nodes: group %s: faults[%d].delay: %v", g.group, i, err)
			}
		}
	}
	g.mu.Lock()
	g.faults[member] = append([]scenario.Fault(nil), fs...)
	g.mu.Unlock()
	return nil
}

// Close frees every socket and waits for the readers.
func (g *GroupLink) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.in.Close()
	for _, fs := range g.fans {
		for _, f := range fs {
			f.conn.Close()
		}
	}
	g.mu.Unlock()
	g.wg.Wait()
	return nil
}

func (g *GroupLink) readGroup() {
	defer g.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, src, err := g.in.ReadFromUDP(buf)
		if err != nil {
			return
		}
		data := append([]byte(nil), buf[:n]...)
		fans, err := g.fansFor(src)
		if err != nil {
			continue
		}
		var names []string
		for _, f := range fans {
			names = append(names, f.member.ID)
		}
		sender := g.senderName(src)
		xid := g.exchangeOf(data)
		g.publish(data, trace.Event{Type: trace.TypeDatagram, Exchange: xid, Link: sender + "-" + g.group, From: sender, To: g.group,
			Multicast: &trace.Multicast{Group: g.group, Leg: trace.MulticastSend, Of: len(fans)},
			Note:      simulatedNote + " (" + strings.Join(names, ", ") + ")"})
		// Every copy is on the trace before the first goes out, so the
		// members' processing never interleaves with the fan-out's record.
		var sends []func()
		for i, f := range fans {
			sends = append(sends, g.pass(f.member.ID, dirAB, data, trace.Event{Type: trace.TypeDatagram, Exchange: xid, Link: g.group + "-" + f.member.ID,
				From: g.group, To: f.member.ID, Multicast: &trace.Multicast{Group: g.group, Leg: trace.MulticastCopy, Copy: i + 1, Of: len(fans)},
				Note: fmt.Sprintf("copy %d of %d of the group datagram", i+1, len(fans))},
				func() { f.conn.WriteToUDP(data, f.member.Addr) }))
		}
		for _, send := range sends {
			send()
		}
	}
}

// fansFor finds or opens the sockets that stand for client source src.
func (g *GroupLink) fansFor(src *net.UDPAddr) ([]*fanSock, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, net.ErrClosed
	}
	if fs, ok := g.fans[src.String()]; ok {
		return fs, nil
	}
	if len(g.fans) >= maxGroupSources {
		g.refused++
		return nil, errTooManySources
	}
	if len(g.members) == 0 {
		return nil, nil // nobody listens yet; nothing kept for src
	}
	var fs []*fanSock
	for _, m := range g.members {
		f, err := g.openFanLocked(m, src)
		if err != nil {
			for _, f := range fs {
				f.conn.Close()
			}
			return nil, err
		}
		fs = append(fs, f)
	}
	g.fans[src.String()] = fs
	for _, f := range fs {
		g.wg.Add(1)
		go g.readMember(f)
	}
	return fs, nil
}

func (g *GroupLink) openFanLocked(m GroupMember, src *net.UDPAddr) (*fanSock, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	return &fanSock{conn: c, member: m, client: src}, nil
}

// Join adds a member, which gets a copy of every later datagram: the
// lab's stand-in for joining an IP multicast group. Joining twice is a
// no-op.
func (g *GroupLink) Join(m GroupMember) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return net.ErrClosed
	}
	for _, old := range g.members {
		if old.ID == m.ID && sameAddr(old.Addr, m.Addr) {
			return nil
		}
	}
	g.members = append(g.members, m)
	for src, fs := range g.fans {
		f, err := g.openFanLocked(m, fs[0].client)
		if err != nil {
			return err
		}
		g.fans[src] = append(fs, f)
		g.wg.Add(1)
		go g.readMember(f)
	}
	return nil
}

// Members lists the link's members.
func (g *GroupLink) Members() []GroupMember {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GroupMember(nil), g.members...)
}

var errTooManySources = errors.New("nodes: group link serves no more client sources")

// Refused is the number of datagrams dropped because they came from a
// source beyond maxGroupSources.
func (g *GroupLink) Refused() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}

// readMember relays one member's replies to the client, from the socket
// that stands for that member.
func (g *GroupLink) readMember(f *fanSock) {
	defer g.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, from, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if !sameAddr(from, f.member.Addr) {
			continue // only the member answers its socket
		}
		data := append([]byte(nil), buf[:n]...)
		g.pass(f.member.ID, dirBA, data, trace.Event{Type: trace.TypeDatagram, Exchange: g.exchangeOf(data), Link: g.group + "-" + f.member.ID,
			From: f.member.ID, To: g.senderName(f.client), Multicast: &trace.Multicast{Group: g.group, Leg: trace.MulticastReply},
			Note: "reply from " + f.member.ID + "'s own address (a socket of the link that stands for " + f.member.ID + " alone)"},
			func() { f.conn.WriteToUDP(data, f.client) })()
	}
}

// pass records datagram b and returns what sending it through member's
// faults in direction d takes: send, nothing, or send later.
func (g *GroupLink) pass(member string, d int, b []byte, ev trace.Event, send func()) func() {
	g.mu.Lock()
	key := fmt.Sprintf("%s/%d", member, d)
	g.count[key]++
	nth := g.count[key]
	var act *scenario.Fault
	for _, f := range g.faults[member] {
		if dirMatches(f.Dir, d) && (f.Match == 0 || f.Match == nth) {
			act = &f
			break
		}
	}
	g.mu.Unlock()
	g.publish(b, ev)
	switch {
	case act == nil:
		return send
	case act.Kind == scenario.FaultDrop:
		g.publish(b, trace.Event{Type: trace.TypeFault, Exchange: ev.Exchange, Link: ev.Link, From: ev.From, To: ev.To,
			Fault: &trace.Fault{Kind: scenario.FaultDrop, Detail: "datagram " + ev.From + " -> " + ev.To + " dropped"}})
		return func() {}
	default:
		delay, _ := time.ParseDuration(act.Delay)
		g.publish(b, trace.Event{Type: trace.TypeFault, Exchange: ev.Exchange, Link: ev.Link, From: ev.From, To: ev.To,
			Fault: &trace.Fault{Kind: scenario.FaultDelay, Detail: "datagram " + ev.From + " -> " + ev.To + " delayed " + delay.String()}})
		return func() { time.AfterFunc(delay, send) }
	}
}

func (g *GroupLink) exchangeOf(b []byte) int {
	if g.Tag == nil {
		return 0
	}
	return g.Tag(b)
}

func (g *GroupLink) publish(b []byte, ev trace.Event) {
	ev.Bytes = b
	ev.Dir = parseHeader(b).dir()
	g.bus.Publish(ev)
}
