package oscore

import (
	"bytes"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// recipientLookup finds a context by Recipient ID (and ID Context when given).
func recipientLookup(ctxs ...*Context) ContextLookup {
	return func(kid, kidContext []byte) (*Context, error) {
		for _, c := range ctxs {
			if bytes.Equal(c.RecipientID(), kid) && (kidContext == nil || bytes.Equal(c.IDContext(), kidContext)) {
				return c, nil
			}
		}
		return nil, nil
	}
}

// getRequest is a CON GET with Uri-Host "example.com" and the path's segments.
func getRequest(path string) message.Message {
	m := message.Message{Code: codes.GET, Token: message.Token{0x8c}, MessageID: 0x1234, Type: message.Confirmable}
	m.Options = m.Options.Add(message.Option{ID: optURIHost, Value: []byte("example.com")})
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if seg != "" {
			m.Options = m.Options.Add(message.Option{ID: optURIPath, Value: []byte(seg)})
		}
	}
	return m
}

func contentResponse(body string) message.Message {
	return message.Message{Code: codes.Content, Token: message.Token{0x8c}, MessageID: 0x1234,
		Type: message.Acknowledgement, Payload: []byte(body)}
}

func withOption(m message.Message, id uint16, v []byte) message.Message {
	opts := append(message.Options(nil), m.Options...)
	m.Options = opts.Add(message.Option{ID: message.OptionID(id), Value: v})
	return m
}
