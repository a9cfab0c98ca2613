package main

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// checkLab starts a lab server and writes the suite's context file for it.
func checkLab(t *testing.T) (target, ctxFile string) {
	t.Helper()
	s := &scenario.Scenario{Name: "check-cmd", Nodes: []scenario.Node{{ID: "C", Role: "client"}, {ID: "S", Role: "server"}},
		Contexts: []scenario.Context{{Name: "c", MasterSecret: "0102030405060708090a0b0c0d0e0f10",
			A: scenario.Endpoint{Node: "C", SenderID: "", RecipientID: "01"},
			B: scenario.Endpoint{Node: "S", SenderID: "01", RecipientID: ""}}}}
	lab := nodes.NewLab(trace.NewBus(0))
	t.Cleanup(func() { lab.Close() })
	if err := lab.Load(s); err != nil {
		t.Fatal(err)
	}
	for _, n := range lab.Nodes() {
		if n.ID == "S" {
			target = "udp://" + n.Addr
		}
	}
	ctxFile = filepath.Join(t.TempDir(), "ctx.json")
	f, err := os.Create(ctxFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := oscore.Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, SenderID: []byte{}, RecipientID: []byte{1}}
	if err := peerctx.WriteLab(f, []peerctx.Context{{Name: "c", Peer: peerctx.PeerTarget, Params: p}}); err != nil {
		t.Fatal(err)
	}
	return target, ctxFile
}

func TestCheckUsage(t *testing.T) {
	target, ctxFile := checkLab(t)
	tests := []struct {
		name  string
		args  []string
		inErr string
	}{
		{"no target", []string{"check", "-role", "server"}, "-target udp://HOST:PORT is required"},
		{"bad scheme", []string{"check", "-target", "coap://127.0.0.1:5683", "-role", "server"}, "want udp://HOST:PORT"},
		{"bad role", []string{"check", "-target", target, "-role", "client"}, `-role "client"`},
		{"two context sources", []string{"check", "-target", target, "-role", "server", "-context", ctxFile, "-context-libcoap", ctxFile}, "give one of"},
		{"bad context file", []string{"check", "-target", target, "-role", "server", "-context", filepath.Join(t.TempDir(), "none.json")}, "no such file"},
		{"unknown case", []string{"check", "-target", target, "-role", "server", "-only", "server-nope"}, `no case "server-nope"`},
		{"bad format", []string{"check", "-target", target, "-role", "server", "-format", "xml"}, `unknown -format "xml"`},
		{"unwritable output", []string{"check", "-target", target, "-role", "server", "-context", ctxFile, "-o", filepath.Join(t.TempDir(), "no", "dir", "r.txt")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.inErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.inErr)
			}
			if out != "" {
				t.Errorf("bad usage ran the suite: %s", out)
			}
		})
	}
}

// TestCheckAgainstLabServer runs the command against the lab server: exit
// 0, one text line per case, and the JSON, JUnit and HTML reports.
func TestCheckAgainstLabServer(t *testing.T) {
	target, ctxFile := checkLab(t)
	only := "server-aead-10,server-aead-24,server-corrupted-tag,server-replay"
	code, out, errOut := runCmd(t, "check", "-target", target, "-role", "server", "-context", ctxFile, "-only", only)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 { // header, four cases, summary, next -seq
		t.Fatalf("want 7 lines, got:\n%s", out)
	}
	for i, id := range strings.Split(only, ",") {
		f := strings.Fields(lines[i+1])
		if len(f) < 3 || f[2] != id {
			t.Errorf("line %d: %q does not name %s", i+1, lines[i+1], id)
		}
	}
	if !strings.HasPrefix(lines[2], "skip SHOULD server-aead-24") {
		t.Errorf("a ChaCha20 case without a ChaCha20 context should skip: %q", lines[2])
	}

	dir := t.TempDir()
	jsonOut := filepath.Join(dir, "r.json")
	if code, _, errOut := runCmd(t, "check", "-target", target, "-role", "server", "-context", ctxFile, "-only", only, "-format", "json", "-o", jsonOut, "-seq", "100"); code != exitOK {
		t.Fatalf("json: exit %d: %s", code, errOut)
	}
	var rep struct {
		Cases []map[string]any `json:"cases"`
		Trace struct {
			Format string `json:"format"`
		} `json:"trace"`
	}
	b, _ := os.ReadFile(jsonOut)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Cases) != 4 || rep.Trace.Format != trace.FormatName {
		t.Fatalf("json report: %d cases, trace %q", len(rep.Cases), rep.Trace.Format)
	}
	for _, k := range []string{"id", "requirement", "section", "level", "result", "reason"} {
		if _, ok := rep.Cases[0][k]; !ok {
			t.Errorf("json case has no %q: %v", k, rep.Cases[0])
		}
	}

	junitOut := filepath.Join(dir, "r.xml")
	if code, _, errOut := runCmd(t, "check", "-target", target, "-role", "server", "-context", ctxFile, "-only", only, "-format", "junit", "-o", junitOut, "-seq", "200"); code != exitOK {
		t.Fatalf("junit: exit %d: %s", code, errOut)
	}
	var suites struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, _ = os.ReadFile(junitOut)
	if err := xml.Unmarshal(b, &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Tests != 4 {
		t.Fatalf("junit report: %v %+v\n%s", err, suites, b)
	}
}

// TestCheckFailsAgainstSilence: a target that answers nothing fails the
// MUST cases, exit 1, and the HTML report carries the failing case's trace.
func TestCheckFailsAgainstSilence(t *testing.T) {
	_, ctxFile := checkLab(t)
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	htmlOut := filepath.Join(t.TempDir(), "r.html")
	code, _, errOut := runCmd(t, "check", "-target", "udp://"+silent.LocalAddr().String(), "-role", "server",
		"-context", ctxFile, "-only", "server-aead-10,server-unknown-kid", "-timeout", "200ms", "-format", "html", "-o", htmlOut)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errOut)
	}
	b, _ := os.ReadFile(htmlOut)
	html := string(b)
	for _, want := range []string{`id="trace-server-aead-10" open`, "check -&gt; target  CON POST", "is the target up?",
		`id="trace-data"`, // case 1: its start note, the layer applied, then its first datagram, seq 3
		`<a href="#msg=3" data-testid="check-case-link">server-aead-10</a>`} {
		if !strings.Contains(html, want) {
			t.Errorf("html report lacks %q", want)
		}
	}
}
