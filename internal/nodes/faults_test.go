package nodes

import (
	"testing"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// TestLinkFaults drops, delays and duplicates datagrams: retransmission
// (RFC 7252 4.2) and deduplication (RFC 7252 4.5) still lead to success,
// every datagram on the wire is recorded once, and each fault is published.
func TestLinkFaults(t *testing.T) {
	cases := []struct {
		kind, dir string
		opts      FaultOptions
		minDgrams int
	}{
		{"drop", "a->b", FaultOptions{}, 3},                   // request lost, retransmitted
		{"drop", "b->a", FaultOptions{}, 3},                   // response lost, request retransmitted, cached response resent
		{"delay", "a->b", FaultOptions{Delay: 30_000_000}, 2}, // 30 ms
		{"duplicate", "a->b", FaultOptions{}, 3},              // duplicate request: one handler run (dedup by MID)
		{"corrupt", "a->b", FaultOptions{Byte: 12}, 2},        // ciphertext corrupted: the server answers 4.00
	}
	for _, tc := range cases {
		t.Run(tc.kind+" "+tc.dir, func(t *testing.T) {
			s := builtinScenario(t, "draft-b1")
			lab, bus := startLab(t, s)
			st := s.Steps[0]
			st.Expect = nil
			lk, _ := lab.Link("C-P")
			if err := lk.FaultNext(tc.kind, tc.dir, tc.opts); err != nil {
				t.Fatal(err)
			}
			r := send(t, lab, st)
			want := "2.05"
			if tc.kind == "corrupt" {
				want = "4.00" // RFC 8613 8.2: Decryption failed at P
			}
			if r.Code != want {
				t.Fatalf("%+v", r)
			}
			var n int
			for _, d := range datagrams(bus, r.Exchange) {
				if d.Link == "C-P" {
					n++
				}
			}
			if n < tc.minDgrams {
				t.Errorf("%d datagrams on C-P, want at least %d", n, tc.minDgrams)
			}
			faults := eventsOf(bus, trace.TypeFault, 0)
			if len(faults) != 1 || faults[0].Fault.Kind != tc.kind {
				t.Errorf("fault events %+v", faults)
			}
		})
	}
}

// TestScenarioFaults: a standing fault from the scenario (drop the first
// request on C-P) is applied once, and the exchange still succeeds.
func TestScenarioFaults(t *testing.T) {
	s := builtinScenario(t, "draft-b2")
	s.Links = append(s.Links, scenario.Link{A: "C", B: "P", Faults: []scenario.Fault{{Kind: "drop", Dir: "a->b", Match: 1}}})
	lab, bus := startLab(t, s)
	r := send(t, lab, s.Steps[0])
	if r.Code != "2.05" || r.Payload != "0" {
		t.Fatalf("%+v", r)
	}
	dg := datagrams(bus, r.Exchange)
	if len(dg) != 5 || dg[0].Hop != 0 || dg[1].Hop != 0 || string(dg[0].Bytes) != string(dg[1].Bytes) {
		t.Errorf("want the lost request, its retransmission, then the rest: %d datagrams", len(dg))
	}
}

// TestStandingFaultCountsFromWhenSet: a fault added to a running lab
// counts its match from then, and an edit that keeps it keeps its count.
func TestStandingFaultCountsFromWhenSet(t *testing.T) {
	s := builtinScenario(t, "draft-b1")
	lab, bus := startLab(t, s)
	st := s.Steps[0]
	st.Expect, st.Token, st.MID, st.HopTokens, st.HopMIDs = nil, "", nil, nil, nil
	send(t, lab, st) // C->P datagram 1 since the link opened
	withFault := s.Clone()
	withFault.Links = append(withFault.Links, scenario.Link{A: "C", B: "P", Faults: []scenario.Fault{{Kind: "drop", Dir: "a->b", Match: 2}}})
	if err := lab.Apply(withFault); err != nil {
		t.Fatal(err)
	}
	send(t, lab, st) // the 1st C->P datagram since the fault was set
	if n := len(eventsOf(bus, trace.TypeFault, 0)); n != 0 {
		t.Fatalf("%d faults after the first request since the fault was set, want 0 (match 2)", n)
	}
	// An edit elsewhere re-applies the same fault: its count goes on.
	edited := withFault.Clone()
	edited.Title += " (edited)"
	if err := lab.Apply(edited); err != nil {
		t.Fatal(err)
	}
	if r := send(t, lab, st); r.Code != "2.05" {
		t.Fatalf("%+v", r)
	}
	if f := eventsOf(bus, trace.TypeFault, 0); len(f) != 1 || f[0].Fault.Kind != "drop" {
		t.Fatalf("fault events %+v, want the 2nd request since the fault was set dropped", f)
	}
}

// TestSetAckTimeout: a lab given a longer ACK_TIMEOUT (RFC 7252 4.8), as a
// headless run is, waits that long before it retransmits a lost request.
// Only the lower bound is checked: load can delay a retransmission, never
// hasten it.
func TestSetAckTimeout(t *testing.T) {
	const ack = 700 * time.Millisecond
	bus := trace.NewBus(0)
	lab := NewLab(bus)
	t.Cleanup(func() { lab.Close() })
	lab.SetAckTimeout(ack)
	s := builtinScenario(t, "draft-b1")
	if err := lab.Load(s); err != nil {
		t.Fatal(err)
	}
	lk, _ := lab.Link("C-P")
	if err := lk.FaultNext("drop", "a->b", FaultOptions{}); err != nil {
		t.Fatal(err)
	}
	st := s.Steps[0]
	st.Expect = nil
	r := send(t, lab, st)
	if r.Code != "2.05" {
		t.Fatalf("%+v", r)
	}
	dg := datagrams(bus, r.Exchange)
	if len(dg) < 2 || dg[0].Link != "C-P" || dg[1].Link != "C-P" {
		t.Fatalf("want the lost request and its retransmission first on C-P: %d datagrams", len(dg))
	}
	if gap := dg[1].Time.Sub(dg[0].Time); gap < ack {
		t.Errorf("retransmitted after %v, want at least the ACK_TIMEOUT %v", gap, ack)
	}
}
