package oscore

import (
	"errors"
	"strconv"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// ErrorResponse builds the unprotected error response to req for an OSCORE
// failure (RFC 8613 8.2, 7.4): the code and diagnostic payload from the
// error table and an Outer Max-Age 0, so that caches do not keep it
// (RFC 8613 4.1.3.1). A CON request is answered with a piggybacked ACK
// (same Message ID), anything else with a NON whose Message ID the caller
// should set. ok is false for silent errors (client side, RFC 8613 8.4),
// which get no response. Errors that are not *Error get 5.00.
//
// For responses that must be protected with the layers already removed
// (draft 2.5), build the plain error with ErrorMessage and protect it.
func ErrorResponse(req message.Message, err error) (resp message.Message, ok bool) {
	resp, ok = ErrorMessage(req, err)
	if !ok {
		return resp, false
	}
	resp.Options = resp.Options.Add(message.Option{ID: optMaxAge, Value: []byte{}})
	return resp, true
}

// ErrorMessage is ErrorResponse without the Outer Max-Age: the plain
// error response an application would send, ready to be protected.
func ErrorMessage(req message.Message, err error) (message.Message, bool) {
	var oe *Error
	code, diag := codes.InternalServerError, ""
	if errors.As(err, &oe) {
		if oe.Silent {
			return message.Message{}, false
		}
		code, diag = oe.Code, oe.Diagnostic
	}
	typ := req.Type
	switch req.Type {
	case message.Confirmable:
		typ = message.Acknowledgement
	case message.NonConfirmable:
		typ = message.NonConfirmable
	}
	m := message.Message{Token: req.Token, Code: code, MessageID: req.MessageID, Type: typ,
		Options: make(message.Options, 0, 2)}
	if diag != "" {
		m.Payload = []byte(diag)
	}
	return m, true
}

// PeerError is an unprotected error response from the peer to a protected
// request: the peer could not, or would not, verify the request (RFC 8613
// 8.2, 7.4) and says why in its code and diagnostic payload, e.g. 4.01
// "Replay detected". It is not a verification failure of the response
// (those are *Error): nothing in it is authenticated, so a client may show
// it and retry with a fresh request, but must not act on it as on a
// verified response.
type PeerError struct {
	Code       codes.Code
	Diagnostic string
}

func (e *PeerError) Error() string {
	if e.Diagnostic == "" {
		return "oscore: peer answered " + codeString(e.Code) + " unprotected"
	}
	return "oscore: peer answered " + codeString(e.Code) + " " + strconv.Quote(e.Diagnostic) + " unprotected"
}

// UnprotectedError returns the PeerError of resp, a response to a protected
// request, when resp is an error response without an OSCORE option (RFC
// 8613 8.2: the server's answer to a request it could not verify).
func UnprotectedError(resp message.Message) (*PeerError, bool) {
	if resp.Options.HasOption(optOSCORE) || resp.Code < codes.BadRequest {
		return nil, false
	}
	return &PeerError{Code: resp.Code, Diagnostic: string(resp.Payload)}, true
}
