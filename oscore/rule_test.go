package oscore

import (
	"fmt"
	"slices"
	"testing"
)

// edge is one arrow of the state diagram of draft Appendix C.
type edge struct{ from, to int }

// diagramEdges are all arrows of Appendix C (steps 8 and 9 are the ends).
var diagramEdges = []edge{
	{1, 2}, {1, 4}, {2, 3}, {2, 4}, {3, 5}, {3, 9}, {4, 6},
	{4, 9}, {5, 6}, {5, 9}, {6, 7}, {6, 8}, {7, 8}, {7, 9},
}

func edgesOf(steps []int) []edge {
	var out []edge
	for i := 1; i < len(steps); i++ {
		out = append(out, edge{steps[i-1], steps[i]})
	}
	return out
}

// TestProtectionRuleEdges walks every arrow of the Appendix C diagram with
// an input built for it.
func TestProtectionRuleEdges(t *testing.T) {
	tests := []struct {
		name  string
		in    RuleInput
		class Class
		steps []int
	}{
		{"1y 2y 3y 5n 6n 8: Proxy-Scheme for the next consumer",
			RuleInput{Option: OptProxyScheme, AddedBySender: true, XIsConsumer: true, XIsNextConsumer: true, XIsNextHop: true, NextHopIsNextConsumer: true},
			ClassE, []int{1, 2, 3, 5, 6, 8}},
		{"1y 2y 3y 5y 9: EDHOC the consumer needs to decrypt",
			RuleInput{Option: OptEDHOC, AddedBySender: true, XIsConsumer: true, XIsNextConsumer: true, XIsNextHop: true, NextHopIsNextConsumer: true, XNeedsBeforeRemoval: true},
			ClassU, []int{1, 2, 3, 5, 9}},
		{"1y 2y 3n 9: Uri-Host also consumed by a far X",
			RuleInput{Option: OptURIHost, AddedBySender: true, XIsConsumer: true, NextHopIsNextConsumer: true, HasProxyScheme: true},
			ClassU, []int{1, 2, 3, 9}},
		{"1y 2n 4y 6n 8: inner OSCORE option for the next hop",
			RuleInput{Option: OptOSCORE, AddedBySender: true, XIsNextHop: true},
			ClassE, []int{1, 2, 4, 6, 8}},
		{"1y 2n 4n 9: Proxy-Scheme in the end-to-end layer",
			RuleInput{Option: OptProxyScheme, AddedBySender: true, NextHopIsNextConsumer: true},
			ClassU, []int{1, 2, 4, 9}},
		{"1n 4y 6y 7n 9: Uri-Host kept by a forward-proxy",
			RuleInput{Option: OptURIHost, XIsNextHop: true, NextHopIsNextConsumer: true},
			ClassU, []int{1, 4, 6, 7, 9}},
		{"1n 4y 6y 7y 8: Uri-Host with Proxy-Scheme to the next forward-proxy",
			RuleInput{Option: OptURIHost, XIsNextHop: true, XIsConsumer: true, XIsNextConsumer: true, NextHopIsNextConsumer: true, HasProxyScheme: true},
			ClassE, []int{1, 4, 6, 7, 8}},
		{"1n 4y (next hop is not the next consumer) 6 8",
			RuleInput{Option: OptHopLimit},
			ClassE, []int{1, 4, 6, 8}},
		{"1y 2y 3y 5n 6y 7n 9: Uri-Host to a server without Proxy-Scheme",
			RuleInput{Option: OptURIPort, AddedBySender: true, XIsConsumer: true, XIsNextConsumer: true, XIsNextHop: true, NextHopIsNextConsumer: true},
			ClassU, []int{1, 2, 3, 5, 6, 7, 9}},
		{"1y 2y 3y 5n 6y 7y 8: Uri-Port with Proxy-Scheme-Number",
			RuleInput{Option: OptURIPort, AddedBySender: true, XIsConsumer: true, XIsNextConsumer: true, XIsNextHop: true, NextHopIsNextConsumer: true, HasProxyScheme: true},
			ClassE, []int{1, 2, 3, 5, 6, 7, 8}},
	}
	covered := map[edge]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ProtectionRule(tt.in)
			if got.Class != tt.class || !slices.Equal(got.Steps, tt.steps) {
				t.Fatalf("ProtectionRule = %v via %v, want %v via %v", got.Class, got.Steps, tt.class, tt.steps)
			}
			if got.Original != ClassU {
				t.Errorf("Original = %v, want U", got.Original)
			}
			if got.Escalated() != (tt.class == ClassE) {
				t.Errorf("Escalated = %v", got.Escalated())
			}
		})
		for _, e := range edgesOf(tt.steps) {
			covered[e] = true
		}
	}
	for _, e := range diagramEdges {
		if !covered[e] {
			t.Errorf("edge %d->%d of Appendix C not exercised", e.from, e.to)
		}
	}
}

// TestProtectionRuleAgainstFormula checks all 128 inputs, for an option that
// is Uri-Host and one that is not, against a closed formula of section 2.2,
// and checks that every step path follows arrows of the diagram.
func TestProtectionRuleAgainstFormula(t *testing.T) {
	valid := map[edge]bool{}
	for _, e := range diagramEdges {
		valid[e] = true
	}
	for _, opt := range []uint16{OptURIHost, OptURIPort, OptProxyScheme, OptOSCORE, OptHopLimit, OptEDHOC} {
		for bits := 0; bits < 128; bits++ {
			in := RuleInput{
				Option:                opt,
				AddedBySender:         bits&1 != 0,
				XIsConsumer:           bits&2 != 0,
				XIsNextConsumer:       bits&4 != 0,
				XIsNextHop:            bits&8 != 0,
				NextHopIsNextConsumer: bits&16 != 0,
				XNeedsBeforeRemoval:   bits&32 != 0,
				HasProxyScheme:        bits&64 != 0,
			}
			viaStep5 := in.AddedBySender && in.XIsConsumer
			reach6 := (viaStep5 && in.XIsNextConsumer && !in.XNeedsBeforeRemoval) ||
				(!viaStep5 && (in.XIsNextHop || !in.NextHopIsNextConsumer))
			hostPort := opt == OptURIHost || opt == OptURIPort
			want := ClassU
			if reach6 && (!hostPort || in.HasProxyScheme) {
				want = ClassE
			}
			got := ProtectionRule(in)
			if got.Class != want {
				t.Fatalf("%s %+v: class %v, want %v (steps %v)", OptionName(opt), in, got.Class, want, got.Steps)
			}
			last := got.Steps[len(got.Steps)-1]
			if got.Steps[0] != 1 || (last != 8 && last != 9) || (last == 8) != (want == ClassE) {
				t.Fatalf("%+v: bad path %v", in, got.Steps)
			}
			for _, e := range edgesOf(got.Steps) {
				if !valid[e] {
					t.Fatalf("%+v: path %v uses %d->%d, not an arrow of Appendix C", in, got.Steps, e.from, e.to)
				}
			}
		}
	}
}

// TestProtectionRuleSkipsClassE: options specified (also) as Class E are
// processed per RFC 8613 4.1.1/4.1.3; the rule does not run (draft 2.2).
func TestProtectionRuleSkipsClassE(t *testing.T) {
	all := RuleInput{AddedBySender: true, XIsConsumer: true, XIsNextConsumer: true, XIsNextHop: true, NextHopIsNextConsumer: true}
	for _, tt := range []struct {
		opt  uint16
		want Class
	}{
		{OptURIPath, ClassE},
		{OptContentFormat, ClassE},
		{OptObserve, ClassE | ClassU},
		{OptMaxAge, ClassE | ClassU},
		{OptBlock2, ClassE | ClassU},
		{OptEcho, ClassE | ClassU},
		{OptNoResponse, ClassE | ClassU},
		{65000, ClassE}, // unrecognised: Class E (RFC 8613 4.1)
	} {
		t.Run(fmt.Sprint(OptionName(tt.opt)), func(t *testing.T) {
			in := all
			in.Option = tt.opt
			got := ProtectionRule(in)
			if got.Steps != nil || got.Class != tt.want || got.Original != tt.want || got.Escalated() {
				t.Fatalf("ProtectionRule(%s) = %+v, want class %v without steps", OptionName(tt.opt), got, tt.want)
			}
		})
	}
}

// TestProtectionRuleAllocs: the rule runs per option and layer on the hot
// path; its step paths are interned.
func TestProtectionRuleAllocs(t *testing.T) {
	in := RuleInput{Option: OptURIHost, AddedBySender: true, XIsConsumer: true, XIsNextConsumer: true, HasProxyScheme: true}
	if n := testing.AllocsPerRun(100, func() { ProtectionRule(in) }); n != 0 {
		t.Errorf("ProtectionRule allocates %v times", n)
	}
}

// TestDecisiveStep names the step that settled each class the rule can
// give, for every path through the Appendix C diagram.
func TestDecisiveStep(t *testing.T) {
	tests := []struct {
		steps  []int
		step   int
		reason string
	}{
		{[]int{1, 2, 3, 5, 6, 7, 8}, 5, "the option is meant for the other end of this layer, and the message carries Proxy-Scheme(-Number) (step 7)"},
		{[]int{1, 2, 3, 5, 6, 8}, 5, "the option is meant for the other end of this layer"},
		{[]int{1, 2, 4, 6, 8}, 4, "no hop before the other end of this layer reads the option"},
		{[]int{1, 4, 6, 7, 8}, 4, "no hop before the other end of this layer reads the option, and the message carries Proxy-Scheme(-Number) (step 7)"},
		{[]int{1, 2, 3, 9}, 3, "another hop consumes the option before the other end of this layer"},
		{[]int{1, 2, 4, 9}, 4, "the option is meant for the next hop, which is not the other end of this layer"},
		{[]int{1, 2, 3, 5, 9}, 5, "the other end of this layer needs the option before or for removing the layer"},
		{[]int{1, 2, 3, 5, 6, 7, 9}, 7, "the message carries no Proxy-Scheme(-Number), so the option stays readable for a reverse-proxy on the way"},
		{nil, 0, ""},
		{[]int{8}, 0, ""},
		{[]int{1, 2, 8}, 0, ""}, // not a path of the diagram
	}
	for _, tc := range tests {
		step, reason := DecisiveStep(tc.steps)
		if step != tc.step || reason != tc.reason {
			t.Errorf("DecisiveStep(%v) = %d %q, want %d %q", tc.steps, step, reason, tc.step, tc.reason)
		}
	}
	// Every path the rule takes has a settling step on it.
	for bits := range 1 << 7 {
		for _, opt := range []uint16{OptURIHost, OptProxyScheme, OptOSCORE, OptHopLimit, OptEDHOC} {
			r := ProtectionRule(RuleInput{Option: opt, AddedBySender: bits&1 != 0, XIsConsumer: bits&2 != 0,
				XIsNextConsumer: bits&4 != 0, XIsNextHop: bits&8 != 0, NextHopIsNextConsumer: bits&16 != 0,
				XNeedsBeforeRemoval: bits&32 != 0, HasProxyScheme: bits&64 != 0})
			step, reason := DecisiveStep(r.Steps)
			if step == 0 || reason == "" || !slices.Contains(r.Steps, step) {
				t.Errorf("option %d, inputs %07b: path %v has settling step %d %q", opt, bits, r.Steps, step, reason)
			}
		}
	}
}
