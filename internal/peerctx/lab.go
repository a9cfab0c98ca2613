package peerctx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"oscore-lab/oscore"
)

// Lab context file identity (docs/conformance.md, "Context files").
const (
	LabFormat  = "oscore-lab-contexts"
	LabVersion = 1
)

// labFile is the lab's JSON context file.
type labFile struct {
	Format   string       `json:"format"`
	Version  int          `json:"version"`
	Contexts []labContext `json:"contexts"`
}

// labContext is one context of the file; IDs and secrets are hex.
type labContext struct {
	Name           string          `json:"name"`
	Peer           string          `json:"peer,omitempty"`
	Alg            json.RawMessage `json:"alg,omitempty"`  // 10 or "AES-CCM-16-64-128"
	HKDF           json.RawMessage `json:"hkdf,omitempty"` // -10, "SHA-256" or "SHA-512"
	MasterSecret   oscore.Hex      `json:"master_secret"`
	MasterSalt     oscore.Hex      `json:"master_salt,omitempty"`
	IDContext      *oscore.Hex     `json:"id_context,omitempty"`
	SenderID       *oscore.Hex     `json:"sender_id"`
	RecipientID    *oscore.Hex     `json:"recipient_id"`
	ReplayWindow   int             `json:"replay_window,omitempty"`
	SenderSeq      uint64          `json:"sender_seq,omitempty"`
	SendKIDContext bool            `json:"send_kid_context,omitempty"`
}

// ReadLab reads the lab's JSON context file: an object with "format"
// "oscore-lab-contexts", "version" 1 and a non-empty "contexts" array.
// Unknown fields are errors (a misspelt field would otherwise silently
// select a default).
func ReadLab(r io.Reader) ([]Context, error) {
	b, err := readAll(r, "context file")
	if err != nil {
		return nil, err
	}
	var f labFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("context file: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("context file: data after the JSON object")
	}
	if f.Format != LabFormat {
		return nil, fmt.Errorf("context file: format is %q, want %q", f.Format, LabFormat)
	}
	if f.Version != LabVersion {
		return nil, fmt.Errorf("context file: version %d, want %d", f.Version, LabVersion)
	}
	if len(f.Contexts) == 0 {
		return nil, fmt.Errorf("context file: no contexts")
	}
	out := make([]Context, 0, len(f.Contexts))
	seen := map[string]bool{}
	for i, lc := range f.Contexts {
		where := fmt.Sprintf("context file: contexts[%d]", i)
		c, err := lc.context(where)
		if err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("%s.name: %q used twice", where, c.Name)
		}
		seen[c.Name] = true
		out = append(out, c)
	}
	return out, nil
}

func (lc labContext) context(where string) (Context, error) {
	if lc.Name == "" {
		return Context{}, fmt.Errorf("%s.name: missing", where)
	}
	c := Context{Name: lc.Name, Peer: lc.Peer, SenderSeq: lc.SenderSeq, SendKIDContext: lc.SendKIDContext}
	switch c.Peer {
	case "":
		c.Peer = PeerTarget
	case PeerTarget, PeerOrigin, PeerUnauthorised:
	default:
		return Context{}, fmt.Errorf("%s.peer: %q is not %q, %q or %q", where, c.Peer, PeerTarget, PeerOrigin, PeerUnauthorised)
	}
	if lc.SenderID == nil {
		return Context{}, fmt.Errorf("%s.sender_id: missing (use \"\" for an empty ID)", where)
	}
	if lc.RecipientID == nil {
		return Context{}, fmt.Errorf("%s.recipient_id: missing (use \"\" for an empty ID)", where)
	}
	p := oscore.Params{MasterSecret: lc.MasterSecret, MasterSalt: lc.MasterSalt,
		SenderID: *lc.SenderID, RecipientID: *lc.RecipientID, ReplayWindow: lc.ReplayWindow}
	if lc.IDContext != nil {
		p.IDContext = append([]byte{}, *lc.IDContext...)
	}
	var err error
	if p.AEAD, err = parseNumberOrName(lc.Alg, oscore.ParseAEADAlg); err != nil {
		return Context{}, fmt.Errorf("%s.alg: %w", where, err)
	}
	if p.HKDF, err = parseNumberOrName(lc.HKDF, oscore.ParseHKDFAlg); err != nil {
		return Context{}, fmt.Errorf("%s.hkdf: %w", where, err)
	}
	if c.SendKIDContext && p.IDContext == nil {
		return Context{}, fmt.Errorf("%s.send_kid_context: the context has no id_context", where)
	}
	c.Params = p
	return c, check(c, where)
}

// parseNumberOrName reads a JSON number or string with parse; absent is 0
// (the oscore package's default).
func parseNumberOrName[T ~int](raw json.RawMessage, parse func(string) (T, error)) (T, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	} else {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, fmt.Errorf("want a number or a name: %w", err)
		}
		s = strconv.Itoa(n)
	}
	return parse(strings.TrimSpace(s))
}

// WriteLab writes cs in the lab's JSON context file form (ReadLab reads it
// back to the same contexts).
func WriteLab(w io.Writer, cs []Context) error {
	f := labFile{Format: LabFormat, Version: LabVersion}
	for _, c := range cs {
		p := c.Params
		lc := labContext{Name: c.Name, Peer: c.Peer, MasterSecret: p.MasterSecret, MasterSalt: p.MasterSalt,
			ReplayWindow: p.ReplayWindow, SenderSeq: c.SenderSeq, SendKIDContext: c.SendKIDContext}
		if p.AEAD != 0 {
			lc.Alg = json.RawMessage(strconv.Itoa(int(p.AEAD)))
		}
		if p.HKDF != 0 {
			lc.HKDF = json.RawMessage(strconv.Quote(p.HKDF.String()))
		}
		sid, rid := oscore.Hex(nonNilBytes(p.SenderID)), oscore.Hex(nonNilBytes(p.RecipientID))
		lc.SenderID, lc.RecipientID = &sid, &rid
		if p.IDContext != nil {
			idc := oscore.Hex(p.IDContext)
			lc.IDContext = &idc
		}
		f.Contexts = append(f.Contexts, lc)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
