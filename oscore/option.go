package oscore

import (
	"fmt"
	"strings"
)

// OSCORE option flag bits (RFC 8613 6.1; OSCORE Flag Bits registry, 13.7).
const (
	flagReserved   = 0xc0 // bits 0 and 1: reserved (bit 0 for an extension); must be zero
	flagGroup      = 0x20 // Group Flag (RFC 10021 4.1, 12.1): 1 in Group OSCORE group mode
	flagKIDContext = 0x10 // h
	flagKID        = 0x08 // k
	flagPIVLen     = 0x07 // n
	maxPIVLen      = 5
)

// OptionValue is the decoded value of the OSCORE option (RFC 8613 6.1):
// the compressed COSE header parameters Partial IV, kid context and kid, and
// the Group Flag of Group OSCORE (RFC 10021 4.1).
type OptionValue struct {
	Group      bool   // Group Flag: the message is protected in Group OSCORE group mode
	PartialIV  []byte // nil: absent
	KIDContext []byte // nil: absent (h flag)
	KID        []byte // nil: absent (k flag); empty non-nil = present with zero length
}

// ParseOption decodes an OSCORE option value strictly (RFC 8613 6.1): set
// reserved flag bits, a Partial IV length of 6 or 7, a truncated Partial IV
// or kid context, bytes after the fields without the k flag, and a one-byte
// all-zero value (which must be sent as an empty value) are errors wrapping
// ErrDecodeCOSE. Returned slices alias b.
func ParseOption(b []byte) (OptionValue, error) {
	var o OptionValue
	if len(b) == 0 {
		return o, nil
	}
	flags := b[0]
	if flags&flagReserved != 0 {
		return o, ErrDecodeCOSE.withDetail(fmt.Sprintf("reserved flag bits set (0x%02x)", flags))
	}
	if flags == 0 {
		return o, ErrDecodeCOSE.withDetail("all flags zero but the option value is not empty")
	}
	o.Group = flags&flagGroup != 0
	n := int(flags & flagPIVLen)
	if n > maxPIVLen {
		return o, ErrDecodeCOSE.withDetail(fmt.Sprintf("reserved Partial IV length %d", n))
	}
	rest := b[1:]
	if n > 0 {
		if len(rest) < n {
			return o, ErrDecodeCOSE.withDetail(fmt.Sprintf("Partial IV truncated: want %d bytes, have %d", n, len(rest)))
		}
		o.PartialIV = rest[:n:n]
		rest = rest[n:]
	}
	if flags&flagKIDContext != 0 {
		if len(rest) < 1 {
			return o, ErrDecodeCOSE.withDetail("kid context length missing")
		}
		s := int(rest[0])
		rest = rest[1:]
		if len(rest) < s {
			return o, ErrDecodeCOSE.withDetail(fmt.Sprintf("kid context truncated: want %d bytes, have %d", s, len(rest)))
		}
		o.KIDContext = rest[:s:s]
		rest = rest[s:]
	}
	if flags&flagKID != 0 {
		o.KID = rest[:len(rest):len(rest)]
		return o, nil
	}
	if len(rest) > 0 {
		return o, ErrDecodeCOSE.withDetail(fmt.Sprintf("%d trailing bytes without the kid flag", len(rest)))
	}
	return o, nil
}

// Marshal encodes the value (RFC 8613 6.1); with every field absent the
// value is empty. It panics on nothing: a Partial IV longer than 5 bytes or a
// kid context longer than 255 bytes is truncated by the caller's contract
// (AppendTo reports those as errors).
func (o OptionValue) Marshal() []byte {
	b, _ := o.AppendTo(nil)
	return b
}

// AppendTo appends the encoded value to dst, rejecting unencodable fields.
func (o OptionValue) AppendTo(dst []byte) ([]byte, error) {
	if len(o.PartialIV) > maxPIVLen {
		return dst, fmt.Errorf("oscore: Partial IV of %d bytes (max %d)", len(o.PartialIV), maxPIVLen)
	}
	if len(o.KIDContext) > 255 {
		return dst, fmt.Errorf("oscore: kid context of %d bytes (max 255)", len(o.KIDContext))
	}
	flags := byte(len(o.PartialIV))
	if o.Group {
		flags |= flagGroup
	}
	if o.KIDContext != nil {
		flags |= flagKIDContext
	}
	if o.KID != nil {
		flags |= flagKID
	}
	if flags == 0 {
		if dst == nil {
			return []byte{}, nil
		}
		return dst, nil
	}
	dst = append(dst, flags)
	dst = append(dst, o.PartialIV...)
	if o.KIDContext != nil {
		dst = append(dst, byte(len(o.KIDContext)))
		dst = append(dst, o.KIDContext...)
	}
	dst = append(dst, o.KID...)
	return dst, nil
}

// IsEmpty reports whether every field is absent (the value encodes to zero bytes).
func (o OptionValue) IsEmpty() bool {
	return !o.Group && o.PartialIV == nil && o.KIDContext == nil && o.KID == nil
}

// String is the canonical text form for logs and the UI: "-" for an empty
// value, else the present fields in the order group flag, kid, piv, kidctx,
// e.g. "[kid:5f, piv:2a]", "[kid:, piv:14, kidctx:37cbf3210017a2d3]" or
// "[group, kid:25, piv:05, kidctx:44616c]".
func (o OptionValue) String() string {
	if o.IsEmpty() {
		return "-"
	}
	var parts []string
	if o.Group {
		parts = append(parts, "group")
	}
	if o.KID != nil {
		parts = append(parts, "kid:"+Hex(o.KID).String())
	}
	if o.PartialIV != nil {
		parts = append(parts, "piv:"+Hex(o.PartialIV).String())
	}
	if o.KIDContext != nil {
		parts = append(parts, "kidctx:"+Hex(o.KIDContext).String())
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// encodePIV renders a sequence number as a Partial IV: big-endian with
// leading zero bytes removed, 0 encoded as one zero byte (RFC 8613 6.1).
func encodePIV(dst []byte, seq uint64) []byte {
	n := 1
	for v := seq >> 8; v > 0; v >>= 8 {
		n++
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(seq>>(8*uint(i))))
	}
	return dst
}

// pivValue decodes a Partial IV (at most 5 bytes) as a sequence number.
func pivValue(piv []byte) uint64 {
	var v uint64
	for _, c := range piv {
		v = v<<8 | uint64(c)
	}
	return v
}
