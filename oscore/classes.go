package oscore

import (
	"strconv"
	"sync"

	"github.com/plgd-dev/go-coap/v3/message"
)

// Class is the OSCORE protection class of a message field (RFC 8613 4.1), a
// bit set: Observe, Max-Age, Block1/2, Size1/2, No-Response, Echo and
// Request-Tag are E|U (an Inner and an Outer copy exist independently).
type Class uint8

// Classes (RFC 8613 4.1.1-4.1.3).
const (
	ClassE Class = 1 // encrypted and integrity-protected (Inner)
	ClassU Class = 2 // unprotected (Outer)
	ClassI Class = 4 // integrity-protected only (Outer, in the AAD); none defined yet
)

// String returns "E", "U", "I", "E+U", ... ("-" for none).
func (c Class) String() string {
	s := ""
	for _, p := range []struct {
		bit  Class
		name string
	}{{ClassE, "E"}, {ClassU, "U"}, {ClassI, "I"}} {
		if c&p.bit != 0 {
			if s != "" {
				s += "+"
			}
			s += p.name
		}
	}
	if s == "" {
		return "-"
	}
	return s
}

// Has reports whether c includes every bit of x.
func (c Class) Has(x Class) bool { return c&x == x && x != 0 }

// OptionDef describes one CoAP option: the IANA registry properties plus
// its OSCORE class.
type OptionDef struct {
	Number                                   uint16
	Name                                     string
	Class                                    Class
	Critical, Unsafe, NoCacheKey, Repeatable bool
	Format                                   string // "empty", "opaque", "uint", "string"
	MinLen, MaxLen                           int
	Reference                                string // defining document
	Provisional                              bool   // number proposed by a draft, not yet assigned by IANA
}

// Option numbers (untyped, so they compare with uint16 and message.OptionID alike).
const (
	OptIfMatch           = 1
	OptMulticastTimeout  = 2 // provisional (draft-ietf-core-groupcomm-proxy "TBD2")
	OptURIHost           = 3
	OptETag              = 4
	OptIfNoneMatch       = 5
	OptObserve           = 6
	OptURIPort           = 7
	OptLocationPath      = 8
	OptOSCORE            = 9
	OptURIPath           = 11
	OptContentFormat     = 12
	OptURIPathAbbrev     = 13 // provisional (draft-ietf-core-uri-path-abbrev)
	OptMaxAge            = 14
	OptURIQuery          = 15
	OptHopLimit          = 16
	OptAccept            = 17
	OptQBlock1           = 19
	OptLocationQuery     = 20
	OptEDHOC             = 21
	OptBlock2            = 23
	OptBlock1            = 27
	OptSize2             = 28
	OptQBlock2           = 31
	OptProxyURI          = 35
	OptProxyScheme       = 39
	OptSize1             = 60
	OptProxyCRI          = 235 // provisional (draft-ietf-core-href "TBD235")
	OptProxySchemeNumber = 239 // provisional (draft-ietf-core-href "TBD239")
	OptReplyFrom         = 248 // provisional (draft-ietf-core-groupcomm-proxy "TBD248")
	OptEcho              = 252
	OptNoResponse        = 258
	OptRequestTag        = 292
)

// Lower-case aliases for use inside the package.
const (
	optIfMatch           = OptIfMatch
	optURIHost           = OptURIHost
	optETag              = OptETag
	optIfNoneMatch       = OptIfNoneMatch
	optObserve           = OptObserve
	optURIPort           = OptURIPort
	optLocationPath      = OptLocationPath
	optOSCORE            = OptOSCORE
	optURIPath           = OptURIPath
	optContentFormat     = OptContentFormat
	optURIPathAbbrev     = OptURIPathAbbrev
	optMaxAge            = OptMaxAge
	optURIQuery          = OptURIQuery
	optHopLimit          = OptHopLimit
	optAccept            = OptAccept
	optQBlock1           = OptQBlock1
	optLocationQuery     = OptLocationQuery
	optEDHOC             = OptEDHOC
	optBlock2            = OptBlock2
	optBlock1            = OptBlock1
	optSize2             = OptSize2
	optQBlock2           = OptQBlock2
	optProxyURI          = OptProxyURI
	optProxyScheme       = OptProxyScheme
	optSize1             = OptSize1
	optProxyCRI          = OptProxyCRI
	optProxySchemeNumber = OptProxySchemeNumber
	optEcho              = OptEcho
	optNoResponse        = OptNoResponse
	optRequestTag        = OptRequestTag
)

func def(num uint16, name string, class Class, repeatable bool, format string, min, max int, ref string) OptionDef {
	return OptionDef{
		Number: num, Name: name, Class: class,
		Critical: num&1 != 0, Unsafe: num&2 != 0, NoCacheKey: num&0x1e == 0x1c,
		Repeatable: repeatable, Format: format, MinLen: min, MaxLen: max, Reference: ref,
	}
}

// registry is RFC 8613 Figure 5 extended with RFC 9175 (Echo, Request-Tag:
// E and U), RFC 9177 (Q-Block: E and U), RFC 9668 (EDHOC: U) and the
// draft's section 3 (Hop-Limit: U, updating RFC 8768). Proxy-Cri and
// Proxy-Scheme-Number get no class from draft-ietf-core-href; like Proxy-Uri
// and Proxy-Scheme, which they stand in for, they are treated as U here
// (draft-notes.md section 8 item 1); their numbers are the ones the href
// draft proposes and are provisional. Uri-Path-Abbrev is E as its draft says.
// Multicast-Timeout and Reply-From are U as draft-ietf-core-groupcomm-proxy
// sections 2 and 3 say; their numbers (TBD2, TBD248 there) are the ones the
// draft suggests and are provisional.
var registry = func() map[uint16]OptionDef {
	defs := []OptionDef{
		def(OptIfMatch, "If-Match", ClassE, true, "opaque", 0, 8, "RFC 7252"),
		def(OptMulticastTimeout, "Multicast-Timeout", ClassU, false, "uint", 0, 4, "draft-ietf-core-groupcomm-proxy 2"),
		def(OptURIHost, "Uri-Host", ClassU, false, "string", 1, 255, "RFC 7252"),
		def(OptETag, "ETag", ClassE, true, "opaque", 1, 8, "RFC 7252"),
		def(OptIfNoneMatch, "If-None-Match", ClassE, false, "empty", 0, 0, "RFC 7252"),
		def(OptObserve, "Observe", ClassE|ClassU, false, "uint", 0, 3, "RFC 7641"),
		def(OptURIPort, "Uri-Port", ClassU, false, "uint", 0, 2, "RFC 7252"),
		def(OptLocationPath, "Location-Path", ClassE, true, "string", 0, 255, "RFC 7252"),
		def(OptOSCORE, "OSCORE", ClassU, false, "opaque", 0, 255, "RFC 8613"),
		def(OptURIPath, "Uri-Path", ClassE, true, "string", 0, 255, "RFC 7252"),
		def(OptContentFormat, "Content-Format", ClassE, false, "uint", 0, 2, "RFC 7252"),
		def(OptURIPathAbbrev, "Uri-Path-Abbrev", ClassE, false, "uint", 0, 4, "draft-ietf-core-uri-path-abbrev"),
		def(OptMaxAge, "Max-Age", ClassE|ClassU, false, "uint", 0, 4, "RFC 7252"),
		def(OptURIQuery, "Uri-Query", ClassE, true, "string", 0, 255, "RFC 7252"),
		def(OptHopLimit, "Hop-Limit", ClassU, false, "uint", 1, 1, "RFC 8768; draft-ietf-core-oscore-capable-proxies 3"),
		def(OptAccept, "Accept", ClassE, false, "uint", 0, 2, "RFC 7252"),
		def(OptQBlock1, "Q-Block1", ClassE|ClassU, false, "uint", 0, 3, "RFC 9177"),
		def(OptLocationQuery, "Location-Query", ClassE, true, "string", 0, 255, "RFC 7252"),
		def(OptEDHOC, "EDHOC", ClassU, false, "empty", 0, 0, "RFC 9668"),
		def(OptBlock2, "Block2", ClassE|ClassU, false, "uint", 0, 3, "RFC 7959"),
		def(OptBlock1, "Block1", ClassE|ClassU, false, "uint", 0, 3, "RFC 7959"),
		def(OptSize2, "Size2", ClassE|ClassU, false, "uint", 0, 4, "RFC 7959"),
		def(OptQBlock2, "Q-Block2", ClassE|ClassU, true, "uint", 0, 3, "RFC 9177"),
		def(OptProxyURI, "Proxy-Uri", ClassU, false, "string", 1, 1034, "RFC 7252"),
		def(OptProxyScheme, "Proxy-Scheme", ClassU, false, "string", 1, 255, "RFC 7252"),
		def(OptSize1, "Size1", ClassE|ClassU, false, "uint", 0, 4, "RFC 7252"),
		def(OptProxyCRI, "Proxy-Cri", ClassU, false, "opaque", 1, 1034, "draft-ietf-core-href"),
		def(OptProxySchemeNumber, "Proxy-Scheme-Number", ClassU, false, "uint", 0, 3, "draft-ietf-core-href"),
		def(OptReplyFrom, "Reply-From", ClassU, false, "opaque", 5, 1034, "draft-ietf-core-groupcomm-proxy 3"),
		def(OptEcho, "Echo", ClassE|ClassU, false, "opaque", 1, 40, "RFC 9175"),
		def(OptNoResponse, "No-Response", ClassE|ClassU, false, "uint", 0, 1, "RFC 7967"),
		def(OptRequestTag, "Request-Tag", ClassE|ClassU, true, "opaque", 0, 8, "RFC 9175"),
	}
	m := make(map[uint16]OptionDef, len(defs))
	for _, d := range defs {
		switch d.Number {
		case OptURIPathAbbrev, OptProxyCRI, OptProxySchemeNumber, OptMulticastTimeout, OptReplyFrom:
			d.Provisional = true
		}
		m[d.Number] = d
	}
	return m
}()

// registryIndex maps option numbers below 512 to registry entries without
// a map lookup (protect and unprotect consult it for every option).
var registryIndex = func() (t [512]*OptionDef) {
	for n, d := range registry {
		if n < 512 {
			d := d
			t[n] = &d
		}
	}
	return t
}()

// lookup is LookupOption without copying the entry.
func lookup(num uint16) *OptionDef {
	if num < 512 {
		return registryIndex[num]
	}
	if d, ok := registry[num]; ok {
		return &d
	}
	return nil
}

// LookupOption returns the registry entry; false means the option is
// unrecognised, which RFC 8613 4.1 makes Class E.
func LookupOption(num uint16) (OptionDef, bool) {
	if d := lookup(num); d != nil {
		return *d, true
	}
	return OptionDef{}, false
}

// Options lists the registry sorted by number.
func Options() []OptionDef {
	out := make([]OptionDef, 0, len(registry))
	for n := uint16(0); n < 1024 && len(out) < len(registry); n++ {
		if d, ok := registry[n]; ok {
			out = append(out, d)
		}
	}
	return out
}

// OptionName returns the registered name, or "Option 65000".
func OptionName(num uint16) string {
	if d := lookup(num); d != nil {
		return d.Name
	}
	return "Option " + strconv.Itoa(int(num))
}

// originalClass is the class RFC 8613 4.1 gives an option before any
// escalation: registered class, or E when unknown.
func originalClass(num uint16) Class {
	if d := lookup(num); d != nil {
		return d.Class
	}
	return ClassE
}

var registerOnce sync.Once

// RegisterGoCoapOptions feeds the critical options go-coap does not know
// (OSCORE 9, EDHOC 21, Uri-Path-Abbrev, Proxy-Cri, Proxy-Scheme-Number) into
// go-coap's process-wide message.CoapOptionDefs, so that go-coap does not
// reject them with 4.02 (or drop a NON) before a handler sees the message.
// Importing the package changes nothing: a program calls this once, before
// it starts any go-coap server or client (the map is read without a lock);
// calling it again is harmless.
func RegisterGoCoapOptions() {
	registerOnce.Do(func() {
		for _, d := range registry {
			if !d.Critical {
				continue
			}
			id := message.OptionID(d.Number)
			if _, ok := message.CoapOptionDefs[id]; ok {
				continue
			}
			f := message.ValueOpaque
			switch d.Format {
			case "empty":
				f = message.ValueEmpty
			case "uint":
				f = message.ValueUint
			case "string":
				f = message.ValueString
			}
			message.CoapOptionDefs[id] = message.OptionDef{ValueFormat: f, MinLen: uint32(d.MinLen), MaxLen: uint32(d.MaxLen)}
		}
	})
}
