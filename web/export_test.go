package web

import (
	"encoding/binary"
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

// The running lab's capture and Wireshark contexts come from the API: the
// pcapng holds one packet block per recorded datagram, the contexts file
// one row per context, secrets only when asked for.
func TestExportPcapngAndWiresharkContexts(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	code, h, body := get(t, tl.srv.URL+"/api/export.pcapng")
	if code != 200 || h.Get("Content-Type") != "application/x-pcapng" || !strings.Contains(h.Get("Content-Disposition"), `-trace.pcapng"`) {
		t.Fatalf("export.pcapng: %d %v", code, h)
	}
	_, _, js := get(t, tl.srv.URL+"/api/trace")
	tr, err := trace.ReadJSON(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(body)
	packets := 0
	for off := 0; off+12 <= len(data); {
		typ, n := binary.LittleEndian.Uint32(data[off:]), int(binary.LittleEndian.Uint32(data[off+4:]))
		if n < 12 || off+n > len(data) {
			t.Fatalf("block at %d: length %d", off, n)
		}
		if off == 0 && typ != 0x0a0d0d0a {
			t.Fatalf("first block %#x, want a section header", typ)
		}
		if typ == 6 {
			packets++
		}
		off += n
	}
	if want := datagrams(tr); packets != want || want == 0 {
		t.Errorf("%d packet blocks, %d datagrams in the trace", packets, want)
	}

	code, h, withheld := get(t, tl.srv.URL+"/api/oscore_contexts")
	if code != 200 || !strings.Contains(h.Get("Content-Disposition"), `filename="oscore_contexts"`) || h.Get("X-Not-Listed") != "3" ||
		strings.Count(withheld, "master secret withheld") != 3 {
		t.Fatalf("oscore_contexts: %d %v\n%s", code, h, withheld)
	}
	_, h, rows := get(t, tl.srv.URL+"/api/oscore_contexts?include_secrets=1")
	var lines []string
	for _, l := range strings.Split(rows, "\n") {
		if strings.HasPrefix(l, `"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 || h.Get("X-Not-Listed") != "0" || !strings.Contains(rows, "a761c87bf200747b89502887c9c01787") {
		t.Errorf("with secrets: %d rows, X-Not-Listed %s:\n%s", len(lines), h.Get("X-Not-Listed"), rows)
	}
	if code, _, body := get(t, tl.srv.URL+"/api/oscore_contexts?include_secrets=yes"); code != 400 || !strings.Contains(body, "web: ") {
		t.Errorf("include_secrets=yes: %d %s", code, body)
	}
}

// The toolbar links to both files; with "secrets" ticked the contexts
// link asks for them.
func TestBrowserPcapngAndWiresharkLinks(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t)
	ctx := newTab(t)
	openLab(t, ctx, tl.srv.URL)
	waitJS(t, ctx, "the export links", `!!document.querySelector('[data-testid="tool-export-pcapng"]') && !!document.querySelector('[data-testid="tool-export-wireshark"]')`)
	// Clicking fetches what the link names instead of downloading it.
	evalJS[any](t, ctx, `window.__got = null; for (const a of document.querySelectorAll('[data-testid="tool-export-pcapng"], [data-testid="tool-export-wireshark"]')) a.addEventListener('click', (e) => { e.preventDefault(); const l = e.currentTarget; fetch(l.href).then(r => r.arrayBuffer()).then(b => { window.__got = [l.getAttribute('href'), [...new Uint8Array(b)].slice(0, 4).join(','), new TextDecoder().decode(b)]; }); }); null`)
	clickInMenu(t, ctx, `[data-testid="tool-export-pcapng"]`)
	waitJS(t, ctx, "the capture", `window.__got !== null`)
	if got := evalJS[[]string](t, ctx, `window.__got.slice(0, 2)`); got[0] != "/api/export.pcapng" || got[1] != "10,13,13,10" {
		t.Errorf("pcapng link: %v, want /api/export.pcapng starting with a section header block", got)
	}
	evalJS[any](t, ctx, `window.__got = null; document.querySelector('[data-testid="export-secrets"]').checked = true; null`)
	clickInMenu(t, ctx, `[data-testid="tool-export-wireshark"]`)
	waitJS(t, ctx, "the contexts file", `window.__got !== null`)
	if got := evalJS[[]string](t, ctx, `window.__got`); got[0] != "/api/oscore_contexts?include_secrets=1" || !strings.Contains(got[2], "a761c87bf200747b89502887c9c01787") {
		t.Errorf("contexts link: %v", got)
	}
}
