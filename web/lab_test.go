package web

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// testLab is a real lab (real UDP nodes, real bus) behind a real HTTP server.
type testLab struct {
	lab *nodes.Lab
	bus *trace.Bus
	srv *httptest.Server
}

func newTestLab(t testing.TB, name string) *testLab {
	t.Helper()
	return newTestLabWith(t, name, Options{Version: "test", StateInterval: 200 * time.Millisecond})
}

// newTestLabWith is newTestLab with server options (Done is set here).
func newTestLabWith(t testing.TB, name string, opts Options) *testLab {
	t.Helper()
	sc, ok := scenario.Builtin(name)
	if !ok {
		t.Fatalf("no built-in scenario %q", name)
	}
	return newTestLabFrom(t, sc, opts)
}

// newTestLabFrom is newTestLabWith for a scenario of the test's own.
func newTestLabFrom(t testing.TB, sc *scenario.Scenario, opts Options) *testLab {
	t.Helper()
	name := sc.Name
	bus := trace.NewBus(0)
	lab := nodes.NewLab(bus)
	if err := lab.Load(sc); err != nil {
		lab.Close()
		t.Fatalf("loading %s: %v", name, err)
	}
	done := make(chan struct{})
	opts.Done = done
	srv := httptest.NewServer(NewServer(lab, bus, opts))
	t.Cleanup(func() {
		close(done)
		srv.Close()
		lab.Close()
	})
	return &testLab{lab: lab, bus: bus, srv: srv}
}

// send sends a step without its expectations and pinned tokens and MIDs
// (so it can repeat); it is safe to call from any goroutine.
func (tl *testLab) send(st scenario.Step) (nodes.Result, error) {
	st.Expect, st.Token, st.MID, st.HopTokens, st.HopMIDs = nil, "", nil, nil, nil
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return tl.lab.Send(ctx, st)
}

// sendFirstStep sends the scenario's first step and fails the test unless
// a response came back.
func (tl *testLab) sendFirstStep(t testing.TB) nodes.Result {
	t.Helper()
	res, err := tl.send(tl.lab.Scenario().Steps[0])
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.Code == "" {
		t.Fatalf("send: no response: %s", res.Problem)
	}
	return res
}
