package web

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
)

var crossOrigin = func() *http.CrossOriginProtection {
	c := http.NewCrossOriginProtection()
	c.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "web: cross-origin %s refused: the lab accepts changes only from its own page", r.Method)
	}))
	return c
}()

// sameOrigin refuses state-changing requests (anything but GET, HEAD,
// OPTIONS) that a browser marks as coming from another origin, using
// Sec-Fetch-Site and, for older browsers, Origin against Host. Requests
// with neither header (curl, scripts) pass: they are not a browser being
// tricked by another site.
func sameOrigin(next http.Handler) http.Handler {
	return crossOrigin.Handler(next)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// hostGuard refuses requests whose Host header names neither an IP address,
// localhost, nor one of the allowed host names. A page on another site can
// point its own domain name at 127.0.0.1 (DNS rebinding) and would then
// count as same-origin; the Host header still gives that name away.
func hostGuard(allowed []string) func(http.Handler) http.Handler {
	ok := map[string]bool{"localhost": true}
	for _, h := range allowed {
		ok[strings.ToLower(h)] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = strings.ToLower(strings.Trim(host, "[]"))
			if net.ParseIP(host) == nil && !ok[host] && !strings.HasSuffix(host, ".localhost") {
				writeError(w, http.StatusMisdirectedRequest, "web: host %q is not served here (allow it with Options.AllowedHosts)", r.Host)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
