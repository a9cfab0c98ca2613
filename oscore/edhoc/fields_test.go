package edhoc

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// traceSession runs trace 2 and returns both sides.
func traceSession(t *testing.T) (*Initiator, *Responder) {
	t.Helper()
	tr := loadVectors(t).Traces[1]
	ci, cr := tr.configs(t)
	ini, _ := NewInitiator(ci)
	res, _ := NewResponder(cr)
	m1, _ := ini.WriteMessage1()
	e := res.ReadMessage1(m1).(*Error)
	ini.ReadMessage2(e.Message())
	if err := ini.Retry(); err != nil {
		t.Fatal(err)
	}
	res, _ = NewResponder(cr)
	m1, _ = ini.WriteMessage1()
	if err := res.ReadMessage1(m1); err != nil {
		t.Fatal(err)
	}
	m2, _ := res.WriteMessage2()
	if err := ini.ReadMessage2(m2); err != nil {
		t.Fatal(err)
	}
	m3, _ := ini.WriteMessage3()
	if err := res.ReadMessage3(m3); err != nil {
		t.Fatal(err)
	}
	return ini, res
}

func fieldLine(fs []Field) string {
	var parts []string
	for _, f := range fs {
		s := f.Name + "=" + hex.EncodeToString(f.CBOR)
		if f.Value != nil {
			s += "(" + hex.EncodeToString(f.Value) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// TestMessageFields lists trace 2's messages item by item, as the tracer
// shows them, on the side that received each.
func TestMessageFields(t *testing.T) {
	ini, res := traceSession(t)
	tr := loadVectors(t).Traces[1]
	for _, c := range []struct {
		name string
		got  []Field
		want string
	}{
		{"message_1", res.MessageFields(1), "METHOD=03 SUITES_I=820602 G_X=58208af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3b6 C_I=37(37)"},
		{"message_2", ini.MessageFields(2), "G_Y_CIPHERTEXT_2=582b419701d7f00a26c2dc587a36dd752549f33763c893422c8ea0f955a13a4ff5d59862a1eef9e0e7e1886fcd " +
			"G_Y=5820419701d7f00a26c2dc587a36dd752549f33763c893422c8ea0f955a13a4ff5d5 CIPHERTEXT_2=4b9862a1eef9e0e7e1886fcd " +
			"C_R=27(27) ID_CRED_R=32(32) Signature_or_MAC_2=" + tr.Message2["signature_or_mac_2_cbor"]},
		{"message_3", res.MessageFields(3), "CIPHERTEXT_3=" + tr.Message3["message_3"] + " ID_CRED_I=2b(2b) Signature_or_MAC_3=" + tr.Message3["signature_or_mac_3_cbor"]},
	} {
		if got := fieldLine(c.got); got != c.want {
			t.Errorf("%s fields\n  %s\nwant\n  %s", c.name, got, c.want)
		}
	}
	if f3 := res.MessageFields(3); len(f3) != 3 || !strings.Contains(f3[1].Note, "{4: h'2b'}") {
		t.Errorf("message_3 ID_CRED_I note %q", f3[1].Note)
	}
	ef, err := ErrorFields([]byte{0x02, 0x02})
	if err != nil || fieldLine(ef) != "ERR_CODE=02 ERR_INFO=02" || ef[0].Note != "wrong selected cipher suite" {
		t.Errorf("error fields %s %v", fieldLine(ef), err)
	}
	pf, err := PlaintextFields(4, appendEAD(nil, []EADItem{{Label: 0}, {Label: -3, Value: []byte{9}, HasValue: true}}))
	if err != nil || fieldLine(pf) != "EAD_4=00 EAD_4=224109" || pf[1].Note != "critical item, label 3" {
		t.Errorf("EAD fields %s %v", fieldLine(pf), err)
	}
}

// TestStepsJSONAndRedaction writes steps as hex and hides secrets.
func TestStepsJSONAndRedaction(t *testing.T) {
	ini, _ := traceSession(t)
	steps := ini.Steps()
	var th2, prk Step
	for _, s := range steps {
		switch s.Name {
		case "th_2":
			th2 = s
		case "prk_2e":
			prk = s
		}
	}
	b, err := json.Marshal(th2)
	if err != nil || !strings.Contains(string(b), `"output":"356efd53771425e008f3fe3a86c83ff4c6b16e57028ff39d5236c182b202084b"`) {
		t.Fatalf("th_2 JSON %s %v", b, err)
	}
	if !prk.Secret || prk.Output == nil {
		t.Fatal("PRK_2e not recorded as secret")
	}
	for _, s := range Redacted(steps) {
		if s.Secret && s.Output != nil {
			t.Fatalf("%s not redacted", s.Name)
		}
		if s.Name == "th_2" && s.Output == nil {
			t.Fatal("public TH_2 redacted")
		}
	}
}
