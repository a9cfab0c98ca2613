package oscore

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
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
	x, a0, s0 [ccmBlock]byte
	a, s      [ctrBatch][ccmBlock]byte
}

// ctrBatch is how many counter blocks sealBody and openBody write before
// encrypting them. Written all at once, they are in the cache before the
// block cipher reads them, so its calls, independent of each other,
// overlap in the CPU; a counter updated in place between calls made every
// call wait for the previous one's store (the AEAD took 6 to 18 % longer,
// depending on the host's load; docs/benchmarks.md).
const ctrBatch = 8

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

// macHead starts the CBC-MAC of RFC 3610 2.2 in sc.x over B0 and the
// encoded AAD of a plaintext of ptLen bytes.
func (c *ccmAEAD) macHead(sc *ccmScratch, nonce, aad []byte, ptLen int) {
	x := &sc.x
	l := 15 - c.nonceLen
	// B0 = Flags || Nonce || l(m).
	*x = [ccmBlock]byte{}
	x[0] = byte((c.tagLen-2)/2)<<3 | byte(l-1)
	if len(aad) > 0 {
		x[0] |= 0x40
	}
	copy(x[1:], nonce)
	n := uint64(ptLen)
	for i := 15; i > c.nonceLen; i-- {
		x[i] = byte(n)
		n >>= 8
	}
	c.b.Encrypt(x[:], x[:])
	if len(aad) > 0 {
		// l(a) || a, padded with zeros to a block boundary (RFC 3610 2.2).
		var first [ccmBlock]byte
		var h int
		switch a := uint64(len(aad)); {
		case a < 0xff00:
			first[0], first[1], h = byte(a>>8), byte(a), 2
		case a <= 0xffffffff:
			first[0], first[1] = 0xff, 0xfe
			binary.BigEndian.PutUint32(first[2:], uint32(a))
			h = 6
		default:
			first[0], first[1] = 0xff, 0xff
			binary.BigEndian.PutUint64(first[2:], a)
			h = 10
		}
		k := copy(first[h:], aad)
		subtle.XORBytes(x[:], x[:], first[:])
		c.b.Encrypt(x[:], x[:])
		c.macBlocks(x, aad[k:])
	}
}

// macBlocks continues the CBC-MAC in x over b, zero-padded to a block
// boundary (RFC 3610 2.2). The MAC chain XORs with subtle.XORBytes: its
// whole-block store lets the block cipher's load of x take the value
// straight from the store, where two 64-bit stores make it wait for them
// to reach the cache, on every block of the chain.
func (c *ccmAEAD) macBlocks(x *[ccmBlock]byte, b []byte) {
	for len(b) >= ccmBlock {
		subtle.XORBytes(x[:], x[:], b[:ccmBlock])
		c.b.Encrypt(x[:], x[:])
		b = b[ccmBlock:]
	}
	if len(b) > 0 {
		for i, v := range b {
			x[i] ^= v
		}
		c.b.Encrypt(x[:], x[:])
	}
}

// xorBlock writes the XOR of the first 16 bytes of a and b to dst, as two
// 64-bit words: cheaper than subtle.XORBytes where nothing reads dst back
// at once (see macBlocks).
func xorBlock(dst, a, b []byte) {
	_, _, _ = dst[ccmBlock-1], a[ccmBlock-1], b[ccmBlock-1]
	binary.LittleEndian.PutUint64(dst[:8], binary.LittleEndian.Uint64(a[:8])^binary.LittleEndian.Uint64(b[:8]))
	binary.LittleEndian.PutUint64(dst[8:16], binary.LittleEndian.Uint64(a[8:16])^binary.LittleEndian.Uint64(b[8:16]))
}

// counter0 writes A_0 = Flags || Nonce || 0 (RFC 3610 2.3) to sc.a0 and
// S_0, its encryption, to sc.s0. A_i carries i big-endian in its last L
// bytes.
func (c *ccmAEAD) counter0(sc *ccmScratch, nonce []byte) {
	sc.a0 = [ccmBlock]byte{}
	sc.a0[0] = byte(15 - c.nonceLen - 1)
	copy(sc.a0[1:], nonce)
	c.b.Encrypt(sc.s0[:], sc.a0[:])
}

// counters writes the counter blocks A_first, A_first+1, ... to sc.a for
// the next blocks of a message with left bytes to go, at most ctrBatch,
// and returns how many it wrote.
func (c *ccmAEAD) counters(sc *ccmScratch, first uint64, left int) int {
	n := min((left+ccmBlock-1)/ccmBlock, ctrBatch)
	for j := range n {
		a := &sc.a[j]
		*a = sc.a0
		ctr := first + uint64(j)
		for k := 15; k > c.nonceLen && ctr != 0; k-- {
			a[k] = byte(ctr)
			ctr >>= 8
		}
	}
	return n
}

// sealBody encrypts src into dst (RFC 3610 2.3) and continues the CBC-MAC
// in sc.x over it (2.2), block by block: each key-stream block is computed
// while the MAC chain waits for its previous block. S_0 is left in sc.s0.
// dst and src may be the same slice: each block is read before it is
// overwritten.
func (c *ccmAEAD) sealBody(sc *ccmScratch, dst, src, nonce []byte) {
	c.counter0(sc, nonce)
	x := &sc.x
	for i := uint64(1); len(src) > 0; i += ctrBatch {
		n := c.counters(sc, i, len(src))
		for j := range n {
			s := &sc.s[j]
			c.b.Encrypt(s[:], sc.a[j][:])
			if len(src) < ccmBlock {
				for k, v := range src {
					x[k] ^= v
				}
				c.b.Encrypt(x[:], x[:])
				for k, v := range src {
					dst[k] = v ^ s[k]
				}
				return
			}
			subtle.XORBytes(x[:], x[:], src[:ccmBlock])
			c.b.Encrypt(x[:], x[:])
			xorBlock(dst, src, s[:])
			dst, src = dst[ccmBlock:], src[ccmBlock:]
		}
	}
}

// openBody decrypts src into dst (RFC 3610 2.3) and continues the CBC-MAC
// in sc.x over the plaintext (2.2), block by block: the key-stream block
// after the current one is computed while the MAC chain waits. S_0 is left
// in sc.s0. dst and src may be the same slice.
func (c *ccmAEAD) openBody(sc *ccmScratch, dst, src, nonce []byte) {
	c.counter0(sc, nonce)
	x := &sc.x
	for i := uint64(1); len(src) > 0; i += ctrBatch {
		n := c.counters(sc, i, len(src))
		c.b.Encrypt(sc.s[0][:], sc.a[0][:])
		for j := range n {
			if j+1 < n {
				c.b.Encrypt(sc.s[j+1][:], sc.a[j+1][:])
			}
			s := &sc.s[j]
			if len(src) < ccmBlock {
				for k, v := range src {
					p := v ^ s[k]
					dst[k] = p
					x[k] ^= p
				}
				c.b.Encrypt(x[:], x[:])
				return
			}
			// Both XORs store whole blocks, which the next load of
			// the same block can take straight from the store.
			subtle.XORBytes(dst[:ccmBlock], src[:ccmBlock], s[:])
			subtle.XORBytes(x[:], x[:], dst[:ccmBlock])
			c.b.Encrypt(x[:], x[:])
			dst, src = dst[ccmBlock:], src[ccmBlock:]
		}
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
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagLen)
	c.macHead(sc, nonce, aad, len(plaintext))
	c.sealBody(sc, out, plaintext, nonce)
	for i := range c.tagLen {
		out[len(plaintext)+i] = sc.x[i] ^ sc.s0[i]
	}
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
	c.macHead(sc, nonce, aad, ptLen)
	c.openBody(sc, out, ciphertext[:ptLen], nonce)
	tag := sc.x[:c.tagLen]
	for i := range tag {
		tag[i] ^= sc.s0[i]
	}
	if subtle.ConstantTimeCompare(tag, ciphertext[ptLen:]) != 1 {
		clear(out)
		return nil, errCCMAuth
	}
	return ret, nil
}
