package web

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"

	"oscore-lab/internal/peerctx"
	"oscore-lab/oscore"
)

// contextSider is the running lab's view of one side of a context
// (*nodes.Lab).
type contextSider interface {
	ContextSide(name, node string) (oscore.Params, uint64, error)
}

// peerContext answers GET /api/contexts/{name}/aiocoap and .../libcoap:
// the side of context name that node ?as= holds, in the peer's format, so
// an aiocoap or libcoap peer can take that node's place (its Sender ID,
// its next Sender Sequence Number). aiocoap gets a JSON object of file
// name to content for its credentials directory (settings.json, and
// sequence.json once the side has sent), libcoap its coap-oscore-conf(5)
// file. The answer holds the master secret, so it needs
// ?include_secrets=1. What the format cannot say is a 422 with the reason
// (docs/peer-contexts.md).
func (s *server) peerContext(w http.ResponseWriter, r *http.Request) {
	secrets, ok := includeSecrets(w, r)
	if !ok {
		return
	}
	if !secrets {
		writeError(w, http.StatusForbidden, "web: a context for a peer holds its master secret: ask with include_secrets=1")
		return
	}
	lab, ok := s.lab.(contextSider)
	if !ok {
		writeError(w, http.StatusNotImplemented, "web: this lab cannot export contexts")
		return
	}
	name, node := chi.URLParam(r, "name"), r.URL.Query().Get("as")
	if node == "" {
		writeError(w, http.StatusBadRequest, "web: as=NODE names the side to export (the node the peer stands in for)")
		return
	}
	p, seq, err := lab.ContextSide(name, node)
	if err != nil {
		writeError(w, http.StatusNotFound, "web: %v", err)
		return
	}
	c := peerctx.Context{Name: name, Params: p, SenderSeq: seq}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var buf bytes.Buffer
	switch chi.URLParam(r, "format") {
	case "aiocoap":
		files, err := peerctx.AiocoapFiles(c)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "web: %v", err)
			return
		}
		out := map[string]string{}
		for n, b := range files {
			out[n] = string(b)
		}
		json.NewEncoder(&buf).Encode(out)
		h.Set("Content-Type", "application/json")
	default:
		if err := peerctx.WriteLibcoap(&buf, c); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "web: %v", err)
			return
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+safeFileName(name)+`.conf"`)
	}
	w.Write(buf.Bytes())
}
