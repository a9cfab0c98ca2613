package oscore

import (
	"bytes"
	"encoding/json"
	"sync"
)

// reportLazy is what a report needs to build its derived fields on first
// use, once, for any number of concurrent readers.
type reportLazy struct {
	once  sync.Once
	owner *Report  // the report the fields are built into (copies read from it)
	ctx   *Context // the context whose IV and key were used; nil when no nonce or AAD inputs were recorded

	recipient bool // the Recipient Key was used (else the Sender Key)
	ownPIV    bool // the nonce's Partial IV is the sender's own (else the request's)
	option    bool // the OSCORE option was decoded: Option can be rendered

	idPIV, noncePIV, nonce []byte // RFC 8613 5.2 inputs and result
	reqKID, reqPIV         []byte // RFC 8613 5.4 inputs

	rows      []optRow // option decisions, in rowBuf for the usual few
	rowBuf    [reportOptsLen]optRow
	firstNote [1]string // inline storage for the first note
}

// optRow is one option decision as protect and unprotect record it;
// derive expands it into an OptionReport.
type optRow struct {
	value     []byte
	steps     []int // shared with the rule's result
	note      string
	num       uint16
	orig, cl  Class
	where     optWhere
	escalated bool
}

// optWhere is where an option ends up in one layer.
type optWhere uint8

const (
	whereInner optWhere = iota
	whereOuter
	whereBoth
	whereDiscarded
)

var whereNames = [...]string{whereInner: "inner", whereOuter: "outer", whereBoth: "inner+outer", whereDiscarded: "discarded"}

// addRow records an option decision.
func (r *Report) addRow(row optRow) {
	if lz := r.lazy; lz != nil {
		lz.rows = append(lz.rows, row)
	}
}

// addNote appends a note, the first one in the report's own allocation.
func (r *Report) addNote(s string) {
	if r.Notes == nil && r.lazy != nil {
		r.Notes = r.lazy.firstNote[:0:1]
	}
	r.Notes = append(r.Notes, s)
}

// Complete builds the derived fields of a report made by protect or
// unprotect (see Report) and returns r. It is safe to call from several
// goroutines at once; after it returns every field may be read. Reports
// decoded from JSON are already complete.
func (r *Report) Complete() *Report {
	if r == nil || r.lazy == nil {
		return r
	}
	lz := r.lazy
	lz.once.Do(lz.owner.derive)
	if o := lz.owner; o != r && r.Nonce == nil { // a copy made before completion (derive always sets Nonce)
		r.Option, r.Nonce, r.AAD, r.Key, r.Options = o.Option, o.Nonce, o.AAD, o.Key, o.Options
	}
	return r
}

// derived holds the sub-reports derive builds, in one allocation.
type derived struct {
	nonce NonceReport
	aad   AADReport
	key   KeyReport
}

// derive renders the Option text, the nonce and its parts (RFC 8613 5.2),
// the AAD bytes and diagnostic notation (RFC 8613 5.4), the key report
// (3.2.1) and the option rows with their texts (4.1, draft 2.2) from what
// protect or unprotect recorded. It runs once, before anyone reads those
// fields.
func (r *Report) derive() {
	lz := r.lazy
	d := new(derived)
	r.Nonce, r.AAD, r.Key = &d.nonce, &d.aad, &d.key
	c := lz.ctx
	if c != nil {
		from := "request"
		if lz.ownPIV {
			from = "own"
		}
		d.nonce = NonceReport{IDPIV: nonNil(lz.idPIV), CommonIV: c.commonIV, Nonce: lz.nonce, PIVFrom: from}
		d.aad = AADReport{Alg: int(c.p.AEAD), RequestKID: nonNil(lz.reqKID), RequestPIV: nonNil(lz.reqPIV), Options: Hex{}}
		r.Key = &c.keyReports[0] // shared with the context: Redact copies before clearing
		if lz.recipient {
			r.Key = &c.keyReports[1]
		}
	}

	var buf []byte
	if lz.option {
		buf = OptionValue{KID: r.KID, PartialIV: r.PartialIV, KIDContext: r.KIDContext}.appendText(buf)
	}
	endOption := len(buf)
	if c != nil {
		buf = appendAADDiag(buf, c.p.AEAD, d.aad.RequestKID, d.aad.RequestPIV)
	}
	endDiag := len(buf)
	var endsBuf [reportOptsLen]int
	ends := endsBuf[:0]
	for i := range lz.rows {
		buf = appendOptionText(buf, lz.rows[i].num, lz.rows[i].value)
		ends = append(ends, len(buf))
	}
	s := string(buf)
	if lz.option {
		r.Option = s[:endOption]
	}
	r.Options = make([]OptionReport, len(lz.rows))
	start := endDiag
	for i, row := range lz.rows {
		r.Options[i] = OptionReport{Number: row.num, Name: optionName(row.num), Value: Hex(nonNil(row.value)),
			Text: s[start:ends[i]], Original: row.orig.name(), Class: row.cl.name(), Steps: row.steps,
			Where: whereNames[row.where], Escalated: row.escalated, Note: row.note}
		start = ends[i]
	}
	if c == nil {
		return
	}
	d.aad.Diag = s[endOption:endDiag]
	aad, ext, arr := appendAAD(nil, c.p.AEAD, d.aad.RequestKID, d.aad.RequestPIV)
	d.aad.AADArray, d.aad.ExternalAAD, d.aad.AAD = aad[arr:], aad[ext:], aad

	n := len(c.commonIV)
	id := d.nonce.IDPIV
	if n < pivPadLen+1+len(id) || len(lz.noncePIV) > pivPadLen {
		return // cannot happen for a valid context; never panic on a report
	}
	padded := make([]byte, n)
	padded[0] = byte(len(id))
	copy(padded[n-pivPadLen-len(id):n-pivPadLen], id)
	copy(padded[n-len(lz.noncePIV):], lz.noncePIV)
	d.nonce.PaddedIDPIV, d.nonce.PaddedPIV = padded[:n-pivPadLen], padded[n-pivPadLen:]
}

// reportFields is Report without methods, for the default JSON encoding.
type reportFields Report

// MarshalJSON completes the report and encodes its fields exactly as the
// default encoding of Report would (HTML escaping is left to the caller's
// encoder, which applies it to this output).
func (r *Report) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode((*reportFields)(r.Complete())); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
