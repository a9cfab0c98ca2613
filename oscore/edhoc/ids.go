package edhoc

import (
	"bytes"
	"errors"
	"fmt"

	"oscore-lab/oscore/internal/cborenc"
)

// intLike reports whether the byte c is the one-byte CBOR encoding of an
// integer in -24..23 (0x00-0x17 and 0x20-0x37).
func intLike(c byte) bool { return c <= 0x17 || (c >= 0x20 && c <= 0x37) }

// AppendID appends the wire form of a connection identifier or a compact
// kid (RFC 9528 3.3.2, 3.5.3.2): a one-byte value that is itself the
// encoding of an integer -24..23 goes as that integer, anything else as a
// byte string. So 0x2d is sent as 2d (-14), 0x18 as 41 18.
func AppendID(dst, id []byte) []byte {
	if len(id) == 1 && intLike(id[0]) {
		return append(dst, id[0])
	}
	return cborenc.AppendBstr(dst, id)
}

// EncodeID returns the wire form of id (see AppendID).
func EncodeID(id []byte) []byte { return AppendID(nil, id) }

var errIDForm = errors.New("identifier: a one-byte value that encodes an integer -24..23 must be sent as that integer (RFC 9528 3.3.2)")

// id reads a connection identifier or compact kid and returns its byte
// string value; it refuses the byte string form of an int-like byte and
// integers outside -24..23.
func (r *reader) id() ([]byte, error) {
	mt, err := r.peek()
	if err != nil {
		return nil, err
	}
	switch mt {
	case mtUint, mtNegInt:
		c := r.b[r.off]
		if !intLike(c) {
			return nil, fmt.Errorf("identifier: integer 0x%02x outside -24..23", c)
		}
		r.off++
		return []byte{c}, nil
	case mtBstr:
		v, err := r.bstr()
		if err != nil {
			return nil, err
		}
		if len(v) == 1 && intLike(v[0]) {
			return nil, errIDForm
		}
		return bytes.Clone(v), nil
	}
	return nil, fmt.Errorf("identifier: major type %d, want an integer or a byte string", mt)
}
