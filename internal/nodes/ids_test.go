package nodes

import "testing"

// TestIDSourceMIDsDoNotRepeat: a receiver deduplicates by MID (RFC 7252 4.5),
// so the lab's MIDs must not repeat within a window of recent requests.
func TestIDSourceMIDsDoNotRepeat(t *testing.T) {
	s := newIDSource("draft-b3")
	seen := map[uint16]bool{}
	for i := 0; i < 65536; i++ {
		m := s.mid()
		if seen[m] {
			t.Fatalf("MID %#04x repeated after %d requests", m, i)
		}
		seen[m] = true
	}
	a, b := newIDSource("x"), newIDSource("x")
	if a.mid() != b.mid() || string(a.token()) != string(b.token()) {
		t.Fatal("same seed, different IDs: runs would not be reproducible")
	}
}

// TestRandomIDs: with RandomIDs two labs running the same scenario put
// different tokens on the wire; without it, the same ones.
func TestRandomIDs(t *testing.T) {
	firstToken := func(random bool) string {
		s := builtinScenario(t, "draft-b3")
		lab, bus := startLab(t, s)
		lab.RandomIDs(random)
		st := s.Steps[0]
		st.Token, st.MID, st.HopTokens, st.HopMIDs = "", nil, nil, nil
		r := send(t, lab, st)
		return string(decode(t, datagrams(bus, r.Exchange)[0].Bytes).Token)
	}
	if a, b := firstToken(false), firstToken(false); a != b {
		t.Errorf("seeded: tokens %x and %x differ", a, b)
	}
	if a, b := firstToken(true), firstToken(true); a == b {
		t.Errorf("random: both runs used token %x", a)
	}
}
