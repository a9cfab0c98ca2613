package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"oscore-lab/internal/trace"
	"oscore-lab/static"
)

// IssueLimit is the most characters a GitHub issue or comment body takes;
// the text export says whether it fits.
const IssueLimit = 65536

// export answers GET /api/export.html, .txt, .mmd and .pcapng: the recorded
// run as one self-contained HTML file (viewer and trace inline, opens
// offline), as the text rendering for an issue, as a Mermaid sequence
// diagram, or as a capture for Wireshark and tshark (each datagram with
// the lab's comments, trace.WritePcapng).
// Query: include_secrets=1 (HTML only; secrets are redacted by default,
// docs/trace-format.md), exchange=N (only that exchange, to keep it short).
func (s *server) export(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	secrets, ok := includeSecrets(w, r)
	if !ok {
		return
	}
	tr := s.currentTrace()
	if v := q.Get("exchange"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, http.StatusBadRequest, "web: exchange must be a positive number, not %q", v)
			return
		}
		tr = OnlyExchange(tr, n)
		if len(tr.Events) == 0 {
			writeError(w, http.StatusNotFound, "web: no event of exchange %d in the trace", n)
			return
		}
	}
	name := safeFileName(tr.Scenario.Name)
	var (
		buf         bytes.Buffer
		err         error
		contentType string
		ext         = chi.URLParam(r, "ext")
	)
	switch ext {
	case "html":
		contentType = "text/html; charset=utf-8"
		err = WriteExportHTML(r.Context(), &buf, tr, secrets)
	case "txt":
		contentType = "text/plain; charset=utf-8"
		if err = trace.WriteText(&buf, tr); err == nil {
			note := SizeNote(buf.Len(), datagrams(tr))
			w.Header().Set("X-Size-Note", note)
			fmt.Fprintf(&buf, "\n-- %s\n", note)
		}
	case "mmd":
		contentType = "text/plain; charset=utf-8"
		err = trace.WriteMermaid(&buf, tr)
	case "pcapng":
		contentType = "application/x-pcapng"
		err = trace.WritePcapng(&buf, tr)
	default:
		writeError(w, http.StatusNotFound, "web: no export format %q (html, txt, mmd, pcapng)", ext)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "web: export %s: %v", ext, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="`+name+`-trace.`+ext+`"`)
	w.Write(buf.Bytes())
}

// wiresharkContexts answers GET /api/oscore_contexts: Wireshark's
// oscore_contexts file for the running lab's contexts, one row per context
// Wireshark can use (trace.WriteWiresharkContexts), to put in a profile
// directory beside a capture from /api/export.pcapng. Master secrets are
// withheld unless include_secrets=1 (the RFC 8613 demo secret always
// counts); the X-Not-Listed header counts the contexts left out, whose
// reasons are comments in the file.
func (s *server) wiresharkContexts(w http.ResponseWriter, r *http.Request) {
	secrets, ok := includeSecrets(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	skipped, err := trace.WriteWiresharkContexts(&buf, s.currentTrace(), secrets)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "web: %v", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="oscore_contexts"`)
	h.Set("X-Not-Listed", strconv.Itoa(len(skipped)))
	w.Write(buf.Bytes())
}

// currentTrace is the recorded run as a trace file, as GET /api/trace gives it.
func (s *server) currentTrace() *trace.Trace {
	var tr *trace.Trace
	if t, ok := s.lab.(tracer); ok {
		tr = t.Trace()
	} else {
		tr = s.buildTrace()
	}
	if tr.Creator == "" {
		tr.Creator = "oscore-lab " + s.opts.Version
	}
	return tr
}

// OnlyExchange returns a copy of tr holding the events of exchange n only.
func OnlyExchange(tr *trace.Trace, n int) *trace.Trace {
	cp := *tr
	cp.Events = nil
	for _, ev := range tr.Events {
		if ev.Exchange == n {
			cp.Events = append(cp.Events, ev)
		}
	}
	return &cp
}

func datagrams(tr *trace.Trace) int {
	n := 0
	for _, ev := range tr.Events {
		if ev.Type == trace.TypeDatagram {
			n++
		}
	}
	return n
}

// SizeNote says how big a text export is and whether it fits an issue.
func SizeNote(size, datagrams int) string {
	if size+200 <= IssueLimit {
		return fmt.Sprintf("%d datagrams, %d bytes: fits a GitHub issue or comment (up to %d characters) inside a ```text block", datagrams, size, IssueLimit)
	}
	return fmt.Sprintf("%d datagrams, %d bytes: too long for a GitHub issue or comment (%d characters); export one exchange (?exchange=N) or attach the HTML export", datagrams, size, IssueLimit)
}

// WriteExportHTML writes the bug-report file: the viewer (every ES module
// reachable from js/app.js, bundled by static.Bundle, so the teaching tools
// come along), every stylesheet and the trace JSON, all inline. It opens
// from disk (file://) with no server and no network. Secrets are redacted
// unless includeSecrets.
func WriteExportHTML(ctx context.Context, w io.Writer, tr *trace.Trace, includeSecrets bool) error {
	return WriteStandaloneTrace(ctx, w, tr, includeSecrets)
}

// allCSS joins the embedded stylesheets, lab.css first, as the page links them.
func allCSS() (string, error) {
	names, err := fs.Glob(static.FS, "*.css")
	if err != nil {
		return "", err
	}
	sort.SliceStable(names, func(i, j int) bool { return names[i] == "lab.css" && names[j] != "lab.css" })
	var b strings.Builder
	for _, n := range names {
		css, err := static.FS.ReadFile(n)
		if err != nil {
			return "", err
		}
		if bytes.Contains(bytes.ToLower(css), []byte("</style")) {
			return "", errors.New("web: " + n + " contains \"</style\"")
		}
		fmt.Fprintf(&b, "/* %s */\n%s\n", n, css)
	}
	return b.String(), nil
}
