package web

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"oscore-lab/internal/trace"
)

// firstRequest returns the first request datagram event on link.
func firstRequest(t *testing.T, bus *trace.Bus, link string) trace.Event {
	t.Helper()
	for _, e := range bus.Recent() {
		if e.Type == trace.TypeDatagram && e.Link == link && e.Dir == trace.DirRequest {
			return e
		}
	}
	t.Fatalf("no request datagram on %s", link)
	return trace.Event{}
}

// waitEvent waits until an event of the bus satisfies ok.
func waitEvent(t *testing.T, bus *trace.Bus, what string, ok func(trace.Event) bool) trace.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range bus.Recent() {
			if ok(e) {
				return e
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no event: %s", what)
	return trace.Event{}
}

// TestAPIReplayDatagram: POST /api/replay sends the recorded bytes of a
// request again on its link; the server's replay window refuses them
// (RFC 8613 7.4) and the replay, its fault note and the server's answer
// join the original's exchange.
func TestAPIReplayDatagram(t *testing.T) {
	tl := newTestLab(t, "rfc8613-c4-c7")
	tl.sendFirstStep(t)
	orig := firstRequest(t, tl.bus, "C-S")
	body := fmt.Sprintf(`{"seq":%d,"bytes":%q}`, orig.Seq, hex.EncodeToString(orig.Bytes))
	code, resp := do(t, "POST", tl.srv.URL+"/api/replay", body, nil)
	if code != 202 || !strings.Contains(resp, `"link":"C-S"`) {
		t.Fatalf("POST /api/replay = %d %s", code, resp)
	}
	again := waitEvent(t, tl.bus, "the replayed datagram", func(e trace.Event) bool {
		return e.Seq > orig.Seq && e.Type == trace.TypeDatagram && string(e.Bytes) == string(orig.Bytes)
	})
	if again.From != "C" || again.To != "S" || again.Exchange != orig.Exchange {
		t.Errorf("replayed datagram %s->%s exchange %d, want C->S exchange %d", again.From, again.To, again.Exchange, orig.Exchange)
	}
	waitEvent(t, tl.bus, "the replay fault note", func(e trace.Event) bool {
		return e.Type == trace.TypeFault && e.Fault != nil && e.Fault.Kind == "replay" && strings.Contains(e.Fault.Detail, fmt.Sprintf("event %d", orig.Seq))
	})
	waitEvent(t, tl.bus, "S's 4.01 Replay detected", func(e trace.Event) bool {
		return e.Seq > again.Seq && e.Type == trace.TypeError && e.Node == "S" && e.Error != nil && e.Error.Code == "4.01" && e.Exchange == orig.Exchange
	})
}

// TestAPIReplayHostile: whatever the body, the answer is a clear 4xx and
// nothing is sent.
func TestAPIReplayHostile(t *testing.T) {
	tl := newTestLab(t, "rfc8613-c4-c7")
	tl.sendFirstStep(t)
	orig := firstRequest(t, tl.bus, "C-S")
	var decision uint64
	for _, e := range tl.bus.Recent() {
		if e.Type == trace.TypeDecision {
			decision = e.Seq
			break
		}
	}
	other := strings.Repeat("00", len(orig.Bytes))
	for _, tc := range []struct {
		name, body string
		header     map[string]string
		want       int
		says       string
	}{
		{"empty object", `{}`, nil, 400, "seq"},
		{"zero", `{"seq":0}`, nil, 400, "seq"},
		{"negative", `{"seq":-1}`, nil, 400, "invalid JSON"},
		{"string seq", `{"seq":"4"}`, nil, 400, "invalid JSON"},
		{"huge seq", `{"seq":18446744073709551615}`, nil, 404, "no event"},
		{"beyond uint64", `{"seq":18446744073709551616}`, nil, 400, "invalid JSON"},
		{"unknown field", fmt.Sprintf(`{"seq":%d,"link":"C-S"}`, orig.Seq), nil, 400, "unknown field"},
		{"trailing data", fmt.Sprintf(`{"seq":%d}{}`, orig.Seq), nil, 400, "after the first value"},
		{"not JSON", `seq=4`, nil, 400, "invalid JSON"},
		{"not a datagram", fmt.Sprintf(`{"seq":%d}`, decision), nil, 422, "not a datagram"},
		{"bad hex", fmt.Sprintf(`{"seq":%d,"bytes":"zz"}`, orig.Seq), nil, 400, "bytes"},
		{"other bytes", fmt.Sprintf(`{"seq":%d,"bytes":%q}`, orig.Seq, other), nil, 409, "another datagram"},
		{"too big", fmt.Sprintf(`{"seq":%d,"bytes":"%s"}`, orig.Seq, strings.Repeat("00", 100<<10)), nil, 413, "larger"},
		{"cross-site", fmt.Sprintf(`{"seq":%d}`, orig.Seq), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
		{"wrong type", fmt.Sprintf(`{"seq":%d}`, orig.Seq), map[string]string{"Content-Type": "text/plain"}, 415, "Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tl.bus.Recent())
			code, body := do(t, "POST", tl.srv.URL+"/api/replay", tc.body, tc.header)
			if code != tc.want || !strings.Contains(body, tc.says) || !strings.Contains(body, `"error"`) {
				t.Errorf("= %d %s, want %d with %q", code, body, tc.want, tc.says)
			}
			time.Sleep(30 * time.Millisecond)
			for _, e := range tl.bus.Recent()[before:] {
				if e.Type == trace.TypeDatagram || e.Type == trace.TypeFault {
					t.Errorf("a refused replay sent something: %s %s", e.Type, e.Link)
				}
			}
		})
	}
	if code, _ := do(t, "GET", tl.srv.URL+"/api/replay", "", nil); code != 405 {
		t.Errorf("GET /api/replay = %d, want 405", code)
	}
}
