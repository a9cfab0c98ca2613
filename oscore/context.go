package oscore

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"
	"sync/atomic"
)

// MaxSequenceNumber is the largest Sender Sequence Number (RFC 8613 7.2.1:
// it must stay below 2^40); after using it the context refuses to protect.
const MaxSequenceNumber = 1<<40 - 1

// DefaultReplayWindow is the default window size (RFC 8613 3.2.2).
const DefaultReplayWindow = 32

// Params are the pre-established parameters of a Security Context
// (RFC 8613 3.2). Zero values select the defaults.
type Params struct {
	MasterSecret []byte
	MasterSalt   []byte  // nil or empty: the default (empty)
	IDContext    []byte  // nil: absent (CBOR null in info); non-nil empty allowed
	SenderID     []byte  // may be empty
	RecipientID  []byte  // may be empty
	AEAD         AEADAlg // 0 means 10 (AES-CCM-16-64-128)
	HKDF         HKDFAlg // 0 means SHA-256
	ReplayWindow int     // 0 means 32
}

// Context is an OSCORE Security Context (RFC 8613 3): the Common Context,
// the Sender Context (key, sequence number) and the Recipient Context (key,
// replay window). It is safe for concurrent use; AEADs are built once.
type Context struct {
	name         string
	p            Params
	senderKey    []byte
	recipientKey []byte
	commonIV     []byte
	deriv        Derivation
	keyReports   [2]KeyReport  // what a report shows for the sender and the recipient key
	sealer       cipher.AEAD   // sender key
	opener       cipher.AEAD   // recipient key
	maxPT        uint64        // longest plaintext the AEAD accepts (see maxPlaintext)
	seq          atomic.Uint64 // next Sender Sequence Number
	fresh        atomic.Uint64 // lowest number never used: every number below went out under these keys
	persist      atomic.Pointer[seqPersist]
	replay       *replayWindow
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// NewContext derives a Security Context (RFC 8613 3.2.1) and validates its
// parameters (RFC 8613 3.3): a non-empty Master Secret, known algorithms,
// Sender and Recipient IDs no longer than the nonce length minus 6, and
// different Sender and Recipient IDs.
func NewContext(name string, p Params) (*Context, error) {
	if p.AEAD == 0 {
		p.AEAD = AESCCM16_64_128
	}
	if p.HKDF == 0 {
		p.HKDF = HKDFSHA256
	}
	if p.ReplayWindow == 0 {
		p.ReplayWindow = DefaultReplayWindow
	}
	if !p.AEAD.Valid() {
		return nil, fmt.Errorf("oscore: context %q: unknown AEAD algorithm %d", name, int(p.AEAD))
	}
	if !p.HKDF.Valid() {
		return nil, fmt.Errorf("oscore: context %q: unknown HKDF algorithm %d", name, int(p.HKDF))
	}
	if len(p.MasterSecret) == 0 {
		return nil, fmt.Errorf("oscore: context %q: empty master secret", name)
	}
	if p.ReplayWindow < 1 || p.ReplayWindow > 4096 {
		return nil, fmt.Errorf("oscore: context %q: replay window %d outside 1..4096", name, p.ReplayWindow)
	}
	maxID := p.AEAD.MaxIDLen()
	if len(p.SenderID) > maxID {
		return nil, fmt.Errorf("oscore: context %q: sender ID of %d bytes is longer than %d (nonce length %d - 6, RFC 8613 3.3)", name, len(p.SenderID), maxID, p.AEAD.NonceLen())
	}
	if len(p.RecipientID) > maxID {
		return nil, fmt.Errorf("oscore: context %q: recipient ID of %d bytes is longer than %d (nonce length %d - 6, RFC 8613 3.3)", name, len(p.RecipientID), maxID, p.AEAD.NonceLen())
	}
	if bytes.Equal(p.SenderID, p.RecipientID) {
		return nil, fmt.Errorf("oscore: context %q: sender and recipient ID are equal (%x, RFC 8613 3.3)", name, p.SenderID)
	}
	if len(p.IDContext) > 255 {
		return nil, fmt.Errorf("oscore: context %q: ID context of %d bytes (max 255, RFC 8613 6.1)", name, len(p.IDContext))
	}
	p.MasterSecret = clone(p.MasterSecret)
	p.MasterSalt = clone(p.MasterSalt)
	p.IDContext = clone(p.IDContext)
	p.SenderID = nonNil(clone(p.SenderID))
	p.RecipientID = nonNil(clone(p.RecipientID))

	c := &Context{name: name, p: p, replay: newReplayWindow(p.ReplayWindow)}
	kl, nl := p.AEAD.KeyLen(), p.AEAD.NonceLen()
	var err error
	d := &c.deriv
	d.HKDF, d.AEAD, d.MasterSalt, d.IDContext = p.HKDF.String(), p.AEAD.String(), Hex(nonNil(p.MasterSalt)), p.IDContext
	if d.SenderKey, err = derive(p.HKDF, p.MasterSecret, p.MasterSalt, "sender key", p.SenderID, p.IDContext, p.AEAD, "Key", kl); err != nil {
		return nil, err
	}
	if d.RecipientKey, err = derive(p.HKDF, p.MasterSecret, p.MasterSalt, "recipient key", p.RecipientID, p.IDContext, p.AEAD, "Key", kl); err != nil {
		return nil, err
	}
	if d.CommonIV, err = derive(p.HKDF, p.MasterSecret, p.MasterSalt, "common iv", []byte{}, p.IDContext, p.AEAD, "IV", nl); err != nil {
		return nil, err
	}
	c.senderKey, c.recipientKey, c.commonIV = d.SenderKey.Output, d.RecipientKey.Output, d.CommonIV.Output
	c.keyReports = [2]KeyReport{
		{Which: "sender", Alg: d.AEAD, Info: d.SenderKey.Info, InfoDiag: d.SenderKey.InfoDiag, Key: c.senderKey},
		{Which: "recipient", Alg: d.AEAD, Info: d.RecipientKey.Info, InfoDiag: d.RecipientKey.InfoDiag, Key: c.recipientKey},
	}
	if c.sealer, err = p.AEAD.newAEAD(c.senderKey); err != nil {
		return nil, err
	}
	if c.opener, err = p.AEAD.newAEAD(c.recipientKey); err != nil {
		return nil, err
	}
	c.maxPT = 1 << 32
	if m, ok := c.sealer.(interface{ maxPlaintext() uint64 }); ok {
		c.maxPT = m.maxPlaintext()
	}
	return c, nil
}

// Name is the label given at creation (for reports and the UI).
func (c *Context) Name() string { return c.name }

// Params returns a copy of the parameters with defaults filled in.
func (c *Context) Params() Params {
	p := c.p
	p.MasterSecret, p.MasterSalt, p.IDContext = clone(p.MasterSecret), clone(p.MasterSalt), clone(p.IDContext)
	p.SenderID, p.RecipientID = clone(p.SenderID), clone(p.RecipientID)
	return p
}

// SenderKey returns a copy of the Sender Key.
func (c *Context) SenderKey() []byte { return clone(c.senderKey) }

// RecipientKey returns a copy of the Recipient Key.
func (c *Context) RecipientKey() []byte { return clone(c.recipientKey) }

// CommonIV returns a copy of the Common IV.
func (c *Context) CommonIV() []byte { return clone(c.commonIV) }

// SenderID returns a copy of the Sender ID (never nil).
func (c *Context) SenderID() []byte { return clone(c.p.SenderID) }

// RecipientID returns a copy of the Recipient ID (never nil).
func (c *Context) RecipientID() []byte { return clone(c.p.RecipientID) }

// IDContext returns a copy of the ID Context (nil when absent).
func (c *Context) IDContext() []byte { return clone(c.p.IDContext) }

// AEAD returns the context's AEAD algorithm.
func (c *Context) AEAD() AEADAlg { return c.p.AEAD }

// Derivation returns the info bytes, their CBOR diagnostic notation and the
// outputs for the Sender Key, Recipient Key and Common IV (RFC 8613 3.2.1).
func (c *Context) Derivation() Derivation {
	d := c.deriv
	return d
}

// SenderSeq returns the next Sender Sequence Number to be used.
func (c *Context) SenderSeq() uint64 { return c.seq.Load() }

// SetSenderSeq pins the next Sender Sequence Number (for reproducible
// demos and test vectors). Numbers above 2^40-1 are refused (RFC 8613
// 7.2.1), and so is a number this context has already used: an AEAD nonce
// must not be used twice with one key (RFC 8613 7.2), so the number may
// move forward, never back (ErrSequenceReused).
func (c *Context) SetSenderSeq(n uint64) error {
	if n > MaxSequenceNumber {
		return fmt.Errorf("oscore: context %q: sender sequence number %d exceeds 2^40-1", c.name, n)
	}
	if f := c.fresh.Load(); n < f {
		return fmt.Errorf("oscore: context %q: sender sequence number %d was already used with these keys (the lowest unused is %d): %w", c.name, n, f, ErrSequenceReused)
	}
	c.seq.Store(n)
	return nil
}

// ReuseSenderSeq makes the next protect use n even if it was used before:
// the same key and nonce twice, which RFC 8613 7.2 forbids. It exists to
// show what that costs (the XOR of two plaintexts leaks); after that one
// message the numbers resume above every number used.
func (c *Context) ReuseSenderSeq(n uint64) error {
	if n > MaxSequenceNumber {
		return fmt.Errorf("oscore: context %q: sender sequence number %d exceeds 2^40-1", c.name, n)
	}
	c.seq.Store(n)
	return nil
}

// FreshSeq is the lowest Sender Sequence Number this context has never
// used; every number below it went out with these keys.
func (c *Context) FreshSeq() uint64 { return c.fresh.Load() }

// ErrSequenceReused: a pin would move the Sender Sequence Number back to a
// number already used with the same keys (RFC 8613 7.2).
var ErrSequenceReused = errors.New("an AEAD nonce must not be used twice with one key (RFC 8613 7.2)")

// nextSeq takes a Sender Sequence Number atomically, so that concurrent
// protects never share a nonce (RFC 8613 7.2.1). It fails once the number
// space is used up. A number below FreshSeq (set by ReuseSenderSeq) is
// used once; the next one is FreshSeq.
func (c *Context) nextSeq() (uint64, error) {
	for {
		cur := c.seq.Load()
		if cur > MaxSequenceNumber {
			return 0, ErrSequenceExhausted.withDetail(fmt.Sprintf("context %q", c.name))
		}
		if p := c.persist.Load(); p != nil && cur >= p.limit.Load() {
			if err := p.reserve(cur); err != nil {
				return 0, fmt.Errorf("oscore: context %q: storing the sender sequence number: %w", c.name, err)
			}
		}
		next := cur + 1
		if f := c.fresh.Load(); cur < f {
			next = f
		}
		if c.seq.CompareAndSwap(cur, next) {
			for {
				f := c.fresh.Load()
				if f > cur || c.fresh.CompareAndSwap(f, cur+1) {
					break
				}
			}
			return cur, nil
		}
	}
}

// Replay returns a snapshot of the Recipient Context's replay window.
func (c *Context) Replay() ReplayState { return c.replay.state() }

// ResetReplay empties the replay window, as for a fresh context instance.
func (c *Context) ResetReplay() { c.replay.reset() }

// errContextInvalid is returned for a nil context.
var errContextInvalid = errors.New("oscore: nil security context")
