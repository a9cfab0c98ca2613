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
	Ctx        *Context
	KID        []byte
	PIV        []byte
	KIDContext []byte
	Nonce      []byte
	Token      message.Token // token of the request as protected or received
	Observe    bool          // the request registered an observation (inner Observe 0)

	// MultiResponse marks a request that may draw several responses other
	// than notifications: one sent to a group, or to a groupcomm proxy with
	// Multicast-Timeout. The client then accepts them as it accepts
	// notifications: at most one without Partial IV, treated as the oldest,
	// the others in increasing Partial IV order (draft 2.6.1, extending
	// RFC 8613 7.4.1). Set it before the first response arrives.
	MultiResponse bool

	// Fields ordered so that a Binding packs into 192 bytes: it shares
	// an allocation with the request's report.
	noPIVSeen bool // client: the one response/notification without Partial IV was accepted, guarded by mu
	kidBuf    [8]byte
	pivBuf    [maxPIVLen]byte
	nonceBuf  [13]byte
	tokBuf    [message.MaxTokenSize]byte

	mu        sync.Mutex
	responses int32 // server: responses protected so far
	verified  int32 // client: responses verified so far
	notifNum  int64 // client: Notification Number, -1 before the first notification with Partial IV
}

// newBinding copies kid, Partial IV, kid context and token into the
// binding (inline storage for the usual sizes). The nonce is filled by the
// caller through b.Nonce, which has the context's nonce length.
func newBinding(c *Context, kid, piv, kidContext []byte, observe bool, tok message.Token) *Binding {
	return initBinding(new(Binding), c, kid, piv, kidContext, observe, tok)
}

// initBinding fills a zero Binding (see newBinding).
func initBinding(b *Binding, c *Context, kid, piv, kidContext []byte, observe bool, tok message.Token) *Binding {
	b.Ctx, b.Observe, b.notifNum = c, observe, -1
	b.KID = inlineCopy(b.kidBuf[:], kid)
	b.PIV = inlineCopy(b.pivBuf[:], piv)
	if kidContext != nil {
		b.KIDContext = clone(kidContext)
	}
	if tok != nil {
		b.Token = message.Token(inlineCopy(b.tokBuf[:], tok))
	}
	n := c.p.AEAD.NonceLen()
	if n <= len(b.nonceBuf) {
		b.Nonce = b.nonceBuf[:n:n]
	} else {
		b.Nonce = make([]byte, n)
	}
	return b
}

// inlineCopy copies src into buf when it fits, else into a new slice.
func inlineCopy(buf, src []byte) []byte {
	if src == nil {
		return nil
	}
	if len(src) <= len(buf) {
		d := buf[:len(src):len(src)]
		copy(d, src)
		return d
	}
	return clone(src)
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

// check rejects a Binding that cannot produce a valid nonce (a hand-made
// value with a wrong nonce size or an over-long Partial IV), so that the
// AEAD is never handed bad input.
func (b *Binding) check() error {
	if b == nil || b.Ctx == nil {
		return errContextInvalid
	}
	if len(b.Nonce) != b.Ctx.p.AEAD.NonceLen() {
		return fmt.Errorf("oscore: binding nonce of %d bytes, %v needs %d", len(b.Nonce), b.Ctx.p.AEAD, b.Ctx.p.AEAD.NonceLen())
	}
	if len(b.PIV) > maxPIVLen {
		return fmt.Errorf("oscore: binding Partial IV of %d bytes (max %d)", len(b.PIV), maxPIVLen)
	}
	return nil
}
