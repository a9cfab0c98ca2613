package udpserver

import (
	"net/netip"
	"sync"
	"time"
)

// dedupKey names one message of one peer: RFC 7252 4.5 detects duplicates
// by Message ID and source endpoint.
type dedupKey struct {
	peer netip.AddrPort
	mid  uint16
}

// dedupSlot is one remembered request and, once it went out, the datagram
// that answered it (an ACK, piggybacked or empty, or a RST).
type dedupSlot struct {
	key     dedupKey
	hash    uint64 // of the whole request datagram
	expires int64  // unix nanoseconds
	con     bool
	answer  []byte
}

// verdict is what the read loop does with an incoming request.
type verdict int

const (
	process verdict = iota // a new request: hand it to go-coap
	drop                   // a duplicate still being processed, or a duplicate NON
	resend                 // a duplicate CON: send the remembered answer again
)

// dedup is the server's duplicate detection (RFC 7252 4.5) for every peer
// at once: a map from (peer, MID) to a slot of a ring kept in arrival
// order. Arrival order is expiry order, so expiry pops the ring's head and
// every operation costs O(1) amortised, however many entries are kept.
//
// It is bounded: at most len(ring) requests and maxBytes of answers. A
// full table forgets its oldest entry first, so under a load heavier than
// the bounds allow, an entry lives less than EXCHANGE_LIFETIME (the lab's
// documented alternative to RFC 7252 4.5's "within EXCHANGE_LIFETIME",
// docs/architecture.md).
//
// A request whose MID matches an entry but whose bytes differ is a new
// request, not a duplicate: a retransmission repeats its message exactly
// (RFC 7252 4.2), while a peer that reuses a MID sooner than 4.4 allows
// (any client above 265 exchanges/s from one port does) must not be
// answered with another request's response.
type dedup struct {
	lifetime time.Duration
	maxBytes int

	mu         sync.Mutex
	index      map[dedupKey]uint64 // key -> sequence number of its slot
	ring       []dedupSlot         // slot of sequence s is ring[s%len(ring)]
	head, tail uint64              // live sequence numbers are [head, tail)
	bytes      int                 // of every slot's answer
}

func newDedup(entries, maxBytes int, lifetime time.Duration) *dedup {
	return &dedup{
		lifetime: lifetime,
		maxBytes: maxBytes,
		index:    make(map[dedupKey]uint64),
		ring:     make([]dedupSlot, entries),
	}
}

func (d *dedup) slot(seq uint64) *dedupSlot { return &d.ring[seq%uint64(len(d.ring))] }

// check decides what to do with a request and, for a new one, remembers it.
func (d *dedup) check(k dedupKey, hash uint64, con bool, now time.Time) (verdict, []byte) {
	t := now.UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expireLocked(t)
	if seq, ok := d.index[k]; ok {
		if s := d.slot(seq); s.hash == hash {
			if con && s.answer != nil {
				return resend, s.answer
			}
			return drop, nil
		}
	}
	if d.tail-d.head == uint64(len(d.ring)) {
		d.popLocked()
	}
	*d.slot(d.tail) = dedupSlot{key: k, hash: hash, expires: t + int64(d.lifetime), con: con}
	d.index[k] = d.tail
	d.tail++
	return process, nil
}

// answered remembers the datagram that answered the CON request k. The
// bytes are copied: the caller's buffer belongs to a pooled message.
func (d *dedup) answered(k dedupKey, datagram []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seq, ok := d.index[k]
	if !ok {
		return
	}
	s := d.slot(seq)
	if !s.con || s.answer != nil {
		return
	}
	s.answer = append([]byte(nil), datagram...)
	d.bytes += len(datagram)
	for d.bytes > d.maxBytes && d.head < d.tail {
		d.popLocked()
	}
}

// expire forgets every entry older than the lifetime.
func (d *dedup) expire(now time.Time) {
	d.mu.Lock()
	d.expireLocked(now.UnixNano())
	d.mu.Unlock()
}

func (d *dedup) expireLocked(t int64) {
	for d.head < d.tail && d.slot(d.head).expires <= t {
		d.popLocked()
	}
}

func (d *dedup) popLocked() {
	s := d.slot(d.head)
	if seq, ok := d.index[s.key]; ok && seq == d.head {
		delete(d.index, s.key)
	}
	d.bytes -= len(s.answer)
	*s = dedupSlot{}
	d.head++
}

// len is the number of remembered requests.
func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.tail - d.head)
}
