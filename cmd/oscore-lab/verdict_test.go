package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"oscore-lab/internal/scenario"
)

// asMain makes the test binary run the command's main instead of the
// tests, so a test can execute the real binary, exit code and all.
const asMain = "OSCORE_LAB_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// execMain runs this binary's main with args and returns its exit code
// and standard error.
func execMain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asMain+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("exec %v: %v", args, err)
	return 0, ""
}

// TestRunExitCodeOnFailedExpectation executes `oscore-lab run` on a
// scenario file whose step expects the wrong code: the process exits 1 and
// names the step and what came instead. The same file with the right
// expectation exits 0, so the 1 comes from the verdict.
func TestRunExitCodeOnFailedExpectation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, code string) string {
		s, _ := scenario.Builtin("draft-b1")
		s.Steps[0].Expect.Code = code
		return writeScenario(t, dir, name, s)
	}
	out := filepath.Join(dir, "trace.txt")
	code, stderr := execMain(t, "run", "-scenario", write("right.json", "2.05"), "-o", out)
	if code != exitOK {
		t.Fatalf("right expectation: exit code %d, stderr:\n%s", code, stderr)
	}
	code, stderr = execMain(t, "run", "-scenario", write("wrong.json", "4.04"), "-o", out)
	if code != exitFailed {
		t.Fatalf("wrong expectation: exit code %d, want %d; stderr:\n%s", code, exitFailed, stderr)
	}
	for _, want := range []string{
		`step "GET /alarm_status through P": expected code 4.04, got 2.05 "0"`,
		"1 of 1 steps failed their expectations",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("a failed run still writes its trace: %v", err)
	}
}

// TestRunGroupExpectations executes `oscore-lab run` on a scenario with a
// group step: the right per-member expectations exit 0 and the text trace
// says multicast is simulated; a wrong payload expected from one member
// exits 1 and names that member, what was expected and what came.
func TestRunGroupExpectations(t *testing.T) {
	dir := t.TempDir()
	raw, err := os.ReadFile("../../internal/scenario/testdata/group-basic.json")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, payload string) string {
		s, err := scenario.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		s.Steps[0].Expect.Responses[1].Payload = &payload
		return writeScenario(t, dir, name, s)
	}
	out := filepath.Join(dir, "trace.txt")
	code, stderr := execMain(t, "run", "-scenario", write("right.json", "21.2"), "-o", out)
	if code != exitOK {
		t.Fatalf("right expectation: exit code %d, stderr:\n%s", code, stderr)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "# group G: members S1, S2, group context GRP") || !strings.Contains(string(text), "IP multicast simulated by a fan-out link") {
		t.Errorf("the trace header does not name the group and say multicast is simulated:\n%s", text)
	}
	code, stderr = execMain(t, "run", "-scenario", write("wrong.json", "19.0"), "-o", out)
	if code != exitFailed {
		t.Fatalf("wrong expectation: exit code %d, want %d; stderr:\n%s", code, exitFailed, stderr)
	}
	for _, want := range []string{
		`step "group GET": S2: expected payload "19.0", got "21.2"`,
		"1 of 1 steps failed their expectations",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}

// writeScenario writes s as dir/name and returns the path.
func writeScenario(t *testing.T, dir, name string, s *scenario.Scenario) string {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
