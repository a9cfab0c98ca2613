package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// Lab is what the web server needs from the running lab; *nodes.Lab
// satisfies it.
type Lab interface {
	Load(s *scenario.Scenario) error
	Apply(s *scenario.Scenario) error
	Scenario() *scenario.Scenario
	Send(ctx context.Context, step scenario.Step) (nodes.Result, error)
	RunMulticast(ctx context.Context) ([]nodes.Result, error)
	State() nodes.LabState
	Nodes() []nodes.NodeInfo
}

var _ Lab = (*nodes.Lab)(nil)

// Options tune the server; the zero value is usable.
type Options struct {
	Version       string        // shown in the page and written into exported traces
	MaxBody       int64         // largest request body in bytes; 0 means 1 MiB
	StateInterval time.Duration // how often node state is pushed over /ws; 0 means 500 ms
	SendTimeout   time.Duration // longest POST /api/send; 0 means 30 s
	Logger        *slog.Logger  // nil means slog.Default()
	// AllowedHosts are host names or IP addresses (besides loopback
	// addresses and localhost) the page may be reached by, e.g. a
	// presenter's "laptop.local" or 192.0.2.7. Others get 421: this stops
	// DNS-rebinding pages from reading the lab.
	AllowedHosts []string
	// MaxClients bounds the open WebSockets; one more gets 503. 0 means
	// 32.
	MaxClients int
	// Expose is serve -expose: POST /api/check may then name any host,
	// not only loopback addresses.
	Expose bool
	// CheckTimeout bounds a conformance run started from the page; 0
	// means 3 minutes.
	CheckTimeout time.Duration
	// Done, when closed, ends every WebSocket: http.Server.Shutdown does not
	// wait for hijacked connections, so the command closes this first.
	Done <-chan struct{}
}

func (o *Options) defaults() {
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.StateInterval <= 0 {
		o.StateInterval = 500 * time.Millisecond
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 3 * time.Minute
	}
	if o.MaxClients <= 0 {
		o.MaxClients = wsMaxClients
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// server holds the routes' shared state.
type server struct {
	lab  Lab
	bus  *trace.Bus
	opts Options

	editMu sync.Mutex // one scenario change (load, apply, faults) at a time
	rev    uint64     // configuration revision, guarded by editMu
	// epoch names this server process: revisions restart with it, so a
	// page orders announcements by (epoch, rev) and takes a new epoch's
	// scenario whatever its revision.
	epoch string

	open      atomic.Int64 // WebSockets open or opening
	clientsMu sync.Mutex
	clients   map[chan wsMessage]struct{} // WebSocket control channels

	checks checkRuns // the conformance run started from the page
}

// NewServer returns the lab's HTTP handler: the page, the embedded assets,
// the JSON API (docs/web-api.md) and the /ws event stream.
func NewServer(lab Lab, bus *trace.Bus, opts Options) http.Handler {
	opts.defaults()
	s := &server{lab: lab, bus: bus, opts: opts, clients: map[chan wsMessage]struct{}{}, epoch: newEpoch()}

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(hostGuard(opts.AllowedHosts))
	r.Use(securityHeaders)
	r.Use(sameOrigin)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "web: no route %s %s", r.Method, r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "web: method %s not allowed on %s", r.Method, r.URL.Path)
	})

	r.Get("/", s.page)
	r.Handle("/static/*", StaticHandler())
	r.Get("/ws", s.websocket)
	r.Route("/api", func(r chi.Router) {
		r.Get("/scenarios", s.scenarios)
		r.Post("/load", s.load)
		r.Get("/scenario", s.getScenario)
		r.Put("/scenario", s.putScenario)
		r.Post("/send", s.send)
		r.Post("/multicast", s.multicast)
		r.Get("/state", s.state)
		r.Get("/nodes", s.nodesInfo)
		r.Get("/trace", s.trace)
		r.Get("/export.{ext:html|txt|mmd|pcapng}", s.export)
		r.Get("/oscore_contexts", s.wiresharkContexts)
		r.Get("/contexts/{name}/{format:aiocoap|libcoap}", s.peerContext)
		r.Post("/contexts/import", s.importContext)
		r.Post("/links/{id}/faults", s.faults)
		r.Post("/replay", s.replay)
		r.Post("/check", s.startCheck)
		r.Get("/check/{id}", s.getCheck)
		r.Get("/check/{id}/trace", s.checkTrace)
	})
	return r
}

// staticHandler marks assets as revalidate-always: the binary embeds them,
// so a new build must never be hidden behind a stale cache.
func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders keeps the page from being framed or sniffed, and allows
// only same-origin scripts, styles and connections (no CDN is ever used).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// newEpoch draws a server epoch: 8 random bytes in hex.
func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
