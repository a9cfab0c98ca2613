package nodes

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// TestStateFileAcrossRuns: a lab that keeps state begins where the last
// run's saved number says, never below a number used (RFC 8613 B.1.1:
// saved before use, once every K messages), and its server restores the
// replay window, so a request from the last run is still a replay and a
// new one is accepted without Echo (RFC 8613 7.5.1, B.1.2).
func TestStateFileAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s := builtinScenario(t, "error-replay")
	s.Links = nil
	for i := range s.Nodes {
		if s.Nodes[i].ID == "S" {
			s.Nodes[i].RequireEcho = true // no Echo round trip once the window is restored
		}
	}
	run := func() (*Lab, *trace.Bus) {
		bus := trace.NewBus(0)
		lab := NewLab(bus)
		t.Cleanup(func() { lab.Close() })
		if err := lab.UseState(path, 4); err != nil {
			t.Fatal(err)
		}
		if err := lab.Load(s); err != nil {
			t.Fatal(err)
		}
		return lab, bus
	}
	st := s.Steps[0]
	st.Token, st.MID = "", nil
	lab, bus := run()
	var used []int64
	for i := 0; i < 6; i++ {
		r := send(t, lab, st)
		if r.Code != "2.05" {
			t.Fatalf("run 1, request %d: %+v", i, r)
		}
		used = append(used, sentSeq(t, bus, r.Exchange, "C", "CTX_C_S"))
	}
	// 20 (after the Echo round trip at 20, 21), ..., 26: 27 is next.
	if used[len(used)-1] != 26 {
		t.Fatalf("run 1 used %v", used)
	}
	if err := lab.Close(); err != nil {
		t.Fatal(err)
	}
	var doc stateDoc
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	seqs := map[string]uint64{}
	for _, e := range doc.Contexts {
		seqs[e.Node] = e.SenderSeq
	}
	if seqs["C"] != 28 { // saved before 20 (24) and before 24 (28)
		t.Errorf("saved sender_seq %v, want C at 28", seqs)
	}

	lab2, bus2 := run()
	r := send(t, lab2, st)
	if got := sentSeq(t, bus2, r.Exchange, "C", "CTX_C_S"); r.Code != "2.05" || got != 28 {
		t.Errorf("run 2: %+v with sequence number %d, want 2.05 with 28", r, got)
	}
	var restored int
	for _, e := range eventsOf(bus2, trace.TypeDecision, 0) {
		if e.Decision.Rule == trace.RuleSequence && strings.Contains(e.Decision.Outcome, "resumes from the state file") {
			restored++
		}
	}
	if restored != 2 {
		t.Errorf("%d restore decisions, want one per side", restored)
	}
	old := s.Steps[2] // pins C back to 20, used in run 1
	old.Token, old.MID = "", nil
	if r := send(t, lab2, old); r.Code != "4.01" || r.Payload != "Replay detected" {
		t.Errorf("run 1's sequence number 20 in run 2: %s %q, want 4.01 Replay detected", r.Code, r.Payload)
	}
}

// FuzzStateFile: a hostile state file is refused with an error or, when
// accepted, restores a context without panicking, and what the lab writes
// back reads again.
func FuzzStateFile(f *testing.F) {
	c, err := oscore.NewContext("CTX", oscore.Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8}, SenderID: []byte{1}, RecipientID: []byte{2}})
	if err != nil {
		f.Fatal(err)
	}
	keys := keysOf(c)
	f.Add([]byte(`{"version": 1, "step": 4, "contexts": [{"context": "CTX", "node": "C", "keys": "` + keys + `", "sender_seq": 40, "replay": {"window": 32, "highest": 17, "bitmap": [3], "seen": [17, 16]}}]}`))
	f.Add([]byte(`{"version": 1, "contexts": [{"node": "C", "keys": "` + keys + `", "sender_seq": 1099511627776, "replay": {"window": 4096, "highest": -1}}]}`))
	f.Add([]byte(`{"version": 1, "contexts": [null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		sf := &stateFile{path: path, k: 3, entries: map[string]*stateEntry{}}
		if sf.read() != nil {
			return
		}
		ctx, _ := oscore.NewContext("CTX", oscore.Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8}, SenderID: []byte{1}, RecipientID: []byte{2}})
		if _, err := sf.attach("CTX", "C", ctx, &echoGate{}, false); err != nil {
			return
		}
		if err := sf.flush(); err != nil {
			t.Fatal(err)
		}
		again := &stateFile{path: path, k: 3, entries: map[string]*stateEntry{}}
		if err := again.read(); err != nil {
			t.Fatalf("the lab's own state file does not read back: %v", err)
		}
	})
}
