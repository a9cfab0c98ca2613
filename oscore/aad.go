package oscore

import (
	"fmt"

	"oscore-lab/oscore/internal/cborenc"
)

// encrypt0Prefix is the start of Enc_structure = ["Encrypt0", h”, external_aad]
// (RFC 8613 5.4; RFC 9052 5.3): array(3), tstr "Encrypt0", empty protected bstr.
var encrypt0Prefix = []byte{0x83, 0x68, 'E', 'n', 'c', 'r', 'y', 'p', 't', '0', 0x40}

// appendAAD appends the AAD of RFC 8613 5.4 to dst and returns it with the
// offsets of aad_array and external_aad inside it:
//
//	aad_array    = [oscore_version: 1, algorithms: [alg_aead], request_kid: bstr,
//	                request_piv: bstr, options: bstr]
//	external_aad = bstr .cbor aad_array
//	AAD          = ["Encrypt0", h'', external_aad]
//
// options carries the Class I options; none are defined, so it is h”.
func appendAAD(dst []byte, alg AEADAlg, requestKID, requestPIV []byte) (out []byte, extStart, arrStart int) {
	arrLen := aadArrayLen(alg, requestKID, requestPIV)
	dst = append(dst, encrypt0Prefix...)
	extStart = len(dst)
	dst = cborenc.AppendHead(dst, 2, uint64(arrLen))
	arrStart = len(dst)
	dst = append(dst, 0x85, 0x01, 0x81)
	dst = cborenc.AppendInt(dst, int(alg))
	dst = cborenc.AppendBstr(dst, requestKID)
	dst = cborenc.AppendBstr(dst, requestPIV)
	dst = append(dst, 0x40)
	return dst, extStart, arrStart
}

// aadArrayLen is the length of aad_array (RFC 8613 5.4).
func aadArrayLen(alg AEADAlg, requestKID, requestPIV []byte) int {
	return 3 + cborIntLen(int(alg)) + headLen(len(requestKID)) + len(requestKID) +
		headLen(len(requestPIV)) + len(requestPIV) + 1
}

// aadLen is the length of the AAD appendAAD writes, so that buffers are
// made at their exact size.
func aadLen(alg AEADAlg, requestKID, requestPIV []byte) int {
	n := aadArrayLen(alg, requestKID, requestPIV)
	return len(encrypt0Prefix) + headLen(n) + n
}

func cborIntLen(v int) int {
	if v < 0 {
		v = -1 - v
	}
	return headLen(v)
}

// aadReport fills the AAD part of a Report.
func aadReport(alg AEADAlg, requestKID, requestPIV []byte) AADReport {
	aad, ext, arr := appendAAD(nil, alg, requestKID, requestPIV)
	return AADReport{
		Alg:         int(alg),
		RequestKID:  Hex(nonNil(clone(requestKID))),
		RequestPIV:  Hex(nonNil(clone(requestPIV))),
		Options:     Hex{},
		AADArray:    Hex(aad[arr:]),
		ExternalAAD: Hex(aad[ext:]),
		AAD:         Hex(aad),
		Diag: fmt.Sprintf(`["Encrypt0", h'', << [1, [%d], h'%s', h'%s', h''] >>]`,
			int(alg), Hex(requestKID), Hex(requestPIV)),
	}
}
