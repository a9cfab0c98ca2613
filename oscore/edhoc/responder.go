package edhoc

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
)

// Responder runs the Responder's side of EDHOC (RFC 9528 5): ReadMessage1,
// WriteMessage2, ReadMessage3 and, when the application uses it,
// WriteMessage4. After ReadMessage3 the session is complete. A failing
// Read returns an *Error whose Message is the error message to send. It is
// not safe for concurrent use.
type Responder struct {
	session
	credI []byte
}

// NewResponder checks cfg and returns a Responder waiting for message_1.
func NewResponder(cfg Config) (*Responder, error) {
	if len(cfg.Suites) == 0 {
		return nil, errors.New("edhoc: no cipher suite configured")
	}
	for _, s := range cfg.Suites {
		if !s.Supported() {
			return nil, fmt.Errorf("edhoc: %v not supported", s)
		}
	}
	for _, m := range cfg.Methods {
		if !m.Valid() {
			return nil, fmt.Errorf("edhoc: method %d not defined", int(m))
		}
	}
	if cfg.Identity == nil || cfg.PeerCredentials == nil {
		return nil, errors.New("edhoc: an identity and a peer credential lookup are required")
	}
	r := &Responder{session: session{cfg: cfg}}
	r.cR = bytes.Clone(cfg.ConnID)
	return r, nil
}

// ReadMessage1 processes message_1 (RFC 9528 5.2.3): the method must be
// accepted; the selected suite must be supported and no suite the
// Initiator prefers to it may be (else error 2 with SUITES_R, 6.3.1); G_X
// must be a valid point. The ephemeral key Y is drawn here and G_XY
// computed, so a low-order G_X is refused in reply to message_1.
func (r *Responder) ReadMessage1(b []byte) error {
	if r.st != stStart {
		return errState("ReadMessage1", r.st)
	}
	m, err := ParseMessage1(b)
	if err != nil {
		return r.abort("5.2.3", err)
	}
	if !m.Method.Valid() || (len(r.cfg.Methods) > 0 && !slices.Contains(r.cfg.Methods, m.Method)) {
		return r.abort("5.2.3", fmt.Errorf("method %d not supported", int(m.Method)))
	}
	sel := m.Selected()
	wrong := !slices.Contains(r.cfg.Suites, sel)
	for _, s := range m.SuitesI[:len(m.SuitesI)-1] {
		wrong = wrong || slices.Contains(r.cfg.Suites, s)
	}
	if wrong {
		r.st = stError
		return &Error{Code: ErrCodeWrongSuite, Info: appendSuites(nil, r.cfg.Suites), Step: "5.2.3",
			Err: fmt.Errorf("selected suite %d not acceptable (SUITES_I %v, supported %v)", int(sel), m.SuitesI, r.cfg.Suites)}
	}
	r.method, r.suite, r.m1 = m.Method, sel, bytes.Clone(b)
	r.t.add(Step{Name: "message_1", Formula: "message_1 received: " + m.String(), Output: r.m1})
	if bytes.Equal(m.CI, r.cR) {
		// RFC 9528 A.1 and RFC 9668 4.1: the Responder picks C_R different from C_I.
		return r.abort("5.2.3", errors.New("C_I equals this Responder's C_R"))
	}
	r.cI, r.gx = m.CI, m.GX
	if r.peerEph, err = sel.Curve().parsePublic(m.GX); err != nil {
		return r.abort("5.2.3", fmt.Errorf("G_X: %w", err))
	}
	if err := r.checkEAD(1, m.EAD); err != nil {
		return r.abort("5.2.3", err)
	}
	if err := r.newEphemeral(); err != nil {
		return r.abort("5.2.3", err)
	}
	if r.gxy, err = r.sharedSecret("g_xy", "G_XY = ECDH(Y, G_X)", r.eph, r.peerEph); err != nil {
		return r.abort("5.2.3", fmt.Errorf("G_X: %w", err))
	}
	r.gy = sel.Curve().wirePublic(r.eph.PublicKey())
	r.t.add(Step{Name: "g_y", Formula: "G_Y = public key of the ephemeral Y", Output: r.gy})
	r.st = stGot1
	return nil
}

// WriteMessage2 builds message_2 (RFC 9528 5.3.2): TH_2, PRK_2e,
// PRK_3e2m, MAC_2 and Signature_or_MAC_2, PLAINTEXT_2 encrypted with
// KEYSTREAM_2, and TH_3.
func (r *Responder) WriteMessage2(ead ...EADItem) ([]byte, error) {
	if r.st != stGot1 {
		return nil, errState("WriteMessage2", r.st)
	}
	r.computeTH2()
	r.derivePRK2e()
	if r.method.ResponderSigns() {
		if err := r.derivePRK3e2m(nil, nil); err != nil {
			return nil, r.abort("5.3.2", err)
		}
	} else {
		priv, err := r.cfg.Identity.staticDH(r.suite.Curve())
		if err != nil {
			return nil, r.abort("5.3.2", fmt.Errorf("static DH key: %w", err))
		}
		if err := r.derivePRK3e2m(priv, r.peerEph); err != nil {
			return nil, r.abort("5.3.2", err)
		}
	}
	cred := r.cfg.Identity.Credential
	a := authData{n: 2, signs: r.method.ResponderSigns(), cR: r.cR, idCred: cred.idCred, th: r.th2, cred: cred.cred, ead: appendEAD(nil, ead)}
	mac := r.mac(a)
	sig, err := r.signOrMAC(a, mac)
	if err != nil {
		return nil, r.abort("5.3.2", err)
	}
	p := &Plaintext{CR: r.cR, IDCred: IDCred{Map: a.idCred}, SigOrMAC: sig, EAD: ead}
	pt := r.t.add(Step{Name: "plaintext_2", Formula: "PLAINTEXT_2 = (C_R, ID_CRED_R / kid, Signature_or_MAC_2, ? EAD_2)", Output: p.marshal(true)})
	ct, err := r.keystream2(pt)
	if err != nil {
		return nil, r.abort("5.3.2", err)
	}
	r.t.add(Step{Name: "ciphertext_2", Formula: "CIPHERTEXT_2 = PLAINTEXT_2 XOR KEYSTREAM_2", Inputs: []string{"plaintext_2", "keystream_2"}, Output: ct})
	m2 := r.t.add(Step{Name: "message_2", Formula: "message_2 = G_Y || CIPHERTEXT_2 as one byte string", Output: bstr(cat(r.gy, ct))})
	r.th3 = r.computeTH(3, r.th2, pt, cred.cred)
	r.st = stSent2
	return bytes.Clone(m2), nil
}

// ReadMessage3 processes message_3 (RFC 9528 5.4.3): decrypts it with K_3
// and IV_3, resolves ID_CRED_I, derives PRK_4e3m, verifies
// Signature_or_MAC_3, then TH_4, PRK_out and PRK_exporter.
func (r *Responder) ReadMessage3(b []byte) error {
	if r.st != stSent2 {
		return errState("ReadMessage3", r.st)
	}
	if IsError(b) {
		r.st = stError
		em, err := ParseError(b)
		if err != nil {
			return fmt.Errorf("edhoc: malformed error message: %w", err)
		}
		return &PeerError{Msg: em}
	}
	ct, err := ParseCiphertext("message_3", b)
	if err != nil {
		return r.abort("5.4.3", err)
	}
	r.t.add(Step{Name: "message_3", Formula: "message_3 received", Output: bytes.Clone(b)})
	pt, err := r.aead(3, false, ct)
	if err != nil {
		return r.abort("5.4.3", err)
	}
	r.t.add(Step{Name: "plaintext_3", Formula: "PLAINTEXT_3 decrypted", Output: pt})
	p, err := ParsePlaintext3(pt, r.sigOrMACLen(r.method.InitiatorSigns()))
	if err != nil {
		return r.abort("5.4.3", err)
	}
	r.peerID = p.IDCred
	if r.peer, err = r.cfg.PeerCredentials(p.IDCred); err != nil {
		return r.abort("5.4.3", fmt.Errorf("ID_CRED_I %v: %w", p.IDCred, err))
	}
	r.credI = r.peer.cred
	if r.method.InitiatorSigns() {
		err = r.derivePRK4e3m(nil, nil)
	} else {
		gi, kerr := r.peer.pub.dhKey(r.suite.Curve())
		if kerr != nil {
			return r.abort("5.4.3", kerr)
		}
		err = r.derivePRK4e3m(r.eph, gi)
	}
	if err != nil {
		return r.abort("5.4.3", err)
	}
	a := authData{n: 3, signs: r.method.InitiatorSigns(), idCred: p.IDCred.Map, th: r.th3, cred: r.credI, ead: p.ead}
	mac := r.mac(a)
	if err := r.verifyOrMAC(a, mac, p.SigOrMAC); err != nil {
		return r.abort("5.4.3", err)
	}
	if err := r.checkEAD(3, p.EAD); err != nil {
		return r.abort("5.4.3", err)
	}
	r.th4 = r.computeTH(4, r.th3, pt, r.credI)
	r.deriveOut()
	r.st = stGot3
	return nil
}

// WriteMessage4 builds message_4 (RFC 9528 5.5.2), for applications that
// need key confirmation from the Responder: EAD_4 encrypted with K_4 and
// IV_4 (just the tag when there is no EAD_4).
func (r *Responder) WriteMessage4(ead ...EADItem) ([]byte, error) {
	if r.st != stGot3 {
		return nil, errState("WriteMessage4", r.st)
	}
	pt := r.t.add(Step{Name: "plaintext_4", Formula: "PLAINTEXT_4 = (? EAD_4)", Output: appendEAD([]byte{}, ead)})
	ct, err := r.aead(4, true, pt)
	if err != nil {
		return nil, r.abort("5.5.2", err)
	}
	m4 := r.t.add(Step{Name: "message_4", Formula: "message_4 = CIPHERTEXT_4 as a byte string", Output: bstr(ct)})
	r.st = stDone
	return bytes.Clone(m4), nil
}
