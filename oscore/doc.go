// Package oscore implements Object Security for Constrained RESTful
// Environments (RFC 8613) as updated by draft-ietf-core-oscore-capable-proxies:
// security contexts, the OSCORE option, protection and verification of one
// layer, the draft's option-protection rule (section 2.2) and stacks of nested
// layers (sections 2.1, 2.3, 2.5, 2.6). Every protect and unprotect returns a
// Report that a tracer can display without recomputing any cryptography.
//
// The package imports nothing of the lab; messages are go-coap message values.
package oscore
