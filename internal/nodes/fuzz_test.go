package nodes

import (
	"bytes"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// FuzzIncomingRequest feeds arbitrary requests to the incoming-request
// steps of a proxy and a server of example B.3 (draft 2.4): whatever the
// bytes, the node stays silent or answers with one well-formed CoAP
// response (wellFormedAnswer), and never panics.
func FuzzIncomingRequest(f *testing.F) {
	f.Add(hx("44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e"))
	f.Add(hx("4401000101b16c6f63616c686f7374"))
	f.Add(hx("4402000102"))
	f.Add(hx("4402000102939000ff00"))
	f.Add(hx("440200010b6578616d706c652e636f6d2d0a636f6170"))
	s, _ := builtinScenarioF("draft-b3")
	lab := NewLab(nil)
	defer lab.Close()
	if err := lab.Load(s); err != nil {
		f.Fatal(err)
	}
	t := lab.topo.Load()
	f.Fuzz(func(tt *testing.T, b []byte) {
		m := message.Message{Options: make(message.Options, 0, 64)}
		if _, err := coder.DefaultCoder.Decode(b, &m); err != nil {
			return
		}
		for _, id := range []string{"P", "S"} {
			in := newIncoming(t.nodes[id], nil, m, peerRef{node: "C"})
			if out := in.run(); out != nil {
				if err := wellFormedAnswer(m, *out); err != "" {
					tt.Fatalf("%s answers %x with %v: %s", id, b, *out, err)
				}
			}
		}
	})
}

// FuzzParseCRI feeds arbitrary Proxy-Cri values to the CRI decoder
// (draft-ietf-core-href): it returns a request or an error, never panics,
// and a host it returns is never empty.
func FuzzParseCRI(f *testing.F) {
	f.Add(criExampleCom)
	f.Add(hx("832082440102030419163380"))
	f.Add(hx("822082f46161"))
	f.Add(hx("85208163636f6d8080f6"))
	f.Add(hx("9f20ff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCRI(b)
		if err == nil && c.host == "" {
			t.Fatalf("%x: no error and no host", b)
		}
	})
}

// wellFormedAnswer says what is wrong with a node's answer to req ("" if
// nothing): it must be a response code (RFC 7252 5.9, never Empty or a
// method), encode as the piggybacked ACK the node sends and decode back
// unchanged, with its options in order, and carry at most one OSCORE
// option, under outer code 2.04, or 2.05 with Observe (RFC 8613 4.2).
func wellFormedAnswer(req, out message.Message) string {
	if c := out.Code >> 5; c != 2 && c != 4 && c != 5 {
		return "not a response code"
	}
	ack := message.Message{Type: message.Acknowledgement, Token: req.Token, MessageID: req.MessageID,
		Code: out.Code, Options: out.Options, Payload: out.Payload}
	n, err := coder.DefaultCoder.Size(ack)
	if err != nil {
		return "does not encode: " + err.Error()
	}
	buf := make([]byte, n)
	if _, err := coder.DefaultCoder.Encode(ack, buf); err != nil {
		return "does not encode: " + err.Error()
	}
	back := message.Message{Options: make(message.Options, 0, len(out.Options))}
	if _, err := coder.DefaultCoder.Decode(buf, &back); err != nil {
		return "does not decode: " + err.Error()
	}
	if back.Code != out.Code || !bytes.Equal(back.Payload, out.Payload) || len(back.Options) != len(out.Options) {
		return "changes on the wire"
	}
	oscoreOpts := 0
	for i, o := range out.Options {
		if i > 0 && o.ID < out.Options[i-1].ID {
			return "options out of order"
		}
		if back.Options[i].ID != o.ID || !bytes.Equal(back.Options[i].Value, o.Value) {
			return "an option changes on the wire"
		}
		if o.ID == optOSCORE {
			oscoreOpts++
		}
	}
	switch {
	case oscoreOpts > 1:
		return "more than one OSCORE option"
	case oscoreOpts == 1 && out.Code != codes.Changed && !(out.Code == codes.Content && out.Options.HasOption(optObserve)):
		return "protected under an outer code other than 2.04 (RFC 8613 4.2)"
	}
	return ""
}
