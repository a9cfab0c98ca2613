package oscore

import (
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// TestOuterMaxAge: with OuterMaxAge the Max-Age 0 of an OSCORE error stays
// outer only in the layer applied over it (RFC 8613 4.1.3.1, 8.2); without
// it Max-Age is Class E like any response option (RFC 8613 4.1.3.1).
func TestOuterMaxAge(t *testing.T) {
	client := seqTestContext(t, 0)
	srv, err := NewContext("CTX", Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SenderID: []byte{0x01}, RecipientID: []byte{0x5f}})
	if err != nil {
		t.Fatal(err)
	}
	for _, outer := range []bool{false, true} {
		req, _, _, err := ProtectRequest(client, getRequest("/x"), ProtectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, b, _, err := UnprotectRequest(req, recipientLookup(srv))
		if err != nil {
			t.Fatal(err)
		}
		e := message.Message{Code: codes.Unauthorized, Payload: []byte("Replay detected")}
		e.Options = e.Options.Add(message.Option{ID: optMaxAge, Value: []byte{}})
		out, rep, err := ProtectResponse(b, e, ProtectOptions{OuterMaxAge: outer})
		if err != nil {
			t.Fatal(err)
		}
		v, err := out.Options.GetUint32(optMaxAge)
		if got := err == nil && v == 0; got != outer {
			t.Errorf("OuterMaxAge %v: outer Max-Age 0 present %v", outer, got)
		}
		rows := rep.Complete().Options
		if len(rows) != 1 || (rows[0].Where == "outer") != outer {
			t.Errorf("OuterMaxAge %v: report rows %+v", outer, rows)
		}
	}
}
