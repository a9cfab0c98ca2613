package nodes

import "oscore-lab/internal/trace"

// header is the fixed part of a CoAP datagram (RFC 7252 section 3): what a
// link needs to correlate a datagram with an exchange without decoding the
// options, so that even malformed datagrams get recorded.
type header struct {
	typ   uint8 // 0 CON, 1 NON, 2 ACK, 3 RST
	code  uint8
	mid   uint16
	token []byte
	ok    bool // false: shorter than 4 bytes, or version/token length invalid
}

// parseHeader reads the 4-byte header and the token (RFC 7252 section 3).
func parseHeader(b []byte) header {
	if len(b) < 4 || b[0]>>6 != 1 {
		return header{}
	}
	tkl := int(b[0] & 0x0f)
	if tkl > 8 || len(b) < 4+tkl {
		return header{}
	}
	return header{
		typ:   (b[0] >> 4) & 0x03,
		code:  b[1],
		mid:   uint16(b[2])<<8 | uint16(b[3]),
		token: b[4 : 4+tkl],
		ok:    true,
	}
}

// dir names what the datagram carries: a request, a response, an empty ACK
// or a RST (RFC 7252 sections 4.2, 4.3 and 5.2).
func (h header) dir() string {
	switch {
	case !h.ok:
		return ""
	case h.typ == 3:
		return trace.DirRST
	case h.code == 0 && h.typ == 2:
		return trace.DirACK
	case h.code == 0:
		return "" // CoAP ping (RFC 7252 section 4.3)
	case h.code < 32:
		return trace.DirRequest
	case h.code >= 64:
		return trace.DirResponse
	}
	return ""
}
