package nodes

import (
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
)

// msgVerdict is what RFC 7252's message layer does with a Confirmable or
// Non-confirmable message before any request processing.
type msgVerdict uint8

const (
	msgPass   msgVerdict = iota // a request, or a ping: on to go-coap and the handler
	msgIgnore                   // rejected silently
	msgReset                    // rejected with a matching Reset
)

// messageLayer classifies a CON or NON message that reached a node's
// server socket by its code (RFC 7252 12.1):
//
//   - a request (0.01 to 0.31) passes; an unknown method among them gets
//     4.05 from the handler (RFC 7252 5.8);
//   - an Empty message (0.00) with a token, options or a payload is a
//     message format error (RFC 7252 4.1), and a reserved class (1, 6, 7)
//     is one the recipient lacks context for: both are rejected (4.2 for
//     CON, 4.3 for NON);
//   - a response (class 2 to 5) arriving at a server is unsolicited: no
//     request of this socket can match it (RFC 7252 5.3.2), so it is
//     rejected the same way;
//   - a bare Empty CON is a ping that go-coap answers with a Reset; a bare
//     Empty NON is rejected.
//
// Rejecting a CON is a matching Reset (4.2); rejecting a NON is silence
// (4.3 makes the Reset optional, and silence gives a spoofed source
// nothing to reflect). ACK and Reset messages are not classified here: an
// unmatched one is ignored by the handler (RFC 7252 4.2).
func messageLayer(typ message.Type, code codes.Code, tokenLen int, more bool) msgVerdict {
	if typ != message.Confirmable && typ != message.NonConfirmable {
		return msgPass
	}
	class := code >> 5
	switch {
	case code == codes.Empty && tokenLen == 0 && !more:
		if typ == message.Confirmable {
			return msgPass
		}
	case class == 0 && code != codes.Empty:
		return msgPass
	}
	if typ == message.Confirmable {
		return msgReset
	}
	return msgIgnore
}

// knownMethod: the method codes the lab serves (RFC 7252 12.1.1, RFC 8132).
func knownMethod(c codes.Code) bool { return c >= codes.GET && c <= codes.IPATCH }

// rejectAtMessageLayer is a server socket's request monitor: it applies
// messageLayer before go-coap handles the message, and sends the Reset
// itself, since go-coap turns a handler's Reset into an ACK. It returns
// whether the message is dropped.
func rejectAtMessageLayer(cc *udpClient.Conn, req *pool.Message) (bool, error) {
	more := len(req.Options()) > 0
	if !more && req.Code() == codes.Empty {
		if b, _ := readBody(req); len(b) > 0 {
			more = true
		}
	}
	switch messageLayer(req.Type(), req.Code(), len(req.Token()), more) {
	case msgIgnore:
		return true, nil
	case msgReset:
		rst := cc.AcquireMessage(cc.Context())
		defer cc.ReleaseMessage(rst)
		rst.SetType(message.Reset)
		rst.SetCode(codes.Empty)
		rst.SetMessageID(req.MessageID())
		cc.Session().WriteMessage(rst) // a failed write is a lost datagram: no reason to drop the peer
		return true, nil
	}
	return false, nil
}
