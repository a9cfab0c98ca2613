package nodes

import (
	"testing"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// TestObserveCounter registers to /counter with a protected FETCH (RFC 8613
// 4.2), receives protected notifications, each with its own Partial IV,
// and deregisters.
func TestObserveCounter(t *testing.T) {
	notifyEvery = 100 * time.Millisecond
	defer func() { notifyEvery = time.Second }()
	s := builtinScenario(t, "rfc8613-c4-c7")
	lab, bus := startLab(t, s)
	reg := scenario.Step{From: "C", Method: "GET", URI: "coap://localhost/counter", Contexts: []string{"CTX_C_S"}, Observe: "register"}
	r := send(t, lab, reg)
	if r.Code != "2.05" {
		t.Fatalf("register: %+v", r)
	}
	dg := datagrams(bus, r.Exchange)
	if m := decode(t, dg[0].Bytes); m.Code.String() != "FETCH" || !m.Options.HasOption(6) {
		t.Errorf("registration on the wire: %v %v, want outer FETCH with Observe", m.Code, optionNames(m.Options))
	}
	awaitNotifications(t, bus, r.Exchange, 3)
	dereg := reg
	dereg.Observe = "deregister"
	d := send(t, lab, dereg)
	if d.Code != "2.05" || d.Notifications < 2 {
		t.Fatalf("deregister: %+v", d)
	}
	var pivs = map[string]bool{}
	for _, e := range eventsOf(bus, trace.TypeLayer, r.Exchange) {
		if e.Dir == trace.DirResponse && e.Layer_.Action == trace.LayerApplied {
			pivs[e.Layer_.Report.Complete().PartialIV.String()] = true
		}
	}
	if len(pivs) < 3 { // first response without PIV, then one per notification
		t.Errorf("notification Partial IVs %v", pivs)
	}
	n := len(eventsOf(bus, trace.TypeDelivery, r.Exchange))
	time.Sleep(300 * time.Millisecond)
	if m := len(eventsOf(bus, trace.TypeDelivery, r.Exchange)); m != n {
		t.Errorf("notifications continue after deregistration: %d -> %d deliveries", n, m)
	}
}

// TestObserveThroughProxies observes /counter across two forward-proxies
// with four layers (example B.6's topology): each proxy keeps its upstream
// socket for the notifications and swaps its layers on each of them.
func TestObserveThroughProxies(t *testing.T) {
	lab, bus, reg, r := observeB6(t)
	awaitNotifications(t, bus, r.Exchange, 3)
	dereg := reg
	dereg.Observe = "deregister"
	d := send(t, lab, dereg)
	if d.Code != "2.05" || d.Notifications < 2 {
		t.Fatalf("deregister: %+v", d)
	}
	for _, id := range []string{"P1", "P2", "S"} {
		n := lab.topo.Load().nodes[id]
		n.observers.mu.Lock()
		left := len(n.observers.server) + len(n.observers.client)
		n.observers.mu.Unlock()
		if left != 0 {
			t.Errorf("%s still holds %d observations after the deregistration", id, left)
		}
	}
}

// TestDeregistrationCrossesNotifications deregisters across two proxies
// while S notifies every millisecond: notifications sent before S saw the
// deregistration cross it on every leg with the same token. Each node must
// keep them apart from the answer (which carries no Observe, RFC 7641 3.6):
// taking a notification for it fails its verification (RFC 8613 8.4), a
// 5.02 at a proxy or a dropped response at the client.
func TestDeregistrationCrossesNotifications(t *testing.T) {
	notifyEvery = time.Millisecond
	defer func() { notifyEvery = time.Second }()
	lab, _ := startLab(t, builtinScenario(t, "draft-b6"))
	reg := scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/counter", Route: []string{"P1", "P2"},
		Contexts: []string{"CTX_C_S", "CTX_C_P1"}, Observe: "register"}
	dereg := reg
	dereg.Observe = "deregister"
	for round := 0; round < 5; round++ {
		if r := send(t, lab, reg); r.Code != "2.05" {
			t.Fatalf("round %d: register: %+v", round, r)
		}
		time.Sleep(20 * time.Millisecond)
		if d := send(t, lab, dereg); d.Code != "2.05" || len(d.Layers) != 2 {
			t.Fatalf("round %d: deregister: %+v", round, d)
		}
	}
}

// TestRelayedNotificationsKeepOuterObserve observes through two
// forward-proxies that each remove a layer: on every leg, every response
// carrying Observe has a non-empty outer value, increasing from one
// notification to the next (RFC 7641 3.4, RFC 8613 4.1.3.5.2), and each
// proxy says so in a decision.
func TestRelayedNotificationsKeepOuterObserve(t *testing.T) {
	lab, bus, reg, r := observeB6(t)
	awaitNotifications(t, bus, r.Exchange, 3)
	dereg := reg
	dereg.Observe = "deregister"
	send(t, lab, dereg)

	last := map[string]uint32{}
	count := map[string]int{}
	for _, e := range datagrams(bus, r.Exchange) {
		if e.Dir != trace.DirResponse {
			continue
		}
		m := decode(t, e.Bytes)
		raw, err := m.Options.GetBytes(optObserve)
		if err != nil {
			continue
		}
		leg := e.From + "->" + e.To
		if len(raw) == 0 {
			t.Errorf("%s: notification with an empty outer Observe", leg)
			continue
		}
		v, _ := m.Options.GetUint32(optObserve)
		if count[leg] > 0 && v <= last[leg] {
			t.Errorf("%s: outer Observe %d after %d", leg, v, last[leg])
		}
		last[leg], count[leg] = v, count[leg]+1
	}
	for _, leg := range []string{"S->P2", "P2->P1", "P1->C"} {
		if count[leg] < 2 {
			t.Errorf("%s: %d responses with Observe, want the registration's and at least one notification", leg, count[leg])
		}
	}
	if !decided(bus, r.Exchange, "P1", "", "outer Observe") {
		t.Error("P1 publishes no decision on the outer Observe it sets (RFC 7641 3.4)")
	}
}
