package group

import (
	"bytes"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"oscore-lab/oscore"
)

// CheckRequestSignature verifies the countersignature of a group-mode
// request without decrypting it, as an external signature checker does
// (RFC 10021 7.5, e.g. a proxy): it needs the Common Context (algorithms,
// Signature Encryption Key, Group Manager credential) and the sender's
// credential in a Recipient Context of c, and no Sender or Recipient Key
// is used. It returns the group part of a report with the verification.
func CheckRequestSignature(c *Context, m message.Message) (*oscore.GroupReport, error) {
	raw, ov, err := groupOption(c, &m)
	if err != nil {
		return nil, err
	}
	if ov.PartialIV == nil || ov.KID == nil || ov.KIDContext == nil {
		return nil, oscore.ErrDecodeCOSE.WithDetail("group request without Partial IV, kid or kid context (RFC 10021 3.2)")
	}
	return c.checkSignature(m.Payload, raw, ov.KID, ov.KID, ov.PartialIV, true, aadInput{reqKID: ov.KID, reqPIV: ov.PartialIV, reqKIDContext: ov.KIDContext})
}

// CheckResponseSignature verifies a group-mode response's countersignature
// for a checker that saw its request: reqKID, reqPIV and reqKIDContext are
// the request's (RFC 10021 3.4, 7.5). The response must carry kid.
func CheckResponseSignature(c *Context, m message.Message, reqKID, reqPIV, reqKIDContext []byte) (*oscore.GroupReport, error) {
	raw, ov, err := groupOption(c, &m)
	if err != nil {
		return nil, err
	}
	if ov.KID == nil {
		return nil, oscore.ErrDecodeCOSE.WithDetail("group-mode response without kid (RFC 10021 3.2)")
	}
	idPIV, piv := reqKID, reqPIV
	if ov.PartialIV != nil {
		idPIV, piv = ov.KID, ov.PartialIV
	}
	return c.checkSignature(m.Payload, raw, ov.KID, idPIV, piv, false, aadInput{reqKID: reqKID, reqPIV: reqPIV, reqKIDContext: reqKIDContext})
}

// groupOption reads a group-mode message's OSCORE option (RFC 10021 4.1, 6).
func groupOption(c *Context, m *message.Message) ([]byte, oscore.OptionValue, error) {
	raw, err := oscore.FindOSCORE(m)
	if err != nil {
		return nil, oscore.OptionValue{}, err
	}
	ov, err := oscore.ParseOption(raw)
	if err != nil {
		return nil, ov, err
	}
	if !ov.Group || !c.groupMode {
		return nil, ov, oscore.ErrDecodeCOSE.WithDetail("only group-mode messages of a group using the group mode carry a countersignature (RFC 10021 6, 7.5)")
	}
	if ov.KIDContext != nil && !bytes.Equal(ov.KIDContext, c.p.GroupID) {
		return nil, ov, oscore.ErrContextNotFound.WithDetail(fmt.Sprintf("Gid %x is not this group's", ov.KIDContext))
	}
	return raw, ov, nil
}

func (c *Context) checkSignature(payload, raw, sender, idPIV, piv []byte, request bool, aad aadInput) (*oscore.GroupReport, error) {
	r := c.Recipient(sender)
	if r == nil {
		return nil, oscore.ErrNoCredential.WithDetail(fmt.Sprintf("no credential for %x (RFC 10021 7.5)", sender))
	}
	l := c.p.Sig.SigLen()
	if len(payload) < l+c.p.GroupEnc.TagLen() {
		return nil, oscore.ErrDecryptionFailed.WithDetail("payload too short for a countersignature (RFC 10021 4.1)")
	}
	aad.optVal, aad.senderCred = raw, r.cred.raw
	arr := c.aadArray(&aad)
	ct, encSig := payload[:len(payload)-l], payload[len(payload)-l:]
	g := &oscore.GroupReport{Mode: GroupMode.String(), GroupID: c.p.GroupID, SenderID: bstr(sender), Algorithm: c.p.GroupEnc.String(),
		CommonIVLen: len(c.commonIV), AADArray: arr, AADDiag: c.aadDiag(&aad, r.cred.fp), ResponseNumber: -1}
	if len(raw) > 0 {
		g.FlagByte = fmt.Sprintf("%02x", raw[0])
	}
	ks, err := c.keystream(g, idPIV, piv, request)
	if err != nil {
		return g, err
	}
	sig := xor(nil, encSig, ks)
	cs := countersignStructure(arr, ct)
	g.CountersignStructure, g.CountersignDiag, g.Signature, g.EncryptedSignature = cs, countersignDiag(arr, ct), sig, bytes.Clone(encSig)
	if !r.cred.verify(c.p.Sig, cs, sig) {
		g.Verification = fmt.Sprintf("external check: countersignature does not verify with the credential of %x", sender)
		return g, oscore.ErrDecryptionFailed.WithDetail(fmt.Sprintf("countersignature of %x does not verify (RFC 10021 7.5)", sender))
	}
	g.Verification = fmt.Sprintf("external check: countersignature verified with the credential of %x; not decrypted (RFC 10021 7.5)", sender)
	return g, nil
}
