package oscore

import (
	"cmp"
	"math/bits"
	"slices"

	"github.com/plgd-dev/go-coap/v3/message"
)

// Route is a message's path as its sender knows it, the facts the
// option-protection rule asks about (draft-ietf-core-oscore-capable-proxies
// section 2.2): who added each option, who consumes it, and what each OSCORE
// endpoint needs in order to remove its layer. Hop indices count in the
// direction the message travels: for a request hops[0] is the origin client,
// for a response hops[0] is the origin server. The next hop of the sender is
// Sender+1.
//
// Route is a plain value. RequestRoute and ResponseRoute fill it for the
// common cases; callers with unusual paths then change the facts of an
// option with SetAddedBy, SetConsumers and SetNeededBy, and read them with
// AddedBy, Consumers and NeededBy. The setters never write to memory a copy
// of the Route shares: after one, the copies are independent. Hops and
// Layers are shared between copies like any slice field; nothing here
// writes to them.
//
// The facts are kept as one entry per option, sorted by option number, with
// the consumers and the needers as bitmasks of hop indices 0 to 63. Other
// hop indices (paths longer than any the lab builds) go to a side list that
// only such routes pay for: the answers do not depend on the length of the
// path.
type Route struct {
	Hops   []string // e.g. ["C","P","S"]
	Sender int      // index of the node applying the layers

	// Layers lists the other endpoint (hop index) of each layer the sender
	// applies, in the order it applies them (draft 2.3: the end-to-end layer
	// first, then from the intermediary nearest the destination back to the
	// nearest one). When a layer is applied, M carries the OSCORE option of
	// the previous layer, which the sender added and which that layer's other
	// endpoint consumes (draft 2.1); RuleFor uses Layers to know it. For the
	// first layer, the OSCORE option (if any) is described by the option
	// facts (AddedBy, Consumers, NeededBy).
	Layers []int

	opts []routeOpt // sorted by option number; never written once a Route holds it
	far  []farHop   // consumers and needers outside the bitmasks, sorted; never written either
}

// inMask reports whether the bitmasks of a routeOpt hold hop index h.
func inMask(h int) bool { return h >= 0 && h < 64 }

// routeOpt holds the facts about one option of a Route.
type routeOpt struct {
	opt       uint16
	hasAdder  bool   // adder is set; otherwise the sender added the option
	adder     int    // hop index that added the option (step 1)
	consumers uint64 // bit i: hop i processes the option (steps 2 to 4)
	neededBy  uint64 // bit i: hop i needs it to remove its layer (step 5)
}

// farHop is a consumer (need false) or a needer (need true) of option opt
// at a hop index the bitmasks do not hold (see inMask).
type farHop struct {
	opt  uint16
	need bool
	hop  int
}

// farLess orders the side list by option, consumers before needers, then
// by hop index.
func farLess(a, b farHop) int {
	switch {
	case a.opt != b.opt:
		return cmp.Compare(a.opt, b.opt)
	case a.need != b.need:
		if a.need {
			return 1
		}
		return -1
	}
	return cmp.Compare(a.hop, b.hop)
}

// find returns the facts about opt (the zero routeOpt when there are none).
func (r *Route) find(opt uint16) routeOpt {
	for _, e := range r.opts {
		if e.opt >= opt {
			if e.opt == opt {
				return e
			}
			break
		}
	}
	return routeOpt{opt: opt}
}

// AddedBy returns the hop index recorded as having added option opt; ok is
// false when none is, and the sender then counts as the one that added it
// (step 1 of draft section 2.2).
func (r Route) AddedBy(opt uint16) (hop int, ok bool) {
	e := r.find(opt)
	return e.adder, e.hasAdder
}

// Consumers returns the hop indices meant to access and process option opt
// (steps 2 and 3 of draft section 2.2), in ascending order, or nil.
func (r Route) Consumers(opt uint16) []int { return r.hopList(opt, false, r.find(opt).consumers) }

// NeededBy returns the hop indices that need option opt in order to remove
// their OSCORE layer (step 5 of draft section 2.2), in ascending order, or
// nil.
func (r Route) NeededBy(opt uint16) []int { return r.hopList(opt, true, r.find(opt).neededBy) }

// hopList lists the hops of mask and those of opt's side list.
func (r *Route) hopList(opt uint16, need bool, mask uint64) []int {
	var out []int
	for ; mask != 0; mask &= mask - 1 {
		out = append(out, bits.TrailingZeros64(mask))
	}
	for _, f := range r.far {
		if f.opt == opt && f.need == need {
			out = append(out, f.hop)
		}
	}
	slices.Sort(out) // the side list's negative indices come first
	return out
}

// SetAddedBy records that hop added option opt (step 1 of draft section
// 2.2). SetAddedBy(opt, r.Sender) makes the sender its author, as when
// nothing is recorded.
func (r *Route) SetAddedBy(opt uint16, hop int) {
	e := r.edit(opt)
	e.hasAdder, e.adder = true, hop
}

// SetConsumers replaces the consumers of option opt by hops (any order,
// duplicates ignored; none: nobody processes the option).
func (r *Route) SetConsumers(opt uint16, hops ...int) { r.setHops(opt, false, hops) }

// SetNeededBy replaces the hops that need option opt in order to remove
// their layer (step 5 of draft section 2.2) by hops (any order, duplicates
// ignored).
func (r *Route) SetNeededBy(opt uint16, hops ...int) { r.setHops(opt, true, hops) }

func (r *Route) setHops(opt uint16, need bool, hops []int) {
	var mask uint64
	spill := false
	for _, h := range hops {
		if inMask(h) {
			mask |= 1 << h
		} else {
			spill = true
		}
	}
	e := r.edit(opt)
	if need {
		e.neededBy = mask
	} else {
		e.consumers = mask
	}
	if !spill && !slices.ContainsFunc(r.far, func(f farHop) bool { return f.opt == opt && f.need == need }) {
		return
	}
	far := make([]farHop, 0, len(r.far)+len(hops))
	for _, f := range r.far {
		if f.opt != opt || f.need != need {
			far = append(far, f)
		}
	}
	for _, h := range hops {
		if !inMask(h) {
			far = append(far, farHop{opt, need, h})
		}
	}
	slices.SortFunc(far, farLess)
	r.far = slices.Compact(far)
}

// edit gives r a copy of its option entries, with one for opt, and returns
// that entry: the memory copies of r share is left alone.
func (r *Route) edit(opt uint16) *routeOpt {
	i, found := slices.BinarySearchFunc(r.opts, opt, func(e routeOpt, o uint16) int { return int(e.opt) - int(o) })
	opts := make([]routeOpt, len(r.opts), len(r.opts)+1)
	copy(opts, r.opts)
	if !found {
		opts = slices.Insert(opts, i, routeOpt{opt: opt})
	}
	r.opts = opts
	return &r.opts[i]
}

// ClassRule gives the class of option opt of a message with options opts
// in one layer (the draft's rule asks of the message only which options it
// carries: step 7, Proxy-Scheme or Proxy-Scheme-Number). The steps of its
// result are the draft's step numbers (1 to 9, section 2.2) in increasing
// order, as ProtectionRule gives them; a report keeps them as a set. A rule
// must not modify opts: it is the message being protected.
type ClassRule func(opt uint16, opts message.Options) RuleResult

// RuleFor returns the option-protection rule (draft section 2.2) for the
// layer the sender applies towards the OSCORE endpoint at hop index x.
func (r Route) RuleFor(x int) ClassRule {
	return func(opt uint16, opts message.Options) RuleResult {
		m := message.Message{Options: opts}
		return ProtectionRule(r.Input(x, opt, &m))
	}
}

// Input answers the questions of the rule's steps (draft section 2.2) for
// option opt of m in the layer towards hop x.
func (r Route) Input(x int, opt uint16, m *message.Message) RuleInput {
	e := r.find(opt)
	adder := r.Sender
	if e.hasAdder {
		adder = e.adder
	}
	var xConsumes, xNeeds bool
	next := -1 // the first consumer after the sender on the path
	j := -1
	if opt == optOSCORE {
		j = slices.Index(r.Layers, x)
	}
	if j > 0 {
		// The OSCORE option of the sender's previous layer (draft 2.1):
		// added by the sender, consumed by that layer's other endpoint.
		c := r.Layers[j-1]
		adder, xConsumes = r.Sender, x == c
		if c > r.Sender {
			next = c
		}
	} else {
		xConsumes = r.has(e.consumers, opt, false, x)
		xNeeds = r.has(e.neededBy, opt, true, x)
		next = r.nextConsumer(e.consumers, opt)
	}
	nextHop := r.Sender + 1
	return RuleInput{
		Option:                opt,
		AddedBySender:         adder == r.Sender,
		XIsConsumer:           x > r.Sender && xConsumes,
		XIsNextConsumer:       next >= 0 && x == next,
		XIsNextHop:            x == nextHop,
		NextHopIsNextConsumer: next >= 0 && nextHop == next,
		XNeedsBeforeRemoval:   xNeeds,
		HasProxyScheme:        m != nil && (m.Options.HasOption(optProxyScheme) || m.Options.HasOption(optProxySchemeNumber)),
	}
}

// has reports whether hop x is in mask, or in the side list of opt's
// consumers (need false) or needers (need true).
func (r *Route) has(mask uint64, opt uint16, need bool, x int) bool {
	if inMask(x) {
		return mask&(1<<x) != 0
	}
	return len(r.far) > 0 && slices.Contains(r.far, farHop{opt, need, x})
}

// nextConsumer is the first consumer of opt after the sender on the path,
// or -1; consumers is opt's bitmask. A negative hop index, not on the path,
// is never the next consumer.
func (r *Route) nextConsumer(consumers uint64, opt uint16) int {
	if r.Sender >= 0 {
		s := uint(r.Sender) + 1
		consumers = consumers >> s << s // 0 once s reaches 64
	}
	if consumers != 0 {
		return bits.TrailingZeros64(consumers)
	}
	for _, f := range r.far { // sorted: the first match is the nearest
		if f.opt == opt && !f.need && f.hop > r.Sender && f.hop >= 0 {
			return f.hop
		}
	}
	return -1
}
