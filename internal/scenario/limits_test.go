package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// grown is the base scenario with one list grown to n entries by build.
func grown(t *testing.T, build func(s *Scenario, n int), n int) []byte {
	t.Helper()
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	build(s, n)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestLimits: every bound of limits.go accepts a scenario at the bound and
// refuses one past it, naming the field and the bound.
func TestLimits(t *testing.T) {
	chain := func(s *Scenario, n int) {
		// C -> P0 -> P1 ... -> S by upstream, the shape that cost
		// gigabytes with thousands of proxies.
		s.Nodes = s.Nodes[:1]
		for i := 0; i < n-2; i++ {
			p := Node{ID: fmt.Sprintf("P%d", i), Role: RoleProxy, Forward: true}
			if i < n-3 {
				p.Upstream = fmt.Sprintf("P%d", i+1)
			}
			s.Nodes = append(s.Nodes, p)
		}
		s.Nodes = append(s.Nodes, Node{ID: "S", Role: RoleServer, Authority: "example.com"})
		s.Contexts = s.Contexts[:1]
		s.Links = nil
		s.Steps[0].Route = []string{"P0"}
		s.Steps[0].Contexts = []string{"CTX_C_S"}
	}
	contexts := func(s *Scenario, n int) {
		s.Contexts = s.Contexts[:0]
		for i := 0; i < n; i++ {
			s.Contexts = append(s.Contexts, Context{Name: fmt.Sprintf("X%d", i),
				A:            Endpoint{Node: "C", SenderID: fmt.Sprintf("%04x", i), RecipientID: fmt.Sprintf("%04x", i+0x8000)},
				B:            Endpoint{Node: "S", SenderID: fmt.Sprintf("%04x", i+0x8000), RecipientID: fmt.Sprintf("%04x", i)},
				MasterSecret: "00112233445566778899aabbccddeeff"})
		}
		s.Steps[0].Contexts = nil
	}
	steps := func(s *Scenario, n int) {
		for len(s.Steps) < n {
			s.Steps = append(s.Steps, s.Steps[0])
		}
	}
	links := func(s *Scenario, n int) {
		// Repeated entries are refused as duplicates, so the length
		// check must come first.
		s.Links = make([]Link, n)
		for i := range s.Links {
			s.Links[i] = Link{A: "C", B: "P"}
		}
	}
	faults := func(s *Scenario, n int) {
		s.Links[0].Faults = make([]Fault, n)
		for i := range s.Links[0].Faults {
			s.Links[0].Faults[i] = Fault{Kind: FaultDrop, Match: i + 1}
		}
	}
	resources := func(s *Scenario, n int) {
		s.Nodes[2].Resources = nil
		for i := 0; i < n; i++ {
			s.Nodes[2].Resources = append(s.Nodes[2].Resources, fmt.Sprintf("r%d=text:%d", i, i))
		}
	}
	sends := func(s *Scenario, n int) {
		s.Steps[0].Repeat = 10000
		for rest := n - 10000; rest > 0; rest -= 10000 {
			st := s.Steps[0]
			st.Repeat = min(rest, 10000)
			s.Steps = append(s.Steps, st)
		}
	}
	payload := func(s *Scenario, n int) {
		s.Steps[0].Method = "POST"
		s.Steps[0].Payload = strings.Repeat("x", n-len(s.Steps[0].URI)-1)
		s.Steps[0].Options = []StepOption{{Number: 60, Value: "ab"}}
	}
	for _, c := range []struct {
		name  string
		build func(*Scenario, int)
		max   int
		path  string
	}{
		{"nodes", chain, MaxNodes, "nodes"},
		{"contexts", contexts, MaxContexts, "contexts"},
		{"steps", steps, MaxSteps, "steps"},
		{"links", links, MaxLinks, "links"},
		{"faults", faults, MaxFaults, "links[0].faults"},
		{"resources", resources, MaxResources, "nodes[2].resources"},
		{"sends", sends, MaxSends, "steps[2].repeat"},
		{"step bytes", payload, MaxStepBytes, "steps[0].payload"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(grown(t, c.build, c.max))
			if err != nil && strings.Contains(err.Error(), "at most") {
				t.Fatalf("at the bound %d: %v", c.max, err)
			}
			start := time.Now()
			_, err = Parse(grown(t, c.build, c.max+1))
			var se *Error
			if !errors.As(err, &se) || se.Path != c.path || !strings.Contains(se.Reason, fmt.Sprintf("at most %d", c.max)) {
				t.Fatalf("past the bound: %v, want an error at %s naming %d", err, c.path, c.max)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing took %v", d)
			}
		})
	}
}

// TestLoadBounded: a file that never ends, or a directory, is refused
// after reading at most the size limit.
func TestLoadBounded(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"/dev/zero", "larger than 4 MiB"},
		{t.TempDir(), "is a directory"},
	} {
		if _, err := os.Stat(c.name); err != nil {
			t.Skipf("%s: %v", c.name, err)
		}
		_, err := Load(c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%s) = %v, want %q", c.name, err, c.want)
		}
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		chunk := make([]byte, 1<<16)
		for {
			if _, err := w.Write(chunk); err != nil {
				return // the reader stopped at the limit and closed
			}
		}
	}()
	if _, err := Load(fifo); err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("Load(endless fifo) = %v", err)
	}
}

// TestSchemaStatesLimits: the JSON Schema's maxItems are the limits
// validation applies, so an editor warns where the lab refuses.
func TestSchemaStatesLimits(t *testing.T) {
	data, err := os.ReadFile("scenario.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]struct {
			MaxItems int `json:"maxItems"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	for name, max := range map[string]int{"nodes": MaxNodes, "contexts": MaxContexts, "links": MaxLinks, "steps": MaxSteps} {
		if got := schema.Properties[name].MaxItems; got != max {
			t.Errorf("schema %s maxItems %d, validation %d", name, got, max)
		}
	}
}
