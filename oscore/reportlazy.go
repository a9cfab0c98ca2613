package oscore

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/plgd-dev/go-coap/v3/message"
)

// reportLazy is what a report needs to build its derived fields on first
// use, once, for any number of concurrent readers.
type reportLazy struct {
	once     sync.Once
	owner    *Report // the report the fields are built into (copies read from it)
	noncePIV []byte  // the Partial IV in the nonce: own or the request's (RFC 8613 5.2)
	crypto   bool    // nonce and AAD inputs were recorded
	option   bool    // the OSCORE option was decoded: Option can be rendered

	firstNote [1]string       // inline storage for the first note
	ruleMsg   message.Message // scratch: the copy of the message a ClassRule sees while protecting
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
	if o := lz.owner; o != r { // a copy made before completion
		r.Option, r.Nonce.PaddedIDPIV, r.Nonce.PaddedPIV = o.Option, o.Nonce.PaddedIDPIV, o.Nonce.PaddedPIV
		r.AAD.AADArray, r.AAD.ExternalAAD, r.AAD.AAD, r.AAD.Diag = o.AAD.AADArray, o.AAD.ExternalAAD, o.AAD.AAD, o.AAD.Diag
	}
	return r
}

// derive renders the Option text, the nonce parts (RFC 8613 5.2), the AAD
// bytes and diagnostic notation (RFC 8613 5.4) and the option rows' texts
// from what record kept. It runs once, before anyone reads those fields.
func (r *Report) derive() {
	lz := r.lazy
	var buf []byte
	if lz.option {
		buf = OptionValue{KID: r.KID, PartialIV: r.PartialIV, KIDContext: r.KIDContext}.appendText(buf)
	}
	endOption := len(buf)
	if lz.crypto {
		buf = appendAADDiag(buf, AEADAlg(r.AAD.Alg), r.AAD.RequestKID, r.AAD.RequestPIV)
	}
	endDiag := len(buf)
	ends := make([]int, len(r.Options))
	for i := range r.Options {
		buf = appendOptionText(buf, r.Options[i].Number, r.Options[i].Value)
		ends[i] = len(buf)
	}
	s := string(buf)
	if lz.option {
		r.Option = s[:endOption]
	}
	start := endDiag
	for i := range r.Options {
		r.Options[i].Text = s[start:ends[i]]
		start = ends[i]
	}
	if !lz.crypto {
		return
	}
	r.AAD.Diag = s[endOption:endDiag]
	aad, ext, arr := appendAAD(nil, AEADAlg(r.AAD.Alg), r.AAD.RequestKID, r.AAD.RequestPIV)
	r.AAD.AADArray, r.AAD.ExternalAAD, r.AAD.AAD = aad[arr:], aad[ext:], aad

	n := len(r.Nonce.CommonIV)
	id := r.Nonce.IDPIV
	if n < pivPadLen+1+len(id) || len(lz.noncePIV) > pivPadLen {
		return // cannot happen for a valid context; never panic on a report
	}
	padded := make([]byte, n)
	padded[0] = byte(len(id))
	copy(padded[n-pivPadLen-len(id):n-pivPadLen], id)
	copy(padded[n-len(lz.noncePIV):], lz.noncePIV)
	r.Nonce.PaddedIDPIV, r.Nonce.PaddedPIV = padded[:n-pivPadLen], padded[n-pivPadLen:]
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
