package trace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
)

// demoSecret is the Master Secret of RFC 8613 Appendix C (C.1-C.3). It is
// public, so traces that use it are never redacted and say so.
var demoSecret = []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}

// IsDemoSecret reports whether secret is the RFC 8613 Appendix C demo secret.
func IsDemoSecret(secret []byte) bool { return bytes.Equal(secret, demoSecret) }

// Fingerprint is a short name for a master secret, "sha256:" and the first
// 8 bytes of SHA-256(secret) in hex, so that two traces can be seen to share
// a context without showing it. It does not protect a guessable secret.
// An absent secret has the empty fingerprint.
func Fingerprint(secret []byte) string {
	if secret == nil {
		return ""
	}
	sum := sha256.Sum256(secret)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// redacted returns a copy of t fit for export: unless includeSecrets, master
// secrets of non-demo contexts become null and the derived keys in layer
// reports of those contexts are cleared. Fingerprints and demo flags are
// filled in. t itself is not modified.
func redacted(t *Trace, includeSecrets bool) *Trace {
	out := *t
	out.Contexts = make([]ContextInfo, len(t.Contexts))
	public := make(map[string]bool, len(t.Contexts)) // context names whose keys may be shown
	for i, c := range t.Contexts {
		if c.MasterSecret != nil {
			c.Fingerprint = Fingerprint(c.MasterSecret)
			c.Demo = IsDemoSecret(c.MasterSecret)
		}
		if !includeSecrets && !c.Demo {
			c.MasterSecret = nil
		}
		public[c.Name] = includeSecrets || c.Demo
		out.Contexts[i] = c
	}
	out.Events = make([]Event, len(t.Events))
	for i, e := range t.Events {
		if l := e.Layer_; l != nil && l.Report != nil && !public[l.Report.Context] {
			// Details are built on first use; a Group OSCORE layer keeps its
			// key in Group (RFC 10021 derives it from the group's secret).
			if d := l.Report.Complete().Details; d != nil && (d.Key.Key != nil || d.Group != nil && d.Group.Key.Key != nil) {
				r := *l.Report
				r.Redact() // on the copy: the caller's report keeps its key
				e.Layer_ = &LayerEvent{Action: l.Action, Report: &r, State: l.State}
			}
		}
		if d := e.Decision; d != nil && d.EDHOC != nil && !public[d.EDHOC.Session] {
			e.Decision = redactEDHOC(d)
		}
		out.Events[i] = e
	}
	return &out
}

// redactEDHOC copies a decision without the secret outputs of its
// calculation cards (private keys never appear in cards).
func redactEDHOC(d *Decision) *Decision {
	c := *d
	part := *d.EDHOC
	part.Cards = make([]EDHOCCard, len(d.EDHOC.Cards))
	for i, card := range d.EDHOC.Cards {
		if card.Secret {
			card.Output = ""
		}
		part.Cards[i] = card
	}
	c.EDHOC = &part
	return &c
}
