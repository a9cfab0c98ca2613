package udpserver

import (
	"net"
	"testing"
)

// FuzzReceive feeds arbitrary datagrams, each twice, to a server's read
// path: nothing panics and the duplicate table stays within its bound.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{0x40, 0x01, 0x12, 0x34, 0xb1, 'x'})        // CON GET /x
	f.Add([]byte{0x54, 0x01, 0, 1, 't', 'o', 'k', '1'})     // NON GET with a token
	f.Add([]byte{0x40, 0x01, 0xab, 0xcd, 0xf0})             // reserved option nibble
	f.Add([]byte{0x60, 0x00, 0, 7})                         // empty ACK
	f.Add([]byte{0x40, 0x00, 0, 8})                         // CoAP ping
	f.Add([]byte{0x80, 0x01, 0, 9})                         // version 2
	f.Add([]byte{0x48, 0x01, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}) // 8-byte token, no options
	s, _, _ := counting(f, Config{DedupEntries: 64})
	peer := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}
	f.Fuzz(func(t *testing.T, d []byte) {
		s.receive(d, peer, nil)
		s.receive(d, peer, nil)
		if n := s.Remembered(); n > 64 {
			t.Fatalf("%d requests remembered, bound 64", n)
		}
	})
}
