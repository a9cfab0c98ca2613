package nodes

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// GroupServer is one member of a CoAP group that answers Group OSCORE
// requests (RFC 10021 7.2, 7.3): it removes the group layer, serves the
// resource and protects its response in group mode, bound to the request.
// A request that fails verification is dropped without a response, as RFC
// 10021 7.2 recommends for group requests, and recorded as a failed layer.
type GroupServer struct {
	id      string
	bus     *trace.Bus
	conn    *net.UDPConn
	ctx     *group.Context
	app     func(req *message.Message) message.Message // serves the request once its layer is removed
	leisure time.Duration
	tag     func(b []byte) int // the exchange a datagram belongs to, for the trace; nil: none
	mid     atomic.Uint32
	wg      sync.WaitGroup
	timers  sync.WaitGroup
}

// StartGroupServer listens on a loopback port as member id with the Group
// Security Context ctx, serving resources (Uri-Path joined by "/" ->
// payload); with a nil ctx it answers plain CoAP requests.
func StartGroupServer(bus *trace.Bus, id string, ctx *group.Context, resources map[string]string) (*GroupServer, error) {
	return startGroupServer(bus, id, ctx, GroupServerOptions{App: textApp(resources)})
}

// textApp serves fixed payloads by path: 2.05 with the payload, 4.04
// for any other path.
func textApp(resources map[string]string) func(req *message.Message) message.Message {
	return func(req *message.Message) message.Message {
		v, ok := resources[pathOf(*req)]
		if !ok {
			return message.Message{Code: codes.NotFound}
		}
		return message.Message{Code: codes.Content, Payload: []byte(v)}
	}
}

// GroupServerOptions are how a lab member serves: its application, its
// Leisure and how its events name their exchange.
type GroupServerOptions struct {
	App     func(req *message.Message) message.Message
	Leisure time.Duration      // fixed wait before each answer (RFC 7252 8.2)
	Tag     func(b []byte) int // exchange id of a datagram; nil: none
}

func startGroupServer(bus *trace.Bus, id string, ctx *group.Context, o GroupServerOptions) (*GroupServer, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("nodes: group member %s: %w", id, err)
	}
	s := &GroupServer{id: id, bus: bus, conn: c, ctx: ctx, app: o.App, leisure: o.Leisure, tag: o.Tag}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Member is the server as a GroupLink member.
func (s *GroupServer) Member() GroupMember {
	return GroupMember{ID: s.id, Addr: s.conn.LocalAddr().(*net.UDPAddr)}
}

// Close stops the server.
func (s *GroupServer) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	s.timers.Wait()
	return err
}

func (s *GroupServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, src, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		b := append([]byte(nil), buf[:n]...)
		if s.leisure <= 0 {
			s.reply(b, src)
			continue
		}
		// The member waits its Leisure before it even looks at the request,
		// so members with different Leisures take turns on the trace.
		s.timers.Add(1)
		time.AfterFunc(s.leisure, func() {
			defer s.timers.Done()
			s.reply(b, src) // the write fails harmlessly once closed
		})
	}
}

// reply answers datagram b from src, if it draws an answer.
func (s *GroupServer) reply(b []byte, src *net.UDPAddr) {
	if out, err := s.answer(b); err == nil && out != nil {
		s.conn.WriteToUDP(out, src)
	}
}

// answer processes one datagram and returns the datagram to send back, nil
// when there is none.
func (s *GroupServer) answer(b []byte) ([]byte, error) {
	m, err := oscore.DecodeMessage(b)
	if err != nil || m.Code == 0 || m.Code >= 32 {
		return nil, err
	}
	if s.ctx == nil {
		return s.answerPlain(b, m)
	}
	lookup := func(gid []byte) (*group.Context, error) {
		if !bytes.Equal(gid, s.ctx.GroupID()) {
			return nil, oscore.ErrContextNotFound
		}
		return s.ctx, nil
	}
	xid := s.exchangeOf(b)
	inner, x, rep, err := group.UnprotectRequest(m, lookup)
	if err != nil {
		s.layer(xid, trace.LayerFailed, rep, err.Error())
		return nil, err
	}
	s.layer(xid, trace.LayerRemoved, rep, "")
	resp := s.serveApp(xid, &inner)
	// The response takes the request's mode (RFC 10021 7.3, 8).
	out, rep, err := group.ProtectResponse(x, resp, group.ProtectOptions{})
	if err != nil {
		s.layer(xid, trace.LayerFailed, rep, err.Error())
		return nil, err
	}
	s.layer(xid, trace.LayerApplied, rep, "")
	return oscore.EncodeMessage(out)
}

func (s *GroupServer) exchangeOf(b []byte) int {
	if s.tag == nil {
		return 0
	}
	return s.tag(b)
}

func (s *GroupServer) layer(xid int, action string, rep *oscore.Report, note string) {
	publishLayer(s.bus, xid, s.id, action, rep, note)
}

// serveApp hands the request to the member's application and records the
// delivery; the response is NON, with the request's token (RFC 7252 8.2).
func (s *GroupServer) serveApp(xid int, req *message.Message) message.Message {
	resp := s.app(req)
	resp.Token, resp.Type, resp.MessageID = req.Token, message.NonConfirmable, int32(uint16(s.mid.Add(1)))
	s.bus.Publish(trace.Event{Type: trace.TypeDelivery, Exchange: xid, Node: s.id,
		Delivery: &trace.Delivery{Resource: "/" + pathOf(*req), Method: req.Code.String(), Code: codeText(resp.Code), Payload: string(resp.Payload)}})
	return resp
}

// answerPlain answers a member without a group context: plain CoAP, the
// baseline the Group OSCORE figures are measured against.
func (s *GroupServer) answerPlain(b []byte, m message.Message) ([]byte, error) {
	return oscore.EncodeMessage(s.serveApp(s.exchangeOf(b), &m))
}

// pathOf joins a request's Uri-Path segments with "/".
func pathOf(m message.Message) string {
	var segs [][]byte
	for _, o := range m.Options {
		if o.ID == message.URIPath {
			segs = append(segs, o.Value)
		}
	}
	return string(bytes.Join(segs, []byte("/")))
}

var errNoGroupResponse = errors.New("nodes: no response from a group member")
