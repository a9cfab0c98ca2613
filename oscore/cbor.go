package oscore

// Hand-built CBOR (RFC 8949) for the few fixed structures OSCORE needs: the
// HKDF info array (RFC 8613 3.2.1) and the AAD (RFC 8613 5.4). Building the
// bytes directly costs nanoseconds and no allocations beyond the output;
// cbor_test.go checks every shape against fxamacker/cbor.

// appendHead appends a CBOR initial byte for major type mt and argument n.
func appendHead(dst []byte, mt byte, n uint64) []byte {
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

func appendInt(dst []byte, v int) []byte {
	if v < 0 {
		return appendHead(dst, 1, uint64(-1-v))
	}
	return appendHead(dst, 0, uint64(v))
}

func appendBstr(dst, b []byte) []byte {
	dst = appendHead(dst, 2, uint64(len(b)))
	return append(dst, b...)
}

func appendTstr(dst []byte, s string) []byte {
	dst = appendHead(dst, 3, uint64(len(s)))
	return append(dst, s...)
}

const cborNull = 0xf6

// headLen is the length of a CBOR head with argument n.
func headLen(n int) int {
	switch {
	case n < 24:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	}
	return 5
}
