// Package coaposcore runs OSCORE (RFC 8613) over go-coap v3: Handler
// wraps a server's handler, Client protects a client connection's
// requests. Both keep the request's Binding between the request and its
// response, so an application never handles sequence numbers, nonces or
// replay windows.
//
// Call oscore.RegisterGoCoapOptions once before starting any go-coap
// server or client: without it go-coap rejects the OSCORE option (a
// critical option it does not know) before a handler runs.
//
// Concurrency: a Handler may serve any number of peers at once; go-coap's
// UDP server hands one peer's requests to it one at a time, in arrival
// order, which keeps a peer's Partial IVs in order for the replay window
// (RFC 8613 7.4). A Client is safe for concurrent use; see Client.Do for
// how it keeps its Partial IVs within the server's replay window.
package coaposcore

import (
	"bytes"
	"context"
	"io"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"

	"oscore-lab/oscore"
)

// ServeFunc answers a verified request. req is the inner request: the
// code, the options of both classes and the payload as the client sent
// them. The returned response is protected with the request's Binding.
type ServeFunc func(ctx context.Context, req message.Message) message.Message

// Handler returns a go-coap handler that verifies each request with the
// Recipient Context lookup finds (RFC 8613 8.2), calls serve with the inner
// request, and protects its response (RFC 8613 8.3) with the request's
// Binding. A request that fails verification gets the unprotected error
// response RFC 8613 8.2 and 7.4 call for (e.g. 4.01 "Replay detected"),
// with Outer Max-Age 0; a request without an OSCORE option gets 4.01
// "OSCORE required". serve never sees either.
//
// C is the connection type of the go-coap server, e.g. *client.Conn of
// go-coap's udp/client.
func Handler[C responsewriter.Client](lookup oscore.ContextLookup, serve ServeFunc) func(w *responsewriter.ResponseWriter[C], r *pool.Message) {
	return func(w *responsewriter.ResponseWriter[C], r *pool.Message) {
		req, err := fromPool(r)
		if err != nil {
			return
		}
		out, ok := respond(r.Context(), req, lookup, serve)
		if ok {
			SetResponse(w.Message(), out)
		}
	}
}

// respond is the handler's work on plain values.
func respond(ctx context.Context, req message.Message, lookup oscore.ContextLookup, serve ServeFunc) (message.Message, bool) {
	if !req.Options.HasOption(oscore.OptOSCORE) {
		return message.Message{Code: codes.Unauthorized, Payload: []byte("OSCORE required")}, true
	}
	inner, b, _, err := oscore.UnprotectRequest(req, lookup)
	if err != nil {
		return oscore.ErrorResponse(req, err)
	}
	resp := serve(ctx, inner)
	if resp.Code == 0 {
		resp.Code = codes.Content
	}
	out, _, err := oscore.ProtectResponse(b, resp, oscore.ProtectOptions{})
	if err != nil {
		// RFC 8613 8.3 gives no unprotected error for a response that
		// cannot be protected; 5.00 tells the client without leaking more.
		return message.Message{Code: codes.InternalServerError}, true
	}
	return out, true
}

// SetResponse puts m's code, options and payload into wm, a go-coap
// handler's response (ResponseWriter.Message). ResponseWriter.SetResponse
// is no substitute: with a body it adds a Content-Format, which an outer
// OSCORE message must not carry.
func SetResponse(wm *pool.Message, m message.Message) {
	wm.SetCode(m.Code)
	wm.ResetOptionsTo(m.Options)
	if len(m.Payload) > 0 {
		wm.SetBody(bytes.NewReader(m.Payload))
	} else {
		wm.SetBody(nil)
	}
}

// fromPool copies a pooled go-coap message into a plain value: go-coap
// reuses the pooled one after the handler returns.
func fromPool(r *pool.Message) (message.Message, error) {
	m := message.Message{Code: r.Code(), Token: append(message.Token(nil), r.Token()...),
		Type: r.Type(), MessageID: r.MessageID()}
	for _, o := range r.Options() {
		m.Options = append(m.Options, message.Option{ID: o.ID, Value: append([]byte(nil), o.Value...)})
	}
	if body := r.Body(); body != nil {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return m, err
		}
		p, err := io.ReadAll(body)
		if err != nil {
			return m, err
		}
		if len(p) > 0 {
			m.Payload = p
		}
	}
	return m, nil
}
