package nodes

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/edhoc"
)

// EDHOC over CoAP (RFC 9528 A.2, forward flow): a client step with
// "edhoc" runs the Initiator over the lab's links, a server or proxy
// answers POSTs to /.well-known/edhoc as Responder, and once message_3 is
// through, the context exists at both ends with the Master Secret and
// Salt the EDHOC exporter gave (RFC 9528 A.1).

// edhocPath is /.well-known/edhoc as deliver joins Uri-Path segments.
var edhocPath = strings.TrimPrefix(edhoc.WellKnownPath, "/")

// isEDHOCRequest reports whether req is for the EDHOC resource, which a
// proxy serves too: a client runs EDHOC with its first proxy (draft 5).
func isEDHOCRequest(req *message.Message) bool {
	return req.Code == codes.POST && strings.Join(uriPath(req.Options), "/") == edhocPath
}

// edhocState keeps the Responder sessions nodes run and what each
// completed session gave the Responder, by context name.
type edhocState struct {
	mu         sync.Mutex
	responders map[string]*edhoc.Responder
	done       map[string]oscore.Params
	// For combined requests (RFC 9668): message_3 the Initiator sends in
	// its first request under the context, and the contexts whose
	// Responder has not processed that message_3 yet, by context name.
	pending  map[string][]byte
	awaiting map[string]bool
	// combining counts pending and awaiting entries, so that requests
	// skip the lock while no combined request is under way.
	combining atomic.Int32
}

// init makes the maps; the caller holds mu.
func (s *edhocState) init() {
	if s.responders == nil {
		s.responders, s.done = map[string]*edhoc.Responder{}, map[string]oscore.Params{}
		s.pending, s.awaiting = map[string][]byte{}, map[string]bool{}
	}
}

// takeCombined returns, once, the message_3 that the first request under
// ctx carries (RFC 9668 3.2.1).
func (l *Lab) takeCombined(ctx string) []byte {
	if l.edhoc.combining.Load() == 0 {
		return nil
	}
	l.edhoc.mu.Lock()
	defer l.edhoc.mu.Unlock()
	m3, ok := l.edhoc.pending[ctx]
	if ok {
		delete(l.edhoc.pending, ctx)
		l.edhoc.combining.Add(-1)
	}
	return m3
}

// awaitingMessage3 reports whether ctx's Responder still waits for the
// message_3 of a combined request: until then it must not use the context.
func (l *Lab) awaitingMessage3(ctx string) bool {
	if l.edhoc.combining.Load() == 0 {
		return false
	}
	l.edhoc.mu.Lock()
	defer l.edhoc.mu.Unlock()
	return l.edhoc.awaiting[ctx]
}

// edhocSetup is one side's configuration of a scenario context's session.
func edhocSetup(c *scenario.Context, initiator bool) (edhoc.Config, error) {
	e := c.EDHOC
	suites := func(n []int) []edhoc.Suite {
		out := make([]edhoc.Suite, len(n))
		for i, s := range n {
			out[i] = edhoc.Suite(s)
		}
		return out
	}
	pins := func(keys []string) [][]byte {
		var out [][]byte
		for _, k := range keys {
			b, _ := hex.DecodeString(k)
			out = append(out, b)
		}
		return out
	}
	own, peer := e.Initiator, e.Responder
	if !initiator {
		own, peer = peer, own
	}
	id, err := own.Identity()
	if err != nil {
		return edhoc.Config{}, err
	}
	pid, err := peer.Identity()
	if err != nil {
		return edhoc.Config{}, err
	}
	cI, _ := hex.DecodeString(c.A.RecipientID)
	cR, _ := hex.DecodeString(c.A.SenderID)
	cfg := edhoc.Config{Method: edhoc.Method(e.Method), Identity: id, PeerCredentials: edhoc.Trust(pid.Credential)}
	if initiator {
		cfg.Suites, cfg.ConnID, cfg.Ephemeral = suites(e.Suites), cI, pins(e.PinInitiator)
	} else {
		rs := e.ResponderSuites
		if len(rs) == 0 {
			rs = e.Suites[len(e.Suites)-1:]
		}
		cfg.Suites, cfg.ConnID, cfg.Ephemeral = suites(rs), cR, pins(e.PinResponder)
		cfg.Methods = []edhoc.Method{edhoc.Method(e.Method)}
	}
	return cfg, nil
}

// edhocReply is a 2.04 or error response with Content-Format 64 (RFC 9528
// A.2.1, A.2.3).
func edhocReply(code codes.Code, payload []byte) message.Message {
	var opts message.Options
	opts, _, _ = opts.SetContentFormat(make([]byte, 2), message.MediaType(edhoc.ContentFormatEDHOC))
	return message.Message{Code: code, Options: opts, Payload: payload}
}

// edhocError answers a failed step: the error message in a 4.00 (RFC
// 9528 A.2.3).
func edhocError(err error) message.Message {
	var e *edhoc.Error
	if !errors.As(err, &e) {
		e = edhoc.ErrorFor("A.2", err)
	}
	return edhocReply(codes.BadRequest, e.Message())
}

// edhocRespond is the node's /.well-known/edhoc: true || message_1 starts
// a session for the context whose C_I it names, C_R || message_3 completes
// the session that C_R selects. Each message is an "edhoc" decision.
func (n *node) edhocRespond(at where, payload []byte) message.Message {
	l := n.lab
	decide := func(step, section, outcome string, code codes.Code, part *trace.EDHOCPart) {
		n.edhocDecision(at, step, section, outcome, code, part)
	}
	refuse := func(step, section string, err error) message.Message {
		m := edhocError(err)
		decide(step, section, fmt.Sprintf("Responder: %v -> 4.00 with EDHOC error message %x", err, m.Payload), codes.BadRequest, nil)
		return m
	}
	first, cR, msg, err := edhoc.ParseRequestPayload(payload)
	if err != nil {
		return refuse("A.2", "RFC 9528 A.2.1", err)
	}
	t := l.topo.Load()
	var cI []byte
	if first {
		m1, err := edhoc.ParseMessage1(msg)
		if err != nil {
			return refuse("message_1", "RFC 9528 5.2.3", err)
		}
		cI = m1.CI
	}
	var c *scenario.Context
	for i := range t.sc.Contexts {
		x := &t.sc.Contexts[i]
		if x.EDHOC == nil || x.B.Node != n.id {
			continue
		}
		if first && strings.EqualFold(x.A.RecipientID, hex.EncodeToString(cI)) || !first && strings.EqualFold(x.A.SenderID, hex.EncodeToString(cR)) {
			c = x
			break
		}
	}
	if c == nil {
		return refuse("A.2", "RFC 9528 A.2.1", errors.New("no EDHOC session for this identifier"))
	}
	l.edhoc.mu.Lock()
	defer l.edhoc.mu.Unlock()
	l.edhoc.init()
	if first {
		cfg, err := edhocSetup(c, false)
		if err != nil {
			return refuse("message_1", "RFC 9528 5.2.3", err)
		}
		r, err := edhoc.NewResponder(cfg)
		if err != nil {
			return refuse("message_1", "RFC 9528 5.2.3", err)
		}
		if err := r.ReadMessage1(msg); err != nil {
			return refuse("message_1", "RFC 9528 5.2.3, 6.3", err)
		}
		m2, err := r.WriteMessage2()
		if err != nil {
			return refuse("message_2", "RFC 9528 5.3.2", err)
		}
		l.edhoc.responders[c.Name] = r
		decide("message_1", "RFC 9528 5.2.3", fmt.Sprintf("Responder for %s: message_1 accepted (%s)", c.Name, fieldsText(r.MessageFields(1))), 0,
			edhocPart(c.Name, "responder", 1, r.MessageFields(1), nil))
		decide("message_2", "RFC 9528 5.3.2", fmt.Sprintf("Responder for %s: message_2 sent (%s)", c.Name, fieldsText(r.MessageFields(2))), 0,
			edhocPart(c.Name, "responder", 2, r.MessageFields(2), r.Steps()))
		return edhocReply(codes.Changed, m2)
	}
	r := l.edhoc.responders[c.Name]
	if r == nil {
		return refuse("message_3", "RFC 9528 5.4.3", errors.New("no EDHOC session for this C_R"))
	}
	delete(l.edhoc.responders, c.Name)
	if err := r.ReadMessage3(msg); err != nil {
		return refuse("message_3", "RFC 9528 5.4.3", err)
	}
	p, err := r.OSCOREParams()
	if err != nil {
		return refuse("message_3", "RFC 9528 A.1", err)
	}
	l.edhoc.done[c.Name] = p
	decide("message_3", "RFC 9528 5.4.3, A.1", fmt.Sprintf("Responder for %s: message_3 verified (%s); OSCORE context derived: Sender ID %x, Recipient ID %x",
		c.Name, fieldsText(r.MessageFields(3)), p.SenderID, p.RecipientID), 0, edhocPart(c.Name, "responder", 3, r.MessageFields(3), r.Steps()))
	return message.Message{Code: codes.Changed}
}

// edhocDecision publishes an edhoc decision with the message's part.
func (n *node) edhocDecision(at where, step, section, outcome string, code codes.Code, part *trace.EDHOCPart) {
	d := &trace.Decision{Rule: trace.RuleEDHOC, Step: step, Section: section, Outcome: outcome, EDHOC: part}
	if code != 0 {
		d.Code = codeText(code)
	}
	n.lab.publish(trace.Event{Type: trace.TypeDecision, Exchange: at.ex, Hop: at.hop, Node: n.id, Decision: d})
}

// edhocPart turns a message's items and the session's steps into the
// trace's EDHOC part.
func edhocPart(session, role string, msg int, fields []edhoc.Field, steps []edhoc.Step) *trace.EDHOCPart {
	p := &trace.EDHOCPart{Session: session, Role: role, Message: fmt.Sprintf("message_%d", msg)}
	for _, f := range fields {
		p.Fields = append(p.Fields, trace.EDHOCItem{Name: f.Name, Hex: hex.EncodeToString(f.CBOR), Diag: f.Diag, Raw: hex.EncodeToString(f.Value), Note: f.Note})
	}
	for _, s := range steps {
		p.Cards = append(p.Cards, trace.EDHOCCard{Name: s.Name, Formula: s.Formula, Inputs: s.Inputs, Input: hex.EncodeToString(s.Input),
			Info: hex.EncodeToString(s.Info), InfoDiag: s.InfoDiag(), Output: hex.EncodeToString(s.Output), Secret: s.Secret})
	}
	return p
}

// fieldsText is a message's items as a decision shows them.
func fieldsText(fs []edhoc.Field) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, f.Name+" "+f.Diag)
	}
	return strings.Join(parts, ", ")
}

// runEDHOC runs the step's context's session as Initiator: message_1
// (again after an error 2, RFC 9528 6.3), message_2, message_3, each
// request an ordinary step through the route and the layers the step
// names; then both ends get the context.
func (l *Lab) runEDHOC(ctx context.Context, st scenario.Step) (Result, error) {
	start := time.Now()
	res := Result{Step: firstNonEmpty(st.Name, "EDHOC "+st.EDHOC)}
	failed := func(err error) (Result, error) {
		res.Problem, res.Duration = err.Error(), time.Since(start)
		res.OK, _ = judge(st.Expect, res, err)
		return res, err
	}
	var c *scenario.Context
	sc := l.Scenario()
	for i := range sc.Contexts {
		if sc.Contexts[i].Name == st.EDHOC {
			c = &sc.Contexts[i]
		}
	}
	if c == nil || c.EDHOC == nil {
		return failed(fmt.Errorf("nodes: no EDHOC context %q", st.EDHOC))
	}
	cfg, err := edhocSetup(c, true)
	if err != nil {
		return failed(err)
	}
	ini, err := edhoc.NewInitiator(cfg)
	if err != nil {
		return failed(err)
	}
	send := func(payload []byte) (Result, error) {
		s := st
		s.EDHOC, s.Expect, s.Payload = "", nil, string(payload)
		s.Options = append(append([]scenario.StepOption(nil), st.Options...),
			scenario.StepOption{Number: uint16(message.ContentFormat), Value: fmt.Sprintf("%02x", edhoc.ContentFormatCIDEDHOC)})
		r, err := l.Send(ctx, s)
		if err == nil && r.Code == "" {
			err = errors.New("nodes: no response to the EDHOC request")
		}
		return r, err
	}
	client := l.topo.Load().nodes[st.From]
	decide := func(r Result, step, section, outcome string, msg int) {
		if client == nil {
			return
		}
		var part *trace.EDHOCPart
		if msg > 0 {
			part = edhocPart(c.Name, "initiator", msg, ini.MessageFields(msg), ini.Steps())
		}
		client.edhocDecision(where{r.Exchange, 0}, step, section, "Initiator for "+c.Name+": "+outcome, 0, part)
	}
	var r Result
	for attempt := 0; ; attempt++ {
		m1, err := ini.WriteMessage1()
		if err != nil {
			return failed(err)
		}
		if r, err = send(edhoc.RequestPayload(true, nil, m1)); err != nil {
			return failed(err)
		}
		err = ini.ReadMessage2([]byte(r.Payload))
		var pe *edhoc.PeerError
		if errors.As(err, &pe) && pe.Msg.Code == edhoc.ErrCodeWrongSuite && attempt == 0 {
			if err := ini.Retry(); err != nil {
				return failed(err)
			}
			decide(r, "6.3", "RFC 9528 6.3", fmt.Sprintf("%v -> a new message_1 that keeps the preferred suites before the one the Responder supports, with a fresh ephemeral key", pe), 0)
			continue
		}
		if err != nil {
			decide(r, "message_2", "RFC 9528 5.3.3", fmt.Sprintf("message_2 refused: %v", err), 0)
			return failed(fmt.Errorf("message_2 (%s): %w", r.Code, err))
		}
		decide(r, "message_2", "RFC 9528 5.3.3", fmt.Sprintf("message_2 verified (%s)", fieldsText(ini.MessageFields(2))), 2)
		break
	}
	m3, err := ini.WriteMessage3()
	if err != nil {
		return failed(err)
	}
	if c.EDHOC.CombinedRequest {
		return l.establishCombined(st, c, sc, ini, m3, r, res, start, decide)
	}
	_, cR := ini.ConnIDs()
	if r, err = send(edhoc.RequestPayload(false, cR, m3)); err != nil {
		return failed(err)
	}
	if r.Code != "2.04" {
		return failed(fmt.Errorf("message_3 answered %s", r.Code))
	}
	p, err := ini.OSCOREParams()
	if err != nil {
		return failed(err)
	}
	l.edhoc.mu.Lock()
	rp, ok := l.edhoc.done[c.Name]
	delete(l.edhoc.done, c.Name)
	l.edhoc.mu.Unlock()
	if !ok || !bytes.Equal(rp.MasterSecret, p.MasterSecret) || !bytes.Equal(rp.MasterSalt, p.MasterSalt) ||
		!bytes.Equal(rp.SenderID, p.RecipientID) || !bytes.Equal(rp.RecipientID, p.SenderID) {
		return failed(errors.New("nodes: the Responder's EDHOC session did not give the same context"))
	}
	decide(r, "message_3", "RFC 9528 5.4.2, A.1", fmt.Sprintf("message_3 sent (%s) and answered %s; OSCORE context derived: Sender ID %x (C_R), Recipient ID %x (C_I)",
		fieldsText(ini.MessageFields(3)), r.Code, p.SenderID, p.RecipientID), 3)
	c.MasterSecret, c.MasterSalt = hex.EncodeToString(p.MasterSecret), hex.EncodeToString(p.MasterSalt)
	if err := l.Apply(sc); err != nil {
		return failed(err)
	}
	res.Exchange, res.Code, res.Duration = r.Exchange, r.Code, time.Since(start)
	res.OK, res.Problem = judge(st.Expect, res, nil)
	return res, nil
}

// establishCombined ends an Initiator's session whose message_3 goes in
// the first OSCORE request under the context (RFC 9668 3.2.1): the context
// exists from now on, the Initiator's side ready (it derived the keys
// after writing message_3), the Responder's unusable until it has
// processed that message_3 (edhocCombined).
func (l *Lab) establishCombined(st scenario.Step, c *scenario.Context, sc *scenario.Scenario, ini *edhoc.Initiator, m3 []byte, r, res Result, start time.Time,
	decide func(Result, string, string, string, int)) (Result, error) {
	p, err := ini.OSCOREParams()
	if err == nil {
		c.MasterSecret, c.MasterSalt = hex.EncodeToString(p.MasterSecret), hex.EncodeToString(p.MasterSalt)
		l.edhoc.mu.Lock()
		l.edhoc.init()
		l.edhoc.pending[c.Name], l.edhoc.awaiting[c.Name] = m3, true
		l.edhoc.combining.Add(2)
		l.edhoc.mu.Unlock()
		err = l.Apply(sc)
	}
	res.Duration = time.Since(start)
	if err != nil {
		res.Problem = err.Error()
		res.OK, _ = judge(st.Expect, res, err)
		return res, err
	}
	decide(r, "message_3", "RFC 9668 3.2.1, RFC 9528 A.1", fmt.Sprintf("message_3 written (%s), kept for the first request under the context; OSCORE context derived: Sender ID %x (C_R), Recipient ID %x (C_I)",
		fieldsText(ini.MessageFields(3)), p.SenderID, p.RecipientID), 3)
	res.Exchange, res.Code = r.Exchange, r.Code
	res.OK, res.Problem = judge(st.Expect, res, nil)
	return res, nil
}

// edhocCombined runs RFC 9668 3.3.1 steps 1 to 7 on a request that
// carries the EDHOC option and whose kid is the C_R of a session this
// node answers: message_3 comes off the payload and is processed, the
// context becomes usable, and the request goes on to decryption without
// the option. Any other request passes unchanged (nil).
func (in *incoming) edhocCombined() *reply {
	if !in.req.Options.HasOption(edhoc.OptionEDHOC) {
		return nil
	}
	ov, _ := in.req.Options.GetBytes(optOSCORE)
	o, err := oscore.ParseOption(ov)
	if err != nil {
		return nil
	}
	l := in.n.lab
	var c *scenario.Context
	for i := range in.t.sc.Contexts {
		x := &in.t.sc.Contexts[i]
		if x.EDHOC != nil && x.B.Node == in.n.id && strings.EqualFold(x.A.SenderID, hex.EncodeToString(o.KID)) && l.awaitingMessage3(x.Name) {
			c = x
		}
	}
	if c == nil {
		return nil // meant for another node, or not a session of ours
	}
	refuse := func(err error) *reply {
		m := edhocError(err)
		in.n.edhocDecision(in.at, "message_3", "RFC 9668 3.3.1", fmt.Sprintf("Responder for %s: combined request refused: %v -> 4.00 with EDHOC error message %x", c.Name, err, m.Payload), codes.BadRequest, nil)
		return &reply{msg: m}
	}
	m3, ct, err := edhoc.SplitCombinedPayload(in.req.Payload)
	if err != nil {
		return refuse(err)
	}
	l.edhoc.mu.Lock()
	defer l.edhoc.mu.Unlock()
	r := l.edhoc.responders[c.Name]
	if r == nil {
		return refuse(errors.New("no EDHOC session for this kid"))
	}
	delete(l.edhoc.responders, c.Name)
	if err := r.ReadMessage3(m3); err != nil {
		return refuse(err)
	}
	p, err := r.OSCOREParams()
	if err != nil {
		return refuse(err)
	}
	own, _, err := in.t.contextFor(c.Name, in.n.id)
	if err != nil || !bytes.Equal(own.Params().MasterSecret, p.MasterSecret) || !bytes.Equal(own.Params().MasterSalt, p.MasterSalt) || !bytes.Equal(own.SenderID(), p.SenderID) {
		return refuse(errors.New("the session's OSCORE context differs from the Initiator's"))
	}
	delete(l.edhoc.awaiting, c.Name)
	l.edhoc.combining.Add(-1)
	in.req.Payload = ct
	in.req.Options = in.req.Options.Remove(edhoc.OptionEDHOC)
	in.n.edhocDecision(in.at, "message_3", "RFC 9668 3.3.1, RFC 9528 5.4.3",
		fmt.Sprintf("Responder for %s: message_3 taken off the combined request and verified (%s); context %s usable, EDHOC option removed, the rest of the payload is the OSCORE ciphertext",
			c.Name, fieldsText(r.MessageFields(3)), c.Name), 0, edhocPart(c.Name, "responder", 3, r.MessageFields(3), r.Steps()))
	return nil
}
