package oscore

import (
	"bytes"
	"fmt"
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
