package trace

import (
	"fmt"
	"io"
	"sync"
	"testing"
)

// BenchmarkPublish measures one Publish with 0, 1 and 4 subscribers that
// drain their channels, as the WebSocket hub and a recorder do. Publishing
// flat out outruns the readers, so it also reports the share of deliveries
// lost (and replaced by loss notices).
func BenchmarkPublish(b *testing.B) {
	e := Event{Type: TypeDatagram, Exchange: 1, From: "C", To: "P", Dir: DirRequest, Bytes: make([]byte, 60)}
	for _, n := range []int{0, 1, 4} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			bus := NewBus(0)
			var wg sync.WaitGroup
			subs := make([]*Subscription, n)
			for i := range subs {
				subs[i] = bus.Subscribe(4096)
				wg.Add(1)
				go func(s *Subscription) {
					defer wg.Done()
					for range s.C() {
					}
				}(subs[i])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bus.Publish(e)
			}
			b.StopTimer()
			var dropped uint64
			for _, s := range subs {
				dropped += s.Dropped()
				s.Close()
			}
			wg.Wait()
			if n > 0 {
				b.ReportMetric(float64(dropped)/float64(b.N)/float64(n), "dropped/delivery")
			}
		})
	}
}

// BenchmarkPublishParallel is Publish from many goroutines (nodes) at once
// with one draining subscriber.
func BenchmarkPublishParallel(b *testing.B) {
	bus := NewBus(0)
	s := bus.Subscribe(4096)
	done := make(chan struct{})
	go func() {
		for range s.C() {
		}
		close(done)
	}()
	e := Event{Type: TypeDatagram, Bytes: make([]byte, 60)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bus.Publish(e)
		}
	})
	b.StopTimer()
	s.Close()
	<-done
}

// bigTrace repeats the fixture's events up to n events, renumbered.
func bigTrace(b *testing.B, n int) *Trace {
	tr := buildFixture(b)
	base := tr.Events
	tr.Events = make([]Event, 0, n)
	for len(tr.Events) < n {
		for _, e := range base {
			e.Seq = uint64(len(tr.Events) + 1)
			e.Exchange += 2 * (len(tr.Events) / len(base))
			tr.Events = append(tr.Events, e)
		}
	}
	return tr
}

// BenchmarkRenderText renders a 100,000-event trace (a full ring).
func BenchmarkRenderText(b *testing.B) {
	tr := bigTrace(b, DefaultRingSize)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := WriteText(io.Discard, tr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteJSON exports a 100,000-event trace.
func BenchmarkWriteJSON(b *testing.B) {
	tr := bigTrace(b, DefaultRingSize)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := WriteJSON(io.Discard, tr, false); err != nil {
			b.Fatal(err)
		}
	}
}
