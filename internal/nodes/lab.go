package nodes

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// Lab is the running topology: nodes on loopback UDP, the links between
// them, the Security Contexts and the exchange registry. All methods are
// safe for concurrent use.
type Lab struct {
	bus *trace.Bus
	reg *registry

	mu     sync.Mutex // serialises Load, Apply and Close
	topo   atomic.Pointer[topology]
	closed bool

	linksMu sync.Mutex
	links   map[[2]string]*Link // key: {a, b} as created

	peers     sync.Map // relay socket address -> peerRef
	exchanges exchangeTable
	ids       *idSource // unpinned tokens and MIDs, reproducible per scenario
	edhoc     edhocState
	state     *stateFile   // nil: no -state file
	ack       atomic.Int64 // ACK_TIMEOUT between lab nodes in ns; 0: ackTimeout

	replyFroms  sync.Map // client/member -> the last Reply-From a relayed response of that member carried (groupviaproxy.go)
	groupTokens sync.Map // token of a group request in flight -> exchange id (labgroups.go)
}

// peerRef names the node a relay socket stands for, and its link.
type peerRef struct {
	node, link string
	outside    string // the peer's address when it is outside the lab (outside.go)
}

// NewLab returns an empty lab publishing on bus (nil: a private bus).
func NewLab(bus *trace.Bus) *Lab {
	if bus == nil {
		bus = trace.NewBus(0)
	}
	oscore.RegisterGoCoapOptions()
	l := &Lab{bus: bus, reg: newRegistry(), links: map[[2]string]*Link{}, ids: newIDSource("")}
	l.exchanges.init()
	l.topo.Store(emptyTopology())
	return l
}

// Bus is the event bus the lab publishes on.
func (l *Lab) Bus() *trace.Bus { return l.bus }

func (l *Lab) publish(e trace.Event) { l.bus.Publish(e) }

func (l *Lab) rememberPeer(addr string, p peerRef) { l.peers.Store(addr, p) }
func (l *Lab) forgetPeer(addr string)              { l.peers.Delete(addr) }

// peerOf names the node behind a source address (a link's relay socket),
// the previous hop of a received message.
func (l *Lab) peerOf(addr net.Addr) (peerRef, bool) {
	if addr == nil {
		return peerRef{}, false
	}
	v, ok := l.peers.Load(addr.String())
	if !ok {
		return peerRef{}, false
	}
	return v.(peerRef), true
}

// Load replaces the whole topology: the old nodes stop and free their
// sockets, the bus is reset, the new nodes start.
func (l *Lab) Load(s *scenario.Scenario) error { return l.change(s, true) }

// Apply edits the running topology: nodes whose identity (role, listen
// address, external address) is unchanged keep running with their sockets;
// removed nodes stop and free their sockets; contexts whose key material is
// unchanged keep their sequence numbers and replay windows (RFC 8613 7.2,
// 7.4), and an edit that would move a number back under the same keys is
// refused; link faults are replaced. Exchanges in flight through a removed node fail with an error.
func (l *Lab) Apply(s *scenario.Scenario) error { return l.change(s, false) }

// change validates s and applies it, after stopping everything when reload.
func (l *Lab) change(s *scenario.Scenario, reload bool) error {
	if s == nil {
		return errors.New("nodes: no scenario")
	}
	if err := s.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("nodes: lab closed")
	}
	if reload {
		if l.state != nil {
			if err := l.state.flush(); err != nil {
				return err
			}
		}
		l.stopAll()
		l.bus.Reset()
		l.ids.reset(s.Name)
		l.exchanges.reset()
	}
	return l.applyLocked(s.Clone())
}

// Scenario returns a deep copy of the current configuration.
func (l *Lab) Scenario() *scenario.Scenario {
	return l.topo.Load().sc.Clone()
}

// Close stops every node and link.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.stopAll()
	if l.state != nil {
		return l.state.flush()
	}
	return nil
}

func (l *Lab) stopAll() {
	t := l.topo.Load()
	for _, n := range t.nodes {
		n.stop()
	}
	for _, g := range t.groups {
		g.close()
	}
	l.linksMu.Lock()
	links := l.links
	l.links = map[[2]string]*Link{}
	l.linksMu.Unlock()
	for _, k := range sortedLinkKeys(links) {
		links[k].Close()
	}
	l.topo.Store(emptyTopology())
}

// Link finds a link by id ("C-P"; "P-C" finds the same link).
func (l *Lab) Link(id string) (*Link, bool) {
	l.linksMu.Lock()
	defer l.linksMu.Unlock()
	for _, k := range sortedLinkKeys(l.links) {
		lk := l.links[k]
		if lk.id == id || lk.b+"-"+lk.a == id {
			return lk, true
		}
	}
	return nil, false
}

// Links lists the links, sorted by id.
func (l *Lab) Links() []*Link {
	l.linksMu.Lock()
	defer l.linksMu.Unlock()
	out := make([]*Link, 0, len(l.links))
	for _, k := range sortedLinkKeys(l.links) {
		out = append(out, l.links[k])
	}
	return out
}

// linkBetween returns the link that carries from's datagrams to to,
// creating it on first use (a link exists between nodes that talk).
func (l *Lab) linkBetween(from, to string) (*Link, error) {
	l.linksMu.Lock()
	defer l.linksMu.Unlock()
	if lk, ok := l.links[[2]string{from, to}]; ok {
		return lk, nil
	}
	if lk, ok := l.links[[2]string{to, from}]; ok {
		return lk, nil
	}
	t := l.topo.Load()
	na, nb := t.nodes[from], t.nodes[to]
	if na == nil || nb == nil {
		return nil, fmt.Errorf("nodes: no link from %q to %q: unknown node", from, to)
	}
	lk, err := newLink(l, from, to, na.address(), nb.address(), isExternal(t.cfg[from]), isExternal(t.cfg[to]))
	if err != nil {
		return nil, err
	}
	l.links[[2]string{from, to}] = lk
	return lk, nil
}

func isExternal(c *scenario.Node) bool { return c != nil && c.Role == scenario.RoleExternal }

// RandomIDs makes the tokens and the first Message ID the scenario does
// not pin random (crypto/rand, RFC 7252 5.3.1) instead of seeded by the
// scenario's name: runs no longer repeat their bytes, and nobody can
// predict the tokens. It takes effect at once and lasts across loads.
func (l *Lab) RandomIDs(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := ""
	if t := l.topo.Load(); t != nil && t.sc != nil {
		name = t.sc.Name
	}
	l.ids.setRandom(on, name)
}

// SetAckTimeout sets the ACK_TIMEOUT (RFC 7252 4.8) of the Confirmable
// requests lab nodes send each other, for the sockets they open from now
// on; d <= 0 restores the lab's 250 ms. A headless run that must repeat
// its datagrams byte for byte takes RFC 7252's 2 s: an exchange that a
// loaded machine slows past 250 ms would otherwise show a retransmission.
func (l *Lab) SetAckTimeout(d time.Duration) {
	l.ack.Store(int64(max(d, 0)))
}

func (l *Lab) ackTimeout() time.Duration {
	if d := time.Duration(l.ack.Load()); d > 0 {
		return d
	}
	return ackTimeout
}

// Nodes lists the nodes with their real listening addresses.
func (l *Lab) Nodes() []NodeInfo {
	t := l.topo.Load()
	var out []NodeInfo
	for _, id := range t.order {
		n := t.nodes[id]
		info := NodeInfo{ID: id, Role: n.cfg().Role, Addr: n.address().String()}
		for _, lk := range l.Links() {
			if lk.a == id || lk.b == id {
				info.Links = append(info.Links, lk.id)
			}
		}
		out = append(out, info)
	}
	return out
}

// State is a snapshot of every node's counters and contexts.
func (l *Lab) State() LabState {
	t := l.topo.Load()
	var st LabState
	for _, id := range t.order {
		n := t.nodes[id]
		cfg := n.cfg()
		ns := NodeState{ID: id, Role: cfg.Role, Addr: n.address().String(),
			Received: n.received.Load(), Sent: n.sent.Load(), Errors: n.errs.Load()}
		for _, name := range t.ctxOrder {
			p := t.contexts[name]
			c, peer := p.side(id)
			if c == nil {
				continue
			}
			prm := c.Params()
			ns.Contexts = append(ns.Contexts, ContextState{Name: name, Peer: peer,
				SenderID: prm.SenderID, RecipientID: prm.RecipientID, SenderSeq: c.SenderSeq(),
				Replay: c.Replay(), LayerLimit: layerLimit(cfg)})
		}
		st.Nodes = append(st.Nodes, ns)
	}
	for _, lk := range l.Links() {
		st.Links = append(st.Links, lk.Info())
	}
	return st
}

func sortedLinkKeys(m map[[2]string]*Link) [][2]string {
	keys := make([][2]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	return keys
}

func layerLimit(n *scenario.Node) int {
	if n.LayerLimit > 0 {
		return n.LayerLimit
	}
	return scenario.DefaultLayerLimit
}

// ContextSide is node's side of context name as it stands now: its
// parameters (Sender ID node's) and its next Sender Sequence Number, for
// handing that side to a peer outside the lab (internal/peerctx).
func (l *Lab) ContextSide(name, node string) (oscore.Params, uint64, error) {
	c, _, err := l.topo.Load().contextFor(name, node)
	if err != nil {
		return oscore.Params{}, 0, err
	}
	return c.Params(), c.SenderSeq(), nil
}

// ReplayDatagram sends b again on link (its id, "C-P") as node from sent
// it, from a fresh socket whose answers nobody receives (Link.ReplayFrom):
// an on-path attacker replaying a captured datagram.
func (l *Lab) ReplayDatagram(link, from string, b []byte, what string) error {
	lk, ok := l.Link(link)
	if !ok {
		return fmt.Errorf("nodes: no link %q in the running lab", link)
	}
	return lk.ReplayFrom(from, b, what)
}
