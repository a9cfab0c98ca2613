package oscore

import (
	"strconv"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// Error is an OSCORE processing failure with the CoAP response it calls for
// (RFC 8613 sections 7.4, 8.2 and 8.4; draft-ietf-core-oscore-capable-proxies
// sections 2.1, 2.2 and 2.4; RFC 8768). Compare with errors.Is against the
// sentinels below: a returned error may carry more detail in Reason but keeps
// the identity of its table row.
type Error struct {
	Code       codes.Code // response code to send (when Silent is false)
	Diagnostic string     // diagnostic payload for the error response
	Reason     string     // plain words for logs and the UI
	Section    string     // where the rule comes from, e.g. "RFC 8613 8.2"
	Silent     bool       // no response is sent (client side, RFC 8613 8.4; draft 2.6)

	kind     errKind
	also     errKind    // a second identity (client-side failures also match ErrResponseNotVerified)
	respCode codes.Code // code when the failing message was a response (draft 2.2: 5.02)
}

// Error returns "oscore: " + Reason.
func (e *Error) Error() string { return "oscore: " + e.Reason }

// Is matches any error of the same table row, whatever its detail.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && (t.kind == e.kind || (e.also != 0 && t.kind == e.also))
}

// ResponseCode is the code to use when the message being processed was a
// response rather than a request (draft 2.2: an unrecognised option in a
// response is 5.02 Bad Gateway, in a request 4.02 Bad Option).
func (e *Error) ResponseCode() codes.Code {
	if e.respCode != 0 {
		return e.respCode
	}
	return e.Code
}

// CodeString renders Code in the "4.01" notation.
func (e *Error) CodeString() string { return codeString(e.Code) }

// withDetail returns a copy of the row with detail appended to Reason.
func (e *Error) withDetail(detail string) *Error {
	c := *e
	if detail != "" {
		c.Reason = e.Reason + ": " + detail
	}
	return &c
}

// forResponse returns a copy whose Code is the response-side code.
func (e *Error) forResponse() *Error {
	c := *e
	c.Code = e.ResponseCode()
	return &c
}

type errKind uint8

const (
	kindDecodeCOSE errKind = iota + 1
	kindContextNotFound
	kindReplay
	kindDecryptionFailed
	kindLayerLimit
	kindUnrecognisedOption
	kindProxyingNotSupported
	kindNotAcceptable
	kindNotFound
	kindHopLimit
	kindSequenceExhausted
	kindResponseNotVerified
	kindTooManyLayers
	kindNotProtected
	kindBadMessage
	kindNoCredential
)

// errorTable is the single source of every code, diagnostic and section
// (in the manner of crypto/tls's alert table).
var errorTable = map[errKind]Error{
	kindDecodeCOSE:           {Code: codes.BadOption, Diagnostic: "Failed to decode COSE", Reason: "failed to decode COSE", Section: "RFC 8613 8.2"},
	kindContextNotFound:      {Code: codes.Unauthorized, Diagnostic: "Security context not found", Reason: "security context not found", Section: "RFC 8613 8.2"},
	kindReplay:               {Code: codes.Unauthorized, Diagnostic: "Replay detected", Reason: "replay detected", Section: "RFC 8613 7.4"},
	kindDecryptionFailed:     {Code: codes.BadRequest, Diagnostic: "Decryption failed", Reason: "decryption failed", Section: "RFC 8613 8.2"},
	kindLayerLimit:           {Code: codes.Unauthorized, Diagnostic: "Too many OSCORE layers", Reason: "OSCORE layer limit reached", Section: "draft-ietf-core-oscore-capable-proxies 2.1"},
	kindUnrecognisedOption:   {Code: codes.BadOption, Diagnostic: "Unrecognised option", Reason: "unrecognised option", Section: "draft-ietf-core-oscore-capable-proxies 2.2", respCode: codes.BadGateway},
	kindProxyingNotSupported: {Code: codes.ProxyingNotSupported, Diagnostic: "Proxying not supported", Reason: "proxying not supported", Section: "draft-ietf-core-oscore-capable-proxies 2.4 step 2; RFC 7252 5.10.2"},
	kindNotAcceptable:        {Code: codes.Unauthorized, Diagnostic: "Forwarding not acceptable", Reason: "forwarding not acceptable", Section: "draft-ietf-core-oscore-capable-proxies 2.4 step 4"},
	kindNotFound:             {Code: codes.NotFound, Diagnostic: "No application for the request", Reason: "no application for the request", Section: "draft-ietf-core-oscore-capable-proxies 2.4 step 5"},
	kindHopLimit:             {Code: codes.Code(0xa8), Diagnostic: "Hop Limit Reached", Reason: "hop limit reached", Section: "RFC 8768 3"},
	kindSequenceExhausted:    {Code: codes.InternalServerError, Diagnostic: "Sender sequence number exhausted", Reason: "sender sequence number exhausted", Section: "RFC 8613 7.2.1"},
	kindResponseNotVerified:  {Code: codes.BadRequest, Diagnostic: "", Reason: "response not verified", Section: "RFC 8613 8.4", Silent: true},
	kindTooManyLayers:        {Code: codes.BadRequest, Diagnostic: "", Reason: "OSCORE option left after removing every expected layer", Section: "draft-ietf-core-oscore-capable-proxies 2.6", Silent: true},
	kindNotProtected:         {Code: codes.Unauthorized, Diagnostic: "OSCORE required", Reason: "message carries no OSCORE option", Section: "RFC 8613 8.2"},
	kindBadMessage:           {Code: codes.BadRequest, Diagnostic: "Malformed message", Reason: "malformed message", Section: "RFC 7252 3"},
	kindNoCredential:         {Code: codes.ServiceUnavailable, Diagnostic: "Authentication credential not available", Reason: "the sender's authentication credential is not available", Section: "RFC 10021 7.2"},
}

func sentinel(k errKind) *Error {
	e := errorTable[k]
	e.kind = k
	return &e
}

// Sentinels: compare with errors.Is.
var (
	ErrDecodeCOSE           = sentinel(kindDecodeCOSE)           // 4.02 "Failed to decode COSE"
	ErrContextNotFound      = sentinel(kindContextNotFound)      // 4.01 "Security context not found"
	ErrReplay               = sentinel(kindReplay)               // 4.01 "Replay detected"
	ErrDecryptionFailed     = sentinel(kindDecryptionFailed)     // 4.00 "Decryption failed"
	ErrLayerLimit           = sentinel(kindLayerLimit)           // 4.01 (draft 2.1)
	ErrUnrecognisedOption   = sentinel(kindUnrecognisedOption)   // 4.02 request / 5.02 response (draft 2.2)
	ErrProxyingNotSupported = sentinel(kindProxyingNotSupported) // 5.05 (draft 2.4 step 2)
	ErrNotAcceptable        = sentinel(kindNotAcceptable)        // 4.01 (draft 2.4 step 4)
	ErrNotFound             = sentinel(kindNotFound)             // 4.04 (draft 2.4 step 5)
	ErrHopLimit             = sentinel(kindHopLimit)             // 5.08 (RFC 8768)
	ErrSequenceExhausted    = sentinel(kindSequenceExhausted)    // context refuses to protect (RFC 8613 7.2.1)
	ErrResponseNotVerified  = sentinel(kindResponseNotVerified)  // client: stop silently (RFC 8613 8.4)
	ErrTooManyLayers        = sentinel(kindTooManyLayers)        // silent (draft 2.6)
	ErrNotProtected         = sentinel(kindNotProtected)         // no OSCORE option where one was required
	ErrBadMessage           = sentinel(kindBadMessage)           // malformed CoAP message (RFC 7252 3)
	ErrNoCredential         = sentinel(kindNoCredential)         // 5.03: Group OSCORE sender's credential unknown (RFC 10021 7.2)
)

// Errors lists every table row, for documentation and tests.
func Errors() []*Error {
	return []*Error{ErrDecodeCOSE, ErrContextNotFound, ErrReplay, ErrDecryptionFailed, ErrLayerLimit,
		ErrUnrecognisedOption, ErrProxyingNotSupported, ErrNotAcceptable, ErrNotFound, ErrHopLimit,
		ErrSequenceExhausted, ErrResponseNotVerified, ErrTooManyLayers, ErrNotProtected, ErrBadMessage, ErrNoCredential}
}

// codeStrings holds "c.dd" for every one-byte code.
var codeStrings = func() (t [256]string) {
	for i := range t {
		c := codes.Code(i)
		t[i] = string([]byte{byte('0' + c>>5), '.', byte('0' + (c&0x1f)/10), byte('0' + (c&0x1f)%10)})
	}
	return t
}()

// codeString renders a CoAP code as "c.dd".
func codeString(c codes.Code) string {
	if c < 256 {
		return codeStrings[c]
	}
	return "?." + strconv.Itoa(int(c))
}
