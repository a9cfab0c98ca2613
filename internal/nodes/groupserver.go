package nodes

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

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
	id        string
	bus       *trace.Bus
	conn      *net.UDPConn
	ctx       *group.Context
	resources map[string]string // Uri-Path joined by "/" -> payload
	mid       atomic.Uint32
	wg        sync.WaitGroup
}

// StartGroupServer listens on a loopback port as member id with the Group
// Security Context ctx, serving resources; with a nil ctx it answers plain
// CoAP requests.
func StartGroupServer(bus *trace.Bus, id string, ctx *group.Context, resources map[string]string) (*GroupServer, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("nodes: group member %s: %w", id, err)
	}
	s := &GroupServer{id: id, bus: bus, conn: c, ctx: ctx, resources: resources}
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
		out, err := s.answer(append([]byte(nil), buf[:n]...))
		if err != nil || out == nil {
			continue
		}
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
		return s.answerPlain(m)
	}
	lookup := func(gid []byte) (*group.Context, error) {
		if !bytes.Equal(gid, s.ctx.GroupID()) {
			return nil, oscore.ErrContextNotFound
		}
		return s.ctx, nil
	}
	inner, x, rep, err := group.UnprotectRequest(m, lookup)
	if err != nil {
		publishLayer(s.bus, s.id, trace.LayerFailed, rep, err.Error())
		return nil, err
	}
	publishLayer(s.bus, s.id, trace.LayerRemoved, rep, "")
	resp := message.Message{Code: codes.Content, Token: inner.Token, Type: message.NonConfirmable, MessageID: int32(uint16(s.mid.Add(1)))}
	path := pathOf(inner)
	v, ok := s.resources[path]
	if ok {
		resp.Payload = []byte(v)
	} else {
		resp.Code = codes.NotFound
	}
	s.bus.Publish(trace.Event{Type: trace.TypeDelivery, Node: s.id,
		Delivery: &trace.Delivery{Resource: "/" + path, Method: inner.Code.String(), Code: codeText(resp.Code), Payload: v}})
	out, rep, err := group.ProtectResponse(x, resp, group.ProtectOptions{Mode: group.GroupMode})
	if err != nil {
		publishLayer(s.bus, s.id, trace.LayerFailed, rep, err.Error())
		return nil, err
	}
	publishLayer(s.bus, s.id, trace.LayerApplied, rep, "")
	return oscore.EncodeMessage(out)
}

// answerPlain answers a member without a group context: plain CoAP, the
// baseline the Group OSCORE figures are measured against.
func (s *GroupServer) answerPlain(m message.Message) ([]byte, error) {
	resp := message.Message{Code: codes.Content, Token: m.Token, Type: message.NonConfirmable, MessageID: int32(uint16(s.mid.Add(1)))}
	v, ok := s.resources[pathOf(m)]
	if !ok {
		resp.Code = codes.NotFound
	}
	resp.Payload = []byte(v)
	return oscore.EncodeMessage(resp)
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
