package coaposcore

import (
	"bytes"
	"context"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"

	"oscore-lab/oscore"
)

// Conn is what a Client needs of a go-coap client connection; go-coap's
// udp/client.Conn (from udp.Dial) and dtls/client.Conn have it.
type Conn interface {
	AcquireMessage(ctx context.Context) *pool.Message
	ReleaseMessage(m *pool.Message)
	Do(req *pool.Message) (*pool.Message, error)
}

// Client sends requests protected with one Security Context over one
// go-coap connection.
type Client struct {
	conn Conn
	ctx  *oscore.Context
	opts oscore.ProtectOptions
	turn chan struct{} // held from taking a Partial IV until the request is answered
}

// NewClient returns a Client for ctx over conn. ctx must protect no
// requests but this Client's.
func NewClient(conn Conn, ctx *oscore.Context) *Client {
	return &Client{conn: conn, ctx: ctx, turn: make(chan struct{}, 1)}
}

// Do protects req (RFC 8613 8.1), sends it, waits for the response and
// verifies it with the request's Binding (RFC 8613 8.4). req is the
// request as the application means it: code, options (any order) and
// payload; its token and Message ID are chosen by the connection.
//
// Partial IVs: Do takes the request's sequence number and sends the
// request as one step, and concurrent calls take turns, so Partial IVs
// reach the server in the order they were taken and its replay window
// (RFC 8613 7.4) accepts them all, however many goroutines share the
// Client. The turn lasts until the response: go-coap's connection gives no
// signal between accepting a request and writing it, and a Partial IV
// taken before an unobserved hand-over can be overtaken by any number of
// later ones when the connection sends in parallel (measured: about 1 in
// 1,000 requests refused at 96 goroutines, with 32 in flight). go-coap's
// connections carry one request at a time by default anyway
// (options.WithLimitClientParallelRequest).
//
// Echo (RFC 9175 2.4): a verified 4.01 response carrying an Echo option is
// a freshness challenge; Do answers it once, with a new request carrying
// the Echo value, and returns that request's outcome.
//
// Errors: an unprotected error response is an *oscore.PeerError (its code
// and diagnostic, e.g. 4.01 "Replay detected"); a response that fails
// verification is an *oscore.Error; anything else comes from the
// connection.
func (c *Client) Do(ctx context.Context, req message.Message) (message.Message, error) {
	resp, err := c.exchange(ctx, req)
	if err != nil || resp.Code != codes.Unauthorized || req.Options.HasOption(oscore.OptEcho) {
		return resp, err
	}
	echo, err := resp.Options.GetBytes(oscore.OptEcho)
	if err != nil {
		return resp, nil // a 4.01 without Echo is the answer
	}
	req.Options = append(append(message.Options(nil), req.Options...), message.Option{ID: oscore.OptEcho, Value: echo})
	return c.exchange(ctx, req)
}

// exchange is one protected request and its verified response.
func (c *Client) exchange(ctx context.Context, req message.Message) (message.Message, error) {
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
	defer func() { <-c.turn }()

	token, err := message.GetToken()
	if err != nil {
		return message.Message{}, err
	}
	req.Token = token
	req.Options = sorted(req.Options)
	out, b, _, err := oscore.ProtectRequest(c.ctx, req, c.opts)
	if err != nil {
		return message.Message{}, err
	}
	pm := c.conn.AcquireMessage(ctx)
	defer c.conn.ReleaseMessage(pm)
	pm.SetCode(out.Code)
	pm.SetToken(out.Token)
	pm.ResetOptionsTo(out.Options)
	pm.SetBody(bytes.NewReader(out.Payload))
	r, err := c.conn.Do(pm)
	if err != nil {
		return message.Message{}, err
	}
	defer c.conn.ReleaseMessage(r)
	resp, err := fromPool(r)
	if err != nil {
		return message.Message{}, err
	}
	if pe, ok := oscore.UnprotectedError(resp); ok {
		return message.Message{}, pe
	}
	inner, _, err := oscore.UnprotectResponse(b, resp)
	if err != nil {
		return message.Message{}, err
	}
	return inner, nil
}

// sorted returns opts ordered by number, keeping the order of repeated
// options: go-coap encodes options in slice order (RFC 7252 3.1 needs them
// ascending) and oscore expects them so.
func sorted(opts message.Options) message.Options {
	s := append(message.Options(nil), opts...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].ID < s[j-1].ID; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
