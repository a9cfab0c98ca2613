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
	done    chan struct{} // closed by Close: notifications stop
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
	s := &GroupServer{id: id, bus: bus, conn: c, ctx: ctx, app: o.App, leisure: o.Leisure, tag: o.Tag, done: make(chan struct{})}
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
	select {
	case <-s.done:
	default:
		close(s.done)
	}
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
	out, obs, err := s.answerObserving(b)
	if err != nil || out == nil {
		return
	}
	s.conn.WriteToUDP(out, src)
	if obs != nil {
		s.timers.Add(1)
		go s.notify(obs, src)
	}
}

// answer processes one datagram and returns the datagram to send back, nil
// when there is none.
func (s *GroupServer) answer(b []byte) ([]byte, error) {
	out, _, err := s.answerObserving(b)
	return out, err
}

// answerObserving is answer, and for an Observe registration that drew a
// 2.05 also the observation whose notifications follow.
func (s *GroupServer) answerObserving(b []byte) ([]byte, *groupObservation, error) {
	m, err := oscore.DecodeMessage(b)
	if err != nil || m.Code == 0 || m.Code >= 32 {
		return nil, nil, err
	}
	if s.ctx == nil {
		resp := s.serveApp(s.exchangeOf(b), &m)
		obs := s.observation(&m, &resp, nil, s.exchangeOf(b))
		out, err := oscore.EncodeMessage(resp)
		return out, obs, err
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
		return nil, nil, err
	}
	s.layer(xid, trace.LayerRemoved, rep, "")
	resp := s.serveApp(xid, &inner)
	obs := s.observation(&inner, &resp, x, xid)
	out, err := s.protect(xid, x, resp)
	return out, obs, err
}

// protect applies the group layer to a response or notification; it takes
// the request's mode (RFC 10021 7.3, 8) and, from the second on, the
// member's own Partial IV (5.3.1).
func (s *GroupServer) protect(xid int, x *group.Exchange, resp message.Message) ([]byte, error) {
	if x == nil {
		return oscore.EncodeMessage(resp)
	}
	out, rep, err := group.ProtectResponse(x, resp, group.ProtectOptions{})
	if err != nil {
		s.layer(xid, trace.LayerFailed, rep, err.Error())
		return nil, err
	}
	s.layer(xid, trace.LayerApplied, rep, "")
	return oscore.EncodeMessage(out)
}

// groupNotifications and groupNotifyEvery shape a member's observation of
// a group (RFC 7641; draft-ietf-core-groupcomm-bis 3.7): after the
// registration's response, that many notifications, one every period,
// then the observation ends. Tests shorten the period.
var (
	groupNotifications = 3
	groupNotifyEvery   = 400 * time.Millisecond
)

// groupObservation is a registration a member answers with notifications.
type groupObservation struct {
	req message.Message
	x   *group.Exchange // nil: plain CoAP
	xid int
}

// observation numbers a registration's 2.05 with Observe 1 (RFC 7641
// 4.4) and returns the observation; nil for any other request.
func (s *GroupServer) observation(req, resp *message.Message, x *group.Exchange, xid int) *groupObservation {
	if v, err := req.Options.GetUint32(optObserve); err != nil || v != 0 || resp.Code != codes.Content {
		return nil
	}
	resp.Options, _, _ = resp.Options.SetUint32(make([]byte, 4), optObserve, 1)
	return &groupObservation{req: *req, x: x, xid: xid}
}

// notify sends the observation's notifications to src, each served anew
// and numbered on (RFC 7641 4.2, 4.4), until they are all out or the
// member closes.
func (s *GroupServer) notify(o *groupObservation, src *net.UDPAddr) {
	defer s.timers.Done()
	// Each notification is due a whole number of periods after the
	// response, not a period after the previous one, so a slow send does
	// not push the later ones back: where they fall against the proxy's
	// T' stays the same from run to run.
	start := time.Now()
	for i := 2; i <= groupNotifications+1; i++ {
		select {
		case <-s.done:
			return
		case <-time.After(time.Until(start.Add(time.Duration(i-1) * groupNotifyEvery))):
		}
		n := s.serveApp(o.xid, &o.req)
		n.Options, _, _ = n.Options.SetUint32(make([]byte, 4), optObserve, uint32(i))
		out, err := s.protect(o.xid, o.x, n)
		if err != nil {
			return
		}
		if _, err := s.conn.WriteToUDP(out, src); err != nil {
			return // closed
		}
	}
}

func (s *GroupServer) exchangeOf(b []byte) int {
	if s.tag == nil {
		return 0
	}
	return s.tag(b)
}

func (s *GroupServer) layer(xid int, action string, rep *oscore.Report, note string) {
	publishGroupLayer(s.bus, s.ctx, xid, s.id, action, rep, note)
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
