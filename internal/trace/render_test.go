package trace

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oscore-lab/oscore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		must(t, os.MkdirAll("testdata", 0o755))
		must(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/trace -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./internal/trace -update and review the diff)\n--- got\n%s", name, got)
	}
}

func TestRenderersGolden(t *testing.T) {
	tr := buildFixture(t)
	for _, r := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"b1.txt", func(b *bytes.Buffer) error { return WriteText(b, tr) }},
		{"b1.mmd", func(b *bytes.Buffer) error { return WriteMermaid(b, tr) }},
		{"b1.ascii", func(b *bytes.Buffer) error { return WriteASCII(b, tr) }},
		{"b1.json", func(b *bytes.Buffer) error { return WriteJSON(b, tr, false) }},
		{"b1.events", func(b *bytes.Buffer) error {
			for _, e := range tr.Events {
				b.WriteString(e.String() + "\n")
			}
			return nil
		}},
	} {
		var b bytes.Buffer
		must(t, r.write(&b))
		golden(t, r.file, b.Bytes())
	}
}

// TestMermaidIDs: participant ids are Mermaid identifiers that are not
// words of its grammar (in any case), and stay readable.
func TestMermaidIDs(t *testing.T) {
	for _, tc := range []struct {
		node string
		i    int
		want string
	}{
		{"C", 0, "C"}, {"P1", 1, "P1"}, {"proxy-1", 2, "proxy_1"}, {"x y", 3, "x_y"},
		{"1st", 4, "n4_1st"}, {"", 5, "n5_"}, {"end", 6, "n6_end"}, {"End", 7, "n7_End"},
		{"opt", 8, "n8_opt"}, {"participant", 9, "n9_participant"}, {"note", 10, "n10_note"},
		{"end_1", 11, "end_1"}, {"ending", 12, "ending"}, {"AS", 13, "AS"}, {"OFF", 14, "n14_OFF"},
	} {
		if got := mermaidID(tc.node, tc.i); got != tc.want {
			t.Errorf("mermaidID(%q, %d) = %q, want %q", tc.node, tc.i, got, tc.want)
		}
	}
}

// A failed removal of a peer's layer has no number (0) and, when no
// context was found, no name: the line says so instead of "(layer 0)".
func TestFailedRemovalOfUnknownLayer(t *testing.T) {
	e := Event{Type: TypeLayer, Node: "P", Layer: 0, Layer_: &LayerEvent{Action: LayerFailed, Report: &oscore.Report{Details: &oscore.Details{Option: "[kid:0a, piv:00]"}}}}
	got := eventLine(e)
	if strings.Contains(got, "layer 0") || strings.Contains(got, "  ") || !strings.Contains(got, "could not remove (outermost layer)") {
		t.Errorf("eventLine = %q", got)
	}
	e.Layer, e.Layer_.Report.Context = 2, "CTX_C_P"
	if got := eventLine(e); !strings.Contains(got, "could not remove CTX_C_P (layer 2)") {
		t.Errorf("eventLine = %q", got)
	}
}
