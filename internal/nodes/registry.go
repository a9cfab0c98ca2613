package nodes

import "sync"

// corr places a datagram in an exchange: which end-to-end exchange, which
// leg (hop 0 is the leg from the client) and which direction.
type corr struct {
	Exchange int
	Hop      int
	Dir      string
}

type tokenKey struct {
	link  string
	token string
}

type midKey struct {
	link string
	mid  uint16
}

// registry maps (link, token) and (link, MID) to the exchange they belong
// to. Nodes register before they send; links look the header up. Two
// generations keep the memory bounded on long runs: when the current one is
// full it becomes the old one and the previous old one is forgotten.
type registry struct {
	mu             sync.Mutex
	tokens         [2]map[tokenKey]corr
	mids           [2]map[midKey]corr
	generationSize int
}

func newRegistry() *registry {
	r := &registry{generationSize: 8192}
	r.tokens[0], r.tokens[1] = map[tokenKey]corr{}, map[tokenKey]corr{}
	r.mids[0], r.mids[1] = map[midKey]corr{}, map[midKey]corr{}
	return r
}

func (r *registry) registerToken(link string, token []byte, c corr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.registerTokenLocked(link, token, c)
}

func (r *registry) registerTokenLocked(link string, token []byte, c corr) {
	if len(r.tokens[0]) >= r.generationSize {
		r.tokens[1], r.tokens[0] = r.tokens[0], map[tokenKey]corr{}
	}
	r.tokens[0][tokenKey{link, string(token)}] = c
}

func (r *registry) registerMID(link string, mid uint16, c corr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.registerMIDLocked(link, mid, c)
}

func (r *registry) registerMIDLocked(link string, mid uint16, c corr) {
	if len(r.mids[0]) >= r.generationSize {
		r.mids[1], r.mids[0] = r.mids[0], map[midKey]corr{}
	}
	r.mids[0][midKey{link, mid}] = c
}

// lookup finds the exchange of a datagram crossing link. Requests and
// responses are found by token; the link then remembers their MID so that the
// matching empty ACK or RST (which carry no token) is found by MID.
func (r *registry) lookup(link string, h header) (corr, bool) {
	if !h.ok {
		return corr{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(h.token) > 0 {
		k := tokenKey{link, string(h.token)}
		for _, g := range r.tokens {
			if c, ok := g[k]; ok {
				r.registerMIDLocked(link, h.mid, c)
				return c, true
			}
		}
	}
	k := midKey{link, h.mid}
	for _, g := range r.mids {
		if c, ok := g[k]; ok {
			return c, true
		}
	}
	return corr{}, false
}

// exchangeOf finds the exchange a request received over link belongs to.
func (r *registry) exchangeOf(link string, token []byte) (corr, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := tokenKey{link, string(token)}
	for _, g := range r.tokens {
		if c, ok := g[k]; ok {
			return c, true
		}
	}
	return corr{}, false
}

// outsideRequest places a request an outside peer sent over link, whose
// Message IDs are remembered under mids: a retransmission (the same
// Message ID, RFC 7252 4.5) joins the exchange of its first copy; any
// other request starts an exchange (start returns its id) at hop 0, and
// started says so.
func (r *registry) outsideRequest(link, mids string, h header, start func() int) (c corr, started bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := midKey{mids, h.mid}
	for _, g := range r.mids {
		if c, ok := g[k]; ok {
			return c, false
		}
	}
	c = corr{Exchange: start()}
	r.registerTokenLocked(link, h.token, c)
	r.registerMIDLocked(mids, h.mid, c)
	return c, true
}
