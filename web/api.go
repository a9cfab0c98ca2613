package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"oscore-lab/internal/scenario"
)

// scenarioSummary is one row of GET /api/scenarios.
type scenarioSummary struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Section     string `json:"section,omitempty"`
	Explanation string `json:"explanation,omitempty"`
}

func builtinSummaries() []scenarioSummary {
	list := scenario.List()
	out := make([]scenarioSummary, 0, len(list))
	for _, s := range list {
		out = append(out, scenarioSummary{Name: s.Name, Title: s.Title, Section: s.Section, Explanation: s.Explanation})
	}
	return out
}

func (s *server) scenarios(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, builtinSummaries())
}

// scenarioReply answers load and apply with the scenario now running.
type scenarioReply struct {
	Error    string             `json:"error,omitempty"` // 412 only: why the change was refused
	Scenario *scenario.Scenario `json:"scenario"`
	Rev      uint64             `json:"rev"`   // configuration revision (see wsMessage.Rev)
	Epoch    string             `json:"epoch"` // server epoch (see wsMessage.Epoch)
}

// load replaces the topology with a built-in ({"builtin": "draft-b3"} or
// ?builtin=draft-b3) or with a scenario file sent as the body.
func (s *server) load(w http.ResponseWriter, r *http.Request) {
	var sc *scenario.Scenario
	name := r.URL.Query().Get("builtin")
	if name == "" {
		data, ok := readBody(w, r, s.opts.MaxBody)
		if !ok {
			return
		}
		var ref struct {
			Builtin string `json:"builtin"`
		}
		if decodeStrict(data, &ref) == nil {
			if ref.Builtin == "" {
				writeError(w, http.StatusBadRequest, "web: builtin: give a scenario name")
				return
			}
			name = ref.Builtin
		} else {
			parsed, err := scenario.Parse(data)
			if err != nil {
				writeError(w, http.StatusBadRequest, "%v", err)
				return
			}
			sc = parsed
		}
	}
	if sc == nil {
		b, ok := scenario.Builtin(name)
		if !ok {
			writeError(w, http.StatusNotFound, "web: no built-in scenario %q (GET /api/scenarios lists them)", name)
			return
		}
		sc = b
	}
	cur, rev, err := s.change(r, func() error { return s.lab.Load(sc) })
	if err != nil {
		s.changeError(w, http.StatusUnprocessableEntity, err)
		return
	}
	s.writeScenario(w, cur, rev)
}

// getScenario answers the running scenario; its ETag is the configuration
// version (epoch and revision) that If-Match names.
func (s *server) getScenario(w http.ResponseWriter, r *http.Request) {
	cur, rev := s.current()
	w.Header().Set("ETag", s.etag(rev))
	writeJSON(w, http.StatusOK, cur)
}

// putScenario applies an edited configuration to the running nodes.
func (s *server) putScenario(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, s.opts.MaxBody)
	if !ok {
		return
	}
	sc, err := scenario.Parse(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	cur, rev, err := s.change(r, func() error { return s.lab.Apply(sc) })
	if err != nil {
		s.changeError(w, http.StatusUnprocessableEntity, err)
		return
	}
	s.writeScenario(w, cur, rev)
}

// send runs one request as a scenario step describes it.
func (s *server) send(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, 64<<10)
	if !ok {
		return
	}
	var step scenario.Step
	if err := decodeStrict(data, &step); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if step.From == "" || step.Method == "" || step.URI == "" {
		writeError(w, http.StatusBadRequest, "web: a step needs from, method and uri")
		return
	}
	// The same check as a scenario file's steps get, with the same
	// messages: the field and the fix.
	if err := s.lab.Scenario().ValidateStep(&step); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.SendTimeout)
	defer cancel()
	start := time.Now()
	res, err := s.lab.Send(ctx, step)
	if err != nil {
		// The send's deadline passed (however deep the error that says so
		// was wrapped, and whether or not with %w): a timeout, 504.
		// A library that formats with %v leaves only the text.
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
			writeError(w, http.StatusGatewayTimeout, "%s", timeoutMessage(err, time.Since(start)))
			return
		}
		writeError(w, http.StatusBadRequest, "%s", collapseRepeats(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// multicast runs the scenario's group observation
// (multicast_notifications): registrations, informative responses, the
// notifications sent once to the group and relayed, each client's checks.
func (s *server) multicast(w http.ResponseWriter, r *http.Request) {
	if s.lab.Scenario().MulticastNotifications == nil {
		writeError(w, http.StatusConflict, "web: the scenario has no multicast_notifications")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.SendTimeout)
	defer cancel()
	res, err := s.lab.RunMulticast(ctx)
	if err != nil {
		writeError(w, http.StatusConflict, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *server) state(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.lab.State())
}

func (s *server) nodesInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.lab.Nodes())
}

// faults replaces the standing faults of link {id} ("C-P"); the body is a
// JSON array of scenario faults. The change goes through the scenario, so
// the editor, a saved file and the running link all agree.
func (s *server) faults(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, 64<<10)
	if !ok {
		return
	}
	var fs []scenario.Fault
	if err := decodeStrict(data, &fs); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if fs == nil {
		fs = []scenario.Fault{}
	}
	var notFound bool
	cur, rev, err := s.change(r, func() error {
		sc := s.lab.Scenario()
		a, b, found := splitLinkID(sc, chi.URLParam(r, "id"))
		if !found {
			notFound = true
			return fmt.Errorf("web: no link %q: want two node ids joined by \"-\", e.g. C-P", chi.URLParam(r, "id"))
		}
		return s.lab.Apply(withFaults(sc, a, b, fs))
	})
	switch {
	case notFound:
		writeError(w, http.StatusNotFound, "%v", err)
	case err != nil:
		s.changeError(w, http.StatusBadRequest, err)
	default:
		s.writeScenario(w, cur, rev)
	}
}

// withFaults sets the standing faults of link a-b in sc.
func withFaults(sc *scenario.Scenario, a, b string, fs []scenario.Fault) *scenario.Scenario {
	placed := false
	for i := range sc.Links {
		l := &sc.Links[i]
		if (l.A == a && l.B == b) || (l.A == b && l.B == a) {
			l.Faults = fs
			placed = true
		}
	}
	if !placed {
		sc.Links = append(sc.Links, scenario.Link{A: a, B: b, Faults: fs})
	}
	return sc
}

// errStale refuses a change whose If-Match names a configuration that is
// no longer running.
var errStale = errors.New("web: the lab's configuration changed since this edit began (the server restarted or another page changed it); the page now shows the running one, redo the edit there")

// change runs one configuration change (load, apply, faults) under the edit
// lock, bumps the revision and tells every WebSocket. The revision lets
// the page ignore an announcement older than what it already shows. A
// request with If-Match (RFC 9110 13.1.1) changes only the version it
// names, so a page that has not yet heard of a restart or of another
// page's edit cannot write its older scenario over the running one.
func (s *server) change(r *http.Request, f func() error) (*scenario.Scenario, uint64, error) {
	s.editMu.Lock()
	defer s.editMu.Unlock()
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != s.etag(s.rev) {
		return nil, 0, errStale
	}
	if err := f(); err != nil {
		return nil, 0, err
	}
	s.rev++
	cur := s.lab.Scenario()
	s.broadcast(wsMessage{Kind: kindScenario, Scenario: cur, Rev: s.rev, Epoch: s.epoch})
	return cur, s.rev, nil
}

// etag is the configuration version rev of this epoch as an entity tag.
func (s *server) etag(rev uint64) string {
	return `"` + s.epoch + "." + strconv.FormatUint(rev, 10) + `"`
}

// writeScenario answers a change with the scenario now running.
func (s *server) writeScenario(w http.ResponseWriter, cur *scenario.Scenario, rev uint64) {
	w.Header().Set("ETag", s.etag(rev))
	writeJSON(w, http.StatusOK, scenarioReply{Scenario: cur, Rev: rev, Epoch: s.epoch})
}

// changeError answers a refused change: 412 with the running scenario
// when If-Match named an older version, else code and the error.
func (s *server) changeError(w http.ResponseWriter, code int, err error) {
	if errors.Is(err, errStale) {
		cur, rev := s.current()
		w.Header().Set("ETag", s.etag(rev))
		writeJSON(w, http.StatusPreconditionFailed, scenarioReply{Error: err.Error(), Scenario: cur, Rev: rev, Epoch: s.epoch})
		return
	}
	writeError(w, code, "%v", err)
}

// current returns the scenario and its revision.
func (s *server) current() (*scenario.Scenario, uint64) {
	s.editMu.Lock()
	defer s.editMu.Unlock()
	return s.lab.Scenario(), s.rev
}

// splitLinkID finds the two node ids of a link id "A-B"; node ids may
// themselves contain '-', so every split point is tried.
func splitLinkID(sc *scenario.Scenario, id string) (a, b string, ok bool) {
	known := map[string]bool{}
	for _, n := range sc.Nodes {
		known[n.ID] = true
	}
	for i := strings.IndexByte(id, '-'); i >= 0; {
		x, y := id[:i], id[i+1:]
		if known[x] && known[y] && x != y {
			return x, y, true
		}
		j := strings.IndexByte(id[i+1:], '-')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return "", "", false
}

// timeoutMessage says that a send timed out, once, and on which leg when
// the error names it ("nodes: C -> P: ...").
func timeoutMessage(err error, after time.Duration) string {
	msg := "web: timed out: no response within " + after.Round(100*time.Millisecond).String()
	if leg, _, ok := strings.Cut(strings.TrimPrefix(err.Error(), "nodes: "), ": "); ok && strings.Contains(leg, " -> ") {
		msg += " (" + leg + ")"
	}
	return msg
}

// collapseRepeats drops a part of an error chain that repeats the part
// before it ("cannot write request: cannot write request: x" becomes
// "cannot write request: x"): a library that wraps the same error twice.
func collapseRepeats(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:0]
	for _, p := range parts {
		if len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}
