package nodes

import (
	"net"
	"testing"
	"time"

	"oscore-lab/internal/trace"
)

// TestLinkRelaysOnlyItsEnds: a stranger's datagrams to either side of a
// link, or to one of its relay sockets, get no relay socket of their own,
// are not recorded and are counted as refused; the link still carries its
// nodes' exchanges.
func TestLinkRelaysOnlyItsEnds(t *testing.T) {
	lab, bus := startLab(t, builtinScenario(t, "draft-b3"))
	st := lab.Scenario().Steps[0]
	st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
	if r := send(t, lab, st); !r.OK {
		t.Fatalf("first send: %+v", r)
	}
	link, err := lab.linkBetween("C", "P")
	if err != nil {
		t.Fatal(err)
	}
	relays := func() (n int, any *net.UDPAddr) {
		link.mu.Lock()
		defer link.mu.Unlock()
		for d := range link.relays {
			for _, r := range link.relays[d] {
				n++
				any = r.conn.LocalAddr().(*net.UDPAddr)
			}
		}
		return n, any
	}
	before, relay := relays()
	recorded := len(eventsOf(bus, trace.TypeDatagram, 0))

	const strangers, each = 20, 5
	get := hx("4001abcdb474657374") // CON GET MID 0xabcd /test
	targets := []*net.UDPAddr{link.addrFor("C"), link.addrFor("P"), relay}
	for range strangers {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range targets {
			for range each {
				c.WriteToUDP(get, to)
			}
		}
		c.Close()
	}
	want := uint64(strangers * each * len(targets))
	deadline := time.Now().Add(5 * time.Second)
	for link.Info().Refused < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := link.Info().Refused; got != want {
		t.Errorf("refused %d datagrams, want %d", got, want)
	}
	if after, _ := relays(); after != before {
		t.Errorf("%d relay sockets after the strangers' datagrams, %d before", after, before)
	}
	if n := len(eventsOf(bus, trace.TypeDatagram, 0)); n != recorded {
		t.Errorf("%d datagram events, %d before: strangers' datagrams were recorded", n, recorded)
	}
	if r := send(t, lab, st); !r.OK {
		t.Fatalf("send after the strangers: %+v", r)
	}
}
