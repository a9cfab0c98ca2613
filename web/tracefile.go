package web

import (
	"encoding/hex"
	"net/http"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/static"
)

// tracer is implemented by labs that assemble their own trace file; the
// server falls back to building one from the scenario and the bus.
type tracer interface {
	Trace() *trace.Trace
}

// trace answers the recorded run as trace JSON v1 (docs/trace-format.md),
// secrets redacted to fingerprints unless ?include_secrets=1.
func (s *server) trace(w http.ResponseWriter, r *http.Request) {
	secrets, ok := includeSecrets(w, r)
	if !ok {
		return
	}
	tr := s.currentTrace()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	name := tr.Scenario.Name
	if name == "" {
		name = "trace"
	}
	if r.URL.Query().Get("download") == "1" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(name)+`-trace.json"`)
	}
	if err := trace.WriteJSON(w, tr, secrets); err != nil {
		s.opts.Logger.Warn("web: writing trace", "err", err)
	}
}

// buildTrace assembles a trace from the running scenario and the ring.
func (s *server) buildTrace() *trace.Trace {
	sc := s.lab.Scenario()
	if sc == nil {
		sc = &scenario.Scenario{}
	}
	tr := &trace.Trace{
		Format:   trace.FormatName,
		Version:  trace.FormatVersion,
		Scenario: trace.ScenarioInfo{Name: sc.Name, Title: sc.Title, Section: sc.Section, Explanation: sc.Explanation},
		Events:   s.bus.Recent(),
	}
	for _, n := range s.lab.Nodes() {
		tr.Nodes = append(tr.Nodes, trace.NodeInfo{ID: n.ID, Role: n.Role, Addr: n.Addr})
	}
	for _, c := range sc.Contexts {
		tr.Contexts = append(tr.Contexts, contextInfo(c))
	}
	return tr
}

func contextInfo(c scenario.Context) trace.ContextInfo {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil
		}
		return b
	}
	p := oscore.Params{MasterSecret: unhex(c.MasterSecret), MasterSalt: unhex(c.MasterSalt)}
	if c.IDContext != nil {
		p.IDContext = append([]byte{}, unhex(*c.IDContext)...)
	}
	if c.Alg != "" {
		if a, err := oscore.ParseAEADAlg(c.Alg); err == nil {
			p.AEAD = a
		}
	}
	if c.HKDF != "" {
		if h, err := oscore.ParseHKDFAlg(c.HKDF); err == nil {
			p.HKDF = h
		}
	}
	ep := func(e scenario.Endpoint) trace.Endpoint {
		return trace.Endpoint{Node: e.Node, SenderID: unhex(e.SenderID), RecipientID: unhex(e.RecipientID)}
	}
	return trace.NewContextInfo(c.Name, p, ep(c.A), ep(c.B))
}

func safeFileName(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "trace"
	}
	return string(out)
}

// ViewTrace returns a handler that shows tr in the viewer (sequence diagram
// and inspector) with no API and no WebSocket; mount it next to the static
// assets (for example at /view) to browse a trace file.
func ViewTrace(tr *trace.Trace) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		title := tr.Scenario.Name
		if title == "" {
			title = "trace"
		}
		TracePage(title, tr).Render(r.Context(), w)
	})
}

// StaticHandler serves the embedded assets; mount it at /static/.
func StaticHandler() http.Handler {
	return http.StripPrefix("/static/", staticHandler(http.FileServerFS(static.FS)))
}

// includeSecrets reads ?include_secrets (1/true or 0/false, default false);
// on a bad value it answers 400 and reports false for ok.
func includeSecrets(w http.ResponseWriter, r *http.Request) (secrets, ok bool) {
	switch v := r.URL.Query().Get("include_secrets"); v {
	case "", "0", "false":
		return false, true
	case "1", "true":
		return true, true
	default:
		writeError(w, http.StatusBadRequest, "web: include_secrets must be 1 or 0, not %q", v)
		return false, false
	}
}
