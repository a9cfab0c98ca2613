package coaposcore

import (
	"bytes"
	"context"
	"testing"

	"oscore-lab/oscore"
)

// FuzzRespond feeds arbitrary datagrams to the server wrapper's work: it
// answers each with a response that encodes, or stays silent, and never
// panics; the application sees only requests that verified.
func FuzzRespond(f *testing.F) {
	client, _ := oscore.NewContext("c", oscore.Params{MasterSecret: secret, SenderID: []byte{2}, RecipientID: []byte{1}})
	server, _ := oscore.NewContext("s", oscore.Params{MasterSecret: secret, SenderID: []byte{1}, RecipientID: []byte{2}, ReplayWindow: 32})
	for _, payload := range [][]byte{nil, []byte("x")} {
		req, _, _, err := oscore.ProtectRequest(client, getRequest(payload), oscore.ProtectOptions{})
		if err != nil {
			f.Fatal(err)
		}
		d, err := oscore.EncodeMessage(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(d)
	}
	f.Add([]byte{0x40, 0x01, 0, 1, 0xb1, 'x'})
	f.Add([]byte{0x40, 0x02, 0, 1, 0x90, 0xff, 0})
	lookup := func(kid, _ []byte) (*oscore.Context, error) {
		if bytes.Equal(kid, []byte{2}) {
			return server, nil
		}
		return nil, nil
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		req, err := oscore.DecodeMessage(d)
		if err != nil {
			return
		}
		out, answered := respond(context.Background(), req, lookup, ok)
		if !answered {
			return
		}
		if _, err := oscore.EncodeMessage(out); err != nil {
			t.Fatalf("answer %v does not encode: %v", out, err)
		}
	})
}
