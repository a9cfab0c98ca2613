// Package edhoc implements Ephemeral Diffie-Hellman Over COSE (RFC 9528):
// the Initiator and Responder state machines, the wire encoding of
// message_1 to message_4 and the error message, the key schedule with its
// exporter, and the OSCORE Security Context a session yields (RFC 9528
// Appendix A.1) as an oscore.Context. It reproduces both traces of
// RFC 9529 byte for byte.
//
// The package imports nothing of the lab, only the oscore package for the
// AEADs and the Security Context.
//
// Map of the files:
//
//   - cbor.go, ids.go, ead.go: deterministic CBOR (RFC 8949 4.2.1) read
//     and written by hand, connection identifiers and compact kids with
//     their int/bstr rule (RFC 9528 3.3.2), EAD items (3.8).
//   - messages.go: the wire types and their strict parsers (5, 6, C.2).
//   - suite.go, keys.go: cipher suites 0-6 and 24 (3.6), methods (3.2),
//     ECDH with the compact NIST representation, EdDSA and ES256/ES384.
//   - cred.go: credentials (CCS with kid or by value, X.509 by x5t or
//     x5chain) and ID_CRED resolution (3.5).
//   - kdf.go: EDHOC_Extract and EDHOC_KDF (4.1), and Step, the record of
//     each calculation for reports and calculation cards.
//   - session.go, initiator.go, responder.go: the state machines (5), one
//     method per protocol step; errors.go: error messages (6).
//   - oscore.go: EDHOC_Exporter use for OSCORE (A.1).
//   - fields.go: debug views for tracers: each message's items in wire
//     order (Field), steps as JSON, redaction of secret steps.
//   - coap.go: payload framing of the CoAP transport (A.2) and of the
//     EDHOC + OSCORE request (RFC 9668 3).
//
// Choices where the texts leave room (details in docs/edhoc.md):
//
//   - C_R equal to C_I is refused by both sides: the session yields an
//     OSCORE context, whose Sender and Recipient IDs must differ (RFC 9528
//     A.1, RFC 9668 4.1.3).
//   - Maps (ID_CRED, COSE_Key, CCS) must have their keys in deterministic
//     order; ID_CRED maps and CRED_x are otherwise used as received.
//   - The Responder draws Y and computes G_XY while reading message_1, so
//     a low-order G_X is refused in reply to message_1.
//   - ES256 and ES384 signatures are randomised; only EdDSA sessions are
//     reproducible byte for byte.
package edhoc
