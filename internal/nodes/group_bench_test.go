package nodes

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/oscore"
)

// BenchmarkGroupRequest: one request to a group of 10 and of 100 members
// over the fan-out link, until every member's response has arrived (and,
// with Group OSCORE, been verified), against the same fan-out with plain
// CoAP members, interleaved in the same run. Reported: wall time per
// request for each, their ratio, and process CPU time per pair.
func BenchmarkGroupRequest(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			sec := startGroup(b, n, "", false)
			plain := startGroup(b, n, "", true)
			req := message.Message{Code: codes.GET, MessageID: 1}
			req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
			var tPlain, tSec time.Duration
			cpu0, cpuOK := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tok := message.Token{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
				req.Token = tok
				start := time.Now()
				if err := plainGroupRound(plain, req, n); err != nil {
					b.Fatal(err)
				}
				tPlain += time.Since(start)
				start = time.Now()
				out, err := GroupRequest(context.Background(), sec.bus, sec.call(5*time.Second, n), req)
				if err != nil {
					b.Fatal(err)
				}
				if err := out.Check(sec.ids); err != nil {
					b.Fatal(err)
				}
				tSec += time.Since(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "plain-ns/op")
			b.ReportMetric(float64(tSec.Nanoseconds())/float64(b.N), "group-oscore-ns/op")
			b.ReportMetric(float64(tSec)/float64(tPlain), "ratio")
			if cpu1, ok := processCPU(); ok && cpuOK {
				b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/pair")
			}
		})
	}
}

// plainGroupRound sends m in clear to the group and waits for n responses
// with its token.
func plainGroupRound(f *groupFixture, m message.Message, n int) error {
	m.Type = message.NonConfirmable
	raw, err := oscore.EncodeMessage(m)
	if err != nil {
		return err
	}
	if _, err := f.conn.WriteToUDP(raw, f.link.Addr()); err != nil {
		return err
	}
	f.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	for got := 0; got < n; {
		k, _, err := f.conn.ReadFromUDP(buf)
		if err != nil {
			return fmt.Errorf("%d of %d plain responses: %w", got, n, err)
		}
		if h := parseHeader(buf[:k]); h.ok && string(h.token) == string(m.Token) {
			got++
		}
	}
	return nil
}
