package check

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strings"

	"oscore-lab/internal/trace"
)

// Formats of a report.
var Formats = []string{"text", "json", "junit", "html"}

// Write renders r in format.
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "text":
		return WriteText(w, r)
	case "json":
		return WriteJSON(w, r)
	case "junit":
		return WriteJUnit(w, r)
	case "html":
		return WriteHTML(w, r)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// WriteText writes one line per case (ID, level, result, requirement with
// its section, reason) and a summary line.
func WriteText(w io.Writer, r *Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "oscore-lab check -role %s -target %s\n", r.Role, r.Target)
	for _, c := range r.Cases {
		fmt.Fprintf(&b, "%-4s %-6s %-30s %s (%s): %s\n", c.Result, c.Level, c.ID, c.Requirement, c.Section, c.Reason)
	}
	s := r.Summary
	verdict := "OK: every MUST case passed or was skipped"
	if !s.OK {
		verdict = fmt.Sprintf("FAILED: %d MUST case(s) failed", s.MustFailed)
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped in %s; %s\n", s.Pass, s.Fail, s.Skip, r.Elapsed, verdict)
	fmt.Fprintf(&b, "the target has seen sequence numbers up to %d: run again with -seq %d\n", max(r.NextSeq, 1)-1, r.NextSeq)
	_, err := w.Write(b.Bytes())
	return err
}

// caseTrace returns the trace of case c only (its exchange's events).
func caseTrace(r *Report, c CaseResult) *trace.Trace {
	if r.Trace == nil {
		return nil
	}
	t := *r.Trace
	t.Events = nil
	for _, e := range r.Trace.Events {
		if e.Exchange == c.Exchange {
			t.Events = append(t.Events, e)
		}
	}
	return &t
}

// traceText renders the case's trace in the lab's text form, the layers
// of each datagram nested in braces.
func traceText(r *Report, c CaseResult) string {
	t := caseTrace(r, c)
	if t == nil {
		return ""
	}
	var b bytes.Buffer
	if err := trace.WriteText(&b, t); err != nil {
		return "trace: " + err.Error()
	}
	return b.String()
}

// WriteJSON writes {"target", "role", "started", "elapsed", "cases":
// [{"id", "requirement", "section", "level", "result", "reason",
// "exchange"}...], "summary", "trace"}: the trace is a version 1 trace file
// (docs/trace-format.md, secrets redacted) whose exchange N is case N.
func WriteJSON(w io.Writer, r *Report) error {
	type out struct {
		*Report
		Trace json.RawMessage `json:"trace,omitempty"`
	}
	o := out{Report: r}
	if r.Trace != nil {
		var b bytes.Buffer
		if err := trace.WriteJSON(&b, r.Trace, false); err != nil {
			return err
		}
		o.Trace = b.Bytes()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(o)
}

// JUnit XML, as CI systems read it (one testsuite, one testcase per case;
// a failing case has a failure with its reason and its trace as text).
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the report as JUnit XML. SHOULD cases that fail are
// failures too (type "SHOULD"), so CI shows them; the exit status still
// counts only MUST cases.
func WriteJUnit(w io.Writer, r *Report) error {
	s := junitSuite{Name: "oscore-lab check " + r.Role + " " + r.Target, Tests: len(r.Cases),
		Failures: r.Summary.Fail, Skipped: r.Summary.Skip, Time: "0"}
	if d, err := parseSeconds(r.Elapsed); err == nil {
		s.Time = d
	}
	for _, c := range r.Cases {
		jc := junitCase{Name: c.ID + ": " + c.Requirement + " (" + c.Section + ", " + c.Level + ")",
			Classname: "oscore-lab.check." + r.Role}
		switch c.Result {
		case Fail:
			jc.Failure = &junitMessage{Message: c.Reason, Type: c.Level, Text: traceText(r, c)}
		case Skip:
			jc.Skipped = &junitMessage{Message: c.Reason}
		default:
			jc.SystemOut = c.Reason
		}
		s.Cases = append(s.Cases, jc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func parseSeconds(d string) (string, error) {
	var v float64
	var unit string
	if _, err := fmt.Sscanf(d, "%f%s", &v, &unit); err != nil {
		return "", err
	}
	switch unit {
	case "ms":
		v /= 1000
	case "µs", "us":
		v /= 1e6
	case "s":
	default:
		return "", fmt.Errorf("unit %q", unit)
	}
	return fmt.Sprintf("%.3f", v), nil
}

// htmlFragment is the report as HTML: the summary, the case table and each
// case's trace in the lab's text rendering (failing cases open). With a
// viewer on the page, each case links to its first datagram (#msg=SEQ).
var htmlFragment = template.Must(template.New("fragment").Parse(`<div class="check">
<style>
.check{font:15px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}
.check table{border-collapse:collapse;width:100%}
.check td,.check th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
.check .pass{color:#176b2c}.check .fail{color:#b00020;font-weight:bold}.check .skip{color:#777}
.check pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:13px}
.check summary{cursor:pointer}
</style>
<h1>oscore-lab check: {{.R.Role}} at {{.R.Target}}</h1>
<p data-testid="check-summary">{{.R.Summary.Pass}} passed, {{.R.Summary.Fail}} failed, {{.R.Summary.Skip}} skipped in {{.R.Elapsed}};
{{if .R.Summary.OK}}every MUST case passed or was skipped{{else}}{{.R.Summary.MustFailed}} MUST case(s) failed{{end}}.
Started {{.R.Started.Format "2006-01-02 15:04:05 UTC"}}.{{if .Viewer}} A case's name opens its first message in the sequence diagram and the inspector below.{{end}}</p>
<table><thead><tr><th>Result</th><th>Level</th><th>Case</th><th>Requirement</th><th>Section</th><th>Reason</th></tr></thead><tbody>
{{range .Cases}}<tr id="{{.C.ID}}" data-testid="check-case" data-result="{{.C.Result}}"><td class="{{.C.Result}}">{{.C.Result}}</td><td>{{.C.Level}}</td>
<td>{{if .Link}}<a href="{{.Link}}" data-testid="check-case-link">{{.C.ID}}</a>{{else}}<a href="#trace-{{.C.ID}}">{{.C.ID}}</a>{{end}}</td>
<td>{{.C.Requirement}}</td><td>{{.C.Section}}</td><td>{{.C.Reason}}</td></tr>
{{end}}</tbody></table>
<details><summary>Each case's trace as text</summary>
{{range .Cases}}<details id="trace-{{.C.ID}}"{{if eq .C.Result "fail"}} open{{end}}><summary><span class="{{.C.Result}}">{{.C.Result}}</span> {{.C.ID}}: {{.C.Reason}}</summary>
<pre>{{.Trace}}</pre></details>
{{end}}</details>
</div>
`))

// WriteHTMLFragment writes the report as an HTML fragment; with viewer,
// case names link to #msg=SEQ of the case's first datagram in r.Trace.
func WriteHTMLFragment(w io.Writer, r *Report, viewer bool) error {
	type row struct {
		C     CaseResult
		Trace string
		Link  string
	}
	data := struct {
		R      *Report
		Viewer bool
		Cases  []row
	}{R: r, Viewer: viewer}
	for _, c := range r.Cases {
		rw := row{C: c, Trace: traceText(r, c)}
		if viewer {
			if seq := firstDatagram(r, c); seq > 0 {
				rw.Link = fmt.Sprintf("#msg=%d", seq)
			}
		}
		data.Cases = append(data.Cases, rw)
	}
	return htmlFragment.Execute(w, data)
}

// firstDatagram is the trace sequence number of the case's first datagram.
func firstDatagram(r *Report, c CaseResult) uint64 {
	if r.Trace == nil {
		return 0
	}
	for _, e := range r.Trace.Events {
		if e.Exchange == c.Exchange && e.Type == trace.TypeDatagram {
			return e.Seq
		}
	}
	return 0
}

// WriteHTML writes the report as one self-contained HTML page without the
// viewer (no scripts): the fragment in a page of its own. The command's
// -format html puts the fragment above the lab's viewer instead
// (web.WriteCheckReport).
func WriteHTML(w io.Writer, r *Report) error {
	if _, err := fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>oscore-lab check %s %s</title></head><body>\n",
		template.HTMLEscapeString(r.Role), template.HTMLEscapeString(r.Target)); err != nil {
		return err
	}
	if err := WriteHTMLFragment(w, r, false); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</body></html>\n")
	return err
}
