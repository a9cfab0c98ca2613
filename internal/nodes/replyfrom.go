package nodes

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/fxamacker/cbor/v2"
)

// replyFrom is the value of a Reply-From option
// (draft-ietf-core-groupcomm-proxy 3): a CRI giving the scheme and
// authority of the server that answered (or of the reverse-proxy standing
// in for it), and optionally a CRI reference with scheme null giving the
// authority the proxy routes on (reverse-proxies, 4.1).
type replyFrom struct {
	Addr netip.AddrPort // the first CRI's host (an IP literal in the lab) and port
	// Ref is the second element's authority, when present.
	Ref    netip.AddrPort
	HasRef bool
}

// criCoap is the scheme-id of "coap": -1 - scheme number 0
// (draft-ietf-core-href, scheme-id = -1 - scheme number).
const criCoap = -1

// encodeReplyFrom serialises r as the option's CBOR sequence of one or
// two arrays: [-1, [h'ip', port]] and, with a reference, [null, [h'ip',
// port]] (draft-ietf-core-groupcomm-proxy 3; group-notes 10.1 example
// coap://127.0.0.1:5684 -> 82 20 82 44 7f000001 19 1634).
func encodeReplyFrom(r replyFrom) []byte {
	first := []any{criCoap, authority(r.Addr)}
	out, _ := cbor.Marshal(first)
	if r.HasRef {
		second, _ := cbor.Marshal([]any{nil, authority(r.Ref)})
		out = append(out, second...)
	}
	return out
}

func authority(a netip.AddrPort) []any {
	ip := a.Addr().Unmap()
	return []any{ip.AsSlice(), a.Port()}
}

// replyFromLimit is the option's largest value (draft 3: 5 to 1034 bytes).
const replyFromLimit = 1034

// decodeReplyFrom parses a Reply-From value: one or two CBOR arrays, the
// first a CRI with a coap scheme and an IP authority, the second a CRI
// reference with scheme null and an authority. Anything else is an error:
// a client that cannot read the option cannot tell the servers apart.
func decodeReplyFrom(b []byte) (replyFrom, error) {
	var r replyFrom
	if len(b) < 5 || len(b) > replyFromLimit {
		return r, fmt.Errorf("Reply-From of %d bytes, want 5 to %d", len(b), replyFromLimit)
	}
	dec := criDecMode.NewDecoder(bytes.NewReader(b))
	var items [][]any
	for dec.NumBytesRead() < len(b) {
		if len(items) == 2 {
			return r, errors.New("Reply-From carries more than two CBOR items")
		}
		var v []any
		if err := dec.Decode(&v); err != nil {
			return r, fmt.Errorf("Reply-From item %d is not a CBOR array: %v", len(items)+1, err)
		}
		items = append(items, v)
	}
	first := items[0]
	if len(first) != 2 {
		return r, fmt.Errorf("Reply-From CRI has %d sections, want scheme and authority only", len(first))
	}
	if s, ok := first[0].(int64); !ok || s != criCoap {
		return r, fmt.Errorf("Reply-From CRI scheme %v is not coap (-1)", first[0])
	}
	a, err := criAuthority(first[1])
	if err != nil {
		return r, err
	}
	r.Addr = a
	if len(items) == 2 {
		ref := items[1]
		if len(ref) != 2 || ref[0] != nil {
			return r, errors.New("Reply-From CRI reference is not [null, authority]")
		}
		if r.Ref, err = criAuthority(ref[1]); err != nil {
			return r, err
		}
		r.HasRef = true
	}
	return r, nil
}

// criAuthority reads [h'ip', port]: the lab's servers have IP literals.
func criAuthority(v any) (netip.AddrPort, error) {
	a, ok := v.([]any)
	if !ok || len(a) != 2 {
		return netip.AddrPort{}, errors.New("Reply-From authority is not [host-ip, port]")
	}
	ipb, ok := a[0].([]byte)
	if !ok || (len(ipb) != 4 && len(ipb) != 16) {
		return netip.AddrPort{}, errors.New("Reply-From host is not an IPv4 or IPv6 address")
	}
	port, ok := a[1].(uint64)
	if !ok || port > 65535 {
		return netip.AddrPort{}, errors.New("Reply-From port is not a number up to 65535")
	}
	ip, _ := netip.AddrFromSlice(ipb)
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// replyFromOf is the Reply-From naming UDP address a.
func replyFromOf(a *net.UDPAddr) replyFrom {
	ap := a.AddrPort()
	return replyFrom{Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
}

func (r replyFrom) String() string {
	s := "coap://" + net.JoinHostPort(r.Addr.Addr().String(), strconv.Itoa(int(r.Addr.Port())))
	if r.HasRef {
		s += ", //" + net.JoinHostPort(r.Ref.Addr().String(), strconv.Itoa(int(r.Ref.Port())))
	}
	return s
}
