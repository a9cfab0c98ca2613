package oscore

// Hand-built CBOR (RFC 8949) for the few fixed structures OSCORE needs: the
// HKDF info array (RFC 8613 3.2.1) and the AAD (RFC 8613 5.4), appended with
// oscore/internal/cborenc; TestCBORAgreesWithLibrary checks every shape against
// fxamacker/cbor.

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
