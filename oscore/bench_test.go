package oscore

import (
	"bytes"
	"crypto/aes"
	"testing"
	"time"

	"github.com/pion/dtls/v3/pkg/crypto/ccm"
	"github.com/plgd-dev/go-coap/v3/message"
)

// bench64 is the benchmark request: GET coap://example.com/sensors/temp
// with a 64-byte payload.
func bench64() message.Message {
	m := getRequest("/sensors/temp")
	m.Payload = bytes.Repeat([]byte{0x42}, 64)
	return m
}

// benchPair is a client/server pair with a replay window wide enough for
// benchmark loops.
func benchPair(b *testing.B, alg AEADAlg) (*Context, ContextLookup) {
	cli, srv := pair(b, alg, 0)
	srv = mustContext(b, "S-bench", withWindow(srv.Params(), 64))
	return cli, fixedLookup(srv)
}

// BenchmarkProtectUnprotect is one layer: ProtectRequest then
// UnprotectRequest of a 64-byte-payload GET, reports included.
func BenchmarkProtectUnprotect(b *testing.B) {
	for _, alg := range AEADAlgs() {
		b.Run(alg.String(), func(b *testing.B) {
			cli, lookup := benchPair(b, alg)
			m := bench64()
			b.ReportAllocs()
			loopCPU(b, func() {
				p, _, _, err := ProtectRequest(cli, m, ProtectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, _, _, err := UnprotectRequest(p, lookup); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkProtect is ProtectRequest alone.
func BenchmarkProtect(b *testing.B) {
	for _, alg := range AEADAlgs() {
		b.Run(alg.String(), func(b *testing.B) {
			cli, _ := benchPair(b, alg)
			m := bench64()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, _, err := ProtectRequest(cli, m, ProtectOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnprotect is UnprotectRequest alone (the window is reset each
// iteration so the same message stays fresh; the reset is a few ns).
func BenchmarkUnprotect(b *testing.B) {
	for _, alg := range AEADAlgs() {
		b.Run(alg.String(), func(b *testing.B) {
			cli, srv := pair(b, alg, 0)
			lookup := fixedLookup(srv)
			p, _, _, err := ProtectRequest(cli, bench64(), ProtectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				srv.replay.highest = -1
				clear(srv.replay.bits)
				if _, _, _, err := UnprotectRequest(p, lookup); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchPlainAAD returns the plaintext and AAD the layer benchmark encrypts.
func benchPlainAAD(b *testing.B, alg AEADAlg) (pt, aad []byte) {
	cli, _ := pair(b, alg, 0)
	_, _, rep, err := ProtectRequest(cli, bench64(), ProtectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return rep.Plaintext, rep.Complete().AAD.AAD
}

// BenchmarkBaselineAEAD is the physical floor: one seal and one open of the
// same plaintext and AAD with the context's prepared AEAD, buffers reused.
// "pion" is pion/dtls's CCM for comparison.
func BenchmarkBaselineAEAD(b *testing.B) {
	for _, alg := range AEADAlgs() {
		b.Run(alg.String(), func(b *testing.B) {
			cli, _ := pair(b, alg, 0)
			pt, aad := benchPlainAAD(b, alg)
			nonce := make([]byte, alg.NonceLen())
			ct := make([]byte, 0, len(pt)+alg.TagLen())
			out := make([]byte, 0, len(pt))
			b.ReportAllocs()
			loopCPU(b, func() {
				ct = cli.sealer.Seal(ct[:0], nonce, pt, aad)
				var err error
				if out, err = cli.sealer.Open(out[:0], nonce, ct, aad); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("pion-AES-CCM-16-64-128", func(b *testing.B) {
		pt, aad := benchPlainAAD(b, AESCCM16_64_128)
		blk, _ := aes.NewCipher(make([]byte, 16))
		a, _ := ccm.NewCCM(blk, 8, 13)
		nonce := make([]byte, 13)
		ct := make([]byte, 0, len(pt)+8)
		out := make([]byte, 0, len(pt))
		b.ReportAllocs()
		loopCPU(b, func() {
			ct = a.Seal(ct[:0], nonce, pt, aad)
			var err error
			if out, err = a.Open(out[:0], nonce, ct, aad); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// fixedLookup finds one context without allocating (the contexts' ID
// accessors return copies).
func fixedLookup(c *Context) ContextLookup {
	rid := c.RecipientID()
	return func(kid, _ []byte) (*Context, error) {
		if bytes.Equal(kid, rid) {
			return c, nil
		}
		return nil, nil
	}
}

// loopCPU runs f in a b.Loop and reports cpu-ns/op.
func loopCPU(b *testing.B, f func()) {
	start := cpuTime()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}

// BenchmarkLayerVsBaseline interleaves batches of one-layer
// protect+unprotect (AES-CCM-16-64-128, 64-byte GET) with batches of the
// bare seal+open of the same plaintext, so that both see the same machine
// load, and reports layer-ns, aead-ns and their ratio.
func BenchmarkLayerVsBaseline(b *testing.B) {
	cli, lookup := benchPair(b, AESCCM16_64_128)
	m := bench64()
	pt, aad := benchPlainAAD(b, AESCCM16_64_128)
	nonce := make([]byte, 13)
	ct := make([]byte, 0, len(pt)+8)
	out := make([]byte, 0, len(pt))
	const batch = 64
	var layer, aead time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		for range batch {
			p, _, _, err := ProtectRequest(cli, m, ProtectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, _, _, err := UnprotectRequest(p, lookup); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range batch {
			ct = cli.sealer.Seal(ct[:0], nonce, pt, aad)
			var err error
			if out, err = cli.sealer.Open(out[:0], nonce, ct, aad); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		layer += t1.Sub(t0)
		aead += t2.Sub(t1)
		n += batch
	}
	b.ReportMetric(float64(layer)/float64(n), "layer-ns")
	b.ReportMetric(float64(aead)/float64(n), "aead-ns")
	b.ReportMetric(float64(layer)/float64(aead), "ratio")
}
