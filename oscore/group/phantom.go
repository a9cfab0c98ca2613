package group

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// Phantom is the phantom observation request of a group observation
// (draft-ietf-core-observe-multicast-notifications, "MN" below, 4.1), as
// Group OSCORE protects it (MN 9.2.1): a registration the server makes for
// the group of observers, protected in group mode with the server's own
// Sender Context, so its kid is the server's Sender ID and its Partial IV
// one of the server's Sender Sequence Numbers. Every multicast
// notification is a group-mode response bound to it: request_kid,
// request_piv and request_kid_context of the external_aad are the
// phantom's kid, Partial IV and kid context (MN 9.2.3, 9.3.2).
//
// The server makes it with ProtectPhantom; a client (or a proxy holding
// the group's keys) rebuilds it from an informative response and verifies
// it with VerifyPhantom, which checks no replay and updates no Replay
// Window (MN 9.3.1). Both then use it for notifications.
type Phantom struct {
	x   *Exchange
	msg message.Message // as protected: outer code FETCH, outer options, OSCORE option, payload
}

// ProtectPhantom protects phantom observation request m (a GET with
// Observe 0, MN 4.1 step 1) with the server's own Sender Context in group
// mode (MN 9.2.1): the OSCORE option carries the server's Sender ID as kid,
// its current Sender Sequence Number as Partial IV (the number is then
// consumed) and the Gid as kid context; the outer code is FETCH, since the
// request carries Observe (RFC 8613 4.1.3.5). The request is never sent
// (MN 4.1 step 3): it goes to clients inside informative responses.
func ProtectPhantom(c *Context, m message.Message) (*Phantom, *oscore.Report, error) {
	if c == nil {
		return nil, nil, errors.New("group: nil context")
	}
	if err := checkPhantomRequest(m); err != nil {
		return nil, nil, err
	}
	out, x, rep, err := ProtectRequest(c, m, ProtectOptions{Mode: GroupMode})
	if err != nil {
		return nil, rep, err
	}
	rep.AddNote(fmt.Sprintf("phantom observation request: the server's own kid %x and Partial IV %x, never sent (draft-ietf-core-observe-multicast-notifications 4.1, 9.2.1)", x.kid, x.piv))
	return &Phantom{x: x, msg: out}, rep, nil
}

// checkPhantomRequest applies MN 4.1 step 1: a GET with Observe 0.
func checkPhantomRequest(m message.Message) error {
	if m.Code != codes.GET {
		return fmt.Errorf("group: a phantom request is a GET, not %v (draft-ietf-core-observe-multicast-notifications 4.1)", m.Code)
	}
	v, err := m.Options.GetUint32(message.Observe)
	if err != nil || v != 0 {
		return errors.New("group: a phantom request carries Observe 0 (draft-ietf-core-observe-multicast-notifications 4.1)")
	}
	return nil
}

// VerifyPhantom decrypts and verifies phantom request m, rebuilt from an
// informative response (MN 5.3 step 2), as RFC 10021 7.2 does for a
// group-mode request, with the differences of MN 9.3.1: no replay check
// (RFC 8613 8.2 step 3 skipped) and no Replay Window update (step 6
// skipped), so the Recipient Context of the server is left as it was and
// any number of clients, or one client many times, may verify the same
// phantom. The inner request is returned for inspection only: it is not
// to be delivered or answered (step 8 skipped). The phantom must be in
// group mode (MN 9.2.1), under c's Gid, from another member, and be a GET
// with Observe 0 (MN 4.1).
func VerifyPhantom(c *Context, m message.Message) (*Phantom, message.Message, *oscore.Report, error) {
	if c == nil {
		return nil, message.Message{}, nil, errors.New("group: nil context")
	}
	rep := oscore.NewReport(c.name, "unprotect", "request")
	inner, x, err := c.verifyPhantom(m, rep)
	if err != nil {
		return nil, message.Message{}, rep, err
	}
	rep.AddNote(fmt.Sprintf("phantom request of %x verified: no replay check, Replay Window of %x not updated, not delivered (draft-ietf-core-observe-multicast-notifications 9.3.1)", x.kid, x.kid))
	return &Phantom{x: x, msg: m}, inner, rep, nil
}

func (c *Context) verifyPhantom(m message.Message, rep *oscore.Report) (_ message.Message, _ *Exchange, err error) {
	raw, err := oscore.FindOSCORE(&m)
	if err != nil {
		return message.Message{}, nil, err
	}
	rep.SetOption(raw)
	ov, err := oscore.ParseOption(raw)
	if err != nil {
		return message.Message{}, nil, err
	}
	switch {
	case ov.PartialIV == nil || ov.KID == nil || ov.KIDContext == nil:
		return message.Message{}, nil, oscore.ErrDecodeCOSE.WithDetail("phantom request without Partial IV, kid or kid context (RFC 10021 3.2)")
	case !ov.Group:
		return message.Message{}, nil, oscore.ErrDecodeCOSE.WithDetail("phantom request not in group mode (draft-ietf-core-observe-multicast-notifications 9.2.1)")
	case !bytes.Equal(ov.KIDContext, c.p.GroupID):
		return message.Message{}, nil, oscore.ErrContextNotFound.WithDetail(fmt.Sprintf("phantom request under Gid %x, the context has %x", ov.KIDContext, c.p.GroupID))
	case c.p.SenderID != nil && bytes.Equal(ov.KID, c.p.SenderID):
		return message.Message{}, nil, oscore.ErrContextNotFound.WithDetail("phantom request with our own Sender ID as kid (RFC 10021 7.2)")
	case len(ov.KID) > c.maxIDLen:
		return message.Message{}, nil, oscore.ErrDecodeCOSE.WithDetail("kid longer than the nonce allows (RFC 10021 2.2)")
	}
	if _, err := c.modeOf(ov); err != nil {
		return message.Message{}, nil, err
	}
	r, made, err := c.recipientFor(ov.KID)
	if err != nil {
		return message.Message{}, nil, err
	}
	defer func() { c.dropIfMade(r, made, err) }()
	in := openInput{mode: GroupMode, request: true, raw: raw, idPIV: ov.KID, piv: ov.PartialIV, ownPIV: true, sender: r,
		aad: aadInput{reqKID: ov.KID, reqPIV: ov.PartialIV, reqKIDContext: ov.KIDContext, senderCred: r.cred.raw}}
	pt, g, err := c.open(m.Payload, &in, rep)
	defer attach(rep, g)
	if err != nil {
		return message.Message{}, nil, err
	}
	out, j, err := oscore.JoinRequest(m, pt, rep)
	if err != nil {
		return message.Message{}, nil, err
	}
	if !j.Register || out.Code != codes.GET {
		return message.Message{}, nil, oscore.ErrDecodeCOSE.WithDetail("the phantom request is not a GET with Observe 0 (draft-ietf-core-observe-multicast-notifications 4.1)")
	}
	x := &Exchange{ctx: c, mode: GroupMode, kid: bytes.Clone(ov.KID), piv: bytes.Clone(ov.PartialIV), kidCtx: bytes.Clone(ov.KIDContext),
		peer: r, observe: true, long: true}
	return out, x, nil
}

// Message returns the protected phantom request: outer code FETCH, outer
// options, OSCORE option and payload (ciphertext || encrypted
// countersignature), which ph_req serializes (MN 9.2.2) and a ticket
// request repeats (draft-ietf-core-multicast-notifications-proxy 4.2).
func (p *Phantom) Message() message.Message {
	m := p.msg
	m.Options = append(message.Options(nil), p.msg.Options...)
	m.Payload = bytes.Clone(p.msg.Payload)
	m.Token = bytes.Clone(p.msg.Token)
	return m
}

// Exchange is the exchange every notification is bound to.
func (p *Phantom) Exchange() *Exchange { return p.x }

// KID, PIV and KIDContext are the phantom's kid (the server's Sender ID),
// Partial IV and kid context (the Gid): request_kid, request_piv and
// request_kid_context of every notification (MN 9.2.3).
func (p *Phantom) KID() []byte        { return p.x.KID() }
func (p *Phantom) PIV() []byte        { return p.x.PIV() }
func (p *Phantom) KIDContext() []byte { return p.x.KIDContext() }

// ProtectNotification protects notification m of the group observation
// (MN 9.2.3): group mode (RFC 10021 7.3), bound to the phantom request,
// with the server's own Sender Sequence Number as Partial IV, always
// present: the phantom's nonce was the server's own, so reusing it would
// reuse a nonce under the server's Sender Key. A cancellation (5.03, no
// Observe, MN 9.2.4) is protected the same way. Only the server that made
// the phantom can protect its notifications.
func (p *Phantom) ProtectNotification(m message.Message) (message.Message, *oscore.Report, error) {
	c := p.x.ctx
	if c.p.SenderID == nil || !bytes.Equal(c.p.SenderID, p.x.kid) {
		return message.Message{}, nil, fmt.Errorf("group: only the member with Sender ID %x notifies for its phantom request", p.x.kid)
	}
	out, rep, err := ProtectResponse(p.x, m, ProtectOptions{Mode: GroupMode, ResponsePIV: true})
	if err != nil {
		return message.Message{}, rep, err
	}
	rep.AddNote(fmt.Sprintf("multicast notification bound to the phantom request (request_kid %x, request_piv %x, request_kid_context %x) with an own Partial IV (draft-ietf-core-observe-multicast-notifications 9.2.3)", p.x.kid, p.x.piv, p.x.kidCtx))
	return out, rep, nil
}

// UnprotectNotification verifies notification m (or the rebuilt
// last_notif, MN 9.3.1) against the phantom request (MN 9.3.2; RFC 10021
// 7.4): group mode, kid equal to the phantom's (the server that made it),
// a Partial IV of its own, and Partial IVs increasing from one accepted
// notification to the next (the Response Number of RFC 10021 5.3.1): a
// replayed or reordered notification is refused. Every failure is silent.
func (p *Phantom) UnprotectNotification(m message.Message) (message.Message, *oscore.Report, error) {
	c := p.x.ctx
	rep := oscore.NewReport(c.name, "unprotect", "response")
	raw, err := oscore.FindOSCORE(&m)
	if err != nil {
		return message.Message{}, rep, oscore.Silent(err)
	}
	ov, err := oscore.ParseOption(raw)
	switch {
	case err != nil:
		rep.SetOption(raw)
		return message.Message{}, rep, oscore.Silent(err)
	case !ov.Group:
		rep.SetOption(raw)
		return message.Message{}, rep, oscore.Silent(oscore.ErrDecodeCOSE.WithDetail("multicast notification not in group mode (draft-ietf-core-observe-multicast-notifications 9.2.3)"))
	case ov.PartialIV == nil:
		rep.SetOption(raw)
		return message.Message{}, rep, oscore.Silent(oscore.ErrDecodeCOSE.WithDetail("multicast notification without its own Partial IV (draft-ietf-core-observe-multicast-notifications 9.2.3)"))
	case !bytes.Equal(ov.KID, p.x.kid):
		rep.SetOption(raw)
		return message.Message{}, rep, oscore.Silent(oscore.ErrContextNotFound.WithDetail(fmt.Sprintf("notification from kid %x, the phantom request is %x's (draft-ietf-core-observe-multicast-notifications 9.3.2)", ov.KID, p.x.kid)))
	}
	return UnprotectResponse(p.x, m)
}
