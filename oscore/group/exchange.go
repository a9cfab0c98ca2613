package group

import (
	"bytes"
	"fmt"
	"sync"

	"oscore-lab/oscore"
)

// Mode is how a message is protected (RFC 10021 7, 8), carried by the
// Group Flag of the OSCORE option (4.1).
type Mode uint8

// Modes.
const (
	GroupMode    Mode = iota + 1 // countersigned, Group Encryption Algorithm, Group Flag 1 (7)
	PairwiseMode                 // pairwise key, AEAD Algorithm, Group Flag 0 (8)
)

func (m Mode) String() string {
	switch m {
	case GroupMode:
		return "group"
	case PairwiseMode:
		return "pairwise"
	}
	return "mode(?)"
}

// Exchange ties responses to their request, as oscore.Binding does for
// RFC 8613: the request's kid, Partial IV and kid context, which every
// response's external_aad repeats even after a rekeying (RFC 10021 3.4,
// 5.1, 7.1, 7.3), the request's mode, and the state of the responses:
// on the server how many were sent (only the first may reuse the request
// nonce, 5.3.1), on the client one Response Number per replying server
// (5.1, 5.3.1). ProtectRequest returns the client's and UnprotectRequest
// the server's. It is safe for concurrent use.
type Exchange struct {
	ctx              *Context
	mode             Mode
	kid, piv, kidCtx []byte
	peer             *Recipient // client: the server a pairwise request was for; server: the client
	observe          bool
	long             bool // several responses may come (group-mode or Observe request, or MultiResponse); guarded by mu once returned
	det              *detRequest

	mu        sync.Mutex
	responses int                   // server: responses protected
	accepted  int                   // client: responses accepted
	servers   map[string]*respState // client, long exchange: by server credential
}

// respState is the client's record of one server in a long exchange.
type respState struct {
	kid1  []byte
	num   int64 // Response Number, -1 before the first response with a Partial IV
	noPIV bool  // the one response without Partial IV was accepted
}

// Context is the Security Context the request was protected or verified with.
func (x *Exchange) Context() *Context { return x.ctx }

// Mode is the request's mode.
func (x *Exchange) Mode() Mode { return x.mode }

// KID, PIV and KIDContext are the request's kid, Partial IV and kid
// context (request_kid, request_piv and request_kid_context of the
// external_aad). Copies.
func (x *Exchange) KID() []byte        { return bytes.Clone(x.kid) }
func (x *Exchange) PIV() []byte        { return bytes.Clone(x.piv) }
func (x *Exchange) KIDContext() []byte { return bytes.Clone(x.kidCtx) }

// Peer is the other member of a pairwise exchange: for the client the
// server addressed, for the server the client (also after a group-mode
// request). Nil on the client after a group-mode request.
func (x *Exchange) Peer() *Recipient { return x.peer }

// Observe reports whether the request registered an observation.
func (x *Exchange) Observe() bool { return x.observe }

// Long reports whether the exchange is long: several responses may come,
// each server's ordered by its Response Number (RFC 10021 5.1).
func (x *Exchange) Long() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.long
}

// SetMultiResponse makes a client's exchange long, for a pairwise request
// that may still draw several responses (a proxy relaying them; RFC 10021
// 5.1). Call it before the first response arrives.
func (x *Exchange) SetMultiResponse() {
	x.mu.Lock()
	x.long = true
	x.mu.Unlock()
}

// Responses is how many responses were protected (server) or accepted
// (client).
func (x *Exchange) Responses() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.responses + x.accepted
}

// ResponseNumber is the client's Response Number for the server whose
// credential is cred (RFC 10021 5.3.1), -1 before its first response with
// a Partial IV.
func (x *Exchange) ResponseNumber(server *Recipient) int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	if st := x.servers[string(server.cred.raw)]; st != nil {
		return st.num
	}
	return -1
}

// checkResponse applies RFC 10021 5.3.1 to a response from server with kid
// (as received or assumed) and Partial IV piv (nil: none); with commit it
// records the accepted response. A short exchange takes one response; a
// long one at most one without Partial IV per server, the others in
// increasing Partial IV order (the RFC's simpler policy), and every
// response of a server must carry its first kid (kid1/kid2).
func (x *Exchange) checkResponse(server *Recipient, kid, piv []byte, commit bool) (int64, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.long {
		if x.accepted > 0 {
			return -1, oscore.ErrReplay.WithDetail("a response to this request was already accepted (RFC 8613 7.4, RFC 10021 5.3.1)")
		}
		if commit {
			x.accepted++
		}
		return -1, nil
	}
	st := x.servers[string(server.cred.raw)]
	if st == nil {
		st = &respState{num: -1}
	}
	if st.kid1 != nil && !bytes.Equal(st.kid1, kid) {
		return st.num, oscore.ErrReplay.WithDetail(fmt.Sprintf("server answered first as kid %x, now as %x (RFC 10021 7.4 kid1/kid2)", st.kid1, kid))
	}
	if piv == nil {
		if st.noPIV {
			return st.num, oscore.ErrReplay.WithDetail("second response without Partial IV from one server (RFC 10021 5.3.1)")
		}
	} else if v := int64(oscore.PIVValue(piv)); st.num >= 0 && v <= st.num {
		return st.num, oscore.ErrReplay.WithDetail(fmt.Sprintf("Partial IV %d not above the Response Number %d (RFC 10021 5.3.1)", v, st.num))
	}
	if !commit {
		return st.num, nil
	}
	if piv == nil {
		st.noPIV = true
	} else {
		st.num = int64(oscore.PIVValue(piv))
	}
	if st.kid1 == nil {
		st.kid1 = bytes.Clone(kid)
	}
	if x.servers == nil {
		x.servers = map[string]*respState{}
	}
	x.servers[string(server.cred.raw)] = st
	x.accepted++
	return st.num, nil
}
