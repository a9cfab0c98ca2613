package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"oscore-lab/internal/check"
	"oscore-lab/internal/nodes"
	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// checkReport runs two server cases against a lab server and renders the
// HTML report the command writes.
func checkReport(t *testing.T) (string, *check.Report) {
	t.Helper()
	s := &scenario.Scenario{Name: "check-report", Nodes: []scenario.Node{{ID: "C", Role: "client"}, {ID: "S", Role: "server"}},
		Contexts: []scenario.Context{{Name: "c", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
			A: scenario.Endpoint{Node: "C", SenderID: "", RecipientID: "01"},
			B: scenario.Endpoint{Node: "S", SenderID: "01", RecipientID: ""}}}}
	lab := nodes.NewLab(trace.NewBus(0))
	t.Cleanup(func() { lab.Close() })
	if err := lab.Load(s); err != nil {
		t.Fatal(err)
	}
	var target string
	for _, n := range lab.Nodes() {
		if n.ID == "S" {
			target = n.Addr
		}
	}
	p := oscore.Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, SenderID: []byte{}, RecipientID: []byte{1}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := check.Run(ctx, check.Config{Target: target, Role: check.RoleServer, Seq: -1,
		Contexts: []peerctx.Context{{Name: "c", Peer: peerctx.PeerTarget, Params: p}},
		Only:     []string{"server-aead-10", "server-replay"}})
	if err != nil {
		t.Fatal(err)
	}
	var frag, page bytes.Buffer
	if err := check.WriteHTMLFragment(&frag, rep, true); err != nil {
		t.Fatal(err)
	}
	if err := WriteCheckReport(context.Background(), &page, rep.Trace, frag.String()); err != nil {
		t.Fatal(err)
	}
	return page.String(), rep
}

// TestBrowserCheckReportOpensCases: the check report is one file with the
// viewer; a case's link selects its first datagram in the sequence diagram
// and shows it in the inspector, with no request but the page's own.
func TestBrowserCheckReportOpensCases(t *testing.T) {
	page, rep := checkReport(t)
	var other int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/report.html" {
			other++
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, page)
	}))
	defer srv.Close()
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(srv.URL+"/report.html"))
	waitJS(t, ctx, "the case table", `document.querySelectorAll('[data-testid="check-case"]').length === 2`)
	waitJS(t, ctx, "the trace rows", `document.querySelectorAll('[data-testid="seq-row"][data-kind="datagram"]').length > 4`)
	var want string
	for _, e := range rep.Trace.Events {
		if e.Exchange == rep.Cases[1].Exchange && e.Type == trace.TypeDatagram {
			want = itoa(int(e.Seq))
			break
		}
	}
	run(t, ctx, chromedp.Click(`#server-replay [data-testid="check-case-link"]`))
	waitJS(t, ctx, "the replay case's first message selected", `window.oscoreLab.store.selected === `+want)
	waitJS(t, ctx, "the inspector", `(document.querySelector('[data-testid="insp-summary"]')?.textContent || '').startsWith('check → target')`)
	if other != 0 {
		t.Errorf("the report made %d other requests", other)
	}
}

func TestCheckReportRefusesAClosingSection(t *testing.T) {
	if err := WriteCheckReport(context.Background(), io.Discard, &trace.Trace{}, "<p></SECTION><script>"); err == nil || !strings.Contains(err.Error(), "</section") {
		t.Errorf("error %v", err)
	}
}
