package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// groupRequestTrace runs one Group OSCORE request from C to a group G of
// members S1..Sn over real loopback UDP (nodes.GroupLink, GroupServer,
// GroupRequest: one datagram to G, one copy per member, one response per
// member) and returns the trace, every member's context named "GRP".
func groupRequestTrace(t *testing.T, n int) (*trace.Trace, nodes.GroupOutcome) {
	t.Helper()
	params := group.Params{MasterSecret: []byte("group ui secret!"), MasterSalt: []byte{0x9e, 0x7c}, GroupID: []byte{0x37, 0xcb, 0xf3},
		GroupEnc: oscore.AESCCM16_64_128, Sig: group.EdDSA, GMCred: []byte{0xa0}}
	ids := []string{"C"}
	for i := 1; i <= n; i++ {
		ids = append(ids, fmt.Sprintf("S%d", i))
	}
	creds := map[string][]byte{}
	ctxs := map[string]*group.Context{}
	for i, id := range ids {
		key, err := group.NewEd25519Key(bytes.Repeat([]byte{byte(0x40 + i)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		if creds[id], err = group.MakeCCS(id, key.Public()); err != nil {
			t.Fatal(err)
		}
		p := params
		p.SenderID, p.SenderKey, p.SenderCred = []byte{byte(0x20 + i)}, key, creds[id]
		if ctxs[id], err = group.NewContext("GRP", p); err != nil {
			t.Fatal(err)
		}
	}
	bus := trace.NewBus(0)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) // C's socket
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	members := map[string]string{}
	var gm []nodes.GroupMember
	tr := &trace.Trace{Format: trace.FormatName, Version: trace.FormatVersion,
		Scenario: trace.ScenarioInfo{Name: "group-request", Title: "One Group OSCORE request to a group of servers"}}
	for i, id := range ids {
		for j, peer := range ids {
			if i != j {
				if _, err := ctxs[id].AddRecipient([]byte{byte(0x20 + j)}, creds[peer]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if id == "C" {
			tr.Nodes = append(tr.Nodes, trace.NodeInfo{ID: id, Role: "client"})
			continue
		}
		members[hex.EncodeToString([]byte{byte(0x20 + i)})] = id
		s, err := nodes.StartGroupServer(bus, id, ctxs[id], map[string]string{"temp": "20." + id[1:]})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		gm = append(gm, s.Member())
		tr.Nodes = append(tr.Nodes, trace.NodeInfo{ID: id, Role: "server", Addr: s.Member().Addr.String()})
	}
	link, err := nodes.NewGroupLink(bus, "G", "C", gm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	req := message.Message{Code: codes.GET, Token: message.Token{0x4a, 0x17}, MessageID: 7}
	req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	out, err := nodes.GroupRequest(context.Background(), bus, nodes.GroupCall{Client: "C", Conn: conn, To: link.Addr(), Context: ctxs["C"],
		Members: members, Wait: 10 * time.Second, Enough: n}, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.Check(ids[1:]); err != nil {
		t.Fatal(err)
	}
	// The last member's response can be verified before its server's own
	// events are all on the bus: wait until every member's layer is there.
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr.Events = bus.Recent()
		applied := 0
		for _, e := range tr.Events {
			if e.Type == trace.TypeLayer && e.Layer_.Action == trace.LayerApplied && e.Node != "C" {
				applied++
			}
		}
		if applied == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return tr, out
}

// TestBrowserGroupFanOutFanIn: a Group OSCORE request to three members
// draws one arrow to the group's lifeline, marked as multicast, the fan-out
// link's three copies marked as simulated multicast, and the three
// responses under their request, one per member; the inspector shows the
// Group OSCORE report of each (mode, flag, kid, PIV, key label, signature,
// keystream, encrypted signature, verification) and lists the fan.
func TestBrowserGroupFanOutFanIn(t *testing.T) {
	tr, out := groupRequestTrace(t, 3)
	var send uint64
	for _, e := range tr.Events {
		if e.Type == trace.TypeDatagram && e.To == "G" {
			send = e.Seq
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/static/", StaticHandler())
	mux.Handle("/view", ViewTrace(tr))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/view"))
	waitJS(t, ctx, "seven datagram rows", `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length === 7`)

	// Fan-out: one group lifeline, one arrow to it, three copies from it.
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="group-lifeline"][data-node="G"]').length`); n != 1 {
		t.Errorf("%d group lifelines named G, want 1", n)
	}
	if n := evalJS[int](t, ctx, `document.querySelectorAll('.seq-lanes .lane.group').length`); n != 1 {
		t.Errorf("%d group lanes, want 1", n)
	}
	sendRow := `[data-testid="seq-row"][data-to="G"]`
	if n := evalJS[int](t, ctx, `document.querySelectorAll('[data-testid="seq-row"][data-to="G"]').length`); n != 1 {
		t.Fatalf("%d arrows to the group, want 1", n)
	}
	if got := evalJS[string](t, ctx, `(() => { const r = document.querySelector('`+sendRow+`'); const m = r.querySelector('[data-testid="mcast-send"]');
		return [r.dataset.leg, r.dataset.from, r.querySelector('.arrow').classList.contains('mc-send'), m && m.dataset.of, m && m.dataset.responses].join(' '); })()`); got != "send C true 3 3" {
		t.Errorf("the arrow to the group: leg, from, drawn as multicast, members, responses = %q, want \"send C true 3 3\"", got)
	}
	copies := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="seq-row"][data-from="G"]')].map(r => {
		const m = r.querySelector('[data-testid="mcast-copy"]');
		return [r.dataset.to, r.dataset.leg, r.dataset.fan, m && m.dataset.copy + '/' + m.dataset.of, m && m.textContent.includes('simulated multicast: fan-out link'),
			r.querySelector('.arrow').classList.contains('mc-copy'), [...r.querySelectorAll('[data-testid="layer-chip"]')].map(c => c.dataset.ctx).join('+')].join(' ');
	}).sort()`)
	want := []string{}
	for i := 1; i <= 3; i++ {
		want = append(want, fmt.Sprintf("S%d copy %d %d/3 true true GRP", i, send, i))
	}
	if strings.Join(copies, "\n") != strings.Join(want, "\n") {
		t.Errorf("copies from the group:\n%s\nwant\n%s", strings.Join(copies, "\n"), strings.Join(want, "\n"))
	}

	// Fan-in: three responses to C, each under the request, by member.
	replies := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="seq-row"][data-to="C"]')].map(r => {
		const m = r.querySelector('[data-testid="fan-in"]');
		return [r.dataset.from, r.dataset.leg, r.dataset.fan, m && m.dataset.member, m && m.dataset.request, r.classList.contains('in-fan'),
			[...r.querySelectorAll('[data-testid="layer-chip"]')].map(c => c.dataset.ctx).join('+'), r.querySelector('.gut').textContent].join(' ');
	}).sort()`)
	want = want[:0]
	for i := 1; i <= 3; i++ {
		want = append(want, fmt.Sprintf("S%d reply %d S%d %d true GRP ↳ S%d", i, send, i, send, i))
	}
	if strings.Join(replies, "\n") != strings.Join(want, "\n") {
		t.Errorf("responses to C:\n%s\nwant\n%s", strings.Join(replies, "\n"), strings.Join(want, "\n"))
	}
	if nth := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="fan-in"]')].map(m => m.dataset.nth).sort().join()`); nth != "1,2,3" {
		t.Errorf("responses numbered %q within their fan, want 1,2,3", nth)
	}

	// The inspector on the request to the group: the fan, and the group
	// report as C computed it, verified by every member.
	run(t, ctx, chromedp.Click(sendRow+` .arrow`))
	waitJS(t, ctx, "the group card", `document.querySelector('[data-testid="card-group"]')`)
	if got := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="fan-responses"] [data-testid="fan-member"]')].map(b => b.dataset.member).sort().join()`); got != "S1,S2,S3" {
		t.Errorf("the request lists responses from %q, want S1,S2,S3", got)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="insp-multicast"]').textContent`); !strings.Contains(got, "simulated") || !strings.Contains(got, "fan-out link") {
		t.Errorf("the inspector does not say multicast is simulated: %q", got)
	}
	var reqRep *oscore.Report
	for _, e := range tr.Events {
		if e.Type == trace.TypeLayer && e.Node == "C" && e.Layer_.Action == trace.LayerApplied {
			reqRep = e.Layer_.Report
		}
	}
	g := reqRep.Group
	card := func(id string) string {
		return evalJS[string](t, ctx, `(() => { const c = document.querySelector('[data-testid="`+id+`"]'); return c ? c.textContent.replace(/\s+/g, '') : ''; })()`)
	}
	grp, key, sig := card("card-group"), card("card-key"), card("card-signature")
	for _, c := range []struct{ where, card, want string }{
		{"mode", grp, "modegroup"},
		{"flag byte", grp, g.FlagByte},
		{"kid", grp, "kid" + hex.EncodeToString(reqRep.KID)},
		{"kid context", grp, "kidcontext" + hex.EncodeToString(reqRep.KIDContext)},
		{"Partial IV", grp, "PartialIV" + hex.EncodeToString(reqRep.PartialIV)},
		{"every member's verification", grp, "S1:"},
		{"every member's verification", grp, "S3:"},
		{"key label", key, strings.ReplaceAll(g.Key.Which, " ", "")},
		{"signature", sig, hex.EncodeToString(g.Signature)},
		{"keystream", sig, hex.EncodeToString(g.Keystream)},
		{"encrypted signature", sig, hex.EncodeToString(g.EncryptedSignature)},
		{"nonce", card("card-nonce"), hex.EncodeToString(g.Nonce.Nonce)},
	} {
		if c.want == "" || !strings.Contains(c.card, c.want) {
			t.Errorf("inspector %s: %q not in %q", c.where, c.want, c.card)
		}
	}
	if g.FlagByte == "" || len(g.Signature) == 0 || len(g.Keystream) == 0 {
		t.Fatalf("the request's report lacks group-mode values: %+v", g)
	}

	// A response: S2's report, verified by C, with C's Response Number.
	var s2 nodes.GroupResponse
	for _, r := range out.Responses {
		if r.Member == "S2" {
			s2 = r
		}
	}
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-from="S2"][data-to="C"] .arrow`))
	waitJS(t, ctx, "S2's response in the inspector", `document.querySelector('[data-testid="insp-multicast"][data-leg="reply"]')`)
	grp = card("card-group")
	wants := []string{"modegroup", "kid" + hex.EncodeToString(s2.KID), "C:" + strings.ReplaceAll(s2.Report.Group.Verification, " ", "")}
	if rn := s2.Report.Group.ResponseNumber; rn >= 0 {
		wants = append(wants, "ResponseNumberafterthisresponse"+fmt.Sprint(rn))
	} else if strings.Contains(grp, "ResponseNumber") {
		t.Errorf("S2's response card shows a Response Number where C's report has none: %q", grp)
	}
	for _, w := range wants {
		if !strings.Contains(grp, w) {
			t.Errorf("S2's response card lacks %q: %q", w, grp)
		}
	}
	if s2.Report.Group.Verification == "" {
		t.Error("C's report of S2's response has no verification")
	}
	if got := card("card-signature"); !strings.Contains(got, hex.EncodeToString(s2.Report.Group.Signature)) {
		t.Errorf("S2's signature %x not in %q", s2.Report.Group.Signature, got)
	}
	screenshot(t, ctx, "group-fan-out-fan-in.png")
}

// groupScenarioJSON is a group of three servers behind the fan-out link,
// the copy to S3 dropped: two responses come back.
const groupScenarioJSON = `{
  "name": "group-ui",
  "nodes": [
    {"id": "C", "role": "client"},
    {"id": "S1", "role": "server", "resources": ["temp=text:21.1"]},
    {"id": "S2", "role": "server", "resources": ["temp=text:21.2"]},
    {"id": "S3", "role": "server", "resources": ["temp=text:21.3"]}
  ],
  "group_contexts": [
    {"name": "GRP", "gid": "57ab2e", "master_secret": "0102030405060708090a0b0c0d0e0f10",
     "members": [{"node": "C", "sender_id": "01"}, {"node": "S1", "sender_id": "11"},
                 {"node": "S2", "sender_id": "12"}, {"node": "S3", "sender_id": "13"}]}
  ],
  "groups": [
    {"id": "G", "context": "GRP", "members": [{"node": "S1"}, {"node": "S2", "leisure": "20ms"}, {"node": "S3"}]}
  ],
  "links": [{"a": "G", "b": "S3", "faults": [{"kind": "drop", "dir": "a->b"}]}],
  "steps": [
    {"name": "group GET", "from": "C", "method": "GET", "uri": "coap://G/temp", "to": "G",
     "expect": {"responses": [{"from": "S1", "code": "2.05", "payload": "21.1"},
                              {"from": "S2", "code": "2.05", "payload": "21.2"},
                              {"from": "S3", "no_response": true}]}}
  ]
}`

// TestBrowserGroupScenarioLive: a group scenario's step run in the live lab
// streams into the open page: one arrow to G, three copies, the drop of
// S3's copy, and the two responses under their request, which counts
// them; the request's inspector lists S1 and S2.
func TestBrowserGroupScenarioLive(t *testing.T) {
	sc, err := scenario.Parse([]byte(groupScenarioJSON))
	if err != nil {
		t.Fatal(err)
	}
	tl := newTestLabFrom(t, sc, Options{Version: "test", StateInterval: 200 * time.Millisecond})
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	res, err := tl.lab.Send(context.Background(), tl.lab.Scenario().Steps[0])
	if err != nil || !res.OK {
		t.Fatalf("group step: %v %+v", err, res)
	}
	waitJS(t, ctx, "two responses under the request", `document.querySelector('[data-testid="mcast-send"]')?.dataset.responses === '2'`)
	got := evalJS[string](t, ctx, `(() => {
		const rows = [...document.querySelectorAll('[data-testid="seq-row"]')];
		const send = rows.filter(r => r.dataset.leg === 'send');
		const fan = send[0]?.dataset.fan;
		const copies = rows.filter(r => r.dataset.leg === 'copy' && r.dataset.fan === fan).map(r => r.dataset.to).join();
		const replies = rows.filter(r => r.dataset.leg === 'reply' && r.dataset.fan === fan).map(r => r.querySelector('[data-testid="fan-in"]').dataset.member).join();
		const faults = rows.filter(r => r.dataset.kind === 'fault' && r.dataset.fan === fan && r.classList.contains('in-fan')).length;
		return [send.length, send[0]?.dataset.to, copies, replies, faults, document.querySelectorAll('[data-testid="group-lifeline"]').length].join(' ');
	})()`)
	if got != "1 G S1,S2,S3 S1,S2 1 1" {
		t.Errorf("sends, group, copies, responses, faults, group lifelines = %q, want \"1 G S1,S2,S3 S1,S2 1 1\"", got)
	}
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-leg="send"] .arrow`))
	waitJS(t, ctx, "the fan in the inspector", `document.querySelector('[data-testid="fan-responses"]')`)
	if got := evalJS[string](t, ctx, `[...document.querySelectorAll('[data-testid="fan-responses"] [data-testid="fan-member"]')].map(b => b.dataset.member).join()`); got != "S1,S2" {
		t.Errorf("the request's inspector lists responses from %q, want S1,S2", got)
	}
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="card-group"]')?.textContent || ''`); !strings.Contains(got, "group") || !strings.Contains(got, "S1:") || !strings.Contains(got, "S2:") || strings.Contains(got, "S3:") {
		t.Errorf("the request's group card %q does not show S1's and S2's verification alone", got)
	}
	screenshot(t, ctx, "group-scenario-live.png")
}

// TestBrowserGroupThroughProxy: in gp-goscore the proxy P sends the group
// request to G and relays each member's response to C inside CTX_C_P. The
// diagram draws P's multicast with its copies and the members' replies to
// P, and puts each relayed response in the same fan, named after the
// member whose Group OSCORE layer it carries, with that layer alone (not
// the other member's, protected at the same time).
func TestBrowserGroupThroughProxy(t *testing.T) {
	tl := newTestLab(t, "gp-goscore")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run1, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if res, err := tl.lab.RunSteps(run1); err != nil || len(res) == 0 || !res[0].OK {
		t.Fatalf("gp-goscore: %v %+v", err, res)
	}
	waitJS(t, ctx, "two relayed responses", `document.querySelectorAll('[data-testid="fan-relay"]').length === 2`)
	got := evalJS[[]string](t, ctx, `(() => {
		const rows = [...document.querySelectorAll('[data-testid="seq-row"][data-fan]')];
		// Each chip drawn, with the node that applied its layer.
		const chips = (r) => {
			const by = oscoreLab.store.bySeq.get(Number(r.dataset.seq)).layers.slice().reverse().map(e => e.applied ? e.applied.node : '?');
			return [...r.querySelectorAll('[data-testid="layer-chip"]')].map((c, i) => c.dataset.ctx + '@' + by[i]).join('+');
		};
		return rows.map(r => {
			const tag = r.querySelector('[data-testid="fan-relay"], [data-testid="fan-in"]');
			return [r.dataset.leg, r.dataset.from, r.dataset.to, tag ? tag.dataset.member : '', chips(r)].join(' ');
		}).sort();
	})()`)
	want := []string{
		"copy G S1  GRP@C", "copy G S2  GRP@C",
		"relay P C S1 CTX_C_P@P+GRP@S1", "relay P C S2 CTX_C_P@P+GRP@S2",
		"reply S1 P S1 GRP@S1", "reply S2 P S2 GRP@S2",
		"send P G  GRP@C",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows of the group request's fan (leg from to member chips):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	run(t, ctx, chromedp.Click(`[data-testid="seq-row"][data-leg="relay"] .arrow`))
	waitJS(t, ctx, "the relayed response in the inspector", `document.querySelector('[data-testid="insp-multicast"][data-leg="relay"]')`)
	if got := evalJS[string](t, ctx, `document.querySelector('[data-testid="insp-multicast"]').textContent`); !strings.Contains(got, "relayed by P from member S") {
		t.Errorf("the relayed response's inspector says %q", got)
	}
	screenshot(t, ctx, "group-through-proxy.png")
}

// TestBrowserGroupNotificationRelayed: in mn-proxy-goscore-cp the server
// sends one notification to the group, the link copies it to the proxy,
// and the proxy relays it to C1 and C2; the diagram marks the datagram to
// the group as a multicast notification and puts both relays in its fan.
func TestBrowserGroupNotificationRelayed(t *testing.T) {
	tl := newTestLab(t, "mn-proxy-goscore-cp")
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	run1, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := tl.lab.RunSteps(run1); err != nil {
		t.Fatalf("mn-proxy-goscore-cp: %v", err)
	}
	waitJS(t, ctx, "two relayed notifications", `document.querySelectorAll('[data-testid="fan-relay"]').length === 2`)
	got := evalJS[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="seq-row"][data-fan]')].map(r => {
		const send = document.querySelector('[data-testid="seq-row"][data-leg="send"]');
		const tag = r.querySelector('.mc-tag');
		return [r.dataset.leg, r.dataset.from, r.dataset.to, r.dataset.fan === send.dataset.seq, tag ? tag.textContent : ''].join(' ');
	}).sort()`)
	want := []string{
		"copy G P true copy 1/1 · simulated multicast: fan-out link",
		"relay P C1 true ↳ relayed to C1",
		"relay P C2 true ↳ relayed to C2",
		"send S G true ⇉ multicast notification ×1 · 2 relayed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows of the notification's fan (leg from to same-fan tag):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
