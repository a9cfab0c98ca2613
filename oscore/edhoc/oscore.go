package edhoc

import (
	"errors"

	"oscore-lab/oscore"
)

// Exporter labels for OSCORE (RFC 9528 A.1, IANA "EDHOC Exporter Labels").
const (
	ExporterMasterSecret = 0
	ExporterMasterSalt   = 1
)

// DefaultMasterSaltLen is the OSCORE Master Salt length unless the peers
// agree otherwise (RFC 9528 A.1).
const DefaultMasterSaltLen = 8

// OSCOREParams derives the OSCORE Security Context parameters (RFC 9528
// A.1): Master Secret = EDHOC_Exporter(0, h”, key length of the
// application AEAD), Master Salt = EDHOC_Exporter(1, h”, 8), the
// application AEAD and hash, no ID Context; the Initiator's Sender ID is
// C_R and its Recipient ID C_I, the Responder's the other way round.
func (s *session) OSCOREParams() (oscore.Params, error) {
	if s.prkExp == nil {
		return oscore.Params{}, errIncomplete
	}
	if s.suite.params().sha384 {
		// RFC 9528 A.1 takes the application hash algorithm of the suite;
		// the lab's OSCORE has HKDF SHA-256 and SHA-512 only.
		return oscore.Params{}, errors.New("edhoc: OSCORE with the SHA-384 application hash of suite 24 is not supported")
	}
	alg := s.suite.AppAEAD()
	saltLen := s.cfg.MasterSaltLen
	if saltLen == 0 {
		saltLen = DefaultMasterSaltLen
	}
	ms := s.t.kdf(s.suite, "master_secret", "prk_exporter", s.prkExp, ExporterMasterSecret, "h''", nil, alg.KeyLen(), true)
	salt := s.t.kdf(s.suite, "master_salt", "prk_exporter", s.prkExp, ExporterMasterSalt, "h''", nil, saltLen, true)
	p := oscore.Params{MasterSecret: ms, MasterSalt: salt, AEAD: alg, HKDF: oscore.HKDFSHA256}
	if s.initiator {
		p.SenderID, p.RecipientID = append([]byte{}, s.cR...), append([]byte{}, s.cI...)
	} else {
		p.SenderID, p.RecipientID = append([]byte{}, s.cI...), append([]byte{}, s.cR...)
	}
	return p, nil
}

// OSCORE returns the OSCORE Security Context the session yields (RFC 9528
// A.1), named name.
func (s *session) OSCORE(name string) (*oscore.Context, error) {
	p, err := s.OSCOREParams()
	if err != nil {
		return nil, err
	}
	return oscore.NewContext(name, p)
}
