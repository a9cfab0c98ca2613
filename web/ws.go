package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"oscore-lab/internal/nodes"
	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
)

// Kinds of WebSocket messages (docs/web-api.md).
const (
	kindEvent    = "event"    // a batch of trace events, in seq order
	kindState    = "state"    // node panel snapshot
	kindScenario = "scenario" // the running configuration changed
	kindReset    = "reset"    // a new scenario cleared the bus
	kindDropped  = "dropped"  // the server lost events for this client
)

// wsMessage is every message on /ws; Kind says which field is set.
type wsMessage struct {
	Kind     string             `json:"kind"`
	Events   []trace.Event      `json:"events,omitempty"`
	State    *nodes.LabState    `json:"state,omitempty"`
	Scenario *scenario.Scenario `json:"scenario,omitempty"`
	Count    uint64             `json:"count,omitempty"`
	Note     string             `json:"note,omitempty"`
	Rev      uint64             `json:"rev,omitempty"`   // scenario: configuration revision, increasing within an epoch
	Epoch    string             `json:"epoch,omitempty"` // scenario: the server process's epoch (server.epoch)
}

const (
	wsBuffer     = 16384 // subscriber channel: 16 s of the 1,000 events/s target
	wsBatch      = 1000  // live events per message
	wsRingBatch  = 10000 // ring events per message: few big messages paint sooner
	wsWriteLimit = 10 * time.Second
	// wsMaxClients bounds the open WebSockets (Options.MaxClients): each
	// holds a subscriber channel of wsBuffer events (4 MiB) and the
	// events waiting in it.
	wsMaxClients = 32
)

// broadcast hands a control message to every connected WebSocket; a
// client whose queue is full misses it (the next one supersedes it).
func (s *server) broadcast(m wsMessage) {
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	for c := range s.clients {
		select {
		case c <- m:
		default:
		}
	}
}

// websocket streams the ring of recent events, then live events, node state
// and configuration changes. The default same-origin check of
// coder/websocket stays on: other origins are refused.
func (s *server) websocket(w http.ResponseWriter, r *http.Request) {
	defer s.open.Add(-1)
	if s.open.Add(1) > int64(s.opts.MaxClients) {
		writeError(w, http.StatusServiceUnavailable, "web: %d WebSocket clients are connected, the most this lab serves; close one and reload", s.opts.MaxClients)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered (403 for another origin)
	}
	defer c.CloseNow()
	// Not r.Context(): the socket outlives middleware deadlines. CloseRead
	// ends ctx when the browser goes away.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx = c.CloseRead(ctx)
	if s.opts.Done != nil {
		go func() {
			select {
			case <-s.opts.Done:
				c.Close(websocket.StatusGoingAway, "server shutting down")
				cancel()
			case <-ctx.Done():
			}
		}()
	}

	ctrl := make(chan wsMessage, 8)
	s.clientsMu.Lock()
	s.clients[ctrl] = struct{}{}
	s.clientsMu.Unlock()
	defer func() {
		s.clientsMu.Lock()
		delete(s.clients, ctrl)
		s.clientsMu.Unlock()
	}()

	recent, sub := s.bus.SubscribeWithRecent(wsBuffer)
	defer sub.Close()

	write := func(m wsMessage) error {
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		wctx, wcancel := context.WithTimeout(ctx, wsWriteLimit)
		defer wcancel()
		return c.Write(wctx, websocket.MessageText, data)
	}
	cur, rev := s.current()
	if err := write(wsMessage{Kind: kindScenario, Scenario: cur, Rev: rev, Epoch: s.epoch}); err != nil {
		return
	}
	if err := writeRing(ctx, c, recent); err != nil {
		return
	}
	recent = nil

	var lastState []byte
	pushState := func() error {
		st := s.lab.State()
		data, err := json.Marshal(st)
		if err != nil || bytes.Equal(data, lastState) {
			return err
		}
		lastState = data
		return write(wsMessage{Kind: kindState, State: &st})
	}
	if err := pushState(); err != nil {
		return
	}
	tick := time.NewTicker(s.opts.StateInterval)
	defer tick.Stop()

	var dropped uint64
	batch := make([]trace.Event, 0, wsBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-ctrl:
			if err := write(m); err != nil {
				return
			}
		case <-tick.C:
			if err := pushState(); err != nil {
				return
			}
		case ev, ok := <-sub.C():
			if !ok {
				return
			}
			batch = batch[:0]
			var notices []wsMessage
			for collecting := true; collecting; {
				if ev.Seq == 0 && ev.Type == trace.TypeNotice {
					// Bus notices are not recorded events: a reset or a loss.
					if ev.Note == trace.NoteReset {
						batch = batch[:0]
						notices = append(notices[:0], wsMessage{Kind: kindReset})
					} else {
						d := sub.Dropped()
						notices = append(notices, wsMessage{Kind: kindDropped, Count: d - dropped, Note: ev.Note})
						dropped = d
					}
				} else {
					batch = append(batch, ev)
				}
				if len(batch) == wsBatch {
					break
				}
				select {
				case ev, ok = <-sub.C():
					collecting = ok
				default:
					collecting = false
				}
			}
			for _, n := range notices {
				if err := write(n); err != nil {
					return
				}
			}
			if len(batch) > 0 {
				if err := write(wsMessage{Kind: kindEvent, Events: batch}); err != nil {
					return
				}
			}
		}
	}
}

// writeRing sends the ring as event messages of at most wsRingBatch
// events, the same JSON as wsMessage{Kind: kindEvent}. The runs are the
// bus's own memory, shared by every client (trace.Bus.SubscribeWithRecent),
// and each message is streamed into the socket in pieces of about wsChunk
// (writeEvents), so a new client costs no copy of the ring, only one
// piece's encoding and the socket's write buffer.
func writeRing(ctx context.Context, c *websocket.Conn, runs [][]trace.Event) error {
	var msg [][]trace.Event // parts of runs, no copies
	n := 0
	for _, run := range runs {
		for len(run) > 0 {
			k := min(len(run), wsRingBatch-n)
			msg = append(msg, run[:k])
			run, n = run[k:], n+k
			if n == wsRingBatch {
				if err := writeEvents(ctx, c, msg); err != nil {
					return err
				}
				msg, n = msg[:0], 0
			}
		}
	}
	if n > 0 {
		return writeEvents(ctx, c, msg)
	}
	return nil
}

// wsChunk is how much of a ring message a client encodes before writing
// it to the socket.
const wsChunk = 64 << 10

// writeEvents streams one event message made of parts, encoded into a
// buffer of about wsChunk that is written out whenever it fills.
func writeEvents(ctx context.Context, c *websocket.Conn, parts [][]trace.Event) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteLimit)
	defer cancel()
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Grow(wsChunk + 4096)
	enc := json.NewEncoder(&buf) // escapes HTML as json.Marshal does
	buf.WriteString(`{"kind":"` + kindEvent + `","events":[`)
	first := true
	for _, part := range parts {
		for i := range part {
			if !first {
				buf.WriteByte(',')
			}
			first = false
			if err := enc.Encode(&part[i]); err != nil {
				w.Close()
				return err
			}
			buf.Truncate(buf.Len() - 1) // Encode's newline
			if buf.Len() >= wsChunk {
				if _, err := w.Write(buf.Bytes()); err != nil {
					return err
				}
				buf.Reset()
			}
		}
	}
	buf.WriteString("]}")
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	return w.Close()
}
