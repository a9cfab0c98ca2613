package oscore

import (
	"bytes"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
)

// TestInnerBlock2 splits a large response into Inner Block2 pieces,
// protects and verifies each under its own request, and reassembles
// (RFC 8613 4.1.3.4.1).
func TestInnerBlock2(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	body := bytes.Repeat([]byte("0123456789"), 30) // 300 bytes
	resp := withOption(contentResponse(""), optContentFormat, []byte{0})
	resp.Payload = body
	pieces, err := SplitBlock2(resp, 2) // 64-byte blocks
	if err != nil || len(pieces) != 5 {
		t.Fatalf("%d pieces, %v", len(pieces), err)
	}
	var got []message.Message
	for i, p := range pieces {
		prot, cb, _, _ := ProtectRequest(cli, getRequest("/big"), ProtectOptions{})
		_, sb, _, err := UnprotectRequest(prot, recipientLookup(srv))
		if err != nil {
			t.Fatal(err)
		}
		pr, rep, err := ProtectResponse(sb, p, ProtectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Options.HasOption(optBlock2) {
			t.Fatalf("piece %d: Block2 outer", i)
		}
		inner := false
		for _, o := range rep.Complete().Options {
			inner = inner || (o.Number == optBlock2 && o.Where == "inner")
		}
		if !inner {
			t.Fatalf("piece %d: Block2 not inner", i)
		}
		back, _, err := UnprotectResponse(cb, pr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, back)
	}
	whole, err := ReassembleBlock2(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(whole.Payload, body) || whole.Options.HasOption(optBlock2) || whole.Options.HasOption(optSize2) || !whole.Options.HasOption(optContentFormat) {
		t.Fatalf("reassembled %s", FormatMessage(whole))
	}
	// Broken sequences are refused.
	if _, err := ReassembleBlock2([]message.Message{got[0], got[2]}); err == nil {
		t.Error("gap accepted")
	}
	if _, err := ReassembleBlock2(got[:4]); err == nil {
		t.Error("missing last block accepted")
	}
	if _, err := SplitBlock2(resp, 7); err == nil {
		t.Error("SZX 7 accepted")
	}
	small, _ := SplitBlock2(contentResponse("tiny"), 0)
	if len(small) != 1 || small[0].Options.HasOption(optBlock2) {
		t.Error("small payload split")
	}
	if b, err := ParseBlock([]byte{0x1a}); err != nil || b.Num != 1 || !b.More || b.SZX != 2 {
		t.Errorf("ParseBlock %+v %v", b, err)
	}
	if _, err := ParseBlock([]byte{0x0f}); err == nil {
		t.Error("SZX 7 parsed")
	}
}
