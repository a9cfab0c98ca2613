package oscore

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/plgd-dev/go-coap/v3/message/codes"
)

// reportLazy is what protect and unprotect record for a report, compactly,
// and what Complete needs to build its Details on first use, once, for any
// number of concurrent readers.
//
// The fields are ordered to pack into 208 bytes: with a Binding of 88
// and a message room of 328 bytes, a request's report box is 760 bytes,
// which the runtime's 8-byte header for objects of more than 512 bytes
// with pointers brings to the 768-byte size class.
type reportLazy struct {
	once         sync.Once
	outer, inner uint8 // CoAP codes (8 bits, RFC 7252 3), valid with lazyOuter, lazyInner
	flags        lazyFlags
	nrows        uint8 // rows in rowBuf, unless more holds them all

	owner *Report   // the report the Details are built for (copies read from it)
	ctx   *Context  // the context whose IV and key were used; nil when no nonce or AAD inputs were recorded
	nonce *nonceBuf // the nonce, in the request's Binding or the response's box; nil: none was built (processing stopped before)

	optVal []byte   // the OSCORE option bytes; parsed again by derive when lazyOption is set
	req    *Binding // its KID and PIV are request_kid and request_piv of the AAD (RFC 8613 5.4)

	rowBuf [reportOptsLen]optRow // option decisions, the usual few
	more   *moreRows             // all of them, once there are more than rowBuf holds
}

// lazyFlags are the yes/no facts of a reportLazy.
type lazyFlags uint8

const (
	lazyOuter     lazyFlags = 1 << iota // the outer code was recorded
	lazyInner                           // the inner code was recorded
	lazyOption                          // optVal decoded: the kid, kid context and Partial IV can be shown
	lazyRecipient                       // the Recipient Key was used (else the Sender Key)
	lazyOwnPIV                          // the nonce's Partial IV is the sender's own (else the request's)
)

func (f lazyFlags) has(g lazyFlags) bool { return f&g != 0 }

// set turns g on or off.
func (f *lazyFlags) set(g lazyFlags, on bool) {
	if on {
		*f |= g
	} else {
		*f &^= g
	}
}

// optRow is one option decision as protect and unprotect record it;
// derive expands it into an OptionReport. It fits 32 bytes: whether the
// option was escalated follows from its classes (see escalated).
type optRow struct {
	value    []byte
	num      uint16
	steps    uint16 // bit s set: the rule took step s (draft 2.2 steps only increase)
	orig, cl Class
	where    optWhere
	note     rowNote
}

// escalated reports whether an outer option became Inner in this layer: by
// the rule (draft 2.2 step 8, or the previous layer's OSCORE option, draft
// 2.1) when protecting, by the sender when found in the plaintext.
func (r *optRow) escalated() bool { return r.cl&ClassE != 0 && r.orig&ClassE == 0 }

// optWhere is where an option ends up in one layer.
type optWhere uint8

const (
	whereInner optWhere = iota
	whereOuter
	whereBoth
	whereDiscarded
)

var whereNames = [...]string{whereInner: "inner", whereOuter: "outer", whereBoth: "inner+outer", whereDiscarded: "discarded"}

// rowNote is the note of an option row: the reason for an unusual class
// or placement, in the words of the section that gives it.
type rowNote uint8

const (
	noteNone rowNote = iota
	noteObserveRequest
	noteObserveNotification
	noteNoResponse
	noteUnrecognised
	notePreviousOSCORE
	noteEscalated
	noteProxyURI // text rebuilt from the row's value by proxyURINote
	noteOwnOSCORE
	noteOuterCopy
	noteEscalatedBySender
	noteOuterMaxAge
)

var rowNotes = [...]string{
	noteObserveRequest:      "Inner and Outer Observe carry the request's value (RFC 8613 4.1.3.5.1)",
	noteObserveNotification: "notification: Inner Observe empty, Outer keeps the value (RFC 8613 4.1.3.5.2)",
	noteNoResponse:          "No-Response is Inner only (RFC 8613 4.1.3.6)",
	noteUnrecognised:        "unrecognised option: Class E (RFC 8613 4.1)",
	notePreviousOSCORE:      "previous layer's OSCORE option: protected by the new layer (draft 2.1)",
	noteEscalated:           "escalated to Class E (draft 2.2 step 8)",
	noteOwnOSCORE:           "this layer's OSCORE option",
	noteOuterCopy:           "outer copy of a Class E option (RFC 8613 8.2 step 2)",
	noteEscalatedBySender:   "outer option found inside the plaintext: escalated by the sender (draft 2.2)",
	noteOuterMaxAge:         "Outer Max-Age of an OSCORE error response: stays outer for caches (RFC 8613 4.1.3.1, 8.2)",
}

// stepSet packs a rule's step path into a set for stepPath; steps outside
// 1 to 9 are dropped (ProtectionRule never gives them).
func stepSet(steps []int) uint16 {
	var m uint16
	for _, s := range steps {
		if s >= 1 && s <= 9 {
			m |= 1 << s
		}
	}
	return m
}

// addRow records an option decision.
func (r *Report) addRow(row optRow) {
	lz := r.lazy
	switch {
	case lz == nil:
	case lz.more == nil && int(lz.nrows) < len(lz.rowBuf):
		lz.rowBuf[lz.nrows] = row
		lz.nrows++
	default:
		if lz.more == nil {
			lz.more = new(moreRows) // one allocation for the list and its first room
			lz.more.rows = append(lz.more.buf[:0], lz.rowBuf[:lz.nrows]...)
		}
		lz.more.rows = append(lz.more.rows, row)
	}
}

// moreRows holds the option decisions of a report with more than
// reportOptsLen of them, and the group part of a Group OSCORE layer's
// report (kept here, outside the report box, whose size is tuned).
type moreRows struct {
	rows  []optRow
	buf   [2 * reportOptsLen]optRow
	group *GroupReport
}

// rows returns the option decisions in the order they were recorded.
func (lz *reportLazy) rows() []optRow {
	if lz.more != nil {
		return lz.more.rows
	}
	return lz.rowBuf[:lz.nrows]
}

// addNote appends a note (a response's first one goes to its box, see
// responseBox).
func (r *Report) addNote(s string) {
	r.Notes = append(r.Notes, s)
}

// setOuter and setInner record the outer and inner codes (RFC 8613 4.2).
func (r *Report) setOuter(c codes.Code) {
	if lz := r.lazy; lz != nil {
		lz.outer = uint8(c)
		lz.flags.set(lazyOuter, c <= 0xff)
	}
}

func (r *Report) setInner(c codes.Code) {
	if lz := r.lazy; lz != nil {
		lz.inner = uint8(c)
		lz.flags.set(lazyInner, c <= 0xff)
	}
}

// setOption records the OSCORE option bytes; decoded says they parsed.
func (r *Report) setOption(raw []byte, decoded bool) {
	if lz := r.lazy; lz != nil {
		lz.optVal = raw
		lz.flags.set(lazyOption, decoded)
	}
}

// Complete builds the Details of a report made by protect or unprotect
// (see Report) and returns r. It is safe to call from several goroutines
// at once; after it returns every field may be read. Reports decoded from
// JSON are already complete.
func (r *Report) Complete() *Report {
	if r == nil || r.lazy == nil {
		return r
	}
	lz := r.lazy
	lz.once.Do(lz.owner.derive)
	if r.Details == nil { // a copy made before completion
		r.Details = lz.owner.Details
	}
	return r
}

// derive renders the option fields, the nonce and its parts (RFC 8613
// 5.2), the AAD bytes and diagnostic notation (RFC 8613 5.4), the key
// report (3.2.1), the codes and the option rows with their texts (4.1,
// draft 2.2) from what protect or unprotect recorded. It runs once, before
// anyone reads the Details.
//
// The nonce's Partial IV and its generator's ID (ID_PIV) are the request's
// kid and Partial IV unless the sender used its own Partial IV: then they
// are this message's Partial IV and the ID of whoever protected it (our
// Sender ID when protecting, our Recipient ID when unprotecting).
func (r *Report) derive() {
	lz := r.lazy
	d := &Details{Seq: -1, OptionValue: nonNil(lz.optVal)}
	r.Details = d
	group := false // the Group Flag, shown in the option's text (RFC 10021 4.1)
	if lz.flags.has(lazyOption) {
		if ov, err := ParseOption(lz.optVal); err == nil {
			group = ov.Group
			d.KID, d.KIDContext, d.PartialIV = ov.KID, ov.KIDContext, ov.PartialIV
			if ov.PartialIV != nil {
				d.Seq = int64(pivValue(ov.PartialIV))
			}
		}
	}
	if lz.flags.has(lazyOuter) {
		d.OuterCode = codeString(codes.Code(lz.outer))
	}
	if lz.flags.has(lazyInner) {
		d.InnerCode = codeString(codes.Code(lz.inner))
	}
	c := lz.ctx
	var reqKID, reqPIV []byte
	if lz.req != nil {
		reqKID, reqPIV = lz.req.KID(), lz.req.PIV()
	}
	idPIV, noncePIV := reqKID, reqPIV
	if c != nil {
		from := "request"
		if lz.flags.has(lazyOwnPIV) {
			from = "own"
			idPIV, noncePIV = c.p.SenderID, d.PartialIV
			if lz.flags.has(lazyRecipient) {
				idPIV = c.p.RecipientID
			}
		}
		var nonce []byte
		if lz.nonce != nil {
			nonce = lz.nonce.bytes()
		}
		d.Nonce = NonceReport{IDPIV: nonNil(idPIV), CommonIV: c.commonIV, Nonce: nonce, PIVFrom: from}
		d.AAD = AADReport{Alg: int(c.p.AEAD), RequestKID: nonNil(reqKID), RequestPIV: nonNil(reqPIV), Options: Hex{}}
		d.Key = c.keyReports[0]
		if lz.flags.has(lazyRecipient) {
			d.Key = c.keyReports[1]
		}
	}

	var buf []byte
	if lz.flags.has(lazyOption) {
		buf = OptionValue{Group: group, KID: d.KID, PartialIV: d.PartialIV, KIDContext: d.KIDContext}.appendText(buf)
	}
	endOption := len(buf)
	if c != nil {
		buf = appendAADDiag(buf, c.p.AEAD, d.AAD.RequestKID, d.AAD.RequestPIV)
	}
	endDiag := len(buf)
	var endsBuf [reportOptsLen]int
	ends := endsBuf[:0]
	rows := lz.rows()
	for i := range rows {
		buf = appendOptionText(buf, rows[i].num, rows[i].value)
		ends = append(ends, len(buf))
	}
	s := string(buf)
	if lz.flags.has(lazyOption) {
		d.Option = s[:endOption]
	}
	d.Options = make([]OptionReport, len(rows))
	start := endDiag
	for i, row := range rows {
		note := rowNotes[row.note]
		if row.note == noteProxyURI {
			note = proxyURINote(row.value)
		}
		d.Options[i] = OptionReport{Number: row.num, Name: optionName(row.num), Value: Hex(nonNil(row.value)),
			Text: s[start:ends[i]], Original: row.orig.name(), Class: row.cl.name(), Steps: stepPath(row.steps),
			Where: whereNames[row.where], Escalated: row.escalated(), Note: note}
		d.Options[i].Step, d.Options[i].Reason = DecisiveStep(d.Options[i].Steps)
		start = ends[i]
	}
	if lz.more != nil {
		d.Group = lz.more.group
	}
	if c == nil {
		return
	}
	d.AAD.Diag = s[endOption:endDiag]
	aad, ext, arr := appendAAD(nil, c.p.AEAD, d.AAD.RequestKID, d.AAD.RequestPIV)
	d.AAD.AADArray, d.AAD.ExternalAAD, d.AAD.AAD = aad[arr:], aad[ext:], aad

	n := len(c.commonIV)
	if n < pivPadLen+1+len(idPIV) || len(noncePIV) > pivPadLen {
		return // cannot happen for a valid context; never panic on a report
	}
	padded := make([]byte, n)
	padded[0] = byte(len(idPIV))
	copy(padded[n-pivPadLen-len(idPIV):n-pivPadLen], idPIV)
	copy(padded[n-len(noncePIV):], noncePIV)
	d.Nonce.PaddedIDPIV, d.Nonce.PaddedPIV = padded[:n-pivPadLen], padded[n-pivPadLen:]
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

// UnmarshalJSON decodes a report; its Details are never nil afterwards,
// even when the JSON carries none of their fields.
func (r *Report) UnmarshalJSON(b []byte) error {
	var f reportFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	if f.Details == nil {
		f.Details = &Details{Seq: -1}
	}
	*r = Report(f)
	return nil
}
