package trace

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/oscore"
)

// The fixture is the draft's example B.1 (forward-proxy; OSCORE C-S and
// C-P) run with real protection, published on a real Bus the way nodes do,
// plus a second exchange whose request a link corrupts so that P answers
// 4.00 unprotected. CTX_C_S uses the RFC 8613 Appendix C demo secret (never
// redacted); CTX_C_P a private one (redacted by default).

var (
	fixtureStart = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	secretCP     = []byte("not-a-demo-key!!")
	saltDemo     = []byte{0x9e, 0x7c, 0xa9, 0x22, 0x23, 0x78, 0x63, 0x40}
)

type fixtureContexts struct {
	csC, csS, cpC, cpP *oscore.Context
	paramsCS, paramsCP oscore.Params
}

func newFixtureContexts(t testing.TB) fixtureContexts {
	t.Helper()
	var f fixtureContexts
	f.paramsCS = oscore.Params{MasterSecret: demoSecret, MasterSalt: saltDemo}
	f.paramsCP = oscore.Params{MasterSecret: secretCP, MasterSalt: []byte{0x01}}
	mk := func(name string, p oscore.Params, sid, rid byte) *oscore.Context {
		p.SenderID, p.RecipientID = []byte{sid}, []byte{rid}
		c, err := oscore.NewContext(name, p)
		if err != nil {
			t.Fatalf("NewContext(%s): %v", name, err)
		}
		return c
	}
	f.csC, f.csS = mk("CTX_C_S", f.paramsCS, 0x5f, 0x01), mk("CTX_C_S", f.paramsCS, 0x01, 0x5f)
	f.cpC, f.cpP = mk("CTX_C_P", f.paramsCP, 0x20, 0x00), mk("CTX_C_P", f.paramsCP, 0x00, 0x20)
	must(t, f.csC.SetSenderSeq(0x42))
	must(t, f.cpC.SetSenderSeq(0x31))
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixtureRecorder publishes events with a deterministic clock.
type fixtureRecorder struct {
	bus *Bus
	n   int
}

func (r *fixtureRecorder) pub(e Event) {
	r.n++
	e.Time = fixtureStart.Add(time.Duration(r.n) * time.Millisecond)
	r.bus.Publish(e)
}

func encode(t testing.TB, m message.Message, typ message.Type, mid int32) []byte {
	t.Helper()
	m.Type, m.MessageID = typ, mid
	b, err := oscore.EncodeMessage(m)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func decode(t testing.TB, b []byte) message.Message {
	t.Helper()
	m, err := oscore.DecodeMessage(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

func lookup(c *oscore.Context) oscore.ContextLookup {
	return func(kid, _ []byte) (*oscore.Context, error) {
		if bytes.Equal(kid, c.RecipientID()) {
			return c, nil
		}
		return nil, nil
	}
}

func layerEvent(node string, ex, hop, layer int, dir, action string, r *oscore.Report) Event {
	return Event{Type: TypeLayer, Exchange: ex, Hop: hop, Layer: layer, Node: node, Dir: dir,
		Layer_: &LayerEvent{Action: action, Report: r}}
}

func dgram(from, to string, ex, hop int, dir string, b []byte) Event {
	return Event{Type: TypeDatagram, Exchange: ex, Hop: hop, Link: linkName(from, to), From: from, To: to, Dir: dir, Bytes: b}
}

// linkName names the fixture's two links.
func linkName(a, b string) string {
	if a == "C" || b == "C" {
		return "C-P"
	}
	return "P-S"
}

func asOSCOREError(err error) (*oscore.Error, bool) {
	var oe *oscore.Error
	ok := errors.As(err, &oe)
	return oe, ok
}

func codeDotted(c codes.Code) string { return CodeName(uint8(c)) }

// buildFixture runs the two exchanges and returns the trace.
func buildFixture(t testing.TB) *Trace {
	t.Helper()
	f := newFixtureContexts(t)
	rec := &fixtureRecorder{bus: NewBus(0)}

	hops := []oscore.Hop{{Name: "C", Role: oscore.RoleClient}, {Name: "P", Role: oscore.RoleForwardProxy}, {Name: "S", Role: oscore.RoleServer}}
	newRequest := func(token byte) message.Message {
		var opts message.Options
		buf := make([]byte, 64)
		opts, _, _ = opts.SetString(buf, message.URIHost, "example.com")
		opts, _, _ = opts.SetPath(buf[20:], "/alarm_status")
		opts, _, _ = opts.SetString(buf[40:], message.ProxyScheme, "coap")
		return message.Message{Code: codes.GET, Token: message.Token{token}, Options: opts}
	}
	protect := func(m message.Message) (message.Message, []*oscore.Binding, []*oscore.Report) {
		route := oscore.RequestRoute(&m, hops, 0, []int{2, 1})
		layers := []oscore.Layer{
			{Ctx: f.csC, Options: oscore.ProtectOptions{Rule: route.RuleFor(2)}},
			{Ctx: f.cpC, Options: oscore.ProtectOptions{Rule: route.RuleFor(1)}},
		}
		out, bs, reps, err := oscore.ProtectRequestLayers(m, layers, 0)
		must(t, err)
		return out, bs, reps
	}

	// Exchange 1: B.1 end to end.
	rec.pub(Event{Type: TypeExchange, Exchange: 1, Node: "C", Note: "start: GET coap://example.com/alarm_status via P"})
	rec.pub(Event{Type: TypeDecision, Exchange: 1, Node: "C", Decision: &Decision{Rule: RuleOutgoingRequest, Section: "2.3",
		Outcome: "protect with CTX_C_S (end to end), then CTX_C_P (next hop)"}})
	req, cBind, creps := protect(newRequest(0x8c))
	rec.pub(layerEvent("C", 1, 0, 1, DirRequest, LayerApplied, creps[0]))
	rec.pub(layerEvent("C", 1, 0, 2, DirRequest, LayerApplied, creps[1]))
	rec.pub(dgram("C", "P", 1, 0, DirRequest, encode(t, req, message.Confirmable, 0x5d1f)))

	atP, pBind, prep, err := oscore.UnprotectRequest(decode(t, encode(t, req, message.Confirmable, 0x5d1f)), lookup(f.cpP))
	must(t, err)
	rec.pub(layerEvent("P", 1, 0, 2, DirRequest, LayerRemoved, prep))
	rec.pub(Event{Type: TypeDecision, Exchange: 1, Hop: 0, Node: "P", Decision: &Decision{Rule: RuleIncomingRequest, Step: "6", Section: "2.4",
		Outcome: "decrypted with CTX_C_P; the result carries an OSCORE option"}})
	rec.pub(Event{Type: TypeDecision, Exchange: 1, Hop: 0, Node: "P", Decision: &Decision{Rule: RuleIncomingRequest, Step: "2->4", Section: "2.4",
		Outcome: "Proxy-Scheme present: authorised by CTX_C_P, forward to S"}})
	fwd := atP
	fwd.Options = fwd.Options.Remove(message.ProxyScheme)
	fwd.Token = message.Token{0x7b}
	rec.pub(dgram("P", "S", 1, 1, DirRequest, encode(t, fwd, message.Confirmable, 0x0a01)))

	atS, sBind, srep, err := oscore.UnprotectRequest(decode(t, encode(t, fwd, message.Confirmable, 0x0a01)), lookup(f.csS))
	must(t, err)
	rec.pub(layerEvent("S", 1, 1, 1, DirRequest, LayerRemoved, srep))
	path, _ := atS.Options.Path()
	rec.pub(Event{Type: TypeDelivery, Exchange: 1, Hop: 1, Node: "S", Delivery: &Delivery{Method: "GET", Resource: path}})
	resp, rrep, err := oscore.ProtectResponse(sBind, message.Message{Code: codes.Content, Token: atS.Token, Payload: []byte("0")}, oscore.ProtectOptions{})
	must(t, err)
	rec.pub(layerEvent("S", 1, 1, 1, DirResponse, LayerApplied, rrep))
	rec.pub(dgram("S", "P", 1, 1, DirResponse, encode(t, resp, message.Acknowledgement, 0x0a01)))

	back := decode(t, encode(t, resp, message.Acknowledgement, 0x0a01))
	back.Token = message.Token{0x8c}
	presp, prrep, err := oscore.ProtectResponse(pBind, back, oscore.ProtectOptions{})
	must(t, err)
	rec.pub(layerEvent("P", 1, 0, 2, DirResponse, LayerApplied, prrep))
	rec.pub(Event{Type: TypeDecision, Exchange: 1, Hop: 0, Node: "P", Decision: &Decision{Rule: RuleResponse, Section: "2.5",
		Outcome: "re-applied CTX_C_P, the layer removed from the request"}})
	rec.pub(dgram("P", "C", 1, 0, DirResponse, encode(t, presp, message.Acknowledgement, 0x5d1f)))

	final, ureps, err := oscore.UnprotectResponseLayers(decode(t, encode(t, presp, message.Acknowledgement, 0x5d1f)), cBind)
	must(t, err)
	rec.pub(layerEvent("C", 1, 0, 2, DirResponse, LayerRemoved, ureps[0]))
	rec.pub(layerEvent("C", 1, 0, 1, DirResponse, LayerRemoved, ureps[1]))
	rec.pub(Event{Type: TypeDelivery, Exchange: 1, Hop: 0, Node: "C", Delivery: &Delivery{Code: "2.05", Payload: string(final.Payload)}})
	rec.pub(Event{Type: TypeExchange, Exchange: 1, Node: "C", Note: "end: 2.05 in 2 layers"})

	// Exchange 2: the link corrupts the request; P cannot decrypt.
	rec.pub(Event{Type: TypeExchange, Exchange: 2, Node: "C", Note: "start: GET coap://example.com/alarm_status via P"})
	req2, _, creps2 := protect(newRequest(0x8d))
	rec.pub(layerEvent("C", 2, 0, 1, DirRequest, LayerApplied, creps2[0]))
	rec.pub(layerEvent("C", 2, 0, 2, DirRequest, LayerApplied, creps2[1]))
	wire := encode(t, req2, message.Confirmable, 0x5d20)
	wire[len(wire)-1] ^= 0xff
	rec.pub(Event{Type: TypeFault, Exchange: 2, Link: "C-P", From: "C", To: "P", Fault: &Fault{Kind: "corrupt", Detail: "flipped the last byte"}})
	rec.pub(dgram("C", "P", 2, 0, DirRequest, wire))
	_, _, _, err = oscore.UnprotectRequest(decode(t, wire), lookup(f.cpP))
	oe, ok := asOSCOREError(err)
	if !ok {
		t.Fatalf("corrupted request: got %v, want an oscore error", err)
	}
	rec.pub(Event{Type: TypeDecision, Exchange: 2, Hop: 0, Node: "P", Decision: &Decision{Rule: RuleIncomingRequest, Step: "6", Section: "2.4",
		Outcome: "decryption with CTX_C_P failed", Code: codeDotted(oe.Code)}})
	rec.pub(Event{Type: TypeError, Exchange: 2, Hop: 0, Node: "P", Error: &ErrorEvent{Code: codeDotted(oe.Code), Diagnostic: oe.Diagnostic,
		Reason: oe.Reason, Section: oe.Section}})
	errResp := message.Message{Code: oe.Code, Token: message.Token{0x8d}, Payload: []byte(oe.Diagnostic)}
	rec.pub(dgram("P", "C", 2, 0, DirResponse, encode(t, errResp, message.Acknowledgement, 0x5d20)))
	rec.pub(Event{Type: TypeExchange, Exchange: 2, Node: "C", Note: "end: " + codeDotted(oe.Code) + " unprotected"})

	csInfo := NewContextInfo("CTX_C_S", f.paramsCS,
		Endpoint{Node: "C", SenderID: oscore.Hex{0x5f}, RecipientID: oscore.Hex{0x01}},
		Endpoint{Node: "S", SenderID: oscore.Hex{0x01}, RecipientID: oscore.Hex{0x5f}})
	cpInfo := NewContextInfo("CTX_C_P", f.paramsCP,
		Endpoint{Node: "C", SenderID: oscore.Hex{0x20}, RecipientID: oscore.Hex{0x00}},
		Endpoint{Node: "P", SenderID: oscore.Hex{0x00}, RecipientID: oscore.Hex{0x20}})
	return &Trace{
		Format: FormatName, Version: FormatVersion, Creator: "oscore-lab test",
		Scenario: ScenarioInfo{Name: "b1-forward-proxy", Title: "Forward-proxy; OSCORE C-S and C-P", Section: "draft B.1",
			Explanation: "C protects end to end for S and hop by hop for P."},
		Nodes: []NodeInfo{{ID: "C", Role: "client", Addr: "127.0.0.1:40001"}, {ID: "P", Role: "proxy", Addr: "127.0.0.1:40002"},
			{ID: "S", Role: "server", Addr: "127.0.0.1:40003"}},
		Contexts: []ContextInfo{csInfo, cpInfo},
		Events:   rec.bus.Recent(),
	}
}
