package oscore

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
)

// SameKeys reports whether c and o derive the same keys and Common IV
// (RFC 8613 3.2.1): then they share every (key, nonce) pair, whatever
// their names or replay window sizes.
func (c *Context) SameKeys(o *Context) bool {
	return c.p.AEAD == o.p.AEAD && bytes.Equal(c.senderKey, o.senderKey) &&
		bytes.Equal(c.recipientKey, o.recipientKey) && bytes.Equal(c.commonIV, o.commonIV) &&
		bytes.Equal(c.p.SenderID, o.p.SenderID) && bytes.Equal(c.p.RecipientID, o.p.RecipientID)
}

// ResumeFrom carries the mutable state of old, an instance with the same
// keys, into c: the Sender Sequence Number with the numbers already used,
// and the replay window (RFC 8613 3.2.2, 7.2, 7.4). A context rebuilt
// with the same keys and a fresh state would reuse nonces and accept
// replays.
func (c *Context) ResumeFrom(old *Context) error {
	if !c.SameKeys(old) {
		return fmt.Errorf("oscore: context %q: cannot resume %q: the keys differ", c.name, old.name)
	}
	c.seq.Store(old.seq.Load())
	c.fresh.Store(old.fresh.Load())
	return c.RestoreReplay(old.Replay())
}

// RestoreReplay loads a replay window snapshot (ReplayState), possibly of
// another window size. Numbers the snapshot cannot vouch for, older than
// its window but inside this one, count as received: accepting them could
// accept a replay (RFC 8613 7.4).
func (c *Context) RestoreReplay(s ReplayState) error {
	w := c.replay
	if s.Highest < -1 || s.Window < 0 || (s.Highest >= 0 && uint64(s.Highest) > MaxSequenceNumber) {
		return fmt.Errorf("oscore: context %q: replay state with highest %d, window %d", c.name, s.Highest, s.Window)
	}
	seen := make(map[uint64]bool, len(s.Seen))
	for _, n := range s.Seen {
		seen[n] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.highest = s.Highest
	clear(w.bits)
	if s.Highest < 0 {
		return nil
	}
	h := uint64(s.Highest)
	for d := 0; d < w.size && uint64(d) <= h; d++ {
		if d >= s.Window || seen[h-uint64(d)] {
			w.bits[d/64] |= 1 << (uint(d) % 64)
		}
	}
	return nil
}

// seqPersist is the persistence procedure of RFC 8613 B.1.1 for one
// context: numbers below limit are covered by what store last saved.
type seqPersist struct {
	mu    sync.Mutex
	limit atomic.Uint64
	k     uint64
	store func(next uint64) error
}

// reserve saves cur+k before cur is used, so that a restart that begins
// at the saved number never reuses one.
func (p *seqPersist) reserve(cur uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur < p.limit.Load() {
		return nil // another protect reserved it meanwhile
	}
	next := min(cur+p.k, MaxSequenceNumber+1)
	if err := p.store(next); err != nil {
		return err
	}
	p.limit.Store(next)
	return nil
}

// PersistSeq applies RFC 8613 B.1.1 to c: store is called with a number N
// before any number at or above limit is used, and must save it durably
// (the restarted endpoint then begins at N); N is the number about to be
// used plus k, so store runs once every k messages. When store fails, the
// protect fails and the number stays unused. k < 1 counts as 1.
func (c *Context) PersistSeq(limit, k uint64, store func(next uint64) error) {
	p := &seqPersist{k: max(k, 1), store: store}
	p.limit.Store(limit)
	c.persist.Store(p)
}
