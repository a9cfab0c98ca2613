package edhoc

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// Initiator runs the Initiator's side of EDHOC (RFC 9528 5): one method per
// protocol step, called in order: WriteMessage1, ReadMessage2,
// WriteMessage3 and, when the application uses it, ReadMessage4. After
// WriteMessage3 the session is complete on this side (PRK_out, Exporter,
// OSCORE). It is not safe for concurrent use.
type Initiator struct {
	session
	selected int // index of the selected suite in cfg.Suites
	suitesI  []Suite
	pt2      []byte
	credR    []byte
	idCredI  []byte
	suitesR  []Suite // from an error 2, for Retry
}

// NewInitiator checks cfg and returns an Initiator ready for message_1.
func NewInitiator(cfg Config) (*Initiator, error) {
	if !cfg.Method.Valid() {
		return nil, fmt.Errorf("edhoc: method %d not defined", int(cfg.Method))
	}
	if len(cfg.Suites) == 0 {
		return nil, errors.New("edhoc: no cipher suite configured")
	}
	for _, s := range cfg.Suites {
		if !s.Supported() {
			return nil, fmt.Errorf("edhoc: %v not supported", s)
		}
	}
	if cfg.Identity == nil || cfg.PeerCredentials == nil {
		return nil, errors.New("edhoc: an identity and a peer credential lookup are required")
	}
	i := &Initiator{session: session{cfg: cfg, initiator: true, method: cfg.Method}}
	i.cI = bytes.Clone(cfg.ConnID)
	return i, nil
}

// WriteMessage1 builds message_1 (RFC 9528 5.2.1) with a new ephemeral
// key. SUITES_I lists the configured suites in preference order up to the
// selected one, which comes last: the most preferred at first, and after
// an error 2 the first one the Responder supports (RFC 9528 5.2.2, 6.3.2).
func (i *Initiator) WriteMessage1(ead ...EADItem) ([]byte, error) {
	if i.st != stStart {
		return nil, errState("WriteMessage1", i.st)
	}
	i.suite = i.cfg.Suites[i.selected]
	i.suitesI = i.cfg.Suites[:i.selected+1]
	if err := i.newEphemeral(); err != nil {
		return nil, err
	}
	i.gx = i.suite.Curve().wirePublic(i.eph.PublicKey())
	i.t.add(Step{Name: "g_x", Formula: "G_X = public key of the ephemeral X", Output: i.gx})
	m := &Message1{Method: i.method, SuitesI: slices.Clone(i.suitesI), GX: i.gx, CI: i.cI, EAD: ead}
	i.m1 = m.Marshal()
	i.t.add(Step{Name: "message_1", Formula: "message_1 = (METHOD, SUITES_I, G_X, C_I, ? EAD_1)", Output: i.m1})
	i.st = stSent1
	return bytes.Clone(i.m1), nil
}

// peerError handles an error message received instead of message_2 or
// message_4 (RFC 9528 6). Error 2 keeps SUITES_R for Retry.
func (i *Initiator) peerError(b []byte) error {
	i.st = stError
	em, err := ParseError(b)
	if err != nil {
		return fmt.Errorf("edhoc: malformed error message: %w", err)
	}
	if em.Code == ErrCodeWrongSuite {
		i.suitesR, _ = em.SuitesR()
	}
	return &PeerError{Msg: em}
}

// ReadMessage2 processes message_2 (RFC 9528 5.3.3): it derives TH_2 and
// PRK_2e, decrypts PLAINTEXT_2, resolves ID_CRED_R, derives PRK_3e2m and
// verifies Signature_or_MAC_2. An error message from the Responder
// returns a *PeerError; a failure here an *Error whose Message is due to
// the Responder.
func (i *Initiator) ReadMessage2(b []byte) error {
	if i.st != stSent1 {
		return errState("ReadMessage2", i.st)
	}
	if IsError(b) {
		return i.peerError(b)
	}
	gy, ct, err := ParseMessage2(b, i.suite.Curve())
	if err != nil {
		return i.abort("5.3.3", err)
	}
	i.t.add(Step{Name: "message_2", Formula: "message_2 received: G_Y || CIPHERTEXT_2", Output: bytes.Clone(b)})
	i.t.add(Step{Name: "ciphertext_2", Formula: "CIPHERTEXT_2 = message_2 after G_Y", Output: bytes.Clone(ct)})
	i.gy = bytes.Clone(gy)
	if i.peerEph, err = i.suite.Curve().parsePublic(i.gy); err != nil {
		return i.abort("5.3.3", fmt.Errorf("G_Y: %w", err))
	}
	if i.gxy, err = i.sharedSecret("g_xy", "G_XY = ECDH(X, G_Y)", i.eph, i.peerEph); err != nil {
		return i.abort("5.3.3", err)
	}
	i.computeTH2()
	i.derivePRK2e()
	pt, err := i.keystream2(ct)
	if err != nil {
		return i.abort("5.3.3", err)
	}
	i.t.add(Step{Name: "plaintext_2", Formula: "PLAINTEXT_2 = CIPHERTEXT_2 XOR KEYSTREAM_2", Inputs: []string{"ciphertext_2", "keystream_2"}, Input: ct, Output: pt})
	p, err := ParsePlaintext2(pt, i.sigOrMACLen(i.method.ResponderSigns()))
	if err != nil {
		return i.abort("5.3.3", err)
	}
	// RFC 9528 A.1: C_R becomes the Initiator's OSCORE Sender ID and C_I
	// its Recipient ID, which must differ (RFC 9668 4.1.3).
	if bytes.Equal(p.CR, i.cI) {
		return i.abort("5.3.3", errors.New("C_R equals C_I"))
	}
	i.cR, i.peerID, i.pt2 = p.CR, p.IDCred, pt
	if i.peer, err = i.cfg.PeerCredentials(p.IDCred); err != nil {
		return i.abort("5.3.3", fmt.Errorf("ID_CRED_R %v: %w", p.IDCred, err))
	}
	i.credR = i.peer.cred
	var gr = i.peerEph
	if !i.method.ResponderSigns() {
		if gr, err = i.peer.pub.dhKey(i.suite.Curve()); err != nil {
			return i.abort("5.3.3", err)
		}
	}
	if err := i.derivePRK3e2m(i.eph, gr); err != nil {
		return i.abort("5.3.3", err)
	}
	a := authData{n: 2, signs: i.method.ResponderSigns(), cR: i.cR, idCred: p.IDCred.Map, th: i.th2, cred: i.credR, ead: p.ead}
	mac := i.mac(a)
	if err := i.verifyOrMAC(a, mac, p.SigOrMAC); err != nil {
		return i.abort("5.3.3", err)
	}
	if err := i.checkEAD(2, p.EAD); err != nil {
		return i.abort("5.3.3", err)
	}
	i.th3 = i.computeTH(3, i.th2, pt, i.credR)
	i.st = stGot2
	return nil
}

// Retry prepares a new message_1 after an error 2 (RFC 9528 6.3.2): the
// selected suite becomes the first of the Initiator's list that SUITES_R
// holds, SUITES_I keeps the preferred ones before it, and WriteMessage1
// uses a fresh ephemeral key.
func (i *Initiator) Retry() error {
	if i.suitesR == nil {
		return errors.New("edhoc: Retry needs an error 2 received in reply to message_1")
	}
	for k, s := range i.cfg.Suites {
		if slices.Contains(i.suitesR, s) {
			if k == i.selected {
				return fmt.Errorf("edhoc: the Responder refused %v yet lists it in SUITES_R", s)
			}
			cfg, pinned := i.cfg, i.pinned
			*i = Initiator{session: session{cfg: cfg, initiator: true, method: cfg.Method, pinned: pinned}, selected: k}
			i.cI = bytes.Clone(cfg.ConnID)
			return nil
		}
	}
	return fmt.Errorf("edhoc: no suite in common with SUITES_R %v", i.suitesR)
}

// WriteMessage3 builds message_3 (RFC 9528 5.4.2): PRK_4e3m, MAC_3 and
// Signature_or_MAC_3, PLAINTEXT_3 encrypted with K_3 and IV_3, then TH_4,
// PRK_out and PRK_exporter: the Initiator can derive application keys now.
func (i *Initiator) WriteMessage3(ead ...EADItem) ([]byte, error) {
	if i.st != stGot2 {
		return nil, errState("WriteMessage3", i.st)
	}
	if !i.method.InitiatorSigns() {
		priv, err := i.cfg.Identity.staticDH(i.suite.Curve())
		if err != nil {
			return nil, i.abort("5.4.2", fmt.Errorf("static DH key: %w", err))
		}
		if err := i.derivePRK4e3m(priv, i.peerEph); err != nil {
			return nil, i.abort("5.4.2", err)
		}
	} else if err := i.derivePRK4e3m(nil, nil); err != nil {
		return nil, i.abort("5.4.2", err)
	}
	ead3 := appendEAD(nil, ead)
	a := authData{n: 3, signs: i.method.InitiatorSigns(), idCred: i.cfg.Identity.Credential.idCred, th: i.th3, cred: i.cfg.Identity.Credential.cred, ead: ead3}
	mac := i.mac(a)
	sig, err := i.signOrMAC(a, mac)
	if err != nil {
		return nil, i.abort("5.4.2", err)
	}
	p := &Plaintext{IDCred: IDCred{Map: a.idCred}, SigOrMAC: sig, EAD: ead}
	pt := p.marshal(false)
	i.t.add(Step{Name: "plaintext_3", Formula: "PLAINTEXT_3 = (ID_CRED_I / kid, Signature_or_MAC_3, ? EAD_3)", Output: pt})
	ct, err := i.aead(3, true, pt)
	if err != nil {
		return nil, i.abort("5.4.2", err)
	}
	m3 := i.t.add(Step{Name: "message_3", Formula: "message_3 = CIPHERTEXT_3 as a byte string", Output: bstr(ct)})
	i.th4 = i.computeTH(4, i.th3, pt, a.cred)
	i.deriveOut()
	i.st = stSent3
	return bytes.Clone(m3), nil
}

// ReadMessage4 processes message_4 (RFC 9528 5.5.3) when the application
// uses it: K_4 and IV_4 from PRK_4e3m and TH_4, then EAD_4.
func (i *Initiator) ReadMessage4(b []byte) error {
	if i.st != stSent3 {
		return errState("ReadMessage4", i.st)
	}
	if IsError(b) {
		return i.peerError(b)
	}
	ct, err := ParseCiphertext("message_4", b)
	if err != nil {
		return i.abort("5.5.3", err)
	}
	i.t.add(Step{Name: "message_4", Formula: "message_4 received", Output: bytes.Clone(b)})
	pt, err := i.aead(4, false, ct)
	if err != nil {
		return i.abort("5.5.3", err)
	}
	i.t.add(Step{Name: "plaintext_4", Formula: "PLAINTEXT_4 decrypted", Output: pt})
	ead, err := ParsePlaintext4(pt)
	if err != nil {
		return i.abort("5.5.3", err)
	}
	if err := i.checkEAD(4, ead); err != nil {
		return i.abort("5.5.3", err)
	}
	i.st = stDone
	return nil
}
