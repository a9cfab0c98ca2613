package scenario

import (
	"fmt"
	"slices"

	"oscore-lab/oscore"
	"oscore-lab/oscore/edhoc"
)

// validEDHOC checks a context's EDHOC setup (RFC 9528): the method, the
// suites (supported, their application AEAD the context's algorithm,
// RFC 9528 A.1), each side's credential and key, and that each key serves
// the method under the suite the two sides negotiate.
func validEDHOC(p string, c *Context, alg oscore.AEADAlg) error {
	e := c.EDHOC
	if !edhoc.Method(e.Method).Valid() {
		return errAt(field(p, "method"), fmt.Sprintf("%d is not an EDHOC method (0 to 3)", e.Method))
	}
	if len(e.Suites) == 0 {
		return errAt(field(p, "suites"), "missing")
	}
	rs := e.ResponderSuites
	if len(rs) == 0 {
		rs = e.Suites[len(e.Suites)-1:]
	}
	for _, l := range []struct {
		name   string
		suites []int
	}{{"suites", e.Suites}, {"responder_suites", rs}} {
		for i, n := range l.suites {
			if !edhoc.Suite(n).Supported() {
				return errAt(index(field(p, l.name), i), fmt.Sprintf("cipher suite %d is not supported (want one of 0-6, 24)", n))
			}
		}
	}
	// The Initiator ends on the first suite of its list the Responder
	// supports (RFC 9528 6.3): that suite's keys and AEAD must fit.
	sel, found := edhoc.Suite(0), false
	for _, n := range e.Suites {
		if slices.Contains(rs, n) {
			sel, found = edhoc.Suite(n), true
			break
		}
	}
	if !found {
		return errAt(field(p, "responder_suites"), "no cipher suite in common with suites")
	}
	if sel.AppAEAD() != alg {
		return errAt(field(p, "suites"), fmt.Sprintf("the negotiated cipher suite %d gives OSCORE %v, the context uses %v (RFC 9528 A.1)", int(sel), sel.AppAEAD(), alg))
	}
	m := edhoc.Method(e.Method)
	for _, side := range []struct {
		name  string
		id    EDHOCIdentity
		signs bool
	}{{"initiator", e.Initiator, m.InitiatorSigns()}, {"responder", e.Responder, m.ResponderSigns()}} {
		sp := field(p, side.name)
		id, err := side.id.Identity()
		if err != nil {
			return errAt(sp, err.Error())
		}
		if err := id.Fits(sel, side.signs); err != nil {
			return errAt(field(sp, "private_key"), fmt.Sprintf("%v under cipher suite %d with method %d", err, int(sel), e.Method))
		}
	}
	for _, pin := range []struct {
		name string
		keys []string
	}{{"pin_initiator", e.PinInitiator}, {"pin_responder", e.PinResponder}} {
		for i, k := range pin.keys {
			if b, err := decodeHex(k); err != nil || len(b) == 0 {
				return errAt(index(field(p, pin.name), i), "want a hex private key")
			}
		}
	}
	return nil
}

// Identity builds the EDHOC identity the scenario describes.
func (e EDHOCIdentity) Identity() (*edhoc.Identity, error) {
	raw, err := decodeHex(e.Cred)
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("cred: want hex")
	}
	var cred *edhoc.Credential
	switch e.Credential {
	case "ccs":
		cred, err = edhoc.NewCCS(raw)
	case "x509":
		cred, err = edhoc.NewX509(raw)
	default:
		return nil, fmt.Errorf("credential: %q, want ccs or x509", e.Credential)
	}
	if err != nil {
		return nil, err
	}
	if e.ByValue {
		cred = cred.ByValue()
	}
	priv, err := decodeHex(e.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("private_key: %v", err)
	}
	return edhoc.NewIdentity(cred, priv)
}
