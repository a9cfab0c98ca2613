package trace

import "testing"

// TestBusEventBySeq finds the events the ring still holds by number, across
// chunks, and none that left it or never were.
func TestBusEventBySeq(t *testing.T) {
	b := NewBus(3000)
	for i := 0; i < 5000; i++ {
		b.Publish(Event{Type: TypeNotice, Hop: i})
	}
	for _, tc := range []struct {
		seq  uint64
		want bool
	}{{0, false}, {1, false}, {2000, false}, {2001, true}, {3000, true}, {3072, true}, {5000, true}, {5001, false}, {^uint64(0), false}} {
		e, ok := b.Event(tc.seq)
		if ok != tc.want || (ok && (e.Seq != tc.seq || e.Hop != int(tc.seq)-1)) {
			t.Errorf("Event(%d) = seq %d hop %d, %v; want found %v", tc.seq, e.Seq, e.Hop, ok, tc.want)
		}
	}
}
