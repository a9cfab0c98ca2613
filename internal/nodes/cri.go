package nodes

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// criRequest is what a forward-proxy needs of the full CRI a Proxy-Cri
// option carries (draft-ietf-core-href, "CoAP Options for Forward-Proxies"):
// CRI = [scheme, authority, path, query, fragment], trailing defaults left
// off.
type criRequest struct {
	scheme string
	host   string // host-name labels joined by ".", or an IP literal
	ip     bool
	port   string // "" when the CRI names none
	path   []string
	query  []string
}

// criSchemes maps CRI scheme numbers to the URI scheme names of the CoAP
// family (draft-ietf-core-href, table "Mapping CRI Scheme Numbers and URI
// Scheme Names"); scheme-id = -1 - scheme-number.
var criSchemes = map[uint64]string{0: "coap", 1: "coaps", 6: "coap+tcp", 7: "coaps+tcp", 24: "coap+ws", 25: "coaps+ws"}

// schemeOfNumber names a CRI scheme number, or says it is unknown.
func schemeOfNumber(n uint64) string {
	if s, ok := criSchemes[n]; ok {
		return s
	}
	return "scheme number " + strconv.FormatUint(n, 10)
}

// criDecMode bounds what a hostile Proxy-Cri can make the decoder build.
var criDecMode, _ = cbor.DecOptions{MaxNestedLevels: 4, MaxArrayElements: 64, IndefLength: cbor.IndefLengthForbidden}.DecMode()

// parseCRI decodes a full CRI with an authority (a forward-proxy cannot
// serve one without a host) and no fragment (CoAP URIs have none, RFC 7252
// 6).
func parseCRI(b []byte) (criRequest, error) {
	var r criRequest
	var top []any
	if err := criDecMode.Unmarshal(b, &top); err != nil {
		return r, fmt.Errorf("Proxy-Cri is not a CBOR array: %v", err)
	}
	if len(top) < 2 || len(top) > 5 {
		return r, fmt.Errorf("Proxy-Cri has %d sections, want a scheme, an authority and up to three more", len(top))
	}
	switch s := top[0].(type) {
	case int64:
		if s >= 0 {
			return r, errors.New("Proxy-Cri scheme-id is not negative")
		}
		r.scheme = schemeOfNumber(uint64(-1 - s))
	case string:
		r.scheme = strings.ToLower(s)
	default:
		return r, errors.New("Proxy-Cri has no scheme")
	}
	auth, ok := top[1].([]any)
	if !ok {
		return r, errors.New("Proxy-Cri has no authority (a forward-proxy needs a host)")
	}
	if len(auth) >= 2 {
		if f, isBool := auth[0].(bool); isBool && !f {
			auth = auth[2:] // userinfo: not part of a CoAP URI, skipped
		}
	}
	if n := len(auth); n > 0 {
		if p, isPort := auth[n-1].(uint64); isPort {
			if p > 65535 {
				return r, fmt.Errorf("Proxy-Cri port %d is out of range", p)
			}
			r.port, auth = strconv.FormatUint(p, 10), auth[:n-1]
		}
	}
	if len(auth) == 0 {
		return r, errors.New("Proxy-Cri authority has no host")
	}
	if ipb, isIP := auth[0].([]byte); isIP {
		a, ok := netip.AddrFromSlice(ipb)
		if !ok || len(auth) > 2 {
			return r, errors.New("Proxy-Cri host-ip is not 4 or 16 bytes with an optional zone")
		}
		r.host, r.ip = a.String(), true
	} else {
		labels := make([]string, 0, len(auth))
		for _, l := range auth {
			s, ok := l.(string)
			if !ok || s == "" || strings.Contains(s, ".") {
				return r, errors.New("Proxy-Cri host-name labels must be non-empty text without dots")
			}
			labels = append(labels, s)
		}
		r.host = strings.Join(labels, ".")
	}
	var err error
	if len(top) > 2 {
		if r.path, err = criTexts(top[2], "path"); err != nil {
			return r, err
		}
	}
	if len(top) > 3 {
		if r.query, err = criTexts(top[3], "query"); err != nil {
			return r, err
		}
	}
	if len(top) > 4 && top[4] != nil {
		return r, errors.New("Proxy-Cri has a fragment, which CoAP URIs do not (RFC 7252 6)")
	}
	return r, nil
}

// criTexts reads a path or query section: an array of text strings.
func criTexts(v any, what string) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("Proxy-Cri %s is not an array", what)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("Proxy-Cri %s holds a non-text element", what)
		}
		out = append(out, s)
	}
	return out, nil
}
