package group

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// ProtectOptions tune one protect step.
type ProtectOptions struct {
	// Mode: for a request 0 means GroupMode; for a response 0 means the
	// request's mode.
	Mode Mode
	// To is the Recipient ID of the server a pairwise request is for
	// (RFC 10021 8.3: the pairwise key is the one shared with it).
	To []byte
	// IncludeKID sends kid in a pairwise response to a pairwise request,
	// which RFC 10021 3.2 allows (responses to group-mode requests always
	// carry it; group-mode responses here always do).
	IncludeKID bool
	// ResponsePIV gives even the first response an own Partial IV
	// (RFC 10021 5.3.1 allows reusing the request nonce only there).
	ResponsePIV bool
	// Rule and StrictOptions decide outer options as in oscore (draft 2.2).
	Rule          oscore.ClassRule
	StrictOptions bool
}

func (o ProtectOptions) oscore() oscore.ProtectOptions {
	return oscore.ProtectOptions{Rule: o.Rule, StrictOptions: o.StrictOptions}
}

// maxPlaintext bounds what is encrypted (AES-CCM with L = 2: 2^16 - 1
// bytes, RFC 3610 2); a CoAP message over UDP is far smaller.
const maxPlaintext = 1<<16 - 1

// sealInput is one message's protection: its mode, whether it is a
// request, the OSCORE option, the nonce's (ID_PIV, Partial IV), and the
// message-specific AAD elements.
type sealInput struct {
	mode        Mode
	request     bool
	ov          oscore.OptionValue
	idPIV, piv  []byte
	ownPIV      bool
	aad         aadInput
	pw          *pairwise // pairwise mode
	key         *KeyDerivation
	detKey      cipher.AEAD // deterministic request: the key from the hash (cacheable OSCORE)
	detKeyAlg   oscore.AEADAlg
	senderLabel []byte
}

// ProtectRequest protects request m for the group with c (RFC 10021 7.1
// in group mode, 8.3 in pairwise mode): the options are split as in
// RFC 8613 4.1 (with o.Rule deciding outer options, draft 2.2), a fresh
// Sender Sequence Number is the Partial IV, the OSCORE option carries kid,
// the Gid as kid context and in group mode the Group Flag (3.2, 4.1); the
// plaintext is encrypted under the 9-element external_aad (3.4) and, in
// group mode, countersigned with the signature encrypted by the keystream
// (3.1, 4.1, 4.2). m is not modified.
func ProtectRequest(c *Context, m message.Message, o ProtectOptions) (message.Message, *Exchange, *oscore.Report, error) {
	if c == nil {
		return message.Message{}, nil, nil, errors.New("group: nil context")
	}
	mode := o.Mode
	if mode == 0 {
		mode = GroupMode
	}
	rep := oscore.NewReport(c.name, "protect", "request")
	if c.p.SenderID == nil {
		return message.Message{}, nil, rep, fmt.Errorf("group: context %q: a silent server sends no requests", c.name)
	}
	x := &Exchange{ctx: c, mode: mode, kid: bytes.Clone(c.p.SenderID), kidCtx: bytes.Clone(c.p.GroupID)}
	in := sealInput{mode: mode, request: true}
	switch mode {
	case GroupMode:
		if !c.groupMode {
			return message.Message{}, nil, rep, fmt.Errorf("group: context %q does not use the group mode (RFC 10021 2.1.7, 2.1.8)", c.name)
		}
	case PairwiseMode:
		r := c.Recipient(o.To)
		if r == nil {
			return message.Message{}, nil, rep, fmt.Errorf("group: context %q: no Recipient Context for %x to protect a pairwise request for (RFC 10021 8.1)", c.name, o.To)
		}
		pw, err := r.pairwise()
		if err != nil {
			return message.Message{}, nil, rep, err
		}
		x.peer, in.pw = r, pw
	default:
		return message.Message{}, nil, rep, fmt.Errorf("group: unknown mode %d", mode)
	}
	s, err := oscore.SplitRequest(m, o.oscore(), rep)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	x.observe = s.Register
	x.long = mode == GroupMode || s.Observe
	seq, err := c.nextSeq()
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	x.piv = oscore.EncodePIV(seq)
	in.ov = oscore.OptionValue{Group: mode == GroupMode, PartialIV: x.piv, KIDContext: c.p.GroupID, KID: c.p.SenderID}
	in.idPIV, in.piv, in.ownPIV = c.p.SenderID, x.piv, true
	in.aad = aadInput{reqKID: x.kid, reqPIV: x.piv, reqKIDContext: x.kidCtx, senderCred: c.p.SenderCred}
	out, err := c.seal(m, s, &in, rep)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	return out, x, rep, nil
}

// ProtectResponse protects response m to the request of x (RFC 10021 7.3
// in group mode, 8.5 in pairwise mode). The first response may reuse the
// request nonce; every later one carries the server's own Sender Sequence
// Number (5.3.1). A response to a group-mode request, and every group-mode
// response, carries kid (3.2). The external_aad repeats the request's kid,
// Partial IV and kid context (3.4, 7.3).
func ProtectResponse(x *Exchange, m message.Message, o ProtectOptions) (message.Message, *oscore.Report, error) {
	if x == nil || x.ctx == nil {
		return message.Message{}, nil, errors.New("group: nil exchange")
	}
	c := x.ctx
	rep := oscore.NewReport(c.name, "protect", "response")
	if c.p.SenderID == nil {
		return message.Message{}, rep, fmt.Errorf("group: context %q: a silent server sends no responses", c.name)
	}
	mode := o.Mode
	if mode == 0 {
		mode = x.mode
	}
	var maxAge []byte
	if x.det != nil {
		mode = GroupMode // draft-ietf-core-cacheable-oscore 3.4.4 step 4
		var err error
		if m, maxAge, err = detResponse(x, m); err != nil {
			return message.Message{}, rep, err
		}
	}
	in := sealInput{mode: mode}
	switch mode {
	case GroupMode:
		if !c.groupMode {
			return message.Message{}, rep, fmt.Errorf("group: context %q does not use the group mode", c.name)
		}
	case PairwiseMode:
		if x.peer == nil {
			return message.Message{}, rep, errors.New("group: a pairwise response needs the requesting client's Recipient Context")
		}
		pw, err := x.peer.pairwise()
		if err != nil {
			return message.Message{}, rep, err
		}
		in.pw = pw
	default:
		return message.Message{}, rep, fmt.Errorf("group: unknown mode %d", mode)
	}
	s, err := oscore.SplitResponse(m, o.oscore(), x.observe, rep)
	if err != nil {
		return message.Message{}, rep, err
	}
	if x.det != nil { // cacheable: outer 2.05 and the inner Max-Age outside too (3.4.4 steps 6, 9)
		s.OuterCode = codes.Content
		s.Outer = s.Outer.Set(message.Option{ID: message.MaxAge, Value: maxAge})
	}
	x.mu.Lock()
	first := x.responses == 0
	x.responses++
	x.mu.Unlock()

	in.ov.Group = mode == GroupMode
	if mode == GroupMode || x.mode == GroupMode || o.IncludeKID {
		in.ov.KID = c.p.SenderID
	}
	in.idPIV, in.piv = x.kid, x.piv
	if o.ResponsePIV || !first || x.det != nil {
		seq, err := c.nextSeq()
		if err != nil {
			return message.Message{}, rep, err
		}
		in.ov.PartialIV = oscore.EncodePIV(seq)
		in.idPIV, in.piv, in.ownPIV = c.p.SenderID, in.ov.PartialIV, true
		switch {
		case x.det != nil:
			rep.AddNote("own Partial IV: a response to a deterministic request never reuses its nonce (draft-ietf-core-cacheable-oscore 3.3)")
		case !first:
			rep.AddNote("own Partial IV: only the first response may reuse the request nonce (RFC 10021 5.3.1)")
		}
	} else {
		rep.AddNote("request nonce reused: first response without Partial IV (RFC 10021 5.3.1)")
	}
	in.aad = aadInput{reqKID: x.kid, reqPIV: x.piv, reqKIDContext: x.kidCtx, senderCred: c.p.SenderCred}
	if x.det != nil {
		in.aad.options = x.det.classI
	}
	out, err := c.seal(m, s, &in, rep)
	if err != nil {
		return message.Message{}, rep, err
	}
	return out, rep, nil
}

// seal encrypts the plaintext of s and assembles the message (RFC 10021
// 3, 4.1): Group Encryption Algorithm and Sender Key in group mode, AEAD
// Algorithm and the Pairwise Sender Key in pairwise mode, the nonce from
// the first bytes of the Common IV (3.3), then in group mode the
// countersignature XOR the keystream after the ciphertext (4.1, 4.2).
func (c *Context) seal(m message.Message, s oscore.Split, in *sealInput, rep *oscore.Report) (message.Message, error) {
	if len(s.Plaintext) > maxPlaintext {
		return message.Message{}, fmt.Errorf("group: plaintext of %d bytes is too long", len(s.Plaintext))
	}
	optVal, err := in.ov.AppendTo(nil) // final before encryption and signing (3.4)
	if err != nil {
		return message.Message{}, err
	}
	in.aad.optVal = optVal
	alg, aead, key := c.p.GroupEnc, c.sealer, &c.deriv.SenderKey
	switch {
	case in.detKey != nil:
		alg, aead, key = in.detKeyAlg, in.detKey, in.key
	case in.mode == PairwiseMode:
		alg, aead, key = c.p.AEAD, in.pw.sealer, &in.pw.send
	}
	nonce, err := c.nonce(alg, in.idPIV, in.piv)
	if err != nil {
		return message.Message{}, err
	}
	arr := c.aadArray(&in.aad)
	aad := encStructure(arr)
	ct := aead.Seal(nil, nonce, s.Plaintext, aad)
	payload := ct
	g := c.report(in, alg, optVal, nonce, arr, aad, key, c.p.SenderID, c.senderFP(in))
	if in.mode == GroupMode {
		cs := countersignStructure(arr, ct)
		sig, err := c.p.SenderKey.sign(cs)
		if err != nil {
			return message.Message{}, err
		}
		ks, err := c.keystream(g, in.idPIV, in.piv, in.request)
		if err != nil {
			return message.Message{}, err
		}
		encSig := xor(nil, sig, ks)
		payload = append(ct[:len(ct):len(ct)], encSig...)
		g.CountersignStructure, g.CountersignDiag = cs, countersignDiag(arr, ct)
		g.Signature, g.EncryptedSignature = sig, encSig
	}
	rep.SetOption(optVal)
	rep.SetCiphertext(s.Plaintext, ct)
	attach(rep, g)
	return oscore.Assemble(m, s, optVal, payload), nil
}

// senderFP is the fingerprint of the credential in a message's sender_cred.
func (c *Context) senderFP(in *sealInput) string {
	if len(in.aad.senderCred) == 0 {
		return fingerprint(nil)
	}
	return c.senderCr.fp
}

// nonce is the nonce of RFC 10021 3.3 for alg: RFC 8613 5.2 with the
// first nonce-length bytes of the Common IV.
func (c *Context) nonce(alg oscore.AEADAlg, idPIV, piv []byte) ([]byte, error) {
	n := alg.NonceLen()
	if n == 0 || n > len(c.commonIV) {
		return nil, fmt.Errorf("group: no nonce for %v", alg)
	}
	nonce := make([]byte, n)
	if err := oscore.MakeNonce(nonce, idPIV, piv, c.commonIV[:n]); err != nil {
		return nil, oscore.ErrDecodeCOSE.WithDetail(err.Error())
	}
	return nonce, nil
}

// keystream derives KEYSTREAM = HKDF(salt = Partial IV, IKM = Signature
// Encryption Key, info = [id, Gid, request, L], L) for the message whose
// nonce used (id, piv) (RFC 10021 4.2), and records it in g.
func (c *Context) keystream(g *oscore.GroupReport, id, piv []byte, request bool) ([]byte, error) {
	l := c.p.Sig.SigLen()
	info := keystreamInfo(id, c.p.GroupID, request, l)
	ks, err := hkdfKey(c.hkdf, c.sigEncKey, piv, info, l)
	if err != nil {
		return nil, err
	}
	g.KeystreamSalt, g.KeystreamInfo, g.Keystream = bstr(piv), info, ks
	g.KeystreamInfoDiag = keystreamInfoDiag(id, c.p.GroupID, request, l)
	g.SignatureAlg = c.p.Sig.String()
	return ks, nil
}
