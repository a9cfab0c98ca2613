package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
)

// wallClock matches the measured duration of an exchange, the one part of a
// rendering that is not deterministic.
var wallClock = regexp.MustCompile(` in [0-9.]+(ns|µs|ms|s)\b`)

var update = flag.Bool("update", false, "rewrite the golden renderings in testdata/golden")

// maxRunTime is the bound for `oscore-lab run` of any built-in scenario.
const maxRunTime = 2 * time.Second

// TestBuiltinGolden runs every built-in scenario headless, as `oscore-lab run`
// does, and compares the text, Mermaid and ASCII renderings with the golden
// files. Runs are deterministic (pinned tokens, MIDs and sequence numbers), so
// any change in a rendering is a change in behaviour or in a renderer.
func TestBuiltinGolden(t *testing.T) {
	for _, s := range scenario.List() {
		t.Run(s.Name, func(t *testing.T) {
			for _, format := range []string{"text", "mermaid", "ascii"} {
				out := filepath.Join(t.TempDir(), "out")
				start := time.Now()
				code, _, stderr := runCmd(t, "run", "-scenario", s.Name, "-format", format, "-o", out)
				if took := time.Since(start); took > maxRunTime {
					t.Errorf("%s: run took %v, want under %v", format, took, maxRunTime)
				}
				if code != exitOK {
					t.Fatalf("%s: exit code %d, stderr:\n%s", format, code, stderr)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if s.MulticastNotifications != nil || throughProxyToGroup(s) {
					// A group observation's clients and proxy process the
					// group's copies concurrently, so its rendering
					// interleaves differently from run to run;
					// TestBuiltinScenarios checks what each accepted.
					continue
				}
				got = wallClock.ReplaceAll(got, []byte(" in <duration>"))
				golden := filepath.Join("testdata", "golden", s.Name+"."+format)
				if *update {
					os.MkdirAll(filepath.Dir(golden), 0o755)
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./cmd/oscore-lab -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s rendering differs from %s (go test ./cmd/oscore-lab -update rewrites it)\n--- got ---\n%s", format, golden, got)
				}
			}
		})
	}
}

// throughProxyToGroup: a step sends to a group through a proxy, whose
// relayed responses carry Reply-From with the address of the group link's
// socket for each member, a port the kernel picks on each run; run time
// and exit code are checked, TestBuiltinScenarios checks what each member
// answered.
func throughProxyToGroup(s *scenario.Scenario) bool {
	for _, st := range s.Steps {
		if st.To != "" && len(st.Route) > 0 {
			return true
		}
	}
	return false
}
