// Package check is the lab's conformance suite for other OSCORE
// implementations and proxies (oscore-lab check, docs/conformance.md): a
// table of cases, one per requirement of RFC 8613, RFC 7252, RFC 7641,
// RFC 7959, RFC 8768, RFC 9175 and draft-ietf-core-oscore-capable-proxies,
// run against a target outside the process over the suite's own UDP socket.
//
// The suite builds every message itself with the oscore package and go-coap's
// codec, because a case needs exact control of the wire (a chosen Partial
// IV, a corrupted tag, a malformed OSCORE option). Every datagram it sends
// or receives, and every layer it applies or removes, is a trace event of
// the case's exchange, so a failing case carries its trace.
package check

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// Roles a target can be checked in.
const (
	RoleServer       = "server"
	RoleForwardProxy = "forward-proxy"
	RoleOSCOREProxy  = "oscore-proxy"
	RoleReverseProxy = "reverse-proxy"
)

// Roles lists the roles in the order the command's usage shows them.
var Roles = []string{RoleServer, RoleForwardProxy, RoleOSCOREProxy, RoleReverseProxy}

// Requirement levels (RFC 2119).
const (
	MUST   = "MUST"
	SHOULD = "SHOULD"
)

// Results of a case.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Node names in the trace: the suite and the target.
const (
	NodeSuite  = "check"
	NodeTarget = "target"
	NodeOrigin = "origin" // the suite's origin server behind a proxy under test
)

// Config is one run of the suite.
type Config struct {
	Target   string // host:port of the implementation under test
	Role     string
	Contexts []peerctx.Context
	Resource string // GET resource answering 2.05 (default /hello)
	Observe  string // observable resource (default /counter)
	Block    string // resource longer than one block (default /large)
	// OriginListen is where the suite's origin server listens when a proxy
	// is checked (default 127.0.0.1:0); OriginConn, when set, is used instead.
	OriginListen string
	OriginConn   *net.UDPConn
	// OriginAddr is the host:port the requests name in Uri-Host and
	// Uri-Port (default: the origin socket's address), for a proxy that
	// reaches the suite's origin through a NAT or relay.
	OriginAddr string
	Timeout    time.Duration // per response (default 2s)
	Seq        int64         // >= 0: first Sender Sequence Number of every context, overriding the files
	Only       []string      // case IDs to run; empty: all of the role
	// Progress, when set, is called after each case with its result and
	// the run's trace so far (every finished case's exchange), so a
	// caller can show the cases as they come.
	Progress func(CaseResult, *trace.Trace)
}

// CaseResult is the outcome of one case, in the shape of the JSON report.
type CaseResult struct {
	ID          string `json:"id"`
	Requirement string `json:"requirement"`
	Section     string `json:"section"`
	Level       string `json:"level"`
	Result      string `json:"result"`
	Reason      string `json:"reason"`
	Exchange    int    `json:"exchange"` // the case's exchange number in the trace
}

// Report is a whole run: what was checked and how each case went.
type Report struct {
	Target  string       `json:"target"`
	Role    string       `json:"role"`
	Started time.Time    `json:"started"`
	Elapsed string       `json:"elapsed"`
	Cases   []CaseResult `json:"cases"`
	NextSeq uint64       `json:"next_seq"` // the lowest sequence number no context has used: -seq for the next run
	Summary Summary      `json:"summary"`
	Trace   *trace.Trace `json:"-"`
}

// Summary counts the results.
type Summary struct {
	Pass       int  `json:"pass"`
	Fail       int  `json:"fail"`
	Skip       int  `json:"skip"`
	MustFailed int  `json:"must_failed"`
	OK         bool `json:"ok"` // every MUST case passed or was skipped
}

// OK reports whether no MUST case failed (exit status 0).
func (r *Report) OK() bool { return r.Summary.OK }

// CheckOnly returns an error naming the first ID of only that is no case of
// role (the command treats it as bad usage).
func CheckOnly(role string, only []string) error {
	for _, id := range only {
		if !slices.ContainsFunc(CasesFor(role), func(c *Case) bool { return c.ID == id }) {
			return fmt.Errorf("no case %q for role %s", id, role)
		}
	}
	return nil
}

// Run runs the role's cases (or the ones in cfg.Only) against cfg.Target.
// An error means the suite could not run at all (bad configuration, no
// socket); a target that misbehaves only makes cases fail.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if !slices.Contains(Roles, cfg.Role) {
		return nil, fmt.Errorf("unknown role %q (want %s)", cfg.Role, strings.Join(Roles, ", "))
	}
	if err := CheckOnly(cfg.Role, cfg.Only); err != nil {
		return nil, err
	}
	cfg.defaults()
	// go-coap must know the OSCORE option (and the other critical options
	// it lacks) before the suite decodes a datagram.
	oscore.RegisterGoCoapOptions()
	addr, err := net.ResolveUDPAddr("udp", cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", cfg.Target, err)
	}
	cl, err := newClient(addr, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	defer cl.close()
	if cfg.Role != RoleServer {
		if cl.origin = cfg.OriginConn; cl.origin == nil {
			if cl.origin, err = listenOrigin(cfg.OriginListen); err != nil {
				return nil, err
			}
		} else {
			cfg.OriginConn = nil // the caller's socket: not ours to close
			defer func() { cl.origin = nil }()
		}
	}
	env, err := newEnv(&cfg, cl)
	if err != nil {
		return nil, err
	}
	rep := &Report{Target: cfg.Target, Role: cfg.Role, Started: time.Now().UTC()}
	for _, c := range CasesFor(cfg.Role) {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, c.ID) {
			continue
		}
		if ctx.Err() != nil {
			rep.Cases = append(rep.Cases, c.result(Skip, "run cancelled: "+ctx.Err().Error(), 0))
			continue
		}
		rep.Cases = append(rep.Cases, env.run(ctx, c))
		if cfg.Progress != nil {
			cfg.Progress(rep.Cases[len(rep.Cases)-1], env.trace(rep))
		}
	}
	for _, cs := range env.contexts {
		rep.NextSeq = max(rep.NextSeq, cs.oc.SenderSeq())
	}
	rep.Elapsed = time.Since(rep.Started).Round(time.Millisecond).String()
	rep.summarise()
	rep.Trace = env.trace(rep)
	return rep, nil
}

func listenOrigin(addr string) (*net.UDPConn, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("origin address %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", a)
	if err != nil {
		return nil, fmt.Errorf("origin server socket: %w", err)
	}
	return conn, nil
}

func (cfg *Config) defaults() {
	if cfg.Resource == "" {
		cfg.Resource = "/hello"
	}
	if cfg.Observe == "" {
		cfg.Observe = "/counter"
	}
	if cfg.Block == "" {
		cfg.Block = "/large"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
}

func (r *Report) summarise() {
	s := Summary{}
	for _, c := range r.Cases {
		switch c.Result {
		case Pass:
			s.Pass++
		case Fail:
			s.Fail++
			if c.Level == MUST {
				s.MustFailed++
			}
		case Skip:
			s.Skip++
		}
	}
	s.OK = s.MustFailed == 0
	r.Summary = s
}
