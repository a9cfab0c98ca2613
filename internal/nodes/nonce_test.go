package nodes

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/trace"
)

// sentSeq is the sequence number node used for ctx in exchange ex.
func sentSeq(t *testing.T, bus *trace.Bus, ex int, node, ctx string) int64 {
	t.Helper()
	for _, e := range eventsOf(bus, trace.TypeLayer, ex) {
		if e.Node == node && e.Layer_.Action == trace.LayerApplied && e.Layer_.Report.Context == ctx {
			return e.Layer_.Report.Complete().Seq
		}
	}
	t.Fatalf("exchange %d: %s applied no %s layer", ex, node, ctx)
	return -1
}

// TestLiveEditKeepsSequenceState: an edit that changes only the replay
// window keeps the key material, so the client goes on with the next
// sequence number, not its pin, and the server's window still knows the
// numbers it accepted (RFC 8613 7.2, 7.4).
func TestLiveEditKeepsSequenceState(t *testing.T) {
	s := builtinScenario(t, "error-replay")
	s.Links = nil
	lab, bus := startLab(t, s)
	st := s.Steps[0]
	r := send(t, lab, st)
	if got := sentSeq(t, bus, r.Exchange, "C", "CTX_C_S"); r.Code != "2.05" || got != 20 {
		t.Fatalf("%+v, seq %d", r, got)
	}
	s2 := lab.Scenario()
	s2.Contexts[0].ReplayWindow = 64
	if err := lab.Apply(s2); err != nil {
		t.Fatal(err)
	}
	st.Token, st.MID = "", nil
	r = send(t, lab, st)
	if got := sentSeq(t, bus, r.Exchange, "C", "CTX_C_S"); r.Code != "2.05" || got != 21 {
		t.Errorf("after the edit: %+v, seq %d, want 2.05 with 21", r, got)
	}
	// The server still remembers 20: a client pinned back to it is a replay.
	again := s.Steps[2]
	again.Token, again.MID, again.NonceReuse = "", nil, true
	if r := send(t, lab, again); r.Code != "4.01" || r.Payload != "Replay detected" {
		t.Errorf("sequence number 20 after the edit: %s %q, want 4.01 Replay detected", r.Code, r.Payload)
	}

	// Moving the context's own pin back under the same keys is refused.
	s3 := lab.Scenario()
	s3.Contexts[0].Seq = map[string]uint64{"C": 5}
	if err := lab.Apply(s3); err == nil || !strings.Contains(err.Error(), "must not be used twice") {
		t.Errorf("edit pinning C back to 5: %v, want a refusal", err)
	}
	// New keys start afresh: the pin applies.
	s4 := lab.Scenario()
	s4.Contexts[0].MasterSecret = "00112233445566778899aabbccddeeff"
	s4.Contexts[0].Seq = map[string]uint64{"C": 5}
	if err := lab.Apply(s4); err != nil {
		t.Fatal(err)
	}
	if r := send(t, lab, st); r.Code != "2.05" || sentSeq(t, bus, r.Exchange, "C", "CTX_C_S") != 5 {
		t.Errorf("new keys: %+v, want 2.05 with 5", r)
	}
}

// TestSeqPinBackRefused: a step that pins a used number is refused before
// anything is sent, unless it says nonce_reuse; then the trace marks the
// reuse and shows the XOR of the two ciphertexts, which equals the XOR of
// the plaintexts.
func TestSeqPinBackRefused(t *testing.T) {
	s := builtinScenario(t, "error-nonce-reuse")
	lab, bus := startLab(t, s)
	first := send(t, lab, s.Steps[0])
	st := s.Steps[1]
	st.NonceReuse = false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := lab.Send(ctx, st)
	if err == nil || !strings.Contains(err.Error(), "nonce_reuse") || r.Exchange != 0 {
		t.Fatalf("pin back without nonce_reuse: %v %+v, want a refusal before any exchange", err, r)
	}
	second := send(t, lab, s.Steps[1])
	if second.Code != "4.01" {
		t.Fatalf("%+v", second)
	}
	var marked, xor string
	for _, e := range eventsOf(bus, trace.TypeDecision, second.Exchange) {
		if e.Decision.Rule != trace.RuleSequence {
			continue
		}
		if strings.Contains(e.Decision.Outcome, "reuses a nonce on purpose") {
			marked = e.Decision.Section
		}
		if _, rest, ok := strings.Cut(e.Decision.Outcome, "XOR to "); ok {
			xor, _, _ = strings.Cut(rest, ",")
		}
	}
	if marked != "RFC 8613 7.2" {
		t.Errorf("no decision marking the reuse")
	}
	var p [2][]byte
	for i, ex := range []int{first.Exchange, second.Exchange} {
		for _, e := range eventsOf(bus, trace.TypeLayer, ex) {
			if e.Node == "C" && e.Layer_.Action == trace.LayerApplied {
				p[i] = e.Layer_.Report.Plaintext
			}
		}
	}
	want := make([]byte, min(len(p[0]), len(p[1])))
	for i := range want {
		want[i] = p[0][i] ^ p[1][i]
	}
	if got, _ := hex.DecodeString(xor); len(want) == 0 || !bytes.Equal(got, want) {
		t.Errorf("XOR of the ciphertexts %q, want the plaintexts' XOR %x", xor, want)
	}
}
