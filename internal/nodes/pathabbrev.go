package nodes

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
)

// uriPathAbbrevs are the initial entries of the Uri-Path-Abbrev registry
// (draft-ietf-core-uri-path-abbrev, IANA considerations): each value stands
// for a sequence of Uri-Path options.
var uriPathAbbrevs = map[uint32][]string{
	0:   {".well-known", "core"},
	1:   {".well-known", "rd"},
	2:   {".well-known", "edhoc"},
	301: {".well-known", "est", "crts"},
	302: {".well-known", "est", "sen"},
	303: {".well-known", "est", "sren"},
	304: {".well-known", "est", "skg"},
	305: {".well-known", "est", "skc"},
	306: {".well-known", "est", "att"},
	401: {".well-known", "brski", "es"},
	402: {".well-known", "brski", "rv"},
	403: {".well-known", "brski", "vs"},
}

// requestPath is the path a request names: its Uri-Path options, or the
// sequence a Uri-Path-Abbrev stands for, processed "like the equivalent
// sequence of Uri-Path options" (draft-ietf-core-uri-path-abbrev, server
// processing). An unknown value, or the option beside Uri-Path, is an
// unprocessable critical option (4.02, never 4.04).
func requestPath(opts message.Options) ([]string, error) {
	if !opts.HasOption(optURIPathAbbrev) {
		return uriPath(opts), nil
	}
	if opts.HasOption(optURIPath) {
		return nil, fmt.Errorf("Uri-Path-Abbrev beside Uri-Path")
	}
	v, err := opts.GetUint32(optURIPathAbbrev)
	if err != nil {
		return nil, fmt.Errorf("Uri-Path-Abbrev value unreadable")
	}
	p, ok := uriPathAbbrevs[v]
	if !ok {
		return nil, fmt.Errorf("Uri-Path-Abbrev value %d unknown", v)
	}
	return p, nil
}

// expandPathAbbrev replaces a known Uri-Path-Abbrev by its Uri-Path options
// (a proxy "MAY expand into Uri-Path options", draft-ietf-core-uri-path-abbrev,
// proxy processing); anything else is left as it is.
func expandPathAbbrev(opts message.Options) message.Options {
	if !opts.HasOption(optURIPathAbbrev) {
		return opts
	}
	p, err := requestPath(opts)
	if err != nil {
		return opts
	}
	opts = opts.Remove(optURIPathAbbrev)
	for _, seg := range p {
		opts, _, _ = opts.AddString(make([]byte, len(seg)), optURIPath, seg)
	}
	return opts
}
