package nodes

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/internal/trace"
)

// rawObserver registers for /counter at a lab server from a plain UDP
// socket, so a test decides what it answers to each notification.
type rawObserver struct {
	t   *testing.T
	c   *net.UDPConn
	reg message.Message // the registration's response
}

func newRawObserver(t *testing.T, server string) *rawObserver {
	t.Helper()
	c, err := net.DialUDP("udp", nil, mustAddr(t, server))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	o := &rawObserver{t: t, c: c}
	o.send(message.Message{Type: message.Confirmable, Code: codes.GET, MessageID: 0x100, Token: []byte("obs1"),
		Options: message.Options{{ID: message.Observe, Value: nil}, {ID: message.URIPath, Value: []byte("counter")}}})
	m, ok := o.read(2 * time.Second)
	if !ok || m.Code != codes.Content || !m.Options.HasOption(message.Observe) {
		t.Fatalf("registration answered %+v (%v)", m, ok)
	}
	o.reg = m
	return o
}

func (o *rawObserver) send(m message.Message) {
	o.t.Helper()
	b := make([]byte, 256)
	n, err := coder.DefaultCoder.Encode(m, b)
	if err != nil {
		o.t.Fatal(err)
	}
	if _, err := o.c.Write(b[:n]); err != nil {
		o.t.Fatal(err)
	}
}

func (o *rawObserver) read(within time.Duration) (message.Message, bool) {
	o.c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 2048)
	n, err := o.c.Read(buf)
	if err != nil {
		return message.Message{}, false
	}
	m := message.Message{Options: make(message.Options, 0, 8)}
	if _, err := coder.DefaultCoder.Decode(buf[:n], &m); err != nil {
		o.t.Fatalf("decode %x: %v", buf[:n], err)
	}
	return m, true
}

// ack acknowledges a Confirmable notification.
func (o *rawObserver) ack(m message.Message) {
	if m.Type == message.Confirmable {
		o.send(message.Message{Type: message.Acknowledgement, Code: codes.Empty, MessageID: m.MessageID})
	}
}

// shortTimers makes notifications, the server's idle peer timeout, its
// retransmissions and the observation maximum fast for one test.
func shortTimers(t *testing.T, maxObs time.Duration) {
	oldEvery, oldMax, oldTimers := notifyEvery, maxObservation, serverTimers
	notifyEvery, maxObservation = 100*time.Millisecond, maxObs
	serverTimers.ack, serverTimers.idle, serverTimers.tick = 50*time.Millisecond, time.Second, 50*time.Millisecond
	t.Cleanup(func() { notifyEvery, maxObservation, serverTimers = oldEvery, oldMax, oldTimers })
}

// observationEnd waits for S's decision that an observation ended.
func observationEnd(t *testing.T, bus *trace.Bus, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, e := range eventsOf(bus, trace.TypeDecision, 0) {
			if e.Node == "S" && strings.HasPrefix(e.Decision.Outcome, "Observation of /counter") {
				return e.Decision.Outcome
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no end of the observation traced within %v", within)
	return ""
}

// TestObservationOutlivesIdleTimeout: an observer that sends nothing,
// receiving NON notifications only, keeps receiving them for several
// times the server's idle peer timeout (the notifications are the
// server's traffic with that peer), and its deregistration ends the
// observation with that reason in the trace.
func TestObservationOutlivesIdleTimeout(t *testing.T) {
	shortTimers(t, time.Minute)
	oldCon := conEvery
	conEvery = 1 << 30
	t.Cleanup(func() { conEvery = oldCon })
	lab, bus := startLab(t, builtinScenario(t, "draft-b3"))
	o := newRawObserver(t, nodeAddr(lab, "S"))
	got := 0
	until := time.Now().Add(4 * serverTimers.idle)
	for time.Now().Before(until) {
		m, ok := o.read(2 * time.Second)
		if !ok && time.Now().After(until) {
			break // the last wait outlasted the run: the test's clock, not a lost notification
		}
		if !ok {
			t.Fatalf("notifications stopped after %d, %v before the end", got, time.Until(until))
		}
		if m.Type != message.NonConfirmable {
			t.Fatalf("notification %d is %v", got, m.Type)
		}
		got++
	}
	o.send(message.Message{Type: message.Confirmable, Code: codes.GET, MessageID: 0x200, Token: []byte("obs1"),
		Options: message.Options{{ID: message.Observe, Value: []byte{1}}, {ID: message.URIPath, Value: []byte("counter")}}})
	if why := observationEnd(t, bus, 3*time.Second); !strings.Contains(why, "deregistered") {
		t.Fatalf("ended: %s", why)
	}
	t.Logf("%d notifications over %v", got, 4*serverTimers.idle)
}

// TestObservationEnds: every way an observation ends stops the
// notifications and is traced with its reason (RFC 7641 3.6, 4.5).
func TestObservationEnds(t *testing.T) {
	for _, c := range []struct {
		name   string
		maxObs time.Duration
		answer func(o *rawObserver, m message.Message) // to each notification
		want   string
	}{
		{"reset", time.Minute, func(o *rawObserver, m message.Message) {
			o.send(message.Message{Type: message.Reset, Code: codes.Empty, MessageID: m.MessageID})
		}, "Reset (RFC 7641 3.6)"},
		{"unacknowledged", time.Minute, func(*rawObserver, message.Message) {}, "not acknowledged (RFC 7641 4.5)"},
		{"maximum", 700 * time.Millisecond, (*rawObserver).ack, "maximum of 700ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			shortTimers(t, c.maxObs)
			lab, bus := startLab(t, builtinScenario(t, "draft-b3"))
			o := newRawObserver(t, nodeAddr(lab, "S"))
			for {
				m, ok := o.read(1500 * time.Millisecond)
				if !ok {
					break // the server stopped notifying
				}
				c.answer(o, m)
			}
			if why := observationEnd(t, bus, time.Second); !strings.Contains(why, c.want) {
				t.Fatalf("ended: %s; want %q", why, c.want)
			}
		})
	}
}

// TestObserversCountOnTheirOwn: two observers of /counter at one server
// each see consecutive values, from their registration's value on, one
// per notification: the other observer's notifications skip none of them.
func TestObserversCountOnTheirOwn(t *testing.T) {
	shortTimers(t, time.Minute)
	lab, _ := startLab(t, builtinScenario(t, "draft-b3"))
	a, b := newRawObserver(t, nodeAddr(lab, "S")), newRawObserver(t, nodeAddr(lab, "S"))
	value := func(m message.Message) uint64 {
		v, err := strconv.ParseUint(string(m.Payload), 10, 64)
		if err != nil {
			t.Fatalf("payload %q: %v", m.Payload, err)
		}
		return v
	}
	last := map[*rawObserver]uint64{a: value(a.reg), b: value(b.reg)}
	seen := map[*rawObserver]int{}
	for seen[a] < 6 || seen[b] < 6 {
		for _, o := range []*rawObserver{a, b} {
			m, ok := o.read(2 * time.Second)
			if !ok {
				t.Fatalf("notifications stopped after %d", seen[o])
			}
			o.ack(m)
			if v := value(m); v != last[o]+1 {
				t.Fatalf("notification %d: value %d after %d", seen[o]+1, v, last[o])
			}
			last[o]++
			seen[o]++
		}
	}
}
