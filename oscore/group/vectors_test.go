package group

import (
	"testing"

	"oscore-lab/oscore"
)

// TestCrossCheckedDerivation: keys, IV, the Ed25519 to X25519 map, the
// shared secret and both pairwise keys of the set lab-crosschecked
// (RFC 10021 2.1.4, 2.1.9, 2.2, 2.5.1, 2.5.2.1).
func TestCrossCheckedDerivation(t *testing.T) {
	v, cli, srv := crossChecked(t)
	equalHex(t, "common IV", cli.CommonIV(), v.hex(t, "derived.common_iv"))
	equalHex(t, "Signature Encryption Key", cli.SignatureEncryptionKey(), v.hex(t, "derived.signature_encryption_key"))
	equalHex(t, "client Sender Key", cli.SenderKey(), v.hex(t, "derived.client_sender_key"))
	equalHex(t, "server Sender Key", srv.SenderKey(), v.hex(t, "derived.server_sender_key"))
	equalHex(t, "server's Recipient Key for 25", srv.Recipient([]byte{0x25}).Key(), v.hex(t, "derived.client_sender_key"))
	equalHex(t, "client X25519 scalar", clamp(cli.p.SenderKey.X25519Scalar()), v.hex(t, "derived.client_x25519_private_scalar"))
	u, err := cli.Recipient([]byte{0x52}).Credential().ECDH()
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, "server u", u.Bytes(), v.hex(t, "derived.server_x25519_public_u"))
	u, _ = srv.Recipient([]byte{0x25}).Credential().ECDH()
	equalHex(t, "client u", u.Bytes(), v.hex(t, "derived.client_x25519_public_u"))
	send, recv, secret, err := cli.Recipient([]byte{0x52}).PairwiseKeys()
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, "shared secret", secret, v.hex(t, "derived.shared_secret"))
	equalHex(t, "client Pairwise Sender Key", send, v.hex(t, "derived.client_pairwise_sender_key"))
	equalHex(t, "client Pairwise Recipient Key", recv, v.hex(t, "derived.server_pairwise_sender_key"))
	ssend, srecv, ssecret, err := srv.Recipient([]byte{0x25}).PairwiseKeys()
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, "server's shared secret", ssecret, secret)
	equalHex(t, "server Pairwise Sender Key", ssend, recv)
	equalHex(t, "server Pairwise Recipient Key", srecv, send)
}

// clamp applies X25519's clamping (RFC 7748 5), as the vectors print it.
func clamp(k []byte) []byte {
	k = append([]byte{}, k...)
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
	return k
}

// TestCrossCheckedMessages reproduces every message of lab-crosschecked
// byte for byte: a group-mode request and its group-mode response reusing
// the request nonce, a pairwise request and its pairwise response without
// and with kid (RFC 10021 7, 8), and checks each report against the
// printed intermediate values.
func TestCrossCheckedMessages(t *testing.T) {
	v, cli, srv := crossChecked(t)
	msgs := func(name string) vectorSet { return vectorSet(v.get(t, "messages."+name).(map[string]any)) }

	check := func(what string, rep *oscore.Report, mv vectorSet, groupMode bool) {
		t.Helper()
		g := rep.Complete().Group
		if g == nil {
			t.Fatalf("%s: report has no group part", what)
		}
		equalHex(t, what+" aad_array", g.AADArray, mv.hex(t, "aad_array"))
		equalHex(t, what+" aad", g.AAD, mv.hex(t, "aad"))
		equalHex(t, what+" nonce", g.Nonce.Nonce, mv.hex(t, "nonce"))
		equalHex(t, what+" key", g.Key.Key, mv.hex(t, "encryption_key"))
		equalHex(t, what+" plaintext", rep.Plaintext, mv.hex(t, "plaintext"))
		equalHex(t, what+" ciphertext", rep.Ciphertext, mv.hex(t, "ciphertext"))
		if groupMode {
			equalHex(t, what+" countersign_structure", g.CountersignStructure, mv.hex(t, "countersign_structure"))
			equalHex(t, what+" signature", g.Signature, mv.hex(t, "signature"))
			equalHex(t, what+" keystream_info", g.KeystreamInfo, mv.hex(t, "keystream_info"))
			equalHex(t, what+" keystream", g.Keystream, mv.hex(t, "keystream"))
			equalHex(t, what+" encrypted_signature", g.EncryptedSignature, mv.hex(t, "encrypted_signature"))
		}
	}

	// Group mode request, PIV 5.
	if err := cli.SetSenderSeq(5); err != nil {
		t.Fatal(err)
	}
	req, cx, rep, err := ProtectRequest(cli, getTemp(), ProtectOptions{Mode: GroupMode})
	if err != nil {
		t.Fatal(err)
	}
	mv := msgs("group_request")
	equalHex(t, "group request option", optionOf(t, req), mv.hex(t, "oscore_option"))
	equalHex(t, "group request payload", req.Payload, mv.hex(t, "payload"))
	check("group request", rep, mv, true)
	if rep.Complete().Group.FlagByte != "39" || rep.Option != "[group, kid:25, piv:05, kidctx:44616c]" {
		t.Errorf("flag byte %q option %q", rep.Group.FlagByte, rep.Option)
	}

	got, sx, srep, err := UnprotectRequest(req, lookupOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != getTemp().Code || len(got.Options) != 1 || string(got.Options[0].Value) != "temp" {
		t.Fatalf("unprotected request %s", oscore.FormatMessage(got))
	}
	check("verified group request", srep, mv, true)

	// Group mode response, first response: no Partial IV, kid 52.
	resp, rrep, err := ProtectResponse(sx, content215(), ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mv = msgs("group_response")
	equalHex(t, "group response option", optionOf(t, resp), mv.hex(t, "oscore_option"))
	equalHex(t, "group response payload", resp.Payload, mv.hex(t, "payload"))
	check("group response", rrep, mv, true)
	back, crep, err := UnprotectResponse(cx, resp)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Payload) != "21.5" {
		t.Fatalf("response payload %q", back.Payload)
	}
	check("verified group response", crep, mv, true)

	// Pairwise request, PIV 5 again (a fresh server, as the vectors are).
	_, cli, srv = crossChecked(t)
	_ = cli.SetSenderSeq(5)
	req, cx, rep, err = ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}})
	if err != nil {
		t.Fatal(err)
	}
	mv = msgs("pairwise_request")
	equalHex(t, "pairwise request option", optionOf(t, req), mv.hex(t, "oscore_option"))
	equalHex(t, "pairwise request payload", req.Payload, mv.hex(t, "payload"))
	check("pairwise request", rep, mv, false)
	_, sx, srep, err = UnprotectRequest(req, lookupOf(srv))
	if err != nil {
		t.Fatal(err)
	}
	check("verified pairwise request", srep, mv, false)

	// The response without kid, then (to a fresh request with the same
	// Partial IV) with kid 52; both reuse the request nonce.
	respond := func(name string, sx *Exchange, cx *Exchange, o ProtectOptions) {
		t.Helper()
		resp, rrep, err := ProtectResponse(sx, content215(), o)
		if err != nil {
			t.Fatal(err)
		}
		mv := msgs(name)
		equalHex(t, name+" option", optionOf(t, resp), mv.hex(t, "oscore_option"))
		equalHex(t, name+" payload", resp.Payload, mv.hex(t, "payload"))
		check(name, rrep, mv, false)
		_, crep, err := UnprotectResponse(cx, resp)
		if err != nil {
			t.Fatal(err)
		}
		check("verified "+name, crep, mv, false)
	}
	respond("pairwise_response", sx, cx, ProtectOptions{})
	_, cli, srv = crossChecked(t)
	_ = cli.SetSenderSeq(5)
	req, cx, _, _ = ProtectRequest(cli, getTemp(), ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}})
	if _, sx, _, err = UnprotectRequest(req, lookupOf(srv)); err != nil {
		t.Fatal(err)
	}
	respond("pairwise_response_with_kid", sx, cx, ProtectOptions{IncludeKID: true})
}
