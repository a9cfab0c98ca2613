package oscore

import "encoding/binary"

// pivPadLen is the width of the padded Partial IV in the nonce (RFC 8613 5.2).
const pivPadLen = 5

// makeNonce builds the AEAD nonce of RFC 8613 5.2 into dst (len = nonce
// length): S = len(ID_PIV) in the first byte, ID_PIV left-padded to
// nonce_len-6 bytes, the Partial IV left-padded to 5 bytes, all XORed with
// the Common IV. The caller guarantees len(idPIV) <= nonce_len-6 and
// len(piv) <= 5.
func makeNonce(dst, idPIV, piv, commonIV []byte) {
	n := len(commonIV)
	clear(dst[:n])
	dst[0] = byte(len(idPIV))
	copy(dst[n-pivPadLen-len(idPIV):n-pivPadLen], idPIV)
	copy(dst[n-len(piv):n], piv)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(dst[i:])^binary.LittleEndian.Uint64(commonIV[i:]))
	}
	for ; i < n; i++ {
		dst[i] ^= commonIV[i]
	}
}
