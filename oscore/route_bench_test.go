package oscore

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
)

// benchRouteRequest is the request a proxy of C -> P -> S forwards, and its
// path.
func benchRouteRequest() (message.Message, []Hop) {
	m := getRequest("/alarm_status")
	m.Options = m.Options.Add(message.Option{ID: OptProxyScheme, Value: []byte("coap")})
	m.Options = m.Options.Add(message.Option{ID: OptOSCORE, Value: []byte{0x09, 0x14, 0x5f}})
	return m, []Hop{{"C", RoleClient}, {"P", RoleForwardProxy}, {"S", RoleServer}}
}

// BenchmarkRoutes builds the routes a proxy of C -> P -> S needs per
// exchange: the request's (forwarding, draft 2.3) and the response's
// (draft 2.5).
func BenchmarkRoutes(b *testing.B) {
	m, hops := benchRouteRequest()
	rhops := []Hop{{"S", RoleServer}, {"P", RoleForwardProxy}, {"C", RoleClient}}
	resp := message.Message{Code: 69, Options: message.Options{{ID: OptOSCORE, Value: []byte{}}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = RequestRoute(&m, hops, 1, []int{2}, OptHopLimit)
		_ = ResponseRoute(&resp, rhops, 1, []int{2})
	}
}

// BenchmarkRouteInput asks the questions of the rule (draft 2.2) about
// every option of the forwarded request of BenchmarkRoutes, in the proxy's
// P_S layer.
func BenchmarkRouteInput(b *testing.B) {
	m, hops := benchRouteRequest()
	r := RequestRoute(&m, hops, 1, []int{2}, OptHopLimit)
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range m.Options {
			_ = r.Input(2, uint16(o.ID), &m)
		}
	}
}
