package group

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"oscore-lab/oscore"
)

// bench64 is the benchmark request: GET coap://example.com/sensors/temp
// with a 64-byte payload, as oscore's benchmarks use.
func bench64() message.Message {
	m := message.Message{Code: 1, Token: message.Token{0x8c}, MessageID: 0x1234, Type: message.Confirmable}
	m.Options = m.Options.Add(message.Option{ID: message.URIHost, Value: []byte("example.com")})
	m.Options = m.Options.Add(message.Option{ID: message.URIPath, Value: []byte("sensors")})
	m.Options = m.Options.Add(message.Option{ID: message.URIPath, Value: []byte("temp")})
	m.Payload = bytes.Repeat([]byte{0x42}, 64)
	return m
}

// benchGroup is the cross-checked group with a replay window wide enough
// for benchmark loops.
func benchGroup(b *testing.B) (cli, srv *Context) {
	v, cli, _ := crossChecked(b)
	srv = member(b, v, "server", []byte{0x52}, v.hex(b, "common_context.server_ed25519_private_seed"), v.hex(b, "common_context.server_cred_ccs"),
		map[string][]byte{"\x25": v.hex(b, "common_context.client_cred_ccs")})
	return cli, srv
}

// interleave runs batches of layer and of bare alternately, so that both
// see the same machine load, and reports each one's wall and CPU time per
// operation and the ratio of the walls.
func interleave(b *testing.B, layer, bare func()) {
	const batch = 16
	var tl, tb, cl, cb time.Duration
	n := 0
	for b.Loop() {
		t0, c0 := time.Now(), cpuTime()
		for range batch {
			layer()
		}
		t1, c1 := time.Now(), cpuTime()
		for range batch {
			bare()
		}
		tl, tb = tl+t1.Sub(t0), tb+time.Since(t1)
		cl, cb = cl+c1-c0, cb+cpuTime()-c1
		n += batch
	}
	b.ReportMetric(float64(tl)/float64(n), "layer-ns")
	b.ReportMetric(float64(tb)/float64(n), "bare-ns")
	b.ReportMetric(float64(cl)/float64(n), "layer-cpu-ns")
	b.ReportMetric(float64(cb)/float64(n), "bare-cpu-ns")
	b.ReportMetric(float64(tl)/float64(tb), "ratio")
}

// BenchmarkGroupModeVsBare: a group-mode request protected by the client
// and verified and decrypted by the server, reports included, against the
// bare work it cannot avoid: one Ed25519 signature and verification over a
// Countersign_structure of the same size, and one AES-CCM seal and open of
// the same plaintext and AAD.
func BenchmarkGroupModeVsBare(b *testing.B) {
	cli, srv := benchGroup(b)
	m := bench64()
	p, _, rep, err := ProtectRequest(cli, m, ProtectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	g := rep.Complete().Group
	key := cli.p.SenderKey.ed
	pub := key.Public().(ed25519.PublicKey)
	aead, _ := oscore.AESCCM16_64_128.NewAEAD(cli.SenderKey())
	pt, aad, cs, nonce := rep.Plaintext, []byte(g.AAD), []byte(g.CountersignStructure), []byte(g.Nonce.Nonce)
	ct := make([]byte, 0, len(pt)+8)
	out := make([]byte, 0, len(pt))
	lookup := lookupOf(srv)
	b.ReportAllocs()
	_ = p
	interleave(b, func() {
		p, _, _, err := ProtectRequest(cli, m, ProtectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := UnprotectRequest(p, lookup); err != nil {
			b.Fatal(err)
		}
	}, func() {
		sig := ed25519.Sign(key, cs)
		if !ed25519.Verify(pub, cs, sig) {
			b.Fatal("verify")
		}
		c := aead.Seal(ct[:0], nonce, pt, aad)
		if _, err := aead.Open(out[:0], nonce, c, aad); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkPairwiseVsBare: a pairwise request protected and unprotected,
// reports included (pairwise keys derived once, before), against one bare
// AES-CCM seal and open of the same plaintext and AAD.
func BenchmarkPairwiseVsBare(b *testing.B) {
	cli, srv := benchGroup(b)
	m := bench64()
	o := ProtectOptions{Mode: PairwiseMode, To: []byte{0x52}}
	_, _, rep, err := ProtectRequest(cli, m, o)
	if err != nil {
		b.Fatal(err)
	}
	g := rep.Complete().Group
	aead, _ := oscore.AESCCM16_64_128.NewAEAD(g.Key.Key)
	pt, aad, nonce := rep.Plaintext, []byte(g.AAD), []byte(g.Nonce.Nonce)
	ct := make([]byte, 0, len(pt)+8)
	out := make([]byte, 0, len(pt))
	lookup := lookupOf(srv)
	b.ReportAllocs()
	interleave(b, func() {
		p, _, _, err := ProtectRequest(cli, m, o)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, _, err := UnprotectRequest(p, lookup); err != nil {
			b.Fatal(err)
		}
	}, func() {
		c := aead.Seal(ct[:0], nonce, pt, aad)
		if _, err := aead.Open(out[:0], nonce, c, aad); err != nil {
			b.Fatal(err)
		}
	})
}
