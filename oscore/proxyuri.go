package oscore

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

var defaultPorts = map[string]string{"coap": "5683", "coaps": "5684", "coap+tcp": "5683", "coaps+tcp": "5684",
	"coap+ws": "80", "coaps+ws": "443", "http": "80", "https": "443"}

// decomposeProxyURI splits a Proxy-Uri per RFC 8613 4.1.3.3 and RFC 7252
// 6.4: Uri-Path and Uri-Query (Class E, returned percent-decoded) and the
// outer Proxy-Uri composed of scheme, host and port (RFC 7252 6.5, default
// port omitted), e.g. "coap://example.com/resource?q=1" gives
// "coap://example.com", ["resource"], ["q=1"].
func decomposeProxyURI(s string) (outer string, path, query []string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", nil, nil, fmt.Errorf("oscore: bad Proxy-Uri %q: %w", s, err)
	}
	if u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", nil, nil, fmt.Errorf("oscore: Proxy-Uri %q is not an absolute URI with a host (RFC 7252 6.4)", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "", nil, nil, fmt.Errorf("oscore: Proxy-Uri %q has a fragment (RFC 7252 6.4)", s)
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := u.Hostname(), u.Port()
	if port == defaultPorts[scheme] {
		port = ""
	}
	outer = scheme + "://"
	if strings.Contains(host, ":") {
		outer += "[" + host + "]"
	} else {
		outer += host
	}
	if port != "" {
		outer = scheme + "://" + net.JoinHostPort(host, port)
	}
	if p := u.EscapedPath(); p != "" && p != "/" {
		for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
			v, err := url.PathUnescape(seg)
			if err != nil {
				return "", nil, nil, fmt.Errorf("oscore: bad Proxy-Uri path %q: %w", seg, err)
			}
			path = append(path, v)
		}
	}
	if u.RawQuery != "" {
		for _, q := range strings.Split(u.RawQuery, "&") {
			v, err := url.PathUnescape(q)
			if err != nil {
				return "", nil, nil, fmt.Errorf("oscore: bad Proxy-Uri query %q: %w", q, err)
			}
			query = append(query, v)
		}
	}
	return outer, path, query, nil
}
