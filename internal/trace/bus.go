package trace

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// DefaultRingSize is the number of recent events a Bus keeps for late
// subscribers when NewBus is given 0.
const DefaultRingSize = 100000

// DefaultSubscriberBuffer is the channel capacity Subscribe uses when given 0
// or less.
const DefaultSubscriberBuffer = 1024

// Bus fans events out to subscribers without ever blocking a publisher: a
// subscriber whose channel is full loses the event, and once it has room again
// it first receives a notice saying how many it lost. The bus also keeps the
// most recent events in a ring for subscribers that arrive late.
//
// Subscribers and the ring share each event's byte slices and report:
// treat them as read-only.
//
// One mutex guards everything; it is held only for non-blocking work, so a
// publisher waits at most for another publisher's bookkeeping, never for a
// reader.
type Bus struct {
	mu       sync.Mutex
	seq      uint64
	ring     []Event // grows up to ringSize, then wraps at next
	next     int
	ringSize int
	subs     []*Subscription // in subscription order
}

// Subscription is one reader of a Bus.
type Subscription struct {
	bus     *Bus
	ch      chan Event
	dropped uint64 // total lost, guarded by bus.mu
	pending uint64 // lost since the last notice, guarded by bus.mu
	firstLost,
	lastLost uint64 // seq range of the pending loss
	resetPending bool // a Reset notice is owed
	closed       bool
}

// NewBus returns a bus keeping ringSize recent events (0 means
// DefaultRingSize; a negative size keeps none).
func NewBus(ringSize int) *Bus {
	if ringSize == 0 {
		ringSize = DefaultRingSize
	}
	if ringSize < 0 {
		ringSize = 0
	}
	return &Bus{ringSize: ringSize}
}

// Publish assigns the event its sequence number (and its time when zero),
// records it in the ring and offers it to every subscriber. It never blocks
// on a subscriber. It returns the event as recorded.
func (b *Bus) Publish(e Event) Event {
	b.publish(&e)
	return e
}

// publish is Publish without copying the event more than the ring and the
// subscribers' channels need (an Event is 256 bytes, and every protocol
// step publishes one).
func (b *Bus) publish(e *Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b.mu.Lock()
	b.seq++
	e.Seq = b.seq
	b.record(e)
	for _, s := range b.subs {
		s.offer(*e)
	}
	b.mu.Unlock()
}

// record stores e in the ring; the caller holds b.mu.
func (b *Bus) record(e *Event) {
	if b.ringSize == 0 {
		return
	}
	if len(b.ring) < b.ringSize {
		b.ring = append(b.ring, *e)
		return
	}
	b.ring[b.next] = *e
	b.next = (b.next + 1) % b.ringSize
}

// offer hands e to the subscriber if its channel has room, preceded by a
// pending reset notice and then by a notice of earlier losses; the caller
// holds bus.mu.
func (s *Subscription) offer(e Event) {
	if s.resetPending {
		if !s.trySend(Event{Type: TypeNotice, Time: e.Time, Note: NoteReset}) {
			s.lose(e.Seq)
			return
		}
		s.resetPending = false
	}
	if s.pending > 0 {
		n := Event{
			Type: TypeNotice,
			Time: e.Time,
			Note: fmt.Sprintf("lost %d events (seq %d-%d): subscriber too slow", s.pending, s.firstLost, s.lastLost),
		}
		if !s.trySend(n) {
			s.lose(e.Seq)
			return
		}
		s.pending = 0
	}
	if !s.trySend(e) {
		s.lose(e.Seq)
	}
}

func (s *Subscription) trySend(e Event) bool {
	select {
	case s.ch <- e:
		return true
	default:
		return false
	}
}

func (s *Subscription) lose(seq uint64) {
	if s.pending == 0 {
		s.firstLost = seq
	}
	s.pending++
	s.lastLost = seq
	s.dropped++
}

// Subscribe returns a new subscription whose channel holds buffer events
// (DefaultSubscriberBuffer when buffer <= 0). It sees events published from
// now on; use SubscribeWithRecent to also get the ring without a gap.
func (b *Bus) Subscribe(buffer int) *Subscription {
	_, s := b.subscribe(buffer, false)
	return s
}

// SubscribeWithRecent atomically copies the ring (oldest first) and
// subscribes, so that the copy and the channel together miss no event and
// repeat none.
func (b *Bus) SubscribeWithRecent(buffer int) ([]Event, *Subscription) {
	return b.subscribe(buffer, true)
}

func (b *Bus) subscribe(buffer int, withRecent bool) ([]Event, *Subscription) {
	if buffer <= 0 {
		buffer = DefaultSubscriberBuffer
	}
	s := &Subscription{bus: b, ch: make(chan Event, buffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	var recent []Event
	if withRecent {
		recent = b.recentLocked()
	}
	b.subs = append(b.subs, s)
	return recent, s
}

// C is the channel of events; it is closed by Close.
func (s *Subscription) C() <-chan Event { return s.ch }

// Dropped returns how many events this subscriber lost because it was slow.
func (s *Subscription) Dropped() uint64 {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.dropped
}

// Close detaches the subscription and closes its channel; it is idempotent.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.bus.subs = slices.DeleteFunc(s.bus.subs, func(x *Subscription) bool { return x == s })
	close(s.ch)
}

// Recent returns a copy of the ring, oldest first.
func (b *Bus) Recent() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.recentLocked()
}

func (b *Bus) recentLocked() []Event {
	out := make([]Event, 0, len(b.ring))
	if len(b.ring) < b.ringSize {
		return append(out, b.ring...)
	}
	out = append(out, b.ring[b.next:]...)
	return append(out, b.ring[:b.next]...)
}

// Reset starts a new scenario: it empties the ring, restarts sequence
// numbers at 1 and gives every subscriber a notice whose Note is NoteReset
// (Seq 0, not recorded), so that live views can clear themselves. A
// subscriber whose channel is full gets it before any later event; losses
// from the old scenario are then no longer announced (Dropped still counts
// them).
func (b *Bus) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ring = nil
	b.next = 0
	b.seq = 0
	n := Event{Type: TypeNotice, Time: time.Now().UTC(), Note: NoteReset}
	for _, s := range b.subs {
		s.pending = 0
		s.resetPending = !s.trySend(n)
	}
}
