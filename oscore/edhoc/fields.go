package edhoc

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Field is one item of an EDHOC message or plaintext in wire order, for
// tracers: its CBOR encoding, diagnostic notation and, for identifiers
// and compact kids, the byte string the wire form stands for.
type Field struct {
	Name  string
	CBOR  []byte
	Diag  string
	Value []byte // identifiers and compact kids only
	Note  string
}

// MarshalJSON writes the bytes as hex.
func (f Field) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name  string `json:"name"`
		Hex   string `json:"hex"`
		Diag  string `json:"diag"`
		Value string `json:"raw,omitempty"`
		Note  string `json:"note,omitempty"`
	}{f.Name, hex.EncodeToString(f.CBOR), f.Diag, hex.EncodeToString(f.Value), f.Note})
}

// fieldWalker reads items of a validated sequence and names them.
type fieldWalker struct {
	r   reader
	out []Field
}

func (w *fieldWalker) item(name, note string) []byte {
	b, err := w.r.item()
	if err != nil {
		return nil
	}
	w.out = append(w.out, Field{Name: name, CBOR: b, Diag: diag(b), Note: note})
	return b
}

func (w *fieldWalker) id(name string) {
	start := w.r.off
	v, err := w.r.id()
	if err != nil {
		return
	}
	b := w.r.b[start:w.r.off]
	note := "byte string"
	if len(b) == 1 {
		note = "one-byte integer standing for the byte string " + hex.EncodeToString(v) + " (RFC 9528 3.3.2)"
	}
	w.out = append(w.out, Field{Name: name, CBOR: b, Diag: diag(b), Value: v, Note: note})
}

func (w *fieldWalker) idCred(name string) {
	start := w.r.off
	id, _, err := w.r.idCred()
	if err != nil {
		return
	}
	b := w.r.b[start:w.r.off]
	f := Field{Name: name, CBOR: b, Diag: diag(b)}
	if id.Compact {
		f.Value, f.Note = id.Kid, "compact kid for "+diag(id.Map)+" (RFC 9528 3.5.3.2)"
	}
	w.out = append(w.out, f)
}

func (w *fieldWalker) ead(n int) {
	for !w.r.done() {
		l, err := w.r.int()
		if err != nil {
			return
		}
		it := EADItem{Label: l}
		f := Field{Name: fmt.Sprintf("EAD_%d", n)}
		if mt, err := w.r.peek(); err == nil && mt == mtBstr {
			v, _ := w.r.bstr()
			it.Value, it.HasValue = v, true
		}
		f.CBOR = appendEAD(nil, []EADItem{it})
		f.Diag = diag(f.CBOR)
		switch {
		case it.Padding():
			f.Note = "padding"
		case it.Critical():
			f.Note = fmt.Sprintf("critical item, label %d", -it.Label)
		default:
			f.Note = fmt.Sprintf("label %d", it.Label)
		}
		w.out = append(w.out, f)
	}
}

// Message1Fields lists message_1's items (RFC 9528 5.2.1).
func Message1Fields(b []byte) ([]Field, error) {
	if _, err := ParseMessage1(b); err != nil {
		return nil, err
	}
	w := &fieldWalker{r: reader{b: b}}
	w.item("METHOD", "")
	w.item("SUITES_I", "the selected suite is the last")
	w.item("G_X", "ephemeral public key")
	w.id("C_I")
	w.ead(1)
	return w.out, nil
}

// PlaintextFields lists PLAINTEXT_2 (n=2), PLAINTEXT_3 (n=3) or
// PLAINTEXT_4 (n=4).
func PlaintextFields(n int, b []byte) ([]Field, error) {
	var err error
	switch n {
	case 2, 3:
		_, err = parsePlaintext(fmt.Sprintf("PLAINTEXT_%d", n), b, n == 2, 0)
	case 4:
		_, err = ParsePlaintext4(b)
	default:
		err = fmt.Errorf("edhoc: no PLAINTEXT_%d", n)
	}
	if err != nil {
		return nil, err
	}
	w := &fieldWalker{r: reader{b: b}}
	who := map[int]string{2: "R", 3: "I"}[n]
	if n == 2 {
		w.id("C_R")
	}
	if n != 4 {
		w.idCred("ID_CRED_" + who)
		w.item(fmt.Sprintf("Signature_or_MAC_%d", n), "")
	}
	w.ead(n)
	return w.out, nil
}

// ErrorFields lists an error message's items (RFC 9528 6).
func ErrorFields(b []byte) ([]Field, error) {
	e, err := ParseError(b)
	if err != nil {
		return nil, err
	}
	w := &fieldWalker{r: reader{b: b}}
	w.item("ERR_CODE", errorNames[e.Code])
	if e.Info != nil {
		w.item("ERR_INFO", "")
	}
	return w.out, nil
}

// MessageFields lists message n (1-4) of the session as sent or
// received, with the decrypted plaintext's items after the ciphertext.
func (s *session) MessageFields(n int) []Field {
	var msg, pt []byte
	for _, st := range s.t.steps {
		switch st.Name {
		case fmt.Sprintf("message_%d", n):
			msg = st.Output
		case fmt.Sprintf("plaintext_%d", n):
			pt = st.Output
		}
	}
	if msg == nil {
		return nil
	}
	if n == 1 {
		f, _ := Message1Fields(msg)
		return f
	}
	w := &fieldWalker{r: reader{b: msg}}
	v := w.item(map[int]string{2: "G_Y_CIPHERTEXT_2", 3: "CIPHERTEXT_3", 4: "CIPHERTEXT_4"}[n], "one byte string")
	out := w.out
	if n == 2 && v != nil {
		body, _ := (&reader{b: v}).bstr()
		if l := s.suite.Curve().PublicLen(); len(body) > l {
			out = append(out, Field{Name: "G_Y", CBOR: bstr(body[:l]), Diag: diag(bstr(body[:l])), Note: "inside the byte string"},
				Field{Name: "CIPHERTEXT_2", CBOR: bstr(body[l:]), Diag: diag(bstr(body[l:])), Note: "inside the byte string"})
		}
	}
	if pt != nil {
		f, _ := PlaintextFields(n, pt)
		out = append(out, f...)
	}
	return out
}

// MarshalJSON writes a step with its bytes as hex, secret outputs
// included: pass the steps through Redacted first to hide them.
func (s Step) MarshalJSON() ([]byte, error) {
	type out struct {
		Name     string   `json:"name"`
		Formula  string   `json:"formula"`
		Inputs   []string `json:"inputs,omitempty"`
		Input    string   `json:"input,omitempty"`
		Info     string   `json:"info,omitempty"`
		InfoDiag string   `json:"info_diag,omitempty"`
		Output   string   `json:"output,omitempty"`
		Secret   bool     `json:"secret,omitempty"`
	}
	o := out{Name: s.Name, Formula: s.Formula, Inputs: s.Inputs, Input: hex.EncodeToString(s.Input),
		Info: hex.EncodeToString(s.Info), InfoDiag: s.InfoDiag(), Output: hex.EncodeToString(s.Output), Secret: s.Secret}
	return json.Marshal(o)
}

// Redacted returns the steps with secret outputs (keys, salts, shared
// secrets, KEYSTREAM_2) removed: what a trace shows by default. Inputs
// are all public (transcripts, contexts, structures, plaintexts).
// Demonstration sessions built from published keys (RFC 9529) may show
// everything.
func Redacted(steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		if s.Secret {
			s.Output = nil
		}
		out[i] = s
	}
	return out
}
