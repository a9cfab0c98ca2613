package coaposcore

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"oscore-lab/oscore"
)

var secret = []byte("0123456789abcdef")

func context2(t *testing.T, sender, recipient byte) *oscore.Context {
	t.Helper()
	c, err := oscore.NewContext("test", oscore.Params{MasterSecret: secret, SenderID: []byte{sender}, RecipientID: []byte{recipient}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pair starts a go-coap server serving through Handler with the server
// context srv and returns a go-coap connection to it.
func pair(t *testing.T, srv *oscore.Context, serve ServeFunc, dialOpts ...udp.Option) *udpClient.Conn {
	t.Helper()
	oscore.RegisterGoCoapOptions()
	lookup := func(kid, _ []byte) (*oscore.Context, error) {
		if bytes.Equal(kid, srv.RecipientID()) {
			return srv, nil
		}
		return nil, nil
	}
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := udp.NewServer(options.WithBlockwise(false, 0, 0), options.WithHandlerFunc(Handler[*udpClient.Conn](lookup, serve)))
	go s.Serve(l)
	t.Cleanup(s.Stop)
	cc, err := udp.Dial(l.LocalAddr().String(), append(dialOpts, options.WithBlockwise(false, 0, 0))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func ok(_ context.Context, req message.Message) message.Message {
	return message.Message{Code: codes.Content, Payload: req.Payload}
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Many goroutines share one Client over a connection that sends requests
// in parallel: every request must pass the server's replay window (32, RFC
// 8613 7.4). The connection hands concurrent requests to the wire in an
// order of its own; a Client that let more requests take a Partial IV than
// the window holds would see some of them refused as replays.
func TestConcurrentRequestsStayInTheReplayWindow(t *testing.T) {
	cc := pair(t, context2(t, 1, 2), ok, options.WithLimitClientParallelRequest(0), options.WithLimitClientEndpointParallelRequest(0))
	client := NewClient(cc, context2(t, 2, 1))
	ctx := timeout(t)
	var wg sync.WaitGroup
	var failed atomic.Int64
	var first atomic.Value
	for g := 0; g < 96; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				resp, err := client.Do(ctx, message.Message{Code: codes.POST, Payload: []byte("x")})
				if err != nil || resp.Code != codes.Content {
					failed.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of 960 requests failed, first: %v", n, first.Load())
	}
}

// RFC 9175 2.4: a 4.01 with Echo is answered once with the Echo value; a
// second challenge is the answer.
func TestEchoChallengeIsAnsweredOnce(t *testing.T) {
	var seen atomic.Int64
	challenge := func(always bool) ServeFunc {
		return func(_ context.Context, req message.Message) message.Message {
			seen.Add(1)
			if v, err := req.Options.GetBytes(oscore.OptEcho); err == nil && string(v) == "fresh" && !always {
				return message.Message{Code: codes.Content, Payload: []byte("ok")}
			}
			return message.Message{Code: codes.Unauthorized, Options: message.Options{{ID: oscore.OptEcho, Value: []byte("fresh")}}}
		}
	}
	for _, always := range []bool{false, true} {
		seen.Store(0)
		cc := pair(t, context2(t, 1, 2), challenge(always))
		resp, err := NewClient(cc, context2(t, 2, 1)).Do(timeout(t), message.Message{Code: codes.GET})
		if err != nil {
			t.Fatal(err)
		}
		want := codes.Content
		if always {
			want = codes.Unauthorized
		}
		if resp.Code != want || seen.Load() != 2 {
			t.Errorf("always=%v: %v after %d requests, want %v after 2", always, resp.Code, seen.Load(), want)
		}
	}
}

// An unprotected error response from the server is a *oscore.PeerError with
// its code and diagnostic; a response that fails verification is an
// *oscore.Error, never a PeerError.
func TestPeerErrorApartFromVerificationFailure(t *testing.T) {
	ctx := timeout(t)
	client := context2(t, 2, 1)
	c := NewClient(pair(t, context2(t, 1, 2), ok), client)
	if _, err := c.Do(ctx, message.Message{Code: codes.GET}); err != nil {
		t.Fatal(err)
	}
	client.ReuseSenderSeq(0) // a used Partial IV again, on purpose
	_, err := c.Do(ctx, message.Message{Code: codes.GET})
	var pe *oscore.PeerError
	if !errors.As(err, &pe) || pe.Code != codes.Unauthorized || pe.Diagnostic != "Replay detected" {
		t.Fatalf("replayed Partial IV: %v, want a PeerError 4.01 \"Replay detected\"", err)
	}
	if errors.As(err, new(*oscore.Error)) {
		t.Fatal("a PeerError is also an *oscore.Error")
	}

	// The server verifies with the right key but answers with the key of
	// another Sender ID: the client cannot verify the response.
	wrong, err := oscore.NewContext("wrong", oscore.Params{MasterSecret: secret, SenderID: []byte{3}, RecipientID: []byte{2}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewClient(pair(t, wrong, ok), context2(t, 2, 1)).Do(ctx, message.Message{Code: codes.GET})
	var oe *oscore.Error
	if !errors.As(err, &oe) || errors.As(err, &pe) {
		t.Fatalf("unverifiable response: %v, want an *oscore.Error", err)
	}
}

// A request without OSCORE never reaches the application.
func TestHandlerRequiresOSCORE(t *testing.T) {
	called := false
	cc := pair(t, context2(t, 1, 2), func(context.Context, message.Message) message.Message {
		called = true
		return message.Message{Code: codes.Content}
	})
	resp, err := cc.Get(timeout(t), "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := resp.ReadBody()
	if resp.Code() != codes.Unauthorized || string(body) != "OSCORE required" || called {
		t.Fatalf("plain request: %v %q (application called: %v)", resp.Code(), body, called)
	}
}

func getRequest(payload []byte) message.Message {
	return message.Message{Code: codes.POST, Type: message.Confirmable, MessageID: 1, Token: message.Token{1},
		Options: message.Options{{ID: message.URIPath, Value: []byte("x")}}, Payload: payload}
}
