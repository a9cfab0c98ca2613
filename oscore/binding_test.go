package oscore

import (
	"bytes"
	"sync"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
)

// newBinding makes a Binding outside a protect or unprotect, for tests
// that build responses to a request of their own (see initBinding).
func newBinding(c *Context, kid, piv, kidContext []byte, observe bool, tok message.Token) (*Binding, error) {
	return initBinding(new(Binding), c, kid, piv, kidContext, observe, tok)
}

// requestBindings protects m with cli and unprotects it with lookup, and
// returns the client's and the server's Binding and the protect report.
func requestBindings(t *testing.T, cli *Context, lookup ContextLookup, m message.Message, o ProtectOptions) (cb, sb *Binding, rep *Report) {
	t.Helper()
	p, cb, rep, err := ProtectRequest(cli, m, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, sb, _, err = UnprotectRequest(p, lookup); err != nil {
		t.Fatal(err)
	}
	return cb, sb, rep
}

// TestBindingIdentity: the client's and the server's Binding of one
// request read back the request's kid, Partial IV, kid context, nonce and
// token as the OSCORE option and the report show them (RFC 8613 5.4, 6.1),
// with the kid context absent (nil) unless the request carried one.
func TestBindingIdentity(t *testing.T) {
	secret, idctx := []byte("0123456789abcdef"), []byte{0x37, 0xcb, 0xf3, 0x21, 0x00, 0x17, 0xa2, 0xd3}
	cli := mustContext(t, "C-S", Params{MasterSecret: secret, IDContext: idctx, SenderID: []byte{0x5f}, RecipientID: []byte{}})
	srv := mustContext(t, "S-C", Params{MasterSecret: secret, IDContext: idctx, SenderID: []byte{}, RecipientID: []byte{0x5f}})
	for _, include := range []bool{false, true} {
		m := getRequest("/alarm_status")
		m.Token = message.Token{1, 2, 3, 4, 5, 6, 7, 8}
		cb, sb, rep := requestBindings(t, cli, recipientLookup(srv), m, ProtectOptions{IncludeKIDContext: include})
		rep.Complete()
		var wantCtx []byte
		if include {
			wantCtx = idctx
		}
		for side, b := range map[string]*Binding{"client": cb, "server": sb} {
			if !bytes.Equal(b.KID(), []byte{0x5f}) || !bytes.Equal(b.PIV(), rep.PartialIV) || !bytes.Equal(b.Nonce(), rep.Nonce.Nonce) ||
				!bytes.Equal(b.Token(), m.Token) || len(b.Nonce()) != 13 {
				t.Errorf("%s binding: kid %x piv %x nonce %x token %x; report kid 5f piv %x nonce %x", side, b.KID(), b.PIV(), b.Nonce(), b.Token(), rep.PartialIV, rep.Nonce.Nonce)
			}
			if got := b.KIDContext(); !bytes.Equal(got, wantCtx) || (got == nil) != (wantCtx == nil) {
				t.Errorf("%s binding, kid context sent %v: KIDContext() = %x, want %x", side, include, got, wantCtx)
			}
		}
	}
}

// TestBindingConcurrentReads: reading a Binding's identity while
// notifications are verified under it is race-free (go test -race).
func TestBindingConcurrentReads(t *testing.T) {
	cli, srv := pair(t, 0, 0)
	cb, sb, _ := requestBindings(t, cli, fixedLookup(srv), withOption(getRequest("/counter"), optObserve, nil), ProtectOptions{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			_, _, _, _, _ = cb.KID(), cb.PIV(), cb.Nonce(), cb.Token(), cb.KIDContext()
			_ = cb.NotificationNumber()
		}
	}()
	for i := range 20 {
		n := withOption(contentResponse("n"), optObserve, []byte{byte(i + 1)})
		resp, _, err := ProtectResponse(sb, n, ProtectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := UnprotectResponse(cb, resp); err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
	}
	wg.Wait()
}
