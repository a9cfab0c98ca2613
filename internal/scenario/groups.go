package scenario

import (
	"crypto/sha256"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"time"

	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// GroupContext is one Group OSCORE Security Context (RFC 10021 2) as the
// Group Manager would hand it to each member: the Common Context and, per
// member, its Sender ID and authentication key. Every member derives its
// own instance (its Sender Context and a Recipient Context per other
// member). Both modes are set up: group mode with the Group Encryption
// and Signature Algorithms, pairwise mode with the AEAD Algorithm and the
// Pairwise Key Agreement Algorithm that goes with the HKDF (2.1.10).
type GroupContext struct {
	Name         string               `json:"name"`                    // "GRP"
	GID          string               `json:"gid"`                     // hex: Gid, the ID Context (2.1.3), sent as kid context (3.2)
	MasterSecret string               `json:"master_secret"`           // hex
	MasterSalt   string               `json:"master_salt,omitempty"`   // hex
	GroupEncAlg  string               `json:"group_enc_alg,omitempty"` // Group Encryption Algorithm (2.1.7), an AEAD; default 10
	SigAlg       string               `json:"sig_alg,omitempty"`       // Signature Algorithm (2.1.8): "EdDSA" (-8, default) | "ES256" (-7)
	Alg          string               `json:"alg,omitempty"`           // AEAD Algorithm of the pairwise mode (2.1.1); default 10
	HKDF         string               `json:"hkdf,omitempty"`          // "SHA-256" (default) | "SHA-512"
	GMCred       string               `json:"gm_cred,omitempty"`       // hex: the Group Manager's credential, as given (2.1.6); empty = none
	ReplayWindow int                  `json:"replay_window,omitempty"` // per Recipient Context; 0 = 32
	Members      []GroupContextMember `json:"members"`
}

// GroupContextMember is one member of a group context.
type GroupContextMember struct {
	Node     string `json:"node"`
	SenderID string `json:"sender_id"` // hex, unique in the group (2.2)
	// Key is the hex private key: an Ed25519 seed (32 bytes) or a P-256
	// scalar, by sig_alg. Empty: a key derived from the context's name and
	// the node id, the same on every run (a demonstration key, public).
	Key  string `json:"key,omitempty"`
	Cred string `json:"cred,omitempty"` // hex CCS holding Key's public key; empty: one made with the node id as subject
	Seq  uint64 `json:"seq,omitempty"`  // pinned initial Sender Sequence Number
}

// Group is one CoAP group (RFC 7252 8; draft-ietf-core-groupcomm-bis 2):
// an address that stands for all its members. Loopback has no IP
// multicast, so the lab opens the address as a link that records each
// datagram sent to it once and then one copy to each member; each member
// answers from an address of its own.
type Group struct {
	ID      string        `json:"id"`                // "G": what steps name in "to", and the group's name in traces
	Listen  string        `json:"listen,omitempty"`  // the group's address, "127.0.0.1:5700"; empty = port 0
	Context string        `json:"context,omitempty"` // the group context its members hold; empty = plain CoAP
	Members []GroupMember `json:"members"`
}

// GroupMember is one server of a group. Faults on the copies to it and on
// its replies go on the link named by the group id and the member
// ("links": [{"a": "G", "b": "S2", ...}]): drop and delay only.
type GroupMember struct {
	Node string `json:"node"` // a server node
	// Leisure is how long the member waits before it answers a group
	// request (RFC 7252 8.2, where it is random; fixed here, so the order
	// of the answers in a trace is the same on every run).
	Leisure string `json:"leisure,omitempty"` // "20ms"
	// Impersonate makes the member an insider that answers as another
	// member of the group context: with that member's Sender ID and Sender
	// Key, which every member derives, but signed with its own key, which
	// is all it has. The client's check of the countersignature against
	// the other member's credential refuses the response (RFC 10021 7.4:
	// group mode authenticates the source, not just the group).
	Impersonate string `json:"impersonate,omitempty"`
}

// groupMemberKeyLabel prefixes the hash that gives a member without a
// "key" its demonstration key.
const groupMemberKeyLabel = "oscore-lab group member key\x00"

// lookupSig reads sig_alg: a COSE number or a name; "" is EdDSA.
func lookupSig(s string) (group.SigAlg, bool) {
	switch strings.ToUpper(s) {
	case "", "EDDSA", "-8":
		return group.EdDSA, true
	case "ES256", "-7":
		return group.ES256, true
	}
	return 0, false
}

// MemberParams are the parameters of member m's instance of the group
// context (RFC 10021 2): the Common Context, m's Sender ID, key and
// credential. The other members' Recipient Contexts come from Credentials.
func (g *GroupContext) MemberParams(m *GroupContextMember) (group.Params, error) {
	var p group.Params
	var err error
	if p.MasterSecret, err = decodeHex(g.MasterSecret); err != nil {
		return p, err
	}
	if p.MasterSalt, err = decodeHex(g.MasterSalt); err != nil {
		return p, err
	}
	if p.GroupID, err = decodeHex(g.GID); err != nil {
		return p, err
	}
	if p.GMCred, err = decodeHex(g.GMCred); err != nil {
		return p, err
	}
	enc, ok := lookupAEAD(g.GroupEncAlg)
	if !ok {
		return p, fmt.Errorf("unknown Group Encryption Algorithm %q (want one of %s)", g.GroupEncAlg, aeadNames())
	}
	aead, ok := lookupAEAD(g.Alg)
	if !ok {
		return p, fmt.Errorf("unknown AEAD Algorithm %q (want one of %s)", g.Alg, aeadNames())
	}
	sig, ok := lookupSig(g.SigAlg)
	if !ok {
		return p, fmt.Errorf("unknown Signature Algorithm %q (want EdDSA or ES256)", g.SigAlg)
	}
	p.GroupEnc, p.AEAD, p.Sig, p.HKDF, p.KeyAgreement = enc, aead, sig, group.HMAC256, group.ECDHSSHKDF256
	if g.HKDF != "" {
		h, err := oscore.ParseHKDFAlg(g.HKDF)
		if err != nil {
			return p, fmt.Errorf("unknown HKDF %q (want SHA-256 or SHA-512)", g.HKDF)
		}
		if h == oscore.HKDFSHA512 {
			p.HKDF, p.KeyAgreement = group.HMAC512, group.ECDHSSHKDF512
		}
	}
	p.ReplayWindow = g.ReplayWindow
	if p.SenderID, err = decodeHex(m.SenderID); err != nil {
		return p, err
	}
	key, err := g.memberKey(m, sig)
	if err != nil {
		return p, err
	}
	p.SenderKey = key
	if m.Cred != "" {
		p.SenderCred, err = decodeHex(m.Cred)
	} else {
		p.SenderCred, err = group.MakeCCS(m.Node, key.Public())
	}
	return p, err
}

// memberKey is m's private key: the given one, or the demonstration key
// SHA-256(label || context name || 0 || node id).
func (g *GroupContext) memberKey(m *GroupContextMember, sig group.SigAlg) (*group.PrivateKey, error) {
	var seed []byte
	if m.Key != "" {
		b, err := decodeHex(m.Key)
		if err != nil {
			return nil, err
		}
		seed = b
	} else {
		h := sha256.Sum256([]byte(groupMemberKeyLabel + g.Name + "\x00" + m.Node))
		seed = h[:]
	}
	if sig == group.ES256 {
		return group.NewP256Key(seed)
	}
	return group.NewEd25519Key(seed)
}

// NewMemberContext derives member node's instance of the group context,
// with a Recipient Context for every other member (RFC 10021 2.2).
func (g *GroupContext) NewMemberContext(node string) (*group.Context, error) {
	return g.newMemberContext(node, "")
}

// NewImpostorContext is node's instance with the Sender ID of member as in
// place of its own (GroupMember.Impersonate): node's key and credential,
// as's Sender Key, and no Recipient Context for as.
func (g *GroupContext) NewImpostorContext(node, as string) (*group.Context, error) {
	return g.newMemberContext(node, as)
}

func (g *GroupContext) newMemberContext(node, as string) (*group.Context, error) {
	var self *GroupContextMember
	creds := map[string][]byte{} // node -> credential
	for i := range g.Members {
		m := &g.Members[i]
		if m.Node == node {
			self = m
		}
		p, err := g.MemberParams(m)
		if err != nil {
			return nil, fmt.Errorf("member %s: %v", m.Node, err)
		}
		creds[m.Node] = p.SenderCred
	}
	if self == nil {
		return nil, fmt.Errorf("%s is not a member of group context %s", node, g.Name)
	}
	p, err := g.MemberParams(self)
	if err != nil {
		return nil, err
	}
	// Every instance bears the group context's name, as a pairwise
	// context's two ends do: layer reports name the context, events the node.
	name := g.Name
	if as != "" {
		i := slices.IndexFunc(g.Members, func(m GroupContextMember) bool { return m.Node == as })
		if i < 0 || as == node {
			return nil, fmt.Errorf("%s cannot impersonate %s: not another member of group context %s", node, as, g.Name)
		}
		p.SenderID, _ = decodeHex(g.Members[i].SenderID)
	}
	c, err := group.NewContext(name, p)
	if err != nil {
		return nil, err
	}
	if self.Seq != 0 {
		if err := c.SetSenderSeq(self.Seq); err != nil {
			return nil, err
		}
	}
	for i := range g.Members {
		m := &g.Members[i]
		if m.Node == node || m.Node == as {
			continue
		}
		kid, _ := decodeHex(m.SenderID)
		if _, err := c.AddRecipient(kid, creds[m.Node]); err != nil {
			return nil, fmt.Errorf("member %s: %v", m.Node, err)
		}
	}
	return c, nil
}

// GroupContextNamed finds a group context by name.
func (s *Scenario) GroupContextNamed(name string) *GroupContext {
	for i := range s.GroupContexts {
		if s.GroupContexts[i].Name == name {
			return &s.GroupContexts[i]
		}
	}
	return nil
}

// GroupNamed finds a group by id.
func (s *Scenario) GroupNamed(id string) *Group {
	for i := range s.Groups {
		if s.Groups[i].ID == id {
			return &s.Groups[i]
		}
	}
	return nil
}

// groupContext validates one group context: names, hex, unique Sender
// IDs, and each member's context as the lab will derive it.
func (v *validator) groupContext(p string, g *GroupContext) error {
	if g.GID == "" {
		return errAt(field(p, "gid"), "missing (the Gid, hex; RFC 10021 2.1.3)")
	}
	if b, err := decodeHex(g.GID); err != nil {
		return errAt(field(p, "gid"), err.Error())
	} else if len(b) > 255 {
		return errAt(field(p, "gid"), "longer than 255 bytes (it is sent as kid context, RFC 8613 6.1)")
	}
	if g.MasterSecret == "" {
		return errAt(field(p, "master_secret"), "missing (hex)")
	}
	for _, f := range []struct{ name, val string }{{"master_secret", g.MasterSecret}, {"master_salt", g.MasterSalt}, {"gm_cred", g.GMCred}} {
		if _, err := decodeHex(f.val); err != nil {
			return errAt(field(p, f.name), err.Error())
		}
	}
	if _, ok := lookupAEAD(g.GroupEncAlg); !ok {
		return errAt(field(p, "group_enc_alg"), fmt.Sprintf("unknown algorithm %q (want one of %s)", g.GroupEncAlg, aeadNames()))
	}
	if _, ok := lookupAEAD(g.Alg); !ok {
		return errAt(field(p, "alg"), fmt.Sprintf("unknown algorithm %q (want one of %s)", g.Alg, aeadNames()))
	}
	if _, ok := lookupSig(g.SigAlg); !ok {
		return errAt(field(p, "sig_alg"), fmt.Sprintf("unknown algorithm %q (want EdDSA or ES256)", g.SigAlg))
	}
	if !validHKDF(g.HKDF) {
		return errAt(field(p, "hkdf"), fmt.Sprintf("unknown HKDF %q (want SHA-256 or SHA-512)", g.HKDF))
	}
	if g.ReplayWindow < 0 || g.ReplayWindow > 4096 {
		return errAt(field(p, "replay_window"), fmt.Sprintf("%d is out of range (0 for the default 32, or 1 to 4096)", g.ReplayWindow))
	}
	if len(g.Members) == 0 {
		return errAt(field(p, "members"), "missing (a group context needs at least one member)")
	}
	nodes, ids := map[string]bool{}, map[string]string{}
	for i := range g.Members {
		m := &g.Members[i]
		mp := index(field(p, "members"), i)
		if _, ok := v.nodes[m.Node]; !ok {
			return errAt(field(mp, "node"), fmt.Sprintf("unknown node %q", m.Node))
		}
		if nodes[m.Node] {
			return errAt(field(mp, "node"), fmt.Sprintf("%s is a member twice", m.Node))
		}
		nodes[m.Node] = true
		if _, err := decodeHex(m.SenderID); err != nil {
			return errAt(field(mp, "sender_id"), err.Error())
		}
		if other, dup := ids[m.SenderID]; dup {
			return errAt(field(mp, "sender_id"), fmt.Sprintf("Sender ID %q is %s's already (Sender IDs are unique in a group, RFC 10021 2.2)", m.SenderID, other))
		}
		ids[m.SenderID] = m.Node
		for _, f := range []struct{ name, val string }{{"key", m.Key}, {"cred", m.Cred}} {
			if _, err := decodeHex(f.val); err != nil {
				return errAt(field(mp, f.name), err.Error())
			}
		}
		if m.Seq > maxSeq {
			return errAt(field(mp, "seq"), fmt.Sprintf("%d is larger than 2^40-1 (RFC 10021 2.6.2)", m.Seq))
		}
		prm, err := g.MemberParams(m)
		if err == nil {
			_, err = group.NewContext(g.Name, prm)
		}
		if err != nil {
			return errAt(mp, strings.TrimPrefix(err.Error(), "group: "))
		}
	}
	return nil
}

// group validates one group: its members are distinct server nodes, its
// context exists and holds every member.
func (v *validator) group(p string, g *Group) error {
	if g.Listen != "" {
		if err := checkHostPort(g.Listen); err != nil {
			return errAt(field(p, "listen"), err.Error())
		}
		if h, _, _ := net.SplitHostPort(g.Listen); !loopbackHost(h) {
			return errAt(field(p, "listen"), fmt.Sprintf("%q is not a loopback address (the group's link listens on loopback)", g.Listen))
		}
	}
	var gc *GroupContext
	if g.Context != "" {
		if gc = v.groupContexts[g.Context]; gc == nil {
			return errAt(field(p, "context"), fmt.Sprintf("unknown group context %q", g.Context))
		}
	}
	if len(g.Members) == 0 {
		return errAt(field(p, "members"), fmt.Sprintf("missing (group %s needs at least one member)", g.ID))
	}
	if len(g.Members) > MaxGroupMembers {
		return errAt(field(p, "members"), fmt.Sprintf("%d members is more than a group link serves (at most %d)", len(g.Members), MaxGroupMembers))
	}
	seen := map[string]bool{}
	for i, m := range g.Members {
		mp := index(field(p, "members"), i)
		n, ok := v.nodes[m.Node]
		switch {
		case !ok:
			return errAt(field(mp, "node"), fmt.Sprintf("unknown node %q", m.Node))
		case n.Role != RoleServer:
			return errAt(field(mp, "node"), fmt.Sprintf("node %q is a %s; group members are servers", m.Node, n.Role))
		case seen[m.Node]:
			return errAt(field(mp, "node"), fmt.Sprintf("%s is a member of %s twice", m.Node, g.ID))
		case gc != nil && !gc.hasMember(m.Node):
			return errAt(field(mp, "node"), fmt.Sprintf("%s is not a member of group context %s, which the group uses", m.Node, gc.Name))
		}
		seen[m.Node] = true
		if m.Impersonate != "" {
			switch {
			case gc == nil:
				return errAt(field(mp, "impersonate"), fmt.Sprintf("group %s has no group context: there is no one to impersonate in plain CoAP", g.ID))
			case m.Impersonate == m.Node || !gc.hasMember(m.Impersonate):
				return errAt(field(mp, "impersonate"), fmt.Sprintf("%q is not another member of group context %s", m.Impersonate, gc.Name))
			}
		}
		if m.Leisure != "" {
			if err := checkDuration(m.Leisure); err != nil {
				return errAt(field(mp, "leisure"), err.Error())
			}
			if d, _ := time.ParseDuration(m.Leisure); d > maxLeisure {
				return errAt(field(mp, "leisure"), fmt.Sprintf("%q is longer than a member waits (at most %v)", m.Leisure, maxLeisure))
			}
		}
	}
	return nil
}

func (g *GroupContext) hasMember(node string) bool {
	for _, m := range g.Members {
		if m.Node == node {
			return true
		}
	}
	return false
}

// groupLink validates a link whose end a is a group: b is one of its
// members and the faults are drops and delays (grouplink in the lab).
func (v *validator) groupLink(p string, l *Link, g *Group) error {
	member := false
	for _, m := range g.Members {
		member = member || m.Node == l.B
	}
	if !member {
		return errAt(field(p, "b"), fmt.Sprintf("%q is not a member of group %s (a group's link goes to one of its members)", l.B, g.ID))
	}
	for i, f := range l.Faults {
		if f.Kind != FaultDrop && f.Kind != FaultDelay {
			return errAt(field(index(field(p, "faults"), i), "kind"), fmt.Sprintf("a group's link drops or delays, not %q", f.Kind))
		}
	}
	return nil
}

// groupStep validates the group fields of a step sent to group g.
func (v *validator) groupStep(p string, st *Step, g *Group) error {
	if len(st.Route) > 0 {
		if err := v.groupProxyStep(p, st, g); err != nil {
			return err
		}
	} else {
		switch {
		case st.ProxyStyle != "":
			return errAt(field(p, "proxy_style"), "a step to a group without a route goes straight to the group's address")
		case len(st.Contexts) > 0:
			return errAt(field(p, "contexts"), fmt.Sprintf("a step to a group is protected with the group's context (%q), not with contexts", g.Context))
		case st.MulticastTimeout != nil:
			return errAt(field(p, "multicast_timeout"), "only a group step through a proxy (a route) carries Multicast-Timeout")
		case st.EarlyStopAfter != 0:
			return errAt(field(p, "early_stop_after"), "only a group step through a proxy (a route) sends an Early Stop")
		case st.Expect != nil && st.Expect.MulticastTimeout != nil:
			return errAt(field(field(p, "expect"), "multicast_timeout"), "only a group step through a proxy can get an answer of the proxy")
		case st.Observe != "":
			return errAt(field(p, "observe"), "a step to a group observes only through a proxy")
		}
	}
	if st.EDHOC != "" || st.Repeat > 0 || len(st.Seq) > 0 || len(st.HopTokens) > 0 || len(st.HopMIDs) > 0 || st.Hops != 0 {
		return errAt(p, "a step to a group takes none of edhoc, repeat, seq, hop_tokens, hop_mids, hop_limit")
	}
	if st.Type == "CON" {
		return errAt(field(p, "type"), "a group request is NON (RFC 7252 8.1)")
	}
	gc := v.groupContexts[g.Context]
	switch st.Mode {
	case "", ModeGroup, ModePairwise:
		if st.Mode != "" && gc == nil {
			return errAt(field(p, "mode"), fmt.Sprintf("group %s has no group context, so its requests are plain CoAP", g.ID))
		}
	default:
		return errAt(field(p, "mode"), fmt.Sprintf("unknown mode %q (want group or pairwise)", st.Mode))
	}
	if gc != nil && !gc.hasMember(st.From) {
		return errAt(field(p, "from"), fmt.Sprintf("%s is not a member of group context %s, so it cannot protect a request for group %s", st.From, gc.Name, g.ID))
	}
	isMember := func(id string) bool {
		return slices.ContainsFunc(g.Members, func(m GroupMember) bool { return m.Node == id })
	}
	switch {
	case st.Mode == ModePairwise && st.Member == "":
		return errAt(field(p, "member"), "missing (a pairwise request is protected for one member, RFC 10021 8.3)")
	case st.Mode != ModePairwise && st.Member != "":
		return errAt(field(p, "member"), "only pairwise requests are for one member")
	case st.Member != "" && !isMember(st.Member):
		return errAt(field(p, "member"), fmt.Sprintf("%q is not a member of group %s", st.Member, g.ID))
	}
	e := st.Expect
	if e == nil {
		return nil
	}
	ep := field(p, "expect")
	switch {
	case len(st.Route) > 0 && e.Refused:
		return errAt(field(ep, "refused"), "a group step through a proxy states the proxy's own answer in code, payload and multicast_timeout, and each member's in responses")
	case len(st.Route) > 0 && e.NoResponse && (e.Code != "" || e.Payload != nil || e.MulticastTimeout != nil || len(e.Responses) > 0):
		return errAt(field(ep, "no_response"), "no_response means no answer of the proxy and no member response: give nothing else")
	case len(st.Route) > 0 && e.Code != "" && !validCode(e.Code):
		return errAt(field(ep, "code"), fmt.Sprintf("%q is not a CoAP code (want c.dd such as 4.00)", e.Code))
	case len(st.Route) == 0 && (e.Code != "" || e.Payload != nil || e.NoResponse || e.Refused):
		return errAt(ep, "a step to a group states what each member answers in responses, not code, payload, no_response or refused")
	case e.MulticastTimeout != nil && (*e.MulticastTimeout < 0 || *e.MulticastTimeout > math.MaxUint32):
		return errAt(field(ep, "multicast_timeout"), fmt.Sprintf("%d is not a Multicast-Timeout (0 to 4294967295 s)", *e.MulticastTimeout))
	}
	seen := map[string]bool{}
	for i, r := range e.Responses {
		rp := index(field(ep, "responses"), i)
		switch {
		case !isMember(r.From):
			return errAt(field(rp, "from"), fmt.Sprintf("%q is not a member of group %s", r.From, g.ID))
		case seen[r.From]:
			return errAt(field(rp, "from"), fmt.Sprintf("%s is expected twice", r.From))
		case r.Code != "" && !validCode(r.Code):
			return errAt(field(rp, "code"), fmt.Sprintf("%q is not a CoAP code (want c.dd such as 2.05)", r.Code))
		case (r.NoResponse || r.Refused) && (r.Code != "" || r.Payload != nil):
			return errAt(rp, "a member expected silent or refused cannot be expected a code or payload")
		case r.NoResponse && r.Refused:
			return errAt(field(rp, "refused"), "give no_response or refused, not both")
		}
		seen[r.From] = true
	}
	return nil
}

// groupProxyStep checks a group step through a proxy
// (draft-ietf-core-groupcomm-proxy 5.1.1): one proxy, the client talks
// to, with at most the context it shares with that proxy (the C-P layer
// that identifies the client, draft-ietf-core-oscore-capable-proxies
// A.1); the group layer comes from the group's context.
func (v *validator) groupProxyStep(p string, st *Step, g *Group) error {
	if len(st.Route) != 1 {
		return errAt(field(p, "route"), "a group step names the one proxy the client talks to; a chain continues through that proxy's upstream")
	}
	if len(st.Contexts) > 1 {
		return errAt(field(p, "contexts"), "a group step through a proxy has at most the client's context with that proxy; the group layer comes from the group's context")
	}
	for i, name := range st.Contexts {
		if c := v.contexts[name]; c != nil && c.A.Node != st.Route[0] && c.B.Node != st.Route[0] {
			return errAt(index(field(p, "contexts"), i), fmt.Sprintf("context %q is not shared with the proxy %s", name, st.Route[0]))
		}
	}
	if st.Mode == ModePairwise {
		return errAt(field(p, "mode"), "a group step through a proxy is sent in group mode")
	}
	if st.Observe == "deregister" {
		return errAt(field(p, "observe"), "a group observation through a proxy ends with an Early Stop or a Reset, not a deregistration")
	}
	if t := st.MulticastTimeout; t != nil && (*t < 0 || *t > math.MaxUint32) {
		return errAt(field(p, "multicast_timeout"), fmt.Sprintf("%d is not a Multicast-Timeout (0 to 4294967295 s)", *t))
	}
	if st.EarlyStopAfter < 0 {
		return errAt(field(p, "early_stop_after"), "negative")
	}
	return nil
}

// replyFromStep checks a follow-up step (reply_from): a unicast step
// through a reverse-proxy whose route to a group stands in for the member
// named.
func (v *validator) replyFromStep(p string, st *Step, toGroup *Group) error {
	fp := field(p, "reply_from")
	if toGroup != nil {
		return errAt(fp, "a follow-up goes to one member, not to a group")
	}
	if len(st.Route) == 0 || st.ProxyStyle != StyleReverse {
		return errAt(fp, "a follow-up goes through the reverse-proxy that stands in for the member (route and proxy_style reverse)")
	}
	proxy := v.nodes[st.Route[len(st.Route)-1]]
	for _, r := range proxy.Reverse {
		if g := v.groups[r.To]; g != nil && r.StandsForMembers && slices.ContainsFunc(g.Members, func(m GroupMember) bool { return m.Node == st.ReplyFrom }) {
			return nil
		}
	}
	return errAt(fp, fmt.Sprintf("%s has no reverse route to a group that stands in for %q", proxy.ID, st.ReplyFrom))
}

// indexGroups indexes the group contexts and groups, whose names and ids
// must be unique; a group id must not be a node id, since links and
// traces name a group where they name nodes.
func (v *validator) indexGroups() error {
	for i := range v.s.GroupContexts {
		g := &v.s.GroupContexts[i]
		p := index("group_contexts", i)
		if g.Name == "" {
			return errAt(field(p, "name"), "missing")
		}
		if v.groupContexts[g.Name] != nil {
			return errAt(field(p, "name"), fmt.Sprintf("duplicate group context name %q", g.Name))
		}
		v.groupContexts[g.Name] = g
	}
	for i := range v.s.Groups {
		g := &v.s.Groups[i]
		p := index("groups", i)
		if !idPattern.MatchString(g.ID) {
			return errAt(field(p, "id"), fmt.Sprintf("%q is not a group id (a letter, then up to 31 letters, digits, _ or -)", g.ID))
		}
		if v.nodes[g.ID] != nil {
			return errAt(field(p, "id"), fmt.Sprintf("%q is a node id already (groups and nodes share one name space)", g.ID))
		}
		if v.groups[g.ID] != nil {
			return errAt(field(p, "id"), fmt.Sprintf("duplicate group id %q", g.ID))
		}
		v.groups[g.ID] = g
	}
	return nil
}
