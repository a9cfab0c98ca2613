package oscore

import (
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
	Observe    bool          // the request registered an observation (inner Observe 0)
	Token      message.Token // token of the request as protected or received

	mu        sync.Mutex
	responses int   // server: responses protected so far
	verified  int   // client: responses verified so far
	noPIVSeen bool  // client: the one response/notification without Partial IV was accepted
	notifNum  int64 // client: Notification Number, -1 before the first notification with Partial IV
}

func newBinding(c *Context, kid, piv, kidContext, nonce []byte, observe bool, tok message.Token) *Binding {
	return &Binding{Ctx: c, KID: kid, PIV: piv, KIDContext: kidContext, Nonce: nonce,
		Observe: observe, Token: append(message.Token(nil), tok...), notifNum: -1}
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
	return b.responses + b.verified
}
