package web

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"oscore-lab/internal/trace"
)

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(b)
}

var embeddedTrace = regexp.MustCompile(`(?s)<script type="application/json" id="trace-data">(.*?)</script>`)

// traceInHTML reads the trace an HTML export carries.
func traceInHTML(t *testing.T, html string) *trace.Trace {
	t.Helper()
	m := embeddedTrace.FindStringSubmatch(html)
	if m == nil {
		t.Fatal("the export holds no trace-data script")
	}
	tr, err := trace.ReadJSON(strings.NewReader(m[1]))
	if err != nil {
		t.Fatalf("the embedded trace does not read back: %v", err)
	}
	return tr
}

func TestExportHTMLIsSelfContainedAndRedacted(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	code, h, html := get(t, tl.srv.URL+"/api/export.html")
	if code != 200 {
		t.Fatalf("export.html: %d %s", code, html)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := h.Get("Content-Disposition"); !strings.Contains(cd, `filename="draft-b3-trace.html"`) {
		t.Errorf("Content-Disposition %q", cd)
	}
	// Nothing may be fetched: no external script, stylesheet or module.
	for _, bad := range []string{`src="`, `href="/static`, `rel="stylesheet"`, `rel="modulepreload"`, "http://127.0.0.1"} {
		if strings.Contains(html, bad) {
			t.Errorf("the export refers to something outside itself: %q", bad)
		}
	}
	for _, want := range []string{"// ---- js/replay.js", "// ---- js/presenter.js", "// ---- js/quiz.js", "// ---- js/share.js", "/* teaching.css */", "/* lab.css */", `data-mode="trace"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the export lacks %q", want)
		}
	}
	red := traceInHTML(t, html)
	if n := len(red.Events); n == 0 || datagrams(red) < 4 {
		t.Fatalf("embedded trace: %d events, %d datagrams", n, datagrams(red))
	}
	nonDemo := 0
	for _, c := range red.Contexts {
		if !c.Demo {
			nonDemo++
			if c.MasterSecret != nil {
				t.Errorf("context %s: secret exported without include_secrets", c.Name)
			}
		}
	}
	if nonDemo == 0 {
		t.Fatal("draft-b3 has no non-demo context: the redaction check proves nothing")
	}
	_, _, html = get(t, tl.srv.URL+"/api/export.html?include_secrets=1")
	for _, c := range traceInHTML(t, html).Contexts {
		if c.MasterSecret == nil {
			t.Errorf("context %s: secret missing with include_secrets=1", c.Name)
		}
	}
}

func TestExportTextAndMermaid(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	tl.sendFirstStep(t)
	code, h, txt := get(t, tl.srv.URL+"/api/export.txt")
	if code != 200 || !strings.Contains(txt, "C -> P") || !strings.Contains(txt, "CTX_C_S") {
		t.Fatalf("export.txt: %d\n%s", code, txt)
	}
	note := h.Get("X-Size-Note")
	if !strings.Contains(note, "fits a GitHub issue") || !strings.HasSuffix(txt, "-- "+note+"\n") {
		t.Errorf("size note %q, text ends %q", note, txt[max(0, len(txt)-200):])
	}
	_, _, one := get(t, tl.srv.URL+"/api/export.txt?exchange=2")
	if len(one) >= len(txt) || !strings.Contains(one, "C -> P") {
		t.Errorf("one exchange (%d bytes) is not shorter than both (%d)", len(one), len(txt))
	}
	code, _, mmd := get(t, tl.srv.URL+"/api/export.mmd")
	if code != 200 || !strings.HasPrefix(strings.TrimSpace(mmd), "sequenceDiagram") || strings.Count(mmd, "->>") < 4 {
		t.Fatalf("export.mmd: %d\n%s", code, mmd)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/api/export.txt?include_secrets=maybe", 400},
		{"/api/export.txt?exchange=x", 400},
		{"/api/export.txt?exchange=99", 404},
		{"/api/export.pdf", 404},
	} {
		if code, _, body := get(t, tl.srv.URL+tc.path); code != tc.code || !strings.Contains(body, "web: ") {
			t.Errorf("%s: %d %s, want %d with a web: error", tc.path, code, body, tc.code)
		}
	}
}

func TestSizeNoteSaysWhenTooLong(t *testing.T) {
	if n := SizeNote(IssueLimit, 10); !strings.Contains(n, "too long") {
		t.Errorf("SizeNote(limit) = %q", n)
	}
	if n := SizeNote(1000, 4); !strings.Contains(n, "fits") || !strings.Contains(n, "4 datagrams, 1000 bytes") {
		t.Errorf("SizeNote(1000) = %q", n)
	}
}
