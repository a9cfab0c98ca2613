package peerctx

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"oscore-lab/oscore"
)

// ReadAiocoap reads an aiocoap OSCORE credentials directory (aiocoap's
// FilesystemSecurityContext) as the lab's side of the context: dir holds the
// static parameters in settings.json and/or secret.json (a key may be in one
// of them only), and the sequence state in sequence.json (optional).
func ReadAiocoap(dir string) (Context, error) {
	return ReadAiocoapFS(os.DirFS(dir), dir)
}

// ReadAiocoapFS is ReadAiocoap on a file system; name labels the context.
//
// Keys: "sender-id", "recipient-id", "secret", "salt", "id-context", each
// with the suffix _hex or _ascii; "algorithm" (a COSE name, default
// AES-CCM-16-64-128), "kdf-hashfun" ("sha256" default, "sha512"; aiocoap's
// "sha384" has no COSE HKDF number and is refused) and "window" (replay
// window, default 32). sequence.json: {"next-to-send": N, "received": ...};
// the lab uses next-to-send as its Sender Sequence Number.
func ReadAiocoapFS(fsys fs.FS, name string) (Context, error) {
	data := map[string]any{}
	found := false
	for _, file := range []string{"secret.json", "settings.json"} {
		b, err := readFS(fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Context{}, fmt.Errorf("aiocoap %s: %w", file, err)
		}
		found = true
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return Context{}, fmt.Errorf("aiocoap %s: %w", file, err)
		}
		for k, v := range m {
			key, val, err := aiocoapValue(k, v)
			if err != nil {
				return Context{}, fmt.Errorf("aiocoap %s: %s: %w", file, k, err)
			}
			if _, dup := data[key]; dup {
				return Context{}, fmt.Errorf("aiocoap %s: %q is given in both settings.json and secret.json", file, key)
			}
			data[key] = val
		}
	}
	if !found {
		return Context{}, fmt.Errorf("aiocoap: %s has neither settings.json nor secret.json", name)
	}
	c := Context{Name: "aiocoap:" + name, Peer: PeerTarget}
	p := &c.Params
	var err error
	if p.SenderID, err = aiocoapBytes(data, "sender-id", true); err != nil {
		return Context{}, err
	}
	if p.RecipientID, err = aiocoapBytes(data, "recipient-id", true); err != nil {
		return Context{}, err
	}
	if p.MasterSecret, err = aiocoapBytes(data, "secret", true); err != nil {
		return Context{}, err
	}
	if p.MasterSalt, err = aiocoapBytes(data, "salt", false); err != nil {
		return Context{}, err
	}
	if p.IDContext, err = aiocoapBytes(data, "id-context", false); err != nil {
		return Context{}, err
	}
	// aiocoap puts a context's ID Context into its requests as kid context.
	c.SendKIDContext = p.IDContext != nil
	if v, ok := data["algorithm"]; ok {
		s, isStr := v.(string)
		if !isStr {
			return Context{}, fmt.Errorf("aiocoap: algorithm: want a name, got %v", v)
		}
		if p.AEAD, err = oscore.ParseAEADAlg(s); err != nil {
			return Context{}, fmt.Errorf("aiocoap: algorithm: %w", err)
		}
	}
	if v, ok := data["kdf-hashfun"]; ok {
		switch v {
		case "sha256":
			p.HKDF = oscore.HKDFSHA256
		case "sha512":
			p.HKDF = oscore.HKDFSHA512
		default:
			return Context{}, fmt.Errorf("aiocoap: kdf-hashfun %v: the lab knows sha256 and sha512", v)
		}
	}
	if v, ok := data["window"]; ok {
		n, isNum := v.(json.Number)
		w, err := n.Int64()
		if !isNum || err != nil || w < 1 || w > 4096 {
			return Context{}, fmt.Errorf("aiocoap: window: want an integer 1..4096, got %v", v)
		}
		p.ReplayWindow = int(w)
	}
	if b, err := readFS(fsys, "sequence.json"); err == nil {
		var seq struct {
			Next json.Number `json:"next-to-send"`
		}
		if err := json.Unmarshal(b, &seq); err != nil {
			return Context{}, fmt.Errorf("aiocoap sequence.json: %w", err)
		}
		n, err := seq.Next.Int64()
		if err != nil || n < 0 || n > oscore.MaxSequenceNumber {
			return Context{}, fmt.Errorf("aiocoap sequence.json: next-to-send %q is not a sequence number", seq.Next)
		}
		c.SenderSeq = uint64(n)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return Context{}, fmt.Errorf("aiocoap sequence.json: %w", err)
	}
	return c, check(c, "aiocoap "+name)
}

// aiocoapValue decodes one settings key: NAME_hex and NAME_ascii become
// NAME with bytes; other keys keep their JSON value.
func aiocoapValue(k string, v any) (string, any, error) {
	if base, ok := strings.CutSuffix(k, "_hex"); ok {
		s, isStr := v.(string)
		if !isStr {
			return "", nil, fmt.Errorf("want a hex string")
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return "", nil, err
		}
		return base, b, nil
	}
	if base, ok := strings.CutSuffix(k, "_ascii"); ok {
		s, isStr := v.(string)
		if !isStr {
			return "", nil, fmt.Errorf("want a string")
		}
		for _, r := range s {
			if r > 0x7f {
				return "", nil, fmt.Errorf("not ASCII")
			}
		}
		return base, []byte(s), nil
	}
	return k, v, nil
}

func aiocoapBytes(data map[string]any, key string, required bool) ([]byte, error) {
	v, ok := data[key]
	if !ok {
		if required {
			return nil, fmt.Errorf("aiocoap: %s missing (as %s_hex or %s_ascii)", key, key, key)
		}
		return nil, nil
	}
	b, isBytes := v.([]byte)
	if !isBytes {
		return nil, fmt.Errorf("aiocoap: %s must be given as %s_hex or %s_ascii", key, key, key)
	}
	return b, nil
}

func readFS(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, name)
}
