package oscore

// pivPadLen is the width of the padded Partial IV in the nonce (RFC 8613 5.2).
const pivPadLen = 5

// makeNonce builds the AEAD nonce of RFC 8613 5.2 into dst (len = nonce
// length): S = len(ID_PIV) in the first byte, ID_PIV left-padded to
// nonce_len-6 bytes, the Partial IV left-padded to 5 bytes, all XORed with
// the Common IV. The caller guarantees len(idPIV) <= nonce_len-6 and
// len(piv) <= 5.
func makeNonce(dst, idPIV, piv, commonIV []byte) {
	// The fields are at most 7 and 5 bytes: XORed in place byte by byte,
	// cheaper than clearing, copying and XORing the whole nonce.
	n := len(commonIV)
	copy(dst[:n], commonIV)
	dst[0] ^= byte(len(idPIV))
	d := dst[n-pivPadLen-len(idPIV) : n-pivPadLen]
	for i, v := range idPIV {
		d[i] ^= v
	}
	d = dst[n-len(piv) : n]
	for i, v := range piv {
		d[i] ^= v
	}
}
