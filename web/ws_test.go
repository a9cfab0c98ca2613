package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"oscore-lab/internal/trace"
)

func TestWebSocketRefusesOtherOrigins(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(tl.srv.URL, "http") + "/ws"
	c, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil {
		c.CloseNow()
		t.Fatal("WebSocket from another origin was accepted")
	}
	if res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin WebSocket: %v (response %v), want 403", err, res)
	}
}

// TestWebSocketStreamsRingThenLive: events from before the connection come
// first, then live ones, with no gap and no repeat.
func TestWebSocketStreamsRingThenLive(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.sendFirstStep(t) // recorded before the socket opens
	before := len(tl.bus.Recent())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws" + strings.TrimPrefix(tl.srv.URL, "http") + "/ws"
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)

	sent := make(chan struct{})
	var seqs []uint64
	kinds := map[string]int{}
	for len(seqs) < before+4 {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d events (%v): %v", len(seqs), kinds, err)
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		kinds[m.Kind]++
		for _, e := range m.Events {
			seqs = append(seqs, e.Seq)
		}
		if len(seqs) >= before && kinds[kindState] > 0 && sent != nil {
			close(sent)
			sent = nil
			go tl.send(tl.lab.Scenario().Steps[0])
		}
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("event %d has seq %d: gap or repeat in %v", i, s, seqs[:i+1])
		}
	}
	if kinds[kindScenario] == 0 || kinds[kindState] == 0 {
		t.Fatalf("message kinds %v: want scenario and state too", kinds)
	}
}

// TestWebSocketTellsASlowClientWhatItLost: a client that stops reading loses
// events once its queue is full, and is then told how many.
func TestWebSocketTellsASlowClientWhatItLost(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tmpl := exchangeTemplate(t, tl)
	// The burst and its drain take seconds; under the race detector on a
	// loaded machine, tens of seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(tl.srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	read := func() wsMessage {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	got := 0
	for got < len(tmpl) { // the ring first
		got += len(read().Events)
	}
	// Stop reading while far more events than the queue holds are published.
	const burst = wsBuffer * 4
	for i := 0; i < burst; i++ {
		e := tmpl[i%len(tmpl)]
		e.Time = time.Time{}
		tl.bus.Publish(e)
	}
	// Read again; once the queue has drained, one more event brings the
	// notice of the loss (the bus tells at the next event that fits).
	type result struct {
		got  int
		lost uint64
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				done <- r
				return
			}
			var m wsMessage
			json.Unmarshal(data, &m)
			if m.Kind == kindDropped {
				r.lost += m.Count
			}
			r.got += len(m.Events)
			if n := len(m.Events); n > 0 && m.Events[n-1].Note == "end" {
				done <- r
				return
			}
		}
	}()
	time.Sleep(time.Second)
	tl.bus.Publish(trace.Event{Type: trace.TypeNotice, Note: "end"})
	r := <-done
	got += r.got
	lost := r.lost
	if lost == 0 {
		t.Fatal("no dropped notice although the client stopped reading")
	}
	if want := len(tmpl) + burst + 1; got+int(lost) != want {
		t.Fatalf("received %d + lost %d = %d events, want %d", got, lost, got+int(lost), want)
	}
	t.Logf("received %d events, told of %d lost", got, lost)
}
