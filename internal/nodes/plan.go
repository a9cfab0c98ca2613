package nodes

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/oscore"
)

// requestPlan is a step turned into a path and a first message.
type requestPlan struct {
	hops   []oscore.Hop
	method codes.Code
	base   message.Message // code, options meant for the destination and the proxies, payload
	late   []lateOption    // options meant for one proxy only and hidden from the layers beyond it
	uri    string
}

// lateOption is an option the client adds only after the layers whose other
// endpoint lies beyond the proxy that consumes it: the path segment of a
// reverse-proxy that the client knows about (example B.8: Uri-Path "dev1"
// sits inside the C-P layer and outside the C-S layer).
type lateOption struct {
	opt      message.Option
	proxyHop int
}

var methodCodes = map[string]codes.Code{"GET": codes.GET, "POST": codes.POST, "PUT": codes.PUT, "DELETE": codes.DELETE,
	"FETCH": codes.FETCH, "PATCH": codes.PATCH, "iPATCH": codes.IPATCH}

// plannedPath is the path of a step as the client knows it: the client, the
// proxies of the route and the destination.
func (t *topology) plannedPath(st scenario.Step) ([]oscore.Hop, error) {
	p, err := t.plan(st)
	if err != nil {
		return nil, err
	}
	return p.hops, nil
}

// plan builds the request of a step (RFC 7252 6.4 URI decomposition;
// forward-proxy options per RFC 7252 5.10.2; draft 1.1 proxy-related sets).
func (t *topology) plan(st scenario.Step) (*requestPlan, error) {
	if _, ok := t.nodes[st.From]; !ok {
		return nil, fmt.Errorf("nodes: step: unknown client %q", st.From)
	}
	code, ok := methodCodes[st.Method]
	if !ok {
		return nil, fmt.Errorf("nodes: step: unknown method %q", st.Method)
	}
	u, err := url.Parse(st.URI)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("nodes: step: uri %q is not an absolute coap URI", st.URI)
	}
	host, port := u.Hostname(), u.Port()
	style := st.ProxyStyle
	if style == "" && len(st.Route) > 0 {
		style = scenario.StyleProxyScheme
	}
	// The client speaks CoAP over UDP only; through a forward-proxy another
	// scheme is the proxy's to accept or refuse (RFC 7252 5.10.2).
	if scheme := strings.ToLower(u.Scheme); scheme != "coap" && (len(st.Route) == 0 || style == scenario.StyleReverse) {
		if scheme == "coaps" {
			return nil, fmt.Errorf("nodes: step: uri %q: coaps needs DTLS (RFC 7252 9), which the lab does not speak; use coap, protected by OSCORE", st.URI)
		}
		return nil, fmt.Errorf("nodes: step: uri %q: scheme must be coap", st.URI)
	}
	p := &requestPlan{method: code, uri: st.URI}
	p.hops = append(p.hops, oscore.Hop{Name: st.From, Role: oscore.RoleClient})
	for _, r := range st.Route {
		if _, ok := t.nodes[r]; !ok {
			return nil, fmt.Errorf("nodes: step: unknown proxy %q in route", r)
		}
		role := oscore.RoleForwardProxy
		if style == scenario.StyleReverse {
			role = oscore.RoleReverseProxy
		}
		p.hops = append(p.hops, oscore.Hop{Name: r, Role: role})
	}
	segs := uriSegments(u)
	var prefix []string
	dest := ""
	switch {
	case len(st.Route) == 0:
		id, ok := t.resolve(host, u.Host)
		if !ok {
			return nil, fmt.Errorf("nodes: step: no node answers to host %q", host)
		}
		dest = id
	case style == scenario.StyleReverse:
		last := t.cfg[st.Route[len(st.Route)-1]]
		for _, r := range last.Reverse {
			if r.Host != "" && !strings.EqualFold(r.Host, host) {
				continue
			}
			if len(r.PathPrefix) > len(segs) || !slices.Equal(r.PathPrefix, segs[:len(r.PathPrefix)]) {
				continue
			}
			dest, prefix = r.To, r.PathPrefix
			break
		}
	default:
		dest, _ = t.resolve(host, u.Host)
	}
	if dest != "" && dest != p.hops[len(p.hops)-1].Name {
		p.hops = append(p.hops, oscore.Hop{Name: dest, Role: oscore.RoleServer})
	} else if dest == "" {
		p.hops = append(p.hops, oscore.Hop{Name: host, Role: oscore.RoleServer})
	}
	if len(p.hops) < 2 {
		return nil, fmt.Errorf("nodes: step: nothing to send to")
	}

	m := message.Message{Code: code}
	opts := message.Options{}
	setStr := func(id message.OptionID, v string) {
		opts, _, _ = opts.SetString(make([]byte, len(v)), id, v)
	}
	addStr := func(id message.OptionID, v string) {
		opts, _, _ = opts.AddString(make([]byte, len(v)), id, v)
	}
	literal := net.ParseIP(host) != nil
	switch {
	case style == scenario.StyleProxyURI:
		setStr(optProxyURI, st.URI) // oscore decomposes it (RFC 8613 4.1.3.3)
		segs = nil
	case style == scenario.StyleProxyScheme:
		setStr(optProxyScheme, u.Scheme)
		setStr(optURIHost, host)
		if port != "" {
			opts, _, _ = opts.SetUint32(make([]byte, 4), optURIPort, uint32(atoiOr(port, 5683)))
		}
	default:
		if !literal {
			setStr(optURIHost, host)
		}
		if port != "" && port != "5683" {
			opts, _, _ = opts.SetUint32(make([]byte, 4), optURIPort, uint32(atoiOr(port, 5683)))
		}
	}
	for i, s := range segs {
		if i < len(prefix) {
			p.late = append(p.late, lateOption{opt: message.Option{ID: optURIPath, Value: []byte(s)}, proxyHop: len(st.Route)})
			continue
		}
		addStr(optURIPath, s)
	}
	if style != scenario.StyleProxyURI { // Proxy-Uri carries the query (RFC 7252 5.10.2)
		for _, q := range uriQuery(u) {
			addStr(optURIQuery, q)
		}
	}
	if st.Hops > 0 {
		opts, _, _ = opts.SetUint32(make([]byte, 4), optHopLimit, uint32(st.Hops))
	}
	switch st.Observe {
	case "register":
		opts, _, _ = opts.SetUint32(make([]byte, 4), optObserve, 0)
	case "deregister":
		opts, _, _ = opts.SetUint32(make([]byte, 4), optObserve, 1)
	}
	for _, o := range st.Options {
		v := []byte(o.Text)
		if o.Value != "" {
			b, err := hex.DecodeString(o.Value)
			if err != nil {
				return nil, fmt.Errorf("nodes: step: option %d: %v", o.Number, err)
			}
			v = b
		}
		opts, _, _ = opts.AddBytes(v, message.OptionID(o.Number), v)
	}
	m.Options = opts
	if st.Payload != "" {
		m.Payload = []byte(st.Payload)
	}
	p.base = m
	return p, nil
}

// addLate adds the late options for the proxies at or beyond hop x: they
// must be inside the layer towards x and every layer applied after it.
func addLate(m *message.Message, late []lateOption, x int, done []bool) {
	for i, lo := range late {
		if done[i] || lo.proxyHop < x {
			continue
		}
		done[i] = true
		m.Options = insertOption(m.Options, lo.opt)
	}
}

// insertOption adds o before any option with a larger number, keeping the
// order of repeated options: a proxy's path prefix comes before the rest.
func insertOption(opts message.Options, o message.Option) message.Options {
	out := make(message.Options, 0, len(opts)+1)
	placed := false
	for _, x := range opts {
		if !placed && x.ID >= o.ID {
			out = append(out, o)
			placed = true
		}
		out = append(out, x)
	}
	if !placed {
		out = append(out, o)
	}
	return out
}

// uriSegments are the Uri-Path values of u, each percent-decoded after the
// split, so an encoded "/" stays inside its segment (RFC 7252 6.4 step 8).
func uriSegments(u *url.URL) []string {
	var out []string
	for _, s := range strings.Split(strings.Trim(u.EscapedPath(), "/"), "/") {
		if s == "" {
			continue
		}
		if d, err := url.PathUnescape(s); err == nil {
			s = d
		}
		out = append(out, s)
	}
	return out
}

// uriQuery are the Uri-Query values of u, split on "&" and then
// percent-decoded (RFC 7252 6.4 step 9).
func uriQuery(u *url.URL) []string {
	if u.RawQuery == "" {
		return nil
	}
	var out []string
	for _, q := range strings.Split(u.RawQuery, "&") {
		if d, err := url.PathUnescape(q); err == nil {
			q = d
		}
		out = append(out, q)
	}
	return out
}

func atoiOr(s string, def int) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return def
		}
		n = n*10 + int(r-'0')
	}
	return n
}
