// Package group implements Group OSCORE (RFC 10021, formerly
// draft-ietf-core-oscore-groupcomm-28) on top of package oscore: a Group
// Security Context shared by the members of a group, messages protected
// in group mode (countersigned, readable by every member) or in pairwise
// mode (one member to another), responses bound to their request, several
// responses to one request, and reports as complete as oscore's.
//
// It uses oscore's exported building blocks (the option codec with the
// Group Flag, the option split and rebuild of one layer, nonce, replay
// window, errors and reports) and imports nothing of the lab.
//
// Map of the files, by RFC 10021 section:
//
//   - alg.go: Signature, Pairwise Key Agreement and HKDF algorithms (2.1.2,
//     2.1.8, 2.1.10); Group Encryption and AEAD Algorithms are
//     oscore.AEADAlg (AEADs only: A128CTR and the other non-AEAD Group
//     Encryption Algorithms of 2.1.7 are not supported).
//   - cred.go, keys.go: authentication credentials as CWT Claims Sets with
//     a COSE_Key (2.4), private keys, countersignatures (3.1) and the
//     static-static ECDH of pairwise mode with the Ed25519 to X25519 map
//     (2.5.1, 2.5.2.1).
//   - context.go: the Group Security Context (2): Common Context, Sender
//     Context, Recipient Contexts, the derivations of the Common IV,
//     Sender and Recipient Keys, Signature Encryption Key (2.1.9) and
//     pairwise keys (2.5.1).
//   - cose.go: the CBOR structures: key and keystream info (2.2, 4.2), the
//     9-element aad_array (3.4), Enc_structure and Countersign_structure
//     (3.1).
//   - protect.go, unprotect.go: group mode (7) and pairwise mode (8) for
//     requests and responses, message reception (6), nonce (3.3),
//     payload with the encrypted countersignature (4.1).
//   - exchange.go: binding responses to requests, Response Numbers per
//     server in long exchanges and the kid1/kid2 check (5.1, 5.3.1, 7.4).
//   - checker.go: external signature checkers (7.5), e.g. a proxy that
//     verifies group-mode messages it cannot decrypt.
//   - det.go: deterministic requests and their group-mode responses
//     (draft-ietf-core-cacheable-oscore).
//   - phantom.go: the phantom observation request of multicast
//     notifications and the notifications bound to it
//     (draft-ietf-core-observe-multicast-notifications 9).
//   - report.go: the group part of an oscore.Report (oscore.GroupReport).
//   - stack.go: layer stacks that mix Group OSCORE and RFC 8613 layers in
//     any order (draft-ietf-core-oscore-capable-proxies 1, 2.1).
//
// Choices where the texts leave room (see docs/group-oscore.md):
//
//   - Countersign_structure has five elements, body_protected and
//     sign_protected both empty: the only form that reproduces the
//     published vector, and the one the interoperable implementations use.
//   - Group-mode responses always carry kid, also after a pairwise request.
//   - A client accepts, per server in a long exchange, one response without
//     Partial IV and then only increasing Partial IVs (the simpler of the
//     two policies of 5.3.1).
//   - A failed countersignature is reported as ErrDecryptionFailed (4.00
//     "Decryption failed", 7.2); whether a server answers a group request
//     with an error at all is the caller's choice (7: it SHOULD NOT).
//   - Group rekeying (a response under a new Gid, 7.3) is refused, not
//     followed.
//   - An unknown kid is refused with oscore.ErrContextNotFound, or, when
//     Params.Credentials has no credential for it, oscore.ErrNoCredential
//     (5.03, 7.2); a Recipient Context made for a message that then fails
//     is deleted again.
package group
