package oscore

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// Building blocks for OSCORE variants with their own keys and COSE
// structures (Group OSCORE, RFC 10021, in oscore/group): they protect the
// same plaintext (RFC 8613 5.3) of the same options split by the same
// classes and rule (RFC 8613 4.1, draft 2.2), so they use this package's
// split, rebuild, reports, nonce, replay window and errors rather than
// copies of them.

// MakeNonce builds the nonce of RFC 8613 5.2 into dst, which must be as
// long as commonIV: a Group OSCORE caller passes the first X bytes of its
// Common IV for an algorithm with an X-byte nonce (RFC 10021 3.3).
func MakeNonce(dst, idPIV, piv, commonIV []byte) error {
	if len(dst) != len(commonIV) || len(piv) > pivPadLen || len(idPIV) > len(commonIV)-pivPadLen-1 {
		return fmt.Errorf("oscore: nonce of %d bytes cannot hold an ID of %d and a Partial IV of %d bytes", len(commonIV), len(idPIV), len(piv))
	}
	makeNonce(dst, idPIV, piv, commonIV)
	return nil
}

// EncodePIV renders a sequence number as a Partial IV (RFC 8613 6.1).
func EncodePIV(seq uint64) []byte { return encodePIV(nil, seq) }

// PIVValue decodes a Partial IV of at most 5 bytes as a sequence number.
func PIVValue(piv []byte) uint64 { return pivValue(piv) }

// WithDetail returns a copy of e with detail added to its Reason; it still
// matches e's sentinel with errors.Is.
func (e *Error) WithDetail(detail string) *Error { return e.withDetail(detail) }

// Silent marks a client-side failure: no response is sent, and the error
// also matches ErrResponseNotVerified (RFC 8613 8.4).
func Silent(err error) error { return silent(err) }

// FindOSCORE returns the value of m's single OSCORE option: ErrNotProtected
// without one, ErrDecodeCOSE with two or without payload (RFC 8613 2).
func FindOSCORE(m *message.Message) ([]byte, error) { return findOSCORE(m) }

// ReplayWindow is the anti-replay window of RFC 8613 3.2.2 and 7.4, for a
// variant's Recipient Contexts (RFC 10021 2.2: one per group member).
type ReplayWindow struct{ w *replayWindow }

// NewReplayWindow returns an empty window of size numbers (0: 32).
func NewReplayWindow(size int) (*ReplayWindow, error) {
	if size == 0 {
		size = DefaultReplayWindow
	}
	if size < 1 || size > 4096 {
		return nil, fmt.Errorf("oscore: replay window %d outside 1..4096", size)
	}
	return &ReplayWindow{newReplayWindow(size)}, nil
}

// Check reports whether seq would be accepted now.
func (r *ReplayWindow) Check(seq uint64) bool { return r.w.check(seq) }

// Accept records seq after a successful verification; false means it was
// a replay after all (a concurrent duplicate won). Check and record are
// atomic (RFC 8613 7.4).
func (r *ReplayWindow) Accept(seq uint64) bool { return r.w.accept(seq) }

// State returns a snapshot of the window.
func (r *ReplayWindow) State() ReplayState { return r.w.state() }

// Reset empties the window.
func (r *ReplayWindow) Reset() { r.w.reset() }

// NewReport returns an empty report of a variant's layer; its option rows
// and codes are recorded by SplitRequest, SplitResponse and Join, and its
// Details are built by Complete (nonce, AAD and key stay empty: the variant
// reports those itself, for Group OSCORE in Details.Group).
func NewReport(context, action, msg string) *Report {
	x := new(responseBox)
	r := x.init(action, msg)
	r.Context = context
	return r
}

// SetOption records the layer's OSCORE option value in r.
func (r *Report) SetOption(raw []byte) {
	_, err := ParseOption(raw)
	r.setOption(raw, err == nil)
}

// SetGroup records the group part of a Group OSCORE layer's report, shown
// in Details.Group once the report is completed.
func (r *Report) SetGroup(g *GroupReport) {
	lz := r.lazy
	if lz == nil || r.Details != nil { // made by hand, or already completed
		if r.Details != nil {
			r.Details.Group = g
		}
		return
	}
	if lz.more == nil {
		lz.more = new(moreRows)
		lz.more.rows = append(lz.more.buf[:0], lz.rowBuf[:lz.nrows]...)
	}
	lz.more.group = g
}

// SetCiphertext records the layer's plaintext and ciphertext in r.
func (r *Report) SetCiphertext(plaintext, ciphertext []byte) {
	r.Plaintext, r.Ciphertext = plaintext, ciphertext
}

// AddNote adds a decision in plain words to r.
func (r *Report) AddNote(s string) { r.addNote(s) }

// Split is one layer's division of a message (RFC 8613 4.1, 5.3): the
// plaintext to encrypt and what stays outside.
type Split struct {
	Plaintext []byte          // Code || Inner options || 0xff || payload (RFC 8613 5.3)
	Outer     message.Options // Outer options, without the layer's OSCORE option
	OuterCode codes.Code      // POST or FETCH for a request, 2.04 or 2.05 for a response (4.2)
	Observe   bool            // request: carries Observe; response: a notification
	Register  bool            // request: Observe 0, a registration
}

// SplitRequest splits request m as ProtectRequest does, recording each
// option's decision in rep.
func SplitRequest(m message.Message, o ProtectOptions, rep *Report) (Split, error) {
	if !isRequestCode(m.Code) {
		return Split{}, fmt.Errorf("oscore: protect request: code %v is not a request method", codeString(m.Code))
	}
	return splitLayer(&m, o, true, false, rep)
}

// SplitResponse splits response m as ProtectResponse does; observe says
// the request registered an observation.
func SplitResponse(m message.Message, o ProtectOptions, observe bool, rep *Report) (Split, error) {
	if !isResponseCode(m.Code) {
		return Split{}, fmt.Errorf("oscore: protect response: code %v is not a response code", codeString(m.Code))
	}
	return splitLayer(&m, o, false, observe, rep)
}

func splitLayer(m *message.Message, o ProtectOptions, isRequest, observe bool, rep *Report) (Split, error) {
	rep.setInner(m.Code)
	var innerBuf, outerBuf [innerInline]message.Option
	inner, outer, sp, err := split(m, o, isRequest, observe, rep, innerBuf[:0], outerBuf[:0])
	if err != nil {
		return Split{}, err
	}
	s := Split{Outer: append(message.Options(nil), outer...), Observe: sp.observe || sp.notification, Register: sp.observeRegister}
	n := 1 + optionsLen(inner)
	if len(m.Payload) > 0 {
		n += 1 + len(m.Payload)
	}
	pt := make([]byte, 0, n)
	pt = append(pt, byte(m.Code))
	pt = appendOptions(pt, inner)
	if len(m.Payload) > 0 {
		pt = append(pt, 0xff)
		pt = append(pt, m.Payload...)
	}
	s.Plaintext = pt
	switch {
	case isRequest && sp.observe:
		s.OuterCode = codes.FETCH
	case isRequest:
		s.OuterCode = codes.POST
	case sp.notification:
		s.OuterCode = codes.Content
	default:
		s.OuterCode = codes.Changed
	}
	rep.setOuter(s.OuterCode)
	return s, nil
}

// Assemble forms the protected message of one layer: the outer options of
// s with the OSCORE option value optVal, s's outer code, payload as payload
// and token, message ID and type from m (RFC 8613 4.2, 6).
func Assemble(m message.Message, s Split, optVal, payload []byte) message.Message {
	opts := make(message.Options, 0, len(s.Outer)+1)
	opts = append(opts, s.Outer...).Add(message.Option{ID: optOSCORE, Value: optVal})
	return message.Message{Token: m.Token, Options: opts, Code: s.OuterCode, Payload: payload, MessageID: m.MessageID, Type: m.Type}
}

// Joined is what Join learnt about the Inner options.
type Joined struct {
	Observe  bool // Inner Observe present
	Register bool // Inner Observe 0
}

// JoinRequest rebuilds the request from the outer message m and the
// decrypted plaintext as UnprotectRequest does (RFC 8613 8.2 steps 2, 6).
func JoinRequest(m message.Message, plaintext []byte, rep *Report) (message.Message, Joined, error) {
	rep.setOuter(m.Code)
	out, fl, err := rebuild(&m, plaintext, rep, new(msgRoom))
	if err != nil {
		return message.Message{}, Joined{}, err
	}
	if !isRequestCode(out.Code) {
		return message.Message{}, Joined{}, ErrDecodeCOSE.withDetail(fmt.Sprintf("inner code %s is not a request method", codeString(out.Code)))
	}
	return out, Joined{Observe: fl.observe, Register: fl.observeRegister}, nil
}

// JoinResponse rebuilds the response as UnprotectResponse does (RFC 8613
// 8.4); an Inner Observe in a response to a request that registered none
// is an error (4.1.3.5.2).
func JoinResponse(m message.Message, plaintext []byte, observe bool, rep *Report) (message.Message, Joined, error) {
	rep.setOuter(m.Code)
	out, fl, err := rebuild(&m, plaintext, rep, new(msgRoom))
	if err != nil {
		return message.Message{}, Joined{}, err
	}
	if !isResponseCode(out.Code) {
		return message.Message{}, Joined{}, ErrDecodeCOSE.withDetail(fmt.Sprintf("inner code %s is not a response code", codeString(out.Code)))
	}
	if fl.observe && !observe {
		return message.Message{}, Joined{}, ErrDecodeCOSE.withDetail("Inner Observe in a response to a non-Observe request (RFC 8613 4.1.3.5.2)")
	}
	return out, Joined{Observe: fl.observe, Register: fl.observeRegister}, nil
}

// EncodeOptions encodes opts (sorted by number) as a CoAP option sequence
// with deltas from 0 (RFC 7252 3.1), the form of Class I options in an
// external_aad (RFC 8613 5.4).
func EncodeOptions(opts message.Options) []byte {
	sorted := append(message.Options(nil), opts...)
	sortOptions(sorted)
	return appendOptions(make([]byte, 0, optionsLen(sorted)), sorted)
}
