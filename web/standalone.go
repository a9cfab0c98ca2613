package web

import (
	"bytes"
	"context"
	"io"
	"strings"

	"oscore-lab/internal/trace"
	"oscore-lab/static"
)

// WriteStandaloneTrace writes one HTML file that shows tr in the viewer
// (sequence diagram, inspector and the teaching tools) with nothing else
// needed: every stylesheet, the bundled ES modules and the trace are inline, so it opens
// from disk or an e-mail attachment with no server and no network. Secrets
// are redacted unless includeSecrets (trace.WriteJSON).
func WriteStandaloneTrace(ctx context.Context, w io.Writer, tr *trace.Trace, includeSecrets bool) error {
	var buf bytes.Buffer
	if err := trace.WriteJSON(&buf, tr, includeSecrets); err != nil {
		return err
	}
	// "</" cannot end the script element once written as "<\/", which JSON
	// reads back as the same two characters.
	traceJSON := strings.ReplaceAll(buf.String(), "</", `<\/`)
	js, err := static.Bundle()
	if err != nil {
		return err
	}
	css, err := allCSS()
	if err != nil {
		return err
	}
	title := tr.Scenario.Name
	if title == "" {
		title = "trace"
	}
	return StandalonePage(title, css, traceJSON, js).Render(ctx, w)
}
