package nodes

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// chainScenario builds C -> P1 -> ... -> Pn -> S (forward-proxies) with or
// without OSCORE: end-to-end C-S, C-P1, and one context per later leg, so
// that n proxies give 1, 2 or 4 layers for n = 0, 1, 2.
func chainScenario(proxies int, secure bool) (*scenario.Scenario, scenario.Step) {
	s := &scenario.Scenario{Name: fmt.Sprintf("bench-%d-%v", proxies, secure)}
	s.Nodes = append(s.Nodes, scenario.Node{ID: "C", Role: scenario.RoleClient})
	var route []string
	for i := 1; i <= proxies; i++ {
		id := fmt.Sprintf("P%d", i)
		n := scenario.Node{ID: id, Role: scenario.RoleProxy, Forward: true}
		if i < proxies {
			n.Upstream = fmt.Sprintf("P%d", i+1)
		}
		s.Nodes = append(s.Nodes, n)
		route = append(route, id)
	}
	s.Nodes = append(s.Nodes, scenario.Node{ID: "S", Role: scenario.RoleServer, Authority: "example.com"})
	st := scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/alarm_status", Route: route}
	if !secure {
		return s, st
	}
	id := byte(0x10)
	ctx := func(name, a, b string) {
		s.Contexts = append(s.Contexts, scenario.Context{Name: name, MasterSecret: "0102030405060708090a0b0c0d0e0f10",
			A: scenario.Endpoint{Node: a, SenderID: fmt.Sprintf("%02x", id), RecipientID: fmt.Sprintf("%02x", id+1)},
			B: scenario.Endpoint{Node: b, SenderID: fmt.Sprintf("%02x", id+1), RecipientID: fmt.Sprintf("%02x", id)}})
		id += 2
	}
	ctx("CTX_C_S", "C", "S")
	st.Contexts = []string{"CTX_C_S"}
	if proxies >= 1 {
		ctx("CTX_C_P1", "C", "P1")
		st.Contexts = append(st.Contexts, "CTX_C_P1")
	}
	for i := 1; i <= proxies && proxies >= 2; i++ {
		next := "S"
		if i < proxies {
			next = fmt.Sprintf("P%d", i+1)
		}
		name := fmt.Sprintf("CTX_P%d_%s", i, next)
		ctx(name, fmt.Sprintf("P%d", i), next)
		s.Nodes[i].NextHopContexts = map[string]string{next: name}
	}
	return s, st
}

// benchRing is the bus ring size of the benchmarks: the lab's default.
var benchRing = 100000

// benchLab starts one chain on a bus whose ring is already full, as a
// running lab's is (the growth of an empty ring, trace's concern, would
// otherwise be billed to the first run), and warms up its sockets and
// pools.
func benchLab(b *testing.B, proxies int, secure bool) (*Lab, *trace.Bus, scenario.Step) {
	s, st := chainScenario(proxies, secure)
	bus := trace.NewBus(benchRing)
	for i := 0; i < benchRing; i++ {
		bus.Publish(trace.Event{Type: trace.TypeNotice, Note: "warm-up"})
	}
	lab := NewLab(bus)
	b.Cleanup(func() { lab.Close() })
	if err := lab.Apply(s); err != nil { // Apply keeps the filled ring (Load resets it)
		b.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if r, err := lab.Send(context.Background(), st); err != nil || r.Code != "2.05" {
			b.Fatalf("%+v %v", r, err)
		}
	}
	return lab, bus, st
}

// benchChain measures sequential exchanges through one topology and
// reports the latency percentiles and the process CPU per exchange next to
// ns/op.
func benchChain(b *testing.B, proxies int, secure bool, subscribers int) {
	lab, bus, st := benchLab(b, proxies, secure)
	for i := 0; i < subscribers; i++ {
		sub := bus.Subscribe(4096)
		defer sub.Close()
		go func() {
			for range sub.C() {
			}
		}()
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	cpu0, cpuOK := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r, err := lab.Send(ctx, st)
		lat = append(lat, time.Since(t0))
		if err != nil || r.Code != "2.05" {
			b.Fatalf("%+v %v", r, err)
		}
	}
	b.StopTimer()
	cpu1, _ := processCPU()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "exchanges/s")
	if cpuOK {
		// CPU per exchange next to wall time: on the 2-vCPU benchmark machine
		// p50 moves with how often a hand-off has to wake the idle CPU
		// (docs/benchmarks.md), CPU much less.
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

// BenchmarkChains compares each chain with OSCORE against the same chain
// without it, in the same run.
func BenchmarkChains(b *testing.B) {
	for _, c := range []struct {
		name    string
		proxies int
	}{{"C-S", 0}, {"C-P-S", 1}, {"C-P1-P2-S", 2}} {
		b.Run(c.name+"/plain", func(b *testing.B) { benchChain(b, c.proxies, false, 0) })
		b.Run(c.name+"/oscore", func(b *testing.B) { benchChain(b, c.proxies, true, 0) })
	}
}

// BenchmarkTracing measures the cost of two bus subscribers on the 2-layer
// chain.
func BenchmarkTracing(b *testing.B) {
	b.Run("subscribers=0", func(b *testing.B) { benchChain(b, 1, true, 0) })
	b.Run("subscribers=2", func(b *testing.B) { benchChain(b, 1, true, 2) })
}
