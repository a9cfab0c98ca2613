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
	OuterMaxAge       bool      // response: an OSCORE error's Max-Age stays Outer only (RFC 8613 4.1.3.1, 8.2)
}

// ContextLookup finds the Recipient Context for a kid and kid context
// (RFC 8613 8.2 step 3). It returns nil, nil when there is none.
type ContextLookup func(kid, kidContext []byte) (*Context, error)

// innerInline is how many Inner options fit on the stack while protecting.
const innerInline = 8

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
	rep, bind, room := newReportAndBinding("protect", "request")
	rep.Context = c.name
	if !isRequestCode(m.Code) {
		return message.Message{}, nil, rep, fmt.Errorf("oscore: protect request: code %v is not a request method", codeString(m.Code))
	}
	rep.setInner(m.Code)
	var innerBuf, outerBuf [innerInline]message.Option
	inner, outerOpts, sp, err := split(&m, o, true, false, rep, innerBuf[:0], outerBuf[:0])
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	seq, err := c.nextSeq()
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	var pivBuf [maxPIVLen]byte
	piv := encodePIV(pivBuf[:0], seq)
	ov := OptionValue{PartialIV: piv, KID: c.p.SenderID}
	if o.IncludeKIDContext && c.p.IDContext != nil {
		ov.KIDContext = c.p.IDContext
	}
	b, err := initBinding(bind, c, c.p.SenderID, piv, ov.KIDContext, sp.observeRegister, m.Token)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	nonce := b.Nonce()
	makeNonce(nonce, c.p.SenderID, piv, c.commonIV)
	outerCode := codes.POST
	if sp.observe {
		outerCode = codes.FETCH
	}
	out, ct, pt, optVal, err := seal(c, &m, inner, outerOpts, ov, nonce, c.p.SenderID, piv, outerCode, room)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	rep.setOuter(outerCode)
	rep.record(c, &cryptoParts{optVal: optVal, nonce: &b.nonce, ownPIV: true, req: b}, pt, ct)
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
	if err := b.check(); err != nil {
		return message.Message{}, nil, err
	}
	c := b.Ctx
	box := new(responseBox)
	rep := box.init("protect", "response")
	rep.Context = c.name
	if !isResponseCode(m.Code) {
		return message.Message{}, rep, fmt.Errorf("oscore: protect response: code %v is not a response code", codeString(m.Code))
	}
	rep.setInner(m.Code)
	var innerBuf, outerBuf [innerInline]message.Option
	inner, outerOpts, sp, err := split(&m, o, false, b.Observe, rep, innerBuf[:0], outerBuf[:0])
	if err != nil {
		return message.Message{}, rep, err
	}
	b.mu.Lock()
	first := b.responses == 0
	b.responses++
	b.mu.Unlock()

	var ov OptionValue
	nonce := &b.nonce
	ownPIV := false
	var pivBuf [maxPIVLen]byte
	if o.ResponsePIV || !first {
		s, err := c.nextSeq()
		if err != nil {
			return message.Message{}, rep, err
		}
		piv := encodePIV(pivBuf[:0], s)
		ov.PartialIV = piv
		box.nonce.n = uint8(c.p.AEAD.NonceLen()) // built where the report keeps it
		nonce = &box.nonce
		makeNonce(nonce.bytes(), c.p.SenderID, piv, c.commonIV)
		ownPIV = true
		if !first {
			rep.addNote("own Partial IV: only the first response may reuse the request nonce (RFC 8613 4.1.3.5, draft 2.5.1)")
		}
	} else {
		rep.addNote("request nonce reused: first response without Partial IV (RFC 8613 8.3)")
	}
	outerCode := codes.Changed
	if sp.notification {
		outerCode = codes.Content
	}
	out, ct, pt, optVal, err := seal(c, &m, inner, outerOpts, ov, nonce.bytes(), b.KID(), b.PIV(), outerCode, &box.room)
	if err != nil {
		return message.Message{}, rep, err
	}
	rep.setOuter(outerCode)
	rep.record(c, &cryptoParts{optVal: optVal, nonce: nonce, ownPIV: ownPIV, req: b}, pt, ct)
	return out, rep, nil
}

// seal encrypts the Inner part of m (RFC 8613 5.3: Code || Inner options
// || 0xff || payload) and assembles the outer message: Outer options, the
// OSCORE option, ciphertext as payload. One buffer, in the report box's
// room when it fits, holds the OSCORE option value, the plaintext, the
// ciphertext and the AAD; the outer option list goes to the room too.
func seal(c *Context, m *message.Message, inner, outerOpts message.Options, ov OptionValue, nonce, reqKID, reqPIV []byte, outerCode codes.Code, room *msgRoom) (out message.Message, ct, pt, optVal []byte, err error) {
	ptLen := 1 + optionsLen(inner)
	if len(m.Payload) > 0 {
		ptLen += 1 + len(m.Payload)
	}
	if max := c.maxPlaintext(); uint64(ptLen) > max {
		return out, nil, nil, nil, fmt.Errorf("oscore: plaintext of %d bytes exceeds %d for %v", ptLen, max, c.p.AEAD)
	}
	if len(ov.PartialIV) > maxPIVLen || len(ov.KIDContext) > 255 {
		return out, nil, nil, nil, fmt.Errorf("oscore: OSCORE option fields too long")
	}
	ovLen := 1 + len(ov.PartialIV) + len(ov.KID)
	if ov.KIDContext != nil {
		ovLen += 1 + len(ov.KIDContext)
	}
	tag := c.p.AEAD.TagLen()
	buf := room.byteBuf(ovLen + ptLen + ptLen + tag + aadLen(c.p.AEAD, reqKID, reqPIV))
	buf, _ = ov.AppendTo(buf)
	optVal = buf[:len(buf):len(buf)]
	start := len(buf)
	buf = append(buf, byte(m.Code))
	buf = appendOptions(buf, inner)
	if len(m.Payload) > 0 {
		buf = append(buf, 0xff)
		buf = append(buf, m.Payload...)
	}
	pt = buf[start : start+ptLen : start+ptLen]
	ctStart := start + ptLen
	aadStart := ctStart + ptLen + tag
	aad, _, _ := appendAAD(buf[aadStart:aadStart], c.p.AEAD, reqKID, reqPIV)
	ct = c.sealer.Seal(buf[ctStart:ctStart], nonce, pt, aad)
	ct = ct[:len(ct):len(ct)]

	outer := room.optBuf(len(outerOpts) + 1)
	outer = append(outer, outerOpts...).Add(message.Option{ID: optOSCORE, Value: optVal})
	out = message.Message{Token: m.Token, Options: outer, Code: outerCode, Payload: ct, MessageID: m.MessageID, Type: m.Type}
	return out, ct, pt, optVal, nil
}

// maxPlaintext is the longest plaintext the AEAD accepts (CCM with L=2:
// 2^16-1 bytes, RFC 3610 2), found once when the context is made.
func (c *Context) maxPlaintext() uint64 { return c.maxPT }
