package nodes

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
)

// TestApplyLiveEdits edits the running topology: unchanged nodes keep
// their sockets and context state, a removed node frees its port (it can
// be bound again), an added proxy routes traffic at once, and a request to
// a removed node fails with a clear error instead of hanging.
func TestApplyLiveEdits(t *testing.T) {
	s := builtinScenario(t, "draft-b3")
	lab, _ := startLab(t, s)
	st := s.Steps[0]
	st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
	if r := send(t, lab, st); r.Code != "2.05" {
		t.Fatalf("%+v", r)
	}
	before := map[string]string{}
	for _, n := range lab.Nodes() {
		before[n.ID] = n.Addr
	}
	seqBefore := contextSeq(lab, "C", "CTX_C_S")

	// Add a second server and a context for it; nothing else changes.
	s2 := lab.Scenario()
	s2.Nodes = append(s2.Nodes, scenario.Node{ID: "S2", Role: scenario.RoleServer, Authority: "two.example"})
	s2.Contexts = append(s2.Contexts, scenario.Context{Name: "CTX_C_S2", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
		A: scenario.Endpoint{Node: "C", SenderID: "51", RecipientID: "52"}, B: scenario.Endpoint{Node: "S2", SenderID: "52", RecipientID: "51"}})
	if err := lab.Apply(s2); err != nil {
		t.Fatal(err)
	}
	for _, n := range lab.Nodes() {
		if a, ok := before[n.ID]; ok && a != n.Addr {
			t.Errorf("node %s moved from %s to %s", n.ID, a, n.Addr)
		}
	}
	if got := contextSeq(lab, "C", "CTX_C_S"); got != seqBefore {
		t.Errorf("unchanged context lost its state: seq %d, want %d", got, seqBefore)
	}
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://two.example/hello", Route: []string{"P"}, Contexts: []string{"CTX_C_S2", "CTX_C_P"}})
	if r.Code != "2.05" || r.Payload != "Hello World!" {
		t.Fatalf("via the added server: %+v", r)
	}

	// Remove S2: its port is free again, and requests to it fail quickly.
	addr := nodeAddr(lab, "S2")
	s3 := lab.Scenario()
	s3.Nodes = s3.Nodes[:len(s3.Nodes)-1]
	s3.Contexts = s3.Contexts[:len(s3.Contexts)-1]
	if err := lab.Apply(s3); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", mustAddr(t, addr))
	if err != nil {
		t.Fatalf("the removed node's port %s is not free: %v", addr, err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	res, err := lab.Send(ctx, scenario.Step{From: "C", Method: "GET", URI: "coap://two.example/hello", Route: []string{"P"}, Contexts: []string{"CTX_C_P"}})
	if res.Code != "5.02" && err == nil {
		t.Errorf("request to a removed node: %+v %v", res, err)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if r := send(t, lab, st); r.Code != "2.05" {
		t.Fatalf("after the edits: %+v", r)
	}
}

// TestRemoveNodeInFlight removes the server while a request is held on the
// link: the exchange ends with an error (no hang) and the lab still works.
func TestRemoveNodeInFlight(t *testing.T) {
	s := builtinScenario(t, "draft-b2")
	lab, _ := startLab(t, s)
	lk, _ := lab.Link("P-S")
	lk.FaultNext("delay", "a->b", FaultOptions{Delay: 300 * time.Millisecond})
	done := make(chan Result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		st := s.Steps[0]
		st.Expect = nil
		r, _ := lab.Send(ctx, st)
		done <- r
	}()
	time.Sleep(100 * time.Millisecond)
	s2 := lab.Scenario()
	var keep []scenario.Node
	for _, n := range s2.Nodes {
		if n.ID != "S" {
			keep = append(keep, n)
		}
	}
	s2.Nodes = keep
	s2.Contexts = nil
	s2.Steps = nil
	for i := range s2.Nodes {
		s2.Nodes[i].NextHopContexts = nil
	}
	if err := lab.Apply(s2); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.Code == "2.05" {
			t.Errorf("exchange through a removed server succeeded: %+v", r)
		}
		if r.Problem == "" && !strings.HasPrefix(r.Code, "5.") {
			t.Errorf("no clear error: %+v", r)
		}
	case <-time.After(7 * time.Second):
		t.Fatal("exchange hangs")
	}
}

func nodeAddr(lab *Lab, id string) string {
	for _, n := range lab.Nodes() {
		if n.ID == id {
			return n.Addr
		}
	}
	return ""
}

func contextSeq(lab *Lab, node, ctx string) uint64 {
	for _, n := range lab.State().Nodes {
		if n.ID == node {
			for _, c := range n.Contexts {
				if c.Name == ctx {
					return c.SenderSeq
				}
			}
		}
	}
	return 0
}

// TestFixedPortReload: a node with a fixed listen address survives a
// reload of the whole scenario (the old socket is freed before the new one
// binds) and a live edit that changes only its routes keeps the socket.
func TestFixedPortReload(t *testing.T) {
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()
	s := builtinScenario(t, "rfc8613-c4-c7")
	s.Nodes[1].Listen = addr
	lab, _ := startLab(t, s)
	for i := 0; i < 2; i++ {
		if err := lab.Load(s); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if got := nodeAddr(lab, "S"); got != addr {
			t.Fatalf("S listens on %s, want %s", got, addr)
		}
		st := s.Steps[0]
		st.Token, st.MID, st.Expect = "", nil, nil
		if r := send(t, lab, st); r.Code != "2.05" {
			t.Fatalf("after reload %d: %+v", i, r)
		}
	}
}
