package scenario

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxSources bounds an external node's sources.
const maxSources = 64

// Source is a set of UDP source addresses an external node's datagrams
// come from: one address and port, every port of one address, or every
// address of a prefix. It names an outside peer as the previous hop of the
// requests it sends a lab node (draft 2.4.1: the source-based policy keys
// on the previous hop's identity; 2.4 step 4).
type Source struct {
	Prefix netip.Prefix // the addresses (a single address is a /32 or /128)
	Port   uint16       // 0: any port
}

// ParseSource reads "192.0.2.7:5683", "[2001:db8::1]:5683", "192.0.2.7",
// "2001:db8::1" or "10.0.0.0/8". Host names are refused: a source is what
// the lab reads from a datagram, never resolved.
func ParseSource(s string) (Source, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return Source{}, fmt.Errorf("%q: port 0 is no source port (leave the port out for any)", s)
		}
		a := ap.Addr().Unmap()
		return Source{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: ap.Port()}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		if a.Zone() != "" {
			return Source{}, fmt.Errorf("%q: a zone is not part of a source", s)
		}
		return Source{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Source{}, fmt.Errorf("%q is not an address prefix: %v", s, err)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			if p.Bits() < 0 {
				return Source{}, fmt.Errorf("%q: an IPv4-mapped prefix shorter than ::ffff:0:0/96", s)
			}
		}
		return Source{Prefix: p.Masked()}, nil
	}
	return Source{}, fmt.Errorf("%q is not an address, address:port or prefix (host names are not resolved)", s)
}

// Contains reports whether a datagram from ap comes from s.
func (s Source) Contains(ap netip.AddrPort) bool {
	return s.Prefix.Contains(ap.Addr().Unmap()) && (s.Port == 0 || s.Port == ap.Port())
}

// Specificity orders sources that contain the same address: a port beats
// no port, a longer prefix a shorter one.
func (s Source) Specificity() int {
	n := s.Prefix.Bits() * 2
	if s.Port != 0 {
		n += 1000
	}
	return n
}
