package web

import (
	"bytes"
	"io"
	"net/http"
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
