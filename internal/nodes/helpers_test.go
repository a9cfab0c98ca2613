package nodes

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// startLab loads a scenario into a fresh lab; the bus records everything.
func startLab(t *testing.T, s *scenario.Scenario) (*Lab, *trace.Bus) {
	t.Helper()
	bus := trace.NewBus(0)
	lab := NewLab(bus)
	t.Cleanup(func() { lab.Close() })
	if err := lab.Load(s); err != nil {
		t.Fatalf("load %s: %v", s.Name, err)
	}
	return lab, bus
}

func builtinScenarioF(name string) (*scenario.Scenario, bool) { return scenario.Builtin(name) }

func builtinScenario(t *testing.T, name string) *scenario.Scenario {
	t.Helper()
	s, ok := scenario.Builtin(name)
	if !ok {
		t.Fatalf("no built-in scenario %q", name)
	}
	return s
}

func send(t *testing.T, lab *Lab, st scenario.Step) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := lab.Send(ctx, st)
	if err != nil {
		t.Fatalf("send %s: %v (result %+v)", st.Name, err, r)
	}
	return r
}

// datagrams returns the datagram events of one exchange in order.
func datagrams(bus *trace.Bus, ex int) []trace.Event {
	var out []trace.Event
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram && e.Exchange == ex {
			out = append(out, e)
		}
	}
	return out
}

func eventsOf(bus *trace.Bus, typ string, ex int) []trace.Event {
	var out []trace.Event
	for _, e := range bus.Recent() {
		if e.Type == typ && (ex == 0 || e.Exchange == ex) {
			out = append(out, e)
		}
	}
	return out
}

func decode(t *testing.T, b []byte) message.Message {
	t.Helper()
	m := message.Message{Options: make(message.Options, 0, 32)}
	if _, err := coder.DefaultCoder.Decode(b, &m); err != nil {
		t.Fatalf("decode %x: %v", b, err)
	}
	return m
}

func hx(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// decided reports whether node published a decision in exchange ex (0 any)
// whose step is step ("" any) and whose outcome contains text.
func decided(bus *trace.Bus, ex int, node, step, text string) bool {
	for _, e := range eventsOf(bus, trace.TypeDecision, ex) {
		if e.Node == node && (step == "" || e.Decision.Step == step) && strings.Contains(e.Decision.Outcome, text) {
			return true
		}
	}
	return false
}

// observeB6 registers to /counter across example B.6's two forward-proxies
// with notifications every 100 ms, and gives the lab, the bus and the
// registration step.
func observeB6(t *testing.T) (*Lab, *trace.Bus, scenario.Step, Result) {
	t.Helper()
	notifyEvery = 100 * time.Millisecond
	t.Cleanup(func() { notifyEvery = time.Second })
	lab, bus := startLab(t, builtinScenario(t, "draft-b6"))
	reg := scenario.Step{From: "C", Method: "GET", URI: "coap://example.com/counter", Route: []string{"P1", "P2"},
		Contexts: []string{"CTX_C_S", "CTX_C_P1"}, Observe: "register"}
	r := send(t, lab, reg)
	if r.Code != "2.05" {
		t.Fatalf("register: %+v", r)
	}
	return lab, bus, reg, r
}

// awaitNotifications waits until client C has been delivered n
// notifications of the registration exchange ex, as long as a loaded
// machine needs, instead of sleeping for a fixed time.
func awaitNotifications(t *testing.T, bus *trace.Bus, ex, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := -1 // the registration's own response is delivered too
		for _, e := range eventsOf(bus, trace.TypeDelivery, ex) {
			if e.Node == "C" {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications of exchange %d after 10 s, want %d", got, ex, n)
		}
	}
}
