package nodes

import (
	"bytes"
	"os"
	"testing"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// RFC 9529 trace 2 as RFC 9528 A.2.1 frames it (testdata/edhoc-vectors.json
// of oscore/edhoc, derived_coap_payloads).
const (
	trace2Request1  = "f50382060258208af6f430ebe18d34184017a9a11bf511c8dff8f834730b96c1b7c8dbca2fc3b637"
	trace2Response2 = "582b419701d7f00a26c2dc587a36dd752549f33763c893422c8ea0f955a13a4ff5d59862a1eef9e0e7e1886fcd"
	trace2Request3  = "2752e562097bc417dd5919485ac7891ffd90a9fc"
	trace2Secret    = "f9868f6a3aca78a05d1485b35030b162"
	trace2Salt      = "ada24c7dbfc85eeb"
)

func edhocScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	b, err := os.ReadFile("testdata/edhoc-trace2.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestEDHOCStep runs RFC 9529 trace 2 between a client and a server over
// the lab's links: the refused suite 6, then message_1 to message_3 with
// the trace's payloads byte for byte on the wire; the context EDHOC gives
// then protects a GET.
func TestEDHOCStep(t *testing.T) {
	s := edhocScenario(t)
	lab, bus := startLab(t, s)
	if _, _, err := lab.topo.Load().contextFor("CTX_C_S", "C"); err == nil {
		t.Fatal("the EDHOC context exists before its step ran")
	}
	r := send(t, lab, s.Steps[0])
	if !r.OK || r.Code != "2.04" {
		t.Fatalf("EDHOC step: %+v", r)
	}
	var payloads [][]byte
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram {
			if m := decode(t, e.Bytes); len(m.Payload) > 0 {
				payloads = append(payloads, m.Payload)
			}
		}
	}
	// first message_1 (suite 6), error 2, message_1, message_2, message_3
	want := [][]byte{nil, {0x02, 0x02}, hx(trace2Request1), hx(trace2Response2), hx(trace2Request3)}
	if len(payloads) != len(want) {
		t.Fatalf("%d payloads on the wire: %x", len(payloads), payloads)
	}
	for i, w := range want {
		if w != nil && !bytes.Equal(payloads[i], w) {
			t.Errorf("payload %d = %x, want %x", i, payloads[i], w)
		}
	}
	c := lab.Scenario().Contexts[0]
	if c.MasterSecret != trace2Secret || c.MasterSalt != trace2Salt {
		t.Fatalf("context after EDHOC: secret %s salt %s", c.MasterSecret, c.MasterSalt)
	}
	if r := send(t, lab, s.Steps[1]); !r.OK || r.Payload != "0" {
		t.Fatalf("GET under the EDHOC context: %+v", r)
	}
}
