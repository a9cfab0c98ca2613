package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// Case is one requirement the suite checks. The table of cases (cases
// returns it) is the suite: to add a check, add a Case with a new ID.
type Case struct {
	ID          string // "server-replay": role prefix, then what is checked
	Role        string
	Requirement string // one sentence, what the target must do
	Section     string // "RFC 8613 7.4"
	Level       string // MUST or SHOULD
	Run         func(t *T)
}

func (c *Case) result(res, reason string, exchange int) CaseResult {
	return CaseResult{ID: c.ID, Requirement: c.Requirement, Section: c.Section, Level: c.Level,
		Result: res, Reason: reason, Exchange: exchange}
}

// CasesFor lists the cases of a role in the order they run.
func CasesFor(role string) []*Case {
	var out []*Case
	for _, c := range allCases() {
		if c.Role == role {
			out = append(out, c)
		}
	}
	return out
}

func allCases() []*Case {
	return slices.Concat(serverCases(), forwardProxyCases(), oscoreProxyCases(), reverseProxyCases())
}

// T is what a case's Run sees: the target, the contexts, the client, and
// where to put its verdict. The first verdict counts.
type T struct {
	ctx    context.Context
	env    *env
	cl     *client
	cfg    *Config
	result string
	reason string
}

// Pass, Fail and Skip record the verdict with a one-line reason.
func (t *T) Pass(format string, args ...any) { t.verdict(Pass, format, args...) }
func (t *T) Fail(format string, args ...any) { t.verdict(Fail, format, args...) }
func (t *T) Skip(format string, args ...any) { t.verdict(Skip, format, args...) }

func (t *T) verdict(res, format string, args ...any) {
	if t.result != "" {
		return
	}
	t.result, t.reason = res, oneLine(fmt.Sprintf(format, args...))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// ctxState is one configured context, derived, with its use so far.
type ctxState struct {
	pc   peerctx.Context
	oc   *oscore.Context
	used bool // a request was protected with it in this run
}

// env is one run: the configuration, the client and the contexts.
type env struct {
	cfg      *Config
	cl       *client
	contexts []*ctxState
	events   []trace.Event
	exchange int
	echoes   []string // Echo challenges met and answered so far in the run
}

func newEnv(cfg *Config, cl *client) (*env, error) {
	e := &env{cfg: cfg, cl: cl}
	for _, pc := range cfg.Contexts {
		if cfg.Seq >= 0 {
			pc.SenderSeq = uint64(cfg.Seq)
		}
		oc, err := pc.New()
		if err != nil {
			return nil, err
		}
		e.contexts = append(e.contexts, &ctxState{pc: pc, oc: oc})
	}
	return e, nil
}

// run runs one case as its own exchange, with panics turned into a
// failure of the suite rather than a crash.
func (e *env) run(ctx context.Context, c *Case) (res CaseResult) {
	e.exchange++
	e.cl.rec = recorder{exchange: e.exchange}
	e.cl.rec.note(fmt.Sprintf("start: case %s (%s %s)", c.ID, c.Level, c.Section))
	t := &T{ctx: ctx, env: e, cl: e.cl, cfg: e.cfg}
	defer func() {
		if p := recover(); p != nil {
			t.result, t.reason = Fail, fmt.Sprintf("the suite failed while running the case: %v", p)
		}
		if t.result == "" {
			t.result, t.reason = Fail, "the case reached no verdict"
		}
		if d := e.cl.rec.dropped; d > 0 {
			e.cl.rec.note(fmt.Sprintf("%d more events not recorded (at most %d per case)", d, maxCaseEvents))
		}
		e.cl.rec.note(fmt.Sprintf("end: %s: %s", t.result, t.reason))
		e.events = append(e.events, e.cl.rec.events...)
		res = c.result(t.result, t.reason, e.exchange)
	}()
	c.Run(t)
	return
}

// trace assembles the run's trace: the suite and the target as nodes, the
// contexts, and every case's events in run order.
func (e *env) trace(r *Report) *trace.Trace {
	nodes := []trace.NodeInfo{{ID: NodeSuite, Role: "client", Addr: e.cl.conn.LocalAddr().String()},
		{ID: NodeTarget, Role: "external", Addr: e.cfg.Target}}
	var infos []trace.ContextInfo
	for _, cs := range e.contexts {
		p := cs.pc.Params
		infos = append(infos, trace.NewContextInfo(cs.pc.Name, p,
			trace.Endpoint{Node: NodeSuite, SenderID: nonNil(p.SenderID), RecipientID: nonNil(p.RecipientID)},
			trace.Endpoint{Node: NodeTarget, SenderID: nonNil(p.RecipientID), RecipientID: nonNil(p.SenderID)}))
	}
	events := make([]trace.Event, len(e.events))
	for i, ev := range e.events {
		ev.Seq = uint64(i + 1)
		events[i] = ev
	}
	tr := trace.NewTrace(trace.ScenarioInfo{Name: "check-" + r.Role,
		Title:       fmt.Sprintf("oscore-lab check -role %s -target %s", r.Role, r.Target),
		Explanation: "Each exchange is one conformance case; its start and end events name the case and its verdict."},
		nodes, infos, events)
	return tr
}

func nonNil(b []byte) oscore.Hex {
	if b == nil {
		return oscore.Hex{}
	}
	return b
}

// targetContexts are the contexts shared with the target itself.
func (t *T) targetContexts() []*ctxState {
	var out []*ctxState
	for _, cs := range t.env.contexts {
		if cs.pc.Peer == peerctx.PeerTarget || cs.pc.Peer == "" {
			out = append(out, cs)
		}
	}
	return out
}

// main is the context most cases use: the first target context without
// an ID Context, else the first one. It skips the case when there is none.
func (t *T) main() *ctxState {
	cs := t.targetContexts()
	for _, c := range cs {
		if c.pc.Params.IDContext == nil {
			return c
		}
	}
	if len(cs) > 0 {
		return cs[0]
	}
	t.Skip("no context shared with the target (-context)")
	return nil
}

// request builds a plain CoAP request for path ("/a/b") with extra options.
func request(code codes.Code, path string, opts ...message.Option) message.Message {
	m := message.Message{Code: code}
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if seg != "" {
			m.Options = append(m.Options, message.Option{ID: optURIPath, Value: []byte(seg)})
		}
	}
	m.Options = append(m.Options, opts...)
	sortOptions(m.Options)
	return m
}

// sortOptions keeps options in number order, stable for repeated ones:
// go-coap encodes unsorted options to garbage.
func sortOptions(o message.Options) {
	sort.SliceStable(o, func(i, j int) bool { return o[i].ID < o[j].ID })
}

func uintOpt(id message.OptionID, v uint32) message.Option {
	var b []byte
	for v > 0 {
		b = append([]byte{byte(v)}, b...)
		v >>= 8
	}
	return message.Option{ID: id, Value: b}
}

// CoAP option numbers the cases use (RFC 7252 5.10, RFC 7641, RFC 7959,
// RFC 8613 6.1, RFC 8768, RFC 9175).
const (
	optIfMatch     = 1
	optURIHost     = 3
	optETag        = 4
	optObserve     = 6
	optURIPort     = 7
	optOSCORE      = 9
	optURIPath     = 11
	optContentFmt  = 12
	optMaxAge      = 14
	optURIQuery    = 15
	optHopLimit    = 16
	optAccept      = 17
	optBlock2      = 23
	optEcho        = 252
	optProxyURI    = 35
	optProxyScheme = 39
	optRequestTag  = 292
)

// exchange is one protected request and what came back.
type exchange struct {
	bind       *oscore.Binding
	resp       received
	got        bool  // a response arrived
	err        error // a send error, or errNoResponse
	inner      message.Message
	verified   bool
	vErr       error     // why the response did not verify
	challenged *exchange // the Echo challenge this exchange answered (do)
}

// protected reports whether the response carries an OSCORE option.
func (x *exchange) protected() bool { return x.got && x.resp.msg.Options.HasOption(optOSCORE) }

// protect applies cs to m, with Sender Sequence Number seq when seq >= 0
// (the context's counter is left past every number used so far, so a
// pinned lower number is never reused by a later request).
func (t *T) protect(cs *ctxState, m message.Message, seq int64, o oscore.ProtectOptions) (message.Message, *oscore.Binding, error) {
	next := cs.oc.SenderSeq()
	if seq >= 0 {
		err := cs.oc.SetSenderSeq(uint64(seq))
		if errors.Is(err, oscore.ErrSequenceReused) {
			// A replay case sends a used Partial IV again on purpose.
			err = cs.oc.ReuseSenderSeq(uint64(seq))
		}
		if err != nil {
			return message.Message{}, nil, err
		}
	}
	o.IncludeKIDContext = o.IncludeKIDContext || cs.pc.SendKIDContext
	out, b, rep, err := oscore.ProtectRequest(cs.oc, m, o)
	if seq >= 0 && uint64(seq) < next {
		_ = cs.oc.SetSenderSeq(next)
	}
	cs.used = true
	t.cl.rec.layer(trace.LayerApplied, trace.DirRequest, rep)
	return out, b, err
}

// do protects m with cs (at seq, or the next number when seq < 0), lets
// mutate change the protected message, sends it and verifies the answer.
//
// A verified 4.01 carrying an inner Echo is a freshness challenge (RFC 9175
// 2.3; RFC 8613 B.1.2, which servers use to rebuild a replay window after
// a reboot): the request is repeated once, with the next sequence number
// and the Echo value inside, and the repetition's exchange is returned with
// the challenge kept in challenged.
func (t *T) do(cs *ctxState, m message.Message, seq int64, mutate func(*message.Message)) *exchange {
	x := t.doOnce(cs, m, seq, mutate)
	echo, ok := x.echoChallenge()
	if !ok {
		return x
	}
	m.Options = append(append(message.Options(nil), m.Options...), message.Option{ID: optEcho, Value: echo})
	sortOptions(m.Options)
	y := t.doOnce(cs, m, -1, mutate)
	y.challenged = x
	t.env.echoes = append(t.env.echoes, fmt.Sprintf("Echo %x answered by %s", echo, y.describe()))
	return y
}

// echoChallenge returns the Echo value of a verified 4.01 Echo response.
func (x *exchange) echoChallenge() ([]byte, bool) {
	if !x.verified || x.inner.Code != codes.Unauthorized {
		return nil, false
	}
	v, err := x.inner.Options.GetBytes(optEcho)
	return v, err == nil
}

// doOnce is do without answering an Echo challenge.
func (t *T) doOnce(cs *ctxState, m message.Message, seq int64, mutate func(*message.Message)) *exchange {
	m.Token = t.cl.newToken()
	pm, b, err := t.protect(cs, m, seq, oscore.ProtectOptions{})
	x := &exchange{bind: b}
	if err != nil {
		x.err = fmt.Errorf("protecting the request: %w", err)
		return x
	}
	if mutate != nil {
		mutate(&pm)
	}
	return t.send(pm, b)
}

// send sends protected request pm bound by b and verifies the answer.
func (t *T) send(pm message.Message, b *oscore.Binding) *exchange {
	x := &exchange{bind: b}
	x.resp, x.err = t.cl.roundTrip(pm)
	x.got = x.err == nil
	if x.got {
		t.verify(x)
	}
	return x
}

// verify removes the OSCORE layer of x's response, when it has one.
func (t *T) verify(x *exchange) {
	if !x.protected() {
		return
	}
	inner, rep, err := oscore.UnprotectResponse(x.bind, x.resp.msg)
	if err != nil {
		t.cl.rec.layer(trace.LayerFailed, trace.DirResponse, rep)
		x.vErr = err
		return
	}
	t.cl.rec.layer(trace.LayerRemoved, trace.DirResponse, rep)
	x.inner, x.verified = inner, true
}

// describe says in a few words what came back.
func (x *exchange) describe() string {
	switch {
	case x.err != nil && !x.got:
		return x.err.Error()
	case x.verified:
		return fmt.Sprintf("protected %s (outer %s)", codeText(x.inner.Code), codeText(x.resp.msg.Code))
	case x.protected():
		return fmt.Sprintf("a protected %s that does not verify: %v", codeText(x.resp.msg.Code), x.vErr)
	}
	s := "unprotected " + codeText(x.resp.msg.Code)
	if len(x.resp.msg.Payload) > 0 {
		s += fmt.Sprintf(" %q", truncate(string(x.resp.msg.Payload), 40))
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func codeText(c codes.Code) string { return oscore.CodeText(c) }

// wantSuccess passes the case when x verified with a 2.xx inner code.
func (t *T) wantSuccess(x *exchange, what string) bool {
	if x.verified && x.inner.Code>>5 == 2 {
		return true
	}
	t.Fail("%s: want a verified 2.xx response, got %s", what, x.describe())
	return false
}

// wantRefused judges a request the target must not process (RFC 8613 8.2:
// stop processing; it MAY answer, and then with code and an unprotected
// message). Silence passes; a verified response or another code fails.
func (t *T) wantRefused(x *exchange, code codes.Code, diag string) {
	switch {
	case x.err != nil && x.err != errNoResponse:
		t.Fail("%v", x.err)
	case !x.got:
		if alive := t.alive(); alive != "" {
			t.Fail("no response, and none to a valid request either (%s): is the target up?", alive)
			return
		}
		t.Pass("no response: the request was dropped (RFC 8613 8.2 lets the server stay silent)")
	case x.verified:
		t.Fail("the target processed the request: %s", x.describe())
	case x.protected():
		t.Fail("the error response is protected; OSCORE errors are sent unprotected (RFC 8613 8.2): %s", x.describe())
	case x.resp.msg.Code != code:
		t.Fail("answered %s, want %s %q", x.describe(), codeText(code), diag)
	default:
		t.Pass("answered %s", x.describe())
	}
}

// alive sends a valid request, so that silence after a bad one can be told
// from a target that answers nothing; it returns "" when the target answered.
func (t *T) alive() string {
	cs := t.main()
	if cs == nil {
		return "no context"
	}
	x := t.do(cs, request(codes.GET, t.cfg.Resource), -1, nil)
	if x.verified {
		return ""
	}
	return x.describe()
}

// stranger is the main context with a Sender ID the target does not know:
// a client without a context there.
func (t *T) stranger() *ctxState {
	cs := t.main()
	if cs == nil {
		return nil
	}
	p := cs.pc.Params
	p.SenderID = t.otherKID(cs.oc.AEAD().MaxIDLen())
	oc, err := oscore.NewContext("unknown-kid", p)
	if err != nil {
		t.Fail("deriving a context for an unknown kid: %v", err)
		return nil
	}
	return &ctxState{pc: cs.pc, oc: oc}
}

// otherKID returns a Sender ID that no configured context uses.
func (t *T) otherKID(maxLen int) []byte {
	for n := 0; n < 256; n++ {
		kid := bytes.Repeat([]byte{byte(0xf0 + n%16)}, 1+n/16%maxLen)
		if !slices.ContainsFunc(t.env.contexts, func(cs *ctxState) bool { return bytes.Equal(cs.pc.Params.SenderID, kid) }) {
			return kid
		}
	}
	return []byte{0xde, 0xad}
}

// targetHost is the target's address split for Uri-Host and Uri-Port.
func (t *T) targetHost() (string, string) {
	h, p, err := net.SplitHostPort(t.cfg.Target)
	if err != nil {
		return t.cfg.Target, ""
	}
	return h, p
}
