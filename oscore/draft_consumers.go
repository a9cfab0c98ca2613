package oscore

import (
	"slices"

	"github.com/plgd-dev/go-coap/v3/message"
)

// Role is what a hop does on a message's path (draft section 1.1 and the
// incoming-request steps of section 2.4).
type Role uint8

// Roles of the hops of a Route.
const (
	RoleClient       Role = iota + 1 // origin client
	RoleForwardProxy                 // consumes the proxy-related options of sets (a) and (b)
	RoleReverseProxy                 // routes on Uri-Host, Uri-Port and a path prefix (set (c))
	RoleServer                       // origin server
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleForwardProxy:
		return "forward-proxy"
	case RoleReverseProxy:
		return "reverse-proxy"
	case RoleServer:
		return "server"
	}
	return "unknown"
}

// IsProxy reports whether the hop is an intermediary.
func (r Role) IsProxy() bool { return r == RoleForwardProxy || r == RoleReverseProxy }

// Hop is one node on a message's path as the sender knows it. A reverse-proxy
// the sender cannot see is simply absent: the sender takes it for the origin
// server (draft section 2.2, "to the best of its knowledge"; example B.7).
type Hop struct {
	Name string
	Role Role
}

// RequestRoute derives the Route of request m leaving hops[sender], hops in
// the order the request travels (origin client first), with the consumers
// of the usual options:
//
//   - a forward-proxy consumes Proxy-Uri, Proxy-Cri, Proxy-Scheme,
//     Proxy-Scheme-Number, Uri-Host and Uri-Port (draft 2.4 step 4, RFC 7252
//     5.7.2); each forward-proxy of a chain reads them, the last one consumes
//     them (example B.6);
//   - every proxy consumes Hop-Limit (RFC 8768 section 3; draft section 3);
//   - a reverse-proxy consumes Uri-Host, Uri-Port and the path prefix it
//     routes on, Uri-Path and Uri-Path-Abbrev (draft 2.4 step 4; B.7, B.8);
//   - the origin server consumes Uri-Host and Uri-Port unless a reverse-proxy
//     consumed them: a forward-proxy keeps Uri-Host when it forwards (outer
//     Uri-Host on the P->S leg in B.1 to B.3 and B.6), a reverse-proxy sends
//     the server a URI of its own (B.7).
//
// Who added an option (step 1): at the origin client every option is the
// sender's own. At a proxy every option of m came from upstream except
// those listed in added (say, a Hop-Limit the proxy inserted); received
// options are attributed to hop 0. An OSCORE option that reaches a proxy is
// taken as the end-to-end layer's, consumed by the last hop (B.2, B.3, B.6,
// B.8). The OSCORE options of the sender's own layers follow from layers
// (see Route.Layers, draft 2.1 and 2.3).
func RequestRoute(m *message.Message, hops []Hop, sender int, layers []int, added ...uint16) Route {
	r := newRoute(m, hops, sender, layers, added)
	reverse := slices.ContainsFunc(hops, func(h Hop) bool { return h.Role == RoleReverseProxy })
	var buf [32]consumption
	cs := buf[:0]
	for i, h := range hops {
		switch h.Role {
		case RoleForwardProxy:
			cs = consumes(cs, i, optProxyURI, optProxyCRI, optProxyScheme, optProxySchemeNumber, optURIHost, optURIPort, optHopLimit)
		case RoleReverseProxy:
			cs = consumes(cs, i, optURIHost, optURIPort, optURIPath, optURIPathAbbrev, optHopLimit)
		case RoleServer:
			if !reverse {
				cs = consumes(cs, i, optURIHost, optURIPort)
			}
		}
	}
	r.consumeAll(cs)
	return r
}

// ResponseRoute derives the Route of response m leaving hops[sender], hops in
// the order the response travels (origin server first, origin client last).
// Every option of a response is meant for the origin client, the last hop;
// the OSCORE options follow the same attribution as in RequestRoute: the
// end-to-end layer's option reaching a proxy was added by the origin server
// and is consumed by the origin client, those of the sender's own layers by
// each previous layer's other endpoint (draft 2.1, 2.5; examples B.1 to B.8,
// "OSCORE: -" inside the outer ciphertext).
func ResponseRoute(m *message.Message, hops []Hop, sender int, layers []int, added ...uint16) Route {
	r := newRoute(m, hops, sender, layers, added)
	if m != nil {
		var buf [16]consumption
		cs := buf[:0]
		for _, o := range m.Options {
			cs = append(cs, consumption{uint16(o.ID), len(hops) - 1})
		}
		r.consumeAll(cs)
	}
	return r
}

// CombinedEDHOC marks the EDHOC option (RFC 9668) as meant for the EDHOC
// responder at hop peer, which needs it to remove the OSCORE layer of the
// combined request (RFC 9668 section 3.3; step 5 of draft section 2.2).
// Example B.5: meant for P it stays outer in the C->P layer; meant for S it is
// encrypted in the C->P layer and outer in the C->S layer.
func (r Route) CombinedEDHOC(peer int) Route {
	r = r.clone()
	r.Consumers[optEDHOC] = []int{peer}
	r.NeededBy[optEDHOC] = []int{peer}
	return r
}

func newRoute(m *message.Message, hops []Hop, sender int, layers []int, added []uint16) Route {
	n := 0
	if m != nil {
		n = len(m.Options)
	}
	r := Route{
		Sender:    sender,
		AddedBy:   make(map[uint16]int, n),
		Consumers: make(map[uint16][]int, 8),
		NeededBy:  map[uint16][]int{},
		Layers:    slices.Clone(layers),
		Hops:      make([]string, len(hops)),
	}
	for i, h := range hops {
		r.Hops[i] = h.Name
	}
	if m == nil || sender == 0 {
		return r
	}
	for _, o := range m.Options {
		id := uint16(o.ID)
		if !slices.Contains(added, id) {
			r.AddedBy[id] = 0
		}
	}
	if m.Options.HasOption(optOSCORE) && !slices.Contains(added, optOSCORE) {
		r.Consumers[optOSCORE] = []int{len(hops) - 1}
	}
	return r
}

// consumption says that hop consumes option opt.
type consumption struct {
	opt uint16
	hop int
}

func consumes(cs []consumption, hop int, opts ...uint16) []consumption {
	for _, o := range opts {
		cs = append(cs, consumption{o, hop})
	}
	return cs
}

// consumeAll adds each hop to its option's consumers, in the order given
// and without duplicates. The new lists share one allocation; each is
// capped at its length, so a caller that appends to one copies it.
func (r *Route) consumeAll(cs []consumption) {
	slices.SortStableFunc(cs, func(a, b consumption) int { return int(a.opt) - int(b.opt) })
	backing := make([]int, 0, len(cs))
	for i := 0; i < len(cs); {
		o := cs[i].opt
		start := len(backing)
		backing = append(backing, r.Consumers[o]...)
		for ; i < len(cs) && cs[i].opt == o; i++ {
			if !slices.Contains(backing[start:], cs[i].hop) {
				backing = append(backing, cs[i].hop)
			}
		}
		r.Consumers[o] = backing[start:len(backing):len(backing)]
	}
}

func (r Route) clone() Route {
	c := r
	c.Hops = slices.Clone(r.Hops)
	c.Layers = slices.Clone(r.Layers)
	c.AddedBy = make(map[uint16]int, len(r.AddedBy))
	for k, v := range r.AddedBy {
		c.AddedBy[k] = v
	}
	c.Consumers = make(map[uint16][]int, len(r.Consumers))
	for k, v := range r.Consumers {
		c.Consumers[k] = slices.Clone(v)
	}
	c.NeededBy = make(map[uint16][]int, len(r.NeededBy))
	for k, v := range r.NeededBy {
		c.NeededBy[k] = slices.Clone(v)
	}
	return c
}
