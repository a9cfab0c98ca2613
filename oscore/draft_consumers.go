package oscore

import (
	"math/bits"
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
	var rbuf [routeBuildOpts]uint16
	recv := received(rbuf[:0], m, sender, added)
	cons := requestConsumed // a copy: the masks start empty
	var far []farHop
	consume := func(hop int, set uint16) {
		for ; set != 0; set &= set - 1 {
			k := bits.TrailingZeros16(set)
			if inMask(hop) {
				cons[k].mask |= 1 << hop
			} else {
				far = append(far, farHop{cons[k].opt, false, hop})
			}
		}
	}
	reverse := slices.ContainsFunc(hops, func(h Hop) bool { return h.Role == RoleReverseProxy })
	for i, h := range hops {
		switch h.Role {
		case RoleForwardProxy:
			consume(i, forwardProxyConsumes)
		case RoleReverseProxy:
			consume(i, reverseProxyConsumes)
		case RoleServer:
			if !reverse {
				consume(i, serverConsumes)
			}
		}
	}
	if receivedOSCORE(m, sender, added) {
		consume(len(hops)-1, oscoreConsumed)
	}
	return newRoute(hops, sender, layers, recv, cons[:], far)
}

// requestConsumed lists, in increasing order, the options RequestRoute
// knows consumers of, with empty masks.
var requestConsumed = [...]optMask{{optURIHost, 0}, {optURIPort, 0}, {optOSCORE, 0}, {optURIPath, 0},
	{optURIPathAbbrev, 0}, {optHopLimit, 0}, {optProxyURI, 0}, {optProxyScheme, 0}, {optProxyCRI, 0},
	{optProxySchemeNumber, 0}}

// The options each role consumes (see RequestRoute), as sets of indices in
// requestConsumed.
var (
	// Sets (a) and (b), Uri-Host and Uri-Port (draft 2.4 step 4, RFC 7252
	// 5.7.2), and Hop-Limit (RFC 8768 section 3; draft section 3).
	forwardProxyConsumes = requestSet(optProxyURI, optProxyCRI, optProxyScheme, optProxySchemeNumber, optURIHost, optURIPort, optHopLimit)
	// Set (c), the options it routes on (draft 2.4 step 4; B.7, B.8), and
	// Hop-Limit.
	reverseProxyConsumes = requestSet(optURIHost, optURIPort, optURIPath, optURIPathAbbrev, optHopLimit)
	// Uri-Host and Uri-Port, unless a reverse-proxy consumed them (B.7).
	serverConsumes = requestSet(optURIHost, optURIPort)
	// The end-to-end layer's OSCORE option reaching a proxy, by the last
	// hop (B.2, B.3, B.6, B.8).
	oscoreConsumed = requestSet(optOSCORE)
)

// requestSet returns the set of the indices of opts in requestConsumed.
func requestSet(opts ...uint16) uint16 {
	var set uint16
	for _, o := range opts {
		k := slices.IndexFunc(requestConsumed[:], func(c optMask) bool { return c.opt == o })
		if k < 0 {
			panic("oscore: RequestRoute does not know option " + OptionName(o))
		}
		set |= 1 << k
	}
	return set
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
	var rbuf [routeBuildOpts]uint16
	recv := received(rbuf[:0], m, sender, added)
	var cbuf [routeBuildOpts]optMask
	cons := cbuf[:0]
	var far []farHop
	if last := len(hops) - 1; m != nil {
		// All of m's options, those of added and the received OSCORE
		// option included.
		var abuf [routeBuildOpts]uint16
		for _, o := range optionNumbers(abuf[:0], m, nil) {
			if inMask(last) {
				cons = append(cons, optMask{o, 1 << last})
			} else {
				far = append(far, farHop{o, false, last})
			}
		}
	}
	return newRoute(hops, sender, layers, recv, cons, far)
}

// CombinedEDHOC marks the EDHOC option (RFC 9668) as meant for the EDHOC
// responder at hop peer, which needs it to remove the OSCORE layer of the
// combined request (RFC 9668 section 3.3; step 5 of draft section 2.2).
// Example B.5: meant for P it stays outer in the C->P layer; meant for S it is
// encrypted in the C->P layer and outer in the C->S layer. It returns a
// changed copy of r; r itself is unchanged.
func (r Route) CombinedEDHOC(peer int) Route {
	r.SetConsumers(optEDHOC, peer)
	r.SetNeededBy(optEDHOC, peer)
	return r
}

// routeBuildOpts is the number of options a Route is built from without
// allocating: more than a usual message has.
const routeBuildOpts = 24

// optMask is the set of consumers of an option being built.
type optMask struct {
	opt  uint16
	mask uint64
}

// received appends to buf the numbers of the options that m brought to
// the sender (see RequestRoute), in increasing order and each once: none at
// the origin client (sender 0), at a proxy every option of m except those
// listed in added.
func received(buf []uint16, m *message.Message, sender int, added []uint16) []uint16 {
	if m == nil || sender == 0 {
		return buf
	}
	return optionNumbers(buf, m, added)
}

// optionNumbers appends to buf the numbers of the options of m except
// those listed in except, in increasing order and each once.
func optionNumbers(buf []uint16, m *message.Message, except []uint16) []uint16 {
	sorted := true
	for _, o := range m.Options {
		id := uint16(o.ID)
		if slices.Contains(except, id) {
			continue
		}
		if n := len(buf); n > 0 && buf[n-1] >= id {
			if buf[n-1] == id {
				continue
			}
			sorted = false
		}
		buf = append(buf, id)
	}
	if !sorted {
		slices.Sort(buf)
		buf = slices.Compact(buf)
	}
	return buf
}

// receivedOSCORE reports whether m brought an OSCORE option to the sender:
// a proxy's received OSCORE option is the end-to-end layer's, consumed by
// the last hop (see RequestRoute).
func receivedOSCORE(m *message.Message, sender int, added []uint16) bool {
	return m != nil && sender != 0 && m.Options.HasOption(optOSCORE) && !slices.Contains(added, optOSCORE)
}

// routeMem holds a usual Route's option entries, hop names and layers in
// one allocation; routeMemSmall those of a small one.
type (
	routeMem struct {
		opts   [12]routeOpt
		hops   [6]string
		layers [6]int
	}
	routeMemSmall struct {
		opts   [4]routeOpt
		hops   [4]string
		layers [4]int
	}
)

// newRoute returns the Route with an entry for each option of recv (added
// by hop 0, see received) and of cons that has consumers, both sorted by
// option number, and with copies of the hop names and of layers (nil stays
// nil). It allocates once for a usual route.
func newRoute(hops []Hop, sender int, layers []int, recv []uint16, cons []optMask, far []farHop) Route {
	var buf [routeBuildOpts]routeOpt
	opts := buf[:0]
	for i, j := 0, 0; i < len(recv) || j < len(cons); {
		switch {
		case j < len(cons) && cons[j].mask == 0:
			j++
		case j == len(cons) || i < len(recv) && recv[i] < cons[j].opt:
			opts = append(opts, routeOpt{opt: recv[i], hasAdder: true})
			i++
		case i == len(recv) || cons[j].opt < recv[i]:
			opts = append(opts, routeOpt{opt: cons[j].opt, consumers: cons[j].mask})
			j++
		default:
			opts = append(opts, routeOpt{opt: recv[i], hasAdder: true, consumers: cons[j].mask})
			i, j = i+1, j+1
		}
	}
	var mopts []routeOpt
	var mhops []string
	var mlayers []int
	if len(opts) <= 4 && len(hops) <= 4 && len(layers) <= 4 {
		mem := new(routeMemSmall)
		mopts, mhops, mlayers = mem.opts[:], mem.hops[:], mem.layers[:]
	} else {
		mem := new(routeMem)
		mopts, mhops, mlayers = mem.opts[:], mem.hops[:], mem.layers[:]
	}
	r := Route{Sender: sender, opts: carve(mopts, len(opts)), Hops: carve(mhops, len(hops))}
	copy(r.opts, opts)
	for i, h := range hops {
		r.Hops[i] = h.Name
	}
	if layers != nil {
		r.Layers = carve(mlayers, len(layers))
		copy(r.Layers, layers)
	}
	if len(far) > 0 {
		slices.SortFunc(far, farLess)
		r.far = slices.Compact(far)
	}
	return r
}

// carve returns the first n elements of mem, capacity n, or a new slice of
// n elements when mem is too short.
func carve[T any](mem []T, n int) []T {
	if n <= len(mem) {
		return mem[:n:n]
	}
	return make([]T, n)
}
