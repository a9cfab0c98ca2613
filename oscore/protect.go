package oscore

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// ProtectOptions tune one protect step.
type ProtectOptions struct {
	Rule              ClassRule // nil: plain RFC 8613 classes (no escalation)
	StrictOptions     bool      // proxy: an unrecognised option fails with ErrUnrecognisedOption (draft 2.2)
	IncludeKIDContext bool      // send the kid context in a request (RFC 8613 5.1)
	ResponsePIV       bool      // response: use an own Partial IV even for the first response (draft 2.5.1)
}

// ContextLookup finds the Recipient Context for a kid and kid context
// (RFC 8613 8.2 step 3). It returns nil, nil when there is none.
type ContextLookup func(kid, kidContext []byte) (*Context, error)

// ProtectRequest applies one OSCORE layer to request m with context c
// (RFC 8613 8.1): it splits the options into Inner and Outer by class
// (4.1, with o.Rule deciding for outer options per draft 2.2), decomposes
// Proxy-Uri (4.1.3.3), takes a Sender Sequence Number as Partial IV, builds
// nonce (5.2) and AAD (5.4), encrypts Code, Inner options and payload (5.3)
// and returns the OSCORE message with outer Code POST, or FETCH when the
// request carries Observe (4.1.3.5, 4.2). m is not modified.
func ProtectRequest(c *Context, m message.Message, o ProtectOptions) (message.Message, *Binding, *Report, error) {
	if c == nil {
		return message.Message{}, nil, nil, errContextInvalid
	}
	if !isRequestCode(m.Code) {
		return message.Message{}, nil, nil, fmt.Errorf("oscore: protect request: code %v is not a request method", codeString(m.Code))
	}
	rep := &Report{Context: c.name, Action: "protect", Message: "request", InnerCode: codeString(m.Code)}
	sp, err := split(&m, o, true, false, rep)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	seq, err := c.nextSeq()
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	var pivBuf [8]byte
	piv := encodePIV(pivBuf[:0], seq)
	ov := OptionValue{PartialIV: piv, KID: c.p.SenderID}
	if o.IncludeKIDContext && c.p.IDContext != nil {
		ov.KIDContext = c.p.IDContext
	}
	nonce := make([]byte, c.p.AEAD.NonceLen())
	makeNonce(nonce, c.p.SenderID, piv, c.commonIV)
	outerCode := codes.POST
	if sp.observe {
		outerCode = codes.FETCH
	}
	out, ct, pt, optVal, err := seal(c, &m, sp, ov, nonce, c.p.SenderID, piv, outerCode)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	b := newBinding(c, clone(c.p.SenderID), clone(piv), clone(ov.KIDContext), nonce, sp.observeRegister, m.Token)
	fillReport(rep, c, "sender", ov, optVal, seq, out.Code, pt, ct)
	rep.Nonce = nonceReport(c.p.SenderID, piv, c.commonIV, nonce, "own")
	rep.AAD = aadReport(c.p.AEAD, c.p.SenderID, piv)
	return out, b, rep, nil
}

// ProtectResponse applies one OSCORE layer to response m for the request
// bound by b (RFC 8613 8.3). The first response may reuse the request nonce
// and carry an empty OSCORE option; every later response, and any response
// when o.ResponsePIV is set, uses an own Partial IV (RFC 8613 4.1.3.5;
// draft 2.5.1). Notifications get an empty Inner Observe and an Outer
// Observe with the original value, outer Code 2.05; other responses 2.04
// (RFC 8613 4.1.3.5.2, 4.2).
func ProtectResponse(b *Binding, m message.Message, o ProtectOptions) (message.Message, *Report, error) {
	if b == nil || b.Ctx == nil {
		return message.Message{}, nil, errContextInvalid
	}
	c := b.Ctx
	if !isResponseCode(m.Code) {
		return message.Message{}, nil, fmt.Errorf("oscore: protect response: code %v is not a response code", codeString(m.Code))
	}
	rep := &Report{Context: c.name, Action: "protect", Message: "response", InnerCode: codeString(m.Code)}
	sp, err := split(&m, o, false, b.Observe, rep)
	if err != nil {
		return message.Message{}, rep, err
	}
	b.mu.Lock()
	first := b.responses == 0
	b.responses++
	b.mu.Unlock()

	var ov OptionValue
	var piv []byte
	var nonce []byte
	seq := int64(-1)
	nonceID, noncePIV := b.KID, b.PIV // nonce parts: whoever generated the Partial IV
	from := "request"
	if o.ResponsePIV || !first {
		s, err := c.nextSeq()
		if err != nil {
			return message.Message{}, rep, err
		}
		seq = int64(s)
		piv = encodePIV(make([]byte, 0, 5), s)
		ov.PartialIV = piv
		nonce = make([]byte, c.p.AEAD.NonceLen())
		makeNonce(nonce, c.p.SenderID, piv, c.commonIV)
		nonceID, noncePIV, from = c.p.SenderID, piv, "own"
		if !first {
			rep.Notes = append(rep.Notes, "own Partial IV: only the first response may reuse the request nonce (RFC 8613 4.1.3.5, draft 2.5.1)")
		}
	} else {
		nonce = b.Nonce
		rep.Notes = append(rep.Notes, "request nonce reused: first response without Partial IV (RFC 8613 8.3)")
	}
	outerCode := codes.Changed
	if sp.notification {
		outerCode = codes.Content
	}
	out, ct, pt, optVal, err := seal(c, &m, sp, ov, nonce, b.KID, b.PIV, outerCode)
	if err != nil {
		return message.Message{}, rep, err
	}
	fillReport(rep, c, "sender", ov, optVal, uint64(seq), out.Code, pt, ct)
	rep.Seq = seq
	rep.Nonce = nonceReport(nonceID, noncePIV, c.commonIV, nonce, from)
	rep.AAD = aadReport(c.p.AEAD, b.KID, b.PIV)
	return out, rep, nil
}

// seal encrypts the plaintext of m's inner part and assembles the outer
// message: outer options, the OSCORE option, ciphertext as payload.
func seal(c *Context, m *message.Message, sp splitResult, ov OptionValue, nonce, reqKID, reqPIV []byte, outerCode codes.Code) (out message.Message, ct, pt, optVal []byte, err error) {
	// Plaintext (RFC 8613 5.3): Code || Inner options || 0xff || payload.
	ptLen := 1 + optionsLen(sp.inner)
	if len(m.Payload) > 0 {
		ptLen += 1 + len(m.Payload)
	}
	optVal, err = ov.AppendTo(nil)
	if err != nil {
		return out, nil, nil, nil, err
	}
	tag := c.p.AEAD.TagLen()
	// One buffer: plaintext, then ciphertext (plaintext + tag), then AAD.
	buf := make([]byte, 0, ptLen+ptLen+tag+64+len(reqKID)+len(reqPIV))
	buf = append(buf, byte(m.Code))
	buf = appendOptions(buf, sp.inner)
	if len(m.Payload) > 0 {
		buf = append(buf, 0xff)
		buf = append(buf, m.Payload...)
	}
	pt = buf[:ptLen:ptLen]
	aad, _, _ := appendAAD(buf[ptLen+ptLen+tag:ptLen+ptLen+tag], c.p.AEAD, reqKID, reqPIV)
	ct = c.sealer.Seal(buf[ptLen:ptLen], nonce, pt, aad)

	outer := sp.outer
	outer = outer.Add(message.Option{ID: optOSCORE, Value: optVal})
	out = message.Message{Token: m.Token, Options: outer, Code: outerCode, Payload: ct, MessageID: m.MessageID, Type: m.Type}
	return out, ct, pt, optVal, nil
}

func fillReport(rep *Report, c *Context, which string, ov OptionValue, optVal []byte, seq uint64, outer codes.Code, pt, ct []byte) {
	rep.KID, rep.KIDContext, rep.PartialIV = Hex(ov.KID), Hex(ov.KIDContext), Hex(ov.PartialIV)
	rep.Seq = int64(seq)
	if ov.PartialIV == nil {
		rep.Seq = -1
	}
	rep.Option = ov.String()
	rep.OptionValue = Hex(nonNil(optVal))
	rep.OuterCode = codeString(outer)
	rep.Plaintext, rep.Ciphertext = Hex(pt), Hex(ct)
	d := c.deriv.SenderKey
	key := c.senderKey
	if which == "recipient" {
		d, key = c.deriv.RecipientKey, c.recipientKey
	}
	rep.Key = KeyReport{Which: which, Alg: c.p.AEAD.String(), Info: d.Info, InfoDiag: d.InfoDiag, Key: Hex(clone(key))}
}
