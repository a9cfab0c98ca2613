package group

import (
	"errors"
	"testing"

	"oscore-lab/oscore"
)

// TestExternalSignatureChecker: a checker holding the Common Context and
// the members' credentials, but no Sender Context, verifies group-mode
// requests and responses without decrypting them and refuses a flipped
// ciphertext byte (RFC 10021 7.5).
func TestExternalSignatureChecker(t *testing.T) {
	v, cli, srv := crossChecked(t)
	checker := member(t, v, "checker", nil, nil, nil, map[string][]byte{
		"\x25": v.hex(t, "common_context.client_cred_ccs"), "\x52": v.hex(t, "common_context.server_cred_ccs")})
	_ = cli.SetSenderSeq(5)
	req, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{})
	g, err := CheckRequestSignature(checker, req)
	mv := vectorSet(v.get(t, "messages.group_request").(map[string]any))
	if err != nil || g.Signature.String() != mv.get(t, "signature") {
		t.Fatalf("request: %v", err)
	}
	if _, err := CheckRequestSignature(checker, withOSCORE(req, optionOf(t, req), flipped(req.Payload, 2))); !errors.Is(err, oscore.ErrDecryptionFailed) {
		t.Fatalf("flipped ciphertext: %v", err)
	}
	_, sx, _, _ := UnprotectRequest(req, lookupOf(srv))
	resp, _, _ := ProtectResponse(sx, content215(), ProtectOptions{})
	if _, err := CheckResponseSignature(checker, resp, []byte{0x25}, []byte{0x05}, cli.GroupID()); err != nil {
		t.Fatalf("response: %v", err)
	}
	if _, err := CheckResponseSignature(checker, resp, []byte{0x25}, []byte{0x06}, cli.GroupID()); !errors.Is(err, oscore.ErrDecryptionFailed) {
		t.Fatalf("response checked against another request: %v", err)
	}
	preq, _, _, _ := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}})
	if _, err := CheckRequestSignature(checker, preq); !errors.Is(err, oscore.ErrDecodeCOSE) {
		t.Fatalf("pairwise request: %v", err)
	}
}
