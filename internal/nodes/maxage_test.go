package nodes

import (
	"testing"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// TestOSCOREErrorKeepsOuterMaxAge: S removes the P-S layer, finds the C-S
// request a replay and answers 4.01 with Max-Age 0 (RFC 8613 8.2). That
// Max-Age is for the caches on the path (RFC 8613 4.1.3.1): it stays outer
// in the P-S layer S re-applies and in the C-P layer P re-applies.
func TestOSCOREErrorKeepsOuterMaxAge(t *testing.T) {
	s := builtinScenario(t, "draft-b3")
	lab, bus := startLab(t, s)
	st := s.Steps[0]
	st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
	send(t, lab, st)
	st.Seq = []scenario.SeqPin{{Context: "CTX_C_S", Node: "C", Value: 42}}
	st.NonceReuse = true
	r := send(t, lab, st)
	if r.Code != "4.01" {
		t.Fatalf("%+v", r)
	}
	var responses int
	for _, d := range datagrams(bus, r.Exchange) {
		if d.Dir != trace.DirResponse {
			continue
		}
		responses++
		m := decode(t, d.Bytes)
		if !m.Options.HasOption(optOSCORE) {
			t.Errorf("%s -> %s: response not protected", d.From, d.To)
		}
		if v, err := m.Options.GetUint32(optMaxAge); err != nil || v != 0 {
			t.Errorf("%s -> %s: outer Max-Age %d (%v), want 0", d.From, d.To, v, err)
		}
	}
	if responses != 2 {
		t.Errorf("%d responses on the wire, want 2", responses)
	}
	var decided int
	for _, e := range eventsOf(bus, trace.TypeDecision, r.Exchange) {
		if e.Decision.Section == "RFC 8613 4.1.3.1, 8.2" {
			decided++
		}
	}
	if decided != 2 {
		t.Errorf("%d decisions citing RFC 8613 4.1.3.1, want one at S and one at P", decided)
	}
}
