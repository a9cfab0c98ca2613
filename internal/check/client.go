package check

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// maxDatagram bounds what the suite reads from the target (RFC 7252 4.6:
// a CoAP message fits an IP packet; 64 KiB covers any UDP payload).
const maxDatagram = 65535

// errNoResponse is a response that did not come within the timeout.
var errNoResponse = errors.New("no response")

// client is the suite's CoAP endpoint: one UDP socket connected to the
// target, token and Message ID generators, and the recorder every datagram
// goes through.
type client struct {
	conn    *net.UDPConn
	origin  *net.UDPConn // the suite's origin server, behind a proxy under test (nil for a server)
	timeout time.Duration
	mid     uint16
	rec     recorder
	buf     []byte
	seen    map[string]bool // origin: source and MID of every request served (RFC 7252 4.5)
}

func newClient(target *net.UDPAddr, timeout time.Duration) (*client, error) {
	conn, err := net.DialUDP("udp", nil, target)
	if err != nil {
		return nil, fmt.Errorf("socket to %v: %w", target, err)
	}
	var b [2]byte
	_, _ = rand.Read(b[:])
	return &client{conn: conn, timeout: timeout, mid: binary.BigEndian.Uint16(b[:]), buf: make([]byte, maxDatagram)}, nil
}

func (c *client) close() {
	c.conn.Close()
	if c.origin != nil {
		c.origin.Close()
	}
}

// newToken returns a fresh random 8-byte token (RFC 7252 5.3.1).
func (c *client) newToken() message.Token {
	t := make([]byte, 8)
	_, _ = rand.Read(t)
	return t
}

func (c *client) nextMID() int32 {
	c.mid++
	return int32(c.mid)
}

// send encodes m (a fresh MID when m.MessageID is 0 and m is not a reply)
// and writes it, recording the datagram.
func (c *client) send(m message.Message) error {
	if m.MessageID == 0 {
		m.MessageID = c.nextMID()
	}
	raw, err := oscore.EncodeMessage(m)
	if err != nil {
		return err
	}
	return c.sendRaw(raw)
}

// sendRaw writes a datagram exactly as given.
func (c *client) sendRaw(raw []byte) error {
	c.rec.datagram(NodeSuite, NodeTarget, raw)
	_, err := c.conn.Write(raw)
	return err
}

// received is one datagram from the target, decoded leniently (go-coap's
// codec only: an invalid OSCORE option is for the case to judge).
type received struct {
	msg message.Message
	raw []byte
}

// await reads datagrams until a response with token tok arrives or the
// timeout passes. Empty ACKs (a separate response follows, RFC 7252 5.2.2)
// are skipped; a confirmable response is acknowledged; datagrams for other
// tokens (late notifications of an earlier case) are recorded and ignored.
func (c *client) await(tok message.Token, timeout time.Duration) (received, error) {
	deadline := time.Now().Add(timeout)
	for {
		if err := c.conn.SetReadDeadline(deadline); err != nil {
			return received{}, err
		}
		n, err := c.conn.Read(c.buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return received{}, errNoResponse
		}
		if err != nil {
			return received{}, err
		}
		raw := append([]byte(nil), c.buf[:n]...)
		c.rec.datagram(NodeTarget, NodeSuite, raw)
		m := message.Message{Options: make(message.Options, 0, min(n, 1024))} // go-coap decodes into this capacity
		if _, err := coder.DefaultCoder.Decode(raw, &m); err != nil {
			c.rec.note(fmt.Sprintf("undecodable datagram from the target: %v", err))
			continue
		}
		if m.Type == message.Confirmable && m.Code != codes.Empty {
			_ = c.sendRaw(emptyACK(m.MessageID))
		}
		if m.Code == codes.Empty || string(m.Token) != string(tok) {
			continue
		}
		return received{msg: m, raw: raw}, nil
	}
}

// awaitOrigin reads the next request that reaches the suite's origin
// server within timeout, acknowledging nothing yet: the reply does.
func (c *client) awaitOrigin(timeout time.Duration) (received, *net.UDPAddr, error) {
	deadline := time.Now().Add(timeout)
	for {
		if err := c.origin.SetReadDeadline(deadline); err != nil {
			return received{}, nil, err
		}
		n, from, err := c.origin.ReadFromUDP(c.buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return received{}, nil, errNoResponse
		}
		if err != nil {
			return received{}, nil, err
		}
		raw := append([]byte(nil), c.buf[:n]...)
		c.rec.datagram(NodeTarget, NodeOrigin, raw)
		m := message.Message{Options: make(message.Options, 0, min(n, 1024))}
		if _, err := coder.DefaultCoder.Decode(raw, &m); err != nil {
			c.rec.note(fmt.Sprintf("undecodable datagram at the origin: %v", err))
			continue
		}
		if m.Code == codes.Empty || m.Code >= 64 {
			continue // ACKs, RSTs and pings are not requests
		}
		key := fmt.Sprintf("%v/%d", from, m.MessageID)
		if c.seen[key] {
			// A retransmission of a request already answered (or of one
			// from an earlier case): acknowledge it and wait on.
			if m.Type == message.Confirmable {
				_, _ = c.origin.WriteToUDP(emptyACK(m.MessageID), from)
			}
			continue
		}
		if c.seen == nil {
			c.seen = map[string]bool{}
		}
		c.seen[key] = true
		return received{msg: m, raw: raw}, from, nil
	}
}

// replyOrigin answers req from the origin server: piggybacked on the ACK of
// a CON request, as a NON otherwise (RFC 7252 5.2.1, 5.2.3).
func (c *client) replyOrigin(to *net.UDPAddr, req message.Message, resp message.Message) error {
	resp.Token = req.Token
	if req.Type == message.Confirmable {
		resp.Type, resp.MessageID = message.Acknowledgement, req.MessageID
	} else {
		resp.Type, resp.MessageID = message.NonConfirmable, c.nextMID()
	}
	raw, err := oscore.EncodeMessage(resp)
	if err != nil {
		return err
	}
	c.rec.datagram(NodeOrigin, NodeTarget, raw)
	_, err = c.origin.WriteToUDP(raw, to)
	return err
}

// emptyACK acknowledges a confirmable message (RFC 7252 4.2).
func emptyACK(mid int32) []byte {
	return []byte{0x60, 0x00, byte(mid >> 8), byte(mid)}
}

// roundTrip sends m as a CON request with a fresh token (unless set) and
// returns the response.
func (c *client) roundTrip(m message.Message) (received, error) {
	if m.Token == nil {
		m.Token = c.newToken()
	}
	if m.Type == 0 && m.MessageID == 0 {
		m.Type = message.Confirmable
	}
	if err := c.send(m); err != nil {
		return received{}, err
	}
	return c.await(m.Token, c.timeout)
}

// maxCaseEvents bounds the events one case records: a target that floods
// the suite's socket cannot make the trace grow without end.
const maxCaseEvents = 4096

// recorder keeps the trace events of the current case.
type recorder struct {
	events   []trace.Event
	exchange int
	dropped  int // events past maxCaseEvents, not recorded
}

func (r *recorder) add(e trace.Event) {
	if len(r.events) >= maxCaseEvents-1 && e.Type != trace.TypeExchange {
		r.dropped++
		return
	}
	e.Seq = uint64(len(r.events) + 1)
	e.Time = time.Now().UTC()
	e.Exchange = r.exchange
	r.events = append(r.events, e)
}

func (r *recorder) datagram(from, to string, raw []byte) {
	r.add(trace.Event{Type: trace.TypeDatagram, From: from, To: to, Bytes: append([]byte(nil), raw...), Dir: dirOf(raw)})
}

func (r *recorder) layer(action, dir string, rep *oscore.Report) {
	if rep == nil {
		return
	}
	r.add(trace.Event{Type: trace.TypeLayer, Node: NodeSuite, Layer: 1, Dir: dir,
		Layer_: &trace.LayerEvent{Action: action, Report: rep}})
}

func (r *recorder) note(s string) {
	r.add(trace.Event{Type: trace.TypeExchange, Node: NodeSuite, Note: s})
}

// dirOf names what a datagram carries (RFC 7252 3, 4.2, 4.3).
func dirOf(b []byte) string {
	if len(b) < 4 || b[0]>>6 != 1 {
		return ""
	}
	typ, code := (b[0]>>4)&3, b[1]
	switch {
	case typ == 3:
		return trace.DirRST
	case code == 0 && typ == 2:
		return trace.DirACK
	case code == 0:
		return ""
	case code < 32:
		return trace.DirRequest
	}
	return trace.DirResponse
}
