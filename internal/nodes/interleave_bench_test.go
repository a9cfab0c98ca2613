package nodes

import (
	"context"
	"sort"
	"testing"
	"time"

	"oscore-lab/internal/scenario"
)

// BenchmarkChainsInterleaved runs the plain and the OSCORE variant of each
// chain side by side and alternates their exchanges one by one, so that
// both see the same machine state: on a shared VM whose speed moves from
// minute to minute (docs/benchmarks.md) separate runs cannot be compared,
// one exchange apart they can. One iteration is one exchange of each
// variant; it reports both p50s, their ratio, and each variant's process
// CPU per exchange (every goroutine of the process, both labs included,
// while that variant's exchange ran).
func BenchmarkChainsInterleaved(b *testing.B) {
	for _, c := range []struct {
		name    string
		proxies int
	}{{"C-S", 0}, {"C-P-S", 1}, {"C-P1-P2-S", 2}} {
		b.Run(c.name, func(b *testing.B) {
			plain, _, pst := benchLab(b, c.proxies, false)
			secure, _, sst := benchLab(b, c.proxies, true)
			ctx := context.Background()
			send := func(lab *Lab, st scenario.Step, lat *[]time.Duration, cpu *time.Duration) {
				c0, _ := processCPU()
				t0 := time.Now()
				r, err := lab.Send(ctx, st)
				*lat = append(*lat, time.Since(t0))
				c1, _ := processCPU()
				*cpu += c1 - c0
				if err != nil || r.Code != "2.05" {
					b.Fatalf("%+v %v", r, err)
				}
			}
			latP := make([]time.Duration, 0, b.N)
			latS := make([]time.Duration, 0, b.N)
			var cpuP, cpuS time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%2 == 0 { // alternate which goes first
					send(plain, pst, &latP, &cpuP)
					send(secure, sst, &latS, &cpuS)
				} else {
					send(secure, sst, &latS, &cpuS)
					send(plain, pst, &latP, &cpuP)
				}
			}
			b.StopTimer()
			p50 := func(l []time.Duration) float64 {
				sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
				return float64(l[len(l)/2].Nanoseconds()) / 1e3
			}
			p, s := p50(latP), p50(latS)
			b.ReportMetric(p, "plain-p50-µs")
			b.ReportMetric(s, "oscore-p50-µs")
			b.ReportMetric(s/p, "ratio")
			if _, ok := processCPU(); ok {
				b.ReportMetric(float64(cpuP.Microseconds())/float64(b.N), "plain-cpu-µs")
				b.ReportMetric(float64(cpuS.Microseconds())/float64(b.N), "oscore-cpu-µs")
			}
		})
	}
}
