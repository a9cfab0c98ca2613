//go:build !race

// The race detector multiplies every exchange's cost; make test runs these
// tests without it (LOAD_TESTS in the Makefile).

package nodes

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"

	"oscore-lab/internal/loadgen"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// outsideTarget starts C, a forward-proxy P and S (authority example.com)
// with an end-to-end context C-S, and returns the load of an outside
// client (its own socket, no lab link) against S directly, or against P
// with Uri-Host and Proxy-Scheme. With secure, the client speaks OSCORE
// with C's side of the context (C itself sends nothing). Tracing is on:
// the bus records every event, as the lab's UI does.
func outsideTarget(t testing.TB, secure, viaProxy bool) loadgen.Config {
	s := &scenario.Scenario{Name: "outside-load", Nodes: []scenario.Node{
		{ID: "C", Role: scenario.RoleClient},
		{ID: "P", Role: scenario.RoleProxy, Forward: true},
		{ID: "S", Role: scenario.RoleServer, Authority: "example.com"},
	}}
	if secure {
		s.Contexts = []scenario.Context{{Name: "CTX_C_S", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
			A: scenario.Endpoint{Node: "C", SenderID: "01", RecipientID: "02"},
			B: scenario.Endpoint{Node: "S", SenderID: "02", RecipientID: "01"}}}
	}
	bus := trace.NewBus(benchRing)
	lab := NewLab(bus)
	if tt, ok := t.(interface{ Cleanup(func()) }); ok {
		tt.Cleanup(func() { lab.Close() })
	}
	if err := lab.Load(s); err != nil {
		t.Fatal(err)
	}
	topo := lab.topo.Load()
	target := "S"
	var opts message.Options
	if viaProxy {
		target = "P"
		opts = message.Options{{ID: message.URIHost, Value: []byte("example.com")}, {ID: message.ProxyScheme, Value: []byte("coap")}}
	}
	cfg := loadgen.Config{Addr: topo.nodes[target].addr, Path: "hello", Options: opts}
	if secure {
		c, _, err := topo.contextFor("CTX_C_S", "C")
		if err != nil {
			t.Fatal(err)
		}
		own, err := oscore.NewContext("outside", c.Params())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Context = own
	}
	return cfg
}

// TestOutsideLoadHoldsItsRate: an outside client with 32 requests in
// flight from one socket costs a lab server as much per exchange late in
// a run as early. go-coap's UDP server walked the peer's response cache
// (every response of the last 247 s) on each datagram, so each exchange
// cost more than the one before. The test compares process CPU time per
// exchange (getrusage), which other load on the machine moves far less than
// wall-clock rates; the wall rates are logged beside it. The bound is loose
// enough for a loaded 2-core machine.
func TestOutsideLoadHoldsItsRate(t *testing.T) {
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "oscore"}[secure]
		t.Run(name, func(t *testing.T) {
			cfg := outsideTarget(t, secure, false)
			cfg.Exchanges = 20000
			cfg.Duration = 60 * time.Second
			cfg.AckTimeout = time.Second
			r, err := loadgen.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			early, ok1 := r.CPUBetween(2000, 6000)
			late, ok2 := r.CPUBetween(16000, 20000)
			if !ok1 || !ok2 {
				t.Fatalf("%d of %d exchanges in %v (%d failed, first: %v), CPU marks %d", r.Exchanges, cfg.Exchanges, r.Elapsed, r.Failed, r.FirstErr, len(r.CPU))
			}
			rEarly, _ := r.RateBetween(2000, 6000)
			rLate, _ := r.RateBetween(16000, 20000)
			t.Logf("%s: exchanges 2,000-6,000: %v CPU each, %.0f/s; 16,000-20,000: %v CPU each, %.0f/s; %d failed, %d retransmissions",
				name, early, rEarly, late, rLate, r.Failed, r.Retrans)
			if late > 2*early {
				t.Errorf("CPU per exchange grew from %v to %v", early, late)
			}
			if r.Failed > 0 {
				t.Errorf("%d exchanges failed, first: %v", r.Failed, r.FirstErr)
			}
		})
	}
}

// TestOutsideLoad is the long form (docs/benchmarks.md, "Outside load"):
// OSCORE_LAB_LOAD=60s runs each variant that long against S and against P
// and logs the rate per 10 s window, the process CPU time per exchange
// (client and lab together) and the sequential p50. Off unless set.
// OSCORE_LAB_LOAD_PEER=host:port loads another implementation's server
// instead (peerTarget); OSCORE_LAB_LOAD_PEER_PID names its process, whose
// CPU time then counts in the CPU per exchange (Linux /proc);
// OSCORE_LAB_LOAD_OSCORE=no leaves out the OSCORE variant.
func TestOutsideLoad(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("OSCORE_LAB_LOAD"))
	if err != nil || d <= 0 {
		t.Skip("set OSCORE_LAB_LOAD=60s to run")
	}
	targets := []string{"S", "P"}
	peer := os.Getenv("OSCORE_LAB_LOAD_PEER")
	if peer != "" {
		targets = []string{peer}
	}
	for _, target := range targets {
		for _, secure := range []bool{false, true} {
			if secure && os.Getenv("OSCORE_LAB_LOAD_OSCORE") == "no" {
				continue
			}
			var cfg loadgen.Config
			if peer != "" {
				cfg = peerTarget(t, peer, secure)
			} else {
				cfg = outsideTarget(t, secure, target == "P")
			}
			cfg.Duration = d
			peer0 := peerCPU(t)
			r, err := loadgen.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			perEx, _ := r.CPUPerExchange()
			if peer0 >= 0 && r.Exchanges > 0 {
				// Another implementation's server runs in its own process:
				// its CPU joins the client's for the same total as the lab's.
				perEx += (peerCPU(t) - peer0) / time.Duration(r.Exchanges)
			}
			lat, err := loadgen.Sequential(context.Background(), cfg, 2000)
			if err != nil {
				t.Fatal(err)
			}
			rates := make([]int, len(r.Windows))
			for i, n := range r.Windows {
				rates[i] = n / 10
			}
			var wcpu []string
			for _, c := range r.WindowCPUPerExchange() {
				wcpu = append(wcpu, fmt.Sprintf("%.1f", float64(c.Nanoseconds())/1000))
			}
			t.Logf("%s oscore=%v: %.0f/s over %v, per 10 s window %v /s, CPU per exchange %v (per window %v µs), %d failed, %d retransmissions, sequential p50 %v p99 %v",
				target, secure, r.Rate(), r.Elapsed.Round(time.Millisecond), rates, perEx, wcpu, r.Failed, r.Retrans, lat.P50, lat.P99)
		}
	}
}

// peerTarget is the load against another implementation's server at addr:
// GET OSCORE_LAB_LOAD_PATH ("time"), with OSCORE the context of outsideTarget
// (Master Secret 0102...10, Sender ID 01, Recipient ID 02), which the peer
// must know with the IDs swapped.
func peerTarget(t testing.TB, addr string, secure bool) loadgen.Config {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadgen.Config{Addr: a, Path: os.Getenv("OSCORE_LAB_LOAD_PATH")}
	if cfg.Path == "" {
		cfg.Path = "time"
	}
	if secure {
		c, err := oscore.NewContext("peer", oscore.Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			SenderID: []byte{1}, RecipientID: []byte{2}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Context = c
	}
	return cfg
}

// peerCPU is the CPU time the process OSCORE_LAB_LOAD_PEER_PID has used
// (/proc/PID/stat utime and stime, in clock ticks of 10 ms), or -1.
func peerCPU(t testing.TB) time.Duration {
	pid := os.Getenv("OSCORE_LAB_LOAD_PEER_PID")
	if pid == "" {
		return -1
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14, stime 15.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		t.Fatalf("/proc/%s/stat: %q", pid, b)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+sys) * 10 * time.Millisecond
}
