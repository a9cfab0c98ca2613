package coaposcore_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"oscore-lab/oscore"
	"oscore-lab/oscore/coaposcore"
)

// A go-coap server whose resources are reached only through OSCORE.
func ExampleHandler() {
	oscore.RegisterGoCoapOptions() // once, before any go-coap server or client
	server, err := oscore.NewContext("server", oscore.Params{
		MasterSecret: []byte("0123456789abcdef"), SenderID: []byte{0x01}, RecipientID: []byte{}})
	if err != nil {
		log.Fatal(err)
	}
	lookup := func(kid, kidContext []byte) (*oscore.Context, error) {
		if len(kid) == 0 && kidContext == nil {
			return server, nil
		}
		return nil, nil // 4.01 "Security context not found"
	}
	hello := func(_ context.Context, req message.Message) message.Message {
		path, _ := req.Options.Path()
		return message.Message{Code: codes.Content, Payload: []byte("hello from " + path)}
	}
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := udp.NewServer(options.WithBlockwise(false, 0, 0),
		options.WithHandlerFunc(coaposcore.Handler[*udpClient.Conn](lookup, hello)))
	go s.Serve(l)
	defer s.Stop()

	// The client side: the same context seen from the other end.
	client, _ := oscore.NewContext("client", oscore.Params{
		MasterSecret: []byte("0123456789abcdef"), SenderID: []byte{}, RecipientID: []byte{0x01}})
	cc, err := udp.Dial(l.LocalAddr().String(), options.WithBlockwise(false, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	req := message.Message{Code: codes.GET, Options: message.Options{{ID: message.URIPath, Value: []byte("sensors")}}}
	resp, err := coaposcore.NewClient(cc, client).Do(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Code, string(resp.Payload))
	// Output: Content hello from /sensors
}

// A go-coap client that protects its requests, and tells an unprotected
// error from the server (here a replayed Partial IV) from a response that
// fails verification.
func ExampleClient() {
	oscore.RegisterGoCoapOptions() // once, before any go-coap server or client
	secret := []byte("0123456789abcdef")
	server, _ := oscore.NewContext("server", oscore.Params{MasterSecret: secret, SenderID: []byte{0x01}, RecipientID: []byte{0x02}})
	lookup := func(kid, _ []byte) (*oscore.Context, error) { return server, nil }
	echo := func(_ context.Context, req message.Message) message.Message {
		return message.Message{Code: codes.Content, Payload: req.Payload}
	}
	l, err := coapNet.NewListenUDP("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := udp.NewServer(options.WithBlockwise(false, 0, 0),
		options.WithHandlerFunc(coaposcore.Handler[*udpClient.Conn](lookup, echo)))
	go s.Serve(l)
	defer s.Stop()

	ctx, _ := oscore.NewContext("client", oscore.Params{MasterSecret: secret, SenderID: []byte{0x02}, RecipientID: []byte{0x01}})
	cc, err := udp.Dial(l.LocalAddr().String(), options.WithBlockwise(false, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	client := coaposcore.NewClient(cc, ctx)
	req := message.Message{Code: codes.POST, Payload: []byte("ping")}
	resp, err := client.Do(context.Background(), req)
	fmt.Println(resp.Code, string(resp.Payload), err)

	ctx.ReuseSenderSeq(0) // reuse a Partial IV (and a nonce): the server must refuse it
	_, err = client.Do(context.Background(), req)
	var peer *oscore.PeerError
	var failed *oscore.Error
	switch {
	case errors.As(err, &peer):
		fmt.Printf("server refused: %v %q\n", peer.Code, peer.Diagnostic)
	case errors.As(err, &failed):
		fmt.Println("response failed verification:", failed.Reason)
	}
	// Output:
	// Content ping <nil>
	// server refused: Unauthorized "Replay detected"
}
