package peerctx

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"oscore-lab/oscore"
)

// ReadLibcoap reads a libcoap OSCORE configuration file, coap-oscore-conf(5),
// written for the lab's side (a client configuration: sender_id is the
// lab's, recipient_id the peer's). name labels the context.
//
// One "keyword,encoding,value" per line; # starts a comment line. Encodings:
// ascii and hex (optionally in double quotes), integer, unsigned64, bool,
// text (a COSE algorithm name), config (a block between single quotes, for
// complex_sender and complex_recipient). Keywords: master_secret,
// master_salt, id_context, sender_id, recipient_id (the first one counts),
// replay_window, aead_alg, hkdf_alg; rfc8613_b_1_2, rfc8613_b_2, ssn_freq,
// silent_server, last_seq, sliding_window, break_sender_key and
// break_recipient_key are accepted and do not change the context. Other
// keywords are errors. With an id_context, requests carry it as kid
// context, as libcoap's client sends them.
func ReadLibcoap(r io.Reader, name string) (Context, error) {
	b, err := readAll(r, "libcoap "+name)
	if err != nil {
		return Context{}, err
	}
	c := Context{Name: "libcoap:" + name, Peer: PeerTarget}
	st := libcoapState{c: &c}
	if err := st.parse(strings.Split(string(b), "\n"), 0, ""); err != nil {
		return Context{}, fmt.Errorf("libcoap %s: %w", name, err)
	}
	if c.Params.MasterSecret == nil {
		return Context{}, fmt.Errorf("libcoap %s: master_secret missing", name)
	}
	if !st.sender {
		return Context{}, fmt.Errorf("libcoap %s: sender_id missing", name)
	}
	if !st.recipient {
		return Context{}, fmt.Errorf("libcoap %s: recipient_id missing (a client configuration has one)", name)
	}
	// A libcoap client with an id_context sends it as kid context, and a
	// libcoap server with one looks contexts up by both.
	c.SendKIDContext = c.Params.IDContext != nil
	return c, check(c, "libcoap "+name)
}

type libcoapState struct {
	c                 *Context
	sender, recipient bool
}

// parse reads lines; block names the complex_* block they belong to ("" at
// the top level). first is the line number of lines[0], for messages.
func (st *libcoapState) parse(lines []string, first int, block string) error {
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		where := fmt.Sprintf("line %d", first+i+1)
		kw, rest, ok1 := strings.Cut(line, ",")
		enc, val, ok2 := strings.Cut(rest, ",")
		if !ok1 || !ok2 {
			return fmt.Errorf("%s: want keyword,encoding,value", where)
		}
		kw, enc, val = strings.TrimSpace(kw), strings.TrimSpace(enc), strings.TrimSpace(val)
		if enc == "config" {
			if block != "" {
				return fmt.Errorf("%s: %s inside %s", where, kw, block)
			}
			if kw != "complex_sender" && kw != "complex_recipient" {
				return fmt.Errorf("%s: %s takes no config block", where, kw)
			}
			body, end, err := configBlock(lines, i, val)
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if err := st.parse(body, first+i+1, kw); err != nil {
				return err
			}
			i = end
			continue
		}
		if err := st.set(kw, enc, val, block); err != nil {
			return fmt.Errorf("%s: %s: %w", where, kw, err)
		}
	}
	return nil
}

// configBlock returns the lines of a '...' block that opens with val on
// line i, and the index of its closing line.
func configBlock(lines []string, i int, val string) ([]string, int, error) {
	if !strings.HasPrefix(val, "'") {
		return nil, 0, fmt.Errorf("a config value starts with '")
	}
	val = val[1:]
	if j := strings.Index(val, "'"); j >= 0 {
		return []string{val[:j]}, i, nil
	}
	body := []string{val}
	for j := i + 1; j < len(lines); j++ {
		l := strings.TrimSpace(lines[j])
		if k := strings.Index(l, "'"); k >= 0 && !strings.HasPrefix(l, "#") {
			return append(body, l[:k]), j, nil
		}
		body = append(body, lines[j])
	}
	return nil, 0, fmt.Errorf("config block has no closing '")
}

func (st *libcoapState) set(kw, enc, val, block string) error {
	p := &st.c.Params
	switch kw {
	case "master_secret", "master_salt", "id_context", "sender_id", "recipient_id":
		if block == "complex_sender" && kw != "sender_id" || block == "complex_recipient" && kw != "recipient_id" {
			return fmt.Errorf("not allowed in %s", block)
		}
		b, err := libcoapBytes(enc, val)
		if err != nil {
			return err
		}
		switch kw {
		case "master_secret":
			p.MasterSecret = b
		case "master_salt":
			p.MasterSalt = b
		case "id_context":
			p.IDContext = b
		case "sender_id":
			if st.sender {
				return fmt.Errorf("given twice")
			}
			p.SenderID, st.sender = b, true
		case "recipient_id":
			if !st.recipient { // a client uses the first one only
				p.RecipientID, st.recipient = b, true
			}
		}
	case "replay_window":
		n, err := libcoapInt(enc, val)
		if err != nil {
			return err
		}
		if n < 1 || n > 4096 {
			return fmt.Errorf("%d outside 1..4096", n)
		}
		p.ReplayWindow = int(n)
	case "aead_alg":
		s, err := libcoapAlg(enc, val)
		if err != nil {
			return err
		}
		if p.AEAD, err = oscore.ParseAEADAlg(s); err != nil {
			return err
		}
	case "hkdf_alg":
		s, err := libcoapAlg(enc, val)
		if err != nil {
			return err
		}
		s = strings.TrimPrefix(strings.ToLower(s), "direct+")
		if p.HKDF, err = oscore.ParseHKDFAlg(s); err != nil {
			return err
		}
	case "rfc8613_b_1_2", "rfc8613_b_2", "silent_server", "break_sender_key", "break_recipient_key":
		if enc != "bool" || (unquote(val) != "true" && unquote(val) != "false") {
			return fmt.Errorf("want bool,true or bool,false")
		}
		if kw == "break_sender_key" && unquote(val) == "true" {
			return fmt.Errorf("a broken sender key cannot talk to anyone")
		}
	case "ssn_freq", "last_seq", "sliding_window":
		if _, err := libcoapInt(enc, val); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown keyword")
	}
	return nil
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

func libcoapBytes(enc, val string) ([]byte, error) {
	v := unquote(val)
	switch enc {
	case "hex":
		b, err := hex.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("bad hex: %w", err)
		}
		return b, nil
	case "ascii":
		return []byte(v), nil
	}
	return nil, fmt.Errorf("encoding %q (want hex or ascii)", enc)
}

func libcoapInt(enc, val string) (int64, error) {
	if enc != "integer" && enc != "unsigned64" {
		return 0, fmt.Errorf("encoding %q (want integer)", enc)
	}
	n, err := strconv.ParseInt(unquote(val), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad integer %q", val)
	}
	return n, nil
}

// libcoapAlg returns an algorithm given as integer or text, as a string
// the oscore parsers read.
func libcoapAlg(enc, val string) (string, error) {
	switch enc {
	case "integer":
		n, err := libcoapInt(enc, val)
		return strconv.FormatInt(n, 10), err
	case "text":
		return unquote(val), nil
	}
	return "", fmt.Errorf("encoding %q (want integer or text)", enc)
}
