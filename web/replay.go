package web

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/http"

	"oscore-lab/internal/trace"
)

// replayer is the part of the lab that sends a recorded datagram again;
// *nodes.Lab has it.
type replayer interface {
	ReplayDatagram(link, from string, b []byte, what string) error
}

// replayRequest names a datagram event of the running lab's trace. Bytes,
// when given, must be that event's bytes: a page still showing an older
// run (the bus restarts its numbering with each load) replays nothing.
type replayRequest struct {
	Seq   uint64 `json:"seq"`
	Bytes string `json:"bytes,omitempty"`
}

// replay sends the bytes of a recorded datagram again on its link, in its
// direction, from a fresh socket (an on-path attacker's replay, RFC 8613
// 7.4): the bytes come from the trace, never from the request, so the
// page can only repeat what the lab carried.
func (s *server) replay(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r, 160<<10) // room for the hex of a 64 KiB datagram
	if !ok {
		return
	}
	var req replayRequest
	if err := decodeStrict(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.Seq == 0 {
		writeError(w, http.StatusBadRequest, "web: replay: seq: give the sequence number of a datagram event")
		return
	}
	rp, ok := s.lab.(replayer)
	if !ok {
		writeError(w, http.StatusNotImplemented, "web: replay: this lab cannot send datagrams again")
		return
	}
	ev, found := s.bus.Event(req.Seq)
	if !found {
		writeError(w, http.StatusNotFound, "web: replay: no event %d in the lab's recent events (a loaded scenario restarts the numbering; older events leave the ring)", req.Seq)
		return
	}
	if ev.Type != trace.TypeDatagram || ev.Link == "" || len(ev.Bytes) == 0 {
		writeError(w, http.StatusUnprocessableEntity, "web: replay: event %d is a %s event, not a datagram that crossed a link", req.Seq, ev.Type)
		return
	}
	if req.Bytes != "" {
		want, err := hex.DecodeString(req.Bytes)
		if err != nil {
			writeError(w, http.StatusBadRequest, "web: replay: bytes: %v", err)
			return
		}
		if !bytes.Equal(want, ev.Bytes) {
			writeError(w, http.StatusConflict, "web: replay: event %d is another datagram than the page shows (the lab restarted its numbering); reload the trace", req.Seq)
			return
		}
	}
	if err := rp.ReplayDatagram(ev.Link, ev.From, ev.Bytes, fmt.Sprintf("datagram of event %d", req.Seq)); err != nil {
		writeError(w, http.StatusConflict, "web: replay: %v", err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"seq": req.Seq, "link": ev.Link, "from": ev.From, "to": ev.To, "bytes": len(ev.Bytes)})
}
