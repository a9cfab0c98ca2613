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

// hostGuard refuses requests whose Host header names neither a loopback
// address, localhost (or a name under .localhost), nor one of the allowed
// hosts (names or IP addresses). A page on another site can point its own
// domain name at 127.0.0.1 (DNS rebinding) and would then count as
// same-origin; the Host header still gives that name away. Any other IP
// literal is refused too: a lab reached by an address it was not told
// about was not meant to be reached there.
func hostGuard(allowed []string) func(http.Handler) http.Handler {
	ok := map[string]bool{"localhost": true}
	for _, h := range allowed {
		h = strings.ToLower(strings.Trim(h, "[]"))
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		}
		ok[h] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = strings.ToLower(strings.Trim(host, "[]"))
			pass := ok[host] || strings.HasSuffix(host, ".localhost")
			if ip := net.ParseIP(host); ip != nil {
				pass = ip.IsLoopback() || ok[ip.String()]
			}
			if !pass {
				writeError(w, http.StatusMisdirectedRequest, "web: host %q is not served here (serve -allow-host, or Options.AllowedHosts)", r.Host)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
