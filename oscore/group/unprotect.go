package group

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"oscore-lab/oscore"
)

// Lookup finds the Group OSCORE Security Context for a request's kid
// context, the Gid (RFC 10021 3.2, 6). It returns nil, nil when there is
// none.
type Lookup func(gid []byte) (*Context, error)

// UnprotectRequest verifies and removes the Group OSCORE layer of request
// m (RFC 10021 6; 7.2 in group mode, 8.4 in pairwise mode). The Group Flag
// picks the mode; the kid context (the Gid) finds the context and the kid
// the Recipient Context, made on the fly when Params.Credentials allows.
// The replay window is checked first and updated only after success; in
// group mode the countersignature is verified before anything is
// decrypted, and a failure leaves the window alone (7.2). Errors carry
// the RFC's response: ErrDecodeCOSE 4.02, ErrContextNotFound 4.01,
// ErrReplay 4.01, ErrDecryptionFailed 4.00 "Decryption failed" (also for
// a bad countersignature, 7.2) — though a server SHOULD NOT answer a group
// request with an error at all (7).
func UnprotectRequest(m message.Message, lookup Lookup) (message.Message, *Exchange, *oscore.Report, error) {
	rep := oscore.NewReport("", "unprotect", "request")
	raw, err := oscore.FindOSCORE(&m)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	rep.SetOption(raw)
	ov, err := oscore.ParseOption(raw)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	if ov.PartialIV == nil || ov.KID == nil || ov.KIDContext == nil {
		return message.Message{}, nil, rep, oscore.ErrDecodeCOSE.WithDetail("Group OSCORE request without Partial IV, kid or kid context (RFC 10021 3.2)")
	}
	if lookup == nil {
		return message.Message{}, nil, rep, oscore.ErrContextNotFound.WithDetail("no context lookup")
	}
	c, err := lookup(ov.KIDContext)
	if err != nil || c == nil {
		d := fmt.Sprintf("no Group OSCORE context for Gid %x (RFC 10021 7.2)", ov.KIDContext)
		if err != nil {
			d += ": " + err.Error()
		}
		return message.Message{}, nil, rep, oscore.ErrContextNotFound.WithDetail(d)
	}
	rep.Context = c.name
	mode, err := c.modeOf(ov)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	if c.p.DetSenderID != nil && bytes.Equal(ov.KID, c.p.DetSenderID) {
		out, x, err := c.unprotectDeterministic(m, raw, ov, rep)
		if err != nil {
			return message.Message{}, nil, rep, err
		}
		return out, x, rep, nil
	}
	if c.p.SenderID != nil && bytes.Equal(ov.KID, c.p.SenderID) {
		return message.Message{}, nil, rep, oscore.ErrContextNotFound.WithDetail("request with our own Sender ID as kid (RFC 10021 7.2)")
	}
	if len(ov.KID) > c.maxIDLen {
		return message.Message{}, nil, rep, oscore.ErrDecodeCOSE.WithDetail("kid longer than the nonce allows (RFC 10021 2.2)")
	}
	r, made, err := c.recipientFor(ov.KID)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	out, x, err := c.unprotectRequest(m, raw, ov, mode, r, rep)
	c.dropIfMade(r, made, err)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	return out, x, rep, nil
}

// unprotectRequest verifies a request from r (RFC 10021 7.2, 8.4).
func (c *Context) unprotectRequest(m message.Message, raw []byte, ov oscore.OptionValue, mode Mode, r *Recipient, rep *oscore.Report) (message.Message, *Exchange, error) {
	seq := oscore.PIVValue(ov.PartialIV)
	if !r.replay.Check(seq) {
		return message.Message{}, nil, oscore.ErrReplay.WithDetail(fmt.Sprintf("sequence number %d from %x in group %x (RFC 10021 5.3)", seq, r.id, c.p.GroupID))
	}
	x := &Exchange{ctx: c, mode: mode, kid: bytes.Clone(ov.KID), piv: bytes.Clone(ov.PartialIV), kidCtx: bytes.Clone(ov.KIDContext), peer: r}
	in := openInput{mode: mode, request: true, raw: raw, idPIV: ov.KID, piv: ov.PartialIV, ownPIV: true, sender: r,
		aad: aadInput{reqKID: ov.KID, reqPIV: ov.PartialIV, reqKIDContext: ov.KIDContext, senderCred: r.cred.raw}}
	pt, g, err := c.open(m.Payload, &in, rep)
	defer attach(rep, g) // after the rows of the rebuilt message are recorded
	if err != nil {
		return message.Message{}, nil, err
	}
	if !r.replay.Accept(seq) {
		return message.Message{}, nil, oscore.ErrReplay.WithDetail(fmt.Sprintf("sequence number %d from %x (concurrent duplicate)", seq, r.id))
	}
	out, j, err := oscore.JoinRequest(m, pt, rep)
	if err != nil {
		return message.Message{}, nil, err
	}
	x.observe = j.Register
	x.long = mode == GroupMode || j.Observe
	return out, x, nil
}

// UnprotectResponse verifies and removes the Group OSCORE layer of
// response m to the request of x (RFC 10021 7.4 in group mode, 8.6 in
// pairwise mode). The replying server is the one named by kid, or, for a
// response without kid to a pairwise request, the server addressed. In a
// long exchange (group-mode or Observe request) each server's responses
// are ordered by its Response Number: at most one without Partial IV, the
// others increasing, all under the kid of its first (5.3.1, 7.4). Every
// failure is silent (oscore.ErrResponseNotVerified): the client sends
// nothing back.
func UnprotectResponse(x *Exchange, m message.Message) (message.Message, *oscore.Report, error) {
	if x == nil || x.ctx == nil {
		return message.Message{}, nil, oscore.Silent(errors.New("group: nil exchange"))
	}
	c := x.ctx
	rep := oscore.NewReport(c.name, "unprotect", "response")
	out, err := c.unprotectResponse(x, m, rep)
	if err != nil {
		return message.Message{}, rep, oscore.Silent(err)
	}
	return out, rep, nil
}

func (c *Context) unprotectResponse(x *Exchange, m message.Message, rep *oscore.Report) (_ message.Message, err error) {
	raw, err := oscore.FindOSCORE(&m)
	if err != nil {
		return message.Message{}, err
	}
	rep.SetOption(raw)
	ov, err := oscore.ParseOption(raw)
	if err != nil {
		return message.Message{}, err
	}
	mode, err := c.modeOf(ov)
	if err != nil {
		return message.Message{}, err
	}
	if ov.KIDContext != nil && !bytes.Equal(ov.KIDContext, c.p.GroupID) {
		return message.Message{}, oscore.ErrContextNotFound.WithDetail(fmt.Sprintf("response under Gid %x, the context has %x (RFC 10021 7.3: a rekeyed group)", ov.KIDContext, c.p.GroupID))
	}
	var server *Recipient
	kid := ov.KID
	switch {
	case kid != nil:
		if x.mode == PairwiseMode && x.peer != nil && !bytes.Equal(kid, x.peer.id) {
			return message.Message{}, oscore.ErrContextNotFound.WithDetail(fmt.Sprintf("response from kid %x to a pairwise request for %x (RFC 10021 7.4)", kid, x.peer.id))
		}
		var made bool
		if server, made, err = c.recipientFor(kid); err != nil {
			return message.Message{}, err
		}
		defer func() { c.dropIfMade(server, made, err) }()
	case x.peer != nil && x.mode == PairwiseMode:
		server, kid = x.peer, x.peer.id // assumed kid (RFC 10021 7.4)
	default:
		return message.Message{}, oscore.ErrDecodeCOSE.WithDetail("response to a group-mode request without kid (RFC 10021 3.2)")
	}
	if _, err := x.checkResponse(server, kid, ov.PartialIV, false); err != nil {
		return message.Message{}, err
	}
	in := openInput{mode: mode, raw: raw, idPIV: x.kid, piv: x.piv, sender: server,
		aad: aadInput{reqKID: x.kid, reqPIV: x.piv, reqKIDContext: x.kidCtx, senderCred: server.cred.raw}}
	if ov.PartialIV != nil {
		in.idPIV, in.piv, in.ownPIV = kid, ov.PartialIV, true
	}
	if x.det != nil {
		if h, ok := optionValue(m.Options, OptRequestHash); ok && !bytes.Equal(h, x.det.hash) {
			return message.Message{}, oscore.ErrDecodeCOSE.WithDetail("Request-Hash of the response differs from the request's (draft-ietf-core-cacheable-oscore 3.4.4)")
		}
		in.aad.options = x.det.classI
	}
	pt, g, err := c.open(m.Payload, &in, rep)
	defer attach(rep, g) // after the rows of the rebuilt message are recorded
	if err != nil {
		return message.Message{}, err
	}
	out, _, err := oscore.JoinResponse(withoutOption(m, OptRequestHash), pt, x.observe, rep)
	if err != nil {
		return message.Message{}, err
	}
	if x.det != nil { // restored: Class I, elided on the wire (3.4.4)
		out.Options = out.Options.Add(message.Option{ID: OptRequestHash, Value: bytes.Clone(x.det.hash)})
	}
	num, err := x.checkResponse(server, kid, ov.PartialIV, true)
	if err != nil {
		return message.Message{}, err
	}
	g.ResponseNumber = num
	return out, nil
}

// modeOf applies RFC 10021 6: the Group Flag asks for group mode, which
// needs the Group Encryption and Signature Algorithms; no flag asks for
// pairwise mode, which needs the AEAD and Key Agreement Algorithms.
func (c *Context) modeOf(ov oscore.OptionValue) (Mode, error) {
	if ov.Group {
		if !c.groupMode {
			return 0, oscore.ErrDecodeCOSE.WithDetail(fmt.Sprintf("Group Flag set, but group %x does not use the group mode (RFC 10021 6)", c.p.GroupID))
		}
		return GroupMode, nil
	}
	if !c.pairMode {
		return 0, oscore.ErrDecodeCOSE.WithDetail(fmt.Sprintf("Group Flag clear, but group %x does not use the pairwise mode (RFC 10021 6)", c.p.GroupID))
	}
	return PairwiseMode, nil
}

// openInput is one message's verification: its mode, the option as
// received, the nonce's (ID_PIV, Partial IV), the sender and the AAD
// elements.
type openInput struct {
	mode       Mode
	request    bool
	raw        []byte
	idPIV, piv []byte
	ownPIV     bool
	sender     *Recipient
	aad        aadInput
	detKey     cipher.AEAD
	detKeyAlg  oscore.AEADAlg
	key        *KeyDerivation
}

// open verifies and decrypts a payload (RFC 10021 7.2, 7.4, 8.4, 8.6). In
// group mode the payload is ciphertext || encrypted signature; the
// signature is recovered with the keystream and verified with the
// sender's credential before decryption with the Recipient Key.
func (c *Context) open(payload []byte, in *openInput, rep *oscore.Report) (pt []byte, g *oscore.GroupReport, err error) {
	in.aad.optVal = in.raw
	alg, aead, key := c.p.GroupEnc, in.sender.opener, &in.sender.key
	switch {
	case in.detKey != nil:
		alg, aead, key = in.detKeyAlg, in.detKey, in.key
	case in.mode == PairwiseMode:
		pw, err := in.sender.pairwise()
		if err != nil {
			return nil, nil, oscore.ErrContextNotFound.WithDetail(err.Error())
		}
		alg, aead, key = c.p.AEAD, pw.opener, &pw.recv
	}
	nonce, err := c.nonce(alg, in.idPIV, in.piv)
	if err != nil {
		return nil, nil, err
	}
	arr := c.aadArray(&in.aad)
	aad := encStructure(arr)
	si := sealInput{mode: in.mode, request: in.request, idPIV: in.idPIV, piv: in.piv, ownPIV: in.ownPIV, aad: in.aad}
	g = c.report(&si, alg, in.raw, nonce, arr, aad, key, in.sender.id, in.sender.cred.fp)
	ct := payload
	tag := alg.TagLen()
	if in.mode == GroupMode {
		l := c.p.Sig.SigLen()
		if len(payload) < l+tag {
			g.Verification = "payload too short for a ciphertext and a countersignature"
			return nil, g, oscore.ErrDecryptionFailed.WithDetail(fmt.Sprintf("group-mode payload of %d bytes, shorter than the %d-byte tag and %d-byte signature (RFC 10021 4.1)", len(payload), tag, l))
		}
		ct = payload[: len(payload)-l : len(payload)-l]
		encSig := payload[len(payload)-l:]
		ks, err := c.keystream(g, in.idPIV, in.piv, in.request)
		if err != nil {
			return nil, g, err
		}
		sig := xor(nil, encSig, ks)
		cs := countersignStructure(arr, ct)
		g.CountersignStructure, g.CountersignDiag = cs, countersignDiag(arr, ct)
		g.Signature, g.EncryptedSignature = sig, bytes.Clone(encSig)
		if !in.sender.cred.verify(c.p.Sig, cs, sig) {
			g.Verification = fmt.Sprintf("countersignature does not verify with the credential of %x: not decrypted", in.sender.id)
			rep.SetCiphertext(nil, ct)
			return nil, g, oscore.ErrDecryptionFailed.WithDetail(fmt.Sprintf("countersignature of %x does not verify (RFC 10021 7.2, 7.4)", in.sender.id))
		}
	}
	if len(ct) < tag || len(ct)-tag > maxPlaintext {
		g.Verification = "ciphertext shorter than the tag"
		return nil, g, oscore.ErrDecryptionFailed.WithDetail(fmt.Sprintf("ciphertext of %d bytes", len(ct)))
	}
	pt, err = aead.Open(nil, nonce, ct, aad)
	rep.SetCiphertext(pt, ct)
	if err != nil {
		g.Verification = verification(in.mode, in.sender.id, false)
		return nil, g, oscore.ErrDecryptionFailed.WithDetail(fmt.Sprintf("group %x, sender %x (RFC 10021 %s)", c.p.GroupID, in.sender.id, map[Mode]string{GroupMode: "7", PairwiseMode: "8"}[in.mode]))
	}
	g.Verification = verification(in.mode, in.sender.id, true)
	return pt, g, nil
}

func verification(mode Mode, sender []byte, ok bool) string {
	switch {
	case mode == GroupMode && ok:
		return fmt.Sprintf("countersignature verified with the credential of %x, then decrypted (RFC 10021 7.2)", sender)
	case mode == GroupMode:
		return fmt.Sprintf("countersignature verified with the credential of %x, but decryption failed", sender)
	case ok:
		return fmt.Sprintf("decrypted with the pairwise key shared with %x (RFC 10021 8)", sender)
	}
	return fmt.Sprintf("decryption with the pairwise key shared with %x failed", sender)
}
