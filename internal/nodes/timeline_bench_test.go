package nodes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/trace"
)

// BenchmarkChainTimeline runs C -> P -> S plain and with OSCORE side by
// side, one exchange of each per iteration as BenchmarkChainsInterleaved
// does, then reads the exchanges back from each lab's trace: for every
// event of an exchange, the median time since the event before it. The
// two tables it logs show where on the critical path the OSCORE exchange
// spends its extra time (docs/benchmarks.md, nodes). Exchanges whose first
// events have left the ring are skipped.
func BenchmarkChainTimeline(b *testing.B) {
	plain, pbus, pst := benchLab(b, 1, false)
	secure, sbus, sst := benchLab(b, 1, true)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		labs := []*Lab{plain, secure}
		if i%2 == 1 { // alternate which goes first
			slices.Reverse(labs)
		}
		for _, lab := range labs {
			st := pst
			if lab == secure {
				st = sst
			}
			if r, err := lab.Send(ctx, st); err != nil || r.Code != "2.05" {
				b.Fatalf("%+v %v", r, err)
			}
		}
	}
	b.StopTimer()
	for _, v := range []struct {
		name string
		bus  *trace.Bus
	}{{"plain", pbus}, {"oscore", sbus}} {
		tl := timelineOf(v.bus.Recent())
		if tl.n == 0 {
			b.Fatalf("%s: no complete exchange in the trace", v.name)
		}
		b.ReportMetric(tl.total, v.name+"-µs")
		if b.N < 100 { // the framework's probing runs
			continue
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s: %d exchanges, median %.1f µs from start to end event; µs since the previous event:\n", v.name, tl.n, tl.total)
		for i, l := range tl.labels[1:] {
			fmt.Fprintf(&sb, "%8.1f  %s\n", tl.gaps[i], l)
		}
		b.Log(sb.String())
	}
}

// timeline is the median shape of the exchanges in a trace.
type timeline struct {
	labels []string  // the events of one exchange, in order
	gaps   []float64 // µs from labels[i] to labels[i+1], median
	total  float64   // µs from the first to the last event, median
	n      int       // exchanges measured
}

// timelineOf groups events by exchange and keeps the exchanges that start
// with their start event and have the most common sequence of events.
func timelineOf(events []trace.Event) timeline {
	byEx := map[int][]trace.Event{}
	var order []int
	for _, e := range events {
		if e.Exchange <= 0 {
			continue
		}
		if _, ok := byEx[e.Exchange]; !ok {
			order = append(order, e.Exchange)
		}
		byEx[e.Exchange] = append(byEx[e.Exchange], e)
	}
	shapes := map[string]int{}
	shapeOf := map[int]string{} // exchanges that start with their start event
	for _, id := range order {
		if es := byEx[id]; es[0].Type == trace.TypeExchange {
			shapeOf[id] = strings.Join(eventLabels(es), "\n")
			shapes[shapeOf[id]]++
		}
	}
	var common string
	for s, c := range shapes {
		if c > shapes[common] || (c == shapes[common] && s < common) {
			common = s
		}
	}
	var tl timeline
	if common == "" {
		return tl
	}
	tl.labels = strings.Split(common, "\n")
	gaps := make([][]time.Duration, len(tl.labels)-1)
	var totals []time.Duration
	for _, id := range order {
		es := byEx[id]
		if shape, ok := shapeOf[id]; !ok || shape != common {
			continue
		}
		for i := 1; i < len(es); i++ {
			gaps[i-1] = append(gaps[i-1], es[i].Time.Sub(es[i-1].Time))
		}
		totals = append(totals, es[len(es)-1].Time.Sub(es[0].Time))
	}
	median := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds()) / 1e3
	}
	for _, g := range gaps {
		tl.gaps = append(tl.gaps, median(g))
	}
	tl.total, tl.n = median(totals), len(totals)
	return tl
}

// eventLabels names each event by what it is, not when: type, node or
// link ends, direction, rule and step, layer action.
func eventLabels(es []trace.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		l := e.Type
		if e.Node != "" {
			l += " " + e.Node
		}
		if e.From != "" {
			l += " " + e.From + ">" + e.To
		}
		if e.Dir != "" {
			l += " " + e.Dir
		}
		if e.Decision != nil {
			l += " " + e.Decision.Rule + " " + e.Decision.Step
		}
		if e.Layer_ != nil {
			l += " " + e.Layer_.Action
		}
		out[i] = l
	}
	return out
}
