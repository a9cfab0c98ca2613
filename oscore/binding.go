package oscore

import (
	"fmt"
	"sync"

	"github.com/plgd-dev/go-coap/v3/message"
)

// Binding ties responses to their request (RFC 8613 8, 7.4): the context,
// the request's kid, Partial IV and kid context (request_kid and
// request_piv of the AAD), the request nonce (reused by a response without
// Partial IV) and, for Observe, the notification state (RFC 8613 7.4.1).
// ProtectRequest returns the client's Binding and UnprotectRequest the
// server's. A Binding is safe for concurrent use.
type Binding struct {
	Ctx     *Context
	Observe bool // the request registered an observation (inner Observe 0)

	// MultiResponse marks a request that may draw several responses other
	// than notifications: one sent to a group, or to a groupcomm proxy with
	// Multicast-Timeout. The client then accepts them as it accepts
	// notifications: at most one without Partial IV, treated as the oldest,
	// the others in increasing Partial IV order (draft 2.6.1, extending
	// RFC 8613 7.4.1). Set it before the first response arrives.
	MultiResponse bool

	// The request's identity is fixed when the Binding is made and read
	// through KID, PIV, KIDContext, Nonce and Token. It is kept inline,
	// 88 bytes in all: a Binding shares one allocation with the request's
	// report (see reportAndBinding).
	flags          bindingFlags // guarded by mu once the Binding is returned
	kidLen, pivLen uint8
	tokLen         uint8
	kid            [maxIDLen]byte
	piv            [maxPIVLen]byte
	tok            [message.MaxTokenSize]byte
	nonce          nonceBuf
	kidCtx         string // valid with bindKIDContext

	mu        sync.Mutex
	responses int32 // server: responses protected so far
	verified  int32 // client: responses verified so far
	notifNum  int64 // client: Notification Number, -1 before the first notification with Partial IV
}

// bindingFlags are the yes/no facts of a Binding.
type bindingFlags uint8

const (
	bindKIDContext bindingFlags = 1 << iota // the request carried a kid context
	bindNoPIVSeen                           // client: the one response/notification without Partial IV was accepted, guarded by mu
)

// maxIDLen is the longest Sender or Recipient ID of any algorithm: nonce
// length 13 minus 6 (RFC 8613 3.3).
const maxIDLen = maxNonceLen - 6

// nonceBuf holds a nonce of up to 13 bytes, the longest of the supported
// algorithms (RFC 8613 5.2: nonce length of the AEAD).
type nonceBuf struct {
	b [maxNonceLen]byte
	n uint8
}

const maxNonceLen = 13

// bytes returns the nonce; its capacity ends with it.
func (x *nonceBuf) bytes() []byte { return x.b[:x.n:x.n] }

// KID is the request's kid (request_kid of the AAD, RFC 8613 5.4). The
// returned bytes belong to the Binding: do not modify them.
func (b *Binding) KID() []byte { return b.kid[:b.kidLen:b.kidLen] }

// PIV is the request's Partial IV (request_piv of the AAD, RFC 8613 5.4).
// The returned bytes belong to the Binding: do not modify them.
func (b *Binding) PIV() []byte { return b.piv[:b.pivLen:b.pivLen] }

// Nonce is the request nonce (RFC 8613 5.2), which a response without
// Partial IV reuses. The returned bytes belong to the Binding: do not
// modify them.
func (b *Binding) Nonce() []byte { return b.nonce.bytes() }

// KIDContext is the kid context the request carried, nil when it carried
// none (RFC 8613 6.1, flag h). Each call returns a new copy.
func (b *Binding) KIDContext() []byte {
	b.mu.Lock()
	has := b.flags&bindKIDContext != 0
	b.mu.Unlock()
	if !has {
		return nil
	}
	return []byte(b.kidCtx)
}

// Token is the token of the request as protected or received. The
// returned bytes belong to the Binding: do not modify them.
func (b *Binding) Token() message.Token { return message.Token(b.tok[:b.tokLen:b.tokLen]) }

// initBinding fills a zero Binding. Its nonce is left zero, with the
// context's nonce length, for the caller to build (makeNonce on Nonce()).
// A kid, Partial IV or token longer than those of any valid context and
// message (RFC 8613 3.3, 6.1; RFC 7252 3) is an error.
func initBinding(b *Binding, c *Context, kid, piv, kidContext []byte, observe bool, tok message.Token) (*Binding, error) {
	n := c.p.AEAD.NonceLen()
	if len(kid) > len(b.kid) || len(piv) > len(b.piv) || len(tok) > len(b.tok) || n > len(b.nonce.b) {
		return nil, fmt.Errorf("oscore: binding: kid of %d, Partial IV of %d, token of %d or nonce of %d bytes too long", len(kid), len(piv), len(tok), n)
	}
	b.Ctx, b.Observe, b.notifNum = c, observe, -1
	b.kidLen = uint8(copy(b.kid[:], kid))
	b.pivLen = uint8(copy(b.piv[:], piv))
	b.tokLen = uint8(copy(b.tok[:], tok))
	b.nonce.n = uint8(n)
	if kidContext != nil {
		b.flags |= bindKIDContext
		b.kidCtx = string(kidContext)
	}
	return b, nil
}

// NotificationNumber is the largest Partial IV among the verified
// notifications, -1 before the first (RFC 8613 4.1.3.5.2).
func (b *Binding) NotificationNumber() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.notifNum
}

// Responses is how many responses were protected (server) or verified
// (client) under this binding.
func (b *Binding) Responses() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int(b.responses) + int(b.verified)
}

// check rejects a Binding that was not made by ProtectRequest or
// UnprotectRequest (a zero or hand-made value: no context, or no nonce of
// the context's length), so that the AEAD is never handed bad input.
func (b *Binding) check() error {
	if b == nil || b.Ctx == nil {
		return errContextInvalid
	}
	if int(b.nonce.n) != b.Ctx.p.AEAD.NonceLen() {
		return fmt.Errorf("oscore: binding nonce of %d bytes, %v needs %d", b.nonce.n, b.Ctx.p.AEAD, b.Ctx.p.AEAD.NonceLen())
	}
	return nil
}
