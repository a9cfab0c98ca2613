package nodes

import (
	"bytes"
	"crypto/aes"
	"encoding/json"
	"os"
	"testing"

	"github.com/pion/dtls/v3/pkg/crypto/ccm"
)

// rfc8613 is what the lab-level tests read from testdata/rfc8613-vectors.json,
// RFC 8613 Appendix C as printed.
type rfc8613 struct {
	KeyDerivation []struct {
		ID      string `json:"id"`
		Outputs struct {
			RecipientKey string `json:"recipient_key"`
		} `json:"outputs"`
	} `json:"key_derivation"`
	Requests []struct {
		ID        string `json:"id"`
		From      string `json:"security_context_from"`
		AAD       string `json:"aad"`
		Nonce     string `json:"nonce"`
		Protected string `json:"protected_request"`
	} `json:"requests"`
	Responses []struct {
		ID        string `json:"id"`
		Protected string `json:"protected_response"`
	} `json:"responses"`
}

func loadRFC8613(t *testing.T) *rfc8613 {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/rfc8613-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v rfc8613
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// TestRFC8613Vectors runs the built-in scenarios of RFC 8613 Appendix C
// over real loopback UDP and compares what crosses the recording link with
// the RFC's bytes (testdata): the requests of C.4, C.5 and C.6, the
// responses of C.7 and C.8. For C.5 and C.6 the RFC prints no response;
// there the response is opened here with another AES-CCM implementation
// (pion's), the client's Recipient Key of C.2/C.3, the request's nonce and
// AAD as the RFC prints them (a response without Partial IV reuses both,
// RFC 8613 5.2, 5.4), and must be 2.05 "Hello World!".
func TestRFC8613Vectors(t *testing.T) {
	v := loadRFC8613(t)
	for _, tc := range []struct{ scenario, request, response string }{
		{"rfc8613-c4-c7", "C.4", "C.7"},
		{"rfc8613-c5", "C.5", ""},
		{"rfc8613-c6", "C.6", ""},
		{"rfc8613-c8", "C.4", "C.8"},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			s := builtinScenario(t, tc.scenario)
			lab, bus := startLab(t, s)
			r := send(t, lab, s.Steps[0])
			if r.Code != "2.05" || r.Payload != "Hello World!" || !r.OK {
				t.Fatalf("result %+v", r)
			}
			dg := datagrams(bus, r.Exchange)
			if len(dg) != 2 || dg[0].Dir != "request" || dg[1].Dir != "response" || dg[0].From != "C" || dg[1].From != "S" {
				t.Fatalf("datagrams %+v, want C's request and S's response", dg)
			}
			var req []byte
			var from string
			for _, q := range v.Requests {
				if q.ID == tc.request {
					req, from = hx(q.Protected), q.From
				}
			}
			if req == nil {
				t.Fatalf("no vector %s", tc.request)
			}
			if !bytes.Equal(dg[0].Bytes, req) {
				t.Errorf("request\n got %x\nwant %x (%s)", []byte(dg[0].Bytes), req, tc.request)
			}
			if tc.response != "" {
				var want []byte
				for _, p := range v.Responses {
					if p.ID == tc.response {
						want = hx(p.Protected)
					}
				}
				if !bytes.Equal(dg[1].Bytes, want) {
					t.Errorf("response\n got %x\nwant %x (%s)", []byte(dg[1].Bytes), want, tc.response)
				}
				return
			}
			openResponse(t, v, tc.request, from, dg[0].Bytes, dg[1].Bytes)
		})
	}
}

// openResponse checks a response without Partial IV to the request of
// vector id, apart from the lab's oscore package.
func openResponse(t *testing.T, v *rfc8613, id, from string, reqBytes, respBytes []byte) {
	t.Helper()
	var key, nonce, aad []byte
	for _, k := range v.KeyDerivation {
		if k.ID == from {
			key = hx(k.Outputs.RecipientKey)
		}
	}
	for _, q := range v.Requests {
		if q.ID == id {
			nonce, aad = hx(q.Nonce), hx(q.AAD)
		}
	}
	req, resp := decode(t, reqBytes), decode(t, respBytes)
	if resp.Code.String() != "Changed" || !bytes.Equal(resp.Token, req.Token) || resp.MessageID != req.MessageID {
		t.Errorf("response %v token %x MID %d, want 2.04 with the request's token %x and MID %d (piggybacked)", resp.Code, resp.Token, resp.MessageID, req.Token, req.MessageID)
	}
	if ov, err := resp.Options.GetBytes(optOSCORE); err != nil || len(ov) != 0 || len(resp.Options) != 1 {
		t.Errorf("response options %v (OSCORE %x, %v), want only an empty OSCORE option (RFC 8613 6.1)", resp.Options, ov, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := ccm.NewCCM(block, 8, len(nonce))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := aead.Open(nil, nonce, resp.Payload, aad)
	if err != nil {
		t.Fatalf("response to %s does not open with the RFC's key, nonce and AAD: %v", id, err)
	}
	if want := append([]byte{0x45, 0xff}, "Hello World!"...); !bytes.Equal(plain, want) {
		t.Errorf("response plaintext %x, want %x (2.05, payload marker, Hello World!)", plain, want)
	}
}
