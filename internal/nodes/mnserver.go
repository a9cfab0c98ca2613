package nodes

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
	"oscore-lab/oscore/multicast"
)

// Multicast notifications (draft-ietf-core-observe-multicast-notifications,
// "MN"; through proxies draft-ietf-core-multicast-notifications-proxy,
// "MNP"): a server that answers every Observe registration of one resource
// with an informative response and sends each notification once, to a
// group address (a GroupLink standing in for IP multicast), where clients
// and proxies listen.

// MNServerConfig configures a server of one group observation.
type MNServerConfig struct {
	ID       string
	Resource string // Uri-Path, "r" in the figures
	Value    string // the representation when the observation starts
	// Group is the address notifications go to (GRP_ADDR:GRP_PORT), a
	// GroupLink's.
	Group *net.UDPAddr
	// Token is T, the phantom request's Token (MN 4.1 step 2).
	Token []byte
	// Observe is INIT_NOTIF's Observe value; each notification adds one.
	Observe uint32
	// Contexts protect the unicast exchanges with clients (RFC 8613, by
	// the client's kid in hex); a registration under no context is
	// answered in plain CoAP. Nil: plain CoAP only.
	Contexts map[string]*oscore.Context
	// GroupCtx protects the phantom request and the notifications (MN 9);
	// nil: they are not protected.
	GroupCtx *group.Context
	// JoinURI and SecGp, when set, name the OSCORE group to join (MN 9.1).
	JoinURI, SecGp string
	// Name names a client by the address its datagrams come from, for
	// the trace; nil: the address itself.
	Name func(*net.UDPAddr) string
	// Exchange gives the exchange id the server's trace events belong to;
	// nil: none.
	Exchange func() int
}

// MNServer is a server of one group observation (MN 4, 9.2).
type MNServer struct {
	cfg  MNServerConfig
	bus  *trace.Bus
	conn *net.UDPConn
	mid  atomic.Uint32

	mu        sync.Mutex
	started   bool
	phantom   *group.Phantom  // with Group OSCORE
	phPlain   message.Message // without
	last      message.Message // the latest notification, as sent or stored (INIT_NOTIF)
	observe   uint32
	observers int                      // the observer counter (MN 4)
	pending   map[uint16]chan struct{} // CON informative responses awaiting their ACK
	closed    bool
	wg        sync.WaitGroup
}

// StartMNServer listens on a loopback port.
func StartMNServer(bus *trace.Bus, cfg MNServerConfig) (*MNServer, error) {
	if len(cfg.Token) == 0 || len(cfg.Token) > 8 || cfg.Group == nil {
		return nil, errors.New("nodes: a multicast-notification server needs a Token of 1-8 bytes and a group address")
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("nodes: %s: %w", cfg.ID, err)
	}
	s := &MNServer{cfg: cfg, bus: bus, conn: c, pending: map[uint16]chan struct{}{}}
	s.mid.Store(0x7d00)
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is SRV_ADDR:SRV_PORT.
func (s *MNServer) Addr() *net.UDPAddr { return s.conn.LocalAddr().(*net.UDPAddr) }

// Observers is the observer counter (MN 4): one per registration answered
// with an informative response.
func (s *MNServer) Observers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.observers
}

// Close stops the server.
func (s *MNServer) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, ch := range s.pending {
		close(ch)
	}
	s.pending = map[uint16]chan struct{}{}
	s.mu.Unlock()
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func (s *MNServer) decide(step, section, outcome string) {
	s.bus.Publish(trace.Event{Type: trace.TypeDecision, Node: s.cfg.ID, Exchange: exchangeOf(s.cfg.Exchange),
		Decision: &trace.Decision{Rule: trace.RuleMulticastNotif, Step: step, Section: section, Outcome: outcome}})
}

func (s *MNServer) serve() {
	readLoop(&s.wg, s.conn, func(m message.Message, src *net.UDPAddr) {
		switch {
		case m.Type == message.Acknowledgement && m.Code == codes.Empty:
			s.acked(uint16(m.MessageID))
		case m.Code >= 1 && m.Code < 32:
			s.register(m, src)
		}
	})
}

func (s *MNServer) acked(mid uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.pending[mid]; ok {
		close(ch)
		delete(s.pending, mid)
	}
}

// register handles a request: an Observe registration of the resource
// joins the group observation (MN 4.2; 9.2 under OSCORE) and is answered
// with the informative response; anything else gets 4.04 or 4.01.
func (s *MNServer) register(m message.Message, src *net.UDPAddr) {
	var binding *oscore.Binding
	inner := m
	if _, err := oscore.FindOSCORE(&m); err == nil {
		lookup := func(kid, _ []byte) (*oscore.Context, error) { return s.cfg.Contexts[hex.EncodeToString(kid)], nil }
		var rep *oscore.Report
		inner, binding, rep, err = oscore.UnprotectRequest(m, lookup)
		if err != nil {
			publishLayerDepth(s.bus, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerFailed, 1, rep, err.Error())
			s.reply(m, src, s.errorResponse(m, err), false)
			return
		}
		publishLayerDepth(s.bus, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerRemoved, 1, rep, "")
	}
	obs, err := inner.Options.Observe()
	if inner.Code != codes.GET || pathOf(inner) != s.cfg.Resource || err != nil || obs != 0 {
		resp := message.Message{Code: codes.NotFound, Token: m.Token}
		s.reply(m, src, s.protectUnicast(binding, resp), false)
		return
	}
	if m.Type == message.Confirmable { // separate response (MN 4.2)
		ack, _ := oscore.EncodeMessage(message.Message{Type: message.Acknowledgement, MessageID: m.MessageID})
		s.conn.WriteToUDP(ack, src)
	}
	info, err := s.join(src)
	if err != nil {
		s.decide("", "MN 4.1", "group observation not started: "+err.Error())
		return
	}
	resp := message.Message{Code: codes.ServiceUnavailable, Token: m.Token, Payload: info}
	resp.Options = resp.Options.Add(message.Option{ID: message.ContentFormat, Value: uintBytes(multicast.ContentFormat)})
	resp.Options = resp.Options.Add(message.Option{ID: message.MaxAge, Value: []byte{}})
	s.reply(m, src, s.protectUnicast(binding, resp), true)
}

// protectUnicast protects resp with the registration's OSCORE context,
// when it had one; an informative response then goes out as 2.05 with
// the 5.03 inside (MN 10), and Max-Age 0 outside as in the figure.
func (s *MNServer) protectUnicast(b *oscore.Binding, resp message.Message) message.Message {
	if b == nil {
		return resp
	}
	out, rep, err := oscore.ProtectResponse(b, resp, oscore.ProtectOptions{})
	if err != nil {
		publishLayerDepth(s.bus, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerFailed, 1, rep, err.Error())
		return message.Message{Code: codes.InternalServerError, Token: resp.Token}
	}
	publishLayerDepth(s.bus, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerApplied, 1, rep, "")
	if resp.Code == codes.ServiceUnavailable {
		out.Code = codes.Content
		out.Options = replaceOption(out.Options, message.Option{ID: message.MaxAge, Value: []byte{}})
	}
	return out
}

func (s *MNServer) errorResponse(req message.Message, err error) message.Message {
	if resp, ok := oscore.ErrorResponse(req, err); ok {
		return resp
	}
	return message.Message{Code: codes.Unauthorized, Token: req.Token}
}

// reply sends resp to src: as a separate CON response (retransmitted until
// acknowledged, RFC 7252 4.2) when con, else piggybacked on the ACK of a
// CON request or as NON.
func (s *MNServer) reply(req message.Message, src *net.UDPAddr, resp message.Message, con bool) {
	resp.Token = req.Token
	switch {
	case con:
		resp.Type, resp.MessageID = message.Confirmable, int32(uint16(s.mid.Add(1)))
	case req.Type == message.Confirmable:
		resp.Type, resp.MessageID = message.Acknowledgement, req.MessageID
	default:
		resp.Type, resp.MessageID = message.NonConfirmable, int32(uint16(s.mid.Add(1)))
	}
	b, err := oscore.EncodeMessage(resp)
	if err != nil {
		return
	}
	s.conn.WriteToUDP(b, src)
	if !con {
		return
	}
	ch := make(chan struct{})
	s.mu.Lock()
	if s.closed || len(s.pending) >= maxMNPending { // beyond: sent once, not retransmitted
		s.mu.Unlock()
		return
	}
	s.pending[uint16(resp.MessageID)] = ch
	s.mu.Unlock()
	s.wg.Add(1)
	go s.retransmit(b, src, ch, uint16(resp.MessageID))
}

// retransmit resends a CON until its ACK (RFC 7252 4.2: ACK_TIMEOUT 2 s,
// doubled each time, MAX_RETRANSMIT 4).
func (s *MNServer) retransmit(b []byte, to *net.UDPAddr, acked chan struct{}, mid uint16) {
	defer s.wg.Done()
	wait := 2 * time.Second
	for range 4 {
		select {
		case <-acked:
			return
		case <-time.After(wait):
		}
		s.conn.WriteToUDP(b, to)
		wait *= 2
	}
	s.acked(mid)
}

// join adds one observer and returns the informative response's payload,
// starting the group observation on the first registration (MN 4.1).
func (s *MNServer) join(src *net.UDPAddr) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		if err := s.startLocked(); err != nil {
			return nil, err
		}
	}
	s.observers++
	srv, _ := netip.ParseAddrPort(s.Addr().String())
	grp, _ := netip.ParseAddrPort(s.cfg.Group.String())
	info := multicast.Informative{TPInfo: &multicast.TPInfo{Server: multicast.CRIFor(srv), Client: multicast.CRIFor(grp),
		Token: s.cfg.Token, HasDetails: true}, JoinURI: s.cfg.JoinURI, SecGp: s.cfg.SecGp}
	var err error
	if s.phantom != nil { // ph_req differs from every client's request (MN 9.2.2)
		if info.PhReq, err = multicast.EncodeMessageInfo(s.phantom.Message()); err != nil {
			return nil, err
		}
	}
	if info.LastNotif, err = multicast.EncodeMessageInfo(s.last); err != nil {
		return nil, err
	}
	b, err := info.Encode()
	if err != nil {
		return nil, err
	}
	who := src.String()
	if s.cfg.Name != nil && s.cfg.Name(src) != "" {
		who = s.cfg.Name(src)
	}
	s.decide("", "MN 4.2", fmt.Sprintf("registration from %s joins the group observation of /%s (observer counter %d); informative response 5.03 %s", who, s.cfg.Resource, s.observers, info.Diag()))
	return b, nil
}

// startLocked makes the phantom request (MN 4.1, 9.2.1) and INIT_NOTIF
// (MN 4.1 step 6), neither sent.
func (s *MNServer) startLocked() error {
	ph := message.Message{Code: codes.GET, Token: bytes.Clone(s.cfg.Token)}
	ph.Options = ph.Options.Add(message.Option{ID: message.Observe, Value: []byte{}})
	ph.Options = ph.Options.Add(message.Option{ID: message.URIPath, Value: []byte(s.cfg.Resource)})
	s.phPlain = ph
	outcome := fmt.Sprintf("group observation of /%s started: Token %x from the group's Token space, phantom request GET Observe 0 processed without being sent", s.cfg.Resource, s.cfg.Token)
	if s.cfg.GroupCtx != nil {
		p, rep, err := group.ProtectPhantom(s.cfg.GroupCtx, ph)
		if err != nil {
			return err
		}
		publishGroupLayerDepth(s.bus, s.cfg.GroupCtx, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerApplied, 1, rep, "phantom request, never sent")
		s.phantom = p
		outcome += fmt.Sprintf("; protected with the server's own kid %x and Partial IV %x (MN 9.2.1)", p.KID(), p.PIV())
	}
	s.decide("1-5", "MN 4.1", outcome)
	s.observe = s.cfg.Observe
	last, err := s.notificationLocked(s.cfg.Value)
	if err != nil {
		return err
	}
	s.last, s.started = last, true
	s.decide("6", "MN 4.1", fmt.Sprintf("INIT_NOTIF composed (Observe %d, %q) and kept, not sent", s.observe, s.cfg.Value))
	return nil
}

// notificationLocked builds one notification with the current Observe
// value: 2.05, NON, Token T (MN 4.3), protected in group mode bound to the
// phantom (MN 9.2.3), outer Max-Age 0 as in the figures.
func (s *MNServer) notificationLocked(value string) (message.Message, error) {
	n := message.Message{Code: codes.Content, Token: bytes.Clone(s.cfg.Token), Type: message.NonConfirmable, Payload: []byte(value)}
	n.Options = n.Options.Add(message.Option{ID: message.Observe, Value: uintBytes(s.observe)})
	if s.phantom == nil {
		return n, nil
	}
	out, rep, err := s.phantom.ProtectNotification(n)
	if err != nil {
		publishGroupLayerDepth(s.bus, s.cfg.GroupCtx, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerFailed, 1, rep, err.Error())
		return message.Message{}, err
	}
	publishGroupLayerDepth(s.bus, s.cfg.GroupCtx, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerApplied, 1, rep, "")
	out.Options = replaceOption(out.Options, message.Option{ID: message.MaxAge, Value: []byte{}})
	return out, nil
}

// Notify sends one notification with value, once, to the group address
// (MN 4.3): every listener gets it from the group link. observe is its
// Observe value, above the previous one (RFC 7641 4.4: numbers may be
// skipped); 0 takes the next.
func (s *MNServer) Notify(value string, observe uint32) error {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return errors.New("nodes: no group observation yet")
	}
	switch {
	case observe == 0:
		s.observe++
	case observe <= s.observe || observe >= 1<<24:
		s.mu.Unlock()
		return fmt.Errorf("nodes: Observe %d does not follow %d (RFC 7641 4.4)", observe, s.observe)
	default:
		s.observe = observe
	}
	n, err := s.notificationLocked(value)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.last = n
	obs := s.observe
	count := s.observers
	s.mu.Unlock()
	n.MessageID = int32(uint16(s.mid.Add(1)))
	b, err := oscore.EncodeMessage(n)
	if err != nil {
		return err
	}
	s.decide("", "MN 4.3", fmt.Sprintf("one notification (Observe %d, %q) sent once to the group address %s for %d observers", obs, value, s.cfg.Group, count))
	_, err = s.conn.WriteToUDP(b, s.cfg.Group)
	return err
}

// Cancel ends the group observation (MN 4.5): a 5.03 with Token T, no
// payload and no Observe, sent once to the group address, under Group
// OSCORE in group mode with the server's own Partial IV (MN 9.2.4).
func (s *MNServer) Cancel() error {
	s.mu.Lock()
	if !s.started {
		s.mu.Unlock()
		return errors.New("nodes: no group observation to cancel")
	}
	c := message.Message{Code: codes.ServiceUnavailable, Token: bytes.Clone(s.cfg.Token), Type: message.NonConfirmable}
	if s.phantom != nil {
		out, rep, err := s.phantom.ProtectNotification(c)
		if err != nil {
			s.mu.Unlock()
			publishGroupLayerDepth(s.bus, s.cfg.GroupCtx, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerFailed, 1, rep, err.Error())
			return err
		}
		publishGroupLayerDepth(s.bus, s.cfg.GroupCtx, exchangeOf(s.cfg.Exchange), s.cfg.ID, trace.LayerApplied, 1, rep, "cancellation of the group observation")
		c = out
	}
	s.started, s.phantom, s.observers = false, nil, 0
	s.mu.Unlock()
	c.MessageID = int32(uint16(s.mid.Add(1)))
	b, err := oscore.EncodeMessage(c)
	if err != nil {
		return err
	}
	s.decide("", "MN 4.5", fmt.Sprintf("group observation of /%s cancelled: 5.03 without Observe sent once to %s; Token %x freed", s.cfg.Resource, s.cfg.Group, s.cfg.Token))
	_, err = s.conn.WriteToUDP(b, s.cfg.Group)
	return err
}

// uintBytes is an unsigned option value in the shortest form (RFC 7252 3.2).
func uintBytes(v uint32) []byte {
	var b []byte
	for x := v; x > 0; x >>= 8 {
		b = append([]byte{byte(x)}, b...)
	}
	return b
}

// replaceOption returns opts with every option of o's number replaced by o,
// in option-number order (RFC 7252 3.1); opts is not modified.
func replaceOption(opts message.Options, o message.Option) message.Options {
	out := make(message.Options, 0, len(opts)+1)
	placed := false
	for _, x := range opts {
		if x.ID == o.ID {
			continue
		}
		if !placed && x.ID > o.ID {
			out, placed = append(out, o), true
		}
		out = append(out, x)
	}
	if !placed {
		out = append(out, o)
	}
	return out
}

// exchangeOf calls f, 0 when f is nil.
func exchangeOf(f func() int) int {
	if f == nil {
		return 0
	}
	return f()
}
