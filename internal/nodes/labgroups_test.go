package nodes

import (
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

func groupScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	data, err := os.ReadFile("../scenario/testdata/group-basic.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runGroupSteps(t *testing.T, s *scenario.Scenario) ([]Result, *Lab) {
	t.Helper()
	lab, _ := startLab(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := lab.RunSteps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res, lab
}

// TestGroupScenarioRuns: a scenario's group step over real loopback UDP:
// one datagram to the group, a copy per member, a verified group-mode
// response from each in Leisure order, the trace header naming the group
// and saying multicast is simulated.
func TestGroupScenarioRuns(t *testing.T) {
	res, lab := runGroupSteps(t, groupScenario(t))
	if len(res) != 1 || !res[0].OK {
		t.Fatalf("results %+v", res)
	}
	rs := res[0].Responses
	if len(rs) != 2 || rs[0].Member != "S1" || rs[1].Member != "S2" || rs[0].From == rs[1].From {
		t.Fatalf("responses %+v, want S1 then S2 (Leisure 30ms) from two addresses", rs)
	}
	tr := lab.Trace()
	if len(tr.Groups) != 1 || tr.Groups[0].ID != "G" || !strings.Contains(tr.Groups[0].Multicast, "simulated by a fan-out link") {
		t.Fatalf("trace groups %+v", tr.Groups)
	}
	var toGroup, copies, fromMembers, groupLayers int
	for _, e := range tr.Events {
		switch {
		case e.Type == trace.TypeDatagram && e.To == "G" && e.From == "C":
			toGroup++
			if e.Exchange != res[0].Exchange || !strings.Contains(e.Note, "simulated by a fan-out link") {
				t.Errorf("group datagram %+v", e)
			}
		case e.Type == trace.TypeDatagram && e.From == "G":
			copies++
		case e.Type == trace.TypeDatagram && e.To == "C":
			fromMembers++
		case e.Type == trace.TypeLayer && e.Layer_.Report != nil && e.Layer_.Report.Group != nil && e.Layer_.Report.Group.Mode == "group":
			groupLayers++
		}
	}
	// C applies, each member removes and applies, C removes twice.
	if toGroup != 1 || copies != 2 || fromMembers != 2 || groupLayers != 7 {
		t.Errorf("trace: %d to G, %d copies, %d replies, %d group-mode layers; want 1, 2, 2, 7", toGroup, copies, fromMembers, groupLayers)
	}
}

// TestGroupScenarioVerdicts: the verdict of a group step in both
// directions, with the exact problem for each wrong expectation, a member
// dropped by the group link, and the pairwise and plain variants.
func TestGroupScenarioVerdicts(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name    string
		edit    func(s *scenario.Scenario)
		problem string // "" = the step passes
	}{
		{"right", func(*scenario.Scenario) {}, ""},
		{"wrong code", func(s *scenario.Scenario) { s.Steps[0].Expect.Responses[1].Code = "4.04" },
			`S2: expected code 4.04, got 2.05 "21.2"`},
		{"wrong payload", func(s *scenario.Scenario) { s.Steps[0].Expect.Responses[0].Payload = str("22") },
			`S1: expected payload "22", got "21.1"`},
		{"silent expected", func(s *scenario.Scenario) {
			s.Steps[0].Expect.Responses[1] = scenario.MemberResponse{From: "S2", NoResponse: true}
		}, `expected no response from S2, got 2.05 "21.2"`},
		{"refusal expected", func(s *scenario.Scenario) {
			s.Steps[0].Expect.Responses[0] = scenario.MemberResponse{From: "S1", Refused: true}
		}, `expected S1's response refused, got 2.05 "21.1"`},
		{"S2 dropped", func(s *scenario.Scenario) {
			s.Links = []scenario.Link{{A: "G", B: "S2", Faults: []scenario.Fault{{Kind: scenario.FaultDrop, Dir: "a->b"}}}}
			s.Steps[0].Expect.Timeout = "400ms"
		}, "expected a response from S2, got none"},
		{"S2 dropped and expected silent", func(s *scenario.Scenario) {
			s.Links = []scenario.Link{{A: "G", B: "S2", Faults: []scenario.Fault{{Kind: scenario.FaultDrop, Dir: "a->b"}}}}
			s.Steps[0].Expect.Timeout = "400ms"
			s.Steps[0].Expect.Responses[1] = scenario.MemberResponse{From: "S2", NoResponse: true}
		}, ""},
		{"no expectations, S1 dropped", func(s *scenario.Scenario) {
			s.Links = []scenario.Link{{A: "G", B: "S1", Faults: []scenario.Fault{{Kind: scenario.FaultDrop, Dir: "b->a"}}}}
			s.Steps[0].Expect = &scenario.Expect{Timeout: "400ms"}
		}, "expected a response from S1, got none"},
		{"pairwise for S2", func(s *scenario.Scenario) {
			s.Steps[0].Mode, s.Steps[0].Member = scenario.ModePairwise, "S2"
			s.Steps[0].Expect.Timeout = "400ms"
			s.Steps[0].Expect.Responses[0] = scenario.MemberResponse{From: "S1", NoResponse: true}
		}, ""},
		{"plain group", func(s *scenario.Scenario) {
			s.Groups[0].Context = ""
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := groupScenario(t)
			c.edit(s)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			res, _ := runGroupSteps(t, s)
			r := res[0]
			switch {
			case c.problem == "" && !r.OK:
				t.Fatalf("failed: %s (responses %+v)", r.Problem, r.Responses)
			case c.problem != "" && (r.OK || r.Problem != c.problem):
				t.Fatalf("ok %v problem %q, want %q (responses %+v)", r.OK, r.Problem, c.problem, r.Responses)
			}
		})
	}
}

// TestGroupForgedResponseRefused: in error-group-forged-response, X's
// response in S1's name fails Group OSCORE verification at the client and
// is refused, attributed to X by its address, while S1's real response is
// accepted. Without the impersonation, X's honest answer is accepted and
// the expected refusal fails the step, naming what came.
func TestGroupForgedResponseRefused(t *testing.T) {
	res, _ := runGroupSteps(t, builtinScenario(t, "error-group-forged-response"))
	r := res[0]
	if !r.OK {
		t.Fatalf("failed: %s (%+v)", r.Problem, r.Responses)
	}
	var refused, s1 int
	for _, m := range r.Responses {
		switch {
		case m.Member == "X" && strings.Contains(m.Refused, "Group OSCORE verification failed"):
			refused++
		case m.Member == "S1" && m.Refused == "" && m.Payload == "21.5":
			s1++
		default:
			if m.Refused != "" || m.Member == "X" {
				t.Errorf("unexpected %+v", m)
			}
		}
	}
	if refused != 1 || s1 != 1 {
		t.Fatalf("responses %+v: want X's refused for its verification and S1's accepted", r.Responses)
	}

	s := builtinScenario(t, "error-group-forged-response")
	s.Groups[0].Members[0].Impersonate = ""
	res, _ = runGroupSteps(t, s)
	if want := `expected X's response refused, got 2.05 "99.9"`; res[0].OK || res[0].Problem != want {
		t.Fatalf("honest X: ok %v problem %q, want %q", res[0].OK, res[0].Problem, want)
	}
}

// TestGroupApplyKeepsSequenceNumbers: a live edit that changes the group
// context rebuilds every member's instance, and each goes on from its old
// Sender Sequence Number, so no nonce is used twice under the same keys
// (RFC 10021 2.6.2); an edit that leaves it alone keeps the instances.
func TestGroupApplyKeepsSequenceNumbers(t *testing.T) {
	s := groupScenario(t)
	res, lab := runGroupSteps(t, s)
	if !res[0].OK {
		t.Fatal(res[0].Problem)
	}
	before := lab.topo.Load().groupCtx["GRP"]
	seqC, seqS1 := before["C"].SenderSeq(), before["S1"].SenderSeq()
	if seqC != 1 || seqS1 != 0 {
		t.Fatalf("after one request: C's next SSN %d, S1's %d; want 1 and 0 (S1's response reused the request nonce)", seqC, seqS1)
	}
	same := s.Clone()
	same.Steps = nil
	if err := lab.Apply(same); err != nil {
		t.Fatal(err)
	}
	if lab.topo.Load().groupCtx["GRP"]["C"] != before["C"] {
		t.Error("an edit that leaves the group context alone rebuilt it")
	}
	changed := same.Clone()
	changed.GroupContexts[0].ReplayWindow = 64
	if err := lab.Apply(changed); err != nil {
		t.Fatal(err)
	}
	after := lab.topo.Load().groupCtx["GRP"]
	if after["C"] == before["C"] || after["C"].SenderSeq() != seqC {
		t.Fatalf("after the edit C's context is the old one (%v) or starts at %d, want a new one at %d", after["C"] == before["C"], after["C"].SenderSeq(), seqC)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := lab.Send(ctx, s.Steps[0])
	if err != nil || !r.OK {
		t.Fatalf("group request after the edit: %v %s", err, r.Problem)
	}
}

// TestGroupLayoutsOnTheWire: goscore-layout's four messages carry the
// OSCORE option values of RFC 10021 4.3 byte for byte; the group-mode
// payloads end with the 64-byte encrypted countersignature, the pairwise
// ones are the ciphertext alone (one byte of inner code and the tag at
// least, nothing more than the plaintext and the 8-byte CCM tag).
func TestGroupLayoutsOnTheWire(t *testing.T) {
	res, lab := runGroupSteps(t, builtinScenario(t, "goscore-layout"))
	for _, r := range res {
		if !r.OK {
			t.Fatalf("step %q: %s", r.Step, r.Problem)
		}
	}
	want := map[string]string{"C-G": "39050344616c25", "S-C G": "2852", "C-G2": "19050344616c25", "S-C G2": ""}
	got := map[string]string{}
	plain := map[string]int{} // plaintext length of the layer that made each payload, by link
	for _, e := range lab.Trace().Events {
		if e.Type == trace.TypeLayer && e.Layer_.Action == trace.LayerApplied && e.Layer_.Report != nil {
			plain[e.Node] = len(e.Layer_.Report.Plaintext)
		}
		if e.Type != trace.TypeDatagram || (e.From != "C" && e.To != "C") {
			continue
		}
		d, err := trace.ParseDatagram(e.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		o, ok := d.Option(9)
		if !ok {
			t.Fatalf("%s -> %s without an OSCORE option", e.From, e.To)
		}
		key := e.From + "-" + e.To
		if e.To == "C" {
			key = "S-C " + strings.Split(e.Link, "-")[0]
		}
		got[key] = hex.EncodeToString(o.Value)
		sig := 0
		if key == "C-G" || key == "S-C G" { // group mode
			sig = 64
		}
		if n := len(d.Payload) - sig - plain[e.From]; n != 8 {
			t.Errorf("%s: payload of %d bytes for a plaintext of %d: %d more, want the 8-byte tag (and 64 bytes of signature in group mode)", key, len(d.Payload), plain[e.From], n)
		}
	}
	for k, v := range want {
		if v2, ok := got[k]; !ok || v2 != v {
			t.Errorf("%s: OSCORE option %q, want %q (RFC 10021 4.3)", k, got[k], v)
		}
	}
}
