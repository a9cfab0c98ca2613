package edhoc

import (
	"errors"
	"fmt"

	"oscore-lab/oscore/internal/cborenc"
)

// Error is a failure of the local session. Message is the EDHOC error
// message to send to the peer (RFC 9528 6); after it the session is
// aborted.
type Error struct {
	Code int64
	Info []byte // ERR_INFO as one CBOR item
	Step string // the RFC step that failed, e.g. "5.3.3"
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("edhoc: %s: %v (error %d)", e.Step, e.Err, e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// Message returns the error message for the peer.
func (e *Error) Message() []byte { return (&ErrorMessage{Code: e.Code, Info: e.Info}).Marshal() }

// PeerError reports an error message received from the peer; the session
// is aborted (RFC 9528 6). For error 2 the Initiator can Retry.
type PeerError struct {
	Msg *ErrorMessage
}

func (e *PeerError) Error() string {
	if d := e.Msg.Diagnostic(); d != "" {
		return fmt.Sprintf("edhoc: peer sent error %d: %q", e.Msg.Code, d)
	}
	return "edhoc: peer sent " + e.Msg.String()
}

// fail wraps err as error 1 (unspecified, with a diagnostic text), or
// error 3 for an unknown credential (RFC 9528 6.2, 6.4).
func fail(step string, err error) *Error {
	if errors.Is(err, ErrUnknownCredential) {
		return &Error{Code: ErrCodeUnknownCredential, Info: []byte{0xf5}, Step: step, Err: err}
	}
	return &Error{Code: ErrCodeUnspecified, Info: cborenc.AppendTstr(nil, err.Error()), Step: step, Err: err}
}

// errState reports a protocol step called out of order; no error message
// is due for it, the caller misused the session.
func errState(op string, st state) error {
	return fmt.Errorf("edhoc: %s called in state %v", op, st)
}

// ErrorFor wraps err as the error message a peer is due (RFC 9528 6):
// error 3 for ErrUnknownCredential, else error 1 with err's text.
func ErrorFor(step string, err error) *Error { return fail(step, err) }
