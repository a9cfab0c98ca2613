package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunState: two runs of a scenario with -state: the second begins at
// the sequence number the first saved (RFC 8613 B.1.1), so its Partial IVs
// differ from the first run's and its requests are still answered; a bad
// state file or step is refused before the run.
func TestRunState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	var outs []string
	for i := 0; i < 2; i++ {
		code, out, stderr := runCmd(t, "run", "-scenario", "draft-b1", "-state", state, "-state-step", "8")
		if code != exitOK {
			t.Fatalf("run %d: exit %d, %s", i+1, code, stderr)
		}
		outs = append(outs, out)
	}
	// draft-b1 pins C's Partial IVs 0x2a (C-S) and 0x1f (C-P); the second
	// run begins 8 above each.
	if !strings.Contains(outs[0], "piv:2a") || !strings.Contains(outs[1], "piv:32") || !strings.Contains(outs[1], "piv:27") {
		t.Errorf("second run does not begin at the saved numbers:\n%s", outs[1])
	}
	if !strings.Contains(outs[1], "resumes from the state file") {
		t.Error("the second run's trace does not say it resumed")
	}
	os.WriteFile(state, []byte(`{"version": 2}`), 0o600)
	if code, _, stderr := runCmd(t, "run", "-scenario", "draft-b1", "-state", state); code == exitOK || !strings.Contains(stderr, "version 2") {
		t.Errorf("bad state file: exit %d, %s", code, stderr)
	}
	if code, _, _ := runCmd(t, "run", "-scenario", "draft-b1", "-state", state, "-state-step", "0"); code != exitUsage {
		t.Errorf("-state-step 0: exit %d, want %d", code, exitUsage)
	}
}
