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
