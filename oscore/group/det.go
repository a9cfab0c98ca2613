package group

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// OptRequestHash is the Request-Hash option (draft-ietf-core-cacheable-oscore
// 3.3, number 548 as the draft suggests): Class U in a deterministic
// request, Class I in its response, where it is usually left out of the
// message.
const OptRequestHash = 548

// detRequest is what an exchange keeps of a deterministic request: its
// hash and the Class I options its responses authenticate.
type detRequest struct {
	hash   []byte
	classI []byte
}

// ProtectDeterministicRequest protects safe request m (GET or FETCH) as the
// group's Deterministic Client (draft-ietf-core-cacheable-oscore 3.4.2), so
// that every client makes the same bytes: pairwise mode with the
// Deterministic Client's Sender ID as kid, Partial IV 0 and an empty
// sender_cred; H = SHA-256(its Sender Key || aad_array || plaintext); the
// key K = HKDF(its Sender Key, H, [ID, Gid, AEAD, "Key", L]); Request-Hash =
// H outside; outer code FETCH. to is the Recipient ID of the server
// addressed, nil for a request to several servers (every response must then
// carry kid, 3.4.4).
func ProtectDeterministicRequest(c *Context, m message.Message, to []byte, o ProtectOptions) (message.Message, *Exchange, *oscore.Report, error) {
	if c == nil {
		return message.Message{}, nil, nil, errors.New("group: nil context")
	}
	rep := oscore.NewReport(c.name, "protect", "request")
	if c.p.DetSenderID == nil {
		return message.Message{}, nil, rep, fmt.Errorf("group: context %q has no Deterministic Client", c.name)
	}
	if m.Code != codes.GET && m.Code != codes.FETCH {
		return message.Message{}, nil, rep, fmt.Errorf("group: a deterministic request must be safe (GET or FETCH), not %v", m.Code)
	}
	x := &Exchange{ctx: c, mode: PairwiseMode, kid: bytes.Clone(c.p.DetSenderID), piv: []byte{0}, kidCtx: bytes.Clone(c.p.GroupID), long: to == nil}
	if to != nil {
		if x.peer = c.Recipient(to); x.peer == nil {
			return message.Message{}, nil, rep, fmt.Errorf("group: no Recipient Context for %x", to)
		}
	}
	s, err := oscore.SplitRequest(withoutOption(m, OptRequestHash), o.oscore(), rep)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	x.observe = s.Register
	in := sealInput{mode: PairwiseMode, request: true, idPIV: x.kid, piv: x.piv, ownPIV: true,
		ov:  oscore.OptionValue{PartialIV: x.piv, KIDContext: c.p.GroupID, KID: x.kid},
		aad: aadInput{reqKID: x.kid, reqPIV: x.piv, reqKIDContext: x.kidCtx, senderCred: []byte{}}}
	in.aad.optVal = in.ov.Marshal()
	h, k, err := c.detKeyFor(&in.aad, s.Plaintext)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	in.key, in.detKeyAlg = k, c.p.AEAD
	if in.detKey, err = c.p.AEAD.NewAEAD(k.Output); err != nil {
		return message.Message{}, nil, rep, err
	}
	x.det = &detRequest{hash: h, classI: oscore.EncodeOptions(message.Options{{ID: OptRequestHash, Value: h}})}
	s.Outer = s.Outer.Add(message.Option{ID: OptRequestHash, Value: h})
	s.OuterCode = codes.FETCH
	rep.AddNote(fmt.Sprintf("deterministic request: Request-Hash %x, key from the hash (draft-ietf-core-cacheable-oscore 3.4.2)", h))
	out, err := c.seal(m, s, &in, rep)
	if err != nil {
		return message.Message{}, nil, rep, err
	}
	return out, x, rep, nil
}

// detKeyFor computes the request hash H and the key K of a deterministic
// request (draft-ietf-core-cacheable-oscore 3.4.2 steps 2 and 3).
func (c *Context) detKeyFor(aad *aadInput, plaintext []byte) ([]byte, *KeyDerivation, error) {
	arr := c.aadArray(aad)
	hh := sha256.New()
	hh.Write(c.detKey.Output)
	hh.Write(arr)
	hh.Write(plaintext)
	h := hh.Sum(nil)
	k, err := c.derive("deterministic key from H", "Sender Key of the Deterministic Client", h, c.detKey.Output, c.p.DetSenderID, c.p.AEAD, "Key", c.p.AEAD.KeyLen())
	if err != nil {
		return nil, nil, err
	}
	return h, &k, nil
}

// unprotectDeterministic verifies a deterministic request (draft-ietf-core-
// cacheable-oscore 3.4.3): the key comes from the Request-Hash, there is
// no replay window, the hash is recomputed from the plaintext and must
// match, and only safe methods are accepted.
func (c *Context) unprotectDeterministic(m message.Message, raw []byte, ov oscore.OptionValue, rep *oscore.Report) (message.Message, *Exchange, error) {
	h, ok := optionValue(m.Options, OptRequestHash)
	if !ok || ov.Group || !bytes.Equal(ov.PartialIV, []byte{0}) {
		return message.Message{}, nil, oscore.ErrDecodeCOSE.WithDetail("kid of the Deterministic Client without Request-Hash, in group mode, or with a Partial IV other than 0 (draft-ietf-core-cacheable-oscore 3.4.3)")
	}
	aad := aadInput{reqKID: ov.KID, reqPIV: ov.PartialIV, reqKIDContext: ov.KIDContext, senderCred: []byte{}, optVal: raw}
	k, err := c.derive("deterministic key from H", "Sender Key of the Deterministic Client", h, c.detKey.Output, c.p.DetSenderID, c.p.AEAD, "Key", c.p.AEAD.KeyLen())
	if err != nil {
		return message.Message{}, nil, err
	}
	aead, err := c.p.AEAD.NewAEAD(k.Output)
	if err != nil {
		return message.Message{}, nil, err
	}
	det := &Recipient{ctx: c, id: c.p.DetSenderID, cred: &Credential{fp: fingerprint(nil)}}
	in := openInput{mode: PairwiseMode, request: true, raw: raw, idPIV: ov.KID, piv: ov.PartialIV, ownPIV: true, sender: det,
		aad: aad, detKey: aead, detKeyAlg: c.p.AEAD, key: &k}
	pt, g, err := c.open(m.Payload, &in, rep)
	defer attach(rep, g)
	if err != nil {
		return message.Message{}, nil, err
	}
	if h2, _, err := c.detKeyFor(&in.aad, pt); err != nil || !bytes.Equal(h2, h) {
		g.Verification = "decrypted, but the recomputed hash differs from the Request-Hash"
		return message.Message{}, nil, oscore.ErrDecryptionFailed.WithDetail("recomputed request hash differs from the Request-Hash (draft-ietf-core-cacheable-oscore 3.4.3)")
	}
	out, j, err := oscore.JoinRequest(withoutOption(m, OptRequestHash), pt, rep)
	if err != nil {
		return message.Message{}, nil, err
	}
	if out.Code != codes.GET && out.Code != codes.FETCH {
		return message.Message{}, nil, oscore.ErrContextNotFound.WithDetail(fmt.Sprintf("deterministic request with the unsafe method %v (draft-ietf-core-cacheable-oscore 3.4.3: 4.01)", out.Code))
	}
	g.Verification = "decrypted with the key from the Request-Hash, hash recomputed and equal; no replay window (draft-ietf-core-cacheable-oscore 3.4.3)"
	out.Options = out.Options.Add(message.Option{ID: OptRequestHash, Value: bytes.Clone(h)})
	x := &Exchange{ctx: c, mode: PairwiseMode, kid: bytes.Clone(ov.KID), piv: bytes.Clone(ov.PartialIV), kidCtx: bytes.Clone(ov.KIDContext),
		observe: j.Register, det: &detRequest{hash: bytes.Clone(h), classI: oscore.EncodeOptions(message.Options{{ID: OptRequestHash, Value: h}})}}
	return out, x, nil
}

// detResponse prepares a response to a deterministic request
// (draft-ietf-core-cacheable-oscore 3.4.4): a Request-Hash in m must be
// the request's (it is Class I and left out of the message), and the
// outer Max-Age is the inner one, or 60.
func detResponse(x *Exchange, m message.Message) (message.Message, []byte, error) {
	if h, ok := optionValue(m.Options, OptRequestHash); ok && !bytes.Equal(h, x.det.hash) {
		return m, nil, errors.New("group: the response's Request-Hash differs from the request's (draft-ietf-core-cacheable-oscore 3.4.4)")
	}
	maxAge := []byte{60}
	if v, ok := optionValue(m.Options, message.MaxAge); ok {
		if len(v) == 0 {
			return m, nil, errors.New("group: Max-Age 0 in a response to a deterministic request (draft-ietf-core-cacheable-oscore 3.4.4)")
		}
		maxAge = v
	}
	return withoutOption(m, OptRequestHash), maxAge, nil
}

func optionValue(opts message.Options, id message.OptionID) ([]byte, bool) {
	for _, o := range opts {
		if o.ID == id {
			return o.Value, true
		}
	}
	return nil, false
}

func withoutOption(m message.Message, id message.OptionID) message.Message {
	if _, ok := optionValue(m.Options, id); !ok {
		return m
	}
	opts := make(message.Options, 0, len(m.Options))
	for _, o := range m.Options {
		if o.ID != id {
			opts = append(opts, o)
		}
	}
	m.Options = opts
	return m
}
