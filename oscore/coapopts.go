package oscore

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// appendOptions encodes CoAP options with delta encoding (RFC 7252 3.1).
// opts must be sorted by number.
func appendOptions(dst []byte, opts message.Options) []byte {
	prev := 0
	for _, o := range opts {
		delta := int(o.ID) - prev
		prev = int(o.ID)
		dst = appendOptionHeader(dst, delta, len(o.Value))
		dst = append(dst, o.Value...)
	}
	return dst
}

func optNibble(v int) (nib byte, ext int, extLen int) {
	switch {
	case v < 13:
		return byte(v), 0, 0
	case v < 269:
		return 13, v - 13, 1
	default:
		return 14, v - 269, 2
	}
}

func appendOptionHeader(dst []byte, delta, length int) []byte {
	dn, de, dl := optNibble(delta)
	ln, le, ll := optNibble(length)
	dst = append(dst, dn<<4|ln)
	dst = appendExt(dst, de, dl)
	return appendExt(dst, le, ll)
}

func appendExt(dst []byte, v, n int) []byte {
	switch n {
	case 1:
		return append(dst, byte(v))
	case 2:
		return append(dst, byte(v>>8), byte(v))
	}
	return dst
}

// optionsLen is the encoded size of opts.
func optionsLen(opts message.Options) int {
	n, prev := 0, 0
	for _, o := range opts {
		_, _, dl := optNibble(int(o.ID) - prev)
		_, _, ll := optNibble(len(o.Value))
		n += 1 + dl + ll + len(o.Value)
		prev = int(o.ID)
	}
	return n
}

// parseOptions decodes options up to an optional payload marker
// (RFC 7252 3.1), keeping every option whatever its number: the receiver
// of a plaintext must see exactly what was sent. Values alias b. A payload
// marker followed by nothing, a reserved nibble 15 or a truncated option is
// an error.
func parseOptions(b []byte, opts message.Options) (message.Options, []byte, error) {
	num := 0
	for len(b) > 0 {
		if b[0] == 0xff {
			if len(b) == 1 {
				return opts, nil, fmt.Errorf("payload marker without payload")
			}
			return opts, b[1:], nil
		}
		dn, ln := int(b[0]>>4), int(b[0]&0x0f)
		b = b[1:]
		if dn == 15 || ln == 15 {
			return opts, nil, fmt.Errorf("reserved option nibble 15")
		}
		var err error
		var d, l int
		if d, b, err = readExt(b, dn); err != nil {
			return opts, nil, err
		}
		if l, b, err = readExt(b, ln); err != nil {
			return opts, nil, err
		}
		num += d
		if num > 0xffff {
			return opts, nil, fmt.Errorf("option number %d out of range", num)
		}
		if len(b) < l {
			return opts, nil, fmt.Errorf("option %d truncated: want %d bytes, have %d", num, l, len(b))
		}
		opts = append(opts, message.Option{ID: message.OptionID(num), Value: b[:l:l]})
		b = b[l:]
	}
	return opts, nil, nil
}

func readExt(b []byte, nib int) (int, []byte, error) {
	switch nib {
	case 13:
		if len(b) < 1 {
			return 0, b, fmt.Errorf("option extension truncated")
		}
		return int(b[0]) + 13, b[1:], nil
	case 14:
		if len(b) < 2 {
			return 0, b, fmt.Errorf("option extension truncated")
		}
		return int(b[0])<<8 | int(b[1]) + 269, b[2:], nil
	}
	return nib, b, nil
}

// sortOptions sorts by number keeping the order of repeated options
// (go-coap encodes unsorted options to garbage: stack-notes 2.4 pitfall 2).
// It is an insertion sort: option lists are short and nearly sorted, and
// it allocates nothing.
func sortOptions(opts message.Options) {
	for i := 1; i < len(opts); i++ {
		for j := i; j > 0 && opts[j].ID < opts[j-1].ID; j-- {
			opts[j], opts[j-1] = opts[j-1], opts[j]
		}
	}
}

// isRequestCode reports a request method code (class 0, not Empty).
func isRequestCode(c codes.Code) bool { return c != codes.Empty && c>>5 == 0 }

// isResponseCode reports a response code (classes 2 to 5).
func isResponseCode(c codes.Code) bool { return c>>5 >= 2 && c>>5 <= 5 }

// decodeUint decodes a CoAP uint option value (RFC 7252 3.2).
func decodeUint(v []byte) uint64 {
	var n uint64
	for _, c := range v {
		n = n<<8 | uint64(c)
	}
	return n
}

// encodeUint encodes a CoAP uint with no leading zero bytes (0 is empty).
func encodeUint(n uint64) []byte {
	var b []byte
	for n > 0 {
		b = append([]byte{byte(n)}, b...)
		n >>= 8
	}
	if b == nil {
		b = []byte{}
	}
	return b
}
