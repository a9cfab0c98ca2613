package nodes

import (
	"encoding/hex"
	"testing"

	"oscore-lab/oscore"
)

// TestResponsePartialIVOnTheWire: a context with response_piv makes its
// responder protect responses with a Partial IV of its own, its Sender
// Sequence Number (RFC 8613 8.3, C.8; draft 2.5.1), and a context without
// it reuses the request's nonce and sends an empty OSCORE option (RFC 8613
// 6.1). Checked in the OSCORE option of each leg's response datagram of
// example B.2, where S answers under CTX_C_S and, outside it, CTX_P_S.
func TestResponsePartialIVOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name string
		ctx  string // context given response_piv and S's pinned sequence number
		seq  uint64
		leg0 []string // response OSCORE option on C-P per request (CTX_C_S's)
		leg1 []string // response OSCORE option on P-S per request (CTX_P_S's)
	}{
		{"none", "", 0, []string{"", ""}, []string{"", ""}},
		{"end-to-end", "CTX_C_S", 9, []string{"0109", "010a"}, []string{"", ""}},
		{"hop", "CTX_P_S", 255, []string{"", ""}, []string{"01ff", "020100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := builtinScenario(t, "draft-b2")
			for i := range s.Contexts {
				if c := &s.Contexts[i]; c.Name == tc.ctx {
					c.ResponsePIV = true
					if c.Seq == nil {
						c.Seq = map[string]uint64{}
					}
					c.Seq["S"] = tc.seq
				}
			}
			lab, bus := startLab(t, s)
			st := s.Steps[0]
			st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
			for i := range 2 {
				r := send(t, lab, st)
				if r.Code != "2.05" || r.Payload != "0" || !r.OK {
					t.Fatalf("request %d: %+v", i, r)
				}
				dg := datagrams(bus, r.Exchange)
				for hop, want := range []string{tc.leg0[i], tc.leg1[i]} {
					_, resp := legDatagrams(t, dg, hop)
					ov, err := decode(t, resp.Bytes).Options.GetBytes(optOSCORE)
					if err != nil {
						t.Fatalf("request %d leg %d: response without OSCORE option: %x", i, hop, []byte(resp.Bytes))
					}
					if got := hex.EncodeToString(ov); got != want {
						t.Errorf("request %d leg %d: response OSCORE option %q, want %q", i, hop, got, want)
					}
					if p, err := oscore.ParseOption(ov); err != nil || p.KID != nil {
						t.Errorf("request %d leg %d: response option %x carries a kid or does not parse (%v)", i, hop, ov, err)
					}
				}
			}
		})
	}
}
