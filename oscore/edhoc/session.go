package edhoc

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"

	"oscore-lab/oscore/internal/cborenc"
)

// Config configures one side of a session.
type Config struct {
	// Method is the Initiator's authentication method. The Responder
	// accepts the methods in Methods (all four when empty).
	Method  Method
	Methods []Method

	// Suites: for the Initiator its supported suites in order of
	// preference; for the Responder the suites it supports (SUITES_R).
	Suites []Suite

	// ConnID is this side's connection identifier (C_I or C_R), which
	// becomes its OSCORE Recipient ID (RFC 9528 A.1).
	ConnID []byte

	// Identity is this side's CRED_x and ID_CRED_x with its private
	// authentication key.
	Identity *Identity

	// PeerCredentials resolves the peer's ID_CRED_x.
	PeerCredentials CredentialLookup

	// UnderstoodEAD reports whether a critical EAD label is processed by
	// the application; unknown critical items abort the session (RFC 9528
	// 3.8). Nil understands none. Received items are in PeerEAD.
	UnderstoodEAD func(label int64) bool

	// Ephemeral pins the ephemeral private keys (X or Y), used in order,
	// one per message_1 or message_2; then keys are drawn from Rand
	// (crypto/rand when nil). Pinning is for demonstrations and test
	// vectors only: a reused ephemeral key loses forward secrecy.
	Ephemeral [][]byte
	Rand      io.Reader

	// MasterSaltLen is the OSCORE Master Salt length (RFC 9528 A.1: 8
	// by default).
	MasterSaltLen int
}

type state int

const (
	stStart state = iota
	stSent1
	stGot1
	stSent2
	stGot2
	stSent3
	stGot3  // Responder: handshake complete
	stDone  // message_4 sent or received
	stError // aborted
)

func (s state) String() string {
	return [...]string{"start", "message_1 sent", "message_1 received", "message_2 sent", "message_2 received",
		"message_3 sent", "message_3 received", "message_4 done", "aborted"}[s]
}

// session is what Initiator and Responder share: the negotiated
// parameters, the transcript hashes and the key schedule (RFC 9528 4).
type session struct {
	cfg       Config
	initiator bool
	st        state
	method    Method
	suite     Suite
	eph       *ecdh.PrivateKey
	pinned    int
	gx, gy    []byte
	peerEph   *ecdh.PublicKey
	cI, cR    []byte
	m1        []byte
	peer      *Credential
	peerID    IDCred
	peerEAD   [5][]EADItem
	th2, th3  []byte
	th4       []byte
	gxy       []byte
	prk2e     []byte
	prk3e2m   []byte
	prk4e3m   []byte
	prkOut    []byte
	prkExp    []byte
	t         transcript
}

// Steps returns the key schedule's calculations so far, in order.
func (s *session) Steps() []Step { return append([]Step(nil), s.t.steps...) }

// Suite is the selected cipher suite.
func (s *session) Suite() Suite { return s.suite }

// Method is the session's authentication method.
func (s *session) Method() Method { return s.method }

// PeerCredential is the credential the peer authenticated with (nil
// before it is known).
func (s *session) PeerCredential() *Credential { return s.peer }

// PeerIDCred is the peer's ID_CRED_x as received.
func (s *session) PeerIDCred() IDCred { return s.peerID }

// PeerEAD returns the EAD items the peer sent in message n (1-4).
func (s *session) PeerEAD(n int) []EADItem {
	if n < 1 || n > 4 {
		return nil
	}
	return s.peerEAD[n]
}

// ConnIDs returns C_I and C_R.
func (s *session) ConnIDs() (cI, cR []byte) { return bytes.Clone(s.cI), bytes.Clone(s.cR) }

// Complete reports whether PRK_out is available.
func (s *session) Complete() bool { return s.prkOut != nil }

// abort marks the session failed and returns err as an *Error, whose
// Message is due to the peer.
func (s *session) abort(step string, err error) error {
	s.st = stError
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return fail(step, err)
}

// newEphemeral takes the next pinned key, else draws one.
func (s *session) newEphemeral() error {
	c := s.suite.Curve()
	var err error
	if s.pinned < len(s.cfg.Ephemeral) {
		s.eph, err = c.newPrivate(s.cfg.Ephemeral[s.pinned])
		s.pinned++
	} else {
		s.eph, err = c.generate(s.cfg.Rand)
	}
	if err != nil {
		return fmt.Errorf("ephemeral key: %w", err)
	}
	return nil
}

// checkEAD keeps the peer's EAD items of message n and refuses critical
// ones the application does not process (RFC 9528 3.8).
func (s *session) checkEAD(n int, items []EADItem) error {
	for _, it := range items {
		if it.Critical() && (s.cfg.UnderstoodEAD == nil || !s.cfg.UnderstoodEAD(it.Label)) {
			return fmt.Errorf("EAD_%d: critical item with label %d not understood", n, it.Label)
		}
	}
	s.peerEAD[n] = items
	return nil
}

// sharedSecret computes and records an ECDH step.
func (s *session) sharedSecret(name, formula string, priv *ecdh.PrivateKey, pub *ecdh.PublicKey) ([]byte, error) {
	z, err := dh(priv, pub)
	if err != nil {
		return nil, err
	}
	return s.t.add(Step{Name: name, Formula: formula, Output: z, Secret: true}), nil
}

// computeTH2 is TH_2 = H(G_Y, H(message_1)) with both as byte strings
// (RFC 9528 5.3.2).
func (s *session) computeTH2() {
	h1 := s.t.hashStep(s.suite, "h_message_1", "H(message_1)", s.m1, "message_1")
	s.th2 = s.t.hashStep(s.suite, "th_2", "TH_2 = H(G_Y, H(message_1))", cat(bstr(s.gy), bstr(h1)), "g_y", "h_message_1")
}

// derivePRK2e is PRK_2e = EDHOC_Extract(TH_2, G_XY) (RFC 9528 4.1.1.1).
func (s *session) derivePRK2e() {
	s.prk2e = s.t.extract(s.suite, "prk_2e", "TH_2", "G_XY", s.th2, s.gxy)
}

// derivePRK3e2m is PRK_3e2m (RFC 9528 4.1.1.2): PRK_2e when the Responder
// signs, else EDHOC_Extract(SALT_3e2m, G_RX).
func (s *session) derivePRK3e2m(priv *ecdh.PrivateKey, pub *ecdh.PublicKey) error {
	if s.method.ResponderSigns() {
		s.prk3e2m = s.t.add(Step{Name: "prk_3e2m", Formula: "PRK_3e2m = PRK_2e (the Responder signs)", Inputs: []string{"prk_2e"}, Output: s.prk2e, Secret: true})
		return nil
	}
	salt := s.t.kdf(s.suite, "salt_3e2m", "prk_2e", s.prk2e, 1, "TH_2", s.th2, s.suite.HashLen(), true)
	grx, err := s.sharedSecret("g_rx", "G_RX = ECDH(R, G_X) = ECDH(X, G_R)", priv, pub)
	if err != nil {
		return err
	}
	s.prk3e2m = s.t.extract(s.suite, "prk_3e2m", "SALT_3e2m", "G_RX", salt, grx)
	return nil
}

// derivePRK4e3m is PRK_4e3m (RFC 9528 4.1.1.3): PRK_3e2m when the
// Initiator signs, else EDHOC_Extract(SALT_4e3m, G_IY).
func (s *session) derivePRK4e3m(priv *ecdh.PrivateKey, pub *ecdh.PublicKey) error {
	if s.method.InitiatorSigns() {
		s.prk4e3m = s.t.add(Step{Name: "prk_4e3m", Formula: "PRK_4e3m = PRK_3e2m (the Initiator signs)", Inputs: []string{"prk_3e2m"}, Output: s.prk3e2m, Secret: true})
		return nil
	}
	salt := s.t.kdf(s.suite, "salt_4e3m", "prk_3e2m", s.prk3e2m, 5, "TH_3", s.th3, s.suite.HashLen(), true)
	giy, err := s.sharedSecret("g_iy", "G_IY = ECDH(I, G_Y) = ECDH(Y, G_I)", priv, pub)
	if err != nil {
		return err
	}
	s.prk4e3m = s.t.extract(s.suite, "prk_4e3m", "SALT_4e3m", "G_IY", salt, giy)
	return nil
}

// authData is what MAC_2/3 and the signature cover for one side.
type authData struct {
	n      int // 2 or 3
	signs  bool
	cR     []byte // context_2 only
	idCred []byte // full map
	th     []byte
	cred   []byte
	ead    []byte
}

// mac computes MAC_2 = EDHOC_KDF(PRK_3e2m, 2, context_2, mac_length_2) or
// MAC_3 = EDHOC_KDF(PRK_4e3m, 6, context_3, mac_length_3), with context_2 =
// << C_R, ID_CRED_R, TH_2, CRED_R, ? EAD_2 >> and context_3 = << ID_CRED_I,
// TH_3, CRED_I, ? EAD_3 >> (RFC 9528 5.3.2, 5.4.2).
func (s *session) mac(a authData) []byte {
	var ctx []byte
	if a.n == 2 {
		ctx = EncodeID(a.cR)
	}
	ctx = cat(ctx, a.idCred, bstr(a.th), a.cred, a.ead)
	prk, prkName, label := s.prk3e2m, "prk_3e2m", 2
	if a.n == 3 {
		prk, prkName, label = s.prk4e3m, "prk_4e3m", 6
	}
	return s.t.kdf(s.suite, fmt.Sprintf("mac_%d", a.n), prkName, prk, label, fmt.Sprintf("context_%d", a.n), ctx, macLen(s.suite, a.signs), false)
}

// sigStructure is the COSE Sig_structure of Signature_or_MAC_x (RFC 9528
// 5.3.2): ["Signature1", << ID_CRED_x >>, << TH_x, CRED_x, ? EAD_x >>, MAC_x].
func sigStructure(a authData, mac []byte) []byte {
	b := []byte{0x84}
	b = cborenc.AppendTstr(b, "Signature1")
	b = cborenc.AppendBstr(b, a.idCred)
	b = cborenc.AppendBstr(b, cat(bstr(a.th), a.cred, a.ead))
	return cborenc.AppendBstr(b, mac)
}

// signOrMAC produces Signature_or_MAC_x: the signature over the
// Sig_structure for a signing side, MAC_x itself for static DH.
func (s *session) signOrMAC(a authData, mac []byte) ([]byte, error) {
	name := fmt.Sprintf("signature_or_mac_%d", a.n)
	if !a.signs {
		return s.t.add(Step{Name: name, Formula: fmt.Sprintf("Signature_or_MAC_%d = MAC_%d (static DH)", a.n, a.n), Inputs: []string{fmt.Sprintf("mac_%d", a.n)}, Output: mac}), nil
	}
	ss := sigStructure(a, mac)
	sig, err := s.cfg.Identity.sign(s.suite.Sig(), ss)
	if err != nil {
		return nil, err
	}
	return s.t.add(Step{Name: name, Formula: fmt.Sprintf("Signature_or_MAC_%d = %v signature of Sig_structure", a.n, s.suite.Sig()), Inputs: []string{fmt.Sprintf("mac_%d", a.n)}, Input: ss, Output: sig}), nil
}

// verifyOrMAC checks a received Signature_or_MAC_x (RFC 9528 5.3.3, 5.4.3).
func (s *session) verifyOrMAC(a authData, mac, got []byte) error {
	name := fmt.Sprintf("signature_or_mac_%d", a.n)
	if !a.signs {
		if !macEqual(mac, got) {
			return fmt.Errorf("MAC_%d does not verify", a.n)
		}
		s.t.add(Step{Name: name, Formula: fmt.Sprintf("Signature_or_MAC_%d = MAC_%d verified", a.n, a.n), Inputs: []string{fmt.Sprintf("mac_%d", a.n)}, Output: got})
		return nil
	}
	ss := sigStructure(a, mac)
	if err := s.suite.Sig().verify(&s.peer.pub, ss, got); err != nil {
		return fmt.Errorf("Signature_or_MAC_%d: %w", a.n, err)
	}
	s.t.add(Step{Name: name, Formula: fmt.Sprintf("Signature_or_MAC_%d: %v signature of Sig_structure verified", a.n, s.suite.Sig()), Inputs: []string{fmt.Sprintf("mac_%d", a.n)}, Input: ss, Output: got})
	return nil
}

// sigOrMACLen is the length a received Signature_or_MAC_x must have.
func (s *session) sigOrMACLen(signs bool) int {
	if signs {
		return s.suite.Sig().sigLen()
	}
	return macLen(s.suite, false)
}

// computeTH is TH_3 = H(TH_2, PLAINTEXT_2, CRED_R) or TH_4 = H(TH_3,
// PLAINTEXT_3, CRED_I) (RFC 9528 5.3.2, 5.4.2): the previous hash as a
// byte string, the plaintext and credential as they stand.
func (s *session) computeTH(n int, prev, plaintext, cred []byte) []byte {
	who := "R"
	if n == 4 {
		who = "I"
	}
	return s.t.hashStep(s.suite, fmt.Sprintf("th_%d", n), fmt.Sprintf("TH_%d = H(TH_%d, PLAINTEXT_%d, CRED_%s)", n, n-1, n-1, who),
		cat(bstr(prev), plaintext, cred), fmt.Sprintf("th_%d", n-1), fmt.Sprintf("plaintext_%d", n-1), "cred_"+map[bool]string{true: "i", false: "r"}[n == 4])
}

// keystream2 derives KEYSTREAM_2 and XORs it with src (RFC 9528 5.3.2).
func (s *session) keystream2(src []byte) ([]byte, error) {
	if len(src) > 255*s.suite.HashLen() {
		return nil, fmt.Errorf("PLAINTEXT_2 of %d bytes needs RFC 9528 Appendix G, not supported", len(src))
	}
	ks := s.t.kdf(s.suite, "keystream_2", "prk_2e", s.prk2e, 0, "TH_2", s.th2, len(src), true)
	out := make([]byte, len(src))
	for i := range src {
		out[i] = src[i] ^ ks[i]
	}
	return out, nil
}

// encStructure is the COSE Enc_structure of message_3 and message_4 (RFC
// 9528 5.4.2, 5.5.2): ["Encrypt0", h”, TH_x].
func encStructure(th []byte) []byte {
	b := []byte{0x83}
	b = cborenc.AppendTstr(b, "Encrypt0")
	b = cborenc.AppendBstr(b, nil)
	return cborenc.AppendBstr(b, th)
}

// aead runs the COSE_Encrypt0 of message_3 (n=3: K_3, IV_3 from PRK_3e2m
// and TH_3, labels 3, 4) or message_4 (n=4: from PRK_4e3m and TH_4,
// labels 8, 9). seal encrypts, else it decrypts.
func (s *session) aead(n int, seal bool, in []byte) ([]byte, error) {
	prk, prkName, th, kl := s.prk3e2m, "prk_3e2m", s.th3, 3
	if n == 4 {
		prk, prkName, th, kl = s.prk4e3m, "prk_4e3m", s.th4, 8
	}
	alg := s.suite.AEAD()
	thName := fmt.Sprintf("TH_%d", n)
	k := s.t.kdf(s.suite, fmt.Sprintf("k_%d", n), prkName, prk, kl, thName, th, alg.KeyLen(), true)
	iv := s.t.kdf(s.suite, fmt.Sprintf("iv_%d", n), prkName, prk, kl+1, thName, th, alg.NonceLen(), true)
	a := s.t.add(Step{Name: fmt.Sprintf("a_%d", n), Formula: fmt.Sprintf(`A_%d = ["Encrypt0", h'', TH_%d]`, n, n), Inputs: []string{fmt.Sprintf("th_%d", n)}, Output: encStructure(th)})
	c, err := alg.NewAEAD(k)
	if err != nil {
		return nil, err
	}
	ctName := fmt.Sprintf("ciphertext_%d", n)
	if seal {
		ct := c.Seal(nil, iv, in, a)
		return s.t.add(Step{Name: ctName, Formula: fmt.Sprintf("CIPHERTEXT_%d = %v(K_%d, IV_%d, A_%d, PLAINTEXT_%d)", n, alg, n, n, n, n), Inputs: []string{fmt.Sprintf("k_%d", n), fmt.Sprintf("iv_%d", n), fmt.Sprintf("a_%d", n), fmt.Sprintf("plaintext_%d", n)}, Input: in, Output: ct}), nil
	}
	pt, err := c.Open(nil, iv, in, a)
	if err != nil {
		return nil, fmt.Errorf("CIPHERTEXT_%d: %w", n, err)
	}
	s.t.add(Step{Name: ctName, Formula: fmt.Sprintf("PLAINTEXT_%d = %v-decrypt(K_%d, IV_%d, A_%d, CIPHERTEXT_%d)", n, alg, n, n, n, n), Inputs: []string{fmt.Sprintf("k_%d", n), fmt.Sprintf("iv_%d", n), fmt.Sprintf("a_%d", n)}, Input: pt, Output: in})
	return pt, nil
}

// deriveOut derives PRK_out = EDHOC_KDF(PRK_4e3m, 7, TH_4, hash_length)
// and PRK_exporter = EDHOC_KDF(PRK_out, 10, h”, hash_length) (RFC 9528
// 4.1.3, 4.2.1).
func (s *session) deriveOut() {
	s.prkOut = s.t.kdf(s.suite, "prk_out", "prk_4e3m", s.prk4e3m, 7, "TH_4", s.th4, s.suite.HashLen(), true)
	s.deriveExporter()
}

func (s *session) deriveExporter() {
	s.prkExp = s.t.kdf(s.suite, "prk_exporter", "prk_out", s.prkOut, 10, "h''", nil, s.suite.HashLen(), true)
}

// PRKOut returns PRK_out once the handshake is complete (RFC 9528 4.1.3).
func (s *session) PRKOut() []byte { return bytes.Clone(s.prkOut) }

var errIncomplete = errors.New("edhoc: handshake not complete: no PRK_out")

// Exporter is EDHOC_Exporter(label, context, length) = EDHOC_KDF(
// PRK_exporter, label, context, length) (RFC 9528 4.2.1).
func (s *session) Exporter(label int, context []byte, length int) ([]byte, error) {
	if s.prkExp == nil {
		return nil, errIncomplete
	}
	if label < 0 || length < 0 || length > 255*s.suite.HashLen() {
		return nil, fmt.Errorf("edhoc: exporter label %d or length %d out of range", label, length)
	}
	out, _ := expand(s.suite, s.prkExp, label, context, length)
	return out, nil
}

// KeyUpdate derives a new PRK_out = EDHOC_KDF(PRK_out, 11, context,
// hash_length) and PRK_exporter from it (RFC 9528 Appendix H); both peers
// must use the same context (a nonce the application agrees on).
func (s *session) KeyUpdate(context []byte) error {
	if s.prkOut == nil {
		return errIncomplete
	}
	s.prkOut = s.t.kdf(s.suite, "prk_out", "prk_out", s.prkOut, 11, "context", context, s.suite.HashLen(), true)
	s.deriveExporter()
	return nil
}
