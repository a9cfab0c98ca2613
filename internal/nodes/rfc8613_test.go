package nodes

import (
	"bytes"
	"testing"
)

// TestRFC8613C4C7 checks that the C.4 request and the C.7 response appear
// byte for byte on the wire, through a recording link.
func TestRFC8613C4C7(t *testing.T) {
	s := builtinScenario(t, "rfc8613-c4-c7")
	lab, bus := startLab(t, s)
	r := send(t, lab, s.Steps[0])
	if r.Code != "2.05" || r.Payload != "Hello World!" || !r.OK {
		t.Fatalf("result %+v", r)
	}
	dg := datagrams(bus, r.Exchange)
	if len(dg) != 2 {
		t.Fatalf("%d datagrams, want 2: %+v", len(dg), dg)
	}
	wantReq := hx("44025d1f00003974396c6f63616c686f7374620914ff612f1092f1776f1c1668b3825e")
	wantResp := hx("64445d1f0000397490ffdbaad1e9a7e7b2a813d3c31524378303cdafae119106")
	if !bytes.Equal(dg[0].Bytes, wantReq) {
		t.Errorf("request\n got %x\nwant %x", []byte(dg[0].Bytes), wantReq)
	}
	if !bytes.Equal(dg[1].Bytes, wantResp) {
		t.Errorf("response\n got %x\nwant %x", []byte(dg[1].Bytes), wantResp)
	}
	if dg[0].Dir != "request" || dg[1].Dir != "response" || dg[0].From != "C" || dg[1].From != "S" {
		t.Errorf("directions %+v %+v", dg[0], dg[1])
	}
}
