// Package peerctx reads (and, for the lab's own form, writes) OSCORE
// Security Contexts in the file formats of the lab and of other
// implementations, so the lab can talk to them with the same keys:
//
//   - the lab's JSON context file (lab.go, docs/conformance.md);
//   - an aiocoap credentials directory (settings.json or secret.json, and
//     sequence.json), aiocoap.go;
//   - a libcoap OSCORE configuration file, coap-oscore-conf(5), libcoap.go.
//
// Every reader returns Contexts seen from the lab's side: Params.SenderID is
// the ID the lab sends with, RecipientID the peer's. Readers refuse bad input
// with an error naming the field; they never panic and read bounded input.
package peerctx

import (
	"fmt"
	"io"

	"oscore-lab/oscore"
)

// MaxFileSize bounds every file a reader accepts: a context file is a few
// hundred bytes, so anything larger is refused rather than read into memory.
const MaxFileSize = 1 << 20

// Peers a context can be shared with (Context.Peer).
const (
	PeerTarget = "target" // the node under test (server, or the proxy itself)
	PeerOrigin = "origin" // the origin server behind a proxy under test (end to end)
	// PeerUnauthorised is a context the target (a proxy) holds but does
	// not let forward requests (draft-ietf-core-oscore-capable-proxies 2.4
	// step 4): a known client it must refuse.
	PeerUnauthorised = "unauthorised"
)

// Context is one OSCORE Security Context (RFC 8613 3) from the lab's side.
type Context struct {
	Name           string
	Peer           string // PeerTarget (default) or PeerOrigin
	Params         oscore.Params
	SenderSeq      uint64 // next Sender Sequence Number to use (RFC 8613 3.2.2, 7.2.1)
	SendKIDContext bool   // put the ID Context into requests as kid context (RFC 8613 5.1)
}

// New derives the context (RFC 8613 3.2.1) and sets its Sender Sequence
// Number.
func (c Context) New() (*oscore.Context, error) {
	oc, err := oscore.NewContext(c.Name, c.Params)
	if err != nil {
		return nil, err
	}
	if err := oc.SetSenderSeq(c.SenderSeq); err != nil {
		return nil, err
	}
	return oc, nil
}

// readAll reads r up to MaxFileSize bytes and refuses more.
func readAll(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", what, MaxFileSize)
	}
	return b, nil
}

// check derives c once to report bad parameters at read time, with the
// file's name for the context.
func check(c Context, where string) error {
	if _, err := c.New(); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}
