package edhoc

import (
	"errors"
	"fmt"

	"oscore-lab/oscore"
)

// EDHOC over CoAP (RFC 9528 Appendix A.2) and the EDHOC + OSCORE request
// (RFC 9668 3). Only the payload framing lives here; the CoAP messages are
// the caller's.

// CoAP parameters of the transport.
const (
	// WellKnownPath is the resource EDHOC requests are POSTed to (RFC
	// 9528 A.2, resource type core.edhoc).
	WellKnownPath = "/.well-known/edhoc"
	// ContentFormatEDHOC is application/edhoc+cbor-seq: a bare EDHOC
	// message or error message (responses).
	ContentFormatEDHOC = 64
	// ContentFormatCIDEDHOC is application/cid-edhoc+cbor-seq: a request
	// payload whose message is prefixed by true or a connection
	// identifier.
	ContentFormatCIDEDHOC = 65
	// OptionEDHOC is the EDHOC option of a combined request (RFC 9668
	// 3.1): critical, safe to forward, empty, OSCORE class U.
	OptionEDHOC = oscore.OptEDHOC
)

// cborTrue is the prefix of the request carrying message_1 in the forward
// flow (RFC 9528 A.2.1).
const cborTrue = 0xf5

// RequestPayload frames an EDHOC message for a request of the forward
// flow (RFC 9528 A.2.1): message_1 is prefixed by CBOR true, message_3 and
// later messages by C_R in its identifier form. Pass first for message_1.
// The prefix is not part of the message and enters no transcript hash.
func RequestPayload(first bool, cR, msg []byte) []byte {
	if first {
		return append([]byte{cborTrue}, msg...)
	}
	return append(AppendID(nil, cR), msg...)
}

// ParseRequestPayload splits a forward-flow request payload into its
// prefix and the EDHOC message: first is true for the true prefix
// (message_1 follows), else cR is the connection identifier that selects
// the Responder's session.
func ParseRequestPayload(b []byte) (first bool, cR, msg []byte, err error) {
	if len(b) == 0 {
		return false, nil, nil, errors.New("edhoc: empty EDHOC request payload")
	}
	if b[0] == cborTrue {
		if len(b) == 1 {
			return false, nil, nil, errors.New("edhoc: no message after the true prefix")
		}
		return true, nil, b[1:], nil
	}
	r := &reader{b: b}
	if cR, err = r.id(); err != nil {
		return false, nil, nil, fmt.Errorf("edhoc: request prefix: %w", err)
	}
	if r.done() {
		return false, nil, nil, errors.New("edhoc: no message after the connection identifier")
	}
	return false, cR, b[r.off:], nil
}

// CombinedPayload is the payload of an EDHOC + OSCORE request (RFC 9668
// 3.2.1): message_3 (one byte string) followed by the OSCORE ciphertext.
// C_R is not prefixed: it travels as the OSCORE kid.
func CombinedPayload(message3, oscoreCiphertext []byte) []byte {
	return append(append(make([]byte, 0, len(message3)+len(oscoreCiphertext)), message3...), oscoreCiphertext...)
}

// SplitCombinedPayload takes message_3 off the front of a combined
// request's payload (RFC 9668 3.3.1 steps 1, 2 and 6); the rest is the
// OSCORE ciphertext, which must not be empty.
func SplitCombinedPayload(b []byte) (message3, oscoreCiphertext []byte, err error) {
	r := &reader{b: b}
	if _, err := r.bstr(); err != nil {
		return nil, nil, fmt.Errorf("edhoc: combined request: message_3: %w", err)
	}
	if r.done() {
		return nil, nil, errors.New("edhoc: combined request: no OSCORE ciphertext after message_3")
	}
	return b[:r.off], b[r.off:], nil
}
