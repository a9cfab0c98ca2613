package nodes

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/multicast"
)

// figureClients are C1 and C2 of the figures: registration Tokens 0x4a
// and 0x01, ticket Tokens 0x4b and 0x02, Sender IDs 01 and 02 at sequence
// numbers 101 and 201 (MN 10).
func figureClients() []MNClientSpec {
	return []MNClientSpec{
		{ID: "C1", Token: []byte{0x4a}, Ticket: []byte{0x4b}, KID: 0x01, Seq: 101},
		{ID: "C2", Token: []byte{0x01}, Ticket: []byte{0x02}, KID: 0x02, Seq: 201},
	}
}

func figureSpec() MNSpec {
	return MNSpec{Clients: figureClients(), Resource: "r", Initial: "1234", InitialObserve: 8,
		Notifications: []MNNotify{{Value: "5678", Observe: 11}}, PhantomToken: []byte{0x7b},
		ServerKID: 0x05, ServerSeq: 501, ObserveOffset: 54112, UpToken: 0x5e, URIHost: "sensor.example"}
}

// runMN runs spec with a recorder on the bus.
func runMN(t *testing.T, spec MNSpec) (*MNResult, []trace.Event) {
	t.Helper()
	bus := trace.NewBus(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := RunMN(ctx, bus, spec)
	if err != nil {
		t.Fatal(err)
	}
	return res, bus.Recent()
}

// wantValues checks each client's accepted notifications: (Token, Observe, payload).
func wantValues(t *testing.T, res *MNResult, id string, want ...MNValue) {
	t.Helper()
	o := res.Clients[id]
	if o == nil {
		t.Fatalf("%s did not register: %v", id, res.Errors[id])
	}
	if len(o.Values) != len(want) {
		t.Fatalf("%s accepted %d notifications %+v, want %d; refused %v", id, len(o.Values), o.Values, len(want), o.Refused)
	}
	for i, w := range want {
		g := o.Values[i]
		if !bytes.Equal(g.Token, w.Token) || g.Observe != w.Observe || g.Payload != w.Payload {
			t.Errorf("%s notification %d: Token %x Observe %d %q, want Token %x Observe %d %q", id, i, g.Token, g.Observe, g.Payload, w.Token, w.Observe, w.Payload)
		}
	}
}

// multicastSends counts datagrams S sent to G, and copies G sent each listener.
func multicastSends(evs []trace.Event) (sends int, copies map[string]int) {
	copies = map[string]int{}
	for _, e := range evs {
		if e.Type != trace.TypeDatagram {
			continue
		}
		switch {
		case e.From == "S" && e.To == "G":
			sends++
		case e.From == "G":
			copies[e.To]++
		}
	}
	return
}

// TestMNPlain is MN 7: C1 and C2 register, each gets the informative
// response, and one notification "5678" (Token 0x7b, Observe 11) goes
// once to the group and reaches both.
func TestMNPlain(t *testing.T) {
	res, evs := runMN(t, figureSpec())
	for _, id := range []string{"C1", "C2"} {
		wantValues(t, res, id, MNValue{Token: []byte{0x7b}, Observe: 8, Payload: "1234"}, MNValue{Token: []byte{0x7b}, Observe: 11, Payload: "5678"})
	}
	if res.ServerObservers != 2 {
		t.Errorf("observer counter %d, want 2", res.ServerObservers)
	}
	sends, copies := multicastSends(evs)
	if sends != 1 || copies["C1"] != 1 || copies["C2"] != 1 || len(copies) != 2 {
		t.Errorf("group traffic: %d sends, copies %v; want one send and one copy to each client", sends, copies)
	}
}

// TestMNGroupOSCORE is MN 10: registrations under RFC 8613, informative
// responses with the phantom request (kid 05, Partial IV 01f5, Gid
// 57ab2e), the phantom verified without replay update, INIT_NOTIF with
// Partial IV 01f6 and the multicast notification with 01f7, Observe 2.
func TestMNGroupOSCORE(t *testing.T) {
	spec := figureSpec()
	spec.GroupOSCORE, spec.InitialObserve, spec.Notifications = true, 1, []MNNotify{{Value: "5678", Observe: 2}}
	res, evs := runMN(t, spec)
	for _, id := range []string{"C1", "C2"} {
		wantValues(t, res, id, MNValue{Token: []byte{0x7b}, Observe: 1, Payload: "1234"}, MNValue{Token: []byte{0x7b}, Observe: 2, Payload: "5678"})
	}
	sends, copies := multicastSends(evs)
	if sends != 1 || copies["C1"] != 1 || copies["C2"] != 1 {
		t.Errorf("group traffic: %d sends, copies %v", sends, copies)
	}
	var sawPhantom, sawNotif int
	for _, e := range evs {
		if e.Type == trace.TypeDatagram && e.From == "S" && e.To == "G" && !bytes.Contains(e.Bytes, []byte{0x2a, 0x01, 0xf7, 0x05}) {
			t.Errorf("multicast notification %x lacks the OSCORE option 2a01f705", []byte(e.Bytes))
		}
		if e.Type == trace.TypeLayer && e.Layer_.Report != nil && e.Layer_.Action == trace.LayerRemoved && (e.Node == "C1" || e.Node == "C2") {
			switch hex.EncodeToString(e.Layer_.Report.OptionValue) {
			case "3a01f50357ab2e05":
				sawPhantom++
			case "2a01f605", "2a01f705":
				sawNotif++
			}
		}
	}
	if sawPhantom != 2 || sawNotif != 4 {
		t.Errorf("verified %d phantom requests and %d notifications, want 2 and 4", sawPhantom, sawNotif)
	}
}

// TestMNGroupOSCORERefusals: a forged notification, one bound to another
// request and a replayed one reach every client over the group link and
// are refused, after the genuine ones were accepted.
func TestMNGroupOSCORERefusals(t *testing.T) {
	for _, attack := range []string{"forge", "unbound", "replay"} {
		t.Run(attack, func(t *testing.T) {
			spec := figureSpec()
			spec.GroupOSCORE, spec.Attack, spec.Wait = true, attack, time.Second
			res, evs := runMN(t, spec)
			for _, id := range []string{"C1", "C2"} {
				o := res.Clients[id]
				if o == nil || len(o.Values) != 2 || len(o.Refused) != 1 {
					t.Fatalf("%s: values %+v, refused %v; want 2 and 1", id, o.Values, o.Refused)
				}
			}
			_, copies := multicastSends(evs)
			if copies["C1"] != 2 {
				t.Errorf("copies %v: the attack did not cross the group link", copies)
			}
			want := map[string]string{"forge": "countersignature", "unbound": "countersignature", "replay": "Partial IV"}[attack]
			if !strings.Contains(res.Clients["C1"].Refused[0], want) {
				t.Errorf("refusal %q does not mention %q", res.Clients["C1"].Refused[0], want)
			}
		})
	}
}

// relayedTo returns the datagrams P sent each client after the group's
// notification, decoded.
func proxyNotifications(t *testing.T, evs []trace.Event) map[string][]message.Message {
	t.Helper()
	out := map[string][]message.Message{}
	for _, e := range evs {
		if e.Type != trace.TypeDatagram || e.From != "P" || !strings.HasPrefix(e.To, "C") {
			continue
		}
		m, err := oscore.DecodeMessage(e.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Options.Observe(); err == nil {
			out[e.To] = append(out[e.To], m)
		}
	}
	return out
}

// TestMNProxyPlain is MNP 6: P registers once for C1 (Token 0x5e towards
// S), answers C1 with Observe 54120 "1234", serves C2 from its cache, and
// relays S's Observe 11 as 54123 to both with their Tokens.
func TestMNProxyPlain(t *testing.T) {
	spec := figureSpec()
	spec.Proxy = true
	res, evs := runMN(t, spec)
	wantValues(t, res, "C1", MNValue{Token: []byte{0x4a}, Observe: 54120, Payload: "1234"}, MNValue{Token: []byte{0x4a}, Observe: 54123, Payload: "5678"})
	wantValues(t, res, "C2", MNValue{Token: []byte{0x01}, Observe: 54120, Payload: "1234"}, MNValue{Token: []byte{0x01}, Observe: 54123, Payload: "5678"})
	if res.ServerObservers != 1 || res.ProxyObservers != 2 {
		t.Errorf("observer counter at S %d (want 1: only P), observers at P %d (want 2)", res.ServerObservers, res.ProxyObservers)
	}
	if res.Relayed != 1 || !res.Identical {
		t.Errorf("relayed %d, identical %v", res.Relayed, res.Identical)
	}
	sends, copies := multicastSends(evs)
	if sends != 1 || copies["P"] != 1 || len(copies) != 1 {
		t.Errorf("group traffic %d, %v: want one send, one copy to P", sends, copies)
	}
	var upTokens []string
	for _, e := range evs {
		if e.Type == trace.TypeDatagram && e.From == "P" && e.To == "S" {
			if m, err := oscore.DecodeMessage(e.Bytes); err == nil && m.Code != codes.Empty {
				upTokens = append(upTokens, hex.EncodeToString(m.Token))
			}
		}
	}
	if strings.Join(upTokens, ",") != "5e" {
		t.Errorf("P sent S requests with Tokens %v, want only 5e", upTokens)
	}
}

// TestMNProxyGroupOSCORE is MNP 7: P relays the protected informative
// responses; C1 and C2 send ticket requests (Tokens 0x4b, 0x02) with
// Listen-To-Multicast-Responses; P consumes them, listens and relays the
// notification (kid 05, Partial IV 01f7) with Observe 54123, the copies
// identical but for Token, Message ID and Observe.
func TestMNProxyGroupOSCORE(t *testing.T) {
	spec := figureSpec()
	spec.Proxy, spec.GroupOSCORE = true, true
	res, evs := runMN(t, spec)
	wantValues(t, res, "C1", MNValue{Token: []byte{0x7b}, Observe: 8, Payload: "1234"}, MNValue{Token: []byte{0x4b}, Observe: 54123, Payload: "5678"})
	wantValues(t, res, "C2", MNValue{Token: []byte{0x7b}, Observe: 8, Payload: "1234"}, MNValue{Token: []byte{0x02}, Observe: 54123, Payload: "5678"})
	if res.ServerObservers != 2 || res.ProxyObservers != 2 || res.Relayed != 1 || !res.Identical {
		t.Errorf("S counts %d, P has %d observers, relayed %d identical %v", res.ServerObservers, res.ProxyObservers, res.Relayed, res.Identical)
	}
	got := proxyNotifications(t, evs)
	c1, c2 := got["C1"], got["C2"]
	if len(c1) != 1 || len(c2) != 1 {
		t.Fatalf("P sent C1 %d and C2 %d notifications", len(c1), len(c2))
	}
	if !identicalExceptTokenMIDObserve(c1[0], c2[0]) || bytes.Equal(c1[0].Token, c2[0].Token) {
		t.Error("the copies to C1 and C2 differ beyond Token, Message ID and Observe")
	}
	if v, _ := oscore.FindOSCORE(&c1[0]); hex.EncodeToString(v) != "2a01f705" {
		t.Errorf("relayed OSCORE option %x", v)
	}
	for _, e := range evs {
		if e.Type == trace.TypeDatagram && e.From == "P" && e.To == "S" {
			if m, err := oscore.DecodeMessage(e.Bytes); err == nil && m.Options.HasOption(multicast.OptListenToMulticastResponses) {
				t.Error("P forwarded a ticket request to S (MNP 4.2: MUST NOT)")
			}
		}
	}
}

// TestMNProxyGroupOSCORECP is draft-ietf-core-oscore-capable-proxies A.2:
// the ticket requests come under a C-P OSCORE layer, and each relayed
// notification is a C-P response with P's own Partial IV.
func TestMNProxyGroupOSCORECP(t *testing.T) {
	spec := figureSpec()
	spec.Proxy, spec.GroupOSCORE, spec.CP = true, true, true
	res, evs := runMN(t, spec)
	wantValues(t, res, "C1", MNValue{Token: []byte{0x7b}, Observe: 8, Payload: "1234"}, MNValue{Token: []byte{0x4b}, Observe: 54123, Payload: "5678"})
	wantValues(t, res, "C2", MNValue{Token: []byte{0x7b}, Observe: 8, Payload: "1234"}, MNValue{Token: []byte{0x02}, Observe: 54123, Payload: "5678"})
	for _, e := range evs {
		if e.Type != trace.TypeDatagram || !strings.HasPrefix(e.From, "C") || e.To != "P" {
			continue
		}
		m, err := oscore.DecodeMessage(e.Bytes)
		if err != nil || m.Code == codes.Empty {
			continue
		}
		if m.Options.HasOption(message.ProxyScheme) && m.Options.HasOption(oscore.OptOSCORE) {
			if v, _ := oscore.FindOSCORE(&m); len(v) > 0 && v[0]&0x10 != 0 {
				t.Errorf("a ticket request from %s went without its C-P layer", e.From)
			}
		}
		if m.Options.HasOption(multicast.OptListenToMulticastResponses) {
			t.Errorf("Listen-To-Multicast-Responses visible on the wire from %s (Class E in the C-P layer)", e.From)
		}
	}
	for id, ms := range proxyNotifications(t, evs) {
		for _, m := range ms {
			v, _ := oscore.FindOSCORE(&m)
			ov, err := oscore.ParseOption(v)
			if err != nil || ov.Group || ov.PartialIV == nil {
				t.Errorf("notification to %s: outer OSCORE option %x is not a C-P layer with P's Partial IV", id, v)
			}
		}
	}
}

// TestMNProxyTicketWithoutCP: a proxy that shares C-P contexts refuses a
// ticket request without the C-P layer (4.01) and does not listen for it.
func TestMNProxyTicketWithoutCP(t *testing.T) {
	spec := figureSpec()
	spec.Proxy, spec.GroupOSCORE, spec.CP = true, true, true
	spec.Clients[1].NoCP = true
	res, _ := runMN(t, spec)
	if err := res.Errors["C2"]; err == nil || !strings.Contains(err.Error(), "4.01") {
		t.Errorf("C2's ticket request without C-P: %v, want 4.01", err)
	}
	if res.ProxyObservers != 1 {
		t.Errorf("P relays to %d clients, want 1 (C1)", res.ProxyObservers)
	}
	wantValues(t, res, "C1", MNValue{Token: []byte{0x7b}, Observe: 8, Payload: "1234"}, MNValue{Token: []byte{0x4b}, Observe: 54123, Payload: "5678"})
}

// TestMNProxyRefusals: through the proxy, a forged, unbound or replayed
// notification is relayed (P cannot verify Group OSCORE) and refused by
// each client.
func TestMNProxyRefusals(t *testing.T) {
	for _, attack := range []string{"forge", "unbound", "replay"} {
		t.Run(attack, func(t *testing.T) {
			spec := figureSpec()
			spec.Proxy, spec.GroupOSCORE, spec.CP, spec.Attack, spec.Wait = true, true, true, attack, time.Second
			res, _ := runMN(t, spec)
			for _, id := range []string{"C1", "C2"} {
				o := res.Clients[id]
				if o == nil || len(o.Values) != 2 || len(o.Refused) != 1 {
					t.Fatalf("%s: %+v", id, o)
				}
			}
		})
	}
}

// mnDecided reports whether node took a multicast-notif decision whose
// outcome contains text.
func mnDecided(evs []trace.Event, node, text string) bool {
	for _, e := range evs {
		if e.Type == trace.TypeDecision && e.Node == node && e.Decision.Rule == trace.RuleMulticastNotif && strings.Contains(e.Decision.Outcome, text) {
			return true
		}
	}
	return false
}

// TestMNTraceDecisions: the decisions group-notes 15.3 asks a trace to
// show, in the C-P run: the informative response recognized and parsed,
// the phantom verified without replay update, the ticket consumed and not
// forwarded, the listener configured, and the per-client copies identical
// but for Token, Message ID and Observe.
func TestMNTraceDecisions(t *testing.T) {
	spec := figureSpec()
	spec.Proxy, spec.GroupOSCORE, spec.CP = true, true, true
	_, evs := runMN(t, spec)
	for _, w := range []struct{ node, text string }{
		{"S", "phantom request GET Observe 0 processed without being sent"},
		{"S", "protected with the server's own kid 05 and Partial IV 01f5"},
		{"S", "registration from P joins the group observation"},
		{"C1", "informative response recognized and parsed"},
		{"C1", "verified without replay check or Replay Window update"},
		{"C2", "ticket request with Token 02"},
		{"P", "ticket request consumed, not forwarded"},
		{"P", "listening to"},
		{"P", "client C1 (Token 4b) added"},
		{"P", "copies identical to the received notification except Token, Message ID and Observe"},
		{"S", "sent once to the group address"},
	} {
		if !mnDecided(evs, w.node, w.text) {
			t.Errorf("no decision of %s saying %q", w.node, w.text)
		}
	}
	// Every datagram and decision belongs to an exchange: one per client's
	// registration, one for the notification with the proxy's copies.
	notif := -1
	for _, e := range evs {
		if (e.Type == trace.TypeDatagram || e.Type == trace.TypeDecision) && e.Exchange == 0 {
			t.Errorf("%s event %s -> %s %s in no exchange", e.Type, e.From, e.To, e.Node)
		}
		if e.Type == trace.TypeDatagram && e.From == "S" && e.To == "G" {
			notif = e.Exchange
		}
	}
	for _, e := range evs {
		if e.Type == trace.TypeDatagram && e.From == "P" && strings.HasPrefix(e.To, "C") && e.Exchange != notif {
			if m, err := oscore.DecodeMessage(e.Bytes); err == nil {
				if _, err := m.Options.Observe(); err == nil && m.Code == codes.Content && (m.Token[0] == 0x4b || m.Token[0] == 0x02) {
					t.Errorf("P's copy to %s in exchange %d, the notification's is %d", e.To, e.Exchange, notif)
				}
			}
		}
	}
}

// TestMNCancel: the server's cancellation (MN 4.5, 9.2.4) reaches every
// client, directly and through the proxy under C-P layers, and each
// client ends its group observation.
func TestMNCancel(t *testing.T) {
	for _, proxy := range []bool{false, true} {
		spec := figureSpec()
		spec.GroupOSCORE, spec.Proxy, spec.CP, spec.Cancel = true, proxy, proxy, true
		res, evs := runMN(t, spec)
		for _, id := range []string{"C1", "C2"} {
			o := res.Clients[id]
			if o == nil || !o.Cancelled || len(o.Values) != 2 || len(o.Refused) != 0 {
				t.Errorf("proxy %v: %s: %+v", proxy, id, o)
			}
		}
		if !mnDecided(evs, "S", "cancelled: 5.03 without Observe") {
			t.Errorf("proxy %v: no cancellation decision at S", proxy)
		}
		if proxy && !mnDecided(evs, "P", "cancelled the group observation") {
			t.Error("P did not see the cancellation")
		}
	}
}

// TestMNScenarioVerdicts: the group-observation built-ins pass as they
// are, with a cancellation added, and fail with a message naming what
// came when an expectation is made wrong (a wrong payload, a refusal
// that does not happen, a wrong observer counter).
func TestMNScenarioVerdicts(t *testing.T) {
	for _, s := range scenario.List() {
		mn := s.MulticastNotifications
		if mn == nil {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			okAll := func(variant string, sc *scenario.Scenario) {
				for _, r := range runBuiltin(t, sc) {
					if !r.OK {
						t.Errorf("%s: %s: %s", variant, r.Step, r.Problem)
					}
				}
			}
			c := s.Clone()
			c.MulticastNotifications.Cancel = true
			okAll("with cancel", c)

			c = s.Clone()
			e := &c.MulticastNotifications.Clients[0].Expect
			(*e)[len(*e)-1].Payload = "wrong"
			c.MulticastNotifications.Clients[1].ExpectRefused++
			n := 99
			c.MulticastNotifications.ServerObservers = &n
			res := runBuiltin(t, c)
			want := map[string]string{
				"multicast notifications: " + mn.Clients[0].Node: `"wrong"`,
				"multicast notifications: " + mn.Clients[1].Node: "want " + fmt.Sprint(c.MulticastNotifications.Clients[1].ExpectRefused),
				"multicast notifications: observer counters":     "want 99",
			}
			for _, r := range res {
				if w, ok := want[r.Step]; ok {
					if r.OK || !strings.Contains(r.Problem, w) {
						t.Errorf("%s: ok %v, problem %q; want a failure mentioning %s", r.Step, r.OK, r.Problem, w)
					}
					delete(want, r.Step)
				}
			}
			if len(want) > 0 {
				t.Errorf("no results for %v", want)
			}
		})
	}
}

// TestMNLayerDepths: every layer a node of a group observation applies or
// removes says how deep it is (trace Event.Layer, 1 innermost), so the
// trace never shows an unknown depth; through a proxy with C-P contexts
// and Group OSCORE the C-P layer sits over the group layer (2 over 1).
func TestMNLayerDepths(t *testing.T) {
	for _, tc := range []struct {
		name              string
		proxy, group, cp  bool
		proxyDepth, depth int // P's applied C-P layers; the deepest a client removes
	}{
		{name: "direct, Group OSCORE", group: true, depth: 1},
		{name: "proxy, Group OSCORE", proxy: true, group: true, depth: 1},
		{name: "proxy, Group OSCORE, C-P", proxy: true, group: true, cp: true, proxyDepth: 2, depth: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := figureSpec()
			spec.Proxy, spec.GroupOSCORE, spec.CP = tc.proxy, tc.group, tc.cp
			_, evs := runMN(t, spec)
			deepest := map[string]int{}
			for _, e := range evs {
				if e.Type != trace.TypeLayer || e.Layer_.Action == trace.LayerFailed {
					continue
				}
				if e.Layer < 1 {
					t.Errorf("%s %s %s: no layer depth", e.Node, e.Layer_.Action, e.Layer_.Report.Context)
				}
				if e.Node == "P" && e.Layer_.Action == trace.LayerApplied && e.Layer != tc.proxyDepth {
					t.Errorf("P applied %s at depth %d, want %d", e.Layer_.Report.Context, e.Layer, tc.proxyDepth)
				}
				if strings.HasPrefix(e.Node, "C") && e.Layer_.Action == trace.LayerRemoved {
					deepest[e.Node] = max(deepest[e.Node], e.Layer)
				}
			}
			for _, c := range []string{"C1", "C2"} {
				if deepest[c] != tc.depth {
					t.Errorf("%s removed layers down to depth %d, want %d", c, deepest[c], tc.depth)
				}
			}
		})
	}
}
