package oscore

import (
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// DecodeMessage decodes a CoAP-over-UDP datagram (RFC 7252 3) with
// go-coap's coder and checks the OSCORE rules that need no context: at
// most one OSCORE option, a decodable option value (RFC 8613 6.1) and a
// payload whenever the option is present (RFC 8613 2). Values alias raw.
// Coder failures wrap ErrBadMessage, OSCORE failures ErrDecodeCOSE.
func DecodeMessage(raw []byte) (message.Message, error) {
	m := message.Message{Options: make(message.Options, 0, min(len(raw), 1024))} // every option takes at least one byte
	if _, err := coder.DefaultCoder.Decode(raw, &m); err != nil {
		return message.Message{}, ErrBadMessage.withDetail(err.Error())
	}
	if !m.Options.HasOption(optOSCORE) {
		return m, nil
	}
	v, err := findOSCORE(&m)
	if err != nil {
		return m, err
	}
	if _, err := ParseOption(v); err != nil {
		return m, err
	}
	return m, nil
}

// EncodeMessage encodes m as a CoAP-over-UDP datagram with go-coap's coder.
// Options must be sorted by number (this package always returns them so).
func EncodeMessage(m message.Message) ([]byte, error) {
	n, err := coder.DefaultCoder.Size(m)
	if err != nil {
		return nil, ErrBadMessage.withDetail(err.Error())
	}
	buf := make([]byte, n)
	if _, err := coder.DefaultCoder.Encode(m, buf); err != nil {
		return nil, ErrBadMessage.withDetail(err.Error())
	}
	return buf, nil
}
