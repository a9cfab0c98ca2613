package web

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"oscore-lab/internal/trace"
)

func dialWS(t *testing.T, ctx context.Context, tl *testLab) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(tl.srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// readUntilState reads a new client's messages up to the first node state,
// which follows the ring, and returns the raw event messages.
func readUntilState(t *testing.T, ctx context.Context, c *websocket.Conn) [][]byte {
	t.Helper()
	var events [][]byte
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Kind string }
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		switch m.Kind {
		case kindState:
			return events
		case kindEvent:
			events = append(events, data)
		}
	}
}

// TestWebSocketRingBatches: the ring goes out in messages of wsRingBatch
// events, byte for byte what encoding a wsMessage gives, in seq order.
func TestWebSocketRingBatches(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	tl.bus.Reset()
	const total = 2*wsRingBatch + 2500
	for i := range total {
		tl.bus.Publish(trace.Event{Type: trace.TypeNotice, Note: "n" + strconv.Itoa(i) + " <&>"})
	}
	want := tl.bus.Recent()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := readUntilState(t, ctx, dialWS(t, ctx, tl))
	if len(msgs) != 3 {
		t.Fatalf("%d event messages, want 3", len(msgs))
	}
	for i, data := range msgs {
		part := want[i*wsRingBatch : min((i+1)*wsRingBatch, total)]
		enc, err := json.Marshal(wsMessage{Kind: kindEvent, Events: part})
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(enc) {
			t.Fatalf("message %d (%d bytes) differs from the encoded wsMessage (%d bytes)", i, len(data), len(enc))
		}
	}
}

// TestWebSocketClientCap: one client more than MaxClients gets 503; once
// one leaves, another is served.
func TestWebSocketClientCap(t *testing.T) {
	tl := newTestLab(t, "draft-b3")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var open []*websocket.Conn
	for range wsMaxClients {
		c := dialWS(t, ctx, tl)
		readUntilState(t, ctx, c)
		open = append(open, c)
	}
	u := "ws" + strings.TrimPrefix(tl.srv.URL, "http") + "/ws"
	c, res, err := websocket.Dial(ctx, u, nil)
	if err == nil {
		c.CloseNow()
		t.Fatalf("client %d was served", wsMaxClients+1)
	}
	if res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("client %d: %v, want 503", wsMaxClients+1, err)
	}
	open[0].Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _, err := websocket.Dial(ctx, u, nil)
		if err == nil {
			c.CloseNow()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one client left, a new one is still refused: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebSocketRingIsShared: clients that stall while the ring is sent to
// them hold no copy of it. Each costs its subscriber channel (wsBuffer
// events) and little more; a copy of the ring would add ringEvents events
// each, and encoding a whole batch at once a batch's JSON.
func TestWebSocketRingIsShared(t *testing.T) {
	if raceDetector {
		t.Skip("heap figures under the race detector are not the server's")
	}
	tl := newTestLab(t, "draft-b3")
	tl.bus.Reset()
	const ringEvents, clients = 60000, 8
	note := strings.Repeat("x", 200)
	for i := range ringEvents {
		tl.bus.Publish(trace.Event{Type: trace.TypeNotice, Note: note + strconv.Itoa(i)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	before := heap()
	for range clients {
		dialWS(t, ctx, tl) // and never read: the server stalls mid-ring
	}
	time.Sleep(2 * time.Second) // < wsWriteLimit: the writes are still pending
	perClient := (heap() - before) / clients
	const eventSize = 256
	channel := int64(wsBuffer * eventSize)
	ring := int64(ringEvents * eventSize)
	t.Logf("heap grew %d KiB per stalled client (channel %d KiB, ring %d KiB)", perClient>>10, channel>>10, ring>>10)
	if perClient > channel+ring/4 {
		t.Fatalf("each stalled client holds %d KiB: more than its channel (%d KiB) by a good part of the ring (%d KiB)", perClient>>10, channel>>10, ring>>10)
	}
}
