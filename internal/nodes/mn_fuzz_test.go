package nodes

import (
	"net"
	"testing"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// FuzzMNDatagram: any datagram a client, the server's peer or the group
// sends the multicast-notification proxy and server, and any datagram a
// listening client receives, is refused or handled without panic.
func FuzzMNDatagram(f *testing.F) {
	spec := figureSpec()
	spec.GroupOSCORE, spec.Proxy, spec.CP = true, true, true
	keys, err := mnDerivedKeys(spec)
	if err != nil {
		f.Fatal(err)
	}
	bus := trace.NewBus(1 << 16)
	sink := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9} // discard
	s, err := StartMNServer(bus, MNServerConfig{ID: "S", Resource: "r", Value: "1234", Group: sink, Token: []byte{0x7b},
		GroupCtx: keys.Groups["S"], Contexts: map[string]*oscore.Context{"01": keys.CS["C1"][1]}})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	cp := map[string]*oscore.Context{"11": keys.CP["C1"][1]}
	p, err := StartMNProxy(bus, MNProxyConfig{ID: "P", Server: sink, CP: cp, ObserveOffset: 1})
	if err != nil {
		f.Fatal(err)
	}
	defer p.Close()
	o := &MNObservation{cfg: MNClientConfig{ID: "C1", Resource: "r", GroupCtx: keys.Groups["C1"]}, bus: bus, token: []byte{0x7b}}
	f.Add([]byte{0x40, 0x01, 0x30, 0x00})
	f.Add([]byte{0x51, 0x45, 0x7d, 0x03, 0x7b, 0x61, 0x0b, 0xff, '5', '6', '7', '8'})
	f.Add([]byte{0x41, 0x05, 0x31, 0x01, 0x02, 0xd1, 0x22, 0x83, 0x82, 0x20, 0x81, 0x44, 0x7f, 0, 0, 1, 0x82, 0x20, 0x82, 0x44, 0x7f, 0, 0, 1, 0x19, 0x16, 0x3a, 0x41, 0x7b})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := oscore.DecodeMessage(b)
		if err != nil {
			return
		}
		p.fromClient(m, sink)
		p.fromServer(m, sink)
		p.fromGroup(m, sink)
		s.register(m, sink)
		o.accept(m, "fuzz")
	})
}

// TestMNProxyObserverBound: a client registering again with the same
// Token replaces its entry; beyond maxMNObservers clients none is added.
func TestMNProxyObserverBound(t *testing.T) {
	g := &proxyGroupObs{}
	for i := range maxMNObservers {
		if !g.add(proxyObserver{src: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1000 + i}, token: []byte{1}}) {
			t.Fatalf("client %d refused", i)
		}
	}
	if !g.add(proxyObserver{src: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1000}, token: []byte{1}, id: "again"}) || g.observers[0].id != "again" {
		t.Error("a re-registration did not replace its entry")
	}
	if g.add(proxyObserver{src: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 999}, token: []byte{1}}) || len(g.observers) != maxMNObservers {
		t.Errorf("%d observers after one too many", len(g.observers))
	}
}
