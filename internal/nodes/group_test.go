package nodes

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// groupFixture is a client C and members S1..Sn sharing one Group
// Security Context, the members serving over real loopback UDP behind a
// group link.
type groupFixture struct {
	bus     *trace.Bus
	client  *group.Context
	conn    *net.UDPConn
	link    *GroupLink
	members map[string]string // hex kid -> node id
	ids     []string
}

// newGroupFixture starts n members; forge names a member whose signature
// the client checks against another key's credential (a forged response).
func newGroupFixture(t testing.TB, n int, forge string) *groupFixture {
	return startGroup(t, n, forge, false)
}

// startGroup starts the fixture; plain members answer without a group
// context (the baseline of the benchmarks).
func startGroup(t testing.TB, n int, forge string, plain bool) *groupFixture {
	t.Helper()
	params := group.Params{
		MasterSecret: []byte("0123456789abcdef"), MasterSalt: []byte{0x9e, 0x7c}, GroupID: []byte{0x44, 0x61, 0x6c},
		GroupEnc: oscore.AESCCM16_64_128, Sig: group.EdDSA, GMCred: []byte{0xa0},
	}
	type member struct {
		id, kid string
		key     *group.PrivateKey
		cred    []byte
	}
	mk := func(id string, kid byte, seed byte) member {
		k, err := group.NewEd25519Key(bytes.Repeat([]byte{seed}, 32))
		if err != nil {
			t.Fatal(err)
		}
		cred, err := group.MakeCCS(id, k.Public())
		if err != nil {
			t.Fatal(err)
		}
		return member{id: id, kid: string([]byte{kid}), key: k, cred: cred}
	}
	all := []member{mk("C", 0x01, 1)}
	for i := 1; i <= n; i++ {
		all = append(all, mk(fmt.Sprintf("S%d", i), byte(0x10+i), byte(1+i)))
	}
	forged := mk("X", 0x7f, 0xee).cred
	f := &groupFixture{bus: trace.NewBus(0), members: map[string]string{}}
	var gm []GroupMember
	for _, m := range all {
		p := params
		p.SenderID, p.SenderKey, p.SenderCred = []byte(m.kid), m.key, m.cred
		ctx, err := group.NewContext("GRP at "+m.id, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, peer := range all {
			cred := peer.cred
			if m.id == "C" && peer.id == forge {
				cred = forged
			}
			if peer.id != m.id {
				if _, err := ctx.AddRecipient([]byte(peer.kid), cred); err != nil {
					t.Fatal(err)
				}
			}
		}
		if m.id == "C" {
			f.client = ctx
			continue
		}
		f.members[hex.EncodeToString([]byte(m.kid))] = m.id
		f.ids = append(f.ids, m.id)
		if plain {
			ctx = nil
		}
		s, err := StartGroupServer(f.bus, m.id, ctx, map[string]string{"temp": "21." + m.id[1:]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		gm = append(gm, s.Member())
	}
	link, err := NewGroupLink(f.bus, "G", "C", gm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	f.link = link
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.conn = conn
	return f
}

func (f *groupFixture) request(t testing.TB, wait time.Duration) GroupOutcome {
	t.Helper()
	req := message.Message{Code: codes.GET, Token: message.Token{0x7b}, MessageID: 1}
	req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	out, err := GroupRequest(context.Background(), f.bus, f.call(wait, 0), req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *groupFixture) call(wait time.Duration, enough int) GroupCall {
	return GroupCall{Client: "C", Conn: f.conn, To: f.link.Addr(), Context: f.client, Members: f.members, Wait: wait, Enough: enough}
}

// groupWait is how long the client collects responses: far above a
// loopback round trip on a loaded machine, far below the test timeout.
const groupWait = 1500 * time.Millisecond

// TestGroupRequestEveryMemberAnswers: one group-mode request, one datagram
// to the group and a copy to each member on the trace, and a verified
// group-mode response from every member, each from its own address.
func TestGroupRequestEveryMemberAnswers(t *testing.T) {
	f := newGroupFixture(t, 3, "")
	out := f.request(t, groupWait)
	if err := out.Check(f.ids); err != nil {
		t.Fatal(err)
	}
	if len(out.Responses) != 3 {
		t.Fatalf("%d responses, want 3: %+v", len(out.Responses), out.Responses)
	}
	from := map[string]bool{}
	for _, r := range out.Responses {
		if want := "21." + r.Member[1:]; r.Code != "2.05" || r.Payload != want {
			t.Errorf("%s: %s %q, want 2.05 %q", r.Member, r.Code, r.Payload, want)
		}
		if r.Report == nil || r.Report.Group == nil || r.Report.Group.Mode != group.GroupMode.String() {
			t.Errorf("%s: response not verified in group mode: %+v", r.Member, r.Report)
		}
		if f.members[hex.EncodeToString(r.KID)] != r.Member {
			t.Errorf("%s: kid %x kept in the outcome names %q: a later datagram rewrote it", r.Member, r.KID, f.members[hex.EncodeToString(r.KID)])
		}
		from[r.From] = true
	}
	if len(from) != 3 {
		t.Errorf("responses came from %d addresses, want one per member", len(from))
	}
	var toGroup, copies, replies int
	for _, e := range f.bus.Recent() {
		if e.Type != trace.TypeDatagram {
			continue
		}
		leg := ""
		if e.Multicast != nil && e.Multicast.Group == "G" {
			leg = e.Multicast.Leg
		}
		switch {
		case e.To == "G" && leg == trace.MulticastSend && e.Multicast.Of == 3:
			toGroup++
			if !strings.Contains(e.Note, "multicast simulated by a fan-out link") {
				t.Errorf("group datagram note %q does not say multicast is simulated", e.Note)
			}
		case e.From == "G" && e.Dir == trace.DirRequest && leg == trace.MulticastCopy && e.Multicast.Of == 3:
			copies++
		case e.To == "C" && e.Dir == trace.DirResponse && leg == trace.MulticastReply:
			replies++
		}
	}
	if toGroup != 1 || copies != 3 || replies != 3 {
		t.Errorf("trace: %d datagrams to the group, %d copies, %d replies; want 1, 3, 3", toGroup, copies, replies)
	}
}

// TestGroupRequestLostOrForgedResponse: a dropped copy, a reply delayed
// past the client's wait and a response whose signature does not match
// the member's credential each make the check fail, naming the member.
func TestGroupRequestLostOrForgedResponse(t *testing.T) {
	t.Run("drop", func(t *testing.T) {
		f := newGroupFixture(t, 3, "")
		if err := f.link.SetFaults("S2", []scenario.Fault{{Kind: scenario.FaultDrop, Dir: "a->b"}}); err != nil {
			t.Fatal(err)
		}
		err := f.request(t, groupWait).Check(f.ids)
		if err == nil || !strings.Contains(err.Error(), "S2") || strings.Contains(err.Error(), "S1") {
			t.Fatalf("check = %v, want S2 alone missing", err)
		}
	})
	t.Run("late", func(t *testing.T) {
		f := newGroupFixture(t, 2, "")
		if err := f.link.SetFaults("S1", []scenario.Fault{{Kind: scenario.FaultDelay, Dir: "b->a", Delay: "3s"}}); err != nil {
			t.Fatal(err)
		}
		err := f.request(t, groupWait).Check(f.ids)
		if err == nil || !strings.Contains(err.Error(), "S1") {
			t.Fatalf("check = %v, want S1 missing", err)
		}
	})
	t.Run("forged", func(t *testing.T) {
		f := newGroupFixture(t, 3, "S3")
		out := f.request(t, groupWait)
		err := out.Check(f.ids)
		if err == nil || !strings.Contains(err.Error(), "S3") || len(out.Refused) != 1 {
			t.Fatalf("check = %v (refused %q), want S3 missing and its response refused", err, out.Refused)
		}
	})
}

func TestGroupLinkRefusesOtherFaults(t *testing.T) {
	f := newGroupFixture(t, 1, "")
	if err := f.link.SetFaults("S1", []scenario.Fault{{Kind: scenario.FaultCorrupt}}); err == nil {
		t.Fatal("corrupt accepted on a group link")
	}
}

// TestGroupRequestReplayAndGarbage: the same protected request sent to
// the group again draws no response (each member's replay window, RFC
// 10021 7.2 and RFC 8613 7.4), and datagrams that are no CoAP message or
// no Group OSCORE request draw none either; nothing panics, and the
// members still answer a fresh request afterwards.
func TestGroupRequestReplayAndGarbage(t *testing.T) {
	f := newGroupFixture(t, 2, "")
	req := message.Message{Code: codes.GET, Token: message.Token{0x7c}, Type: message.NonConfirmable, MessageID: 2}
	req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	prot, _, _, err := group.ProtectRequest(f.client, req, group.ProtectOptions{Mode: group.GroupMode})
	if err != nil {
		t.Fatal(err)
	}
	b, err := oscore.EncodeMessage(prot)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := oscore.EncodeMessage(req)
	for _, d := range [][]byte{b, b, {0x40}, {0xff, 0xff, 0xff, 0xff}, plain, b[:len(b)-3]} {
		if _, err := f.conn.WriteToUDP(d, f.link.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	buf := make([]byte, 2048)
	f.conn.SetReadDeadline(time.Now().Add(groupWait))
	for {
		if _, _, err := f.conn.ReadFromUDP(buf); err != nil {
			break
		}
		got++
	}
	if got != 2 {
		t.Fatalf("%d responses to one request sent twice and four bad datagrams, want 2 (one per member)", got)
	}
	if err := f.request(t, groupWait).Check(f.ids); err != nil {
		t.Fatalf("after the replay and the garbage: %v", err)
	}
}

// TestGroupLinkBoundsSources: sources beyond maxGroupSources are dropped
// and counted, so a flood costs no more sockets.
func TestGroupLinkBoundsSources(t *testing.T) {
	f := newGroupFixture(t, 1, "")
	for i := 0; i < maxGroupSources+3; i++ {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		// Each socket stays open to the end, so the kernel cannot hand a
		// closed one's port to the next and make two sources one.
		defer c.Close()
		c.WriteToUDP([]byte{0x40}, f.link.Addr())
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.link.Refused() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.link.Refused(); n != 3 {
		t.Fatalf("refused %d datagrams, want 3", n)
	}
}

// TestGroupRequestEnough: a client that knows the group's size stops
// collecting when every member has answered, not at the end of its wait.
func TestGroupRequestEnough(t *testing.T) {
	f := newGroupFixture(t, 2, "")
	req := message.Message{Code: codes.GET, Token: message.Token{0x7d}, MessageID: 3}
	req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	start := time.Now()
	out, err := GroupRequest(context.Background(), f.bus, f.call(20*time.Second, 2), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Check(f.ids); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %v with every member answered, want well under the 20s wait", took)
	}
}

// FuzzGroupServerAnswer: whatever datagram reaches a group member, it
// answers at most with a response to a verified request and never panics.
// Seeds: a valid group-mode request, the same in clear, and a truncation.
func FuzzGroupServerAnswer(f *testing.F) {
	fx := newGroupFixture(f, 1, "")
	req := message.Message{Code: codes.GET, Token: message.Token{0x7e}, Type: message.NonConfirmable, MessageID: 4}
	req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	plain, _ := oscore.EncodeMessage(req)
	prot, _, _, err := group.ProtectRequest(fx.client, req, group.ProtectOptions{Mode: group.GroupMode})
	if err != nil {
		f.Fatal(err)
	}
	b, _ := oscore.EncodeMessage(prot)
	f.Add(b)
	f.Add(plain)
	f.Add(b[:len(b)/2])
	// A member of its own, outside the fixture's sockets: answer is the
	// whole processing of one datagram.
	p := fx.client.Params()
	k, err := group.NewEd25519Key(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		f.Fatal(err)
	}
	cred, err := group.MakeCCS("S9", k.Public())
	if err != nil {
		f.Fatal(err)
	}
	p.SenderID, p.SenderKey, p.SenderCred = []byte{0x19}, k, cred
	ctx, err := group.NewContext("GRP at S9", p)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := ctx.AddRecipient(fx.client.SenderID(), fx.client.Params().SenderCred); err != nil {
		f.Fatal(err)
	}
	s := &GroupServer{id: "S9", bus: fx.bus, ctx: ctx, app: textApp(map[string]string{"temp": "21.9"})}
	if out, err := s.answer(bytes.Clone(b)); err != nil || out == nil {
		f.Fatalf("the valid seed drew no answer: %v", err)
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		out, err := s.answer(d)
		if out != nil && err != nil {
			t.Fatalf("answered %x and failed with %v", out, err)
		}
	})
}
