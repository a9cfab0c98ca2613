package trace

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestBusAssignsSeqAndTime(t *testing.T) {
	b := NewBus(0)
	e1 := b.Publish(Event{Type: TypeNotice, Note: "a"})
	e2 := b.Publish(Event{Type: TypeNotice, Note: "b"})
	if e1.Seq != 1 || e2.Seq != 2 {
		t.Fatalf("seq = %d, %d; want 1, 2", e1.Seq, e2.Seq)
	}
	if e1.Time.IsZero() || e1.Time.Location() != time.UTC {
		t.Fatalf("time = %v; want a UTC time", e1.Time)
	}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if e := b.Publish(Event{Type: TypeNotice, Time: fixed}); !e.Time.Equal(fixed) {
		t.Fatalf("time overwritten: %v", e.Time)
	}
}

func TestBusRingKeepsNewestOldestFirst(t *testing.T) {
	b := NewBus(3)
	for i := 0; i < 5; i++ {
		b.Publish(Event{Type: TypeNotice})
	}
	got := b.Recent()
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("recent = %v; want seq 3..5", seqs(got))
	}
	got[0].Note = "changed"
	if b.Recent()[0].Note == "changed" {
		t.Fatal("Recent returned the ring itself, not a copy")
	}
}

func TestBusDefaultRingSize(t *testing.T) {
	if b := NewBus(0); b.ringSize != DefaultRingSize {
		t.Fatalf("ring size = %d; want %d", b.ringSize, DefaultRingSize)
	}
}

func TestBusResetRestartsSeqAndTellsSubscribers(t *testing.T) {
	b := NewBus(10)
	s := b.Subscribe(10)
	defer s.Close()
	b.Publish(Event{Type: TypeNotice})
	b.Reset()
	if len(b.Recent()) != 0 {
		t.Fatal("ring not cleared by Reset")
	}
	if e := b.Publish(Event{Type: TypeNotice}); e.Seq != 1 {
		t.Fatalf("seq after reset = %d; want 1", e.Seq)
	}
	var notes []string
	for i := 0; i < 3; i++ {
		notes = append(notes, (<-s.C()).Note)
	}
	if notes[1] != NoteReset {
		t.Fatalf("subscriber saw %q; want the reset notice second", notes)
	}
}

func TestBusSlowSubscriberIsToldWhatItLost(t *testing.T) {
	b := NewBus(100)
	s := b.Subscribe(2)
	defer s.Close()
	for i := 0; i < 5; i++ { // 2 fit, 3 are lost
		b.Publish(Event{Type: TypeNotice})
	}
	if d := s.Dropped(); d != 3 {
		t.Fatalf("dropped = %d; want 3", d)
	}
	<-s.C()
	<-s.C()
	// Room again: the next event is preceded by a notice of the loss.
	b.Publish(Event{Type: TypeNotice, Note: "after"})
	n := <-s.C()
	if n.Type != TypeNotice || !strings.Contains(n.Note, "lost 3 events (seq 3-5)") {
		t.Fatalf("first event after catching up = %+v; want a loss notice", n)
	}
	if e := <-s.C(); e.Note != "after" || e.Seq != 6 {
		t.Fatalf("then %+v; want seq 6", e)
	}
}

func TestBusSubscribeWithRecentHasNoGap(t *testing.T) {
	b := NewBus(100)
	b.Publish(Event{Type: TypeNotice})
	b.Publish(Event{Type: TypeNotice})
	runs, s := b.SubscribeWithRecent(10)
	defer s.Close()
	b.Publish(Event{Type: TypeNotice})
	recent := slices.Concat(runs...)
	if len(recent) != 2 || recent[1].Seq != 2 {
		t.Fatalf("recent = %v", seqs(recent))
	}
	if e := <-s.C(); e.Seq != 3 {
		t.Fatalf("live seq = %d; want 3", e.Seq)
	}
}

func TestBusCloseIsIdempotentAndStopsDelivery(t *testing.T) {
	b := NewBus(10)
	s := b.Subscribe(1)
	s.Close()
	s.Close()
	b.Publish(Event{Type: TypeNotice}) // must not panic on a closed channel
	if _, ok := <-s.C(); ok {
		t.Fatal("channel delivered after Close")
	}
}

// A stalled subscriber (never reads) must not slow publishers down: many
// goroutines publish concurrently and must finish quickly, with every event
// either delivered to the fast reader or counted as dropped by the stalled one.
func TestBusStalledSubscriberDoesNotSlowPublishers(t *testing.T) {
	b := NewBus(1000)
	stalled := b.Subscribe(1)
	defer stalled.Close()
	fast := b.Subscribe(1 << 16)
	var got []Event
	done := make(chan struct{})
	go func() {
		for e := range fast.C() {
			got = append(got, e)
		}
		close(done)
	}()

	const publishers, each = 8, 2000
	start := time.Now()
	var wg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				b.Publish(Event{Type: TypeDatagram})
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	fast.Close()
	<-done

	total := uint64(publishers * each)
	if elapsed > 5*time.Second {
		t.Fatalf("publishing %d events took %v with a stalled subscriber", total, elapsed)
	}
	if d := stalled.Dropped(); d != total-1 {
		t.Fatalf("stalled dropped %d; want %d", d, total-1)
	}
	if uint64(len(got)) != total {
		t.Fatalf("fast subscriber got %d of %d", len(got), total)
	}
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: fan-out out of order", i, e.Seq)
		}
	}
	if r := b.Recent(); len(r) != 1000 || r[999].Seq != total {
		t.Fatalf("ring holds %d events ending at %d", len(r), r[len(r)-1].Seq)
	}
}

func seqs(es []Event) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

// A subscriber that is full when the scenario changes still learns of the
// reset before any event of the new scenario.
func TestBusResetReachesAFullSubscriber(t *testing.T) {
	b := NewBus(10)
	s := b.Subscribe(1)
	defer s.Close()
	b.Publish(Event{Type: TypeNotice, Note: "old"})
	b.Publish(Event{Type: TypeNotice, Note: "old, lost"})
	b.Reset()
	if e := <-s.C(); e.Note != "old" {
		t.Fatalf("got %q", e.Note)
	}
	b.Publish(Event{Type: TypeNotice, Note: "new"}) // lost: the reset notice takes the room
	if e := <-s.C(); e.Note != NoteReset {
		t.Fatalf("first event after the reset = %+v, want the reset notice", e)
	}
	b.Publish(Event{Type: TypeNotice, Note: "newer"})
	if e := <-s.C(); !strings.Contains(e.Note, "lost 1 events (seq 1-1)") {
		t.Fatalf("then %+v, want a notice of the lost seq 1", e)
	}
}

// TestBusRingBoundedInBytes: 2,000 events of 60 KB each stay within the
// byte bound while the event bound alone would keep them all; the newest
// events are the ones kept, and an event larger than the bound is kept
// alone rather than dropped.
func TestBusRingBoundedInBytes(t *testing.T) {
	const limit = 8 << 20
	b := NewBoundedBus(100000, limit)
	big := make([]byte, 60000)
	for range 2000 {
		b.Publish(Event{Type: TypeDatagram, Bytes: big})
	}
	n, bytes := b.RingBytes()
	if bytes > limit || n == 0 {
		t.Fatalf("ring holds %d events of %d bytes, bound %d", n, bytes, limit)
	}
	if min := limit / (60000 + 2*int(unsafe.Sizeof(Event{}))); n < min {
		t.Errorf("ring holds %d events, want at least %d within the bound", n, min)
	}
	r := b.Recent()
	if len(r) != n || r[len(r)-1].Seq != 2000 || r[0].Seq != uint64(2000-n+1) {
		t.Fatalf("ring has %d events, seq %d to %d; want the newest %d", len(r), r[0].Seq, r[len(r)-1].Seq, n)
	}
	b.Publish(Event{Type: TypeDatagram, Bytes: make([]byte, limit+1)})
	if n, _ := b.RingBytes(); n != 1 {
		t.Errorf("after one event over the bound the ring holds %d events, want 1", n)
	}
}

// TestBusRecentRunsAreShared: two subscribers get the ring as the same
// memory, and later publishing, eviction and reset leave what they got
// unchanged.
func TestBusRecentRunsAreShared(t *testing.T) {
	b := NewBus(3000)
	for i := range 2500 {
		b.Publish(Event{Type: TypeNotice, Note: strconv.Itoa(i)})
	}
	r1, s1 := b.SubscribeWithRecent(1)
	defer s1.Close()
	r2, s2 := b.SubscribeWithRecent(1)
	defer s2.Close()
	if len(r1) != len(r2) || &r1[0][0] != &r2[0][0] || &r1[len(r1)-1][0] != &r2[len(r2)-1][0] {
		t.Fatal("two subscribers got copies of the ring, not the same memory")
	}
	before := slices.Concat(r1...)
	for i := range 5000 {
		b.Publish(Event{Type: TypeNotice, Note: "later " + strconv.Itoa(i)})
	}
	b.Reset()
	if after := slices.Concat(r1...); !slices.EqualFunc(before, after, func(x, y Event) bool { return x.Seq == y.Seq && x.Note == y.Note }) {
		t.Fatal("a subscriber's ring changed under it")
	}
	if len(before) != 2500 || before[0].Note != "0" || before[2499].Note != "2499" {
		t.Fatalf("ring of %d events from %q to %q", len(before), before[0].Note, before[len(before)-1].Note)
	}
	for _, r := range r1 {
		if cap(r) != len(r) {
			t.Fatal("a run leaves room to append into the bus's chunk")
		}
	}
}
