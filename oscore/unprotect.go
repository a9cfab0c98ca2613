package oscore

import (
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// errGroupFlag refuses a message in Group OSCORE group mode: an RFC 8613
// context cannot process it (RFC 10021 6: discard when the Group Flag is 1
// and no Group OSCORE context applies), as before the flag was assigned.
var errGroupFlag = ErrDecodeCOSE.withDetail("Group Flag set but no Group OSCORE context applies (RFC 10021 6)")

// findOSCORE returns the single OSCORE option's value. No option gives
// ErrNotProtected; two give ErrDecodeCOSE (the option is not repeatable,
// RFC 8613 2); an OSCORE message without payload is malformed (RFC 8613 2).
func findOSCORE(m *message.Message) ([]byte, error) {
	idx, count := -1, 0
	for i, o := range m.Options {
		if o.ID == optOSCORE {
			if count == 0 {
				idx = i
			}
			count++
		}
	}
	switch {
	case count == 0:
		return nil, ErrNotProtected
	case count > 1:
		return nil, ErrDecodeCOSE.withDetail(fmt.Sprintf("%d OSCORE options in one message", count))
	case len(m.Payload) == 0:
		return nil, ErrDecodeCOSE.withDetail("OSCORE option without payload (RFC 8613 2)")
	}
	return m.Options[idx].Value, nil
}

// UnprotectRequest verifies and removes one OSCORE layer from request m
// (RFC 8613 8.2): it decodes the OSCORE option (6.1), finds the Recipient
// Context with lookup (by kid and kid context), checks the replay window
// (7.4), decrypts, updates the window only after success, and rebuilds the
// request from the outer Class U options and the decrypted Code, Inner
// options and payload (outer Code and outer Class E options discarded).
// An OSCORE option inside the plaintext is kept: it is the next layer's
// (draft 2.1). Errors carry the response to send (ErrDecodeCOSE 4.02,
// ErrContextNotFound 4.01, ErrReplay 4.01, ErrDecryptionFailed 4.00).
func UnprotectRequest(m message.Message, lookup ContextLookup) (message.Message, *Binding, *Report, error) {
	rep, bind, room := newReportAndBinding("unprotect", "request")
	rep.setOuter(m.Code)
	raw, err := findOSCORE(&m)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	ov, err := ParseOption(raw)
	if err != nil {
		rep.setOption(clone(raw), false)
		return message.Message{}, nil, rep, err
	}
	if ov.Group {
		rep.setOption(raw, true)
		return message.Message{}, nil, rep, errGroupFlag
	}
	if ov.PartialIV == nil || ov.KID == nil {
		rep.setOption(raw, true)
		return message.Message{}, nil, rep, ErrDecodeCOSE.withDetail("request without Partial IV or kid (RFC 8613 5.1)")
	}
	if lookup == nil {
		rep.setOption(raw, true)
		return message.Message{}, nil, rep, ErrContextNotFound.withDetail("no context lookup")
	}
	c, err := lookup(ov.KID, ov.KIDContext)
	if err != nil {
		rep.setOption(raw, true)
		var oe *Error
		if errors.As(err, &oe) {
			return message.Message{}, nil, rep, err
		}
		return message.Message{}, nil, rep, ErrContextNotFound.withDetail(err.Error())
	}
	if c == nil {
		rep.setOption(raw, true)
		return message.Message{}, nil, rep, ErrContextNotFound.withDetail(fmt.Sprintf("kid %x, kid context %s", ov.KID, optHex(ov.KIDContext)))
	}
	rep.Context = c.name
	if len(ov.KID) > c.p.AEAD.MaxIDLen() {
		rep.setOption(raw, true)
		return message.Message{}, nil, rep, ErrDecodeCOSE.withDetail("kid longer than the nonce allows")
	}
	seq := pivValue(ov.PartialIV)
	b, err := initBinding(bind, c, ov.KID, ov.PartialIV, ov.KIDContext, false, m.Token) // returned only on success
	if err != nil {
		rep.setOption(raw, true)
		return message.Message{}, nil, rep, ErrDecodeCOSE.withDetail(err.Error())
	}
	parts := cryptoParts{recipient: true, optVal: raw, req: b}
	if !c.replay.check(seq) {
		rep.record(c, &parts, nil, m.Payload)
		return message.Message{}, nil, rep, ErrReplay.withDetail(fmt.Sprintf("sequence number %d in context %q", seq, c.name))
	}
	nonce := b.Nonce()
	makeNonce(nonce, ov.KID, ov.PartialIV, c.commonIV)
	parts.nonce = &b.nonce
	pt, err := open(c, nonce, m.Payload, ov.KID, ov.PartialIV, room)
	if err != nil {
		rep.record(c, &parts, nil, m.Payload)
		return message.Message{}, nil, rep, err
	}
	if !c.replay.accept(seq) {
		rep.record(c, &parts, nil, m.Payload)
		return message.Message{}, nil, rep, ErrReplay.withDetail(fmt.Sprintf("sequence number %d in context %q (concurrent duplicate)", seq, c.name))
	}
	out, flags, err := rebuild(&m, pt, rep, room)
	rep.record(c, &parts, pt, m.Payload)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	if !isRequestCode(out.Code) {
		return message.Message{}, nil, rep, ErrDecodeCOSE.withDetail(fmt.Sprintf("inner code %s is not a request method", codeString(out.Code)))
	}
	b.Observe = flags.observeRegister
	return out, b, rep, nil
}

// UnprotectResponse verifies and removes one OSCORE layer from response m
// to the request bound by b (RFC 8613 8.4). A response with a Partial IV is
// decrypted with a nonce from the server's Sender ID (our Recipient ID);
// without one, the request nonce is reused. Only one response per request
// is accepted unless it is an Observe notification; notifications must
// come in increasing Partial IV order and at most one may lack a Partial IV
// (RFC 8613 4.1.3.5.2, 7.4.1; draft 2.6.1). Every failure also matches
// ErrResponseNotVerified: the client stops silently and sends nothing.
func UnprotectResponse(b *Binding, m message.Message) (message.Message, *Report, error) {
	if err := b.check(); err != nil {
		return message.Message{}, nil, silent(err)
	}
	c := b.Ctx
	box := new(responseBox)
	rep := box.init("unprotect", "response")
	rep.Context = c.name
	rep.setOuter(m.Code)
	raw, err := findOSCORE(&m)
	if err != nil {
		return message.Message{}, rep, silent(err)
	}
	ov, err := ParseOption(raw)
	if err != nil {
		rep.setOption(clone(raw), false)
		return message.Message{}, rep, silent(err)
	}
	if ov.Group {
		rep.setOption(raw, true)
		return message.Message{}, rep, silent(errGroupFlag)
	}
	parts := cryptoParts{recipient: true, optVal: raw, nonce: &b.nonce, req: b}
	if ov.PartialIV != nil {
		if len(ov.PartialIV) > maxPIVLen {
			rep.setOption(raw, true)
			return message.Message{}, rep, silent(ErrDecodeCOSE.withDetail("Partial IV too long"))
		}
		box.nonce.n = uint8(c.p.AEAD.NonceLen()) // built where the report keeps it
		makeNonce(box.nonce.bytes(), c.p.RecipientID, ov.PartialIV, c.commonIV)
		parts.nonce, parts.ownPIV = &box.nonce, true
	}
	// Cheap freshness pre-check before decrypting (RFC 8613 7.4.1).
	if err := b.checkResponse(ov.PartialIV, true, false); err != nil {
		rep.record(c, &parts, nil, m.Payload)
		return message.Message{}, rep, silent(err)
	}
	pt, err := open(c, parts.nonce.bytes(), m.Payload, b.KID(), b.PIV(), &box.room)
	if err != nil {
		rep.record(c, &parts, nil, m.Payload)
		return message.Message{}, rep, silent(err)
	}
	out, flags, err := rebuild(&m, pt, rep, &box.room)
	rep.record(c, &parts, pt, m.Payload)
	if err != nil {
		return message.Message{}, rep, silent(err)
	}
	if !isResponseCode(out.Code) {
		return message.Message{}, rep, silent(ErrDecodeCOSE.withDetail(fmt.Sprintf("inner code %s is not a response code", codeString(out.Code))))
	}
	if flags.observe && !b.Observe {
		return message.Message{}, rep, silent(ErrDecodeCOSE.withDetail("Inner Observe in a response to a non-Observe request (RFC 8613 4.1.3.5.2)"))
	}
	if err := b.checkResponse(ov.PartialIV, flags.observe || b.MultiResponse, true); err != nil {
		return message.Message{}, rep, silent(err)
	}
	switch {
	case flags.observe:
		rep.addNote("notification accepted (RFC 8613 7.4.1)")
	case b.MultiResponse:
		rep.addNote("one of several responses to the request accepted (draft 2.6.1)")
	}
	return out, rep, nil
}

// checkResponse applies the one-response and notification-order rules
// (RFC 8613 7.4, 7.4.1); with commit it records the accepted response.
// Before decryption it is called with notification=true so that only
// certain replays are refused early.
func (b *Binding) checkResponse(piv []byte, notification, commit bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !notification {
		if b.verified > 0 && !b.Observe {
			return ErrReplay.withDetail("a response to this request was already accepted (RFC 8613 7.4)")
		}
		if commit {
			b.verified++
		}
		return nil
	}
	if piv == nil {
		if b.flags&bindNoPIVSeen != 0 {
			return ErrReplay.withDetail("second notification without Partial IV (RFC 8613 7.4.1)")
		}
		if commit {
			b.flags |= bindNoPIVSeen
			b.verified++
		}
		return nil
	}
	v := int64(pivValue(piv))
	if b.notifNum >= 0 && v <= b.notifNum {
		return ErrReplay.withDetail(fmt.Sprintf("notification Partial IV %d not above Notification Number %d (RFC 8613 7.4.1)", v, b.notifNum))
	}
	if commit {
		b.notifNum = v
		b.verified++
	}
	return nil
}

// silent marks a client-side failure: it keeps its identity (errors.Is
// with ErrDecodeCOSE, ErrDecryptionFailed, ...) and also matches
// ErrResponseNotVerified, and no response is sent (RFC 8613 8.4).
func silent(err error) error {
	var oe *Error
	if !errors.As(err, &oe) {
		return ErrResponseNotVerified.withDetail(err.Error())
	}
	c := *oe
	c.Silent = true
	c.also = kindResponseNotVerified
	return &c
}

// open decrypts and authenticates (RFC 8613 5.3, 8.2 step 5, 8.4 step 5).
// One buffer, in the report box when it fits, holds the plaintext and the AAD.
func open(c *Context, nonce, ct, reqKID, reqPIV []byte, room *msgRoom) ([]byte, error) {
	tag := c.p.AEAD.TagLen()
	if len(ct) < tag {
		return nil, ErrDecryptionFailed.withDetail(fmt.Sprintf("ciphertext of %d bytes is shorter than the %d-byte tag", len(ct), tag))
	}
	if uint64(len(ct)-tag) > c.maxPlaintext() {
		return nil, ErrDecryptionFailed.withDetail("ciphertext too long for the algorithm")
	}
	ptLen := len(ct) - tag
	buf := room.byteBuf(ptLen + aadLen(c.p.AEAD, reqKID, reqPIV))[:ptLen]
	aad, _, _ := appendAAD(buf[ptLen:ptLen], c.p.AEAD, reqKID, reqPIV)
	pt, err := c.opener.Open(buf[:0], nonce, ct, aad)
	if err != nil {
		return nil, ErrDecryptionFailed.withDetail(fmt.Sprintf("context %q", c.name))
	}
	return pt[:len(pt):len(pt)], nil
}

// innerFlags are facts about the Inner options that verification needs.
type innerFlags struct {
	observe         bool // Inner Observe present
	observeRegister bool // Inner Observe 0 (a registration)
}

// rebuild forms the unprotected message (RFC 8613 8.2 steps 2 and 6, 8.4):
// outer options except OSCORE and except outer copies of Class E options,
// plus the Inner options of the plaintext; Code and payload from the
// plaintext.
func rebuild(m *message.Message, pt []byte, rep *Report, room *msgRoom) (message.Message, innerFlags, error) {
	var fl innerFlags
	if len(pt) < 1 {
		return message.Message{}, fl, ErrDecodeCOSE.withDetail("empty plaintext")
	}
	rep.setInner(codes.Code(pt[0]))
	// Inner options are decoded on the stack first, so that the message's
	// option list is allocated at its exact size.
	var innerBuf [innerInline]message.Option
	inner, payload, perr := parseOptions(pt[1:], innerBuf[:0])
	kept := 0 // outer options that stay: neither OSCORE nor Class E
	for _, o := range m.Options {
		if o.ID != optOSCORE && originalClass(uint16(o.ID))&ClassE == 0 {
			kept++
		}
	}
	opts := room.optBuf(kept + len(inner))
	for _, o := range m.Options {
		num := uint16(o.ID)
		cl := originalClass(num)
		or := optRow{num: num, value: o.Value, orig: cl, cl: cl}
		switch {
		case num == optOSCORE:
			or.where, or.note = whereDiscarded, noteOwnOSCORE
		case cl&ClassE != 0:
			or.where, or.note = whereDiscarded, noteOuterCopy
		default:
			or.where = whereOuter
			opts = append(opts, o)
		}
		rep.addRow(or)
	}
	if perr != nil {
		return message.Message{}, fl, ErrDecodeCOSE.withDetail("plaintext: " + perr.Error())
	}
	nOuter := len(opts)
	opts = append(opts, inner...)
	for _, o := range opts[nOuter:] {
		num := uint16(o.ID)
		cl := originalClass(num)
		or := optRow{num: num, value: o.Value, orig: cl, cl: ClassE, where: whereInner}
		if cl&ClassE == 0 {
			or.note = noteEscalatedBySender
		}
		if num == optObserve {
			fl.observe = true
			fl.observeRegister = decodeUint(o.Value) == 0
		}
		rep.addRow(or)
	}
	sortOptions(opts)
	out := message.Message{Token: m.Token, Options: opts, Code: codes.Code(pt[0]), Payload: payload, MessageID: m.MessageID, Type: m.Type}
	return out, fl, nil
}

func findOption(opts message.Options, id uint16) ([]byte, bool) {
	for _, o := range opts {
		if uint16(o.ID) == id {
			return o.Value, true
		}
	}
	return nil, false
}

func optHex(b []byte) string {
	if b == nil {
		return "absent"
	}
	return Hex(b).String()
}
