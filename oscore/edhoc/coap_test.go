package edhoc

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// TestForwardFlowPayloads frames both traces' messages as RFC 9528 A.2.1
// requests and reads them back.
func TestForwardFlowPayloads(t *testing.T) {
	v := loadVectors(t)
	for _, tr := range v.Traces {
		p := func(k string) []byte {
			return unhex(t, tr.Payloads[k].(map[string]any)["payload"].(string))
		}
		m1, m3 := unhex(t, tr.Message1["message_1"]), unhex(t, tr.Message3["message_3"])
		cR := unhex(t, tr.Inputs.Responder["c_r_raw"])
		if got := RequestPayload(true, nil, m1); !bytes.Equal(got, p("request_1")) {
			t.Errorf("%s request_1 = %x", tr.ID, got)
		}
		if got := RequestPayload(false, cR, m3); !bytes.Equal(got, p("request_3")) {
			t.Errorf("%s request_3 = %x", tr.ID, got)
		}
		first, _, msg, err := ParseRequestPayload(p("request_1"))
		if err != nil || !first || !bytes.Equal(msg, m1) {
			t.Errorf("%s request_1 parsed as %v %x %v", tr.ID, first, msg, err)
		}
		first, id, msg, err := ParseRequestPayload(p("request_3"))
		if err != nil || first || !bytes.Equal(id, cR) || !bytes.Equal(msg, m3) {
			t.Errorf("%s request_3 parsed as %v %x %x %v", tr.ID, first, id, msg, err)
		}
		if got := p("combined_request_payload_prefix"); !bytes.Equal(got, m3) {
			t.Errorf("%s combined prefix %x", tr.ID, got)
		}
	}
	for _, bad := range []string{"", "f5", "410e03", "27", "60"} {
		if _, _, _, err := ParseRequestPayload(unhexStr(bad)); err == nil {
			t.Errorf("request payload %q accepted", bad)
		}
	}
}

// TestRFC9668Example splits the 46-byte combined request of RFC 9668 3.4:
// OSCORE option 09 00 01 (kid 01 = C_R), the EDHOC option encoded as c0
// after it, a 19-byte message_3 and a 13-byte OSCORE ciphertext.
func TestRFC9668Example(t *testing.T) {
	raw := unhexStr("4402" + "5d1f" + "00003974" + "93090001" + "c0" + "ff" +
		"52d5535f3147e85f1cfacd9e78abf9e0a81bbf" + "612f1092f1776f1c1668b3825e")
	if len(raw) != 46 {
		t.Fatalf("example of %d bytes", len(raw))
	}
	m := message.Message{Options: make(message.Options, 0, 8)}
	if _, err := coder.DefaultCoder.Decode(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Options) != 2 || m.Options[0].ID != 9 || m.Options[1].ID != OptionEDHOC || len(m.Options[1].Value) != 0 {
		t.Fatalf("options %v", m.Options)
	}
	m3, ct, err := SplitCombinedPayload(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(m3) != "52d5535f3147e85f1cfacd9e78abf9e0a81bbf" || hex.EncodeToString(ct) != "612f1092f1776f1c1668b3825e" {
		t.Fatalf("split %x | %x", m3, ct)
	}
	if got := CombinedPayload(m3, ct); !bytes.Equal(got, m.Payload) {
		t.Fatalf("rebuilt %x", got)
	}
	for _, bad := range []string{"", "52d5", "4100", "01ff"} {
		if _, _, err := SplitCombinedPayload(unhexStr(bad)); err == nil {
			t.Errorf("combined payload %q accepted", bad)
		}
	}
}
