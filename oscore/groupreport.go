package oscore

// GroupReport is what a Group OSCORE layer (RFC 10021) adds to a report,
// so that a tracer shows it as completely as an RFC 8613 layer: the mode and
// flag byte (4.1), the nonce from the Common IV's prefix (3.3), the
// 9-element aad_array (3.4), the key and how it was derived (2.1.9, 2.5.1)
// and, in group mode, the countersignature, its keystream (4.2) and the
// verification. oscore/group fills it; the types live here so that every
// reader of a Report sees them.
type GroupReport struct {
	Mode      string `json:"mode"`      // "group" or "pairwise" (RFC 10021 7, 8)
	FlagByte  string `json:"flag_byte"` // first byte of the OSCORE option, "39"; "" for an empty option
	GroupID   Hex    `json:"gid"`       // ID Context of the Security Context used
	SenderID  Hex    `json:"sender_id"` // who protected this message
	Algorithm string `json:"algorithm"` // the one that encrypted: Group Encryption Algorithm or AEAD Algorithm

	Nonce       NonceReport `json:"nonce"`         // CommonIV is the prefix used (RFC 10021 3.3)
	CommonIVLen int         `json:"common_iv_len"` // the whole Common IV's length
	AADArray    Hex         `json:"aad_array"`
	AADDiag     string      `json:"aad_diag"` // aad_array in CBOR diagnostic notation, credentials by length and fingerprint
	AAD         Hex         `json:"aad"`      // Enc_structure
	Key         KeyReport   `json:"key"`      // Which names it: "group Sender Key of 25", "Pairwise Recipient Key 52→25"

	// Group mode only (RFC 10021 3.1, 4.1, 4.2).
	CountersignStructure Hex    `json:"countersign_structure,omitempty"`
	CountersignDiag      string `json:"countersign_diag,omitempty"`
	Signature            Hex    `json:"signature,omitempty"`
	SignatureAlg         string `json:"signature_alg,omitempty"`
	KeystreamSalt        Hex    `json:"keystream_salt,omitempty"`
	KeystreamInfo        Hex    `json:"keystream_info,omitempty"`
	KeystreamInfoDiag    string `json:"keystream_info_diag,omitempty"`
	Keystream            Hex    `json:"keystream,omitempty"`
	EncryptedSignature   Hex    `json:"encrypted_signature,omitempty"`

	// Verification is the outcome in plain words, in the order the checks
	// ran: "countersignature verified with the credential of 25, then decrypted".
	Verification string `json:"verification,omitempty"`
	// ResponseNumber is the client's Response Number for the replying server
	// after this response (RFC 10021 5.3.1), -1 when not applicable.
	ResponseNumber int64 `json:"response_number"`
}
