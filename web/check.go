package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"

	"oscore-lab/internal/check"
	"oscore-lab/internal/nodes"
	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// checkRuns holds the page's conformance run: one at a time, and only the
// latest one is kept, so memory stays bounded however often the page runs.
type checkRuns struct {
	mu     sync.Mutex
	nextID int
	cur    *checkRun
}

// checkRun is one run of the suite started from the page; its fields are
// guarded by checkRuns.mu.
type checkRun struct {
	ID      string             `json:"id"`
	Target  string             `json:"target"`
	Role    string             `json:"role"`
	State   string             `json:"state"` // running, done or failed
	Error   string             `json:"error,omitempty"`
	Total   int                `json:"total"` // cases the run will have
	Cases   []check.CaseResult `json:"cases"`
	Summary *check.Summary     `json:"summary,omitempty"`
	Elapsed string             `json:"elapsed,omitempty"`
	trace   *trace.Trace
}

const (
	checkRunning = "running"
	checkDone    = "done"
	checkFailed  = "failed"
)

type checkRequest struct {
	Target string   `json:"target"` // udp://host:port or host:port
	Role   string   `json:"role"`
	Only   []string `json:"only,omitempty"`
}

// startCheck runs the conformance suite against a target the page names
// (POST /api/check): it answers 202 at once and the page polls the run.
func (s *server) startCheck(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, 16<<10)
	if !ok {
		return
	}
	var req checkRequest
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if !slices.Contains(check.Roles, req.Role) {
		writeError(w, http.StatusBadRequest, "web: check role %q: want one of %s", req.Role, strings.Join(check.Roles, ", "))
		return
	}
	if err := check.CheckOnly(req.Role, req.Only); err != nil {
		writeError(w, http.StatusBadRequest, "web: %v", err)
		return
	}
	target, err := checkTarget(req.Target, s.opts.Expose)
	if err != nil {
		writeError(w, http.StatusForbidden, "%v", err)
		return
	}
	sc, node, cs := s.checkContexts(target)
	total := len(check.CasesFor(req.Role))
	if len(req.Only) > 0 {
		total = len(req.Only)
	}

	s.checks.mu.Lock()
	if c := s.checks.cur; c != nil && c.State == checkRunning {
		s.checks.mu.Unlock()
		writeError(w, http.StatusConflict, "web: check %s is still running (one run at a time)", c.ID)
		return
	}
	s.checks.nextID++
	run := &checkRun{ID: strconv.Itoa(s.checks.nextID), Target: "udp://" + target, Role: req.Role, State: checkRunning, Total: total, Cases: []check.CaseResult{}}
	s.checks.cur = run
	reply := run.snapshot()
	s.checks.mu.Unlock()

	cfg := check.Config{Target: target, Role: req.Role, Only: req.Only, Contexts: cs, Seq: -1,
		Progress: func(c check.CaseResult, tr *trace.Trace) {
			s.checks.mu.Lock()
			run.Cases = append(run.Cases, c)
			run.trace = tr
			s.checks.mu.Unlock()
		}}
	go s.runCheck(run, cfg, sc, node)
	writeJSON(w, http.StatusAccepted, reply)
}

// runCheck runs the suite within the check timeout, then moves the lab's
// own senders of the contexts it borrowed past every number the suite
// used, so the lab's next requests are neither replays at the target nor
// a reuse of a nonce (RFC 8613 7.2.1, 7.4).
func (s *server) runCheck(run *checkRun, cfg check.Config, sc *scenario.Scenario, node string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.CheckTimeout)
	defer cancel()
	rep, err := check.Run(ctx, cfg)
	if err == nil && rep.NextSeq > 0 && sc != nil {
		err = s.advanceSenders(sc, node, cfg.Contexts, rep.NextSeq)
	}
	s.checks.mu.Lock()
	defer s.checks.mu.Unlock()
	if rep != nil {
		run.Cases, run.trace, run.Elapsed = rep.Cases, rep.Trace, rep.Elapsed
		sum := rep.Summary
		run.Summary = &sum
	}
	run.State = checkDone
	if err != nil {
		run.State, run.Error = checkFailed, err.Error()
	}
}

// snapshot copies the run for an answer; the caller holds checkRuns.mu.
func (c *checkRun) snapshot() checkRun {
	out := *c
	out.Cases = slices.Clone(c.Cases)
	return out
}

// run returns the run with that id (only the latest is kept).
func (s *server) checkRunByID(w http.ResponseWriter, r *http.Request) (checkRun, bool) {
	s.checks.mu.Lock()
	defer s.checks.mu.Unlock()
	c := s.checks.cur
	if c == nil || c.ID != chi.URLParam(r, "id") {
		writeError(w, http.StatusNotFound, "web: no check %q (only the latest run is kept)", chi.URLParam(r, "id"))
		return checkRun{}, false
	}
	return c.snapshot(), true
}

// getCheck answers GET /api/check/{id}: the run's state and its cases so far.
func (s *server) getCheck(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.checkRunByID(w, r); ok {
		writeJSON(w, http.StatusOK, c)
	}
}

// checkTrace answers GET /api/check/{id}/trace: the run's trace so far, a
// version 1 trace file whose exchange N is case N, secrets redacted.
func (s *server) checkTrace(w http.ResponseWriter, r *http.Request) {
	c, ok := s.checkRunByID(w, r)
	if !ok {
		return
	}
	if c.trace == nil {
		writeError(w, http.StatusNotFound, "web: check %s has no finished case yet", c.ID)
		return
	}
	var b bytes.Buffer
	if err := trace.WriteJSON(&b, c.trace, false); err != nil {
		writeError(w, http.StatusInternalServerError, "web: check trace: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

// errCheckTarget is a target the lab refuses to check.
var errCheckTarget = errors.New("web: check target")

// checkTarget validates the page's target ("udp://host:port" or
// "host:port") and returns host:port. Without -expose only loopback
// addresses are accepted: the lab answers any page on this machine, and
// must not become a scanner of other hosts.
func checkTarget(raw string, expose bool) (string, error) {
	t := strings.TrimPrefix(strings.TrimSpace(raw), "udp://")
	host, port, err := net.SplitHostPort(t)
	if err != nil {
		return "", fmt.Errorf("%w %q: want udp://HOST:PORT", errCheckTarget, raw)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%w %q: port %q is no UDP port", errCheckTarget, raw, port)
	}
	if expose {
		if _, err := net.ResolveUDPAddr("udp", t); err != nil {
			return "", fmt.Errorf("%w %q: %v", errCheckTarget, raw, err)
		}
		return t, nil
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%w %q: only loopback addresses can be checked unless the lab was started with serve -expose", errCheckTarget, raw)
	}
	return net.JoinHostPort(host, port), nil
}

// checkContexts finds the lab node listening on target and returns the
// scenario with, from the other endpoint's side, every context that node
// shares with another lab node: the suite borrows that endpoint's keys
// and its next sequence number. A target outside the lab gets none.
func (s *server) checkContexts(target string) (*scenario.Scenario, string, []peerctx.Context) {
	sc, _ := s.current()
	id := ""
	for _, n := range s.lab.Nodes() {
		if n.Addr == target {
			id = n.ID
		}
	}
	if id == "" || sc == nil {
		return nil, "", nil
	}
	seqs := senderSeqs(s.lab.State())
	var out []peerctx.Context
	for _, c := range sc.Contexts {
		me, them := c.A, c.B
		if c.B.Node == id {
			me, them = c.B, c.A
		}
		if me.Node != id || them.Node == id || c.MasterSecret == "" {
			continue
		}
		pc, err := suiteContext(c, them)
		if err != nil {
			continue // the lab refused it as well: it is not running
		}
		pc.SenderSeq = seqs[[2]string{c.Name, them.Node}]
		out = append(out, pc)
	}
	return sc, id, out
}

// suiteContext is scenario context c seen from endpoint e.
func suiteContext(c scenario.Context, e scenario.Endpoint) (peerctx.Context, error) {
	secret := c.MasterSecret
	if e.MasterSecret != "" {
		secret = e.MasterSecret
	}
	var p oscore.Params
	var err error
	dec := func(s string) []byte {
		b, e := hex.DecodeString(s)
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	p.MasterSecret, p.MasterSalt = dec(secret), dec(c.MasterSalt)
	p.SenderID, p.RecipientID = append([]byte{}, dec(e.SenderID)...), append([]byte{}, dec(e.RecipientID)...)
	if c.IDContext != nil {
		p.IDContext = dec(*c.IDContext)
	}
	if c.Alg != "" && err == nil {
		p.AEAD, err = oscore.ParseAEADAlg(c.Alg)
	}
	if c.HKDF != "" && err == nil {
		p.HKDF, err = oscore.ParseHKDFAlg(c.HKDF)
	}
	p.ReplayWindow = c.ReplayWindow
	return peerctx.Context{Name: c.Name, Peer: peerctx.PeerTarget, Params: p, SendKIDContext: c.SendIDContext}, err
}

// advanceSenders pins the lab's senders of the borrowed contexts (every
// endpoint but the target node's) at next, or their own next number if
// higher, with a live edit.
func (s *server) advanceSenders(sc *scenario.Scenario, target string, borrowed []peerctx.Context, next uint64) error {
	s.editMu.Lock()
	defer s.editMu.Unlock()
	cur := s.lab.Scenario()
	if !sameTopology(cur, sc) {
		return nil // edited meanwhile: the edit decided the numbers
	}
	seqs := senderSeqs(s.lab.State())
	for i, c := range cur.Contexts {
		if !slices.ContainsFunc(borrowed, func(b peerctx.Context) bool { return b.Name == c.Name }) {
			continue
		}
		m := maps.Clone(c.Seq)
		if m == nil {
			m = map[string]uint64{}
		}
		for _, node := range [...]string{c.A.Node, c.B.Node} {
			if node != target {
				m[node] = max(next, seqs[[2]string{c.Name, node}])
			}
		}
		cur.Contexts[i].Seq = m
	}
	if err := s.lab.Apply(cur); err != nil {
		return fmt.Errorf("web: moving the lab's senders past the check's numbers: %w", err)
	}
	s.rev++
	s.broadcast(wsMessage{Kind: kindScenario, Scenario: s.lab.Scenario(), Rev: s.rev, Epoch: s.epoch})
	return nil
}

// senderSeqs maps (context, node) to the node's next sender sequence number.
func senderSeqs(st nodes.LabState) map[[2]string]uint64 {
	seqs := map[[2]string]uint64{}
	for _, ns := range st.Nodes {
		for _, c := range ns.Contexts {
			seqs[[2]string{c.Name, ns.ID}] = c.SenderSeq
		}
	}
	return seqs
}

// sameTopology reports whether the two scenarios name the same contexts
// with the same endpoints (a check run's snapshot against the lab now).
func sameTopology(a, b *scenario.Scenario) bool {
	if a.Name != b.Name || len(a.Contexts) != len(b.Contexts) {
		return false
	}
	for i := range a.Contexts {
		x, y := a.Contexts[i], b.Contexts[i]
		if x.Name != y.Name || x.A != y.A || x.B != y.B || x.MasterSecret != y.MasterSecret {
			return false
		}
	}
	return true
}
