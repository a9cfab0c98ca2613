package oscore

import (
	"bytes"
	"crypto/aes"
	"math/rand/v2"
	"testing"

	"github.com/pion/dtls/v3/pkg/crypto/ccm"
)

// RFC 3610 section 8, packet vectors #1-#3 (AES key C0..CF, M=8, L=2,
// 8-byte cleartext header as AAD, counting payload).
var rfc3610Vectors = []struct {
	name, nonce, aad, pt, ct, tag string
}{
	{"packet vector #1", "00000003020100a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
		"588c979a61c663d2f066d0c2c0f989806d5f6b61dac384", "17e8d12cfdf926e0"},
	{"packet vector #2", "00000004030201a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3b", "a091d56e10400916"},
	{"packet vector #3", "00000005040302a0a1a2a3a4a5", "0001020304050607", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
		"51b1e5f44a197d1da46b0f8e2d282ae871e838bb64da859657", "4adaa76fbd9fb0c5"},
}

func TestCCMRFC3610(t *testing.T) {
	blk, err := aes.NewCipher(unhex(t, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newCCM(blk, 8, 13)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rfc3610Vectors {
		t.Run(v.name, func(t *testing.T) {
			nonce, aad, pt := unhex(t, v.nonce), unhex(t, v.aad), unhex(t, v.pt)
			out := a.Seal(nil, nonce, pt, aad)
			eqHex(t, "ciphertext||tag", out, v.ct+v.tag)
			back, err := a.Open(nil, nonce, out, aad)
			if err != nil || !bytes.Equal(back, pt) {
				t.Fatalf("open: %v %x", err, back)
			}
			for i := range out {
				bad := append([]byte(nil), out...)
				bad[i] ^= 0x80
				if _, err := a.Open(nil, nonce, bad, aad); err == nil {
					t.Fatalf("flip at %d not detected", i)
				}
			}
			if _, err := a.Open(nil, nonce, out, append(aad, 0)); err == nil {
				t.Fatal("changed AAD not detected")
			}
		})
	}
	// In-place sealing and opening (dst aliases the input exactly).
	buf := make([]byte, 23, 31)
	copy(buf, unhex(t, rfc3610Vectors[0].pt))
	sealed := a.Seal(buf[:0], unhex(t, rfc3610Vectors[0].nonce), buf, unhex(t, rfc3610Vectors[0].aad))
	eqHex(t, "in place", sealed, rfc3610Vectors[0].ct+rfc3610Vectors[0].tag)
	for _, bad := range [][2]int{{3, 13}, {8, 6}, {8, 14}, {18, 13}} {
		if _, err := newCCM(blk, bad[0], bad[1]); err == nil {
			t.Errorf("tag %d nonce %d accepted", bad[0], bad[1])
		}
	}
}

// ccmDifferential compares our CCM with pion's on one input.
func ccmDifferential(t *testing.T, key []byte, tagLen, nonceLen int, nonce, aad, pt []byte) {
	blk, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := newCCM(blk, tagLen, nonceLen)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := ccm.NewCCM(blk, tagLen, nonceLen)
	if err != nil {
		t.Fatal(err)
	}
	a := ours.Seal(nil, nonce, pt, aad)
	b := theirs.Seal(nil, nonce, pt, aad)
	if !bytes.Equal(a, b) {
		t.Fatalf("seal differs (tag %d nonce %d aad %d pt %d):\nours  %x\npion  %x", tagLen, nonceLen, len(aad), len(pt), a, b)
	}
	back, err := ours.Open(nil, nonce, b, aad)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("open of pion's output: %v", err)
	}
	// In place, as cipher.AEAD allows: plaintext[:0] and ciphertext[:0]
	// as dst.
	buf := append(make([]byte, 0, len(pt)+tagLen), pt...)
	if got := ours.Seal(buf[:0], nonce, buf, aad); !bytes.Equal(got, b) {
		t.Fatalf("seal in place differs (tag %d nonce %d aad %d pt %d):\nin place %x\npion     %x", tagLen, nonceLen, len(aad), len(pt), got, b)
	}
	buf = append(buf[:0], b...)
	if got, err := ours.Open(buf[:0], nonce, buf, aad); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("open in place (tag %d nonce %d aad %d pt %d): %v, %x", tagLen, nonceLen, len(aad), len(pt), err, got)
	}
	if len(b) > 0 {
		b[len(b)/2] ^= 1
		_, e1 := ours.Open(nil, nonce, b, aad)
		_, e2 := theirs.Open(nil, nonce, b, aad)
		if (e1 == nil) != (e2 == nil) || e1 == nil {
			t.Fatalf("tampered: ours %v, pion %v", e1, e2)
		}
	}
}

// TestCCMDifferential runs the fuzz comparison over a fixed random sample
// of shapes: every tag size, nonce sizes 7-13, AAD and plaintext lengths
// around the block boundaries.
func TestCCMDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 600; i++ {
		key := randBytesCCM(r, []int{16, 24, 32}[i%3])
		tagLen := 4 + 2*(i%7)
		nonceLen := 7 + i%7
		ccmDifferential(t, key, tagLen, nonceLen, randBytesCCM(r, nonceLen),
			randBytesCCM(r, r.IntN(70)), randBytesCCM(r, r.IntN(200)))
	}
}

func randBytesCCM(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// FuzzCCMDifferential compares our CCM with pion's on arbitrary inputs.
func FuzzCCMDifferential(f *testing.F) {
	for _, v := range rfc3610Vectors {
		f.Add(unhex(f, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"), uint8(8), unhex(f, v.nonce), unhex(f, v.aad), unhex(f, v.pt))
	}
	f.Add(make([]byte, 32), uint8(16), make([]byte, 13), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, key []byte, tag uint8, nonce, aad, pt []byte) {
		if len(key) != 16 && len(key) != 24 && len(key) != 32 {
			return
		}
		tagLen := 4 + 2*int(tag%7)
		if len(nonce) < 7 || len(nonce) > 13 || len(pt) > 4096 || len(aad) > 4096 {
			return
		}
		if len(nonce) == 13 && len(pt) > 0xffff {
			return
		}
		ccmDifferential(t, key, tagLen, len(nonce), nonce, aad, pt)
	})
}
