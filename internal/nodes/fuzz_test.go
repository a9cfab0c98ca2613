package nodes

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// FuzzIncomingRequest feeds arbitrary requests to the incoming-request
// steps of a proxy and a server of example B.3 (draft 2.4): whatever the
// bytes, the node answers or stays silent, and never panics.
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
	f.Fuzz(func(_ *testing.T, b []byte) {
		m := message.Message{Options: make(message.Options, 0, 64)}
		if _, err := coder.DefaultCoder.Decode(b, &m); err != nil {
			return
		}
		for _, id := range []string{"P", "S"} {
			in := newIncoming(t.nodes[id], nil, m, peerRef{node: "C"})
			in.run()
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
