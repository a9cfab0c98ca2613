package nodes

import (
	"context"
	"encoding/hex"
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
