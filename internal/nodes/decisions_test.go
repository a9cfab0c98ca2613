package nodes

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// TestDecisionTrail checks the proxy's published path through the steps of
// draft 2.4 in example B.1: OSCORE first, then the forward-proxy options
// that were inside the C-P layer.
func TestDecisionTrail(t *testing.T) {
	s := builtinScenario(t, "draft-b1")
	lab, bus := startLab(t, s)
	r := send(t, lab, s.Steps[0])
	var steps []string
	var outcomes []string
	for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
		if e.Node == "P" && e.Decision.Rule == trace.RuleIncomingRequest {
			steps = append(steps, e.Decision.Step)
			outcomes = append(outcomes, e.Decision.Outcome)
			if e.Decision.Section != "2.4" {
				t.Errorf("section %q", e.Decision.Section)
			}
		}
	}
	want := []string{"1->5", "5->6", "6->1", "1->2", "2->4", "4", "4"}
	if !slices.Equal(steps, want) {
		t.Fatalf("steps %v, want %v\n%s", steps, want, strings.Join(outcomes, "\n"))
	}
	if outcomes[3] != "Step 1: proxy-related options present (Proxy-Scheme, Uri-Host) -> step 2" {
		t.Errorf("outcome %q", outcomes[3])
	}
	if !strings.Contains(outcomes[2], "CTX_C_P") {
		t.Errorf("outcome %q does not name the context", outcomes[2])
	}
}

// TestConcurrentExchanges runs exchanges from several goroutines through a
// proxy with two layers: none blocks another, every one succeeds, and the
// node counters add up.
func TestConcurrentExchanges(t *testing.T) {
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
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				r, err := lab.Send(ctx, st)
				cancel()
				if err != nil || r.Code != "2.05" || r.Payload != "0" {
					errs <- r.Code + " " + r.Problem
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("%d exchanges took %v", workers*each, d)
	}
	for _, n := range lab.State().Nodes {
		if n.ID == "S" && n.Received < workers*each {
			t.Errorf("S received %d requests, want at least %d", n.Received, workers*each)
		}
	}
}

// TestForwardProxyOwnAuthority: a forward-proxy request whose authority is
// the proxy itself is a local request (draft 2.4 step 4, back to step 1);
// the proxy has no application, so step 5 answers 4.04.
func TestForwardProxyOwnAuthority(t *testing.T) {
	s := builtinScenario(t, "draft-b1")
	s.Nodes[1].Authority = "proxy.example"
	lab, bus := startLab(t, s)
	r := send(t, lab, scenario.Step{From: "C", Method: "GET", URI: "coap://proxy.example/alarm_status", Route: []string{"P"}, Contexts: []string{"CTX_C_P"}})
	if r.Code != "4.04" || !slices.Equal(r.Layers, []string{"CTX_C_P"}) {
		t.Fatalf("%+v", r)
	}
	var steps []string
	for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
		if e.Node == "P" && e.Decision.Rule == trace.RuleIncomingRequest {
			steps = append(steps, e.Decision.Step)
		}
	}
	if !slices.Contains(steps, "4->1") || steps[len(steps)-1] != "5" {
		t.Errorf("steps %v", steps)
	}
}
