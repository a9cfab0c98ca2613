package oscore

import (
	"crypto/cipher"

	"github.com/pion/dtls/v3/pkg/crypto/ccm"
)

// newCCM returns AES-CCM (RFC 3610) with the given tag and nonce sizes.
func newCCM(blk cipher.Block, tagLen, nonceLen int) (cipher.AEAD, error) {
	return ccm.NewCCM(blk, tagLen, nonceLen)
}
