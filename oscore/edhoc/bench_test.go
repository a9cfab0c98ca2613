package edhoc

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"
)

// bareOps returns a function doing the public-key operations a complete
// handshake of method m and suite s needs, nothing else: two ephemeral
// key generations, the ECDHs (G_XY on both sides, G_RX and G_IY on both
// sides for static DH) and one signature and verification per signing
// side.
func bareOps(b *testing.B, s Suite, m Method, ci, cr Config) func() {
	c := s.Curve()
	eph, err := c.generate(nil)
	if err != nil {
		b.Fatal(err)
	}
	peer := eph.PublicKey()
	dhs := 2
	if !m.ResponderSigns() {
		dhs += 2
	}
	if !m.InitiatorSigns() {
		dhs += 2
	}
	var signers []*Identity
	if m.InitiatorSigns() {
		signers = append(signers, ci.Identity)
	}
	if m.ResponderSigns() {
		signers = append(signers, cr.Identity)
	}
	msg := make([]byte, 200)
	rand.Read(msg)
	return func() {
		for range 2 {
			k, err := c.generate(nil)
			if err != nil {
				b.Fatal(err)
			}
			_ = c.wirePublic(k.PublicKey())
		}
		for range dhs {
			if _, err := dh(eph, peer); err != nil {
				b.Fatal(err)
			}
		}
		for _, sg := range signers {
			sig, err := sg.sign(s.Sig(), msg)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Sig().verify(&sg.Credential.pub, msg, sig); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkHandshake runs complete handshakes (message_1 to message_4,
// both sides, then the OSCORE context on both) per suite and method,
// interleaved with the bare DH and signature operations the handshake
// needs, so both see the same machine load. It reports handshake-ns,
// bare-ns and their ratio, in wall-clock and in process CPU time.
func BenchmarkHandshake(b *testing.B) {
	for _, s := range []Suite{Suite0, Suite2} {
		for _, m := range []Method{MethodSigSig, MethodDHDH} {
			b.Run(fmt.Sprintf("suite%d/method%d", s, m), func(b *testing.B) {
				ci, cr := pairConfigs(b, s, m)
				bare := bareOps(b, s, m, ci, cr)
				var hs, ops, hsCPU, opsCPU time.Duration
				n := 0
				for b.Loop() {
					t0, c0 := time.Now(), cpuTime()
					ini, res := handshake(b, ci, cr)
					if _, err := ini.OSCORE("I"); err != nil {
						b.Fatal(err)
					}
					if _, err := res.OSCORE("R"); err != nil {
						b.Fatal(err)
					}
					t1, c1 := time.Now(), cpuTime()
					bare()
					hs += t1.Sub(t0)
					ops += time.Since(t1)
					hsCPU += c1 - c0
					opsCPU += cpuTime() - c1
					n++
				}
				b.ReportMetric(float64(hs)/float64(n), "handshake-ns")
				b.ReportMetric(float64(ops)/float64(n), "bare-ns")
				b.ReportMetric(float64(hs)/float64(ops), "ratio")
				b.ReportMetric(float64(hsCPU)/float64(n), "handshake-cpu-ns")
				b.ReportMetric(float64(opsCPU)/float64(n), "bare-cpu-ns")
				b.ReportMetric(float64(hsCPU)/float64(opsCPU), "cpu-ratio")
			})
		}
	}
}
