package nodes

import (
	crand "crypto/rand"
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// idSource hands out the tokens and message IDs a scenario does not pin. It
// is seeded from the scenario's name at every Load, so two runs of the same
// scenario put the same bytes on the wire (the lab's determinism promise,
// docs/architecture.md) while every request still gets a fresh value: the
// values are not random, anyone who knows the scenario can predict them.
// RFC 7252 5.3.1 asks for random tokens against off-path spoofing; on
// loopback, in a lab, reproducible runs matter more, and a lab facing
// other implementations can ask for random ones (Lab.RandomIDs). Pin a
// token or MID in the scenario to choose it.
type idSource struct {
	mu      sync.Mutex
	rng     *rand.Rand
	random  bool // tokens from crypto/rand, the first MID too
	nextMID uint16
}

func newIDSource(seed string) *idSource {
	s := &idSource{}
	s.reset(seed)
	return s
}

func (s *idSource) reset(seed string) {
	h := fnv.New64a()
	h.Write([]byte(seed))
	v := h.Sum64()
	s.mu.Lock()
	s.rng = rand.New(rand.NewPCG(v, v^0x6f73636f72652d6c)) // "oscore-l"
	s.nextMID = uint16(s.rng.Uint32())
	if s.random {
		var b [2]byte
		crand.Read(b[:])
		s.nextMID = uint16(b[0])<<8 | uint16(b[1])
	}
	s.mu.Unlock()
}

// setRandom switches between seeded and random tokens; seed reseeds.
func (s *idSource) setRandom(on bool, seed string) {
	s.mu.Lock()
	s.random = on
	s.mu.Unlock()
	s.reset(seed)
}

// token returns an 8-byte token.
func (s *idSource) token() []byte {
	t := make([]byte, 8)
	s.mu.Lock()
	if s.random {
		s.mu.Unlock()
		crand.Read(t) // never fails (crypto/rand)
		return t
	}
	v := s.rng.Uint64()
	s.mu.Unlock()
	for i := range t {
		t[i] = byte(v >> (56 - 8*i))
	}
	return t
}

// mid returns the next message ID: a seeded start, then consecutive values,
// so no MID repeats within 65,536 requests. Random MIDs would repeat after a
// few hundred, and a receiver's deduplication (RFC 7252 4.5) would answer a
// new request with an old cached response.
func (s *idSource) mid() uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.nextMID
	s.nextMID++
	return m
}
