// Package oscore implements Object Security for Constrained RESTful
// Environments (RFC 8613) as updated by draft-ietf-core-oscore-capable-proxies:
// security contexts, the OSCORE option, protection and verification of one
// layer, the draft's option-protection rule (section 2.2) and stacks of nested
// layers (sections 2.1, 2.3, 2.5, 2.6). Every protect and unprotect returns a
// Report that a tracer can display without recomputing any cryptography.
//
// The package imports nothing of the lab; messages are go-coap message values.
// Importing it has no side effect. A program that runs go-coap servers or
// clients calls RegisterGoCoapOptions once, before starting them, so that
// go-coap passes the OSCORE option (a critical option it does not know) to
// handlers. Package coaposcore wraps a go-coap server's handler and a
// client connection with this package.
//
// Option order: a message.Options value must be sorted by option number
// (RFC 7252 3.1 encodes deltas; go-coap encodes the slice in the order
// given and silently produces garbage otherwise). Build options with
// Options.Add/Set or sort them stably; every message this package returns
// has its options sorted, repeated options in their original order, the
// OSCORE option in its place by number.
//
// Concurrency: a Context is safe for concurrent use; each protect takes the
// next Sender Sequence Number atomically, and the replay window (RFC 8613
// 7.4) is checked and updated under the Context's lock. A Binding belongs to
// one request and its responses. The order in which
// concurrently protected requests reach the peer is the caller's to keep: a
// request whose Partial IV is overtaken by more than the peer's replay
// window (32 by default) is refused as a replay, so take the sequence number
// and send in one step (coaposcore.Client does) and keep one peer's
// requests in arrival order at the server (go-coap's UDP server does).
//
// Map of the files:
//
//   - algorithms.go, ccm.go: COSE AEAD and HKDF algorithms; an allocation-free
//     AES-CCM (RFC 3610) because pion's allocates on every call.
//   - context.go, derivation.go, cbor.go, replay.go: Security Context
//     derivation (RFC 8613 3.2) with hand-built CBOR, Sender Sequence Numbers
//     and the replay window (3.2.2, 7.4).
//   - option.go, classes.go: the OSCORE option codec (6.1) and the option
//     registry with OSCORE classes (4.1, RFC 9175, RFC 9668, draft 3).
//   - split.go, protect.go, unprotect.go, binding.go, nonce.go, aad.go,
//     proxyuri.go, coapopts.go: one layer (RFC 8613 5, 8).
//   - report.go, reportbuild.go, reportlazy.go, text.go: reports (recorded
//     by reference, completed on first use) and the canonical text
//     form of messages.
//   - errors.go, errresponse.go: the error table and unprotected error
//     responses (RFC 8613 8.2, draft 2.2, 2.4).
//   - blockwise.go, decode.go: inner Block2 helpers (4.1.3.4.1) and datagram
//     decoding.
//   - rule.go, route.go, layers.go: the draft's rule and layer stacks.
//   - variant.go, groupreport.go: building blocks for OSCORE variants with
//     their own COSE structures (Group OSCORE in oscore/group, RFC 10021):
//     one layer's split and rebuild, nonce, replay window, CBOR appenders,
//     reports and the group part of a report.
//
// Choices where the texts leave room:
//
//   - Proxy-Cri (235) and Proxy-Scheme-Number (239) have no OSCORE class in
//     draft-ietf-core-href; they are treated as Class U like Proxy-Uri and
//     Proxy-Scheme, which they stand in for. Their numbers are the ones the
//     href draft proposes and are marked provisional.
//   - Hop-Limit is Class U (draft section 3), not the RFC 8613 default E.
//   - Inner and Outer Observe of a request carry the request's value
//     (RFC 8613 4.1.3.5.1: 0, encoded empty, for a registration); the Inner
//     Observe of a notification is empty (4.1.3.5.2).
//   - The first response to a request may reuse the request nonce; every
//     later response uses an own Partial IV (RFC 8613 4.1.3.5, draft 2.5.1).
//   - Without a ClassRule, a previous layer's OSCORE option is always
//     protected (Class E) by the new layer: two OSCORE options in one message
//     are invalid.
package oscore
