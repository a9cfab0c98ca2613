package oscore

import (
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
// common cases; callers may then edit the maps for unusual ones.
type Route struct {
	Hops      []string         // e.g. ["C","P","S"]
	Sender    int              // index of the node applying the layers
	AddedBy   map[uint16]int   // option number -> hop index that added it (missing: Sender)
	Consumers map[uint16][]int // option number -> hop indices that process it
	NeededBy  map[uint16][]int // option number -> hops that need it to remove their layer (step 5)

	// Layers lists the other endpoint (hop index) of each layer the sender
	// applies, in the order it applies them (draft 2.3: the end-to-end layer
	// first, then from the intermediary nearest the destination back to the
	// nearest one). When a layer is applied, M carries the OSCORE option of
	// the previous layer, which the sender added and which that layer's other
	// endpoint consumes (draft 2.1); RuleFor uses Layers to know it. For the
	// first layer, the OSCORE option (if any) is described by the maps.
	Layers []int
}

// ClassRule gives the class of option opt of message m in one layer. The
// steps of its result are the draft's step numbers (1 to 9, section 2.2)
// in increasing order, as ProtectionRule gives them; a report keeps them
// as a set.
type ClassRule func(opt uint16, m *message.Message) RuleResult

// RuleFor returns the option-protection rule (draft section 2.2) for the
// layer the sender applies towards the OSCORE endpoint at hop index x.
func (r Route) RuleFor(x int) ClassRule {
	return func(opt uint16, m *message.Message) RuleResult {
		return ProtectionRule(r.Input(x, opt, m))
	}
}

// Input answers the questions of the rule's steps (draft section 2.2) for
// option opt of m in the layer towards hop x.
func (r Route) Input(x int, opt uint16, m *message.Message) RuleInput {
	adder := r.Sender
	if a, ok := r.AddedBy[opt]; ok {
		adder = a
	}
	consumers := r.Consumers[opt]
	needers := r.NeededBy[opt]
	if opt == optOSCORE {
		if j := slices.Index(r.Layers, x); j > 0 {
			// The OSCORE option of the sender's previous layer (draft 2.1).
			adder, consumers, needers = r.Sender, r.Layers[j-1:j], nil
		}
	}
	next := r.nextConsumer(consumers)
	nextHop := r.Sender + 1
	return RuleInput{
		Option:                opt,
		AddedBySender:         adder == r.Sender,
		XIsConsumer:           x > r.Sender && slices.Contains(consumers, x),
		XIsNextConsumer:       next >= 0 && x == next,
		XIsNextHop:            x == nextHop,
		NextHopIsNextConsumer: next >= 0 && nextHop == next,
		XNeedsBeforeRemoval:   slices.Contains(needers, x),
		HasProxyScheme:        m != nil && (m.Options.HasOption(optProxyScheme) || m.Options.HasOption(optProxySchemeNumber)),
	}
}

// nextConsumer is the first consumer after the sender on the path, or -1.
func (r Route) nextConsumer(consumers []int) int {
	next := -1
	for _, c := range consumers {
		if c > r.Sender && (next < 0 || c < next) {
			next = c
		}
	}
	return next
}
