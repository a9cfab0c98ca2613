package trace

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
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
