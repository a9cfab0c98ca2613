package scenario

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the built-in table in docs/scenarios.md")

const (
	docsPath   = "../../docs/scenarios.md"
	tableBegin = "<!-- builtins:begin -->\n"
	tableEnd   = "<!-- builtins:end -->"
)

// builtinTable renders the list of built-ins as docs/scenarios.md shows it.
func builtinTable() string {
	var b strings.Builder
	b.WriteString("| Name | Title | Shows |\n|---|---|---|\n")
	for _, s := range List() {
		b.WriteString("| `" + s.Name + "` | " + strings.ReplaceAll(s.Title, "|", `\|`) + " | " + s.Section + " |\n")
	}
	return b.String()
}

// TestDocsListBuiltins keeps the table in docs/scenarios.md equal to List();
// go test ./internal/scenario -update-docs rewrites it.
func TestDocsListBuiltins(t *testing.T) {
	raw, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, tableBegin)
	end := strings.Index(doc, tableEnd)
	if start < 0 || end < start {
		t.Fatalf("%s: missing the %q ... %q markers", docsPath, tableBegin, tableEnd)
	}
	start += len(tableBegin)
	want := builtinTable()
	if doc[start:end] == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(docsPath, []byte(doc[:start]+want+doc[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("the built-in table in %s is out of date; run go test ./internal/scenario -update-docs\nwant:\n%s", docsPath, want)
}

// TestDocsExamplesParse parses every complete scenario shown in
// docs/scenarios.md, so the documentation cannot drift from the format.
func TestDocsExamplesParse(t *testing.T) {
	raw, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(raw), "```json\n")
	n := 0
	for _, blk := range blocks[1:] {
		body, _, _ := strings.Cut(blk, "```")
		if !strings.Contains(body, `"nodes"`) {
			continue
		}
		n++
		if _, err := Parse([]byte(body)); err != nil {
			t.Errorf("example %d in %s: %v", n, docsPath, err)
		}
	}
	if n == 0 {
		t.Fatal("no complete scenario example found in the docs")
	}
}

// TestDocsFaultKinds: the fault kinds docs/scenarios.md lists are exactly
// the kinds validation accepts.
func TestDocsFaultKinds(t *testing.T) {
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "| `faults[].kind` |") {
			row = l
		}
	}
	var documented []string
	for i, part := range strings.Split(row, "`") {
		if i%2 == 1 && part != "faults[].kind" {
			documented = append(documented, part)
		}
	}
	if len(documented) == 0 {
		t.Fatal("no faults[].kind row in docs/scenarios.md")
	}
	accepts := func(kind string) bool {
		_, err := Parse(edit(t, `"links": [{"a": "C", "b": "P"}]`, `"links": [{"a": "C", "b": "P", "faults": [{"kind": "`+kind+`"}]}]`))
		return err == nil || !strings.Contains(err.Error(), ".kind: unknown fault")
	}
	for _, k := range documented {
		if !accepts(k) {
			t.Errorf("docs list fault %q, validation refuses it", k)
		}
	}
	for _, k := range []string{FaultDrop, FaultDelay, FaultDuplicate, FaultCorrupt, FaultReplay, FaultStrip, "truncate", "explode"} {
		if accepts(k) && !strings.Contains(row, "`"+k+"`") {
			t.Errorf("validation accepts fault %q, the docs do not list it", k)
		}
	}
}
