package oscore

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

var methodNames = map[codes.Code]string{codes.GET: "GET", codes.POST: "POST", codes.PUT: "PUT",
	codes.DELETE: "DELETE", codes.Code(5): "FETCH", codes.Code(6): "PATCH", codes.Code(7): "iPATCH"}

// CodeText renders a code as a method name for requests ("POST") and as
// "c.dd" for everything else ("2.05", "0.00").
func CodeText(c codes.Code) string {
	if n, ok := methodNames[c]; ok {
		return n
	}
	return codeString(c)
}

// optionText renders an option value in its registered format (see
// appendOptionText).
func optionText(num uint16, v []byte) string {
	return string(appendOptionText(nil, num, v))
}

// FormatMessage is the canonical one-line text form of a CoAP message (the
// package's debug twin, in the manner of miekg/dns): code, token, the
// OSCORE option first (it names the layer), then the other options in
// number order with their values, payload size and bytes, e.g.
//
//	POST 0x8c OSCORE [kid:20, piv:1f] Uri-Host "example.com" payload(13) 612f...
//
// Type and Message ID are left out on purpose: they belong to one hop's
// transmission, not to the message's meaning. Use FormatDatagram for them.
func FormatMessage(m message.Message) string {
	var sb strings.Builder
	sb.WriteString(CodeText(m.Code))
	sb.WriteString(" 0x")
	sb.WriteString(Hex(m.Token).String())
	write := func(o message.Option) {
		sb.WriteByte(' ')
		sb.WriteString(OptionName(uint16(o.ID)))
		if t := optionText(uint16(o.ID), o.Value); t != "" {
			sb.WriteByte(' ')
			sb.WriteString(t)
		}
	}
	for _, o := range m.Options {
		if o.ID == optOSCORE {
			write(o)
		}
	}
	for _, o := range m.Options {
		if o.ID != optOSCORE {
			write(o)
		}
	}
	if len(m.Payload) > 0 {
		sb.WriteString(" payload(")
		sb.WriteString(strconv.Itoa(len(m.Payload)))
		sb.WriteString(") ")
		sb.WriteString(Hex(m.Payload).String())
	}
	return sb.String()
}

var typeNames = map[message.Type]string{message.Confirmable: "CON", message.NonConfirmable: "NON",
	message.Acknowledgement: "ACK", message.Reset: "RST"}

// FormatDatagram is FormatMessage prefixed with the UDP header fields:
// "CON 0x5d1f POST 0x8c ...".
func FormatDatagram(m message.Message) string {
	t, ok := typeNames[m.Type]
	if !ok {
		t = "type(" + strconv.Itoa(int(m.Type)) + ")"
	}
	return t + " " + fmt.Sprintf("0x%04x", uint16(m.MessageID)) + " " + FormatMessage(m)
}
