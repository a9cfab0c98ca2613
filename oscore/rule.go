package oscore

import "slices"

// RuleInput is what the sender knows about one option OPT of message M when it
// is about to apply its i-th OSCORE layer towards the OSCORE endpoint X
// (draft-ietf-core-oscore-capable-proxies, section 2.2). Every answer is "to
// the best of the sender's knowledge": a reverse-proxy standing for X is
// invisible to it.
type RuleInput struct {
	Option                uint16
	AddedBySender         bool // step 1: the sender added OPT to M
	XIsConsumer           bool // step 2: X is meant to access and process OPT
	XIsNextConsumer       bool // step 3: X is the immediately next consumer of OPT
	XIsNextHop            bool // step 4, first condition
	NextHopIsNextConsumer bool // step 4, second condition (the draft asks whether it is NOT)
	XNeedsBeforeRemoval   bool // step 5: X needs OPT before removing layer i, or to remove it
	HasProxyScheme        bool // step 7: M contains Proxy-Scheme or Proxy-Scheme-Number
}

// RuleResult is the outcome of the option-protection rule for one option in
// one layer: the class the option gets in this layer, the steps taken
// (nil when the rule does not apply) and the option's original class.
type RuleResult struct {
	Class    Class
	Steps    []int
	Original Class
}

// Escalated reports whether the rule turned an outer option into Class E.
func (r RuleResult) Escalated() bool {
	return r.Class == ClassE && r.Original&ClassE == 0
}

// OriginalClass is the class an option has before the draft's rule runs: its
// registered class, or Class E for an option the registry does not know
// (RFC 8613 section 4.1: options without a defined class are Class E).
func OriginalClass(opt uint16) Class {
	return originalClass(opt)
}

// ProtectionRule runs the option-protection rule of
// draft-ietf-core-oscore-capable-proxies section 2.2 (state diagram in
// Appendix C) for one option and one layer.
//
// Options specified (also) as Class E, Observe and the other E+U options
// included, are processed per RFC 8613 sections 4.1.1 and 4.1.3 and the rule
// does not run for them: the result carries their original class and no
// steps. For an option originally only outer (Class U or I) the sender MUST
// run steps 1 to 9; the result is Class E (step 8) or the original class
// (step 9), with the path of steps taken.
//
// Steps is shared between results with the same path and must not be
// modified.
func ProtectionRule(in RuleInput) RuleResult {
	orig := OriginalClass(in.Option)
	if orig&ClassE != 0 {
		return RuleResult{Class: orig, Original: orig}
	}
	var mask uint16 // steps only ever increase along the diagram: a set names a path
	step := 1
	for {
		mask |= 1 << step
		switch step {
		case 1: // did the sender add OPT to M?
			step = pick(in.AddedBySender, 2, 4)
		case 2: // is X a consumer of OPT?
			step = pick(in.XIsConsumer, 3, 4)
		case 3: // is X the immediately next consumer of OPT?
			step = pick(in.XIsNextConsumer, 5, 9)
		case 4: // is X the next hop, or is the next hop not the next consumer?
			step = pick(in.XIsNextHop || !in.NextHopIsNextConsumer, 6, 9)
		case 5: // does X need OPT before or for removing layer i?
			step = pick(in.XNeedsBeforeRemoval, 9, 6)
		case 6: // is OPT Uri-Host or Uri-Port?
			step = pick(in.Option == optURIHost || in.Option == optURIPort, 7, 8)
		case 7: // does M include Proxy-Scheme or Proxy-Scheme-Number?
			step = pick(in.HasProxyScheme, 8, 9)
		case 8:
			return RuleResult{Class: ClassE, Steps: stepPath(mask), Original: orig}
		default: // 9
			return RuleResult{Class: orig, Steps: stepPath(mask), Original: orig}
		}
	}
}

// stepPaths interns the few paths through the diagram, so that running the
// rule allocates nothing.
var stepPaths [1 << 10][]int

func stepPath(mask uint16) []int {
	if p := stepPaths[mask]; p != nil {
		return p
	}
	var p []int
	for s := 1; s <= 9; s++ {
		if mask&(1<<s) != 0 {
			p = append(p, s)
		}
	}
	return p[:len(p):len(p)]
}

func init() {
	for bits := range 1 << 7 {
		for _, opt := range []uint16{optURIHost, optOSCORE} {
			r := ProtectionRule(RuleInput{Option: opt, AddedBySender: bits&1 != 0, XIsConsumer: bits&2 != 0,
				XIsNextConsumer: bits&4 != 0, XIsNextHop: bits&8 != 0, NextHopIsNextConsumer: bits&16 != 0,
				XNeedsBeforeRemoval: bits&32 != 0, HasProxyScheme: bits&64 != 0})
			var mask uint16
			for _, s := range r.Steps {
				mask |= 1 << s
			}
			stepPaths[mask] = r.Steps
		}
	}
}

func pick(cond bool, yes, no int) int {
	if cond {
		return yes
	}
	return no
}

// RuleOtherEnd is how a step reason names X, the OSCORE endpoint at the
// other end of the layer; a viewer that knows X replaces it with X's name.
const RuleOtherEnd = "the other end of this layer"

// Step reasons, one per way the option-protection rule settles a class
// (draft-ietf-core-oscore-capable-proxies section 2.2). The step that
// settles Class E is the one leading to step 6, which says whom the
// option is for (steps 6 and 7 then only carve out Uri-Host and Uri-Port
// without Proxy-Scheme); the step that settles the original class is the
// one leading to step 9.
const (
	reasonMeantForX      = "the option is meant for " + RuleOtherEnd
	reasonNoHopReads     = "no hop before " + RuleOtherEnd + " reads the option"
	reasonWithScheme     = ", and the message carries Proxy-Scheme(-Number) (step 7)"
	reasonConsumedBefore = "another hop consumes the option before " + RuleOtherEnd
	reasonNextHopFirst   = "the option is meant for the next hop, which is not " + RuleOtherEnd
	reasonNeededToRemove = RuleOtherEnd + " needs the option before or for removing the layer"
	reasonNoScheme       = "the message carries no Proxy-Scheme(-Number), so the option stays readable for a reverse-proxy on the way"
)

// DecisiveStep names the step of the option-protection rule that settled
// the class of an option, given the rule's step path in one layer, and
// the reason in the draft's words (draft section 2.2, Appendix C). For
// Class E (a path ending at step 8) it is the step that led to step 6:
// step 5 (X is the immediately next consumer and needs the option neither
// before nor for removing the layer) or step 4 (X is the next hop, or the
// next hop does not consume the option); for the original class (step 9)
// it is the step that led to step 9. A path that is not one of the
// diagram's gives 0 and no reason, as does an empty one (the rule did not
// run: options also of Class E keep their class, RFC 8613 4.1).
func DecisiveStep(steps []int) (step int, reason string) {
	n := len(steps)
	if n < 2 {
		return 0, ""
	}
	before, last := steps[n-2], steps[n-1]
	switch last {
	case 8:
		at6 := slices.Index(steps, 6)
		if at6 < 1 {
			return 0, ""
		}
		scheme := ""
		if before == 7 {
			scheme = reasonWithScheme
		}
		switch steps[at6-1] {
		case 5:
			return 5, reasonMeantForX + scheme
		case 4:
			return 4, reasonNoHopReads + scheme
		}
	case 9:
		switch before {
		case 3:
			return 3, reasonConsumedBefore
		case 4:
			return 4, reasonNextHopFirst
		case 5:
			return 5, reasonNeededToRemove
		case 7:
			return 7, reasonNoScheme
		}
	}
	return 0, ""
}
