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
// (sequence diagram, inspector and the teaching tools) with nothing else
// needed: every stylesheet, the bundled ES modules and the trace are inline, so it opens
// from disk or an e-mail attachment with no server and no network. Secrets
// are redacted unless includeSecrets (trace.WriteJSON).
func WriteStandaloneTrace(ctx context.Context, w io.Writer, tr *trace.Trace, includeSecrets bool) error {
	css, traceJSON, js, err := standaloneParts(tr, includeSecrets)
	if err != nil {
		return err
	}
	return StandalonePage(traceTitle(tr), css, traceJSON, js).Render(ctx, w)
}

// WriteCheckReport writes the conformance suite's HTML report: report (an
// HTML fragment whose case links read #msg=SEQ) above the viewer of tr,
// all in one self-contained file like WriteStandaloneTrace. Secrets are
// redacted. report must not contain "</section".
func WriteCheckReport(ctx context.Context, w io.Writer, tr *trace.Trace, report string) error {
	if strings.Contains(strings.ToLower(report), "</section") {
		return errors.New("web: a check report fragment cannot contain </section")
	}
	css, traceJSON, js, err := standaloneParts(tr, false)
	if err != nil {
		return err
	}
	return CheckReportPage(traceTitle(tr), css, traceJSON, js, report).Render(ctx, w)
}

// standaloneParts are the inline pieces of a self-contained viewer page.
func standaloneParts(tr *trace.Trace, includeSecrets bool) (css, traceJSON, js string, err error) {
	var buf bytes.Buffer
	if err := trace.WriteJSON(&buf, tr, includeSecrets); err != nil {
		return "", "", "", err
	}
	// "</" cannot end the script element once written as "<\/", which JSON
	// reads back as the same two characters.
	traceJSON = strings.ReplaceAll(buf.String(), "</", `<\/`)
	if js, err = static.Bundle(); err != nil {
		return "", "", "", err
	}
	if css, err = allCSS(); err != nil {
		return "", "", "", err
	}
	return css, traceJSON, js, nil
}

func traceTitle(tr *trace.Trace) string {
	if tr.Scenario.Name == "" {
		return "trace"
	}
	return tr.Scenario.Name
}
