package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
				got = wallClock.ReplaceAll(got, []byte(" in <duration>"))
				got = maskKernelPorts(got)
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

// Addresses a rendering may show with the port the kernel picked for a
// socket: host:port, a tp_info address in diagnostic notation, and a CRI
// address in CBOR (0x7f000001, then the port as a CBOR uint16).
var (
	portInText = regexp.MustCompile(`127\.0\.0\.1:([0-9]{4,5})\b|h'7f000001', ([0-9]{4,5})\b`)
	portInCBOR = regexp.MustCompile(`7f00000119([0-9a-f]{4})`)
)

// maskKernelPorts replaces every port the kernel picked, wherever the
// rendering shows it (an address, a Uri-Port, Reply-From or tp_info bytes),
// with <port>: a group member's or a multicast group's socket is bound to
// port 0, so its port differs on every run while everything else in the
// rendering does not (docs/scenarios.md, "Deterministic runs").
func maskKernelPorts(b []byte) []byte {
	ports := map[uint16]bool{}
	for _, m := range portInText.FindAllSubmatch(b, -1) {
		d := m[1]
		if d == nil {
			d = m[2]
		}
		if v, err := strconv.ParseUint(string(d), 10, 16); err == nil {
			ports[uint16(v)] = true
		}
	}
	for _, m := range portInCBOR.FindAllSubmatch(b, -1) {
		if v, err := strconv.ParseUint(string(m[1]), 16, 16); err == nil {
			ports[uint16(v)] = true
		}
	}
	for p := range ports {
		if p < 1024 {
			continue // a well-known port a scenario chose, not the kernel
		}
		b = regexp.MustCompile(`\b`+strconv.Itoa(int(p))+`\b`).ReplaceAll(b, []byte("<port>"))
		b = bytes.ReplaceAll(b, []byte(fmt.Sprintf("7f00000119%04x", p)), []byte("7f00000119<port>"))
	}
	return b
}
