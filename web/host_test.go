package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHostGuard: loopback addresses, localhost and the configured names and
// addresses pass; any other name or IP literal gets 421.
func TestHostGuard(t *testing.T) {
	h := hostGuard([]string{"Laptop.local", "192.0.2.7", "[2001:db8::7]"})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for host, want := range map[string]int{
		"127.0.0.1:8080":         200,
		"127.9.9.9":              200,
		"[::1]:8080":             200,
		"localhost:8080":         200,
		"lab.localhost":          200,
		"laptop.local:8080":      200,
		"192.0.2.7:8080":         200,
		"[2001:db8::7]:8080":     200,
		"192.0.2.8:8080":         421,
		"10.0.0.1":               421,
		"[2001:db8::8]:8080":     421,
		"0.0.0.0:8080":           421,
		"evil.example":           421,
		"localhost.evil.example": 421,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %s: %d, want %d", host, w.Code, want)
		}
	}
}
