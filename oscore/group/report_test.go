package group

import (
	"encoding/json"
	"strings"
	"testing"

	"oscore-lab/oscore"
)

// TestReportShowsGroupLayer: a group-mode request's report carries what a
// tracer shows for an RFC 8613 layer and the group's additions (RFC 10021
// 3.3, 3.4, 4.1, 4.2), in JSON too, and Redact clears the group key.
func TestReportShowsGroupLayer(t *testing.T) {
	_, cli, srv := crossChecked(t)
	_ = cli.SetSenderSeq(5)
	req, _, rep, err := ProtectRequest(cli, getTemp(), ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := rep.Complete().Group
	for what, ok := range map[string]bool{
		"mode":              g.Mode == "group" && g.FlagByte == "39",
		"option":            rep.Option == "[group, kid:25, piv:05, kidctx:44616c]" && rep.OuterCode == "0.02" && rep.InnerCode == "0.01",
		"key label":         g.Key.Which == "Sender Key of 25" && g.Key.InfoDiag == `[h'25', h'44616c', 10, "Key", 16]`,
		"nonce parts":       g.Nonce.PIVFrom == "own" && g.Nonce.PaddedPIV.String() == "0000000005" && g.Nonce.PaddedIDPIV.String() == "0100000000000025" && len(g.Nonce.CommonIV) == 13,
		"aad diag":          strings.HasPrefix(g.AADDiag, "[1, [10, 10, -8, -27], h'25', h'05', h'', h'44616c', h'39050344616c25', h'…' (sender_cred, 54 bytes, sha256 "),
		"keystream":         g.KeystreamInfoDiag == "[h'25', h'44616c', true, 64]" && g.KeystreamSalt.String() == "05" && len(g.Keystream) == 64,
		"countersign":       strings.HasPrefix(g.CountersignDiag, `["CounterSignature0", h'', h'', << aad_array (207 bytes) >>, h'`) && g.SignatureAlg == "EdDSA",
		"options rows":      len(rep.Options) == 1 && rep.Options[0].Name == "Uri-Path" && rep.Options[0].Where == "inner",
		"no RFC 8613 nonce": rep.Nonce.Nonce == nil,
	} {
		if !ok {
			t.Errorf("report %s: %+v", what, g)
		}
	}
	_, _, srep, err := UnprotectRequest(req, lookupOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	sg := srep.Complete().Group
	if !strings.HasPrefix(sg.Verification, "countersignature verified with the credential of 25, then decrypted") || sg.Key.Which != "Recipient Key of 25" || len(srep.Options) == 0 {
		t.Errorf("server report: %q %q %d rows", sg.Verification, sg.Key.Which, len(srep.Options))
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"group":{"mode":"group","flag_byte":"39"`, `"keystream_info":"8441254344616cf51840"`, `"encrypted_signature":"a4e3dd90`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	var back oscore.Report
	if err := json.Unmarshal(b, &back); err != nil || back.Group == nil || back.Group.Signature.String() != g.Signature.String() {
		t.Fatalf("JSON round trip: %v", err)
	}
	rep.Redact()
	if rep.Group.Key.Key != nil {
		t.Fatal("Redact left the group key")
	}
	if _, _, again, _ := ProtectRequest(cli, getTemp(), ProtectOptions{}); again.Complete().Group.Key.Key == nil {
		t.Fatal("Redact cleared the context's key")
	}
}
