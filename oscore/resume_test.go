package oscore

import (
	"errors"
	"slices"
	"testing"
)

func seqTestContext(t *testing.T, window int) *Context {
	t.Helper()
	c, err := NewContext("CTX", Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SenderID: []byte{0x5f}, RecipientID: []byte{0x01}, ReplayWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// take protects one request and returns the sequence number it used.
func take(t *testing.T, c *Context) uint64 {
	t.Helper()
	n := c.SenderSeq()
	if _, _, _, err := ProtectRequest(c, getRequest("/x"), ProtectOptions{}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSenderSeqNeverMovesBack: a pin may skip numbers but not return to a
// used one (RFC 8613 7.2); ReuseSenderSeq reuses one number, then the
// numbers resume above every number used.
func TestSenderSeqNeverMovesBack(t *testing.T) {
	c := seqTestContext(t, 0)
	if err := c.SetSenderSeq(20); err != nil {
		t.Fatal(err)
	}
	take(t, c)
	take(t, c) // 20, 21 used
	if err := c.SetSenderSeq(21); !errors.Is(err, ErrSequenceReused) {
		t.Fatalf("pin back to 21: %v, want ErrSequenceReused", err)
	}
	if err := c.SetSenderSeq(5); !errors.Is(err, ErrSequenceReused) {
		t.Fatalf("pin back to 5: %v, want ErrSequenceReused", err)
	}
	if err := c.SetSenderSeq(22); err != nil {
		t.Fatalf("pin to the next fresh number: %v", err)
	}
	if err := c.ReuseSenderSeq(20); err != nil {
		t.Fatal(err)
	}
	if got := []uint64{take(t, c), take(t, c)}; !slices.Equal(got, []uint64{20, 22}) {
		t.Errorf("after ReuseSenderSeq(20): used %v, want [20 22]", got)
	}
	if c.FreshSeq() != 23 {
		t.Errorf("FreshSeq %d, want 23", c.FreshSeq())
	}
}

// TestResumeFrom: a context rebuilt with the same keys (here only the
// replay window changed) continues the sequence numbers and keeps the
// replay window; numbers older than the old window count as received.
func TestResumeFrom(t *testing.T) {
	client := seqTestContext(t, 0)
	server := func(w int) *Context {
		c, err := NewContext("CTX", Params{MasterSecret: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			SenderID: []byte{0x01}, RecipientID: []byte{0x5f}, ReplayWindow: w})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	srv := server(4)
	var reqs [][]byte
	for i := 0; i < 10; i++ {
		m, _, _, err := ProtectRequest(client, getRequest("/x"), ProtectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := m.Options.GetBytes(optOSCORE)
		reqs = append(reqs, raw)
		if i == 3 || i == 9 {
			continue // 3 and 9 never reach the server
		}
		if _, _, _, err := UnprotectRequest(m, recipientLookup(srv)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	take(t, srv)
	take(t, srv)
	grown := server(32)
	if err := grown.ResumeFrom(srv); err != nil {
		t.Fatal(err)
	}
	if grown.SenderSeq() != 2 || grown.FreshSeq() != 2 {
		t.Errorf("resumed sender seq %d fresh %d, want 2 and 2", grown.SenderSeq(), grown.FreshSeq())
	}
	st := grown.Replay()
	// Old window 4 at highest 8 knew 5..8 (all received); 0..4 lie left of it
	// and count as received in the larger window, 3 included.
	want := []uint64{8, 7, 6, 5, 4, 3, 2, 1, 0}
	if st.Highest != 8 || !slices.Equal(st.Seen, want) {
		t.Errorf("resumed replay window %+v, want highest 8 seen %v", st, want)
	}
	if err := grown.ResumeFrom(seqTestContext(t, 0)); err == nil {
		t.Error("resumed from a context with other keys")
	}
}

// TestPersistSeq: the number a restart begins at is saved before any
// number at or above it is used, once every k messages (RFC 8613 B.1.1);
// a failed save fails the protect.
func TestPersistSeq(t *testing.T) {
	c := seqTestContext(t, 0)
	var saved []uint64
	fail := false
	c.PersistSeq(0, 4, func(next uint64) error {
		if fail {
			return errors.New("disk full")
		}
		saved = append(saved, next)
		return nil
	})
	for i := 0; i < 9; i++ {
		if n := take(t, c); saved[len(saved)-1] <= n {
			t.Fatalf("number %d used with %v saved", n, saved)
		}
	}
	if !slices.Equal(saved, []uint64{4, 8, 12}) {
		t.Errorf("saved %v, want [4 8 12]", saved)
	}
	restarted := seqTestContext(t, 0)
	if err := restarted.SetSenderSeq(saved[len(saved)-1]); err != nil || take(t, restarted) != 12 {
		t.Errorf("a restart from the saved number does not begin above every used one")
	}
	fail = true
	for i := 0; i < 3; i++ {
		take(t, c) // 9, 10, 11: covered
	}
	if _, _, _, err := ProtectRequest(c, getRequest("/x"), ProtectOptions{}); err == nil {
		t.Error("protected with number 12 although saving failed")
	}
}
