package nodes

import (
	"context"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// shortSoak is the soak of make test: long enough for four senders to
// overtake each other many times.
const shortSoak = 3 * time.Second

// TestSoak runs C -> P -> S with two layers for OSCORE_LAB_SOAK (a Go
// duration, e.g. 60s) from four goroutines and requires that no exchange is
// lost. With OSCORE_LAB_SOAK_RATE (exchanges per second) it sends instead
// from one goroutine at that steady rate, so that C carries every exchange
// on one socket and P every forwarded one on one socket, and logs each
// minute's latency and the heap in use. Unset, it is the short soak of make
// test (shortSoak, under the race detector there), where each of the four
// senders must also complete exchanges of its own.
func TestSoak(t *testing.T) {
	d := shortSoak
	if v := os.Getenv("OSCORE_LAB_SOAK"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d <= 0 {
			t.Fatalf("OSCORE_LAB_SOAK=%q is not a positive Go duration", v)
		}
	}
	s := builtinScenario(t, "draft-b3")
	// Concurrent senders share CTX_C_S: on a loaded machine one request can
	// be overtaken by more than 32 others, which the default window rightly
	// rejects as a replay (RFC 8613 7.4). A wider window keeps it fresh.
	for i := range s.Contexts {
		s.Contexts[i].ReplayWindow = 1024
	}
	lab, _ := startLab(t, s)
	st := s.Steps[0]
	st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
	var ok, lost atomic.Int64
	send := func() (time.Duration, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		t0 := time.Now()
		r, err := lab.Send(ctx, st)
		if err != nil || r.Code != "2.05" {
			lost.Add(1)
			t.Logf("lost: %s %s", r.Code, r.Problem)
			return 0, false
		}
		ok.Add(1)
		return time.Since(t0), true
	}
	end := time.Now().Add(d)
	if rate, _ := strconv.Atoi(os.Getenv("OSCORE_LAB_SOAK_RATE")); rate > 0 {
		steady(t, send, rate, end)
	} else {
		var each [4]int
		var wg sync.WaitGroup
		for w := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					if _, ok := send(); ok {
						each[w]++
					}
				}
			}()
		}
		wg.Wait()
		for w, n := range each {
			if n == 0 {
				t.Errorf("sender %d completed no exchange in %v", w, d)
			}
		}
	}
	t.Logf("%d exchanges in %v (%.0f/s), %d lost", ok.Load(), d, float64(ok.Load())/d.Seconds(), lost.Load())
	if lost.Load() > 0 {
		t.Errorf("%d exchanges lost", lost.Load())
	}
}

// steady sends at rate exchanges per second from one goroutine until end
// and logs each minute's p50 and p99 latency and the heap in use after a
// collection.
func steady(t *testing.T, send func() (time.Duration, bool), rate int, end time.Time) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	minute := time.Now().Add(time.Minute)
	var lat []time.Duration
	report := func() {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if len(lat) > 0 {
			t.Logf("minute: %d exchanges, p50 %v, p99 %v, heap in use %.1f MB",
				len(lat), lat[len(lat)/2], lat[len(lat)*99/100], float64(ms.HeapInuse)/1e6)
		}
		lat = lat[:0]
	}
	for now := range tick.C {
		if now.After(end) {
			break
		}
		if l, ok := send(); ok {
			lat = append(lat, l)
		}
		if now.After(minute) {
			report()
			minute = minute.Add(time.Minute)
		}
	}
	report()
}
