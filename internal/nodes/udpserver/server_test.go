package udpserver

import (
	"bytes"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// counting starts a server whose handler answers 2.05 with the number of
// requests it has handled so far: a request handled twice shows.
func counting(t testing.TB, cfg Config) (*Server, *net.UDPAddr, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	cfg.Handler = func(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
		k := n.Add(1)
		w.Message().SetCode(codes.Content)
		w.Message().SetBody(bytes.NewReader([]byte(fmt.Sprint(k))))
	}
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(l, cfg)
	go s.Serve()
	t.Cleanup(func() { s.Stop(); l.Close() })
	return s, l.LocalAddr().(*net.UDPAddr), &n
}

func dial(t *testing.T, to *net.UDPAddr) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func encode(t *testing.T, m message.Message) []byte {
	t.Helper()
	b := make([]byte, 256)
	n, err := coder.DefaultCoder.Encode(m, b)
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

func get(typ message.Type, mid uint16, token string) message.Message {
	return message.Message{Code: codes.GET, Type: typ, MessageID: int32(mid), Token: message.Token(token),
		Options: message.Options{{ID: message.URIPath, Value: []byte("x")}}}
}

// roundTrip sends d and returns the answer, or nil after wait.
func roundTrip(t *testing.T, c *net.UDPConn, d []byte, wait time.Duration) []byte {
	t.Helper()
	if _, err := c.Write(d); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	b := make([]byte, 2048)
	n, err := c.Read(b)
	if err != nil {
		return nil
	}
	return b[:n]
}

func decode(t *testing.T, d []byte) message.Message {
	t.Helper()
	m := message.Message{Options: make(message.Options, 0, 8)}
	if _, err := coder.DefaultCoder.Decode(d, &m); err != nil {
		t.Fatalf("decode %x: %v", d, err)
	}
	return m
}

// RFC 7252 4.5: a duplicate CON is acknowledged with the same ACK and its
// request is processed once.
func TestDuplicateConfirmableGetsTheSameAnswer(t *testing.T) {
	_, addr, handled := counting(t, Config{})
	c := dial(t, addr)
	req := encode(t, get(message.Confirmable, 0x1234, "tok1"))
	first := roundTrip(t, c, req, 3*time.Second)
	if first == nil {
		t.Fatal("no answer")
	}
	if m := decode(t, first); m.Type != message.Acknowledgement || m.MessageID != 0x1234 || string(m.Payload) != "1" {
		t.Fatalf("answer %v", m)
	}
	for i := 0; i < 3; i++ {
		again := roundTrip(t, c, req, 3*time.Second)
		if !bytes.Equal(again, first) {
			t.Fatalf("duplicate %d answered %x, want the first answer %x", i, again, first)
		}
	}
	if n := handled.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

// RFC 7252 4.5: a duplicate NON is ignored.
func TestDuplicateNonConfirmableIsIgnored(t *testing.T) {
	_, addr, handled := counting(t, Config{})
	c := dial(t, addr)
	req := encode(t, get(message.NonConfirmable, 0x2222, "tok2"))
	if roundTrip(t, c, req, 3*time.Second) == nil {
		t.Fatal("no answer to the NON request")
	}
	if d := roundTrip(t, c, req, 300*time.Millisecond); d != nil {
		t.Fatalf("duplicate NON answered with %x", d)
	}
	if n := handled.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

// A MID reused with another request (another token) is a new request: it
// must not get the old request's answer.
func TestReusedMessageIDWithOtherRequestIsServed(t *testing.T) {
	_, addr, handled := counting(t, Config{})
	c := dial(t, addr)
	a := roundTrip(t, c, encode(t, get(message.Confirmable, 7, "aaaa")), 3*time.Second)
	b := roundTrip(t, c, encode(t, get(message.Confirmable, 7, "bbbb")), 3*time.Second)
	if a == nil || b == nil {
		t.Fatal("no answer")
	}
	if m := decode(t, b); string(m.Token) != "bbbb" || string(m.Payload) != "2" {
		t.Fatalf("second request answered %v", m)
	}
	if n := handled.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2", n)
	}
}

// A malformed CON whose header can be read is rejected with a RST (RFC 7252
// 4.2), and so is its duplicate.
func TestMalformedConfirmableGetsReset(t *testing.T) {
	_, addr, handled := counting(t, Config{})
	c := dial(t, addr)
	bad := []byte{0x40, 0x01, 0xab, 0xcd, 0xf0} // GET with a reserved option nibble
	for i := 0; i < 2; i++ {
		got := roundTrip(t, c, bad, 3*time.Second)
		if !bytes.Equal(got, []byte{0x70, 0, 0xab, 0xcd}) {
			t.Fatalf("answer %d %x, want RST 7000abcd", i, got)
		}
	}
	if handled.Load() != 0 {
		t.Fatal("a malformed request reached the handler")
	}
}

// The table is bounded: beyond DedupEntries the oldest request is
// forgotten, and an entry older than Lifetime is forgotten.
func TestDedupTableIsBounded(t *testing.T) {
	d := newDedup(4, 1<<20, time.Minute)
	now := time.Unix(1000, 0)
	for mid := uint16(0); mid < 10; mid++ {
		if v, _ := d.check(dedupKey{mid: mid}, uint64(mid), true, now); v != process {
			t.Fatalf("mid %d: %v", mid, v)
		}
		d.answered(dedupKey{mid: mid}, []byte{byte(mid)})
	}
	if d.len() != 4 || len(d.index) != 4 {
		t.Fatalf("%d entries (%d indexed), want 4", d.len(), len(d.index))
	}
	if v, _ := d.check(dedupKey{mid: 2}, 2, true, now); v != process {
		t.Fatal("an evicted request still counted as seen")
	}
	if v, a := d.check(dedupKey{mid: 9}, 9, true, now); v != resend || !bytes.Equal(a, []byte{9}) {
		t.Fatalf("recent duplicate: %v %x", v, a)
	}
	d.expire(now.Add(time.Minute))
	if d.len() != 0 || len(d.index) != 0 || d.bytes != 0 {
		t.Fatalf("after the lifetime: %d entries, %d indexed, %d bytes", d.len(), len(d.index), d.bytes)
	}

	small := newDedup(100, 10, time.Minute)
	for mid := uint16(0); mid < 10; mid++ {
		small.check(dedupKey{mid: mid}, 1, true, now)
		small.answered(dedupKey{mid: mid}, []byte("abcd"))
	}
	if small.bytes > 10 {
		t.Fatalf("%d bytes of answers kept, bound 10", small.bytes)
	}
}

// Beyond MaxPeers a new peer is not served.
func TestPeersAreBounded(t *testing.T) {
	_, addr, _ := counting(t, Config{MaxPeers: 2})
	for i := 0; i < 2; i++ {
		if roundTrip(t, dial(t, addr), encode(t, get(message.Confirmable, uint16(i), "t")), 3*time.Second) == nil {
			t.Fatalf("peer %d not served", i)
		}
	}
	if d := roundTrip(t, dial(t, addr), encode(t, get(message.Confirmable, 9, "t")), 300*time.Millisecond); d != nil {
		t.Fatal("a third peer was served with MaxPeers 2")
	}
}

// A peer that stays silent for PeerIdle is forgotten, and makes room for
// a new one.
func TestIdlePeersAreForgotten(t *testing.T) {
	s, addr, _ := counting(t, Config{MaxPeers: 1, PeerIdle: 300 * time.Millisecond, Tick: 50 * time.Millisecond})
	if roundTrip(t, dial(t, addr), encode(t, get(message.Confirmable, 1, "t")), 3*time.Second) == nil {
		t.Fatal("first peer not served")
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Peers() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.Peers(); n != 0 {
		t.Fatalf("%d idle peers still known", n)
	}
	if roundTrip(t, dial(t, addr), encode(t, get(message.Confirmable, 2, "t")), 3*time.Second) == nil {
		t.Fatal("a new peer not served after the idle one left")
	}
}

// Config.Traffic sees each datagram once, either way, in order: a
// request, its answer, the duplicate and the answer sent again from the
// duplicate table, and a malformed CON with its RST.
func TestTrafficSeesEveryDatagram(t *testing.T) {
	type dgram struct {
		in   bool
		peer string
		d    []byte
	}
	got := make(chan dgram, 16)
	_, addr, _ := counting(t, Config{Traffic: func(in bool, peer string, d []byte) {
		got <- dgram{in, peer, append([]byte(nil), d...)}
	}})
	c := dial(t, addr)
	req := encode(t, get(message.Confirmable, 7, "tk"))
	first := roundTrip(t, c, req, 5*time.Second)
	again := roundTrip(t, c, req, 5*time.Second)
	bad := []byte{0x40, 0x01, 0x00, 0x09, 0xff} // CON GET, payload marker without payload
	rst := roundTrip(t, c, bad, 5*time.Second)
	if first == nil || again == nil || rst == nil {
		t.Fatalf("answers %x, %x, %x", first, again, rst)
	}
	want := []dgram{{true, "", req}, {false, "", first}, {true, "", req}, {false, "", again}, {true, "", bad}, {false, "", rst}}
	for i, w := range want {
		select {
		case g := <-got:
			if g.in != w.in || !bytes.Equal(g.d, w.d) || g.peer != c.LocalAddr().String() {
				t.Fatalf("datagram %d: in=%v peer %s %x, want in=%v peer %s %x", i, g.in, g.peer, g.d, w.in, c.LocalAddr(), w.d)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("datagram %d not seen", i)
		}
	}
	select {
	case g := <-got:
		t.Fatalf("extra datagram in=%v %x", g.in, g.d)
	case <-time.After(200 * time.Millisecond):
	}
}
