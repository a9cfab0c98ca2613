package oscore

import "sync"

// replayWindow is the sliding anti-replay window of RFC 8613 3.2.2 and 7.4
// (the RFC 6347 4.1.2.6 algorithm): the highest sequence number accepted and
// a bitmap of the size-1 numbers below it. Check and update happen under one
// lock; update runs only after a successful decryption (RFC 8613 7.4).
type replayWindow struct {
	mu      sync.Mutex
	size    int
	highest int64    // -1: nothing received yet
	bits    []uint64 // bit i set: highest-i received (bit 0 is highest itself)
}

func newReplayWindow(size int) *replayWindow {
	w := &replayWindow{size: size}
	w.reset()
	return w
}

func (w *replayWindow) reset() {
	w.mu.Lock()
	w.highest = -1
	w.bits = make([]uint64, (w.size+63)/64)
	w.mu.Unlock()
}

// seenLocked reports whether seq is a replay or too old for the window.
func (w *replayWindow) seenLocked(seq uint64) bool {
	if w.highest < 0 {
		return false
	}
	h := uint64(w.highest)
	if seq > h {
		return false
	}
	d := h - seq
	if d >= uint64(w.size) {
		return true // left of the window: cannot be told apart from a replay
	}
	return w.bits[d/64]&(1<<(d%64)) != 0
}

// check reports whether seq would be accepted now.
func (w *replayWindow) check(seq uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.seenLocked(seq)
}

// accept re-checks and records seq atomically; false means a concurrent
// message with the same number won the race.
func (w *replayWindow) accept(seq uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seenLocked(seq) {
		return false
	}
	if w.highest < 0 || seq > uint64(w.highest) {
		shift := uint64(0)
		if w.highest >= 0 {
			shift = seq - uint64(w.highest)
		}
		w.shiftLocked(shift)
		w.highest = int64(seq)
		w.bits[0] |= 1
		return true
	}
	d := uint64(w.highest) - seq
	w.bits[d/64] |= 1 << (d % 64)
	return true
}

// shiftLocked moves the bitmap n positions towards older numbers.
func (w *replayWindow) shiftLocked(n uint64) {
	if n == 0 {
		return
	}
	if n >= uint64(w.size) {
		clear(w.bits)
		return
	}
	words, bitsN := int(n/64), uint(n%64)
	for i := len(w.bits) - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = w.bits[j] << bitsN
			if bitsN > 0 && j-1 >= 0 {
				v |= w.bits[j-1] >> (64 - bitsN)
			}
		}
		w.bits[i] = v
	}
	// Drop bits beyond the window size in the last word.
	if r := w.size % 64; r != 0 {
		w.bits[len(w.bits)-1] &= (1 << uint(r)) - 1
	}
}

// ReplayState is a snapshot of a Recipient Context's replay window.
type ReplayState struct {
	Window  int      `json:"window"`  // size in sequence numbers
	Highest int64    `json:"highest"` // -1: nothing received
	Bitmap  []uint64 `json:"bitmap"`  // bit i of word i/64: Highest-i received
	Seen    []uint64 `json:"seen"`    // received numbers still inside the window, newest first
}

func (w *replayWindow) state() ReplayState {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := ReplayState{Window: w.size, Highest: w.highest, Bitmap: append([]uint64(nil), w.bits...)}
	if w.highest >= 0 {
		for d := 0; d < w.size && uint64(d) <= uint64(w.highest); d++ {
			if w.bits[d/64]&(1<<(uint(d)%64)) != 0 {
				s.Seen = append(s.Seen, uint64(w.highest)-uint64(d))
			}
		}
	}
	return s
}
