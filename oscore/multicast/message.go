package multicast

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"oscore-lab/oscore"
)

// OptListenToMulticastResponses is the Listen-To-Multicast-Responses
// option (MNP 4.1): number 47 as MNP 8.1 prefers, critical, unsafe, for
// requests only, 3 to 1024 bytes, its value a serialized tp_info, Class U
// for OSCORE (and Class E in an OSCORE layer between client and proxy,
// draft-ietf-core-oscore-capable-proxies 2.2).
const (
	OptListenToMulticastResponses = 47
	MinLTMRLen                    = 3
	MaxLTMRLen                    = 1024
)

// DecodeListenOption decodes a Listen-To-Multicast-Responses value: a
// tp_info of 3 to 1024 bytes with its details (the proxy needs the group
// and the Token, MNP 4.2).
func DecodeListenOption(v []byte) (TPInfo, error) {
	if len(v) < MinLTMRLen || len(v) > MaxLTMRLen {
		return TPInfo{}, fmt.Errorf("multicast: Listen-To-Multicast-Responses of %d bytes (3-1024, MNP 4.1)", len(v))
	}
	t, err := DecodeTPInfo(v)
	if err != nil {
		return TPInfo{}, err
	}
	if !t.HasDetails {
		return TPInfo{}, errors.New("multicast: Listen-To-Multicast-Responses without tpi_client and tpi_token (MNP 4.2)")
	}
	return t, nil
}

// EncodeMessageInfo is the transport-independent form of m that ph_req and
// last_notif carry (MN 4.2.2): the Code byte, the serialized options, and
// 0xff and the payload when there is one. Token, type and Message ID are
// left out.
func EncodeMessageInfo(m message.Message) ([]byte, error) {
	m.Token, m.MessageID, m.Type = nil, 0, message.NonConfirmable
	b, err := oscore.EncodeMessage(m)
	if err != nil {
		return nil, err
	}
	out := append([]byte{byte(m.Code)}, b[4:]...) // a Token-less header is 4 bytes
	if len(out) > MaxPayload {
		return nil, fmt.Errorf("multicast: message of %d bytes exceeds %d", len(out), MaxPayload)
	}
	return out, nil
}

// DecodeMessageInfo rebuilds a message from its transport-independent
// form (MN 4.2.2, 5.3 steps 2 and 5) with token as its Token; the type is
// NON, as a multicast notification's (MN 4.3). The options go through the
// same decoder as a datagram's.
func DecodeMessageInfo(b, token []byte) (message.Message, error) {
	if len(b) == 0 || len(b) > MaxPayload {
		return message.Message{}, fmt.Errorf("multicast: transport-independent message of %d bytes (1-%d)", len(b), MaxPayload)
	}
	if len(token) > 8 {
		return message.Message{}, errors.New("multicast: Token longer than 8 bytes")
	}
	d := make([]byte, 0, 4+len(token)+len(b))
	d = append(d, 0x50|byte(len(token)), b[0], 0, 0) // version 1, NON
	d = append(append(d, token...), b[1:]...)
	m, err := oscore.DecodeMessage(d)
	if err != nil && !errors.Is(err, oscore.ErrDecodeCOSE) {
		return message.Message{}, fmt.Errorf("multicast: transport-independent message: %w", err)
	}
	if err != nil {
		return message.Message{}, err
	}
	if m.Code == codes.Empty {
		return message.Message{}, errors.New("multicast: transport-independent message with code 0.00")
	}
	// Own the bytes: the decoder aliases its input.
	m.Token = bytes.Clone(m.Token)
	m.Payload = bytes.Clone(m.Payload)
	opts := make(message.Options, len(m.Options))
	for i, o := range m.Options {
		opts[i] = message.Option{ID: o.ID, Value: bytes.Clone(o.Value)}
	}
	m.Options = opts
	return m, nil
}
