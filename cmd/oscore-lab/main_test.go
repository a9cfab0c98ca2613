package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"name":"x","nodes":[{"id":"C","role":"prox"}]}`), 0o644)
	unwritable := filepath.Join(t.TempDir(), "no-such-dir", "out.txt")
	tests := []struct {
		name  string
		args  []string
		code  int
		inErr string
		inOut string
	}{
		{"version", []string{"version"}, exitOK, "", "oscore-lab "},
		{"help flag", []string{"run", "-h"}, exitOK, "Usage: oscore-lab run", ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`, ""},
		{"unknown flag", []string{"run", "-nope"}, exitUsage, "flag provided but not defined", ""},
		{"stray argument", []string{"scenarios", "extra"}, exitUsage, `unexpected argument "extra"`, ""},
		{"bad format", []string{"run", "-format", "xml"}, exitUsage, `unknown -format "xml"`, ""},
		{"unknown scenario", []string{"run", "-scenario", "no-such-scenario"}, exitUsage, "no-such-scenario", ""},
		{"invalid scenario file", []string{"run", "-scenario", bad}, exitUsage, "nodes[0].role", ""},
		{"scenario list", []string{"scenarios"}, exitOK, "", "draft-b3"},
		// An output that cannot be written is found before the run:
		// nothing is printed, the exit code is 2.
		{"unwritable -o", []string{"run", "-o", unwritable}, exitUsage, "-o: open " + unwritable, ""},
		{"unwritable -pcap", []string{"run", "-pcap", unwritable}, exitUsage, "-pcap: open", ""},
		// Off loopback the page and API carry master secrets: refused
		// without -expose, before anything listens.
		{"serve on every address", []string{"serve", "-addr", "0.0.0.0:0"}, exitUsage, "pass -expose", ""},
		{"serve on an IPv6 wildcard", []string{"serve", "-addr", "[::]:0"}, exitUsage, "pass -expose", ""},
		{"serve on a LAN address", []string{"serve", "-addr", "192.0.2.7:0"}, exitUsage, "master secrets", ""},
		{"serve on a port alone", []string{"serve", "-addr", ":0"}, exitUsage, "pass -expose", ""},
		{"serve on a bad address", []string{"serve", "-addr", "nonsense"}, exitUsage, "-addr", ""},
		{"unwritable -wireshark", []string{"run", "-o", filepath.Join(t.TempDir(), "ok.txt"), "-wireshark", unwritable}, exitUsage, "-wireshark: open", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
			if !strings.Contains(errOut, tt.inErr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.inErr)
			}
			if !strings.Contains(out, tt.inOut) {
				t.Errorf("stdout %q does not contain %q", out, tt.inOut)
			}
			if tt.code == exitUsage && out != "" {
				t.Errorf("a usage error printed %d bytes on stdout", len(out))
			}
		})
	}
}
