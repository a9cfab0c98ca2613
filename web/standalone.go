package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"

	"oscore-lab/internal/trace"
	"oscore-lab/static"
)

// WriteStandaloneTrace writes one HTML file that shows tr in the viewer
// (sequence diagram and inspector) with nothing else needed: the
// stylesheet, the bundled ES modules and the trace are inline, so it opens
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
	css, err := static.FS.ReadFile("lab.css")
	if err != nil {
		return err
	}
	if bytes.Contains(bytes.ToLower(css), []byte("</style")) {
		return errors.New("web: lab.css contains \"</style\"")
	}
	title := tr.Scenario.Name
	if title == "" {
		title = "trace"
	}
	return StandalonePage(title, string(css), traceJSON, js).Render(ctx, w)
}
