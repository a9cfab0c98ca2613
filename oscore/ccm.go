package oscore

import (
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
)

// ccmAEAD is AES-CCM (RFC 3610) over a cipher.Block, as COSE uses it for
// AES-CCM-16-64-128 and friends (RFC 9053 4.2: L=2, so a 13-byte nonce).
// It exists because pion/dtls's CCM allocates on every call; this one
// allocates nothing when dst has room. It is checked against the RFC 3610
// packet vectors and differentially fuzzed against pion's (ccm_test.go).
// It is stateless after construction and safe for concurrent use.
type ccmAEAD struct {
	b        cipher.Block
	tagLen   int // M
	nonceLen int // 15 - L
	maxLen   uint64
}

const ccmBlock = 16

// ccmScratch holds the blocks of one operation. Slices passed to the
// cipher.Block interface escape, so stack arrays would cost an allocation
// each; a pool keeps Seal and Open allocation-free.
type ccmScratch struct {
	x, a, s, s0 [ccmBlock]byte
	hdr         [10]byte
}

var ccmPool = sync.Pool{New: func() any { return new(ccmScratch) }}

// newCCM returns AES-CCM with the given tag and nonce sizes (RFC 3610 2:
// M in 4..16 and even, L = 15 - nonceLen in 2..8).
func newCCM(b cipher.Block, tagLen, nonceLen int) (cipher.AEAD, error) {
	if b.BlockSize() != ccmBlock {
		return nil, errors.New("oscore: CCM needs a 128-bit block cipher")
	}
	if tagLen < 4 || tagLen > 16 || tagLen%2 != 0 {
		return nil, fmt.Errorf("oscore: CCM tag length %d invalid (RFC 3610 2)", tagLen)
	}
	l := 15 - nonceLen
	if l < 2 || l > 8 {
		return nil, fmt.Errorf("oscore: CCM nonce length %d invalid (RFC 3610 2)", nonceLen)
	}
	maxLen := uint64(1)<<(8*uint(l)) - 1
	if l == 8 {
		maxLen = ^uint64(0)
	}
	return &ccmAEAD{b: b, tagLen: tagLen, nonceLen: nonceLen, maxLen: maxLen}, nil
}

func (c *ccmAEAD) NonceSize() int { return c.nonceLen }
func (c *ccmAEAD) Overhead() int  { return c.tagLen }

// maxPlaintext is the largest message the length field can express.
func (c *ccmAEAD) maxPlaintext() uint64 { return c.maxLen }

// mac computes the CBC-MAC T of RFC 3610 2.2 over B0, the encoded AAD and
// the plaintext, into tag (16 bytes; the first M are T).
func (c *ccmAEAD) mac(sc *ccmScratch, nonce, aad, plaintext []byte) {
	x := sc.x[:]
	clear(x)
	l := 15 - c.nonceLen
	// B0 = Flags || Nonce || l(m).
	x[0] = byte((c.tagLen-2)/2)<<3 | byte(l-1)
	if len(aad) > 0 {
		x[0] |= 0x40
	}
	copy(x[1:], nonce)
	n := uint64(len(plaintext))
	for i := 15; i > c.nonceLen; i-- {
		x[i] = byte(n)
		n >>= 8
	}
	c.b.Encrypt(x, x)
	if len(aad) > 0 {
		// l(a) || a, padded with zeros to a block boundary (RFC 3610 2.2).
		hdr := sc.hdr[:]
		var h int
		switch a := uint64(len(aad)); {
		case a < 0xff00:
			hdr[0], hdr[1], h = byte(a>>8), byte(a), 2
		case a <= 0xffffffff:
			hdr[0], hdr[1] = 0xff, 0xfe
			hdr[2], hdr[3], hdr[4], hdr[5], h = byte(a>>24), byte(a>>16), byte(a>>8), byte(a), 6
		default:
			hdr[0], hdr[1] = 0xff, 0xff
			for i := 0; i < 8; i++ {
				hdr[2+i] = byte(a >> (56 - 8*uint(i)))
			}
			h = 10
		}
		pos := 0
		for i := 0; i < h; i++ {
			x[pos] ^= hdr[i]
			pos++
		}
		for _, v := range aad {
			if pos == ccmBlock {
				c.b.Encrypt(x, x)
				pos = 0
			}
			x[pos] ^= v
			pos++
		}
		c.b.Encrypt(x, x)
	}
	for len(plaintext) >= ccmBlock {
		subtle.XORBytes(x, x, plaintext[:ccmBlock])
		c.b.Encrypt(x, x)
		plaintext = plaintext[ccmBlock:]
	}
	if len(plaintext) > 0 {
		subtle.XORBytes(x[:len(plaintext)], x[:len(plaintext)], plaintext)
		c.b.Encrypt(x, x)
	}
}

// ctr XORs src with the key stream S_1, S_2, ... into dst (RFC 3610 2.3)
// and leaves S_0, for the tag, in sc.s0.
func (c *ccmAEAD) ctr(sc *ccmScratch, dst, src, nonce []byte) {
	a, s := sc.a[:], sc.s[:]
	clear(a)
	a[0] = byte(15 - c.nonceLen - 1)
	copy(a[1:], nonce)
	c.b.Encrypt(sc.s0[:], a)
	for ctr := uint64(1); len(src) > 0; ctr++ {
		v := ctr
		for i := 15; i > c.nonceLen; i-- {
			a[i] = byte(v)
			v >>= 8
		}
		c.b.Encrypt(s, a)
		n := subtle.XORBytes(dst, src, s)
		dst, src = dst[n:], src[n:]
	}
}

// sliceForAppend extends in by n bytes, reusing its capacity when possible.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	return head, head[len(in):]
}

// Seal encrypts and authenticates plaintext (RFC 3610 2.2-2.4). Like the
// standard library's AEADs it panics on a wrong nonce size or an
// over-long message; this package checks both before calling.
func (c *ccmAEAD) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != c.nonceLen {
		panic("oscore: CCM: incorrect nonce length")
	}
	if uint64(len(plaintext)) > c.maxLen {
		panic("oscore: CCM: message too long")
	}
	sc := ccmPool.Get().(*ccmScratch)
	defer ccmPool.Put(sc)
	c.mac(sc, nonce, aad, plaintext)
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagLen)
	c.ctr(sc, out, plaintext, nonce)
	subtle.XORBytes(out[len(plaintext):], sc.x[:c.tagLen], sc.s0[:c.tagLen])
	return ret
}

var errCCMAuth = errors.New("oscore: CCM: message authentication failed")

// Open decrypts and verifies ciphertext; on failure the output is zeroed.
func (c *ccmAEAD) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != c.nonceLen {
		return nil, errors.New("oscore: CCM: incorrect nonce length")
	}
	if len(ciphertext) < c.tagLen || uint64(len(ciphertext)-c.tagLen) > c.maxLen {
		return nil, errCCMAuth
	}
	ptLen := len(ciphertext) - c.tagLen
	ret, out := sliceForAppend(dst, ptLen)
	sc := ccmPool.Get().(*ccmScratch)
	defer ccmPool.Put(sc)
	c.ctr(sc, out, ciphertext[:ptLen], nonce)
	c.mac(sc, nonce, aad, out)
	tag := sc.x[:c.tagLen]
	subtle.XORBytes(tag, tag, sc.s0[:c.tagLen])
	if subtle.ConstantTimeCompare(tag, ciphertext[ptLen:]) != 1 {
		clear(out)
		return nil, errCCMAuth
	}
	return ret, nil
}
