package nodes

import (
	"encoding/hex"
	"fmt"
	"net"
	"reflect"
	"strings"

	"oscore-lab/internal/scenario"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// topology is one immutable configuration of the running lab. Nodes read
// the current one through Lab.topo, so a live edit is a pointer swap.
type topology struct {
	sc       *scenario.Scenario
	order    []string // node ids in scenario order
	nodes    map[string]*node
	cfg      map[string]*scenario.Node
	contexts map[string]*ctxPair
	ctxOrder []string
	// recipients[node][kid] lists the contexts node holds whose Recipient ID
	// is kid (RFC 8613 8.2 step 3 looks them up by kid).
	recipients map[string]map[string][]*oscore.Context
	authority  map[string]string // host name -> node id
	externals  []externalSource  // where external nodes send from (outside.go)
	groups     map[string]*labGroup
	groupCtx   map[string]map[string]*group.Context // group context name -> member node -> its instance
}

func emptyTopology() *topology {
	return &topology{sc: &scenario.Scenario{}, nodes: map[string]*node{}, cfg: map[string]*scenario.Node{},
		contexts: map[string]*ctxPair{}, recipients: map[string]map[string][]*oscore.Context{}, authority: map[string]string{}}
}

// ctxPair is one scenario context: each endpoint holds its own instance
// (its own sender sequence number and replay window).
type ctxPair struct {
	cfg   scenario.Context
	a, b  *oscore.Context
	gates [2]echoGate // the a and b sides' freshness state (RFC 8613 B.1.2)
}

// side returns node's instance of the context and the other endpoint.
func (p *ctxPair) side(node string) (*oscore.Context, string) {
	switch node {
	case p.cfg.A.Node:
		return p.a, p.cfg.B.Node
	case p.cfg.B.Node:
		return p.b, p.cfg.A.Node
	}
	return nil, ""
}

// contextFor is node's instance of the named context.
func (t *topology) contextFor(name, node string) (*oscore.Context, string, error) {
	p, ok := t.contexts[name]
	if !ok {
		return nil, "", fmt.Errorf("nodes: no context %q", name)
	}
	c, peer := p.side(node)
	if c == nil {
		return nil, "", fmt.Errorf("nodes: node %s holds no side of context %q", node, name)
	}
	return c, peer, nil
}

// resolve finds the node a URI host names: its authority, its id, or an
// external node's address.
func (t *topology) resolve(host, hostport string) (string, bool) {
	if id, ok := t.authority[strings.ToLower(host)]; ok {
		return id, true
	}
	if _, ok := t.nodes[host]; ok {
		return host, true
	}
	for _, id := range t.order {
		c := t.cfg[id]
		if c.Addr != "" && (c.Addr == hostport || c.Addr == host) {
			return id, true
		}
		if c.Listen != "" && c.Listen == hostport {
			return id, true
		}
	}
	return "", false
}

func newContextPair(c scenario.Context, seqs map[string]uint64) (*ctxPair, error) {
	secret, err := hex.DecodeString(c.MasterSecret)
	if err != nil {
		return nil, fmt.Errorf("nodes: context %s: master_secret: %v", c.Name, err)
	}
	salt, err := hex.DecodeString(c.MasterSalt)
	if err != nil {
		return nil, fmt.Errorf("nodes: context %s: master_salt: %v", c.Name, err)
	}
	var idctx []byte
	if c.IDContext != nil {
		if idctx, err = hex.DecodeString(*c.IDContext); err != nil {
			return nil, fmt.Errorf("nodes: context %s: id_context: %v", c.Name, err)
		}
		if idctx == nil {
			idctx = []byte{}
		}
	}
	var alg oscore.AEADAlg
	if c.Alg != "" {
		if alg, err = oscore.ParseAEADAlg(c.Alg); err != nil {
			return nil, fmt.Errorf("nodes: context %s: %v", c.Name, err)
		}
	}
	var hk oscore.HKDFAlg
	if c.HKDF != "" {
		if hk, err = oscore.ParseHKDFAlg(c.HKDF); err != nil {
			return nil, fmt.Errorf("nodes: context %s: %v", c.Name, err)
		}
	}
	mk := func(e scenario.Endpoint) (*oscore.Context, error) {
		sid, err := hex.DecodeString(e.SenderID)
		if err != nil {
			return nil, fmt.Errorf("nodes: context %s: %s sender_id: %v", c.Name, e.Node, err)
		}
		rid, err := hex.DecodeString(e.RecipientID)
		if err != nil {
			return nil, fmt.Errorf("nodes: context %s: %s recipient_id: %v", c.Name, e.Node, err)
		}
		ms := secret
		if e.MasterSecret != "" {
			if ms, err = hex.DecodeString(e.MasterSecret); err != nil {
				return nil, fmt.Errorf("nodes: context %s: %s master_secret: %v", c.Name, e.Node, err)
			}
		}
		ctx, err := oscore.NewContext(c.Name, oscore.Params{MasterSecret: ms, MasterSalt: salt, IDContext: idctx,
			SenderID: nonNil(sid), RecipientID: nonNil(rid), AEAD: alg, HKDF: hk, ReplayWindow: c.ReplayWindow})
		if err != nil {
			return nil, fmt.Errorf("nodes: context %s at %s: %v", c.Name, e.Node, err)
		}
		if s, ok := seqs[e.Node]; ok {
			if err := ctx.SetSenderSeq(s); err != nil {
				return nil, fmt.Errorf("nodes: context %s at %s: %v", c.Name, e.Node, err)
			}
		}
		return ctx, nil
	}
	a, err := mk(c.A)
	if err != nil {
		return nil, err
	}
	b, err := mk(c.B)
	if err != nil {
		return nil, err
	}
	return &ctxPair{cfg: c, a: a, b: b}, nil
}

// resume carries the sender sequence numbers and replay windows of the
// old topology's contexts with the same keys into p (RFC 8613 7.2, 7.4): a
// live edit that leaves the key material alone (Master Secret, Master
// Salt, ID Context, both IDs, AEAD, HKDF) must not start the numbers over,
// or the next request reuses a nonce and the peer accepts replays. A seq
// pin that the edit changed then applies, forward only.
//
// A side that resumes nothing starts without replay state: at a server
// with require_echo it takes requests only after an Echo round trip
// (RFC 8613 B.1.2).
func (p *ctxPair) resume(old *topology, s *scenario.Scenario) (resumed [2]bool, err error) {
	for i, side := range [...]struct {
		node string
		ctx  *oscore.Context
	}{{p.cfg.A.Node, p.a}, {p.cfg.B.Node, p.b}} {
		prev, prevGate, prevPin, pinned := old.sameKeys(side.ctx, side.node)
		if prev == nil {
			p.gates[i].need = requiresEcho(s, side.node)
			continue
		}
		if err := side.ctx.ResumeFrom(prev); err != nil {
			return resumed, fmt.Errorf("nodes: context %s at %s: %v", p.cfg.Name, side.node, err)
		}
		resumed[i] = true
		prevGate.mu.Lock()
		p.gates[i].need = prevGate.need
		prevGate.mu.Unlock()
		pin, ok := p.cfg.Seq[side.node]
		if !ok || (pinned && pin == prevPin) {
			continue
		}
		if err := side.ctx.SetSenderSeq(pin); err != nil {
			return resumed, fmt.Errorf("nodes: context %s at %s: seq %d: the keys are unchanged and %w", p.cfg.Name, side.node, pin, err)
		}
	}
	return resumed, nil
}

// sameKeys finds the old instance with the keys of c, its echo gate, and
// the seq pin its context had for node.
func (t *topology) sameKeys(c *oscore.Context, node string) (*oscore.Context, *echoGate, uint64, bool) {
	for _, name := range t.ctxOrder {
		p := t.contexts[name]
		for i, o := range [...]*oscore.Context{p.a, p.b} {
			if o.SameKeys(c) {
				pin, ok := p.cfg.Seq[node]
				return o, &p.gates[i], pin, ok
			}
		}
	}
	return nil, nil, 0, false
}

// requiresEcho: node is a server configured with require_echo.
func requiresEcho(s *scenario.Scenario, node string) bool {
	for i := range s.Nodes {
		if s.Nodes[i].ID == node {
			return s.Nodes[i].RequireEcho
		}
	}
	return false
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// sameIdentity: a node keeps running across an edit when these are equal.
func sameIdentity(a, b *scenario.Node) bool {
	return a.Role == b.Role && a.Listen == b.Listen && a.Addr == b.Addr
}

// applyLocked builds the topology of s, reusing what did not change.
func (l *Lab) applyLocked(s *scenario.Scenario) error {
	old := l.topo.Load()
	t := &topology{sc: s, nodes: map[string]*node{}, cfg: map[string]*scenario.Node{},
		contexts: map[string]*ctxPair{}, recipients: map[string]map[string][]*oscore.Context{}, authority: map[string]string{}}

	var restored [][2]string // node, note: what the state file gave back
	for i := range s.Contexts {
		c := s.Contexts[i]
		if c.EDHOC != nil && c.MasterSecret == "" {
			continue // exists once its EDHOC step has run (edhoc.go)
		}
		if p, ok := old.contexts[c.Name]; ok && reflect.DeepEqual(p.cfg, c) {
			t.contexts[c.Name] = p
		} else {
			p, err := newContextPair(c, c.Seq)
			if err != nil {
				return err
			}
			resumed, err := p.resume(old, s)
			if err != nil {
				return err
			}
			if l.state != nil {
				for i, side := range [...]struct {
					node string
					ctx  *oscore.Context
				}{{c.A.Node, p.a}, {c.B.Node, p.b}} {
					note, err := l.state.attach(c.Name, side.node, side.ctx, &p.gates[i], resumed[i])
					if err != nil {
						return err
					}
					if note != "" {
						restored = append(restored, [2]string{side.node, note})
					}
				}
			}
			t.contexts[c.Name] = p
		}
		t.ctxOrder = append(t.ctxOrder, c.Name)
	}
	for _, name := range t.ctxOrder { // scenario order: a kid shared by two contexts resolves the same way every run
		p := t.contexts[name]
		for _, side := range []struct {
			node string
			ctx  *oscore.Context
		}{{p.cfg.A.Node, p.a}, {p.cfg.B.Node, p.b}} {
			m := t.recipients[side.node]
			if m == nil {
				m = map[string][]*oscore.Context{}
				t.recipients[side.node] = m
			}
			rid := string(side.ctx.Params().RecipientID)
			m[rid] = append(m[rid], side.ctx)
		}
	}

	// Nodes: keep, restart or start.
	var started []*node
	keep := map[string]bool{}
	for i := range s.Nodes {
		cfg := &s.Nodes[i]
		t.cfg[cfg.ID] = cfg
		t.order = append(t.order, cfg.ID)
		if cfg.Authority != "" {
			t.authority[strings.ToLower(cfg.Authority)] = cfg.ID
		}
		if n, ok := old.nodes[cfg.ID]; ok && sameIdentity(n.cfg(), cfg) {
			t.nodes[cfg.ID] = n
			keep[cfg.ID] = true
			continue
		}
	}
	// Stop the nodes that go away or change identity first, so that a fixed
	// port can move from an old node to a new one.
	var stopped []string
	for id, n := range old.nodes {
		if !keep[id] {
			n.stop()
			stopped = append(stopped, id)
		}
	}
	for _, id := range t.order {
		if t.nodes[id] != nil {
			continue
		}
		n, err := startNode(l, id, t.cfg[id])
		if err != nil {
			for _, sn := range started {
				sn.stop()
			}
			// The old topology lost the stopped nodes: keep the survivors.
			for _, sid := range stopped {
				delete(old.nodes, sid)
			}
			return err
		}
		started = append(started, n)
		t.nodes[id] = n
	}
	t.externals = externalSources(t)
	// The groups are set up before the topology is published: the nodes'
	// handlers read t.groups and t.groupCtx without a lock.
	groupErr := l.startGroups(old, t)
	l.topo.Store(t)
	for _, r := range restored {
		l.publishRestored(r[0], r[1])
	}

	// Links: close those that touch a node that went away, retarget the
	// others, then set the scenario's faults.
	l.linksMu.Lock()
	for k, lk := range l.links {
		na, nb := t.nodes[lk.a], t.nodes[lk.b]
		if na == nil || nb == nil || na != old.nodes[lk.a] || nb != old.nodes[lk.b] {
			delete(l.links, k)
			go lk.Close()
			continue
		}
		lk.setTargets(na.address(), nb.address())
	}
	l.linksMu.Unlock()
	configured := map[*Link]bool{}
	for i, sl := range s.Links {
		if s.GroupNamed(sl.A) != nil {
			continue // a group's link (startGroups)
		}
		lk, err := l.linkBetween(sl.A, sl.B)
		if err != nil {
			return fmt.Errorf("nodes: links[%d]: %v", i, err)
		}
		if err := lk.SetFaults(sl.Faults); err != nil {
			return err
		}
		configured[lk] = true
	}
	for _, lk := range l.Links() {
		if !configured[lk] {
			lk.SetFaults(nil)
		}
	}
	if groupErr != nil {
		return groupErr
	}
	l.createKnownLinks(t)
	return nil
}

// createKnownLinks opens the links the configuration implies (routes,
// upstreams, reverse routes, next-hop contexts) so the UI can show them
// before any traffic.
func (l *Lab) createKnownLinks(t *topology) {
	pair := func(a, b string) {
		if a != "" && b != "" && a != b && t.nodes[a] != nil && t.nodes[b] != nil {
			l.linkBetween(a, b)
		}
	}
	for _, id := range t.order {
		c := t.cfg[id]
		pair(id, c.Upstream)
		for _, r := range c.Reverse {
			pair(id, r.To)
		}
		for nh := range c.NextHopContexts {
			pair(id, nh)
		}
	}
	for _, st := range t.sc.Steps {
		if st.To != "" {
			continue // a group's link exists with the group
		}
		path, err := t.plannedPath(st)
		if err != nil {
			continue
		}
		for i := 0; i+1 < len(path); i++ {
			pair(path[i].Name, path[i+1].Name)
		}
	}
}

func (n *node) address() *net.UDPAddr { return n.addr }
