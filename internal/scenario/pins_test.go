package scenario

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// The RFC 8613 scenarios must pin exactly what Appendix C prints, so that
// the lab's bytes on the wire can equal the RFC's. The reference values
// come from testdata/rfc8613-vectors.json, recomputed from the RFC text.
func TestRFCScenariosPinAppendixC(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/rfc8613-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		KeyDerivation []struct {
			ID     string
			Inputs struct {
				MasterSecret string  `json:"master_secret"`
				MasterSalt   string  `json:"master_salt"`
				SenderID     string  `json:"sender_id"`
				RecipientID  string  `json:"recipient_id"`
				IDContext    *string `json:"id_context"`
			}
		} `json:"key_derivation"`
		Requests []struct {
			ID      string
			From    string `json:"security_context_from"`
			Decoded struct {
				MessageID string `json:"message_id"`
				Token     string
			} `json:"unprotected_request_decoded"`
			Sender struct {
				Seq uint64 `json:"sender_sequence_number"`
			} `json:"sender_context"`
			KIDContext *string `json:"kid_context"`
		}
		Responses []struct {
			ID        string
			PartialIV *string `json:"partial_iv"`
			Sender    struct {
				Seq uint64 `json:"sender_sequence_number"`
			} `json:"sender_context"`
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	type want struct{ request, response string }
	for name, w := range map[string]want{
		"rfc8613-c4-c7": {"C.4", "C.7"}, "rfc8613-c5": {"C.5", ""}, "rfc8613-c6": {"C.6", ""}, "rfc8613-c8": {"C.4", "C.8"},
	} {
		s, ok := Builtin(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		ctx, st := s.Contexts[0], s.Steps[0]
		for _, req := range v.Requests {
			if req.ID != w.request {
				continue
			}
			mid, _ := strconv.ParseUint(req.Decoded.MessageID, 16, 16)
			if st.MID == nil || uint64(*st.MID) != mid || st.Token != req.Decoded.Token {
				t.Errorf("%s: MID/token %v/%s, want %#x/%s", name, st.MID, st.Token, mid, req.Decoded.Token)
			}
			if ctx.Seq["C"] != req.Sender.Seq {
				t.Errorf("%s: client seq %d, want %d", name, ctx.Seq["C"], req.Sender.Seq)
			}
			if ctx.SendIDContext != (req.KIDContext != nil) {
				t.Errorf("%s: send_id_context %v, want %v", name, ctx.SendIDContext, req.KIDContext != nil)
			}
			if st.Method != "GET" || st.URI != "coap://localhost/tv1" || len(st.Route) != 0 {
				t.Errorf("%s: want GET coap://localhost/tv1 sent directly", name)
			}
			for _, kd := range v.KeyDerivation {
				if kd.ID != req.From {
					continue
				}
				in := kd.Inputs
				if ctx.MasterSecret != in.MasterSecret || ctx.MasterSalt != in.MasterSalt ||
					ctx.A.Node != "C" || ctx.A.SenderID != in.SenderID || ctx.A.RecipientID != in.RecipientID {
					t.Errorf("%s: context differs from %s", name, kd.ID)
				}
				if (ctx.IDContext == nil) != (in.IDContext == nil) || (in.IDContext != nil && *ctx.IDContext != *in.IDContext) {
					t.Errorf("%s: id_context differs from %s", name, kd.ID)
				}
			}
		}
		for _, resp := range v.Responses {
			if resp.ID != w.response {
				continue
			}
			if ctx.Seq["S"] != resp.Sender.Seq {
				t.Errorf("%s: server seq %d, want %d", name, ctx.Seq["S"], resp.Sender.Seq)
			}
			if ctx.ResponsePIV != (resp.PartialIV != nil) {
				t.Errorf("%s: response_piv %v, but %s has a Partial IV: %v", name, ctx.ResponsePIV, resp.ID, resp.PartialIV != nil)
			}
		}
		if e := st.Expect; e.Code != "2.05" || e.Payload == nil || *e.Payload != "Hello World!" {
			t.Errorf("%s: want 2.05 \"Hello World!\"", name)
		}
	}
}

// The Appendix B scenarios pin the figures' Sender IDs, tokens and Partial
// IV labels (31, 42, 53, 75 taken as decimal sequence numbers).
func TestDraftScenariosPinFigures(t *testing.T) {
	type pin struct {
		ctx, node, sid string
		seq            uint64
	}
	tests := []struct {
		name   string
		tokens []string
		pins   []pin
	}{
		{"draft-b1", []string{"8c", "7b"}, []pin{{"CTX_C_P", "C", "20", 31}, {"CTX_C_S", "C", "5f", 42}}},
		{"draft-b2", []string{"8c", "7b"}, []pin{{"CTX_C_S", "C", "5f", 42}, {"CTX_P_S", "P", "d4", 31}}},
		{"draft-b3", []string{"8c", "7b"}, []pin{{"CTX_C_P", "C", "20", 31}, {"CTX_C_S", "C", "5f", 42}, {"CTX_P_S", "P", "d4", 53}}},
		{"draft-b6", []string{"8c", "7b", "6a"}, []pin{{"CTX_C_P1", "C", "20", 31}, {"CTX_C_S", "C", "5f", 42}, {"CTX_P1_P2", "P1", "d4", 53}, {"CTX_P2_S", "P2", "77", 75}}},
		{"draft-b7", []string{"8c", "7b"}, []pin{{"CTX_C_P", "C", "20", 31}, {"CTX_P_S", "P", "d4", 42}}},
		{"draft-b8", []string{"8c", "7b"}, []pin{{"CTX_C_P", "C", "20", 31}, {"CTX_C_S", "C", "5f", 42}, {"CTX_P_S", "P", "d4", 53}}},
	}
	for _, tc := range tests {
		s, ok := Builtin(tc.name)
		if !ok {
			t.Fatalf("%s missing", tc.name)
		}
		st := s.Steps[0]
		tokens := append([]string{st.Token}, st.HopTokens...)
		if len(tokens) != len(tc.tokens) {
			t.Errorf("%s: tokens %v, want %v", tc.name, tokens, tc.tokens)
		}
		for i := range min(len(tokens), len(tc.tokens)) {
			if tokens[i] != tc.tokens[i] {
				t.Errorf("%s: tokens %v, want %v", tc.name, tokens, tc.tokens)
			}
		}
		byName := map[string]Context{}
		for _, c := range s.Contexts {
			byName[c.Name] = c
		}
		for _, p := range tc.pins {
			c, ok := byName[p.ctx]
			if !ok {
				t.Errorf("%s: no context %s", tc.name, p.ctx)
				continue
			}
			end := c.A
			if c.B.Node == p.node {
				end = c.B
			}
			if end.Node != p.node || end.SenderID != p.sid || c.Seq[p.node] != p.seq {
				t.Errorf("%s %s: %s sends with kid %s seq %d, want kid %s seq %d", tc.name, p.ctx, end.Node, end.SenderID, c.Seq[p.node], p.sid, p.seq)
			}
		}
		if e := st.Expect; e.Code != "2.05" || e.Payload == nil || *e.Payload != "0" || st.Method != "GET" {
			t.Errorf("%s: want GET answered 2.05 \"0\"", tc.name)
		}
		if !contains([]string{"coap://example.com/alarm_status", "coap://dev.example/alarm_status", "coap://127.0.0.1/dev1/alarm_status"}, st.URI) {
			t.Errorf("%s: unexpected URI %s", tc.name, st.URI)
		}
	}
}
