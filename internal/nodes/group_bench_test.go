package nodes

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
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

// BenchmarkGroupViaProxy: one request to a group of 10 and of 100
// members through one forward-proxy (draft-ietf-core-groupcomm-proxy),
// until every member's response has arrived at the client, in three
// variants interleaved in the same run over the same member nodes: the
// same fan-out sent directly and without OSCORE (the baseline), through
// the proxy with only the C-P OSCORE layer that identifies the client
// (plain CoAP to the members), and through the proxy with Group OSCORE end
// to end under the C-P layer. Reported: wall time per request for each and
// the ratios to the baseline.
func BenchmarkGroupViaProxy(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			defer func(w time.Duration) { lateWindow = w }(lateWindow)
			lateWindow = 0
			s := gpScenario(n, map[string][]string{"CTX_C_P": {"G", "GP"}})
			plain := s.Groups[0]
			plain.ID, plain.Context = "GP", ""
			s.Groups = append(s.Groups, plain)
			lab := NewLab(trace.NewBus(0))
			b.Cleanup(func() { lab.Close() })
			// 100 members exceed the scenario limit of 32 per group: the
			// benchmark applies the topology without the limits check.
			lab.mu.Lock()
			err := lab.applyLocked(s)
			lab.mu.Unlock()
			if err != nil {
				b.Fatal(err)
			}
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			direct := &groupFixture{conn: conn, link: lab.topo.Load().groups["GP"].link}
			call := func(group string) GroupProxyCall {
				req := message.Message{Code: codes.GET}
				req.Options, _, _ = req.Options.SetString(make([]byte, 64), optProxyURI, "coap://"+group+"/temp")
				return GroupProxyCall{Client: "C", Proxy: "P", CP: "CTX_C_P", Group: group, Request: req,
					Timeout: seconds(10), Wait: 10 * time.Second, Enough: n}
			}
			req := message.Message{Code: codes.GET, MessageID: 1}
			req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
			var tDirect, tCP, tGroup time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req.Token = message.Token{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
				start := time.Now()
				if err := plainGroupRound(direct, req, n); err != nil {
					b.Fatal(err)
				}
				tDirect += time.Since(start)
				for _, v := range []struct {
					group string
					sum   *time.Duration
				}{{"GP", &tCP}, {"G", &tGroup}} {
					start = time.Now()
					out, _, err := lab.GroupViaProxy(context.Background(), call(v.group))
					if err != nil {
						b.Fatal(err)
					}
					if len(out.Responses) != n || len(out.Refused) > 0 || len(out.Proxy) > 0 {
						b.Fatalf("%s: %d responses, %d refused, %d answers of P", v.group, len(out.Responses), len(out.Refused), len(out.Proxy))
					}
					*v.sum += time.Since(start)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(tDirect.Nanoseconds())/float64(b.N), "direct-plain-ns/op")
			b.ReportMetric(float64(tCP.Nanoseconds())/float64(b.N), "proxy-cp-ns/op")
			b.ReportMetric(float64(tGroup.Nanoseconds())/float64(b.N), "proxy-cp-group-ns/op")
			b.ReportMetric(float64(tCP)/float64(tDirect), "cp/direct")
			b.ReportMetric(float64(tGroup)/float64(tDirect), "group/direct")
		})
	}
}
