package scenario

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"oscore-lab/oscore"
)

// maxSeq is the largest sender sequence number (RFC 8613 section 7.2.1:
// 2^40 - 1).
const maxSeq = 1<<40 - 1

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,31}$`)
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// Validate checks the scenario's meaning once its shape is known: references
// between nodes, contexts and steps, hex values, lengths and durations. The
// error is an *Error naming the first offending field.
func (s *Scenario) Validate() error {
	v := validator{s: s, nodes: map[string]*Node{}, contexts: map[string]*Context{}, groups: map[string]*Group{}, groupContexts: map[string]*GroupContext{}}
	return v.run()
}

// ValidateStep checks one step against the scenario as Validate checks
// the scenario's own steps, for a step sent on its own (POST /api/send):
// the error is an *Error whose path starts at "step", e.g.
// "step.route[1]: P1 forwards to ...".
func (s *Scenario) ValidateStep(st *Step) error {
	v := validator{s: s, nodes: map[string]*Node{}, contexts: map[string]*Context{}, groups: map[string]*Group{}, groupContexts: map[string]*GroupContext{}}
	for i := range s.Nodes {
		v.nodes[s.Nodes[i].ID] = &s.Nodes[i]
	}
	for i := range s.Contexts {
		v.contexts[s.Contexts[i].Name] = &s.Contexts[i]
	}
	for i := range s.Groups {
		v.groups[s.Groups[i].ID] = &s.Groups[i]
	}
	for i := range s.GroupContexts {
		v.groupContexts[s.GroupContexts[i].Name] = &s.GroupContexts[i]
	}
	return v.step("step", st)
}

type validator struct {
	s             *Scenario
	nodes         map[string]*Node
	contexts      map[string]*Context
	groups        map[string]*Group
	groupContexts map[string]*GroupContext
}

func (v *validator) run() error {
	s := v.s
	if s.Name == "" {
		return errAt("name", "missing (give the scenario a short name)")
	}
	if !namePattern.MatchString(s.Name) {
		return errAt("name", fmt.Sprintf("%q is not a scenario name (letters, digits, '.', '_' or '-', at most 64)", s.Name))
	}
	if len(s.Nodes) == 0 {
		return errAt("nodes", "missing (a scenario needs at least one node)")
	}
	if err := v.limits(); err != nil {
		return err
	}
	// Index nodes and contexts first so references can point forwards.
	for i := range s.Nodes {
		n := &s.Nodes[i]
		p := index("nodes", i)
		if !idPattern.MatchString(n.ID) {
			return errAt(field(p, "id"), fmt.Sprintf("%q is not a node id (a letter, then up to 31 letters, digits, _ or -)", n.ID))
		}
		if _, dup := v.nodes[n.ID]; dup {
			return errAt(field(p, "id"), fmt.Sprintf("duplicate node id %q", n.ID))
		}
		v.nodes[n.ID] = n
	}
	for i := range s.Contexts {
		c := &s.Contexts[i]
		p := index("contexts", i)
		if c.Name == "" {
			return errAt(field(p, "name"), "missing")
		}
		if _, dup := v.contexts[c.Name]; dup {
			return errAt(field(p, "name"), fmt.Sprintf("duplicate context name %q", c.Name))
		}
		v.contexts[c.Name] = c
	}
	if err := v.indexGroups(); err != nil {
		return err
	}
	for i := range s.Nodes {
		if err := v.node(index("nodes", i), &s.Nodes[i]); err != nil {
			return err
		}
	}
	for i := range s.GroupContexts {
		if err := v.groupContext(index("group_contexts", i), &s.GroupContexts[i]); err != nil {
			return err
		}
	}
	for i := range s.Groups {
		if err := v.group(index("groups", i), &s.Groups[i]); err != nil {
			return err
		}
	}
	for i := range s.Contexts {
		if err := v.context(index("contexts", i), &s.Contexts[i]); err != nil {
			return err
		}
	}
	if err := v.recipientIDsUnique(); err != nil {
		return err
	}
	if err := v.senderKeysUnique(); err != nil {
		return err
	}
	seenLinks := map[[2]string]bool{}
	for i := range s.Links {
		if err := v.link(index("links", i), &s.Links[i], seenLinks); err != nil {
			return err
		}
	}
	for i := range s.Steps {
		if err := v.step(index("steps", i), &s.Steps[i]); err != nil {
			return err
		}
	}
	if mn := s.MulticastNotifications; mn != nil {
		return v.multicastNotifications("multicast_notifications", mn)
	}
	return nil
}

func (v *validator) node(p string, n *Node) error {
	switch n.Role {
	case RoleClient, RoleProxy, RoleServer, RoleExternal:
	default:
		return errAt(field(p, "role"), fmt.Sprintf("unknown role %q (want client, proxy, server or external)", n.Role))
	}
	if n.Listen != "" {
		if err := checkHostPort(n.Listen); err != nil {
			return errAt(field(p, "listen"), err.Error())
		}
		if h, _, _ := net.SplitHostPort(n.Listen); !loopbackHost(h) {
			return errAt(field(p, "listen"), fmt.Sprintf("%q is not a loopback address: lab nodes listen on 127.0.0.1, ::1 or localhost, where the lab's links and an outside peer on this machine reach them (a wildcard or another interface would take datagrams from the network)", n.Listen))
		}
	}
	if n.Role == RoleExternal {
		if n.Addr == "" {
			return errAt(field(p, "addr"), "missing (an external node needs the address:port of the outside endpoint)")
		}
		if err := checkHostPort(n.Addr); err != nil {
			return errAt(field(p, "addr"), err.Error())
		}
	} else if n.Addr != "" {
		return errAt(field(p, "addr"), "only external nodes have addr (lab nodes use listen)")
	}
	if len(n.Sources) > 0 && n.Role != RoleExternal {
		return errAt(field(p, "sources"), "only external nodes have sources (the addresses an outside peer sends from)")
	}
	if len(n.Sources) > maxSources {
		return errAt(field(p, "sources"), fmt.Sprintf("%d entries, at most %d", len(n.Sources), maxSources))
	}
	for i, src := range n.Sources {
		if _, err := ParseSource(src); err != nil {
			return errAt(index(field(p, "sources"), i), err.Error())
		}
	}
	if n.Authority != "" && !validHost(n.Authority) {
		return errAt(field(p, "authority"), fmt.Sprintf("%q is not a host name", n.Authority))
	}
	if n.LayerLimit < 0 || n.LayerLimit > 64 {
		return errAt(field(p, "layer_limit"), fmt.Sprintf("%d is out of range (0 for the default %d, or 1 to 64)", n.LayerLimit, DefaultLayerLimit))
	}
	if n.Role != RoleProxy {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"forward", n.Forward}, {"reverse", len(n.Reverse) > 0}, {"upstream", n.Upstream != ""},
			{"next_hop_contexts", len(n.NextHopContexts) > 0}, {"allow", len(n.Allow) > 0}, {"hop_limit", n.HopLimit != 0},
		} {
			if f.set {
				return errAt(field(p, f.name), "only proxies have "+f.name+" (this node is a "+n.Role+")")
			}
		}
	}
	if n.RequireEcho && n.Role != RoleServer {
		return errAt(field(p, "require_echo"), "only servers require Echo (this node is a "+n.Role+")")
	}
	if len(n.Resources) > 0 && n.Role != RoleServer {
		return errAt(field(p, "resources"), "only servers have resources (this node is a "+n.Role+")")
	}
	if len(n.SourcePolicy) > 0 && n.Role != RoleServer && n.Role != RoleProxy {
		return errAt(field(p, "source_policy"), "only servers and proxies have a source policy")
	}
	if n.HopLimit < NoHopLimit || n.HopLimit > 255 {
		return errAt(field(p, "hop_limit"), fmt.Sprintf("%d is out of range (1 to 255; 0 for the default %d; -1 to insert none)", n.HopLimit, DefaultHopLimit))
	}
	for i, r := range n.Reverse {
		rp := index(field(p, "reverse"), i)
		if r.Host == "" && len(r.PathPrefix) == 0 {
			return errAt(rp, "a reverse route needs host, path_prefix or both")
		}
		if r.Host != "" && !validHost(r.Host) {
			return errAt(field(rp, "host"), fmt.Sprintf("%q is not a host name", r.Host))
		}
		for j, seg := range r.PathPrefix {
			if seg == "" || strings.Contains(seg, "/") {
				return errAt(index(field(rp, "path_prefix"), j), fmt.Sprintf("%q is not a path segment", seg))
			}
		}
		if err := v.proxyTarget(field(rp, "to"), r.To, n); err != nil {
			return err
		}
		if r.StandsForMembers && v.groups[r.To] == nil {
			return errAt(field(rp, "stands_for_members"), fmt.Sprintf("%q is not a group: only a route to a group has members to stand in for", r.To))
		}
		for j, name := range r.Contexts {
			c, ok := v.contexts[name]
			if !ok {
				return errAt(index(field(rp, "contexts"), j), fmt.Sprintf("unknown context %q", name))
			}
			if c.A.Node != n.ID && c.B.Node != n.ID {
				return errAt(index(field(rp, "contexts"), j), fmt.Sprintf("%s holds no side of context %q", n.ID, name))
			}
		}
	}
	if n.Upstream != "" {
		if !n.Forward {
			return errAt(field(p, "upstream"), "only a forward-proxy (forward: true) has an upstream proxy")
		}
		u, ok := v.nodes[n.Upstream]
		if !ok {
			return errAt(field(p, "upstream"), fmt.Sprintf("unknown node %q", n.Upstream))
		}
		if u.Role != RoleProxy && u.Role != RoleExternal {
			return errAt(field(p, "upstream"), fmt.Sprintf("node %q is a %s, not a proxy", n.Upstream, u.Role))
		}
		if u.ID == n.ID {
			return errAt(field(p, "upstream"), "a proxy cannot be its own upstream")
		}
	}
	for _, hop := range sortedKeys(n.NextHopContexts) {
		hp := field(field(p, "next_hop_contexts"), hop)
		if err := v.target(hp, hop, n.ID); err != nil {
			return err
		}
		if err := v.contextBetween(hp, n.NextHopContexts[hop], n.ID, hop); err != nil {
			return err
		}
	}
	for _, ctx := range sortedKeys(n.Allow) {
		ap := field(field(p, "allow"), ctx)
		if ctx != "" {
			if err := v.contextOf(ap, ctx, n.ID); err != nil {
				return err
			}
		}
		for j, t := range n.Allow[ctx] {
			if t == "*" {
				continue
			}
			if err := v.proxyTarget(index(ap, j), t, n); err != nil {
				return err
			}
		}
	}
	for _, src := range sortedKeys(n.SourcePolicy) {
		sp := field(field(p, "source_policy"), src)
		if _, ok := v.nodes[src]; !ok {
			return errAt(sp, fmt.Sprintf("unknown node %q", src))
		}
		for j, ctx := range n.SourcePolicy[src] {
			if err := v.contextOf(index(sp, j), ctx, n.ID); err != nil {
				return err
			}
		}
	}
	seenRes := map[string]bool{}
	for i, r := range n.Resources {
		rp := index(field(p, "resources"), i)
		res, err := ParseResource(r)
		if err != nil {
			return errAt(rp, err.Error())
		}
		if seenRes[res.Path] {
			return errAt(rp, fmt.Sprintf("resource /%s listed twice", res.Path))
		}
		seenRes[res.Path] = true
	}
	return nil
}

// target checks that id names a node other than self that can receive a
// request (anything but a client).
func (v *validator) target(p, id, self string) error {
	t, ok := v.nodes[id]
	if !ok {
		return errAt(p, fmt.Sprintf("unknown node %q", id))
	}
	if id == self {
		return errAt(p, fmt.Sprintf("node %q cannot send to itself", id))
	}
	if t.Role == RoleClient {
		return errAt(p, fmt.Sprintf("node %q is a client and receives no requests", id))
	}
	return nil
}

// proxyTarget checks a target of a proxy's reverse route or allow-list: a
// node, or a group, which a proxy forwards to as
// draft-ietf-core-groupcomm-proxy says.
func (v *validator) proxyTarget(p, id string, n *Node) error {
	if v.groups[id] != nil {
		if n.Role != RoleProxy {
			return errAt(p, fmt.Sprintf("group %q: only a proxy forwards requests to a group", id))
		}
		return nil
	}
	return v.target(p, id, n.ID)
}

// contextOf checks that ctx names a context that node holds.
func (v *validator) contextOf(p, ctx, node string) error {
	c, ok := v.contexts[ctx]
	if !ok {
		return errAt(p, fmt.Sprintf("unknown context %q", ctx))
	}
	if c.A.Node != node && c.B.Node != node {
		return errAt(p, fmt.Sprintf("context %q is between %s and %s, not held by %s", ctx, c.A.Node, c.B.Node, node))
	}
	return nil
}

// contextBetween checks that ctx is shared by exactly the nodes x and y.
func (v *validator) contextBetween(p, ctx, x, y string) error {
	c, ok := v.contexts[ctx]
	if !ok {
		return errAt(p, fmt.Sprintf("unknown context %q", ctx))
	}
	if !(c.A.Node == x && c.B.Node == y) && !(c.A.Node == y && c.B.Node == x) {
		return errAt(p, fmt.Sprintf("context %q is between %s and %s, not %s and %s", ctx, c.A.Node, c.B.Node, x, y))
	}
	return nil
}

func (v *validator) context(p string, c *Context) error {
	alg, ok := lookupAEAD(c.Alg)
	if !ok {
		return errAt(field(p, "alg"), fmt.Sprintf("unknown AEAD algorithm %q (want one of %s)", c.Alg, aeadNames()))
	}
	if !validHKDF(c.HKDF) {
		return errAt(field(p, "hkdf"), fmt.Sprintf("unknown HKDF algorithm %q (want SHA-256 or SHA-512)", c.HKDF))
	}
	// RFC 8613 section 3.3: IDs are at most nonce length - 6 bytes long.
	maxID := alg.MaxIDLen()
	ends := [2]struct {
		name string
		e    *Endpoint
	}{{"a", &c.A}, {"b", &c.B}}
	for _, end := range ends {
		ep := field(p, end.name)
		if end.e.Node == "" {
			return errAt(field(ep, "node"), "missing")
		}
		if _, ok := v.nodes[end.e.Node]; !ok {
			return errAt(field(ep, "node"), fmt.Sprintf("unknown node %q", end.e.Node))
		}
		if end.e.MasterSecret != "" {
			if b, err := decodeHex(end.e.MasterSecret); err != nil {
				return errAt(field(ep, "master_secret"), err.Error())
			} else if len(b) == 0 {
				return errAt(field(ep, "master_secret"), "empty")
			}
		}
		for _, id := range []struct{ name, val string }{{"sender_id", end.e.SenderID}, {"recipient_id", end.e.RecipientID}} {
			b, err := decodeHex(id.val)
			if err != nil {
				return errAt(field(ep, id.name), err.Error())
			}
			if len(b) > maxID {
				return errAt(field(ep, id.name), fmt.Sprintf("%d bytes is longer than the %d bytes %s allows (RFC 8613 section 3.3: nonce length - 6)", len(b), maxID, alg))
			}
		}
	}
	if c.A.Node == c.B.Node {
		return errAt(field(field(p, "b"), "node"), fmt.Sprintf("both ends of the context are node %q", c.A.Node))
	}
	if !strings.EqualFold(c.A.SenderID, c.B.RecipientID) {
		return errAt(field(field(p, "b"), "recipient_id"), fmt.Sprintf("%q must equal a.sender_id %q", c.B.RecipientID, c.A.SenderID))
	}
	if !strings.EqualFold(c.A.RecipientID, c.B.SenderID) {
		return errAt(field(field(p, "b"), "sender_id"), fmt.Sprintf("%q must equal a.recipient_id %q", c.B.SenderID, c.A.RecipientID))
	}
	if strings.EqualFold(c.A.SenderID, c.A.RecipientID) {
		return errAt(field(field(p, "a"), "recipient_id"), "sender and recipient IDs of one context must differ (RFC 8613 section 3.3)")
	}
	secret, err := decodeHex(c.MasterSecret)
	if err != nil {
		return errAt(field(p, "master_secret"), err.Error())
	}
	if c.EDHOC != nil {
		if err := validEDHOC(field(p, "edhoc"), c, alg); err != nil {
			return err
		}
	} else if len(secret) == 0 {
		return errAt(field(p, "master_secret"), "missing (hex, e.g. 16 bytes)")
	}
	if _, err := decodeHex(c.MasterSalt); err != nil {
		return errAt(field(p, "master_salt"), err.Error())
	}
	if c.IDContext != nil {
		if _, err := decodeHex(*c.IDContext); err != nil {
			return errAt(field(p, "id_context"), err.Error())
		}
	} else if c.SendIDContext {
		return errAt(field(p, "send_id_context"), "there is no id_context to send")
	}
	if c.ReplayWindow < 0 || c.ReplayWindow > 4096 {
		return errAt(field(p, "replay_window"), fmt.Sprintf("%d is out of range (0 for the default 32, or 1 to 4096)", c.ReplayWindow))
	}
	for _, node := range sortedKeys(c.Seq) {
		sp := field(field(p, "seq"), node)
		if node != c.A.Node && node != c.B.Node {
			return errAt(sp, fmt.Sprintf("node %q is not an end of this context", node))
		}
		if c.Seq[node] > maxSeq {
			return errAt(sp, fmt.Sprintf("%d is larger than 2^40-1 (RFC 8613 section 7.2.1)", c.Seq[node]))
		}
	}
	return nil
}

// idContextKey is the ID Context as a map key: "-" when absent (absent and
// empty differ, RFC 8613 3.2.1).
func idContextKey(c Context) string {
	if c.IDContext == nil {
		return "-"
	}
	return strings.ToLower(*c.IDContext)
}

type namedEnd struct {
	name string
	e    Endpoint
}

// ends names a context's two endpoints as validation paths do.
func ends(c Context) [2]namedEnd { return [2]namedEnd{{"a", c.A}, {"b", c.B}} }

// senderKeysUnique refuses two senders that share (Master Secret, Master
// Salt, ID Context, Sender ID): they derive one Sender Key and one Common
// IV, so their sequence numbers give the same nonces under the same key
// (RFC 8613 3.3 requires the quadruple to be unique "to ensure unique
// Sender Keys"). The algorithms enter the derivation too (RFC 8613 3.2.1:
// alg_aead is in the info, the HKDF hash differs), so contexts that differ
// in them derive unrelated keys and may share the quadruple. An
// endpoint's own master_secret counts for its side.
func (v *validator) senderKeysUnique() error {
	type key struct{ secret, salt, idctx, sid, alg, hkdf string }
	seen := map[key]string{}
	for i, c := range v.s.Contexts {
		idctx := idContextKey(c)
		for _, end := range ends(c) {
			secret := c.MasterSecret
			if end.e.MasterSecret != "" {
				secret = end.e.MasterSecret
			}
			alg, _ := lookupAEAD(c.Alg)
			hk := oscore.HKDFSHA256
			if c.HKDF != "" {
				hk, _ = oscore.ParseHKDFAlg(c.HKDF)
			}
			k := key{strings.ToLower(secret), strings.ToLower(c.MasterSalt), idctx, strings.ToLower(end.e.SenderID), alg.String(), hk.String()}
			if other, dup := seen[k]; dup {
				return errAt(field(field(index("contexts", i), end.name), "sender_id"),
					fmt.Sprintf("%s of context %q has the Master Secret, Master Salt, ID Context and Sender ID of %s: both would use the same key and nonces (RFC 8613 section 3.3)", end.e.Node, c.Name, other))
			}
			seen[k] = fmt.Sprintf("%s of context %q", end.e.Node, c.Name)
		}
	}
	return nil
}

// recipientIDsUnique refuses two contexts on one request-receiving node
// with the same Recipient ID and ID Context: the node could not tell from
// the kid which context an incoming request needs (RFC 8613 section 3.3).
// Clients are exempt: they match responses to contexts by token.
func (v *validator) recipientIDsUnique() error {
	type key struct{ node, rid, idctx string }
	seen := map[key]string{}
	for i, c := range v.s.Contexts {
		idctx := idContextKey(c)
		for _, end := range ends(c) {
			if n, ok := v.nodes[end.e.Node]; !ok || n.Role == RoleClient {
				continue
			}
			k := key{end.e.Node, strings.ToLower(end.e.RecipientID), idctx}
			if other, dup := seen[k]; dup {
				return errAt(field(field(index("contexts", i), end.name), "recipient_id"),
					fmt.Sprintf("node %s already has recipient ID %q in context %q (kids must select one context)", end.e.Node, end.e.RecipientID, other))
			}
			seen[k] = c.Name
		}
	}
	return nil
}

func (v *validator) link(p string, l *Link, seen map[[2]string]bool) error {
	if g := v.groups[l.A]; g != nil {
		if err := v.groupLink(p, l, g); err != nil {
			return err
		}
	} else if g := v.groups[l.B]; g != nil {
		return errAt(field(p, "a"), fmt.Sprintf("a group's link names the group as a (\"a\": %q, \"b\": the member)", l.B))
	}
	for _, end := range []struct{ name, id string }{{"a", l.A}, {"b", l.B}} {
		if _, ok := v.nodes[end.id]; !ok && v.groups[end.id] == nil {
			return errAt(field(p, end.name), fmt.Sprintf("unknown node %q", end.id))
		}
	}
	if l.A == l.B {
		return errAt(field(p, "b"), "a link joins two different nodes")
	}
	pair := [2]string{l.A, l.B}
	if pair[0] > pair[1] {
		pair[0], pair[1] = pair[1], pair[0]
	}
	if seen[pair] {
		return errAt(p, fmt.Sprintf("duplicate link between %s and %s", l.A, l.B))
	}
	seen[pair] = true
	for i, f := range l.Faults {
		fp := index(field(p, "faults"), i)
		switch f.Kind {
		case FaultDrop, FaultDelay, FaultDuplicate, FaultCorrupt, FaultReplay, FaultStrip:
		default:
			return errAt(field(fp, "kind"), fmt.Sprintf("unknown fault %q (want drop, delay, duplicate, corrupt, replay or strip)", f.Kind))
		}
		if f.Kind != FaultStrip && (f.Code != "" || f.Payload != "") {
			return errAt(field(fp, firstSet(f.Code, "code", "payload")), "only strip faults answer with a code and payload")
		}
		if f.Code != "" && (!validCode(f.Code) || f.Code[0] < '2' || f.Code[0] > '5') {
			return errAt(field(fp, "code"), fmt.Sprintf("%q is not a response code (c.dd, class 2 to 5)", f.Code))
		}
		switch f.Dir {
		case "", "a->b", "b->a":
		default:
			return errAt(field(fp, "dir"), fmt.Sprintf("unknown direction %q (want \"a->b\", \"b->a\" or empty for both)", f.Dir))
		}
		if f.Match < 0 {
			return errAt(field(fp, "match"), "must not be negative (0 = every datagram)")
		}
		if f.Delay != "" {
			if err := checkDuration(f.Delay); err != nil {
				return errAt(field(fp, "delay"), err.Error())
			}
		} else if f.Kind == FaultDelay {
			return errAt(field(fp, "delay"), "missing (a delay fault needs a duration such as \"50ms\")")
		}
		if f.Byte < 0 {
			return errAt(field(fp, "byte"), "must not be negative")
		}
		if f.Byte != 0 && f.Kind != FaultCorrupt {
			return errAt(field(fp, "byte"), "only corrupt faults flip a byte")
		}
		if f.ReplayOf != 0 {
			if f.Kind != FaultReplay {
				return errAt(field(fp, "replay_of"), "only replay faults have replay_of")
			}
			if f.ReplayOf < 0 || f.Match == 0 || f.ReplayOf >= f.Match {
				return errAt(field(fp, "replay_of"), "must name an earlier datagram than match (1 <= replay_of < match)")
			}
		}
	}
	return nil
}

var methods = []string{"GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH"}

func (v *validator) step(p string, st *Step) error {
	from, ok := v.nodes[st.From]
	if !ok {
		return errAt(field(p, "from"), fmt.Sprintf("unknown node %q", st.From))
	}
	if st.EDHOC != "" {
		c, ok := v.contexts[st.EDHOC]
		switch {
		case !ok:
			return errAt(field(p, "edhoc"), fmt.Sprintf("unknown context %q", st.EDHOC))
		case c.EDHOC == nil:
			return errAt(field(p, "edhoc"), fmt.Sprintf("context %q is not established by EDHOC", st.EDHOC))
		case c.A.Node != st.From:
			return errAt(field(p, "edhoc"), fmt.Sprintf("the Initiator of %q is %s, not %s", st.EDHOC, c.A.Node, st.From))
		case st.Method != "POST":
			return errAt(field(p, "method"), "EDHOC requests are POSTs (RFC 9528 A.2)")
		}
	}
	if from.Role != RoleClient {
		return errAt(field(p, "from"), fmt.Sprintf("node %q is a %s; steps are sent by clients", st.From, from.Role))
	}
	if !contains(methods, st.Method) {
		return errAt(field(p, "method"), fmt.Sprintf("unknown method %q (want %s)", st.Method, strings.Join(methods, ", ")))
	}
	u, err := parseCoAPURI(st.URI)
	if err != nil {
		return errAt(field(p, "uri"), err.Error())
	}
	var toGroup *Group
	if st.To != "" {
		if toGroup = v.groups[st.To]; toGroup == nil {
			return errAt(field(p, "to"), fmt.Sprintf("unknown group %q", st.To))
		}
		if err := v.groupStep(p, st, toGroup); err != nil {
			return err
		}
	} else if st.Mode != "" || st.Member != "" {
		return errAt(field(p, firstSet(st.Mode, "mode", "member")), "only steps to a group (\"to\") have a mode or a member")
	}
	seenRoute := map[string]bool{}
	for i, id := range st.Route {
		rp := index(field(p, "route"), i)
		n, ok := v.nodes[id]
		if !ok {
			return errAt(rp, fmt.Sprintf("unknown node %q", id))
		}
		if n.Role != RoleProxy && n.Role != RoleExternal {
			return errAt(rp, fmt.Sprintf("node %q is a %s, not a proxy", id, n.Role))
		}
		if seenRoute[id] {
			return errAt(rp, fmt.Sprintf("node %q appears twice in the route", id))
		}
		seenRoute[id] = true
	}
	if st.ReplyFrom != "" {
		if err := v.replyFromStep(p, st, toGroup); err != nil {
			return err
		}
	}
	switch st.ProxyStyle {
	case "", StyleProxyScheme, StyleProxyURI:
	case StyleReverse:
		if len(st.Route) == 0 {
			return errAt(field(p, "proxy_style"), "reverse needs a route (the reverse-proxy the client talks to)")
		}
	default:
		return errAt(field(p, "proxy_style"), fmt.Sprintf("unknown proxy style %q (want proxy-scheme, proxy-uri or reverse)", st.ProxyStyle))
	}
	if len(st.Route) == 0 && toGroup == nil {
		if _, ok := v.resolve(u); !ok {
			return errAt(field(p, "uri"), fmt.Sprintf("no node answers to %q (set authority or listen on the target node, or give a route)", u.Host))
		}
	}
	seenCtx := map[string]bool{}
	for i, name := range st.Contexts {
		cp := index(field(p, "contexts"), i)
		if err := v.contextOf(cp, name, st.From); err != nil {
			return err
		}
		if seenCtx[name] {
			return errAt(cp, fmt.Sprintf("context %q is applied twice", name))
		}
		seenCtx[name] = true
	}
	if toGroup == nil {
		if err := v.layerOrder(p, st, u); err != nil {
			return err
		}
		if err := v.routeForwarding(p, st, u); err != nil {
			return err
		}
	}
	switch st.Type {
	case "", "CON", "NON":
	default:
		return errAt(field(p, "type"), fmt.Sprintf("unknown message type %q (want CON or NON)", st.Type))
	}
	switch st.Observe {
	case "", "register", "deregister":
	default:
		return errAt(field(p, "observe"), fmt.Sprintf("unknown observe action %q (want register or deregister)", st.Observe))
	}
	if err := checkToken(st.Token); err != nil {
		return errAt(field(p, "token"), err.Error())
	}
	if st.MID != nil && (*st.MID < 0 || *st.MID > 0xffff) {
		return errAt(field(p, "mid"), fmt.Sprintf("%d is not a message ID (0 to 65535)", *st.MID))
	}
	for i, t := range st.HopTokens {
		if err := checkToken(t); err != nil {
			return errAt(index(field(p, "hop_tokens"), i), err.Error())
		}
	}
	if len(st.HopTokens) > len(st.Route) {
		return errAt(field(p, "hop_tokens"), fmt.Sprintf("%d tokens for %d later legs", len(st.HopTokens), len(st.Route)))
	}
	for i, m := range st.HopMIDs {
		if m < 0 || m > 0xffff {
			return errAt(index(field(p, "hop_mids"), i), fmt.Sprintf("%d is not a message ID (0 to 65535)", m))
		}
	}
	if len(st.HopMIDs) > len(st.Route) {
		return errAt(field(p, "hop_mids"), fmt.Sprintf("%d message IDs for %d later legs", len(st.HopMIDs), len(st.Route)))
	}
	for i, o := range st.Options {
		op := index(field(p, "options"), i)
		if o.Number == 0 {
			return errAt(field(op, "number"), "missing (option numbers start at 1)")
		}
		if o.Number == 9 {
			return errAt(field(op, "number"), "the OSCORE option is added by the contexts, not by hand")
		}
		if o.Value != "" && o.Text != "" {
			return errAt(field(op, "text"), "give value (hex) or text, not both")
		}
		b, err := decodeHex(o.Value)
		if err != nil {
			return errAt(field(op, "value"), err.Error())
		}
		if len(b) > 1034 || len(o.Text) > 1034 {
			return errAt(op, "option values are at most 1034 bytes (RFC 7252 section 3.1)")
		}
	}
	if n := stepBytes(st); n > MaxStepBytes {
		return errAt(field(p, "payload"), fmt.Sprintf("the payload, URI and option values come to %d bytes, more than a request may carry (at most %d: block-wise transfer is off, so the request and every OSCORE layer on its way must fit one UDP datagram)", n, MaxStepBytes))
	}
	if st.Hops < 0 || st.Hops > 255 {
		return errAt(field(p, "hop_limit"), fmt.Sprintf("%d is out of range (1 to 255; 0 = no Hop-Limit option)", st.Hops))
	}
	if st.Repeat < 0 || st.Repeat > 10000 {
		return errAt(field(p, "repeat"), fmt.Sprintf("%d is out of range (0 to 10000)", st.Repeat))
	}
	for i, pin := range st.Seq {
		sp := index(field(p, "seq"), i)
		if err := v.contextOf(field(sp, "context"), pin.Context, pin.Node); err != nil {
			return err
		}
		if pin.Value > maxSeq {
			return errAt(field(sp, "value"), fmt.Sprintf("%d is larger than 2^40-1 (RFC 8613 section 7.2.1)", pin.Value))
		}
	}
	if e := st.Expect; e != nil {
		ep := field(p, "expect")
		if e.Code != "" && !validCode(e.Code) {
			return errAt(field(ep, "code"), fmt.Sprintf("%q is not a CoAP code (want c.dd such as 2.05)", e.Code))
		}
		if e.NoResponse && (e.Code != "" || e.Payload != nil) {
			return errAt(field(ep, "no_response"), "a step that expects no response cannot expect a code or payload")
		}
		if len(e.Responses) > 0 && toGroup == nil {
			return errAt(field(ep, "responses"), "only steps to a group (\"to\") expect responses per member")
		}
		if e.Refused && (e.Code != "" || e.Payload != nil || e.NoResponse) {
			return errAt(field(ep, "refused"), "a step that expects its response refused cannot expect a code, a payload or no response")
		}
		if e.Timeout != "" {
			if err := checkDuration(e.Timeout); err != nil {
				return errAt(field(ep, "timeout"), err.Error())
			}
		}
	}
	return nil
}

// resolve finds the node that answers to the URI's authority: by its
// authority name, or by a fixed listen (or external addr) address, where a
// URI without port means 5683 (RFC 7252 section 6.1).
func (v *validator) resolve(u *url.URL) (*Node, bool) {
	port := u.Port()
	if port == "" {
		port = "5683"
	}
	hostPort := net.JoinHostPort(u.Hostname(), port)
	for i := range v.s.Nodes {
		n := &v.s.Nodes[i]
		if n.Role == RoleClient {
			continue
		}
		if n.Authority != "" && strings.EqualFold(n.Authority, u.Hostname()) {
			return n, true
		}
		if (n.Listen != "" && n.Listen == hostPort) || (n.Addr != "" && n.Addr == hostPort) {
			return n, true
		}
	}
	return nil, false
}

// target is the origin server of a step as far as the scenario says: the
// resolved authority, or for a reverse-proxied step the matching reverse
// route of the last proxy on the route.
func (v *validator) finalTarget(st *Step, u *url.URL) (*Node, bool) {
	if st.ProxyStyle != StyleReverse || len(st.Route) == 0 {
		return v.resolve(u)
	}
	last := v.nodes[st.Route[len(st.Route)-1]]
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for _, r := range last.Reverse {
		if r.Host != "" && !strings.EqualFold(r.Host, u.Hostname()) {
			continue
		}
		if len(r.PathPrefix) > len(segs) {
			continue
		}
		match := true
		for i, seg := range r.PathPrefix {
			if segs[i] != seg {
				match = false
				break
			}
		}
		if match {
			n, ok := v.nodes[r.To]
			return n, ok
		}
	}
	return nil, false
}

// routeForwarding checks a forward-proxied step's route against the
// proxies' own forwarding: a forward-proxy sends a request on to its
// upstream when it has one, else to the node the URI's host names, so
// each forward-proxy on the route must forward to the node after it and
// the last to the target. The route is what the client believes (it
// picks the layers by it, draft 2.2), the forwarding is what happens; if
// they differ, the trace would name hops the request never takes. Proxies
// that do not forward-proxy (the request fails there, as some built-ins
// show) and external nodes (whose forwarding the lab cannot know) are not
// checked.
func (v *validator) routeForwarding(p string, st *Step, u *url.URL) error {
	if st.ProxyStyle == StyleReverse || len(st.Route) == 0 {
		return nil
	}
	target, known := v.resolve(u)
	// A proxy the client shares a layer with is named in the layer
	// outside it (onion layers, draft 2.3, A.7): the proxy before it
	// forwards there without an upstream (onionReachable checks the rest).
	named := map[string]bool{}
	for _, name := range st.Contexts {
		if c := v.contexts[name]; c != nil {
			named[c.A.Node], named[c.B.Node] = true, true
		}
	}
	for i, id := range st.Route {
		n := v.nodes[id]
		if n.Role != RoleProxy || !n.Forward || (known && target.ID == id) {
			continue
		}
		if i+1 < len(st.Route) {
			next := st.Route[i+1]
			np := index(field(p, "route"), i+1)
			switch n.Upstream {
			case next:
			case "":
				if named[next] {
					continue
				}
				return errAt(np, fmt.Sprintf("%s forwards to the node the URI's host names, not to %s: give %s \"upstream\": %q, or take %s out of the route", id, next, id, next, next))
			default:
				return errAt(np, fmt.Sprintf("%s forwards to its upstream %s, not to %s: set its \"upstream\" to %q, or route through %s", id, n.Upstream, next, next, n.Upstream))
			}
			continue
		}
		if n.Upstream != "" && (!known || target.ID != n.Upstream) {
			return errAt(index(field(p, "route"), i), fmt.Sprintf("%s forwards to its upstream %s, which the route leaves out: add %s to the route after %s, or remove %s's \"upstream\"", id, n.Upstream, n.Upstream, id, id))
		}
	}
	return nil
}

// layerOrder checks the step's contexts against the path: each one's other
// end must be a proxy on the route or the target, and the list must run
// from the farthest end inwards, innermost first (draft section 2.3: the
// end-to-end layer is applied first, the first hop's layer last).
func (v *validator) layerOrder(p string, st *Step, u *url.URL) error {
	target, known := v.finalTarget(st, u)
	prevPos, prevName := -1, ""
	for i, name := range st.Contexts {
		c := v.contexts[name]
		other := c.A.Node
		if other == st.From {
			other = c.B.Node
		}
		pos := len(st.Route) // the target, or beyond the route when unknown
		onRoute := false
		for j, r := range st.Route {
			if r == other {
				pos, onRoute = j, true
				break
			}
		}
		if !onRoute && !known && st.ProxyStyle != StyleReverse {
			fix := fmt.Sprintf(`"authority": %q`, u.Hostname())
			if net.ParseIP(u.Hostname()) != nil {
				port := u.Port()
				if port == "" {
					port = "5683"
				}
				fix = fmt.Sprintf(`"listen": %q`, net.JoinHostPort(u.Hostname(), port))
			}
			return errAt(field(p, "uri"), fmt.Sprintf("no node answers to %q, so context %q cannot reach %s: give %s %s", u.Hostname(), name, other, other, fix))
		}
		if !onRoute && known && other != target.ID {
			return errAt(index(field(p, "contexts"), i), fmt.Sprintf("context %q is shared with %s, which is neither on the route nor the target %s", name, other, target.ID))
		}
		if prevPos >= 0 && pos > prevPos {
			return errAt(index(field(p, "contexts"), i), fmt.Sprintf("context %q (with %s) is applied outside %q, but %s lies farther along the path; list the contexts innermost (end-to-end) first", name, other, prevName, other))
		}
		if onRoute && pos > 0 && st.ProxyStyle != StyleReverse {
			if err := v.onionReachable(st, pos, name); err != nil {
				return errAt(index(field(p, "contexts"), i), err.Error())
			}
		}
		prevPos, prevName = pos, name
	}
	return nil
}

// onionReachable checks that the proxy before route[pos], which gets the
// request with the onion layer for route[pos] still on, can hand it to
// route[pos]: it must be a forward-proxy (it acts on the Proxy-Scheme and
// Uri-Host that the client puts outside the layer) and must not send the
// request to an upstream proxy of its own instead (draft 2.3, A.7). An
// external node is taken on trust.
func (v *validator) onionReachable(st *Step, pos int, ctx string) error {
	before, at := v.nodes[st.Route[pos-1]], st.Route[pos]
	if before == nil || before.Role == RoleExternal {
		return nil
	}
	if !before.Forward {
		return fmt.Errorf("context %q puts a layer for %s, but %s before it is not a forward-proxy and cannot reach it: no path peels that layer", ctx, at, before.ID)
	}
	if before.Upstream != "" && before.Upstream != at {
		return fmt.Errorf("context %q puts a layer for %s, but %s before it forwards to its upstream %s: no path peels that layer", ctx, at, before.ID, before.Upstream)
	}
	return nil
}

func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		if len(s)%2 == 1 {
			return nil, fmt.Errorf("%q is not hex (odd number of digits)", s)
		}
		return nil, fmt.Errorf("%q is not hex (want digits 0-9 and a-f, no 0x prefix)", s)
	}
	return b, nil
}

// checkToken refuses tokens longer than 8 bytes (RFC 7252 section 3).
func checkToken(s string) error {
	b, err := decodeHex(s)
	if err != nil {
		return err
	}
	if len(b) > 8 {
		return fmt.Errorf("%d bytes is longer than a token may be (8, RFC 7252 section 3)", len(b))
	}
	return nil
}

func checkDuration(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (want e.g. \"50ms\" or \"2s\")", s)
	}
	if d < 0 || d > time.Hour {
		return fmt.Errorf("%q is out of range (0 to 1h)", s)
	}
	return nil
}

func checkHostPort(s string) error {
	h, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port (0 to 65535)", s)
	}
	if h == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if _, err := netip.ParseAddr(h); err != nil && !validHost(h) {
		return fmt.Errorf("%q has no valid host", s)
	}
	return nil
}

// loopbackHost: localhost or a loopback IP literal.
func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// validHost accepts DNS names and IP literals (no brackets).
func validHost(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// parseCoAPURI accepts coap:// URIs with a host (RFC 7252 section 6.1).
func parseCoAPURI(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("missing (e.g. \"coap://example.com/alarm_status\")")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URI", s)
	}
	if u.Scheme == "coaps" {
		return nil, fmt.Errorf("%q: coaps needs DTLS (RFC 7252 9), which the lab does not speak; use coap, protected by OSCORE", s)
	}
	if u.Scheme != "coap" {
		return nil, fmt.Errorf("%q: scheme must be coap", s)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", s)
	}
	if !validHost(u.Hostname()) {
		return nil, fmt.Errorf("%q has no valid host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has no valid port", s)
		}
	}
	if u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q: CoAP URIs have no fragment or user info", s)
	}
	return u, nil
}

// firstSet is name when v is set, else other.
func firstSet(v, name, other string) string {
	if v != "" {
		return name
	}
	return other
}

// validCode accepts "c.dd" with class 0 to 7 and detail 00 to 31.
func validCode(s string) bool {
	if len(s) != 4 || s[1] != '.' || s[0] < '0' || s[0] > '7' {
		return false
	}
	d, err := strconv.Atoi(s[2:])
	return err == nil && s[2] >= '0' && s[2] <= '9' && d <= 31
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
