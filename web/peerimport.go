package web

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing/fstest"

	"oscore-lab/internal/peerctx"
	"oscore-lab/internal/scenario"
)

// importRequest is the body of POST /api/contexts/import
// (docs/peer-contexts.md, "Import").
type importRequest struct {
	Name   string            `json:"name"`   // the context's name in the scenario
	Format string            `json:"format"` // "aiocoap" or "libcoap"
	Files  map[string]string `json:"files"`  // file name -> content
	As     string            `json:"as"`     // the node that takes the file's side
	Peer   string            `json:"peer"`   // the node at the other end
}

// aiocoapFiles are the files of an aiocoap credentials directory the lab
// reads; any other name is refused, not ignored.
var aiocoapFiles = map[string]bool{"settings.json": true, "secret.json": true, "sequence.json": true}

// importContext answers POST /api/contexts/import: it reads a peer's
// context file(s) with the same readers as oscore-lab check, and adds the
// context between nodes as and peer to the running scenario through the
// same path (and validation) as PUT /api/scenario. Node as sends with the
// file's Sender ID, from the file's next Sender Sequence Number.
func (s *server) importContext(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, 64<<10)
	if !ok {
		return
	}
	var req importRequest
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	c, err := req.read()
	if err != nil {
		writeError(w, http.StatusBadRequest, "web: import: %v", err)
		return
	}
	cur, rev, err := s.change(r, func() error {
		sc := s.lab.Scenario()
		sc.Contexts = append(sc.Contexts, scenarioContext(req, c))
		return s.lab.Apply(sc)
	})
	if err != nil {
		s.changeError(w, http.StatusUnprocessableEntity, fmt.Errorf("web: import: %w", err))
		return
	}
	s.writeScenario(w, cur, rev)
}

// read checks the request's fields and parses its file(s).
func (req importRequest) read() (peerctx.Context, error) {
	if req.Name == "" || req.As == "" || req.Peer == "" {
		return peerctx.Context{}, fmt.Errorf("name, as (the node taking the file's side) and peer (the other end) are required")
	}
	switch req.Format {
	case "aiocoap":
		fsys := fstest.MapFS{}
		for n, b := range req.Files {
			if !aiocoapFiles[n] {
				return peerctx.Context{}, fmt.Errorf("aiocoap file %q: the lab reads settings.json, secret.json and sequence.json only", n)
			}
			fsys[n] = &fstest.MapFile{Data: []byte(b)}
		}
		return peerctx.ReadAiocoapFS(fsys, req.Name)
	case "libcoap":
		if len(req.Files) != 1 {
			return peerctx.Context{}, fmt.Errorf("libcoap: give exactly one file, the coap-oscore-conf(5) file, not %d", len(req.Files))
		}
		for _, b := range req.Files {
			return peerctx.ReadLibcoap(strings.NewReader(b), req.Name)
		}
	}
	return peerctx.Context{}, fmt.Errorf("format must be aiocoap or libcoap, not %q", req.Format)
}

// scenarioContext is c as a scenario context: endpoint a is node as with
// the file's side, b the peer with the mirrored IDs.
func scenarioContext(req importRequest, c peerctx.Context) scenario.Context {
	p := c.Params
	sc := scenario.Context{
		Name:          req.Name,
		A:             scenario.Endpoint{Node: req.As, SenderID: hex.EncodeToString(p.SenderID), RecipientID: hex.EncodeToString(p.RecipientID)},
		B:             scenario.Endpoint{Node: req.Peer, SenderID: hex.EncodeToString(p.RecipientID), RecipientID: hex.EncodeToString(p.SenderID)},
		MasterSecret:  hex.EncodeToString(p.MasterSecret),
		MasterSalt:    hex.EncodeToString(p.MasterSalt),
		SendIDContext: c.SendKIDContext,
		ReplayWindow:  p.ReplayWindow,
	}
	if p.IDContext != nil {
		id := hex.EncodeToString(p.IDContext)
		sc.IDContext = &id
	}
	if p.AEAD != 0 {
		sc.Alg = strconv.Itoa(int(p.AEAD))
	}
	if p.HKDF != 0 {
		sc.HKDF = p.HKDF.String()
	}
	if c.SenderSeq > 0 {
		sc.Seq = map[string]uint64{req.As: c.SenderSeq}
	}
	return sc
}
