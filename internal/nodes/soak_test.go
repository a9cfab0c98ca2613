package nodes

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSoak runs C -> P -> S with two layers for OSCORE_LAB_SOAK (a Go
// duration, e.g. 60s) from four goroutines and requires that no exchange is
// lost. Off unless the variable is set (not part of make test).
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("OSCORE_LAB_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set OSCORE_LAB_SOAK=60s to run")
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
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r, err := lab.Send(ctx, st)
				cancel()
				if err != nil || r.Code != "2.05" {
					lost.Add(1)
					t.Logf("lost: %s %s", r.Code, r.Problem)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d exchanges in %v (%.0f/s), %d lost", ok.Load(), d, float64(ok.Load())/d.Seconds(), lost.Load())
	if lost.Load() > 0 {
		t.Errorf("%d exchanges lost", lost.Load())
	}
}
