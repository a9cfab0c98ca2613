// Package cborenc appends the few CBOR items (RFC 8949) that OSCORE, Group
// OSCORE and EDHOC build by hand: heads, integers, byte and text strings,
// always with the shortest head (RFC 8949 4.2.1, deterministic encoding).
// Building the bytes directly costs nanoseconds and no allocation beyond
// the output. oscore's TestCBORAgreesWithLibrary checks the shapes against
// fxamacker/cbor, and the RFC 9529 and Group OSCORE vector tests check them
// byte for byte.
package cborenc

// AppendHead appends a CBOR head for major type mt with argument n.
func AppendHead(dst []byte, mt byte, n uint64) []byte {
	mt <<= 5
	switch {
	case n < 24:
		return append(dst, mt|byte(n))
	case n <= 0xff:
		return append(dst, mt|24, byte(n))
	case n <= 0xffff:
		return append(dst, mt|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, mt|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, mt|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendInt appends v as a CBOR unsigned or negative integer.
func AppendInt[T ~int | ~int64](dst []byte, v T) []byte {
	if v < 0 {
		return AppendHead(dst, 1, uint64(-1-v))
	}
	return AppendHead(dst, 0, uint64(v))
}

// AppendBstr appends b as a CBOR byte string.
func AppendBstr(dst, b []byte) []byte {
	return append(AppendHead(dst, 2, uint64(len(b))), b...)
}

// AppendTstr appends s as a CBOR text string.
func AppendTstr(dst []byte, s string) []byte {
	return append(AppendHead(dst, 3, uint64(len(s))), s...)
}
