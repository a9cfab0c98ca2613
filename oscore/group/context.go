package group

import (
	"bytes"
	"crypto/cipher"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"oscore-lab/oscore"
)

// Params are the parameters of a Group OSCORE Security Context (RFC 10021
// 2), as a Group Manager hands them to a member. An algorithm left 0 is
// "not set": the group then does not use the mode that needs it (2.1.1,
// 2.1.7, 2.1.8, 2.1.10).
type Params struct {
	MasterSecret []byte
	MasterSalt   []byte
	GroupID      []byte // ID Context = Gid (2.1.3), sent as kid context in every request (3.2)

	AEAD         oscore.AEADAlg  // AEAD Algorithm: pairwise mode (2.1.1)
	GroupEnc     oscore.AEADAlg  // Group Encryption Algorithm: group mode (2.1.7); AEADs only
	Sig          SigAlg          // Signature Algorithm: group mode (2.1.8)
	KeyAgreement KeyAgreementAlg // Pairwise Key Agreement Algorithm: pairwise mode (2.1.10)
	HKDF         HKDFAlg         // 0 means HMAC 256/256 (HKDF SHA-256)

	GMCred []byte // Group Manager's authentication credential, as given (2.1.6)

	// Sender Context (2.2). A member without a Sender ID is a silent
	// server: it verifies requests and never sends.
	SenderID   []byte
	SenderCred []byte      // own credential, a CCS, as registered with the Group Manager
	SenderKey  *PrivateKey // signs in group mode, agrees keys in pairwise mode

	ReplayWindow int // per Recipient Context; 0 means 32

	// DetSenderID is the Sender ID of the group's Deterministic Client
	// (draft-ietf-core-cacheable-oscore 3.3.1), nil when the group has
	// none. Its hash algorithm is SHA-256 (COSE -16), the only one here.
	DetSenderID []byte

	// Credentials, when set, returns the credential of a member whose kid
	// is not yet known, so that a Recipient Context can be made on the fly
	// (RFC 10021 7.2, 7.4: application policy); when it has none the
	// message is refused with oscore.ErrNoCredential (5.03). Nil: unknown
	// kids are refused with oscore.ErrContextNotFound.
	Credentials func(kid []byte) ([]byte, error)
}

// Context is a Group OSCORE Security Context: the Common Context, this
// member's Sender Context and a Recipient Context per other member (RFC
// 10021 2). It is safe for concurrent use.
type Context struct {
	name      string
	p         Params
	groupMode bool // Group Encryption and Signature Algorithm set
	pairMode  bool // AEAD and Pairwise Key Agreement Algorithm set
	maxIDLen  int
	hkdf      HKDFAlg

	commonIV  []byte
	senderKey []byte
	sigEncKey []byte
	senderCr  *Credential
	sealer    cipher.AEAD // Sender Key with the Group Encryption Algorithm
	deriv     Derivation
	detKey    KeyDerivation // the Deterministic Client's Sender Key
	algsDiag  string        // the algorithms of aad_array in diagnostic notation
	gmFP      string        // the Group Manager credential's fingerprint, for reports
	seq       atomic.Uint64

	mu         sync.RWMutex
	recipients map[string]*Recipient
}

// Derivation records the Common and Sender Context derivations (RFC 10021
// 2.1.4, 2.1.9, 2.2; RFC 8613 3.2.1).
type Derivation struct {
	HKDF      string        `json:"hkdf"`
	KeyAlg    string        `json:"key_alg"` // the algorithm in the info of keys and Common IV
	CommonIV  KeyDerivation `json:"common_iv"`
	SenderKey KeyDerivation `json:"sender_key,omitempty"`
	SEKey     KeyDerivation `json:"signature_encryption_key,omitempty"`
}

// NewContext derives a Group OSCORE Security Context and checks its
// parameters: known algorithms, a Key Agreement Algorithm matching the
// HKDF (2.1.10), a Sender ID no longer than the shorter nonce minus 6
// (2.2), and a sender credential whose key is the private key's and suits
// the Signature Algorithm.
func NewContext(name string, p Params) (*Context, error) {
	if p.HKDF == 0 {
		p.HKDF = HMAC256
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("group: context %q: "+format, append([]any{name}, a...)...)
	}
	switch {
	case p.HKDF != HMAC256 && p.HKDF != HMAC512:
		return nil, bad("HKDF Algorithm %d is not HMAC 256/256 (5) or HMAC 512/512 (7)", int(p.HKDF))
	case len(p.MasterSecret) == 0:
		return nil, bad("empty Master Secret")
	case p.GroupID == nil || len(p.GroupID) > 255:
		return nil, bad("Gid missing or longer than 255 bytes")
	case p.AEAD != 0 && !p.AEAD.Valid():
		return nil, bad("unknown AEAD Algorithm %d", int(p.AEAD))
	case p.GroupEnc != 0 && !p.GroupEnc.Valid():
		return nil, bad("unsupported Group Encryption Algorithm %d (AEADs only)", int(p.GroupEnc))
	case p.Sig != 0 && !p.Sig.Valid():
		return nil, bad("unsupported Signature Algorithm %d", int(p.Sig))
	case p.KeyAgreement != 0 && p.KeyAgreement != keyAgreementFor(p.HKDF):
		return nil, bad("Pairwise Key Agreement Algorithm %v does not go with %v (RFC 10021 2.1.10)", p.KeyAgreement, p.HKDF)
	case (p.GroupEnc == 0) != (p.Sig == 0):
		return nil, bad("group mode needs both the Group Encryption and the Signature Algorithm")
	case (p.AEAD == 0) != (p.KeyAgreement == 0):
		return nil, bad("pairwise mode needs both the AEAD and the Pairwise Key Agreement Algorithm")
	case p.GroupEnc == 0 && p.AEAD == 0:
		return nil, bad("neither group mode nor pairwise mode is set up")
	}
	c := &Context{name: name, hkdf: p.HKDF, groupMode: p.GroupEnc != 0, pairMode: p.AEAD != 0, recipients: map[string]*Recipient{}}
	// Key and IV info name the Group Encryption Algorithm when it is set
	// (RFC 10021 2.2); the Common IV is the longer nonce, IDs fit the
	// shorter one (2.1.4, 2.2).
	keyAlg := p.GroupEnc
	if keyAlg == 0 {
		keyAlg = p.AEAD
	}
	ivLen, minNonce := keyAlg.NonceLen(), keyAlg.NonceLen()
	if p.AEAD != 0 {
		ivLen, minNonce = max(ivLen, p.AEAD.NonceLen()), min(minNonce, p.AEAD.NonceLen())
	}
	c.maxIDLen = minNonce - 6
	if p.SenderID != nil && len(p.SenderID) > c.maxIDLen {
		return nil, bad("Sender ID of %d bytes is longer than %d (RFC 10021 2.2)", len(p.SenderID), c.maxIDLen)
	}
	p.MasterSecret, p.MasterSalt, p.GroupID = bytes.Clone(p.MasterSecret), bytes.Clone(bstr(p.MasterSalt)), bytes.Clone(p.GroupID)
	p.GMCred, p.SenderID, p.SenderCred = bytes.Clone(bstr(p.GMCred)), bytes.Clone(p.SenderID), bytes.Clone(p.SenderCred)
	c.p = p
	c.algsDiag, c.gmFP = p.algsDiag(), fingerprint(p.GMCred)
	c.deriv.HKDF, c.deriv.KeyAlg = p.HKDF.String(), keyAlg.String()

	var err error
	if c.deriv.CommonIV, err = c.derive("Common IV", "Master Salt", p.MasterSecret, p.MasterSalt, []byte{}, keyAlg, "IV", ivLen); err != nil {
		return nil, err
	}
	c.commonIV = c.deriv.CommonIV.Output
	if p.DetSenderID != nil {
		if len(p.DetSenderID) > c.maxIDLen || !c.pairMode {
			return nil, bad("Deterministic Client needs the pairwise mode and a Sender ID of at most %d bytes", c.maxIDLen)
		}
		p.DetSenderID = bytes.Clone(p.DetSenderID)
		if c.detKey, err = c.derive("Sender Key of the Deterministic Client "+hexID(p.DetSenderID), "Master Salt", p.MasterSecret, p.MasterSalt, p.DetSenderID, keyAlg, "Key", keyAlg.KeyLen()); err != nil {
			return nil, err
		}
	}
	if c.groupMode {
		if c.deriv.SEKey, err = c.derive("Signature Encryption Key", "Master Salt", p.MasterSecret, p.MasterSalt, []byte{}, p.GroupEnc, "SEKey", p.GroupEnc.KeyLen()); err != nil {
			return nil, err
		}
		c.sigEncKey = c.deriv.SEKey.Output
	}
	if p.SenderID == nil {
		return c, nil
	}
	if p.SenderKey == nil {
		return nil, bad("a Sender ID without a private key")
	}
	if c.senderCr, err = ParseCCS(p.SenderCred); err != nil {
		return nil, bad("sender credential: %v", err)
	}
	if !sameKey(c.senderCr, p.SenderKey) {
		return nil, bad("the sender credential does not hold the private key's public key")
	}
	if c.groupMode && !c.senderCr.suits(p.Sig) {
		return nil, bad("a %s credential cannot make %v signatures", c.senderCr.Curve(), p.Sig)
	}
	if c.deriv.SenderKey, err = c.derive("Sender Key of "+hexID(p.SenderID), "Master Salt", p.MasterSecret, p.MasterSalt, p.SenderID, keyAlg, "Key", keyAlg.KeyLen()); err != nil {
		return nil, err
	}
	c.senderKey = c.deriv.SenderKey.Output
	if c.groupMode {
		if c.sealer, err = p.GroupEnc.NewAEAD(c.senderKey); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func hexID(id []byte) string { return fmt.Sprintf("%x", id) }

// sameKey reports whether cred holds k's public key.
func sameKey(cred *Credential, k *PrivateKey) bool {
	switch {
	case k.ed != nil:
		return cred.ed != nil && bytes.Equal(cred.ed, k.ed.Public().(ed25519.PublicKey))
	case k.ec != nil:
		return cred.ec != nil && cred.ec.Equal(&k.ec.PublicKey)
	}
	return false
}

// derive runs one HKDF of RFC 8613 3.2.1 with a group's info.
func (c *Context) derive(label, saltName string, ikm, salt, id []byte, alg oscore.AEADAlg, typ string, l int) (KeyDerivation, error) {
	info := keyInfo(id, c.p.GroupID, alg, typ, l)
	out, err := hkdfKey(c.hkdf, ikm, salt, info, l)
	if err != nil {
		return KeyDerivation{}, err
	}
	return KeyDerivation{Label: label, Salt: saltName, Info: info, InfoDiag: keyInfoDiag(id, c.p.GroupID, alg, typ, l), L: l, Output: out}, nil
}

// Name is the label given at creation.
func (c *Context) Name() string { return c.name }

// GroupID returns a copy of the Gid.
func (c *Context) GroupID() []byte { return bytes.Clone(c.p.GroupID) }

// SenderID returns a copy of the Sender ID, nil for a silent server.
func (c *Context) SenderID() []byte { return bytes.Clone(c.p.SenderID) }

// CommonIV returns a copy of the Common IV.
func (c *Context) CommonIV() []byte { return bytes.Clone(c.commonIV) }

// SenderKey returns a copy of the Sender Key.
func (c *Context) SenderKey() []byte { return bytes.Clone(c.senderKey) }

// SignatureEncryptionKey returns a copy of the Signature Encryption Key
// (RFC 10021 2.1.9), nil when group mode is not set up.
func (c *Context) SignatureEncryptionKey() []byte { return bytes.Clone(c.sigEncKey) }

// Derivation returns how the Common IV, Signature Encryption Key and
// Sender Key were derived.
func (c *Context) Derivation() Derivation { return c.deriv }

// Params returns the parameters with defaults filled in (slices shared:
// do not modify).
func (c *Context) Params() Params { return c.p }

// GroupMode and PairwiseMode report which modes the group uses (RFC 10021 6).
func (c *Context) GroupMode() bool    { return c.groupMode }
func (c *Context) PairwiseMode() bool { return c.pairMode }

// SenderSeq is the next Sender Sequence Number, shared by both modes
// (RFC 10021 2.5.3).
func (c *Context) SenderSeq() uint64 { return c.seq.Load() }

// SetSenderSeq pins the next Sender Sequence Number (vectors, demos). It
// may move forward, never back: a number already taken would reuse a nonce
// with the Sender Key or a pairwise key (RFC 10021 2.5.3; RFC 8613 7.2),
// so it is refused with oscore.ErrSequenceReused.
func (c *Context) SetSenderSeq(n uint64) error {
	if n > oscore.MaxSequenceNumber {
		return fmt.Errorf("group: context %q: sender sequence number %d exceeds 2^40-1", c.name, n)
	}
	for {
		cur := c.seq.Load()
		if n < cur {
			return fmt.Errorf("group: context %q: sender sequence number %d may already be used (the next is %d): %w", c.name, n, cur, oscore.ErrSequenceReused)
		}
		if c.seq.CompareAndSwap(cur, n) {
			return nil
		}
	}
}

func (c *Context) nextSeq() (uint64, error) {
	for {
		cur := c.seq.Load()
		if cur > oscore.MaxSequenceNumber {
			return 0, oscore.ErrSequenceExhausted.WithDetail(fmt.Sprintf("group context %q (RFC 10021 2.6.2)", c.name))
		}
		if c.seq.CompareAndSwap(cur, cur+1) {
			return cur, nil
		}
	}
}

// Recipient is the Recipient Context of one other member (RFC 10021 2.2):
// its Sender ID, credential, Recipient Key, replay window and, once
// needed, the pairwise keys with it (2.5.1).
type Recipient struct {
	ctx    *Context
	id     []byte
	cred   *Credential
	key    KeyDerivation
	opener cipher.AEAD // Recipient Key with the Group Encryption Algorithm
	replay *oscore.ReplayWindow

	pwOnce sync.Once
	pw     *pairwise
	pwErr  error
}

// pairwise holds the keys shared with one member (RFC 10021 2.5.1).
type pairwise struct {
	secret         []byte
	send, recv     KeyDerivation
	sealer, opener cipher.AEAD
}

// AddRecipient makes the Recipient Context of the member with Sender ID id
// and credential cred (RFC 10021 2.2).
func (c *Context) AddRecipient(id, cred []byte) (*Recipient, error) {
	if id == nil || len(id) > c.maxIDLen {
		return nil, fmt.Errorf("group: context %q: recipient ID of %d bytes (at most %d, RFC 10021 2.2)", c.name, len(id), c.maxIDLen)
	}
	if c.p.SenderID != nil && bytes.Equal(id, c.p.SenderID) {
		return nil, fmt.Errorf("group: context %q: recipient ID %x is our own Sender ID", c.name, id)
	}
	cr, err := ParseCCS(cred)
	if err != nil {
		return nil, err
	}
	if c.groupMode && !cr.suits(c.p.Sig) {
		return nil, fmt.Errorf("group: context %q: a %s credential cannot verify %v signatures", c.name, cr.Curve(), c.p.Sig)
	}
	keyAlg := c.p.GroupEnc
	if keyAlg == 0 {
		keyAlg = c.p.AEAD
	}
	r := &Recipient{ctx: c, id: bytes.Clone(id), cred: cr}
	if r.key, err = c.derive("Recipient Key of "+hexID(id), "Master Salt", c.p.MasterSecret, c.p.MasterSalt, id, keyAlg, "Key", keyAlg.KeyLen()); err != nil {
		return nil, err
	}
	if c.groupMode {
		if r.opener, err = c.p.GroupEnc.NewAEAD(r.key.Output); err != nil {
			return nil, err
		}
	}
	if r.replay, err = oscore.NewReplayWindow(c.p.ReplayWindow); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.recipients[string(id)]; dup {
		return nil, fmt.Errorf("group: context %q: recipient ID %x already present", c.name, id)
	}
	c.recipients[string(id)] = r
	return r, nil
}

// Recipient returns the Recipient Context for kid, nil when none.
func (c *Context) Recipient(kid []byte) *Recipient {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.recipients[string(kid)]
}

// Recipients returns the Recipient Contexts held now, including those made
// on the fly (RFC 10021 2.2, 7.2), in the order of their IDs.
func (c *Context) Recipients() []*Recipient {
	c.mu.RLock()
	out := make([]*Recipient, 0, len(c.recipients))
	for _, r := range c.recipients {
		out = append(out, r)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].id, out[j].id) < 0 })
	return out
}

// RemoveRecipient deletes a member's Recipient Context.
func (c *Context) RemoveRecipient(kid []byte) {
	c.mu.Lock()
	delete(c.recipients, string(kid))
	c.mu.Unlock()
}

// recipientFor finds or, when policy allows, makes the Recipient Context
// for kid (RFC 10021 7.2, 7.4: otherwise processing stops); made says it
// was made for this message, to be deleted if the message fails (7.2).
func (c *Context) recipientFor(kid []byte) (r *Recipient, made bool, err error) {
	if r := c.Recipient(kid); r != nil {
		return r, false, nil
	}
	if c.p.Credentials == nil {
		return nil, false, oscore.ErrContextNotFound.WithDetail(fmt.Sprintf("no Recipient Context for kid %x in group %x (RFC 10021 7.2)", kid, c.p.GroupID))
	}
	cred, err := c.p.Credentials(kid)
	if err != nil || cred == nil {
		return nil, false, oscore.ErrNoCredential.WithDetail(fmt.Sprintf("no credential for kid %x in group %x", kid, c.p.GroupID))
	}
	if r, err = c.AddRecipient(kid, cred); err != nil {
		if r := c.Recipient(kid); r != nil { // made concurrently
			return r, false, nil
		}
		return nil, false, oscore.ErrContextNotFound.WithDetail(err.Error())
	}
	return r, true, nil
}

// dropIfMade deletes a Recipient Context made for a message that failed
// verification (RFC 10021 7.2, 7.4: MAY; it keeps forged kids from filling
// memory, and needs no invalid replay windows afterwards, 2.6.1.2).
func (c *Context) dropIfMade(r *Recipient, made bool, err error) {
	if made && err != nil {
		c.mu.Lock()
		if c.recipients[string(r.id)] == r {
			delete(c.recipients, string(r.id))
		}
		c.mu.Unlock()
	}
}

// ID returns a copy of the member's Sender ID.
func (r *Recipient) ID() []byte { return bytes.Clone(r.id) }

// Credential is the member's credential.
func (r *Recipient) Credential() *Credential { return r.cred }

// Key returns a copy of the Recipient Key.
func (r *Recipient) Key() []byte { return bytes.Clone(r.key.Output) }

// Replay returns a snapshot of the replay window for this member's requests.
func (r *Recipient) Replay() oscore.ReplayState { return r.replay.State() }

// PairwiseKeys returns the Pairwise Sender Key towards this member and
// the Pairwise Recipient Key from it, and the ECDH shared secret (RFC 10021
// 2.5.1), derived once.
func (r *Recipient) PairwiseKeys() (send, recv, secret []byte, err error) {
	pw, err := r.pairwise()
	if err != nil {
		return nil, nil, nil, err
	}
	return bytes.Clone(pw.send.Output), bytes.Clone(pw.recv.Output), bytes.Clone(pw.secret), nil
}

// pairwise derives the keys of RFC 10021 2.5.1:
//
//	Pairwise Sender Key    = HKDF(Sender Key, own cred | X's cred | secret, [own ID, Gid, AEAD, "Key", L], L)
//	Pairwise Recipient Key = HKDF(X's Recipient Key, X's cred | own cred | secret, [X's ID, Gid, AEAD, "Key", L], L)
func (r *Recipient) pairwise() (*pairwise, error) {
	r.pwOnce.Do(func() {
		c := r.ctx
		switch {
		case !c.pairMode:
			r.pwErr = errors.New("group: the group does not use the pairwise mode (RFC 10021 2.1.10)")
			return
		case c.p.SenderID == nil:
			r.pwErr = errors.New("group: a silent server has no pairwise keys")
			return
		}
		secret, err := c.p.SenderKey.sharedSecret(r.cred)
		if err != nil {
			r.pwErr = fmt.Errorf("group: ECDH with %x: %w", r.id, err)
			return
		}
		own, peer := c.p.SenderCred, r.cred.raw
		l := c.p.AEAD.KeyLen()
		pw := &pairwise{secret: secret}
		ikmS := append(append(append([]byte{}, own...), peer...), secret...)
		ikmR := append(append(append([]byte{}, peer...), own...), secret...)
		if pw.send, err = c.derive("Pairwise Sender Key "+hexID(c.p.SenderID)+"→"+hexID(r.id), "Sender Key", ikmS, c.senderKey, c.p.SenderID, c.p.AEAD, "Key", l); err != nil {
			r.pwErr = err
			return
		}
		if pw.recv, err = c.derive("Pairwise Recipient Key "+hexID(r.id)+"→"+hexID(c.p.SenderID), "Recipient Key of "+hexID(r.id), ikmR, r.key.Output, r.id, c.p.AEAD, "Key", l); err != nil {
			r.pwErr = err
			return
		}
		if pw.sealer, err = c.p.AEAD.NewAEAD(pw.send.Output); err != nil {
			r.pwErr = err
			return
		}
		if pw.opener, err = c.p.AEAD.NewAEAD(pw.recv.Output); err != nil {
			r.pwErr = err
			return
		}
		r.pw = pw
	})
	return r.pw, r.pwErr
}
