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

// DefaultRingBytes bounds the memory of the ring's events (their Cost) when
// NewBus is given 0: 100,000 events of the lab's usual size fit well
// within it, 20,000 datagrams of 60 KB do not, and the oldest go first.
const DefaultRingBytes = 128 << 20

// DefaultSubscriberBuffer is the channel capacity Subscribe uses when given 0
// or less.
const DefaultSubscriberBuffer = 1024

// The ring keeps its events in chunks of at most chunkEvents events or,
// once chunkBytes is reached, fewer. A chunk is only ever appended to, and
// eviction only moves the ring's start, so a subscriber can be handed the
// ring as slices of chunks without copying any event: those slices never
// change. An evicted event stays in memory until its chunk is wholly
// evicted and no subscriber holds it, at most one chunk's worth.
const (
	chunkEvents = 1024
	chunkBytes  = 1 << 20
)

// Bus fans events out to subscribers without ever blocking a publisher: a
// subscriber whose channel is full loses the event, and once it has room again
// it first receives a notice saying how many it lost. The bus also keeps the
// most recent events in a ring for subscribers that arrive late, bounded in
// events and in bytes.
//
// Subscribers and the ring share each event's byte slices and report:
// treat them as read-only.
//
// One mutex guards everything; it is held only for non-blocking work, so a
// publisher waits at most for another publisher's bookkeeping, never for a
// reader.
type Bus struct {
	mu        sync.Mutex
	seq       uint64
	chunks    []*chunk // oldest first
	first     int      // events of chunks[0] already evicted
	count     int      // events in the ring
	bytes     int      // their Cost
	ringSize  int
	ringBytes int
	subs      []*Subscription // in subscription order
}

type chunk struct {
	events []Event // appended to, never rewritten
	bytes  int
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
// DefaultRingSize; a negative size keeps none) of DefaultRingBytes at most.
func NewBus(ringSize int) *Bus { return NewBoundedBus(ringSize, 0) }

// NewBoundedBus is NewBus with the ring's memory bounded by ringBytes of
// event Cost instead of DefaultRingBytes (0 means DefaultRingBytes). The
// newest event is always kept, whatever its cost.
func NewBoundedBus(ringSize, ringBytes int) *Bus {
	if ringSize == 0 {
		ringSize = DefaultRingSize
	}
	if ringSize < 0 {
		ringSize = 0
	}
	if ringBytes <= 0 {
		ringBytes = DefaultRingBytes
	}
	return &Bus{ringSize: ringSize, ringBytes: ringBytes}
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

// record stores e in the ring and evicts the oldest events beyond either
// bound; the caller holds b.mu.
func (b *Bus) record(e *Event) {
	if b.ringSize == 0 {
		return
	}
	cost := e.Cost()
	var last *chunk
	if k := len(b.chunks); k > 0 {
		last = b.chunks[k-1]
	}
	if last == nil || len(last.events) == cap(last.events) || last.bytes >= chunkBytes {
		last = &chunk{events: make([]Event, 0, min(chunkEvents, b.ringSize))}
		b.chunks = append(b.chunks, last)
	}
	last.events = append(last.events, *e)
	last.bytes += cost
	b.count++
	b.bytes += cost
	for b.count > b.ringSize || (b.bytes > b.ringBytes && b.count > 1) {
		b.evict()
	}
}

// evict drops the oldest event of the ring; the caller holds b.mu.
func (b *Bus) evict() {
	c := b.chunks[0]
	b.bytes -= c.events[b.first].Cost()
	b.count--
	b.first++
	if b.first == len(c.events) {
		b.chunks[0] = nil
		b.chunks = b.chunks[1:]
		b.first = 0
	}
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

// SubscribeWithRecent atomically takes the ring (oldest first) and
// subscribes, so that the ring and the channel together miss no event and
// repeat none. The ring comes as runs of consecutive events that share
// memory with the bus and with every other subscriber (no event is
// copied): treat them as read-only.
func (b *Bus) SubscribeWithRecent(buffer int) ([][]Event, *Subscription) {
	return b.subscribe(buffer, true)
}

func (b *Bus) subscribe(buffer int, withRecent bool) ([][]Event, *Subscription) {
	if buffer <= 0 {
		buffer = DefaultSubscriberBuffer
	}
	s := &Subscription{bus: b, ch: make(chan Event, buffer)}
	b.mu.Lock()
	defer b.mu.Unlock()
	var recent [][]Event
	if withRecent {
		recent = b.runsLocked()
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
	out := make([]Event, 0, b.count)
	for _, r := range b.runsLocked() {
		out = append(out, r...)
	}
	return out
}

// runsLocked is the ring as read-only runs of the chunks, oldest first;
// the caller holds b.mu. Capacities are clipped so that no holder can
// append into a chunk.
func (b *Bus) runsLocked() [][]Event {
	runs := make([][]Event, 0, len(b.chunks))
	for i, c := range b.chunks {
		from := 0
		if i == 0 {
			from = b.first
		}
		runs = append(runs, c.events[from:len(c.events):len(c.events)])
	}
	return runs
}

// Event returns the event numbered seq while the ring still holds it.
func (b *Bus) Event(seq uint64) (Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.runsLocked() {
		if len(r) == 0 || seq < r[0].Seq || seq > r[len(r)-1].Seq {
			continue
		}
		// Sequence numbers in the ring are consecutive.
		if e := r[seq-r[0].Seq]; e.Seq == seq {
			return e, true
		}
	}
	return Event{}, false
}

// RingBytes reports the events and the bytes (by Cost) the ring holds.
func (b *Bus) RingBytes() (events, bytes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count, b.bytes
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
	b.chunks = nil
	b.first, b.count, b.bytes = 0, 0, 0
	b.seq = 0
	n := Event{Type: TypeNotice, Time: time.Now().UTC(), Note: NoteReset}
	for _, s := range b.subs {
		s.pending = 0
		s.resetPending = !s.trySend(n)
	}
}
