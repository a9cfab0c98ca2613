package oscore

import (
	"fmt"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// benchGET is a GET with Uri-Host, Uri-Path and a 64-byte payload.
func benchGET() message.Message {
	m := message.Message{Code: codes.GET, Token: message.Token{0x8c, 1, 2, 3}, MessageID: 0x5d1f, Type: message.Confirmable}
	m.Options = m.Options.Add(message.Option{ID: OptURIHost, Value: []byte("example.com")})
	m.Options = m.Options.Add(message.Option{ID: OptURIPath, Value: []byte("alarm_status")})
	m.Payload = make([]byte, 64)
	return m
}

// BenchmarkLayersRequest: protect and unprotect one request through N
// nested layers (AES-CCM-16-64-128), each layer with its Route's rule.
func BenchmarkLayersRequest(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("layers=%d", n), func(b *testing.B) {
			req := benchGET()
			pairs, layers := chain(b, n, AESCCM16_64_128, &req, false)
			lookup := lookupOf(responders(pairs)...)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				prot, _, _, err := ProtectRequestLayers(req, layers, n)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, _, err := UnprotectRequestLayers(prot, lookup, n); err != nil {
					b.Fatal(err)
				}
			}
			perLayer := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
			b.ReportMetric(perLayer, "ns/layer")
		})
	}
}

// BenchmarkLayersExchange: a whole exchange through N layers: request
// protected and removed, response (64-byte payload, no Partial IV)
// protected with the same layers in reverse order and removed by the client.
func BenchmarkLayersExchange(b *testing.B) {
	for _, n := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("layers=%d", n), func(b *testing.B) {
			req := benchGET()
			pairs, layers := chain(b, n, AESCCM16_64_128, &req, false)
			lookup := lookupOf(responders(pairs)...)
			resp := message.Message{Code: codes.Content, Token: req.Token, Payload: make([]byte, 64)}
			opts := make([]ProtectOptions, n)
			for i := range opts {
				opts[i].Rule = responseRule(&resp)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				prot, cb, _, err := ProtectRequestLayers(req, layers, n)
				if err != nil {
					b.Fatal(err)
				}
				_, sb, _, err := UnprotectRequestLayers(prot, lookup, n)
				if err != nil {
					b.Fatal(err)
				}
				presp, _, err := ProtectResponseLayers(resp, sb, opts)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := UnprotectResponseLayers(presp, cb); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/layer")
		})
	}
}
