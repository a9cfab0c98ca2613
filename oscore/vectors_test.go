package oscore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// rfcVectors mirrors ../testdata/rfc8613-vectors.json (RFC 8613 Appendix C).
type rfcVectors struct {
	KeyDerivation []struct {
		ID     string `json:"id"`
		AEAD   int    `json:"aead_algorithm"`
		Inputs struct {
			MasterSecret string  `json:"master_secret"`
			MasterSalt   string  `json:"master_salt"`
			SaltProvided bool    `json:"master_salt_provided"`
			SenderID     string  `json:"sender_id"`
			RecipientID  string  `json:"recipient_id"`
			IDContext    *string `json:"id_context"`
		} `json:"inputs"`
		Intermediate struct {
			InfoSenderKey    string `json:"info_sender_key"`
			InfoRecipientKey string `json:"info_recipient_key"`
			InfoCommonIV     string `json:"info_common_iv"`
		} `json:"intermediate"`
		Outputs struct {
			SenderKey      string `json:"sender_key"`
			RecipientKey   string `json:"recipient_key"`
			CommonIV       string `json:"common_iv"`
			SenderNonce0   string `json:"sender_nonce_partial_iv_0"`
			RecipientNonce string `json:"recipient_nonce_partial_iv_0"`
		} `json:"outputs"`
	} `json:"key_derivation"`
	Requests  []rfcRequest `json:"requests"`
	Responses []struct {
		ID          string  `json:"id"`
		From        string  `json:"security_context_from"`
		ResponseTo  string  `json:"response_to"`
		RequestKID  string  `json:"request_kid"`
		RequestPIV  string  `json:"request_piv"`
		Unprotected string  `json:"unprotected_response"`
		PartialIV   *string `json:"partial_iv"`
		vectorCrypto
		Protected string `json:"protected_response"`
		Common    struct {
			CommonIV string `json:"common_iv"`
		} `json:"common_context"`
		Sender struct {
			Seq uint64 `json:"sender_sequence_number"`
		} `json:"sender_context"`
	} `json:"responses"`
	AADExample struct {
		Alg         int    `json:"alg"`
		RequestKID  string `json:"request_kid"`
		RequestPIV  string `json:"request_piv"`
		AADArray    string `json:"aad_array"`
		ExternalAAD string `json:"external_aad"`
		AAD         string `json:"aad"`
	} `json:"aad_example_section_5_4"`
	Compression []struct {
		Case        string `json:"case"`
		OptionValue string `json:"option_value"`
	} `json:"compression_examples_section_6_3"`
}

// rfcRequest is one request test vector (RFC 8613 C.4 to C.6).
type rfcRequest struct {
	ID          string  `json:"id"`
	From        string  `json:"security_context_from"`
	Unprotected string  `json:"unprotected_request"`
	PartialIV   string  `json:"partial_iv"`
	KID         string  `json:"kid"`
	KIDContext  *string `json:"kid_context"`
	vectorCrypto
	Protected string `json:"protected_request"`
	Sender    struct {
		Seq uint64 `json:"sender_sequence_number"`
	} `json:"sender_context"`
}

// vectorCrypto is what a request and a response vector both print.
type vectorCrypto struct {
	AADArray    string `json:"aad_array"`
	AAD         string `json:"aad"`
	Plaintext   string `json:"plaintext"`
	Key         string `json:"encryption_key"`
	Nonce       string `json:"nonce"`
	OptionValue string `json:"oscore_option_value"`
	Ciphertext  string `json:"ciphertext"`
}

func loadVectors(t testing.TB) *rfcVectors {
	t.Helper()
	raw, err := os.ReadFile("../testdata/rfc8613-vectors.json")
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v rfcVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if len(v.KeyDerivation) != 6 || len(v.Requests) != 3 || len(v.Responses) != 2 {
		t.Fatalf("unexpected vector counts: %d %d %d", len(v.KeyDerivation), len(v.Requests), len(v.Responses))
	}
	return &v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func eqHex(t testing.TB, what string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Errorf("%s:\n got %x\nwant %s", what, got, want)
	}
}

// vectorContext builds the context of a key_derivation entry.
func vectorContext(t testing.TB, v *rfcVectors, id string) *Context {
	t.Helper()
	for _, k := range v.KeyDerivation {
		if k.ID != id {
			continue
		}
		p := Params{
			MasterSecret: unhex(t, k.Inputs.MasterSecret),
			SenderID:     unhex(t, k.Inputs.SenderID),
			RecipientID:  unhex(t, k.Inputs.RecipientID),
			AEAD:         AEADAlg(k.AEAD),
		}
		if k.Inputs.SaltProvided {
			p.MasterSalt = unhex(t, k.Inputs.MasterSalt)
		}
		if k.Inputs.IDContext != nil {
			p.IDContext = unhex(t, *k.Inputs.IDContext)
		}
		c, err := NewContext(k.ID, p)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return c
	}
	t.Fatalf("no context %s", id)
	return nil
}

func decodeDatagram(t testing.TB, raw []byte) message.Message {
	t.Helper()
	m := message.Message{Options: make(message.Options, 0, 16)}
	if _, err := coder.DefaultCoder.Decode(raw, &m); err != nil {
		t.Fatalf("decode %x: %v", raw, err)
	}
	return m
}

func encodeDatagram(t testing.TB, m message.Message) []byte {
	t.Helper()
	n, err := coder.DefaultCoder.Size(m)
	if err != nil {
		t.Fatalf("size: %v", err)
	}
	buf := make([]byte, n)
	if _, err := coder.DefaultCoder.Encode(m, buf); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf
}

// TestVectorsDerivation checks RFC 8613 C.1-C.3: info bytes, keys, Common
// IV and the nonces for Partial IV 0.
func TestVectorsDerivation(t *testing.T) {
	v := loadVectors(t)
	for _, k := range v.KeyDerivation {
		t.Run(k.ID, func(t *testing.T) {
			c := vectorContext(t, v, k.ID)
			d := c.Derivation()
			eqHex(t, "info sender key", d.SenderKey.Info, k.Intermediate.InfoSenderKey)
			eqHex(t, "info recipient key", d.RecipientKey.Info, k.Intermediate.InfoRecipientKey)
			eqHex(t, "info common iv", d.CommonIV.Info, k.Intermediate.InfoCommonIV)
			eqHex(t, "sender key", c.SenderKey(), k.Outputs.SenderKey)
			eqHex(t, "recipient key", c.RecipientKey(), k.Outputs.RecipientKey)
			eqHex(t, "common iv", c.CommonIV(), k.Outputs.CommonIV)
			n := make([]byte, c.AEAD().NonceLen())
			makeNonce(n, c.SenderID(), []byte{0}, c.CommonIV())
			eqHex(t, "sender nonce piv 0", n, k.Outputs.SenderNonce0)
			makeNonce(n, c.RecipientID(), []byte{0}, c.CommonIV())
			eqHex(t, "recipient nonce piv 0", n, k.Outputs.RecipientNonce)
		})
	}
}

// TestVectorsRequests checks RFC 8613 C.4-C.6 byte for byte: the request
// is protected by the client and verified by the server's context.
func TestVectorsRequests(t *testing.T) {
	v := loadVectors(t)
	servers := map[string]string{"C.1.1": "C.1.2", "C.2.1": "C.2.2", "C.3.1": "C.3.2"}
	for _, r := range v.Requests {
		t.Run(r.ID, func(t *testing.T) {
			c := vectorContext(t, v, r.From)
			if err := c.SetSenderSeq(r.Sender.Seq); err != nil {
				t.Fatal(err)
			}
			req := decodeDatagram(t, unhex(t, r.Unprotected))
			out, b, rep, err := ProtectRequest(c, req, ProtectOptions{IncludeKIDContext: r.KIDContext != nil})
			if err != nil {
				t.Fatalf("protect: %v", err)
			}
			eqHex(t, "partial iv", rep.Complete().PartialIV, r.PartialIV)
			eqHex(t, "kid", rep.KID, r.KID)
			if r.KIDContext != nil {
				eqHex(t, "kid context", rep.KIDContext, *r.KIDContext)
			}
			rep.Complete()
			eqHex(t, "aad_array", rep.Complete().AAD.AADArray, r.AADArray)
			eqHex(t, "aad", rep.AAD.AAD, r.AAD)
			eqHex(t, "plaintext", rep.Plaintext, r.Plaintext)
			eqHex(t, "key", rep.Key.Key, r.Key)
			eqHex(t, "nonce", rep.Nonce.Nonce, r.Nonce)
			eqHex(t, "binding nonce", b.Nonce(), r.Nonce)
			eqHex(t, "option value", rep.OptionValue, r.OptionValue)
			eqHex(t, "ciphertext", rep.Ciphertext, r.Ciphertext)
			eqHex(t, "protected request", encodeDatagram(t, out), r.Protected)

			srv := vectorContext(t, v, servers[r.From])
			lookup := func(kid, kidctx []byte) (*Context, error) {
				if bytes.Equal(kid, srv.RecipientID()) {
					return srv, nil
				}
				return nil, nil
			}
			got, sb, srep, err := UnprotectRequest(decodeDatagram(t, unhex(t, r.Protected)), lookup)
			if err != nil {
				t.Fatalf("unprotect: %v", err)
			}
			eqHex(t, "server plaintext", srep.Plaintext, r.Plaintext)
			eqHex(t, "server nonce", sb.Nonce(), r.Nonce)
			eqHex(t, "unprotected request", encodeDatagram(t, got), r.Unprotected)
		})
	}
}

// TestVectorsResponses checks RFC 8613 C.7 (no Partial IV) and C.8 (with
// Partial IV) byte for byte, and that the client verifies them. The
// bindings come from the real request path: the client protects the
// request the response answers (C.4), the server unprotects the RFC's
// bytes of it; the server's binding must hold the request nonce derived
// here from the RFC's words (rfcNonce), which is the nonce the RFC prints.
func TestVectorsResponses(t *testing.T) {
	v := loadVectors(t)
	for _, r := range v.Responses {
		t.Run(r.ID, func(t *testing.T) {
			q := requestVector(t, v, r.ResponseTo)
			cli := vectorContext(t, v, q.From)
			if err := cli.SetSenderSeq(q.Sender.Seq); err != nil {
				t.Fatal(err)
			}
			_, cb, _, err := ProtectRequest(cli, decodeDatagram(t, unhex(t, q.Unprotected)), ProtectOptions{})
			if err != nil {
				t.Fatalf("protect %s: %v", q.ID, err)
			}
			srv := vectorContext(t, v, r.From)
			if err := srv.SetSenderSeq(r.Sender.Seq); err != nil {
				t.Fatal(err)
			}
			_, b, _, err := UnprotectRequest(decodeDatagram(t, unhex(t, q.Protected)), recipientLookup(srv))
			if err != nil {
				t.Fatalf("unprotect %s: %v", q.ID, err)
			}
			reqNonce := rfcNonce(unhex(t, r.RequestKID), unhex(t, r.RequestPIV), unhex(t, r.Common.CommonIV))
			eqHex(t, "request nonce derived from RFC 8613 5.2", reqNonce, q.Nonce)
			eqHex(t, "server binding's request nonce", b.Nonce(), q.Nonce)
			eqHex(t, "client binding's request nonce", cb.Nonce(), q.Nonce)

			resp := decodeDatagram(t, unhex(t, r.Unprotected))
			out, rep, err := ProtectResponse(b, resp, ProtectOptions{ResponsePIV: r.PartialIV != nil})
			if err != nil {
				t.Fatalf("protect: %v", err)
			}
			if rep.Complete(); r.PartialIV != nil {
				eqHex(t, "partial iv", rep.PartialIV, *r.PartialIV)
			} else if rep.PartialIV != nil {
				t.Errorf("unexpected partial iv %x", rep.PartialIV)
			}
			eqHex(t, "aad_array", rep.AAD.AADArray, r.AADArray)
			eqHex(t, "aad", rep.AAD.AAD, r.AAD)
			eqHex(t, "plaintext", rep.Plaintext, r.Plaintext)
			eqHex(t, "key", rep.Key.Key, r.Key)
			eqHex(t, "nonce", rep.Nonce.Nonce, r.Nonce)
			eqHex(t, "option value", rep.OptionValue, r.OptionValue)
			eqHex(t, "ciphertext", rep.Ciphertext, r.Ciphertext)
			eqHex(t, "protected response", encodeDatagram(t, out), r.Protected)

			got, _, err := UnprotectResponse(cb, decodeDatagram(t, unhex(t, r.Protected)))
			if err != nil {
				t.Fatalf("unprotect: %v", err)
			}
			eqHex(t, "unprotected response", encodeDatagram(t, got), r.Unprotected)
		})
	}
}

// rfcNonce builds an AEAD nonce as RFC 8613 5.2 words it, apart from the
// package's makeNonce: the ID padded with zeros on the left to the nonce
// length minus 6 bytes, preceded by its length in one byte, then the
// Partial IV padded on the left to 5 bytes, XORed with the Common IV.
func rfcNonce(id, piv, commonIV []byte) []byte {
	n := len(commonIV)
	x := []byte{byte(len(id))}
	x = append(x, make([]byte, n-6-len(id))...)
	x = append(x, id...)
	x = append(x, make([]byte, 5-len(piv))...)
	x = append(x, piv...)
	for i := range x {
		x[i] ^= commonIV[i]
	}
	return x
}

// requestVector finds a request test vector by its RFC section.
func requestVector(t testing.TB, v *rfcVectors, id string) *rfcRequest {
	t.Helper()
	for i := range v.Requests {
		if v.Requests[i].ID == id {
			return &v.Requests[i]
		}
	}
	t.Fatalf("no request vector %s", id)
	return nil
}

// TestVectorsAAD checks the RFC 8613 5.4 example.
func TestVectorsAAD(t *testing.T) {
	v := loadVectors(t)
	e := v.AADExample
	r := aadReport(AEADAlg(e.Alg), unhex(t, e.RequestKID), unhex(t, e.RequestPIV))
	eqHex(t, "aad_array", r.AADArray, e.AADArray)
	eqHex(t, "external_aad", r.ExternalAAD, e.ExternalAAD)
	eqHex(t, "aad", r.AAD, e.AAD)
}
