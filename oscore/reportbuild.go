package oscore

import (
	"encoding/hex"
	"strconv"
	"unicode/utf8"
)

// Reports are recorded on every protect and unprotect, so recording is
// kept to references and constants in the report's one allocation (shared
// with the request's Binding); the text, byte and sub-report fields derived
// from them are built by Complete (reportlazy.go).

// reportOptsLen is how many option rows fit in a report's inline storage.
const reportOptsLen = 4

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
	if o.Group {
		dst = append(dst, "group"...)
		sep = true
	}
	if o.KID != nil {
		if sep {
			dst = append(dst, ", "...)
		}
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

// cryptoParts are the values a report shows for one AEAD operation. The
// report keeps them, so they must outlive the call (message, context,
// binding or report memory, never the caller's stack).
type cryptoParts struct {
	recipient bool      // the Recipient Key was used (else the Sender Key)
	optVal    []byte    // the OSCORE option as sent or received
	nonce     *nonceBuf // nil: no nonce was built (processing stopped before)
	ownPIV    bool      // the nonce's Partial IV is the sender's own (else the request's)
	req       *Binding  // the request's kid and Partial IV (request_kid, request_piv of the AAD)
}

// record keeps references to the option, nonce, AAD and key inputs
// (RFC 8613 6.1, 5.2, 5.4, 3.2.1) for Complete, and sets the report's
// Context, Plaintext and Ciphertext (by reference, not copied).
func (r *Report) record(c *Context, p *cryptoParts, plaintext, ciphertext []byte) {
	r.Context = c.name
	r.Plaintext, r.Ciphertext = plaintext, ciphertext
	if lz := r.lazy; lz != nil {
		lz.ctx, lz.optVal = c, p.optVal
		lz.flags.set(lazyRecipient, p.recipient)
		lz.flags.set(lazyOwnPIV, p.ownPIV)
		lz.flags.set(lazyOption, true)
		lz.nonce, lz.req = p.nonce, p.req
	}
}

// optionName is OptionName, allocating only for unregistered numbers.
func optionName(num uint16) string {
	if d := lookup(num); d != nil {
		return d.Name
	}
	return OptionName(num)
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
