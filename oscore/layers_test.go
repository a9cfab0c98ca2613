package oscore

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

var allAEADs = []AEADAlg{AESCCM16_64_128, AESCCM16_64_256, AESCCM16_128_128, AESCCM16_128_256, A128GCM, A192GCM, A256GCM, ChaCha20Poly1305}

// endpoints are the two ends of one layer: the initiator (client side of the
// layer) and the responder.
type endpoints struct{ init, resp *Context }

// newPair derives both ends of the context named name; the initiator sends
// with kid sid, the responder with rid.
func newPair(t testing.TB, name string, alg AEADAlg, sid, rid byte) endpoints {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	p := Params{MasterSecret: sum[:16], MasterSalt: sum[16:24], AEAD: alg}
	pi, pr := p, p
	pi.SenderID, pi.RecipientID = []byte{sid}, []byte{rid}
	pr.SenderID, pr.RecipientID = []byte{rid}, []byte{sid}
	ci, err := NewContext(name, pi)
	if err != nil {
		t.Fatalf("NewContext(%s): %v", name, err)
	}
	cr, err := NewContext(name, pr)
	if err != nil {
		t.Fatalf("NewContext(%s): %v", name, err)
	}
	return endpoints{ci, cr}
}

// lookupOf finds a Recipient Context by kid among ctxs (RFC 8613 8.2 step 3).
func lookupOf(ctxs ...*Context) ContextLookup {
	return func(kid, _ []byte) (*Context, error) {
		for _, c := range ctxs {
			if bytes.Equal(c.RecipientID(), kid) {
				return c, nil
			}
		}
		return nil, nil
	}
}

// chain builds n layers for an onion path C, P1..P(n-1), S (draft 2.1,
// A.7): layer 0 is C_S, then C_P(n-1) .. C_P1, so the outermost is the next
// hop's (draft 2.3). It returns the pairs in layer order and the layers,
// each with the rule its Route gives for m.
func chain(t testing.TB, n int, alg AEADAlg, m *message.Message, strict bool) ([]endpoints, []Layer) {
	t.Helper()
	hops := []Hop{hC}
	for i := 1; i < n; i++ {
		hops = append(hops, Hop{fmt.Sprintf("P%d", i), RoleForwardProxy})
	}
	hops = append(hops, hS)
	peers := make([]int, n) // other endpoint of layer i: S, then P(n-1) .. P1
	for i := range peers {
		peers[i] = n - i
	}
	route := RequestRoute(m, hops, 0, peers)
	pairs := make([]endpoints, n)
	layers := make([]Layer, n)
	for i := range n {
		pairs[i] = newPair(t, fmt.Sprintf("CTX_C_%s", hops[peers[i]].Name), alg, byte(0x20+i), byte(0x40+i))
		layers[i] = Layer{Ctx: pairs[i].init, Options: ProtectOptions{Rule: route.RuleFor(peers[i]), StrictOptions: strict}}
	}
	return pairs, layers
}

func responders(pairs []endpoints) []*Context {
	var out []*Context
	for _, p := range pairs {
		out = append(out, p.resp)
	}
	return out
}

// sameMessage compares what OSCORE must restore: code, token, options in
// order, payload (message ID and type are the transport's).
func sameMessage(a, b message.Message) error {
	if a.Code != b.Code {
		return fmt.Errorf("code %v, want %v", b.Code, a.Code)
	}
	if !bytes.Equal(a.Token, b.Token) {
		return fmt.Errorf("token %x, want %x", []byte(b.Token), []byte(a.Token))
	}
	if !bytes.Equal(a.Payload, b.Payload) {
		return fmt.Errorf("payload %x, want %x", b.Payload, a.Payload)
	}
	if len(a.Options) != len(b.Options) {
		return fmt.Errorf("options %v, want %v", optList(b.Options), optList(a.Options))
	}
	for i := range a.Options {
		if a.Options[i].ID != b.Options[i].ID || !bytes.Equal(a.Options[i].Value, b.Options[i].Value) {
			return fmt.Errorf("options %v, want %v", optList(b.Options), optList(a.Options))
		}
	}
	return nil
}

func optList(opts message.Options) []string {
	var s []string
	for _, o := range opts {
		s = append(s, fmt.Sprintf("%s=%x", OptionName(uint16(o.ID)), o.Value))
	}
	return s
}

// randomRequest draws a request with a random option set, Class U options
// that the rule escalates included (Uri-Host, Uri-Port, Proxy-Scheme,
// Hop-Limit, EDHOC), and a random payload.
func randomRequest(r *rand.Rand) message.Message {
	m := message.Message{
		Code:      []codes.Code{codes.GET, codes.POST, codes.PUT, codes.DELETE, codes.FETCH, codes.PATCH}[r.Intn(6)],
		Token:     message.Token(randBytes(r, r.Intn(9))),
		MessageID: int32(r.Intn(1 << 16)),
		Type:      message.Type(r.Intn(2)),
	}
	pool := []struct {
		id  uint16
		val func() []byte
	}{
		{OptURIHost, func() []byte { return []byte("example.com") }},
		{OptURIPort, func() []byte { return []byte{0x16, 0x33} }},
		{OptProxyScheme, func() []byte { return []byte("coap") }},
		{OptHopLimit, func() []byte { return []byte{byte(1 + r.Intn(255))} }},
		{OptEDHOC, func() []byte { return []byte{} }},
		{OptURIPath, func() []byte { return []byte("alarm_status") }},
		{OptURIPath, func() []byte { return randBytes(r, r.Intn(20)) }},
		{OptURIQuery, func() []byte { return []byte("a=1") }},
		{OptContentFormat, func() []byte { return encodeUint(uint64(r.Intn(70))) }},
		{OptAccept, func() []byte { return []byte{60} }},
		{OptETag, func() []byte { return randBytes(r, 1+r.Intn(8)) }},
		{OptIfMatch, func() []byte { return randBytes(r, r.Intn(8)) }},
		{OptEcho, func() []byte { return randBytes(r, 1+r.Intn(40)) }},
		{OptRequestTag, func() []byte { return randBytes(r, r.Intn(8)) }},
		{OptSize1, func() []byte { return encodeUint(uint64(r.Intn(5000))) }},
		{65000, func() []byte { return randBytes(r, r.Intn(300)) }}, // unrecognised: Class E
	}
	for _, p := range pool {
		if r.Intn(2) == 0 {
			m.Options = m.Options.Add(message.Option{ID: message.OptionID(p.id), Value: p.val()})
		}
	}
	if r.Intn(4) != 0 {
		m.Payload = randBytes(r, 1+r.Intn(200))
	}
	return m
}

func randomResponse(r *rand.Rand, req message.Message) message.Message {
	m := message.Message{
		Code:      []codes.Code{codes.Content, codes.Changed, codes.Created, codes.Deleted, codes.NotFound, codes.BadRequest, codes.InternalServerError}[r.Intn(7)],
		Token:     req.Token,
		MessageID: req.MessageID,
		Type:      message.Acknowledgement,
	}
	for _, p := range []struct {
		id  uint16
		val []byte
	}{
		{OptETag, randBytes(r, 1+r.Intn(8))},
		{OptLocationPath, []byte("new")},
		{OptContentFormat, []byte{60}},
		{OptMaxAge, encodeUint(uint64(r.Intn(1000)))},
		{OptLocationQuery, []byte("x")},
		{OptSize2, encodeUint(uint64(r.Intn(5000)))},
		{65002, randBytes(r, r.Intn(10))},
	} {
		if r.Intn(2) == 0 {
			m.Options = m.Options.Add(message.Option{ID: message.OptionID(p.id), Value: p.val})
		}
	}
	if r.Intn(3) != 0 {
		m.Payload = randBytes(r, 1+r.Intn(200))
	}
	return m
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

// responseRule is the rule of a responder's layer towards the origin
// client, its next hop: the inner layer's OSCORE option gets Class E.
func responseRule(m *message.Message) ClassRule {
	return ResponseRoute(m, []Hop{hS, hC}, 0, nil).RuleFor(1)
}

// TestLayersRoundTripProperty: for 1 to 8 layers, every AEAD and random
// option sets, a request protected through N layers and unprotected N times
// with the receiving contexts is the original request; the response
// protected with the same layers in reverse order (with and without Partial
// IV) and unprotected by the client is the original response (draft 2.1,
// 2.3, 2.5, 2.6).
func TestLayersRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewSource(8613))
	iterations := 20
	if testing.Short() {
		iterations = 2
	}
	escalated, keptOuter := 0, 0
	defer func() {
		// The random sets must exercise both outcomes of the rule.
		if !t.Failed() && (escalated == 0 || keptOuter == 0) {
			t.Errorf("rule outcomes seen: %d escalated, %d kept outer", escalated, keptOuter)
		}
		t.Logf("Class U options escalated %d times, kept outer %d times", escalated, keptOuter)
	}()
	for n := 1; n <= 8; n++ {
		for _, alg := range allAEADs {
			for it := range iterations {
				req := randomRequest(r)
				pairs, layers := chain(t, n, alg, &req, false)
				name := fmt.Sprintf("n=%d/%v/%d", n, alg, it)
				prot, cb, creps, err := ProtectRequestLayers(req, layers, n)
				if err != nil {
					t.Fatalf("%s: ProtectRequestLayers: %v", name, err)
				}
				if len(cb) != n || len(creps) != n {
					t.Fatalf("%s: %d bindings, %d reports", name, len(cb), len(creps))
				}
				for _, rep := range creps {
					for _, o := range rep.Complete().Options {
						switch {
						case o.Original == "U" && o.Number != OptOSCORE && o.Escalated:
							escalated++
						case o.Original == "U" && o.Where == "outer":
							keptOuter++
						}
					}
				}
				// On the wire only Class U options the rule left outer in
				// every layer, and exactly one OSCORE option.
				if c := countOpt(prot.Options, OptOSCORE); c != 1 {
					t.Fatalf("%s: %d OSCORE options on the wire", name, c)
				}
				if prot.Code != codes.POST && prot.Code != codes.FETCH {
					t.Fatalf("%s: outer code %v", name, prot.Code)
				}
				got, sb, sreps, err := UnprotectRequestLayers(prot, lookupOf(responders(pairs)...), n)
				if err != nil {
					t.Fatalf("%s: UnprotectRequestLayers: %v", name, err)
				}
				if len(sb) != n || len(sreps) != n {
					t.Fatalf("%s: removed %d layers, want %d", name, len(sb), n)
				}
				for i := range n { // removal order is the reverse of application
					if sreps[i].Context != creps[n-1-i].Context {
						t.Fatalf("%s: removal %d used %s, want %s", name, i, sreps[i].Context, creps[n-1-i].Context)
					}
				}
				if err := sameMessage(req, got); err != nil {
					t.Fatalf("%s: request after %d layers: %v", name, n, err)
				}

				resp := randomResponse(r, got)
				opts := make([]ProtectOptions, n)
				for i := range opts {
					opts[i] = ProtectOptions{ResponsePIV: r.Intn(2) == 0, Rule: responseRule(&resp)}
				}
				presp, rreps, err := ProtectResponseLayers(resp, sb, opts)
				if err != nil {
					t.Fatalf("%s: ProtectResponseLayers: %v", name, err)
				}
				for i, rep := range rreps { // application order: innermost first
					wantCtx, wantPIV := sb[n-1-i].Ctx.Name(), opts[n-1-i].ResponsePIV
					if rep.Context != wantCtx || (rep.Complete().PartialIV != nil) != wantPIV {
						t.Fatalf("%s: response layer %d: context %s piv %x, want %s piv=%v", name, i, rep.Context, rep.PartialIV, wantCtx, wantPIV)
					}
				}
				back, ureps, err := UnprotectResponseLayers(presp, cb)
				if err != nil {
					t.Fatalf("%s: UnprotectResponseLayers: %v", name, err)
				}
				if len(ureps) != n || ureps[0].Context != layers[n-1].Ctx.Name() {
					t.Fatalf("%s: client removed %d layers, first %s", name, len(ureps), ureps[0].Context)
				}
				if err := sameMessage(resp, back); err != nil {
					t.Fatalf("%s: response after %d layers: %v", name, n, err)
				}
			}
		}
	}
}

func countOpt(opts message.Options, id uint16) int {
	n := 0
	for _, o := range opts {
		if uint16(o.ID) == id {
			n++
		}
	}
	return n
}

// TestLayersEscalationOnTheWire: through a forward-proxy chain, options the
// rule escalates travel encrypted in the outer layer (draft 2.2; B.1).
func TestLayersEscalationOnTheWire(t *testing.T) {
	req := *msgWith(codes.GET, OptURIHost, OptURIPath, OptHopLimit, OptProxyScheme)
	req.Payload = []byte("x")
	_, layers := chain(t, 2, AESCCM16_64_128, &req, true)
	prot, _, reps, err := ProtectRequestLayers(req, layers, 0)
	if err != nil {
		t.Fatal(err)
	}
	// B.1: C->P carries only the OSCORE option; everything else is inside.
	if len(prot.Options) != 1 || prot.Options[0].ID != OptOSCORE {
		t.Fatalf("C->P options on the wire: %v", optList(prot.Options))
	}
	// The C_S layer left Uri-Host, Proxy-Scheme and Hop-Limit outer (step 9).
	wantCS := map[uint16]string{OptURIHost: "outer", OptHopLimit: "outer", OptProxyScheme: "outer", OptURIPath: "inner"}
	wantCP := map[uint16]string{OptURIHost: "inner", OptHopLimit: "inner", OptProxyScheme: "inner", OptOSCORE: "inner"}
	for i, want := range []map[uint16]string{wantCS, wantCP} {
		for _, o := range reps[i].Complete().Options {
			if w, ok := want[o.Number]; ok && o.Where != w {
				t.Errorf("layer %d (%s): %s is %s, want %s (steps %v)", i, reps[i].Context, o.Name, o.Where, w, o.Steps)
			}
		}
	}
	var osc OptionReport
	for _, o := range reps[1].Complete().Options {
		if o.Number == OptOSCORE {
			osc = o
		}
	}
	if !slices.Equal(osc.Steps, []int{1, 2, 4, 6, 8}) || !osc.Escalated {
		t.Errorf("C_P report for the inner OSCORE option: %+v", osc)
	}
}

// TestLayerLimitOnSend: a request needing more layers than the limit is not
// sent and uses no sequence number (draft 2.1).
func TestLayerLimitOnSend(t *testing.T) {
	req := *msgWith(codes.GET, OptURIPath)
	pairs, layers := chain(t, 3, AESCCM16_64_128, &req, false)
	_, b, _, err := ProtectRequestLayers(req, layers, 2)
	if !errors.Is(err, ErrLayerLimit) || b != nil {
		t.Fatalf("3 layers with limit 2: err %v, bindings %v", err, b)
	}
	for _, p := range pairs {
		if p.init.SenderSeq() != 0 {
			t.Errorf("%s used sequence number %d of an aborted sending", p.init.Name(), p.init.SenderSeq())
		}
	}
	if _, _, _, err := ProtectRequestLayers(req, layers, 3); err != nil {
		t.Fatalf("3 layers with limit 3: %v", err)
	}
	many := make([]Layer, DefaultLayerLimit+1)
	for i := range many {
		many[i] = layers[0]
	}
	if _, _, _, err := ProtectRequestLayers(req, many, 0); !errors.Is(err, ErrLayerLimit) {
		t.Fatalf("%d layers with the default limit: %v", len(many), err)
	}
}

// TestLayerLimitOnReceive: an incoming request needing more removals than
// the limit gets 4.01, protected with the layers removed so far in reverse
// order (draft 2.1, 2.5); the client meets an error response carrying fewer
// layers than it added.
func TestLayerLimitOnReceive(t *testing.T) {
	req := *msgWith(codes.GET, OptURIPath)
	pairs, layers := chain(t, 3, AESCCM16_64_128, &req, false)
	prot, cb, _, err := ProtectRequestLayers(req, layers, 0)
	if err != nil {
		t.Fatal(err)
	}
	part, sb, _, err := UnprotectRequestLayers(prot, lookupOf(responders(pairs)...), 2)
	var oe *Error
	if !errors.Is(err, ErrLayerLimit) || !errors.As(err, &oe) || oe.Code != codes.Unauthorized {
		t.Fatalf("3 layers, limit 2: %v", err)
	}
	if len(sb) != 2 || countOpt(part.Options, OptOSCORE) != 1 {
		t.Fatalf("removed %d layers; OSCORE options left %d", len(sb), countOpt(part.Options, OptOSCORE))
	}
	if pairs[0].resp.Replay().Highest >= 0 {
		t.Errorf("the innermost context was used past the limit: %+v", pairs[0].resp.Replay())
	}
	errResp := message.Message{Code: oe.Code, Token: req.Token, Payload: []byte(oe.Diagnostic)}
	perr, reps, err := ProtectResponseLayers(errResp, sb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || reps[0].Context != pairs[1].resp.Name() || reps[1].Context != pairs[2].resp.Name() {
		t.Fatalf("error response layers: %v", reps)
	}
	got, ureps, err := UnprotectResponseLayers(perr, cb)
	if !errors.Is(err, ErrNotProtected) || len(ureps) != 2 {
		t.Fatalf("client: err %v after %d removals", err, len(ureps))
	}
	if got.Code != codes.Unauthorized || string(got.Payload) != oe.Diagnostic {
		t.Fatalf("client sees %v %q", got.Code, got.Payload)
	}
}

// TestErrorResponseOnlyRemovedLayers: at S in B.3, the P_S layer comes off
// but C_S fails; the 4.00/4.01 goes back protected with P_S only, never with
// the failing layer (draft 2.5).
func TestErrorResponseOnlyRemovedLayers(t *testing.T) {
	cs := newPair(t, "CTX_C_S", AESCCM16_64_128, 0x5f, 0x01)
	ps := newPair(t, "CTX_P_S", AESCCM16_64_128, 0xd4, 0x02)
	req := *msgWith(codes.GET, OptURIHost, OptURIPath)
	req.Token = message.Token{0x7b}
	// P's forwarded request: C's end-to-end layer, then P's own P_S layer.
	inner, _, _, err := ProtectRequest(cs.init, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inner.Payload[0] ^= 0x01 // tamper with the end-to-end ciphertext
	fwd := RequestRoute(&inner, []Hop{hC, hP, hS}, 1, []int{2})
	prot, pb, _, err := ProtectRequestLayers(inner, []Layer{{ps.init, ProtectOptions{Rule: fwd.RuleFor(2)}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, sb, _, err := UnprotectRequestLayers(prot, lookupOf(cs.resp, ps.resp), 0)
	var le *LayerError
	var oe *Error
	if !errors.Is(err, ErrDecryptionFailed) || !errors.As(err, &le) || le.Layer != 1 || le.Context != "CTX_C_S" || !errors.As(err, &oe) || oe.Code != codes.BadRequest {
		t.Fatalf("tampered C_S layer: %v", err)
	}
	if len(sb) != 1 || sb[0].Ctx != ps.resp {
		t.Fatalf("removed layers: %v", sb)
	}
	out, reps, err := ProtectResponseLayers(message.Message{Code: oe.Code, Token: prot.Token, Payload: []byte(oe.Diagnostic)}, sb, nil)
	if err != nil || len(reps) != 1 || reps[0].Context != "CTX_P_S" {
		t.Fatalf("error response: %v %v", reps, err)
	}
	got, _, err := UnprotectResponseLayers(out, pb)
	if err != nil || got.Code != codes.BadRequest || string(got.Payload) != "Decryption failed" {
		t.Fatalf("P reads %v %q, %v", got.Code, got.Payload, err)
	}
}

// TestLeftoverOSCOREAfterRemovals: an OSCORE option still present after as
// many removals as layers were added stops processing (draft 2.6).
func TestLeftoverOSCOREAfterRemovals(t *testing.T) {
	req := *msgWith(codes.GET, OptURIPath)
	pairs, layers := chain(t, 3, AESCCM16_64_128, &req, false)
	prot, cb, _, err := ProtectRequestLayers(req, layers, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, sb, _, err := UnprotectRequestLayers(prot, lookupOf(responders(pairs)...), 0)
	if err != nil {
		t.Fatal(err)
	}
	resp := message.Message{Code: codes.Content, Token: req.Token, Payload: []byte("0")}
	presp, _, err := ProtectResponseLayers(resp, sb, []ProtectOptions{{Rule: responseRule(&resp)}, {Rule: responseRule(&resp)}, {Rule: responseRule(&resp)}})
	if err != nil {
		t.Fatal(err)
	}
	// A client that believes it added only the two outer layers.
	got, reps, err := UnprotectResponseLayers(presp, cb[1:])
	var oe *Error
	if !errors.Is(err, ErrTooManyLayers) || !errors.As(err, &oe) || !oe.Silent || len(reps) != 2 {
		t.Fatalf("leftover OSCORE option: err %v, %d removals", err, len(reps))
	}
	if countOpt(got.Options, OptOSCORE) != 1 {
		t.Fatalf("message returned with the leftover layer: %v", optList(got.Options))
	}
}

// TestUnrecognisedOptionThroughLayers: a proxy protecting a message with an
// option it does not recognise stops: 4.02 for a request, 5.02 for a
// response (draft 2.2), before any sequence number is used.
func TestUnrecognisedOptionThroughLayers(t *testing.T) {
	req := *msgWith(codes.GET, OptURIPath, 65000)
	pairs, layers := chain(t, 2, AESCCM16_64_128, &req, true)
	_, _, _, err := ProtectRequestLayers(req, layers, 0)
	var oe *Error
	if !errors.Is(err, ErrUnrecognisedOption) || !errors.As(err, &oe) || oe.Code != codes.BadOption {
		t.Fatalf("request: %v", err)
	}
	for _, p := range pairs {
		if p.init.SenderSeq() != 0 {
			t.Errorf("%s used a sequence number", p.init.Name())
		}
	}
	// Without StrictOptions (an origin client) it is Class E (RFC 8613 4.1).
	pairs, layers = chain(t, 2, AESCCM16_64_128, &req, false)
	prot, _, _, err := ProtectRequestLayers(req, layers, 0)
	if err != nil {
		t.Fatal(err)
	}
	if prot.Options.HasOption(65000) {
		t.Fatalf("unrecognised option outer: %v", optList(prot.Options))
	}
	got, _, _, err := UnprotectRequestLayers(prot, lookupOf(responders(pairs)...), 0)
	if err != nil || !got.Options.HasOption(65000) {
		t.Fatalf("unrecognised option lost: %v %v", optList(got.Options), err)
	}

	// Response through a proxy: 5.02.
	req2 := *msgWith(codes.GET, OptURIPath)
	pairs, layers = chain(t, 2, AESCCM16_64_128, &req2, true)
	prot, _, _, err = ProtectRequestLayers(req2, layers, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, sb, _, err := UnprotectRequestLayers(prot, lookupOf(responders(pairs)...), 0)
	if err != nil {
		t.Fatal(err)
	}
	resp := *msgWith(codes.Content, 65002)
	_, _, err = ProtectResponseLayers(resp, sb, []ProtectOptions{{StrictOptions: true}, {StrictOptions: true}})
	if !errors.Is(err, ErrUnrecognisedOption) || !errors.As(err, &oe) || oe.Code != codes.BadGateway {
		t.Fatalf("response: %v", err)
	}
	for _, p := range pairs {
		if p.resp.SenderSeq() != 0 {
			t.Errorf("%s used a sequence number", p.resp.Name())
		}
	}
}

// TestResponsePartialIVRules: a responder may omit the Partial IV only in
// the first response to a request, per layer (draft 2.5.1); a client
// accepts at most one response without Partial IV per source endpoint,
// as the oldest (draft 2.6.1; here through Observe, RFC 8613 7.4.1).
func TestResponsePartialIVRules(t *testing.T) {
	req := *msgWith(codes.GET, OptObserve, OptURIPath)
	req.Options = req.Options.Set(message.Option{ID: OptObserve, Value: []byte{}}) // register
	pairs, layers := chain(t, 2, AESCCM16_64_128, &req, false)
	prot, cb, _, err := ProtectRequestLayers(req, layers, 0)
	if err != nil {
		t.Fatal(err)
	}
	if prot.Code != codes.FETCH {
		t.Fatalf("outer code of an Observe request: %v", prot.Code)
	}
	_, sb, _, err := UnprotectRequestLayers(prot, lookupOf(responders(pairs)...), 0)
	if err != nil {
		t.Fatal(err)
	}
	notify := func(obs byte, payload string, piv bool) (message.Message, []*Report) {
		t.Helper()
		n := message.Message{Code: codes.Content, Token: req.Token, Payload: []byte(payload)}
		n.Options = n.Options.Add(message.Option{ID: OptObserve, Value: []byte{obs}})
		opts := []ProtectOptions{{Rule: responseRule(&n), ResponsePIV: piv}, {Rule: responseRule(&n), ResponsePIV: piv}}
		out, reps, err := ProtectResponseLayers(n, sb, opts)
		if err != nil {
			t.Fatal(err)
		}
		return out, reps
	}
	first, reps := notify(1, "first", false)
	for _, rep := range reps {
		if rep.Complete().PartialIV != nil {
			t.Errorf("first response, %s: Partial IV %x, want none", rep.Context, rep.PartialIV)
		}
	}
	second, reps := notify(2, "second", false)
	for _, rep := range reps {
		if rep.Complete().PartialIV == nil {
			t.Errorf("second response, %s: no Partial IV (draft 2.5.1)", rep.Context)
		}
	}
	third, _ := notify(3, "third", false)
	// The client: the second arrives first, then the third, then the first
	// (no Partial IV: the oldest, still accepted once), then the first again.
	for _, step := range []struct {
		m    message.Message
		want string
		ok   bool
	}{{second, "second", true}, {third, "third", true}, {first, "first", true}, {first, "", false}, {second, "", false}} {
		got, _, err := UnprotectResponseLayers(step.m, cb)
		if (err == nil) != step.ok {
			t.Fatalf("%q: err %v, want ok=%v", step.want, err, step.ok)
		}
		if step.ok && string(got.Payload) != step.want {
			t.Fatalf("payload %q, want %q", got.Payload, step.want)
		}
	}
}

// fuzzStack is the receiving side of a fixed 3-layer onion (C_S, C_P2,
// C_P1) and the wire bytes of one request through it.
func fuzzStack(f *testing.F) ([]*Context, [][]byte) {
	req := benchGET()
	req.Options = req.Options.Add(message.Option{ID: OptProxyScheme, Value: []byte("coap")})
	req.Options = req.Options.Add(message.Option{ID: OptHopLimit, Value: []byte{16}})
	pairs, layers := chain(f, 3, AESCCM16_64_128, &req, false)
	var seeds [][]byte
	for n := 1; n <= 3; n++ {
		prot, _, _, err := ProtectRequestLayers(req, layers[:n], 0)
		if err != nil {
			f.Fatal(err)
		}
		buf := make([]byte, encodeSize(prot))
		n, err := coder.DefaultCoder.Encode(prot, buf)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, buf[:n])
	}
	return responders(pairs), seeds
}

func decodeRaw(f *testing.F, raw []byte) message.Message {
	m := message.Message{Options: make(message.Options, 0, 32)}
	if _, err := coder.DefaultCoder.Decode(raw, &m); err != nil {
		f.Fatal(err)
	}
	return m
}

func encodeSize(m message.Message) int {
	n, _ := coder.DefaultCoder.Size(m)
	return n
}

// FuzzUnprotectRequestLayers feeds arbitrary datagrams to the layer
// removal of a node holding three contexts: it must never panic, never
// remove more layers than the limit, and leave no OSCORE option on success.
func FuzzUnprotectRequestLayers(f *testing.F) {
	ctxs, seeds := fuzzStack(f)
	for _, s := range seeds {
		f.Add(s, uint8(3))
	}
	if out, bs, _, err := UnprotectRequestLayers(decodeRaw(f, seeds[2]), lookupOf(ctxs...), 3); err != nil || len(bs) != 3 || out.Code != codes.GET {
		f.Fatalf("3-layer seed: %d layers removed, %v", len(bs), err)
	}
	for _, c := range ctxs {
		c.ResetReplay()
	}
	f.Add(seeds[2], uint8(2))
	f.Add(seeds[2][:len(seeds[2])-3], uint8(3))
	lookup := lookupOf(ctxs...)
	f.Fuzz(func(t *testing.T, raw []byte, limit uint8) {
		for _, c := range ctxs {
			c.ResetReplay() // every input is a fresh request
		}
		checkUnprotectLayers(t, raw, lookup, int(limit%10))
	})
}

func checkUnprotectLayers(t *testing.T, raw []byte, lookup ContextLookup, limit int) {
	m := message.Message{Options: make(message.Options, 0, 32)}
	if _, err := coder.DefaultCoder.Decode(raw, &m); err != nil {
		return
	}
	out, bindings, reports, err := UnprotectRequestLayers(m, lookup, limit)
	if len(bindings) > limitOrDefault(limit) || len(reports) != len(bindings) {
		t.Fatalf("removed %d layers (%d reports), limit %d", len(bindings), len(reports), limit)
	}
	if err != nil {
		var le *LayerError
		var oe *Error
		if !errors.As(err, &le) || !errors.As(err, &oe) || oe.Code>>5 != 4 {
			t.Fatalf("error without a layer and a 4.xx code: %v", err)
		}
		return
	}
	if out.Options.HasOption(OptOSCORE) {
		t.Fatalf("OSCORE option left after success")
	}
	// The removed layers protect a response (draft 2.5).
	resp := message.Message{Code: codes.Content, Token: out.Token, Payload: []byte("0")}
	if _, _, err := ProtectResponseLayers(resp, bindings, nil); err != nil && len(bindings) > 0 {
		if !errors.Is(err, ErrSequenceExhausted) {
			t.Fatalf("response over the removed layers: %v", err)
		}
	}
}
