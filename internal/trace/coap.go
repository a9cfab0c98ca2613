package trace

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The tracer decodes datagrams itself rather than through go-coap, because
// go-coap drops options it finds malformed or unknown: a trace must show the
// bytes that were on the wire (RFC 7252 3, 3.1).

// typeNames are the message types by their 2-bit number (RFC 7252 3).
var typeNames = [4]string{"CON", "NON", "ACK", "RST"}

// Option is one CoAP option as it was encoded: number and raw value.
type Option struct {
	Number uint16
	Value  []byte
}

// Datagram is a CoAP message over UDP decoded without loss (RFC 7252 3).
type Datagram struct {
	Type    uint8
	Code    uint8
	MID     uint16
	Token   []byte
	Options []Option
	Payload []byte // nil when there is no payload marker
}

var errTruncatedOption = errors.New("trace: option truncated")

// ParseDatagram decodes a CoAP message (RFC 7252 3). It checks the version,
// the token length, option encoding and the payload marker; it does not
// judge option values.
func ParseDatagram(b []byte) (*Datagram, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("trace: CoAP message of %d bytes is shorter than the 4-byte header", len(b))
	}
	if v := b[0] >> 6; v != 1 {
		return nil, fmt.Errorf("trace: CoAP version %d, want 1", v)
	}
	tkl := int(b[0] & 0x0f)
	if tkl > 8 {
		return nil, fmt.Errorf("trace: token length %d is reserved (RFC 7252 3)", tkl)
	}
	if len(b) < 4+tkl {
		return nil, fmt.Errorf("trace: token truncated: want %d bytes, have %d", tkl, len(b)-4)
	}
	d := &Datagram{
		Type:  (b[0] >> 4) & 0x03,
		Code:  b[1],
		MID:   binary.BigEndian.Uint16(b[2:4]),
		Token: b[4 : 4+tkl],
	}
	opts, payload, err := parseOptions(b[4+tkl:])
	if err != nil {
		return nil, err
	}
	d.Options, d.Payload = opts, payload
	if d.Code == 0 && (tkl != 0 || len(b) != 4) {
		return nil, errors.New("trace: Empty message (code 0.00) with a token, options or payload (RFC 7252 4.1)")
	}
	return d, nil
}

// ParsePlaintext decodes the plaintext of one OSCORE layer: the inner code,
// the Class E options and the payload (RFC 8613 5.3).
func ParsePlaintext(b []byte) (code uint8, opts []Option, payload []byte, err error) {
	if len(b) == 0 {
		return 0, nil, nil, errors.New("trace: empty OSCORE plaintext (no code byte)")
	}
	opts, payload, err = parseOptions(b[1:])
	return b[0], opts, payload, err
}

// parseOptions reads delta-encoded options up to the payload marker
// (RFC 7252 3.1).
func parseOptions(b []byte) ([]Option, []byte, error) {
	var opts []Option
	num := 0
	for len(b) > 0 {
		if b[0] == 0xff {
			if len(b) == 1 {
				return nil, nil, errors.New("trace: payload marker with no payload (RFC 7252 3)")
			}
			return opts, b[1:], nil
		}
		delta, length := int(b[0]>>4), int(b[0]&0x0f)
		b = b[1:]
		var err error
		if delta, b, err = extend(delta, b, "delta"); err != nil {
			return nil, nil, err
		}
		if length, b, err = extend(length, b, "length"); err != nil {
			return nil, nil, err
		}
		num += delta
		if num > 0xffff {
			return nil, nil, fmt.Errorf("trace: option number %d out of range", num)
		}
		if len(b) < length {
			return nil, nil, fmt.Errorf("%w: option %d wants %d bytes, %d left", errTruncatedOption, num, length, len(b))
		}
		opts = append(opts, Option{Number: uint16(num), Value: b[:length:length]})
		b = b[length:]
	}
	return opts, nil, nil
}

// extend applies the 13/14 extended forms of an option delta or length;
// 15 is reserved outside the payload marker (RFC 7252 3.1).
func extend(v int, b []byte, what string) (int, []byte, error) {
	switch v {
	case 13:
		if len(b) < 1 {
			return 0, nil, fmt.Errorf("%w: extended %s missing", errTruncatedOption, what)
		}
		return int(b[0]) + 13, b[1:], nil
	case 14:
		if len(b) < 2 {
			return 0, nil, fmt.Errorf("%w: extended %s missing", errTruncatedOption, what)
		}
		return int(binary.BigEndian.Uint16(b)) + 269, b[2:], nil
	case 15:
		return 0, nil, fmt.Errorf("trace: option %s nibble 15 is reserved (RFC 7252 3.1)", what)
	}
	return v, b, nil
}

// Option returns the first option with the number, if any.
func (d *Datagram) Option(num uint16) (Option, bool) {
	return findOption(d.Options, num)
}

func findOption(opts []Option, num uint16) (Option, bool) {
	for _, o := range opts {
		if o.Number == num {
			return o, true
		}
	}
	return Option{}, false
}

// TypeName is "CON", "NON", "ACK" or "RST".
func (d *Datagram) TypeName() string { return typeNames[d.Type&3] }

// Header is the first line of the canonical form:
// "CON POST  MID 0x5d1f  Token 0x8c".
func (d *Datagram) Header() string {
	s := d.TypeName() + " " + CodeName(d.Code) + fmt.Sprintf("  MID 0x%04x", d.MID)
	if len(d.Token) > 0 {
		s += fmt.Sprintf("  Token 0x%x", d.Token)
	}
	return s
}

// String is the canonical one-line text form of the datagram: header, then
// options and payload as the draft's figures print them.
func (d *Datagram) String() string {
	body := joinParts(optionTexts(d.Options), payloadText(d.Payload))
	if body == "" {
		return d.Header()
	}
	return d.Header() + "  " + body
}

// DecodeDatagram returns the canonical text form of a CoAP datagram, or a
// line saying why it is malformed followed by its hex.
func DecodeDatagram(b []byte) string {
	d, err := ParseDatagram(b)
	if err != nil {
		return fmt.Sprintf("malformed CoAP (%v): 0x%x", err, b)
	}
	return d.String()
}

var methodNames = map[uint8]string{
	0: "Empty", 1: "GET", 2: "POST", 3: "PUT", 4: "DELETE", 5: "FETCH", 6: "PATCH", 7: "iPATCH",
}

// CodeName is a request method name ("GET"), "Empty", or a response code in
// dotted form ("2.05") (RFC 7252 5.2, 12.1).
func CodeName(c uint8) string {
	if c>>5 == 0 {
		if n, ok := methodNames[c]; ok {
			return n
		}
	}
	return fmt.Sprintf("%d.%02d", c>>5, c&0x1f)
}
