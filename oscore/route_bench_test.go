package oscore

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
)

// BenchmarkRoutes builds the routes a proxy of C -> P -> S needs per
// exchange: the request's (forwarding, draft 2.3) and the response's
// (draft 2.5).
func BenchmarkRoutes(b *testing.B) {
	m := getRequest("/alarm_status")
	m.Options = m.Options.Add(message.Option{ID: OptProxyScheme, Value: []byte("coap")})
	m.Options = m.Options.Add(message.Option{ID: OptOSCORE, Value: []byte{0x09, 0x14, 0x5f}})
	hops := []Hop{{"C", RoleClient}, {"P", RoleForwardProxy}, {"S", RoleServer}}
	rhops := []Hop{{"S", RoleServer}, {"P", RoleForwardProxy}, {"C", RoleClient}}
	resp := message.Message{Code: 69, Options: message.Options{{ID: OptOSCORE, Value: []byte{}}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = RequestRoute(&m, hops, 1, []int{2}, OptHopLimit)
		_ = ResponseRoute(&resp, rhops, 1, []int{2})
	}
}
