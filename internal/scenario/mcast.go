package scenario

import (
	"encoding/hex"
	"fmt"
	"slices"
)

// MulticastNotifications is a group observation
// (draft-ietf-core-observe-multicast-notifications; through a proxy,
// draft-ietf-core-multicast-notifications-proxy): every client registers
// with the server (or the proxy) in order, the server answers each with an
// informative response and then sends each notification once to the
// group address, where the clients or the proxy listen. It runs after the
// steps, on sockets of its own named after the nodes.
type MulticastNotifications struct {
	Server string `json:"server"` // the server node
	Group  string `json:"group"`  // the multicast address's name in traces, "G"
	// Proxy is the forward-proxy next to the server through which the
	// clients register; empty: the clients listen to the group themselves.
	Proxy          string `json:"proxy,omitempty"`
	Resource       string `json:"resource"`                  // Uri-Path, "r"
	Initial        string `json:"initial"`                   // the representation when the observation starts
	InitialObserve int    `json:"initial_observe,omitempty"` // INIT_NOTIF's Observe value
	PhantomToken   string `json:"phantom_token"`             // hex: T, the phantom request's Token
	// GroupContext names the group context that protects the phantom
	// request and the notifications (MN 9); the server and every client
	// must be members, and each client then needs a context with the
	// server. Empty: nothing is protected.
	GroupContext       string           `json:"group_context,omitempty"`
	URIHost            string           `json:"uri_host,omitempty"`             // the host clients name through the proxy, "sensor.example"
	ProxyToken         string           `json:"proxy_token,omitempty"`          // hex, one byte: the proxy's first Token towards the server
	ProxyObserveOffset int              `json:"proxy_observe_offset,omitempty"` // the proxy's Observe = the server's + this
	Clients            []MNClient       `json:"clients"`
	Notifications      []MNNotification `json:"notifications,omitempty"`
	// Cancel: the server cancels the group observation after the
	// notifications (MN 4.5); every client that registered must see it.
	Cancel bool `json:"cancel,omitempty"`
	// Attack is sent to the group address after the notifications:
	// "forge", "unbound" or "replay" (Group OSCORE only).
	Attack          string `json:"attack,omitempty"`
	ServerObservers *int   `json:"server_observers,omitempty"` // expected observer counter at the server
	ProxyObservers  *int   `json:"proxy_observers,omitempty"`  // expected clients the proxy relays to
}

// MNClient is one client of a group observation and what it must accept.
type MNClient struct {
	Node      string `json:"node"`
	Token     string `json:"token"`                // hex: its registration's Token
	Ticket    string `json:"ticket,omitempty"`     // hex: its ticket request's Token (Group OSCORE through a proxy)
	Context   string `json:"context,omitempty"`    // the RFC 8613 context it shares with the server
	CPContext string `json:"cp_context,omitempty"` // the context it shares with the proxy, around its ticket request
	// Expect lists the notifications it must accept, in order, the one
	// the informative response carries first.
	Expect        []MNExpected `json:"expect,omitempty"`
	ExpectRefused int          `json:"expect_refused,omitempty"` // datagrams it must refuse
	ExpectError   string       `json:"expect_error,omitempty"`   // its registration must fail with this code, "4.01"
}

// MNNotification is one notification the server sends.
type MNNotification struct {
	Payload string `json:"payload"`
	Observe int    `json:"observe,omitempty"` // 0: the previous one plus one
}

// MNExpected is one notification a client must accept.
type MNExpected struct {
	Token   string `json:"token"` // hex
	Observe int    `json:"observe"`
	Payload string `json:"payload"`
}

// Bounds of a group observation (docs/scenarios.md "Limits").
const (
	maxMNClients       = 16
	maxMNNotifications = 64
)

var mnAttacks = []string{"forge", "unbound", "replay"}

func (v *validator) multicastNotifications(p string, mn *MulticastNotifications) error {
	role := func(f, id, want string) error {
		n, ok := v.nodes[id]
		if !ok {
			return errAt(field(p, f), fmt.Sprintf("unknown node %q", id))
		}
		if n.Role != want {
			return errAt(field(p, f), fmt.Sprintf("%s is a %s, not a %s", id, n.Role, want))
		}
		return nil
	}
	if err := role("server", mn.Server, RoleServer); err != nil {
		return err
	}
	if !idPattern.MatchString(mn.Group) || v.nodes[mn.Group] != nil {
		return errAt(field(p, "group"), fmt.Sprintf("%q is not a fresh name for the group address", mn.Group))
	}
	if mn.Proxy != "" {
		if err := role("proxy", mn.Proxy, RoleProxy); err != nil {
			return err
		}
	}
	if mn.Resource == "" {
		return errAt(field(p, "resource"), "missing")
	}
	if t, err := hex.DecodeString(mn.PhantomToken); err != nil || len(t) < 1 || len(t) > 8 {
		return errAt(field(p, "phantom_token"), "want 1 to 8 bytes of hex (a CoAP Token)")
	}
	if t, err := hex.DecodeString(mn.ProxyToken); err != nil || len(t) > 1 {
		return errAt(field(p, "proxy_token"), "want one byte of hex")
	}
	if mn.Attack != "" && !slices.Contains(mnAttacks, mn.Attack) {
		return errAt(field(p, "attack"), fmt.Sprintf("unknown attack %q (want forge, unbound or replay)", mn.Attack))
	}
	if mn.Attack != "" && mn.GroupContext == "" {
		return errAt(field(p, "attack"), "attacks need group_context: without Group OSCORE nothing tells a forged notification")
	}
	var gc *GroupContext
	if mn.GroupContext != "" {
		if gc = v.groupContexts[mn.GroupContext]; gc == nil {
			return errAt(field(p, "group_context"), fmt.Sprintf("unknown group context %q", mn.GroupContext))
		}
		if !gc.hasMember(mn.Server) {
			return errAt(field(p, "group_context"), fmt.Sprintf("the server %s is not a member", mn.Server))
		}
	}
	if mn.InitialObserve < 0 || mn.InitialObserve >= 1<<24 {
		return errAt(field(p, "initial_observe"), "outside 0 to 2^24-1 (RFC 7641 2)")
	}
	if mn.ProxyObserveOffset < 0 || mn.ProxyObserveOffset >= 1<<24 {
		return errAt(field(p, "proxy_observe_offset"), "outside 0 to 2^24-1")
	}
	for i, n := range mn.Notifications {
		if n.Observe < 0 || n.Observe >= 1<<24 {
			return errAt(field(index(field(p, "notifications"), i), "observe"), "outside 0 to 2^24-1 (RFC 7641 2)")
		}
	}
	if len(mn.Clients) == 0 || len(mn.Clients) > maxMNClients {
		return errAt(field(p, "clients"), fmt.Sprintf("%d clients, want 1 to %d", len(mn.Clients), maxMNClients))
	}
	if len(mn.Notifications) > maxMNNotifications {
		return errAt(field(p, "notifications"), fmt.Sprintf("%d notifications, at most %d", len(mn.Notifications), maxMNNotifications))
	}
	seen := map[string]bool{}
	for i := range mn.Clients {
		c := &mn.Clients[i]
		cp := index(field(p, "clients"), i)
		if err := role("node", c.Node, RoleClient); err != nil {
			return errAt(field(cp, "node"), err.(*Error).Reason)
		}
		if seen[c.Node] {
			return errAt(field(cp, "node"), fmt.Sprintf("%s listed twice", c.Node))
		}
		seen[c.Node] = true
		for f, h := range map[string]string{"token": c.Token, "ticket": c.Ticket} {
			if t, err := hex.DecodeString(h); err != nil || len(t) > 8 || (f == "token" && len(t) == 0) {
				return errAt(field(cp, f), "want up to 8 bytes of hex (a CoAP Token)")
			}
		}
		if gc != nil && !gc.hasMember(c.Node) {
			return errAt(field(cp, "node"), fmt.Sprintf("%s is not a member of %s", c.Node, gc.Name))
		}
		if gc != nil && c.Context == "" {
			return errAt(field(cp, "context"), "missing: with Group OSCORE the registration is protected too (MN 9)")
		}
		if gc != nil && mn.Proxy != "" && c.Ticket == "" {
			return errAt(field(cp, "ticket"), "missing: through a proxy with Group OSCORE the client sends a ticket request (MNP 4.2)")
		}
		if err := v.mnContext(field(cp, "context"), c.Context, c.Node, mn.Server); err != nil {
			return err
		}
		if c.CPContext != "" && mn.Proxy == "" {
			return errAt(field(cp, "cp_context"), "only through a proxy")
		}
		if err := v.mnContext(field(cp, "cp_context"), c.CPContext, c.Node, mn.Proxy); err != nil {
			return err
		}
		for j, e := range c.Expect {
			if _, err := hex.DecodeString(e.Token); err != nil {
				return errAt(field(index(field(cp, "expect"), j), "token"), "not hex")
			}
		}
	}
	return nil
}

// mnContext checks that context name, when given, is between a and b.
func (v *validator) mnContext(p, name, a, b string) error {
	if name == "" {
		return nil
	}
	c := v.contexts[name]
	if c == nil {
		return errAt(p, fmt.Sprintf("unknown context %q", name))
	}
	if !(c.A.Node == a && c.B.Node == b) && !(c.A.Node == b && c.B.Node == a) {
		return errAt(p, fmt.Sprintf("context %s is not between %s and %s", name, a, b))
	}
	return nil
}
