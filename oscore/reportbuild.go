package oscore

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// Reports are built on every protect and unprotect, so their construction
// is kept to two allocations: the Report itself, whose inline arena holds
// the byte fields and first option rows, and one string holding every text
// field. Byte fields may also share memory with the message that was
// produced or consumed; treat reports as read-only.

// reportInline sizes the inline storage of a Report.
const (
	reportArenaLen = 160
	reportOptsLen  = 4
)

// take returns n bytes of the report's arena, or a fresh slice when the
// arena is used up (existing slices are never moved).
func (r *Report) take(n int) []byte {
	if r.arenaUsed+n <= len(r.arena) {
		s := r.arena[r.arenaUsed : r.arenaUsed+n : r.arenaUsed+n]
		r.arenaUsed += n
		return s
	}
	return make([]byte, n)
}

// copyBytes copies b into the arena; nil stays nil.
func (r *Report) copyBytes(b []byte) Hex {
	if b == nil {
		return nil
	}
	s := r.take(len(b))
	copy(s, b)
	return s
}

// appendOptionText renders an option value in its registered format:
// strings quoted, uints as numbers, the OSCORE option canonically, empty
// values as nothing, others as 0x-hex.
func appendOptionText(dst []byte, num uint16, v []byte) []byte {
	if num == optOSCORE {
		if ov, err := ParseOption(v); err == nil {
			return ov.appendText(dst)
		}
		dst = append(dst, "0x"...)
		dst = hex.AppendEncode(dst, v)
		return append(dst, " (malformed)"...)
	}
	format := "opaque"
	if d := lookup(num); d != nil {
		format = d.Format
	}
	switch {
	case len(v) == 0 && format != "string":
		return dst
	case format == "string" && plainASCII(v):
		dst = append(dst, '"')
		dst = append(dst, v...)
		return append(dst, '"')
	case format == "string" && utf8.Valid(v):
		return strconv.AppendQuote(dst, string(v))
	case format == "uint" && len(v) <= 8:
		return strconv.AppendUint(dst, decodeUint(v), 10)
	}
	dst = append(dst, "0x"...)
	return hex.AppendEncode(dst, v)
}

// plainASCII reports printable ASCII that needs no quoting escapes.
func plainASCII(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendText appends the canonical text form of an OSCORE option value.
func (o OptionValue) appendText(dst []byte) []byte {
	if o.IsEmpty() {
		return append(dst, '-')
	}
	dst = append(dst, '[')
	sep := false
	if o.KID != nil {
		dst = append(dst, "kid:"...)
		dst = hex.AppendEncode(dst, o.KID)
		sep = true
	}
	if o.PartialIV != nil {
		if sep {
			dst = append(dst, ", "...)
		}
		dst = append(dst, "piv:"...)
		dst = hex.AppendEncode(dst, o.PartialIV)
		sep = true
	}
	if o.KIDContext != nil {
		if sep {
			dst = append(dst, ", "...)
		}
		dst = append(dst, "kidctx:"...)
		dst = hex.AppendEncode(dst, o.KIDContext)
	}
	return append(dst, ']')
}

// appendAADDiag appends the CBOR diagnostic notation of the AAD.
func appendAADDiag(dst []byte, alg AEADAlg, kid, piv []byte) []byte {
	dst = append(dst, `["Encrypt0", h'', << [1, [`...)
	dst = strconv.AppendInt(dst, int64(alg), 10)
	dst = append(dst, "], h'"...)
	dst = hex.AppendEncode(dst, kid)
	dst = append(dst, "', h'"...)
	dst = hex.AppendEncode(dst, piv)
	return append(dst, `', h''] >>]`...)
}

// cryptoParts are the values a report shows for one AEAD operation.
type cryptoParts struct {
	recipient       bool // the Recipient Key was used (else the Sender Key)
	ov              OptionValue
	optVal          []byte
	idPIV, noncePIV []byte // the Partial IV's generator and the Partial IV used in the nonce
	nonce           []byte
	ownPIV          bool // the Partial IV is the sender's own (else the request's)
	reqKID, reqPIV  []byte
}

// fill completes a report: header fields, nonce parts, AAD, key and all
// text fields (RFC 8613 5.2, 5.4, 3.2.1).
// plaintext and ciphertext are kept by reference (not copied).
func (r *Report) fill(c *Context, p *cryptoParts, plaintext, ciphertext []byte) {
	r.Context = c.name
	r.KID, r.KIDContext, r.PartialIV = r.copyBytes(p.ov.KID), r.copyBytes(p.ov.KIDContext), r.copyBytes(p.ov.PartialIV)
	r.Seq = -1
	if p.ov.PartialIV != nil {
		r.Seq = int64(pivValue(p.ov.PartialIV))
	}
	r.OptionValue = r.copyBytes(nonNil(p.optVal))
	r.Plaintext, r.Ciphertext = plaintext, ciphertext

	// Nonce parts (RFC 8613 5.2).
	n := len(c.commonIV)
	padded := r.take(n)
	clear(padded)
	padded[0] = byte(len(p.idPIV))
	copy(padded[n-pivPadLen-len(p.idPIV):n-pivPadLen], p.idPIV)
	copy(padded[n-len(p.noncePIV):], p.noncePIV)
	r.Nonce = NonceReport{IDPIV: r.copyBytes(nonNil(p.idPIV)), PaddedIDPIV: padded[:n-pivPadLen],
		PaddedPIV: padded[n-pivPadLen:], CommonIV: c.commonIV, Nonce: r.copyBytes(p.nonce), PIVFrom: "request"}
	if p.ownPIV {
		r.Nonce.PIVFrom = "own"
	}

	// AAD (RFC 8613 5.4).
	need := len(encrypt0Prefix) + 8 + 2*len(p.reqKID) + len(p.reqPIV) + 8
	aad, ext, arr := appendAAD(r.take(need)[:0], c.p.AEAD, p.reqKID, p.reqPIV)
	r.AAD = AADReport{Alg: int(c.p.AEAD), RequestKID: r.copyBytes(nonNil(p.reqKID)), RequestPIV: r.copyBytes(nonNil(p.reqPIV)),
		Options: Hex{}, AADArray: aad[arr:], ExternalAAD: aad[ext:], AAD: aad}

	// Key (RFC 8613 3.2.1).
	d, key, which := c.deriv.SenderKey, c.senderKey, "sender"
	if p.recipient {
		d, key, which = c.deriv.RecipientKey, c.recipientKey, "recipient"
	}
	r.Key = KeyReport{Which: which, Alg: c.deriv.AEAD, Info: d.Info, InfoDiag: d.InfoDiag, Key: r.copyBytes(key)}

	// Text fields: built in one buffer, converted to one string, sliced.
	var tbuf [384]byte
	buf := p.ov.appendText(tbuf[:0])
	endOption := len(buf)
	buf = appendAADDiag(buf, c.p.AEAD, p.reqKID, p.reqPIV)
	endDiag := len(buf)
	var endsBuf [2 * reportOptsLen]int
	ends := endsBuf[:0]
	for i := range r.Options {
		o := &r.Options[i]
		buf = appendOptionText(buf, o.Number, o.Value)
		ends = append(ends, len(buf))
		if o.Name == "" {
			buf = append(buf, "Option "...)
			buf = strconv.AppendUint(buf, uint64(o.Number), 10)
		}
		ends = append(ends, len(buf))
	}
	s := string(buf)
	r.Option, r.AAD.Diag = s[:endOption], s[endOption:endDiag]
	start := endDiag
	for i := range r.Options {
		o := &r.Options[i]
		o.Text = s[start:ends[2*i]]
		if o.Name == "" {
			o.Name = s[ends[2*i]:ends[2*i+1]]
		}
		start = ends[2*i+1]
	}
}

// optionName is OptionName without allocating: "" for unknown numbers,
// which fill names later.
func optionName(num uint16) string {
	if d := lookup(num); d != nil {
		return d.Name
	}
	return ""
}

// classNames avoids building class strings per option.
var classNames = func() [8]string {
	var a [8]string
	for i := range a {
		a[i] = Class(i).String()
	}
	return a
}()

func (c Class) name() string { return classNames[c&7] }
