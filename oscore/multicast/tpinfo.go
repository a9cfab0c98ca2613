package multicast

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/fxamacker/cbor/v2"
	"oscore-lab/oscore/internal/cborenc"
)

// CRI is a CRI-no-local (MN 4.2.1): a scheme and an authority, no path.
// The host is an IP address (4 or 16 bytes, maybe with a zone) or a
// host-name as its labels.
type CRI struct {
	SchemeID int64      // negative: -1 - scheme number; -1 is "coap"
	IP       netip.Addr // valid when the host is an IP literal
	HostName []string   // labels, when the host is a name
	Port     uint16     // meaningful when HasPort
	HasPort  bool
}

// UDPPort is the port the CRI names, or CoAP's default 5683 (MN 5.3 step 1).
func (c CRI) UDPPort() uint16 {
	if c.HasPort {
		return c.Port
	}
	return defaultCoAPUDP
}

// CRIFor returns the "coap" CRI of addr, the port left out when it is
// 5683 (MN 4.2.1.1, as the example does).
func CRIFor(addr netip.AddrPort) CRI {
	c := CRI{SchemeID: schemeCoAP, IP: addr.Addr().Unmap()}
	if addr.Port() != defaultCoAPUDP {
		c.Port, c.HasPort = addr.Port(), true
	}
	return c
}

// AddrPort is the CRI's IP address and UDP port; ok is false for a
// host-name or a scheme other than "coap".
func (c CRI) AddrPort() (netip.AddrPort, bool) {
	if c.SchemeID != schemeCoAP || !c.IP.IsValid() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(c.IP, c.UDPPort()), true
}

// TPInfo is tp_info for CoAP over UDP (MN 4.2.1.1): the server's CRI and,
// unless HasDetails is false, the multicast group's CRI (tpi_client) and
// the phantom request's Token (tpi_token).
type TPInfo struct {
	Server     CRI
	Client     CRI
	Token      []byte
	HasDetails bool
}

// Encode writes [tpi_server, tpi_client, tpi_token] with each CRI's
// authority nested as MN's CDDL and draft-ietf-core-href's cri.cddl say
// ([-1, [h'7f000001', 5690]]); MN 4.2.1.1's example writes it flat, which
// DecodeTPInfo also accepts.
func (t TPInfo) Encode() ([]byte, error) {
	n := uint64(1)
	if t.HasDetails {
		n = 3
		if len(t.Token) > 8 {
			return nil, fmt.Errorf("multicast: tpi_token of %d bytes (a CoAP Token has at most 8, RFC 7252 3)", len(t.Token))
		}
	}
	b := cborenc.AppendHead(nil, 4, n)
	var err error
	if b, err = appendCRI(b, t.Server); err != nil {
		return nil, err
	}
	if t.HasDetails {
		if b, err = appendCRI(b, t.Client); err != nil {
			return nil, err
		}
		b = cborenc.AppendBstr(b, t.Token)
	}
	return b, nil
}

func appendCRI(b []byte, c CRI) ([]byte, error) {
	if c.SchemeID >= 0 {
		return nil, errors.New("multicast: CRI scheme-id must be negative")
	}
	b = cborenc.AppendInt(append(b, 0x82), c.SchemeID)
	items := uint64(0)
	switch {
	case c.IP.IsValid():
		items = 1
		if c.IP.Zone() != "" {
			items++
		}
	default:
		items = uint64(len(c.HostName))
	}
	if c.HasPort {
		items++
	}
	b = cborenc.AppendHead(b, 4, items)
	switch {
	case c.IP.IsValid():
		b = cborenc.AppendBstr(b, c.IP.WithZone("").AsSlice())
		if z := c.IP.Zone(); z != "" {
			b = cborenc.AppendTstr(b, z)
		}
	default:
		for _, l := range c.HostName {
			b = cborenc.AppendTstr(b, l)
		}
	}
	if c.HasPort {
		b = cborenc.AppendHead(b, 0, uint64(c.Port))
	}
	return b, nil
}

// DecodeTPInfo decodes tp_info for CoAP over UDP (MN 4.2.1, 4.2.1.1):
// [tpi_server] or [tpi_server, tpi_client, tpi_token], each CRI with its
// authority nested or, as MN's example writes it, flat.
func DecodeTPInfo(b []byte) (TPInfo, error) {
	var t TPInfo
	if len(b) > MaxPayload {
		return t, fmt.Errorf("multicast: tp_info of %d bytes exceeds %d", len(b), MaxPayload)
	}
	var items []cbor.RawMessage
	if majorType(b) != 4 || decMode.Unmarshal(b, &items) != nil {
		return t, errors.New("multicast: tp_info is not a CBOR array (MN 4.2.1)")
	}
	switch len(items) {
	case 1, 3:
	default:
		return t, fmt.Errorf("multicast: tp_info has %d elements; CoAP over UDP has tpi_server, then tpi_client and tpi_token or nothing (MN 4.2.1.1)", len(items))
	}
	var err error
	if t.Server, err = decodeCRI(items[0]); err != nil {
		return t, fmt.Errorf("multicast: tpi_server: %w", err)
	}
	if t.Server.SchemeID != schemeCoAP {
		return t, fmt.Errorf("multicast: tpi_server has scheme-id %d; the lab knows CoAP over UDP (-1) only (MN 4.2.1.1)", t.Server.SchemeID)
	}
	if len(items) == 1 {
		return t, nil
	}
	t.HasDetails = true
	if t.Client, err = decodeCRI(items[1]); err != nil {
		return t, fmt.Errorf("multicast: tpi_client: %w", err)
	}
	if majorType(items[2]) != 2 || decMode.Unmarshal(items[2], &t.Token) != nil || len(t.Token) > 8 {
		return t, errors.New("multicast: tpi_token is not a byte string of at most 8 bytes (MN 4.2.1.1)")
	}
	return t, nil
}

func decodeCRI(raw cbor.RawMessage) (CRI, error) {
	var c CRI
	var top []any
	if majorType(raw) != 4 || decMode.Unmarshal(raw, &top) != nil {
		return c, errors.New("not a CRI array")
	}
	if len(top) < 2 {
		return c, errors.New("a CRI-no-local needs a scheme-id and an authority")
	}
	id, ok := top[0].(int64)
	if !ok || id >= 0 {
		return c, errors.New("CRI scheme-id is not a negative integer")
	}
	c.SchemeID = id
	auth := top[1:]
	if nested, isArr := top[1].([]any); isArr {
		if len(top) != 2 {
			return c, errors.New("a CRI-no-local has no path, query or fragment (MN 4.2.1)")
		}
		auth = nested
	}
	return c, c.parseAuthority(auth)
}

// parseAuthority reads authority = [?userinfo, host, ?port].
func (c *CRI) parseAuthority(a []any) error {
	if len(a) >= 2 {
		if f, ok := a[0].(bool); ok && !f {
			if _, ok := a[1].(string); !ok {
				return errors.New("CRI userinfo is not false followed by text")
			}
			a = a[2:]
		}
	}
	if n := len(a); n > 0 {
		if p, ok := a[n-1].(uint64); ok {
			if p > 65535 {
				return fmt.Errorf("CRI port %d out of range", p)
			}
			c.Port, c.HasPort, a = uint16(p), true, a[:n-1]
		}
	}
	if len(a) > 0 {
		if ip, ok := a[0].([]byte); ok {
			addr, ok := netip.AddrFromSlice(ip)
			if !ok || (len(ip) != 4 && len(ip) != 16) {
				return fmt.Errorf("CRI host-ip of %d bytes", len(ip))
			}
			switch {
			case len(a) == 1:
			case len(a) == 2 && len(ip) == 16:
				z, ok := a[1].(string)
				if !ok || z == "" {
					return errors.New("CRI zone-id is not text")
				}
				addr = addr.WithZone(z)
			default:
				return errors.New("CRI authority has items after its host-ip")
			}
			c.IP = addr
			return nil
		}
	}
	if len(a) > maxHostLabels {
		return fmt.Errorf("CRI host-name of %d labels", len(a))
	}
	for _, l := range a {
		s, ok := l.(string)
		if !ok {
			return fmt.Errorf("CRI host-name label of type %T", l)
		}
		c.HostName = append(c.HostName, s)
	}
	return nil
}

// Diag renders the CRI in diagnostic notation, its authority nested.
func (c CRI) Diag() string {
	var a []string
	if c.IP.IsValid() {
		a = append(a, fmt.Sprintf("h'%x'", c.IP.WithZone("").AsSlice()))
		if z := c.IP.Zone(); z != "" {
			a = append(a, fmt.Sprintf("%q", z))
		}
	}
	for _, l := range c.HostName {
		a = append(a, fmt.Sprintf("%q", l))
	}
	if c.HasPort {
		a = append(a, fmt.Sprint(c.Port))
	}
	return fmt.Sprintf("[%d, [%s]]", c.SchemeID, strings.Join(a, ", "))
}

// Diag renders tp_info in diagnostic notation.
func (t TPInfo) Diag() string {
	if !t.HasDetails {
		return "[" + t.Server.Diag() + "]"
	}
	return fmt.Sprintf("[%s, %s, h'%x']", t.Server.Diag(), t.Client.Diag(), t.Token)
}
