package oscore

import (
	"errors"
	"sync"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
)

func TestReplayWindow(t *testing.T) {
	w := newReplayWindow(32)
	steps := []struct {
		seq  uint64
		want bool
	}{
		{5, true}, {5, false}, {3, true}, {3, false}, {40, true}, // window now 9..40
		{8, false}, {9, true}, {9, false}, {39, true}, {41, true}, {10, true}, {10, false},
		{1000, true}, {968, false}, {969, true}, {999, true}, {999, false},
	}
	for i, s := range steps {
		if got := w.accept(s.seq); got != s.want {
			t.Fatalf("step %d: accept(%d) = %v, want %v (state %+v)", i, s.seq, got, s.want, w.state())
		}
	}
	st := w.state()
	if st.Highest != 1000 || st.Window != 32 || len(st.Seen) != 3 || st.Seen[0] != 1000 || st.Seen[1] != 999 || st.Seen[2] != 969 {
		t.Fatalf("state %+v", st)
	}
}

func TestReplayWindowSizes(t *testing.T) {
	for _, size := range []int{1, 31, 64, 65, 200} {
		w := newReplayWindow(size)
		for s := uint64(0); s < 500; s += 3 {
			if !w.accept(s) {
				t.Fatalf("size %d: fresh %d refused", size, s)
			}
		}
		hi := uint64(498)
		for d := uint64(0); d <= hi && d < 300; d++ {
			s := hi - d
			fresh := s%3 != 0 && d < uint64(size)
			if got := w.check(s); got != fresh {
				t.Fatalf("size %d: check(%d) = %v, want %v", size, s, got, fresh)
			}
		}
	}
}

// TestReplayThroughContext: a replayed request gets ErrReplay (4.01), a
// request that fails decryption leaves the window untouched (RFC 8613 7.4).
func TestReplayThroughContext(t *testing.T) {
	cli, srv := pair(t, AESCCM16_64_128, 0)
	lookup := recipientLookup(srv)
	req := getRequest("/a")
	prot, _, _, err := ProtectRequest(cli, req, ProtectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tampered := prot
	tampered.Payload = append([]byte(nil), prot.Payload...)
	tampered.Payload[0] ^= 1
	if _, _, _, err := UnprotectRequest(tampered, lookup); !errors.Is(err, ErrDecryptionFailed) {
		t.Fatalf("tampered: %v", err)
	}
	if srv.Replay().Highest != -1 {
		t.Fatal("window updated by a failed decryption")
	}
	if _, _, _, err := UnprotectRequest(prot, lookup); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = UnprotectRequest(prot, lookup)
	var oe *Error
	if !errors.Is(err, ErrReplay) || !errors.As(err, &oe) || oe.Code != codes.Unauthorized || oe.Diagnostic != "Replay detected" {
		t.Fatalf("replay: %v", err)
	}
	srv.ResetReplay()
	if _, _, _, err := UnprotectRequest(prot, lookup); err != nil {
		t.Fatalf("after ResetReplay: %v", err)
	}
}

func TestSequenceNumberLimit(t *testing.T) {
	cli, _ := pair(t, AESCCM16_64_128, 0)
	if err := cli.SetSenderSeq(MaxSequenceNumber + 1); err == nil {
		t.Fatal("SetSenderSeq above 2^40-1 accepted")
	}
	if err := cli.SetSenderSeq(MaxSequenceNumber); err != nil {
		t.Fatal(err)
	}
	_, _, rep, err := ProtectRequest(cli, getRequest("/"), ProtectOptions{})
	if err != nil {
		t.Fatalf("last number: %v", err)
	}
	eqHex(t, "last piv", rep.Complete().PartialIV, "ffffffffff")
	_, _, _, err = ProtectRequest(cli, getRequest("/"), ProtectOptions{})
	if !errors.Is(err, ErrSequenceExhausted) {
		t.Fatalf("after 2^40-1: %v", err)
	}
}

// TestConcurrentProtectUniqueNonces: many goroutines protecting at once on
// one context never use a (key, nonce) pair twice (RFC 8613 7.2.1), and a
// server accepts every request exactly once.
func TestConcurrentProtectUniqueNonces(t *testing.T) {
	cli, srv := pair(t, AESCCM16_64_128, 0)
	const workers, per = 16, 200
	var mu sync.Mutex
	seen := make(map[string]bool, workers*per)
	var wg sync.WaitGroup
	prots := make(chan message.Message, workers*per)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				prot, b, rep, err := ProtectRequest(cli, getRequest("/c"), ProtectOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				// A response with its own Partial IV on the server side too.
				key := string(rep.Complete().Key.Key) + "/" + string(b.Nonce())
				mu.Lock()
				if seen[key] {
					t.Errorf("nonce %x used twice", b.Nonce())
				}
				seen[key] = true
				mu.Unlock()
				prots <- prot
			}
		}()
	}
	wg.Wait()
	close(prots)
	if len(seen) != workers*per || cli.SenderSeq() != workers*per {
		t.Fatalf("%d nonces, next seq %d", len(seen), cli.SenderSeq())
	}
	// The server verifies them concurrently, in any order, with a window
	// large enough for the reordering.
	srv2 := mustContext(t, "S-C-wide", withWindow(srv.Params(), 4096))
	lookup := recipientLookup(srv2)
	var ok sync.WaitGroup
	var accepted, refused int
	var amu sync.Mutex
	all := make([]message.Message, 0, workers*per)
	for p := range prots {
		all = append(all, p)
	}
	for i := range workers {
		ok.Add(1)
		go func() {
			defer ok.Done()
			for j := i; j < len(all); j += workers {
				// Each request twice: exactly one acceptance.
				for range 2 {
					_, _, _, err := UnprotectRequest(all[j], lookup)
					amu.Lock()
					if err == nil {
						accepted++
					} else if errors.Is(err, ErrReplay) {
						refused++
					} else {
						t.Error(err)
					}
					amu.Unlock()
				}
			}
		}()
	}
	ok.Wait()
	if accepted != workers*per || refused != workers*per {
		t.Fatalf("accepted %d refused %d", accepted, refused)
	}
}

// TestConcurrentResponsesUniqueNonces: server responses with own Partial
// IVs share the Sender Sequence Number with requests safely.
func TestConcurrentResponsesUniqueNonces(t *testing.T) {
	cli, srv := pair(t, ChaCha20Poly1305, 0)
	srv = mustContext(t, "S", withWindow(srv.Params(), 4096))
	var bindings []*Binding
	for range 64 {
		prot, _, _, err := ProtectRequest(cli, getRequest("/r"), ProtectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, b, _, err := UnprotectRequest(prot, recipientLookup(srv))
		if err != nil {
			t.Fatal(err)
		}
		bindings = append(bindings, b)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for _, b := range bindings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				_, rep, err := ProtectResponse(b, contentResponse("x"), ProtectOptions{ResponsePIV: true})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[string(rep.Complete().Nonce.Nonce)] {
					t.Errorf("nonce %x reused", rep.Nonce.Nonce)
				}
				seen[string(rep.Nonce.Nonce)] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 64*20 {
		t.Fatalf("%d nonces", len(seen))
	}
}

func withWindow(p Params, w int) Params { p.ReplayWindow = w; return p }
