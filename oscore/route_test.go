package oscore

import (
	"fmt"
	"slices"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// msgWith builds a message carrying the given options (dummy values), sorted.
func msgWith(code codes.Code, opts ...uint16) *message.Message {
	m := &message.Message{Code: code}
	for _, o := range opts {
		var v []byte
		switch o {
		case OptURIHost:
			v = []byte("example.com")
		case OptProxyScheme:
			v = []byte("coap")
		case OptURIPath:
			v = []byte("alarm_status")
		case OptHopLimit:
			v = []byte{16}
		case OptOSCORE:
			v = []byte{0x09, 0x2a, 0x5f}
		}
		m.Options = m.Options.Add(message.Option{ID: message.OptionID(o), Value: v})
	}
	return m
}

var (
	hC   = Hop{"C", RoleClient}
	hP   = Hop{"P", RoleForwardProxy}
	hP1  = Hop{"P1", RoleForwardProxy}
	hP2  = Hop{"P2", RoleForwardProxy}
	hRP  = Hop{"P", RoleReverseProxy}
	hS   = Hop{"S", RoleServer}
	hPas = Hop{"P", RoleServer} // B.7: the client takes the reverse-proxy for the origin server
)

// exampleCase is one (example, sender, layer, option) of draft Appendix B.
type exampleCase struct {
	example string
	sender  string
	layer   string // the layer's context, e.g. "C_P"
	route   Route
	x       int
	m       *message.Message
	opt     uint16
	class   Class
	steps   []int
}

func (c exampleCase) name() string {
	return fmt.Sprintf("%s/%s/%s/%s", c.example, c.sender, c.layer, OptionName(c.opt))
}

// appendixBCases lists every option of examples B.1 to B.8 in every layer it
// meets, with the class and step path draft section 2.2 gives it (see also
// the "Worked outcomes" table of draft-notes section 2.2).
func appendixBCases() []exampleCase {
	post, changed := codes.POST, codes.Changed
	var cs []exampleCase
	add := func(example, sender, layer string, r Route, x int, m *message.Message, opt uint16, class Class, steps ...int) {
		cs = append(cs, exampleCase{example, sender, layer, r, x, m, opt, class, steps})
	}

	// B.1 and B.3, client: C->S layer first, then C->P (layers [S, P]).
	fwd := []Hop{hC, hP, hS}
	for _, ex := range []string{"B.1", "B.3"} {
		mCS := msgWith(codes.GET, OptURIHost, OptURIPath, OptProxyScheme)
		rCS := RequestRoute(mCS, fwd, 0, []int{2, 1})
		add(ex, "C", "C_S", rCS, 2, mCS, OptURIHost, ClassU, 1, 2, 3, 9)
		add(ex, "C", "C_S", rCS, 2, mCS, OptProxyScheme, ClassU, 1, 2, 4, 9)
		add(ex, "C", "C_S", rCS, 2, mCS, OptURIPath, ClassE)
		mCP := msgWith(post, OptURIHost, OptOSCORE, OptProxyScheme)
		rCP := RequestRoute(mCP, fwd, 0, []int{2, 1})
		add(ex, "C", "C_P", rCP, 1, mCP, OptOSCORE, ClassE, 1, 2, 4, 6, 8)
		add(ex, "C", "C_P", rCP, 1, mCP, OptProxyScheme, ClassE, 1, 2, 3, 5, 6, 8)
		add(ex, "C", "C_P", rCP, 1, mCP, OptURIHost, ClassE, 1, 2, 3, 5, 6, 7, 8)
	}
	// B.1 response: P applies C_P over S's end-to-end layer.
	back := []Hop{hS, hP, hC}
	mR := msgWith(changed, OptOSCORE)
	add("B.1", "P", "C_P(resp)", ResponseRoute(mR, back, 1, []int{2}), 2, mR, OptOSCORE, ClassE, 1, 4, 6, 8)

	// B.2, client: only the end-to-end layer; everything for P stays outer.
	mCS := msgWith(codes.GET, OptURIHost, OptURIPath, OptProxyScheme)
	rCS := RequestRoute(mCS, fwd, 0, []int{2})
	add("B.2", "C", "C_S", rCS, 2, mCS, OptURIHost, ClassU, 1, 2, 3, 9)
	add("B.2", "C", "C_S", rCS, 2, mCS, OptProxyScheme, ClassU, 1, 2, 4, 9)
	// B.2 and B.3, proxy: P consumed Proxy-Scheme, keeps Uri-Host, adds P_S.
	for _, ex := range []string{"B.2", "B.3"} {
		mPS := msgWith(post, OptURIHost, OptOSCORE)
		rPS := RequestRoute(mPS, fwd, 1, []int{2})
		add(ex, "P", "P_S", rPS, 2, mPS, OptURIHost, ClassU, 1, 4, 6, 7, 9)
		add(ex, "P", "P_S", rPS, 2, mPS, OptOSCORE, ClassE, 1, 4, 6, 8)
		// Response: S applies C_S then P_S (layers [C, P]).
		mSP := msgWith(changed, OptOSCORE)
		add(ex, "S", "P_S(resp)", ResponseRoute(mSP, back, 0, []int{2, 1}), 1, mSP, OptOSCORE, ClassE, 1, 2, 4, 6, 8)
	}
	// B.3 response: P re-applies C_P after removing P_S.
	add("B.3", "P", "C_P(resp)", ResponseRoute(mR, back, 1, []int{2}), 2, mR, OptOSCORE, ClassE, 1, 4, 6, 8)

	// B.4: EDHOC with S tunnelled in the C->P layer (no C_S layer yet).
	m4 := msgWith(post, OptURIHost, OptURIPath, OptProxyScheme)
	r4 := RequestRoute(m4, fwd, 0, []int{1})
	add("B.4", "C", "C_P", r4, 1, m4, OptURIHost, ClassE, 1, 2, 3, 5, 6, 7, 8)
	add("B.4", "C", "C_P", r4, 1, m4, OptProxyScheme, ClassE, 1, 2, 3, 5, 6, 8)
	add("B.4", "C", "C_P", r4, 1, m4, OptURIPath, ClassE)

	// B.5: combined EDHOC + OSCORE request (RFC 9668).
	m5a := msgWith(post, OptURIHost, OptURIPath, OptEDHOC, OptProxyScheme)
	r5a := RequestRoute(m5a, fwd, 0, []int{1}).CombinedEDHOC(1) // meant for P
	add("B.5", "C", "C_P(EDHOC for P)", r5a, 1, m5a, OptEDHOC, ClassU, 1, 2, 3, 5, 9)
	add("B.5", "C", "C_P(EDHOC for P)", r5a, 1, m5a, OptURIHost, ClassE, 1, 2, 3, 5, 6, 7, 8)
	add("B.5", "C", "C_P(EDHOC for P)", r5a, 1, m5a, OptProxyScheme, ClassE, 1, 2, 3, 5, 6, 8)
	m5cs := msgWith(codes.GET, OptURIHost, OptURIPath, OptEDHOC, OptProxyScheme)
	r5cs := RequestRoute(m5cs, fwd, 0, []int{2, 1}).CombinedEDHOC(2) // meant for S
	add("B.5", "C", "C_S(EDHOC for S)", r5cs, 2, m5cs, OptEDHOC, ClassU, 1, 2, 3, 5, 9)
	m5b := msgWith(post, OptURIHost, OptOSCORE, OptEDHOC, OptProxyScheme)
	r5b := RequestRoute(m5b, fwd, 0, []int{2, 1}).CombinedEDHOC(2)
	add("B.5", "C", "C_P(EDHOC for S)", r5b, 1, m5b, OptEDHOC, ClassE, 1, 2, 4, 6, 8)
	add("B.5", "C", "C_P(EDHOC for S)", r5b, 1, m5b, OptOSCORE, ClassE, 1, 2, 4, 6, 8)
	add("B.5", "C", "C_P(EDHOC for S)", r5b, 1, m5b, OptURIHost, ClassE, 1, 2, 3, 5, 6, 7, 8)
	add("B.5", "C", "C_P(EDHOC for S)", r5b, 1, m5b, OptProxyScheme, ClassE, 1, 2, 3, 5, 6, 8)
	add("B.5", "P", "C_P(resp)", ResponseRoute(mR, back, 1, []int{2}), 2, mR, OptOSCORE, ClassE, 1, 4, 6, 8)

	// B.6: two forward-proxies; C_S, C_P1, P1_P2, P2_S.
	chain := []Hop{hC, hP1, hP2, hS}
	m6cs := msgWith(codes.GET, OptURIHost, OptURIPath, OptProxyScheme)
	r6cs := RequestRoute(m6cs, chain, 0, []int{3, 1})
	add("B.6", "C", "C_S", r6cs, 3, m6cs, OptURIHost, ClassU, 1, 2, 3, 9)
	add("B.6", "C", "C_S", r6cs, 3, m6cs, OptProxyScheme, ClassU, 1, 2, 4, 9)
	m6cp := msgWith(post, OptURIHost, OptOSCORE, OptProxyScheme)
	r6cp := RequestRoute(m6cp, chain, 0, []int{3, 1})
	add("B.6", "C", "C_P1", r6cp, 1, m6cp, OptOSCORE, ClassE, 1, 2, 4, 6, 8)
	add("B.6", "C", "C_P1", r6cp, 1, m6cp, OptProxyScheme, ClassE, 1, 2, 3, 5, 6, 8)
	add("B.6", "C", "C_P1", r6cp, 1, m6cp, OptURIHost, ClassE, 1, 2, 3, 5, 6, 7, 8)
	// P1 keeps the forward-proxy options for P2.
	m6p1 := msgWith(post, OptURIHost, OptOSCORE, OptProxyScheme)
	r6p1 := RequestRoute(m6p1, chain, 1, []int{2})
	add("B.6", "P1", "P1_P2", r6p1, 2, m6p1, OptURIHost, ClassE, 1, 4, 6, 7, 8)
	add("B.6", "P1", "P1_P2", r6p1, 2, m6p1, OptOSCORE, ClassE, 1, 4, 6, 8)
	add("B.6", "P1", "P1_P2", r6p1, 2, m6p1, OptProxyScheme, ClassE, 1, 4, 6, 8)
	// P2 consumed Proxy-Scheme and keeps Uri-Host.
	m6p2 := msgWith(post, OptURIHost, OptOSCORE)
	r6p2 := RequestRoute(m6p2, chain, 2, []int{3})
	add("B.6", "P2", "P2_S", r6p2, 3, m6p2, OptURIHost, ClassU, 1, 4, 6, 7, 9)
	add("B.6", "P2", "P2_S", r6p2, 3, m6p2, OptOSCORE, ClassE, 1, 4, 6, 8)
	back6 := []Hop{hS, hP2, hP1, hC}
	add("B.6", "S", "P2_S(resp)", ResponseRoute(mR, back6, 0, []int{3, 1}), 1, mR, OptOSCORE, ClassE, 1, 2, 4, 6, 8)
	add("B.6", "P2", "P1_P2(resp)", ResponseRoute(mR, back6, 1, []int{2}), 2, mR, OptOSCORE, ClassE, 1, 4, 6, 8)
	add("B.6", "P1", "C_P1(resp)", ResponseRoute(mR, back6, 2, []int{3}), 3, mR, OptOSCORE, ClassE, 1, 4, 6, 8)

	// B.7: reverse-proxy the client cannot see; it takes P for the server.
	m7 := msgWith(codes.GET, OptURIHost, OptURIPath)
	r7 := RequestRoute(m7, []Hop{hC, hPas}, 0, []int{1})
	add("B.7", "C", "C_P", r7, 1, m7, OptURIHost, ClassU, 1, 2, 3, 5, 6, 7, 9)
	add("B.7", "C", "C_P", r7, 1, m7, OptURIPath, ClassE)
	// P consumed Uri-Host ("dev.example") and adds P_S: only Class E left.
	m7ps := msgWith(codes.GET, OptURIPath)
	add("B.7", "P", "P_S", RequestRoute(m7ps, []Hop{hC, hRP, hS}, 1, []int{2}), 2, m7ps, OptURIPath, ClassE)

	// B.8: reverse-proxy known to the client, C_S, C_P and P_S.
	rev := []Hop{hC, hRP, hS}
	m8cs := msgWith(codes.GET, OptURIPath)
	add("B.8", "C", "C_S", RequestRoute(m8cs, rev, 0, []int{2, 1}), 2, m8cs, OptURIPath, ClassE)
	m8cp := msgWith(post, OptOSCORE, OptURIPath) // Uri-Path "dev1" for P
	r8cp := RequestRoute(m8cp, rev, 0, []int{2, 1})
	add("B.8", "C", "C_P", r8cp, 1, m8cp, OptOSCORE, ClassE, 1, 2, 4, 6, 8)
	add("B.8", "C", "C_P", r8cp, 1, m8cp, OptURIPath, ClassE)
	m8ps := msgWith(post, OptOSCORE)
	add("B.8", "P", "P_S", RequestRoute(m8ps, rev, 1, []int{2}), 2, m8ps, OptOSCORE, ClassE, 1, 4, 6, 8)
	back8 := []Hop{hS, hRP, hC}
	add("B.8", "S", "P_S(resp)", ResponseRoute(mR, back8, 0, []int{2, 1}), 1, mR, OptOSCORE, ClassE, 1, 2, 4, 6, 8)
	add("B.8", "P", "C_P(resp)", ResponseRoute(mR, back8, 1, []int{2}), 2, mR, OptOSCORE, ClassE, 1, 4, 6, 8)
	return cs
}

func TestRouteAppendixB(t *testing.T) {
	covered := map[edge]bool{}
	examples := map[string]bool{}
	for _, c := range appendixBCases() {
		t.Run(c.name(), func(t *testing.T) {
			got := applyRule(c.route.RuleFor(c.x), c.opt, c.m)
			if got.Class != c.class || !slices.Equal(got.Steps, c.steps) {
				t.Fatalf("class %v via %v, want %v via %v", got.Class, got.Steps, c.class, c.steps)
			}
		})
		for _, e := range edgesOf(c.steps) {
			covered[e] = true
		}
		examples[c.example] = true
	}
	for i := 1; i <= 8; i++ {
		if !examples[fmt.Sprintf("B.%d", i)] {
			t.Errorf("example B.%d has no case", i)
		}
	}
	for _, e := range diagramEdges {
		if !covered[e] {
			t.Errorf("Appendix B cases never take arrow %d->%d", e.from, e.to)
		}
	}
}

// TestRouteHopLimit: draft section 3 (Hop-Limit is Class U) with section 2.2.
func TestRouteHopLimit(t *testing.T) {
	direct := msgWith(codes.GET, OptHopLimit, OptURIPath)
	r := RequestRoute(direct, []Hop{hC, hS}, 0, []int{1})
	if got := applyRule(r.RuleFor(1), OptHopLimit, direct); got.Class != ClassE || !slices.Equal(got.Steps, []int{1, 2, 4, 6, 8}) {
		t.Errorf("client straight to server: %v via %v, want E via [1 2 4 6 8]", got.Class, got.Steps)
	}
	via := msgWith(codes.GET, OptHopLimit, OptProxyScheme)
	r = RequestRoute(via, []Hop{hC, hP, hS}, 0, []int{2, 1})
	if got := applyRule(r.RuleFor(2), OptHopLimit, via); got.Class != ClassU || !slices.Equal(got.Steps, []int{1, 2, 4, 9}) {
		t.Errorf("C_S layer through a proxy: %v via %v, want U via [1 2 4 9]", got.Class, got.Steps)
	}
	if got := applyRule(r.RuleFor(1), OptHopLimit, via); got.Class != ClassE || !slices.Equal(got.Steps, []int{1, 2, 3, 5, 6, 8}) {
		t.Errorf("C_P layer: %v via %v, want E via [1 2 3 5 6 8]", got.Class, got.Steps)
	}
	// A proxy that inserted Hop-Limit protects it on its leg to the server.
	fwd := msgWith(codes.POST, OptHopLimit, OptOSCORE)
	r = RequestRoute(fwd, []Hop{hC, hP, hS}, 1, []int{2}, OptHopLimit)
	if got := applyRule(r.RuleFor(2), OptHopLimit, fwd); got.Class != ClassE || !slices.Equal(got.Steps, []int{1, 2, 4, 6, 8}) {
		t.Errorf("P_S layer, Hop-Limit inserted by P: %v via %v", got.Class, got.Steps)
	}
	// Proxy-Uri (set (a)) and Proxy-Scheme-Number behave like Proxy-Scheme.
	pu := msgWith(codes.GET, OptProxyURI, OptProxySchemeNumber, OptURIPort)
	r = RequestRoute(pu, []Hop{hC, hP, hS}, 0, []int{2, 1})
	for _, tt := range []struct {
		x     int
		opt   uint16
		class Class
		steps []int
	}{
		{2, OptProxyURI, ClassU, []int{1, 2, 4, 9}},
		{1, OptProxyURI, ClassE, []int{1, 2, 3, 5, 6, 8}},
		{2, OptProxySchemeNumber, ClassU, []int{1, 2, 4, 9}},
		{1, OptURIPort, ClassE, []int{1, 2, 3, 5, 6, 7, 8}}, // step 7 sees Proxy-Scheme-Number
	} {
		if got := applyRule(r.RuleFor(tt.x), tt.opt, pu); got.Class != tt.class || !slices.Equal(got.Steps, tt.steps) {
			t.Errorf("%s towards %s: %v via %v, want %v via %v", OptionName(tt.opt), r.Hops[tt.x], got.Class, got.Steps, tt.class, tt.steps)
		}
	}
}

// TestRouteOnionLayers: with one layer per hop (draft 2.1; A.7 privacy
// chains) the OSCORE option M carries when a layer is applied is the
// previous layer's, added by the sender and consumed by that layer's
// endpoint (Route.Layers), not the end-to-end one.
func TestRouteOnionLayers(t *testing.T) {
	hops := []Hop{hC, hP1, hP2, {"P3", RoleForwardProxy}, hS}
	m := msgWith(codes.POST, OptOSCORE, OptProxyScheme)
	r := RequestRoute(m, hops, 0, []int{4, 3, 2, 1})
	for _, tt := range []struct {
		x, consumer int
	}{{3, 4}, {2, 3}, {1, 2}} {
		in := r.Input(tt.x, OptOSCORE, m)
		nextIsConsumer := tt.consumer == 1
		if !in.AddedBySender || in.XIsConsumer || in.NextHopIsNextConsumer != nextIsConsumer || in.XIsNextHop != (tt.x == 1) {
			t.Errorf("OSCORE option in the layer towards %s: %+v", r.Hops[tt.x], in)
		}
		if got := applyRule(r.RuleFor(tt.x), OptOSCORE, m); got.Class != ClassE || !slices.Equal(got.Steps, []int{1, 2, 4, 6, 8}) {
			t.Errorf("OSCORE option towards %s: %v via %v", r.Hops[tt.x], got.Class, got.Steps)
		}
	}
	// A proxy applying two layers (P1_S then P1_P2): the second layer meets
	// the option of P1's own first layer (step 1 yes), the first layer the
	// client's end-to-end option (step 1 no).
	fwd := msgWith(codes.POST, OptURIHost, OptOSCORE)
	rp := RequestRoute(fwd, []Hop{hC, hP1, hP2, hS}, 1, []int{3, 2})
	if got := applyRule(rp.RuleFor(3), OptOSCORE, fwd); !slices.Equal(got.Steps, []int{1, 4, 6, 8}) {
		t.Errorf("P1_S layer, client's OSCORE option: %v via %v", got.Class, got.Steps)
	}
	if got := applyRule(rp.RuleFor(2), OptOSCORE, fwd); got.Class != ClassE || !slices.Equal(got.Steps, []int{1, 2, 4, 6, 8}) {
		t.Errorf("P1_P2 layer, P1_S's OSCORE option: %v via %v", got.Class, got.Steps)
	}
	// Proxy-Scheme is read by every forward-proxy: outer in every layer but
	// the outermost, whose endpoint is its immediately next consumer.
	for _, tt := range []struct {
		x     int
		class Class
		steps []int
	}{
		{4, ClassU, []int{1, 2, 4, 9}},
		{3, ClassU, []int{1, 2, 3, 9}},
		{2, ClassU, []int{1, 2, 3, 9}},
		{1, ClassE, []int{1, 2, 3, 5, 6, 8}},
	} {
		if got := applyRule(r.RuleFor(tt.x), OptProxyScheme, m); got.Class != tt.class || !slices.Equal(got.Steps, tt.steps) {
			t.Errorf("Proxy-Scheme towards %s: %v via %v, want %v via %v", r.Hops[tt.x], got.Class, got.Steps, tt.class, tt.steps)
		}
	}
}

// TestRouteDerivedFacts checks the facts the constructors derive.
func TestRouteDerivedFacts(t *testing.T) {
	if !slices.IsSortedFunc(requestConsumed[:], func(a, b optMask) int { return int(a.opt) - int(b.opt) }) {
		t.Fatalf("requestConsumed is not in increasing order: %v", requestConsumed)
	}
	m := msgWith(codes.POST, OptURIHost, OptOSCORE, OptHopLimit)
	r := RequestRoute(m, []Hop{hC, hP1, hRP, hS}, 1, []int{2}, OptHopLimit)
	for _, tt := range []struct {
		opt  uint16
		want []int
	}{
		{OptProxyScheme, []int{1}},
		{OptURIHost, []int{1, 2}}, // a reverse-proxy on the path: the server gets its own URI
		{OptHopLimit, []int{1, 2}},
		{OptURIPath, []int{2}},
		{OptOSCORE, []int{3}}, // the end-to-end layer's option reaching a proxy
	} {
		if got := r.Consumers(tt.opt); !slices.Equal(got, tt.want) {
			t.Errorf("Consumers(%s) = %v, want %v", OptionName(tt.opt), got, tt.want)
		}
	}
	if a, ok := r.AddedBy(OptURIHost); !ok || a != 0 {
		t.Errorf("Uri-Host received by P1 attributed to %v,%v, want hop 0", a, ok)
	}
	if _, ok := r.AddedBy(OptHopLimit); ok {
		t.Errorf("Hop-Limit inserted by P1 attributed to someone else")
	}
	e := r.CombinedEDHOC(3)
	if !slices.Equal(e.NeededBy(OptEDHOC), []int{3}) || r.NeededBy(OptEDHOC) != nil {
		t.Errorf("CombinedEDHOC: %v, original changed: %v", e.NeededBy(OptEDHOC), r.NeededBy(OptEDHOC))
	}
	resp := msgWith(codes.Changed, OptOSCORE, 65001)
	rr := ResponseRoute(resp, []Hop{hS, hP, hC}, 1, []int{2})
	if a, ok := rr.AddedBy(OptOSCORE); !slices.Equal(rr.Consumers(65001), []int{2}) || !slices.Equal(rr.Consumers(OptOSCORE), []int{2}) || !ok || a != 0 {
		t.Errorf("ResponseRoute facts: %+v", rr)
	}
}

// routeInputOpts are options to ask a Route about: those some hop
// consumes, the OSCORE and EDHOC options, options of every class and an
// unknown one.
var routeInputOpts = []uint16{OptURIHost, OptObserve, OptURIPort, OptOSCORE, OptURIPath, OptContentFormat,
	OptURIPathAbbrev, OptMaxAge, OptHopLimit, OptEDHOC, OptProxyURI, OptProxyScheme, OptSize1, OptProxyCRI,
	OptProxySchemeNumber, OptEcho, OptNoResponse, 65001}

// routeMsgs are messages with various option sets (nil: no message).
func routeMsgs() []*message.Message {
	get, post := codes.GET, codes.POST
	return []*message.Message{
		nil,
		msgWith(get),
		msgWith(get, OptURIHost, OptURIPath, OptProxyScheme),
		msgWith(post, OptURIHost, OptOSCORE, OptProxyScheme),
		msgWith(post, OptURIHost, OptOSCORE, OptHopLimit, OptURIPath, OptURIPath),
		msgWith(get, OptProxyURI, OptProxySchemeNumber, OptURIPort),
		msgWith(post, OptURIHost, OptOSCORE, OptEDHOC, OptProxyScheme),
		msgWith(codes.Content, OptObserve, OptOSCORE, OptContentFormat, 65001),
		msgWith(get, OptProxyCRI, OptURIPathAbbrev, OptURIPort, OptURIHost, OptHopLimit),
	}
}

// routeHopLists lists the paths of n hops from a client to a server with
// every combination of the given intermediary roles.
func routeHopLists(n int, roles ...Role) [][]Hop {
	out := [][]Hop{{hC}}
	for i := 1; i < n-1; i++ {
		var next [][]Hop
		for _, p := range out {
			for _, ro := range roles {
				next = append(next, append(slices.Clone(p), Hop{fmt.Sprintf("P%d", i), ro}))
			}
		}
		out = next
	}
	for i := range out {
		out[i] = append(out[i], hS)
	}
	return out
}

// forwardChain is a path of n hops: a client, n-2 forward-proxies and a server.
func forwardChain(n int) []Hop { return routeHopLists(n, RoleForwardProxy)[0] }

// inputFromFacts answers the rule's questions from what AddedBy, Consumers,
// NeededBy and Layers say, with lists, as the draft phrases them (section
// 2.2; 2.1 for the OSCORE option of the sender's previous layer).
func inputFromFacts(r Route, x int, opt uint16, m *message.Message) RuleInput {
	adder := r.Sender
	if a, ok := r.AddedBy(opt); ok {
		adder = a
	}
	consumers, needers := r.Consumers(opt), r.NeededBy(opt)
	if j := slices.Index(r.Layers, x); opt == OptOSCORE && j > 0 {
		adder, consumers, needers = r.Sender, r.Layers[j-1:j], nil
	}
	next := -1 // the nearest consumer after the sender
	for _, c := range consumers {
		if c > r.Sender && c >= 0 && (next < 0 || c < next) {
			next = c
		}
	}
	return RuleInput{
		Option:                opt,
		AddedBySender:         adder == r.Sender,
		XIsConsumer:           x > r.Sender && slices.Contains(consumers, x),
		XIsNextConsumer:       next >= 0 && x == next,
		XIsNextHop:            x == r.Sender+1,
		NextHopIsNextConsumer: next >= 0 && r.Sender+1 == next,
		XNeedsBeforeRemoval:   slices.Contains(needers, x),
		HasProxyScheme:        m != nil && (m.Options.HasOption(OptProxyScheme) || m.Options.HasOption(OptProxySchemeNumber)),
	}
}

// TestRouteInputFromFacts: Input, which works on the compact form, answers
// as the facts the accessors give, for routes of 2 to 5 hops with the
// intermediaries' roles mixed, every sender and usual layers, paths longer
// than the bitmasks, and routes changed with the setters.
func TestRouteInputFromFacts(t *testing.T) {
	type built struct {
		name string
		r    Route
		m    *message.Message
	}
	var routes []built
	add := func(name string, r Route, m *message.Message) {
		routes = append(routes, built{name, r, m})
		e := r
		e.SetConsumers(OptProxyScheme, len(r.Hops)-1, 1, 1, r.Sender+1, 70)
		e.SetNeededBy(OptURIHost, r.Sender+1, 64)
		e.SetAddedBy(OptURIHost, len(r.Hops)-1)
		e.SetConsumers(OptURIPath, 64, 2, 63)
		e.SetConsumers(OptHopLimit)
		routes = append(routes, built{name + "/edited", e, m}, built{name + "/edhoc", r.CombinedEDHOC(len(r.Hops) - 1), m})
	}
	var paths [][]Hop
	for n := 2; n <= 4; n++ {
		paths = append(paths, routeHopLists(n, RoleForwardProxy, RoleReverseProxy, RoleServer)...)
	}
	paths = append(paths, routeHopLists(5, RoleForwardProxy, RoleReverseProxy)...)
	paths = append(paths, forwardChain(64), forwardChain(65), forwardChain(70))
	for _, hops := range paths {
		n := len(hops)
		senders := upTo(n)
		if n > 5 {
			senders = []int{0, 1, 62, 63, 64, n - 2}
		}
		for _, s := range senders {
			for _, layers := range [][]int{nil, {n - 1}, {s + 1}, {n - 1, 64, s + 1}} {
				for mi, m := range routeMsgs() {
					name := fmt.Sprintf("%s/s=%d/L=%v/routeMsgs[%d]", roleLetters(hops), s, layers, mi)
					add("req/"+name, RequestRoute(m, hops, s, layers, OptHopLimit), m)
					add("resp/"+name, ResponseRoute(m, hops, s, layers), m)
				}
			}
		}
	}
	for _, b := range routes {
		xs := append(upTo(len(b.r.Hops)+1), -1, 64)
		if len(b.r.Hops) > 5 {
			xs = []int{-1, 0, 1, 2, 62, 63, 64, 65, 69, 70}
		}
		for _, x := range xs {
			for _, opt := range routeInputOpts {
				if got, want := b.r.Input(x, opt, b.m), inputFromFacts(b.r, x, opt, b.m); got != want {
					t.Fatalf("%s: %s towards %d: %+v, facts say %+v", b.name, OptionName(opt), x, got, want)
				}
			}
		}
	}
}

func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func roleLetters(hops []Hop) string {
	if len(hops) > 5 {
		return fmt.Sprintf("%d hops", len(hops))
	}
	b := make([]byte, len(hops))
	for i, h := range hops {
		b[i] = "?CFRS"[min(int(h.Role), 4)]
	}
	return string(b)
}

// TestRouteLongPath: a Route's bitmasks hold hops 0 to 63; a longer chain
// of forward-proxies answers as the chain C, P1, P2, S does.
func TestRouteLongPath(t *testing.T) {
	const n = 70
	long, short := forwardChain(n), forwardChain(4)
	// like maps a sender of the long chain to the one of the short chain in
	// the same position (the client, a proxy followed by a proxy, the last
	// proxy) and x, its next hop or the server, to the short chain's.
	like := func(i int) int {
		switch {
		case i == 0:
			return 0
		case i == n-2:
			return 2
		}
		return 1
	}
	likeX := func(s, x int) int {
		if x == n-1 {
			return 3
		}
		return like(s) + 1
	}
	req := msgWith(codes.POST, OptURIHost, OptOSCORE, OptHopLimit, OptProxyScheme)
	resp := msgWith(codes.Changed, OptOSCORE, OptMaxAge, 65001)
	for _, s := range []int{0, 1, 2, 62, 63, 64, 65, n - 3, n - 2} {
		for _, x := range []int{s + 1, n - 1} {
			sx := likeX(s, x)
			layers, shortLayers := []int{x}, []int{sx}
			if s == 0 && x != n-1 {
				layers, shortLayers = []int{n - 1, x}, []int{3, sx}
			}
			for _, tt := range []struct {
				kind        string
				long, short Route
				m           *message.Message
			}{
				{"request", RequestRoute(req, long, s, layers, OptHopLimit), RequestRoute(req, short, like(s), shortLayers, OptHopLimit), req},
				{"response", ResponseRoute(resp, long, s, layers), ResponseRoute(resp, short, like(s), shortLayers), resp},
			} {
				for _, opt := range routeInputOpts {
					got, want := tt.long.Input(x, opt, tt.m), tt.short.Input(sx, opt, tt.m)
					if got != want {
						t.Errorf("%s from hop %d towards %d, %s: %+v, short chain %+v", tt.kind, s, x, OptionName(opt), got, want)
					}
				}
			}
		}
	}
	r := RequestRoute(req, long, n-2, []int{n - 1})
	if got := r.Consumers(OptURIHost); len(got) != n-1 || got[0] != 1 || got[n-2] != n-1 || !slices.IsSorted(got) {
		t.Errorf("Consumers(Uri-Host) = %v, want 1 to %d", got, n-1)
	}
	if got := r.Consumers(OptOSCORE); !slices.Equal(got, []int{n - 1}) {
		t.Errorf("Consumers(OSCORE) = %v, want [%d]", got, n-1)
	}
	if got := applyRule(r.RuleFor(n-1), OptURIHost, req); got.Class != ClassE || !slices.Equal(got.Steps, []int{1, 4, 6, 7, 8}) {
		t.Errorf("Uri-Host in the P68_S layer: %v via %v, want E via [1 4 6 7 8]", got.Class, got.Steps)
	}
}

// TestRouteSetters: the setters replace an option's facts, give hop
// indices in ascending order without duplicates, and leave copies of the
// Route as they were.
func TestRouteSetters(t *testing.T) {
	m := msgWith(codes.POST, OptURIHost, OptOSCORE)
	r := RequestRoute(m, []Hop{hC, hP, hS}, 1, []int{2})
	c := r
	c.SetConsumers(OptURIHost, 70, 2, 0, 2, 64)
	c.SetNeededBy(OptURIPath, 65, 2)
	c.SetAddedBy(OptURIHost, 1)
	c.SetAddedBy(OptProxyScheme, 0)
	if got := c.Consumers(OptURIHost); !slices.Equal(got, []int{0, 2, 64, 70}) {
		t.Errorf("Consumers(Uri-Host) = %v", got)
	}
	if got := c.NeededBy(OptURIPath); !slices.Equal(got, []int{2, 65}) {
		t.Errorf("NeededBy(Uri-Path) = %v", got)
	}
	if a, ok := c.AddedBy(OptURIHost); !ok || a != 1 {
		t.Errorf("AddedBy(Uri-Host) = %v, %v", a, ok)
	}
	if a, ok := c.AddedBy(OptProxyScheme); !ok || a != 0 {
		t.Errorf("AddedBy(Proxy-Scheme) = %v, %v", a, ok)
	}
	if !c.Input(2, OptURIHost, m).AddedBySender || !c.Input(2, OptURIPath, m).XNeedsBeforeRemoval {
		t.Errorf("the setters do not reach Input")
	}
	// The original is untouched.
	if got := r.Consumers(OptURIHost); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("original Consumers(Uri-Host) = %v, want [1 2]", got)
	}
	if a, ok := r.AddedBy(OptURIHost); !ok || a != 0 {
		t.Errorf("original AddedBy(Uri-Host) = %v, %v", a, ok)
	}
	if _, ok := r.AddedBy(OptProxyScheme); ok || r.NeededBy(OptURIPath) != nil {
		t.Errorf("original changed: %+v", r)
	}
	// A copy of the copy: beyond the bitmasks as well.
	d := c
	d.SetConsumers(OptURIHost, 71)
	d.SetNeededBy(OptURIPath)
	if got := c.Consumers(OptURIHost); !slices.Equal(got, []int{0, 2, 64, 70}) || !slices.Equal(c.NeededBy(OptURIPath), []int{2, 65}) {
		t.Errorf("copy changed: Consumers(Uri-Host) = %v, NeededBy(Uri-Path) = %v", got, c.NeededBy(OptURIPath))
	}
	if got := d.Consumers(OptURIHost); !slices.Equal(got, []int{71}) || d.NeededBy(OptURIPath) != nil {
		t.Errorf("Consumers(Uri-Host) = %v, NeededBy(Uri-Path) = %v", got, d.NeededBy(OptURIPath))
	}
	// Negative hop indices (not on the path) are kept, never the next consumer.
	d.SetConsumers(OptURIPort, 2, -1)
	if got := d.Consumers(OptURIPort); !slices.Equal(got, []int{-1, 2}) {
		t.Errorf("Consumers(Uri-Port) = %v", got)
	}
	if in := d.Input(2, OptURIPort, m); !in.XIsConsumer || !in.XIsNextConsumer {
		t.Errorf("Uri-Port towards 2: %+v", in)
	}
}

// applyRule runs rule on option opt of m (nil: a message without options).
func applyRule(rule ClassRule, opt uint16, m *message.Message) RuleResult {
	var opts message.Options
	if m != nil {
		opts = m.Options
	}
	return rule(opt, opts)
}
