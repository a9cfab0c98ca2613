package peerctx

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"oscore-lab/oscore"
)

// Mirror is c as its peer holds it: Sender and Recipient ID swapped. The
// peer starts at Sender Sequence Number 0 (c.SenderSeq is the lab's own);
// a context the lab has already received requests under needs fresh keys
// or the peer's Echo recovery instead (RFC 8613 7.5, B.1.2).
func (c Context) Mirror() Context {
	m := c
	m.Params.SenderID, m.Params.RecipientID = c.Params.RecipientID, c.Params.SenderID
	m.SenderSeq = 0
	return m
}

// AiocoapFiles returns the files of an aiocoap credentials directory
// (FilesystemSecurityContext) that holds c, c.Params.SenderID being the
// directory owner's: settings.json always, sequence.json when c.SenderSeq
// is not 0. The mapping is in docs/peer-contexts.md. Byte strings are
// written as NAME_hex; the master secret too, since settings.json is the
// lab's only file (move it to secret.json to separate it).
func AiocoapFiles(c Context) (map[string][]byte, error) {
	if err := check(c, "aiocoap export "+c.Name); err != nil {
		return nil, err
	}
	p := c.Params
	hashfun, ok := map[oscore.HKDFAlg]string{0: "sha256", oscore.HKDFSHA256: "sha256", oscore.HKDFSHA512: "sha512"}[p.HKDF]
	if !ok {
		return nil, fmt.Errorf("aiocoap export %s: HKDF %v: aiocoap's kdf-hashfun takes sha256, sha384 or sha512", c.Name, p.HKDF)
	}
	aead := p.AEAD
	if aead == 0 {
		aead = oscore.AESCCM16_64_128
	}
	// aiocoap names its algorithms as the COSE registry does, which is
	// also how the lab prints them ("ChaCha20/Poly1305" included).
	var b bytes.Buffer
	b.WriteString("{\n")
	field := func(k string, v any) {
		j, _ := json.Marshal(v)
		fmt.Fprintf(&b, "  %q: %s,\n", k, j)
	}
	field("sender-id_hex", hex.EncodeToString(p.SenderID))
	field("recipient-id_hex", hex.EncodeToString(p.RecipientID))
	field("secret_hex", hex.EncodeToString(p.MasterSecret))
	if len(p.MasterSalt) > 0 {
		field("salt_hex", hex.EncodeToString(p.MasterSalt))
	}
	if p.IDContext != nil {
		field("id-context_hex", hex.EncodeToString(p.IDContext))
	}
	field("algorithm", aead.String())
	field("kdf-hashfun", hashfun)
	window := p.ReplayWindow
	if window == 0 {
		window = 32
	}
	fmt.Fprintf(&b, "  \"window\": %d\n}\n", window)
	files := map[string][]byte{"settings.json": b.Bytes()}
	if c.SenderSeq != 0 {
		// The lab does not know the holder's replay window: "unknown"
		// makes aiocoap recover it with Echo (RFC 8613 B.1.2).
		files["sequence.json"] = []byte(fmt.Sprintf("{\"next-to-send\": %d, \"received\": \"unknown\"}\n", c.SenderSeq))
	}
	return files, nil
}

// WriteAiocoap writes AiocoapFiles(c) into dir, which it creates (0700);
// the files are readable by their owner only (0600), and an existing
// settings.json, secret.json or sequence.json is not overwritten: aiocoap
// must never reuse a context's sequence numbers.
func WriteAiocoap(dir string, c Context) error {
	files, err := AiocoapFiles(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{"settings.json", "secret.json", "sequence.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("aiocoap export: %s already exists: a context in use must not be overwritten (RFC 8613 7.5)", filepath.Join(dir, name))
		}
	}
	for _, name := range []string{"settings.json", "sequence.json"} {
		if b, ok := files[name]; ok {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// libcoapAEADs are the AEAD algorithms libcoap 4.3.5 accepts in a
// configuration file (coap-oscore-conf(5); its OpenSSL back end knows no
// others).
var libcoapAEADs = map[oscore.AEADAlg]bool{oscore.AESCCM16_64_128: true, oscore.AESCCM16_64_256: true}

// WriteLibcoap writes c as a libcoap OSCORE configuration file,
// coap-oscore-conf(5), for the holder of c.Params.SenderID: a client
// configuration (one recipient_id) that a libcoap server reads as well.
// What the file cannot say is refused: an AEAD other than
// AES-CCM-16-64-128 and -256, an HKDF other than SHA-256 and SHA-512, a
// replay window beyond libcoap's 63, and a Sender Sequence Number other
// than 0 (libcoap keeps it in a file of its own). The mapping is in
// docs/peer-contexts.md.
func WriteLibcoap(w io.Writer, c Context) error {
	if err := check(c, "libcoap export "+c.Name); err != nil {
		return err
	}
	p := c.Params
	aead := p.AEAD
	if aead == 0 {
		aead = oscore.AESCCM16_64_128
	}
	if !libcoapAEADs[aead] {
		return fmt.Errorf("libcoap export %s: algorithm %v: libcoap takes AES-CCM-16-64-128 (10) and AES-CCM-16-64-256 (11) only", c.Name, aead)
	}
	hkdf := p.HKDF
	if hkdf == 0 {
		hkdf = oscore.HKDFSHA256
	}
	if hkdf != oscore.HKDFSHA256 && hkdf != oscore.HKDFSHA512 {
		return fmt.Errorf("libcoap export %s: HKDF %v: libcoap takes HKDF SHA-256 (-10) and SHA-512 (-11) only", c.Name, hkdf)
	}
	window := p.ReplayWindow
	if window == 0 {
		window = 32
	}
	if window > 63 {
		return fmt.Errorf("libcoap export %s: replay window %d: libcoap supports 1 to 63", c.Name, window)
	}
	if c.SenderSeq != 0 {
		return fmt.Errorf("libcoap export %s: Sender Sequence Number %d: the configuration file has none (libcoap starts at 0 or reads its own sequence file)", c.Name, c.SenderSeq)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# OSCORE context %s written by oscore-lab (coap-oscore-conf(5)).\n", oneLineName(c.Name))
	fmt.Fprintf(&b, "# The holder of this file sends with sender_id; keep it secret.\n")
	fmt.Fprintf(&b, "master_secret,hex,%q\n", hex.EncodeToString(p.MasterSecret))
	if len(p.MasterSalt) > 0 {
		fmt.Fprintf(&b, "master_salt,hex,%q\n", hex.EncodeToString(p.MasterSalt))
	}
	if p.IDContext != nil {
		fmt.Fprintf(&b, "id_context,hex,%q\n", hex.EncodeToString(p.IDContext))
	}
	fmt.Fprintf(&b, "sender_id,hex,%q\n", hex.EncodeToString(p.SenderID))
	fmt.Fprintf(&b, "recipient_id,hex,%q\n", hex.EncodeToString(p.RecipientID))
	fmt.Fprintf(&b, "replay_window,integer,%d\n", window)
	fmt.Fprintf(&b, "aead_alg,integer,%d\n", int(aead))
	fmt.Fprintf(&b, "hkdf_alg,integer,%s\n", strconv.Itoa(int(hkdf)))
	_, err := w.Write(b.Bytes())
	return err
}

// oneLineName keeps a context name inside its comment line.
func oneLineName(s string) string {
	return string(bytes.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, []byte(s)))
}
