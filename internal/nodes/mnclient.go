package nodes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
	"oscore-lab/oscore/multicast"
)

// MNClientConfig says how a client takes part in a group observation.
type MNClientConfig struct {
	ID       string
	Conn     *net.UDPConn // the client's unicast socket
	To       *net.UDPAddr // where the registration goes: the server, or a forward-proxy
	Token    []byte       // the registration's Token (0x4a, 0x01 in the figures)
	MID      uint16
	Resource string
	// Listen is the socket that joins the group address when the client
	// receives notifications itself (MN 5.3 step 1); Join makes the lab's
	// group link copy the group's datagrams to it.
	Listen *net.UDPConn
	Join   func(group, listener *net.UDPAddr) error
	// OSCORE protects the registration end to end (RFC 8613; MN 9: "MUST
	// also be protected"); GroupCtx verifies the phantom request and the
	// notifications (MN 9.3).
	OSCORE   *oscore.Context
	GroupCtx *group.Context
	// Through a forward-proxy: the registration names the server with
	// Proxy-Uri (ProxyURI set) or Uri-Host and Proxy-Scheme "coap"
	// (URIHost set), as the figures do.
	ProxyURI, URIHost string
	// TicketToken is the Token of the ticket request sent to the proxy
	// after a protected informative response (MNP 4.2); CP, when set,
	// protects the ticket request and its notifications between client
	// and proxy (draft-ietf-core-oscore-capable-proxies A.2).
	TicketToken []byte
	CP          *oscore.Context
	Wait        time.Duration // for each response
	// Sent, when set, counts the datagrams the client sends from Conn.
	Sent *atomic.Uint64
	// Exchange gives the exchange id of the client's trace events; nil:
	// none.
	Exchange func() int
}

// MNValue is one notification a client accepted.
type MNValue struct {
	Observe uint32
	Payload string
	Token   []byte
	Source  string // "last_notif" for the one the informative response carried
}

// MNObservation is a client's side of a group observation.
type MNObservation struct {
	cfg       MNClientConfig
	bus       *trace.Bus
	TPInfo    *multicast.TPInfo // nil when a proxy answered with a plain notification
	phantom   *group.Phantom
	cpBinding *oscore.Binding
	recv      *net.UDPConn // where notifications arrive
	token     []byte       // the Token they carry
	observe   uint32
	seen      bool
	Values    []MNValue
	Refused   []string
	Cancelled bool // the server cancelled the group observation (MN 4.5)
}

// errCancelled ends Receive: the group observation is over.
var errCancelled = errors.New("nodes: group observation cancelled")

func (c *MNClientConfig) decide(bus *trace.Bus, step, section, outcome string) {
	bus.Publish(trace.Event{Type: trace.TypeDecision, Node: c.ID, Exchange: exchangeOf(c.Exchange),
		Decision: &trace.Decision{Rule: trace.RuleMulticastNotif, Step: step, Section: section, Outcome: outcome}})
}

// MNRegister registers cfg's client for the resource, processes the
// informative response (MN 5.3, 9.3.1) and, through a proxy with Group
// OSCORE, sends the ticket request (MNP 4.2); the observation then
// receives notifications (Receive).
func MNRegister(ctx context.Context, bus *trace.Bus, cfg MNClientConfig) (*MNObservation, error) {
	o := &MNObservation{cfg: cfg, bus: bus, recv: cfg.Conn, token: cfg.Token}
	req := message.Message{Code: codes.GET, Token: cfg.Token, Type: message.Confirmable, MessageID: int32(cfg.MID)}
	req.Options = req.Options.Add(message.Option{ID: message.Observe, Value: []byte{}})
	switch {
	case cfg.ProxyURI != "":
		req.Options = req.Options.Add(message.Option{ID: message.ProxyURI, Value: []byte(cfg.ProxyURI)})
	case cfg.URIHost != "":
		req.Options = req.Options.Add(message.Option{ID: message.URIHost, Value: []byte(cfg.URIHost)})
		req.Options = req.Options.Add(message.Option{ID: message.ProxyScheme, Value: []byte("coap")})
		req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte(cfg.Resource)})
	default:
		req.Options = req.Options.Add(message.Option{ID: message.URIPath, Value: []byte(cfg.Resource)})
	}
	var binding *oscore.Binding
	if cfg.OSCORE != nil {
		out, b, rep, err := oscore.ProtectRequest(cfg.OSCORE, req, oscore.ProtectOptions{})
		if err != nil {
			return nil, err
		}
		publishLayerDepth(bus, exchangeOf(cfg.Exchange), cfg.ID, trace.LayerApplied, 1, rep, "")
		req, binding = out, b
	}
	resp, err := mnExchange(ctx, cfg.Conn, cfg.To, req, cfg.Wait, false, cfg.Sent)
	if err != nil {
		return nil, fmt.Errorf("nodes: %s: registration: %w", cfg.ID, err)
	}
	if binding != nil {
		inner, rep, err := oscore.UnprotectResponse(binding, resp)
		if err != nil {
			publishLayerDepth(bus, exchangeOf(cfg.Exchange), cfg.ID, trace.LayerFailed, 1, rep, err.Error())
			return nil, err
		}
		publishLayerDepth(bus, exchangeOf(cfg.Exchange), cfg.ID, trace.LayerRemoved, 1, rep, "")
		resp = inner
	}
	if resp.Code == codes.Content { // a proxy answered from its own group observation (MNP 3)
		v, err := o.accept(resp, "proxy")
		if err != nil {
			return nil, err
		}
		o.Values = append(o.Values, v)
		cfg.decide(bus, "", "MNP 3", fmt.Sprintf("the proxy answered with a notification (Observe %d, %q): a traditional observation of the proxy", v.Observe, v.Payload))
		return o, nil
	}
	if err := o.informative(resp); err != nil {
		cfg.decide(bus, "", "MN 5.3", "informative response refused: "+err.Error())
		return nil, err
	}
	if cfg.TicketToken != nil {
		return o, o.ticket(ctx)
	}
	return o, nil
}

// informative processes an informative response (MN 5.3, 9.3.1).
func (o *MNObservation) informative(resp message.Message) error {
	cf, err := resp.Options.ContentFormat()
	if resp.Code != codes.ServiceUnavailable || err != nil || cf != multicast.ContentFormat {
		return fmt.Errorf("response %v is not an informative response (MN 4.2: 5.03, Content-Format %d)", resp.Code, multicast.ContentFormat)
	}
	in, err := multicast.DecodeInformative(resp.Payload)
	if err != nil {
		return err
	}
	if in.TPInfo == nil || !in.TPInfo.HasDetails {
		return errors.New("informative response without tp_info and its details (MN 4.2: MUST)")
	}
	o.TPInfo = in.TPInfo
	t := in.TPInfo.Token
	o.cfg.decide(o.bus, "", "MN 5.3", "informative response recognized and parsed: "+in.Diag())
	if o.cfg.GroupCtx != nil {
		if in.PhReq == nil {
			return errors.New("informative response without ph_req (MN 9.3.1: malformed)")
		}
		ph, err := multicast.DecodeMessageInfo(in.PhReq, t)
		if err != nil {
			return err
		}
		p, inner, rep, err := group.VerifyPhantom(o.cfg.GroupCtx, ph)
		if err != nil {
			publishGroupLayerDepth(o.bus, o.cfg.GroupCtx, exchangeOf(o.cfg.Exchange), o.cfg.ID, trace.LayerFailed, 1, rep, "phantom request: "+err.Error())
			return err
		}
		publishGroupLayerDepth(o.bus, o.cfg.GroupCtx, exchangeOf(o.cfg.Exchange), o.cfg.ID, trace.LayerRemoved, 1, rep, "phantom request, verified and not delivered")
		o.phantom = p
		o.cfg.decide(o.bus, "2", "MN 9.3.1", fmt.Sprintf("phantom request %v /%s verified without replay check or Replay Window update; request_kid %x, request_piv %x, request_kid_context %x kept for the notifications",
			inner.Code, pathOf(inner), p.KID(), p.PIV(), p.KIDContext()))
	}
	if in.LastNotif != nil {
		n, err := multicast.DecodeMessageInfo(in.LastNotif, t)
		if err != nil {
			return err
		}
		saved := o.token
		o.token = t
		v, err := o.accept(n, "last_notif")
		o.token = saved
		if err != nil {
			return fmt.Errorf("last_notif: %w", err)
		}
		o.Values = append(o.Values, v)
	}
	if o.cfg.TicketToken != nil || o.cfg.Listen == nil {
		return nil
	}
	grp, ok := in.TPInfo.Client.AddrPort()
	if !ok {
		return errors.New("tpi_client names no IP address (the lab resolves no host names)")
	}
	ga := net.UDPAddrFromAddrPort(grp)
	if o.cfg.Join == nil {
		return errors.New("no way to join the group address")
	}
	if err := o.cfg.Join(ga, o.cfg.Listen.LocalAddr().(*net.UDPAddr)); err != nil {
		return err
	}
	o.recv, o.token = o.cfg.Listen, t
	o.cfg.decide(o.bus, "1, 4", "MN 5.3", fmt.Sprintf("listening to %s for notifications with Token %x from %s", ga, t, in.TPInfo.Server.Diag()))
	return nil
}

// ticket sends the ticket request to the proxy (MNP 4.2): the phantom's
// outer code, outer options, OSCORE option and payload, with the
// client's Token, Uri-Host and Proxy-Scheme, and Listen-To-Multicast-
// Responses carrying tp_info; under CP when set.
func (o *MNObservation) ticket(ctx context.Context) error {
	if o.phantom == nil {
		return errors.New("a ticket request needs a verified phantom request (MNP 4.2)")
	}
	t := o.phantom.Message()
	t.Token, t.Type, t.MessageID = o.cfg.TicketToken, message.Confirmable, int32(o.cfg.MID+1)
	tp, err := o.TPInfo.Encode()
	if err != nil {
		return err
	}
	t.Options = replaceOption(t.Options, message.Option{ID: message.URIHost, Value: []byte(o.cfg.URIHost)})
	t.Options = replaceOption(t.Options, message.Option{ID: message.ProxyScheme, Value: []byte("coap")})
	t.Options = replaceOption(t.Options, message.Option{ID: multicast.OptListenToMulticastResponses, Value: tp})
	if o.cfg.CP != nil {
		cpDepth := depthUnder(t)
		route := oscore.RequestRoute(&t, []oscore.Hop{{Name: o.cfg.ID, Role: oscore.RoleClient}, {Name: "P", Role: oscore.RoleForwardProxy}, {Name: "S", Role: oscore.RoleServer}}, 0, []int{2, 1})
		route.SetConsumers(multicast.OptListenToMulticastResponses, 1)
		out, b, rep, err := oscore.ProtectRequest(o.cfg.CP, t, oscore.ProtectOptions{Rule: route.RuleFor(1)})
		if err != nil {
			return err
		}
		publishLayerDepth(o.bus, exchangeOf(o.cfg.Exchange), o.cfg.ID, trace.LayerApplied, cpDepth, rep, "C-P layer of the ticket request: Listen-To-Multicast-Responses, Uri-Host and Proxy-Scheme are Class E here (draft-ietf-core-oscore-capable-proxies 2.2, A.2)")
		t, o.cpBinding = out, b
	}
	o.cfg.decide(o.bus, "", "MNP 4.2", fmt.Sprintf("ticket request with Token %x: the phantom request's code, options and payload, Listen-To-Multicast-Responses %s", o.cfg.TicketToken, o.TPInfo.Diag()))
	resp, err := mnExchange(ctx, o.cfg.Conn, o.cfg.To, t, o.cfg.Wait, true, o.cfg.Sent)
	if err != nil {
		return fmt.Errorf("nodes: %s: ticket request: %w", o.cfg.ID, err)
	}
	if resp.Code != codes.Empty {
		return fmt.Errorf("nodes: %s: ticket request answered %s", o.cfg.ID, codeText(resp.Code))
	}
	o.token = o.cfg.TicketToken
	return nil
}

// mnExchange sends CON request req and returns its response: piggybacked,
// or separate (acknowledged here), or the empty ACK itself when ackFinal
// (a ticket request, which the proxy only acknowledges, MNP 4.2) or when
// nothing follows within wait. sent, when not nil, counts what it sends.
func mnExchange(ctx context.Context, conn *net.UDPConn, to *net.UDPAddr, req message.Message, wait time.Duration, ackFinal bool, sent *atomic.Uint64) (message.Message, error) {
	write := func(b []byte, to *net.UDPAddr) error {
		_, err := conn.WriteToUDP(b, to)
		if err == nil && sent != nil {
			sent.Add(1)
		}
		return err
	}
	b, err := oscore.EncodeMessage(req)
	if err != nil {
		return message.Message{}, err
	}
	if err := write(b, to); err != nil {
		return message.Message{}, err
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	acked := false
	buf := make([]byte, 65536)
	for {
		conn.SetReadDeadline(deadline)
		n, src, err := conn.ReadFromUDP(buf)
		if err != nil {
			if acked {
				return message.Message{Type: message.Acknowledgement}, nil
			}
			return message.Message{}, err
		}
		m, err := oscore.DecodeMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		switch {
		case m.Type == message.Acknowledgement && m.MessageID == req.MessageID && m.Code == codes.Empty:
			if ackFinal {
				return m, nil
			}
			acked = true
			deadline = time.Now().Add(wait / 4) // a separate response follows, or nothing (MNP 4.2: the proxy only ACKs)
		case m.Type == message.Acknowledgement && m.MessageID == req.MessageID && bytes.Equal(m.Token, req.Token):
			return m, nil
		case bytes.Equal(m.Token, req.Token) && m.Code != codes.Empty:
			if m.Type == message.Confirmable {
				ack, _ := oscore.EncodeMessage(message.Message{Type: message.Acknowledgement, MessageID: m.MessageID})
				write(ack, src)
			}
			return m, nil
		}
	}
}

// accept verifies one notification: its Token, the C-P layer and the
// Group OSCORE layer bound to the phantom, and its Observe value above the
// last accepted one (RFC 7641 3.4).
func (o *MNObservation) accept(m message.Message, source string) (MNValue, error) {
	if !bytes.Equal(m.Token, o.token) {
		return MNValue{}, fmt.Errorf("token %x is not the observation's %x", []byte(m.Token), o.token)
	}
	// The Observe value travels outside every layer (RFC 8613 4.1.3.5.2).
	obs, obsErr := m.Options.Observe()
	if o.cpBinding != nil && source != "last_notif" {
		inner, rep, err := oscore.UnprotectResponse(o.cpBinding, m)
		if err != nil {
			publishLayerDepth(o.bus, exchangeOf(o.cfg.Exchange), o.cfg.ID, trace.LayerFailed, o.cpDepth(), rep, err.Error())
			return MNValue{}, fmt.Errorf("C-P layer: %w", err)
		}
		publishLayerDepth(o.bus, exchangeOf(o.cfg.Exchange), o.cfg.ID, trace.LayerRemoved, o.cpDepth(), rep, "")
		m = inner
	}
	if o.phantom != nil {
		inner, rep, err := o.phantom.UnprotectNotification(m)
		if err != nil {
			publishGroupLayerDepth(o.bus, o.cfg.GroupCtx, exchangeOf(o.cfg.Exchange), o.cfg.ID, trace.LayerFailed, 1, rep, err.Error())
			return MNValue{}, fmt.Errorf("Group OSCORE: %w", err)
		}
		publishGroupLayerDepth(o.bus, o.cfg.GroupCtx, exchangeOf(o.cfg.Exchange), o.cfg.ID, trace.LayerRemoved, 1, rep, "notification bound to the phantom request")
		m = inner
	}
	if obsErr != nil {
		if m.Code == codes.ServiceUnavailable && source != "last_notif" { // the server ended the group observation (MN 4.5, 5.5)
			o.Cancelled = true
			o.cfg.decide(o.bus, "", "MN 5.5", fmt.Sprintf("5.03 without Observe for Token %x: the group observation is cancelled; the Token is free again", o.token))
			return MNValue{}, errCancelled
		}
		return MNValue{}, errors.New("notification without Observe")
	}
	if o.seen && !observeNewer(obs, o.observe) {
		return MNValue{}, fmt.Errorf("Observe %d not newer than %d (RFC 7641 3.4)", obs, o.observe)
	}
	o.observe, o.seen = obs, true
	o.bus.Publish(trace.Event{Type: trace.TypeDelivery, Node: o.cfg.ID, Exchange: exchangeOf(o.cfg.Exchange),
		Delivery: &trace.Delivery{Resource: "/" + o.cfg.Resource, Code: codeText(m.Code), Payload: string(m.Payload)}})
	return MNValue{Observe: obs, Payload: string(m.Payload), Token: bytes.Clone(m.Token), Source: source}, nil
}

// observeNewer is RFC 7641 3.4's order on 24-bit Observe values (the
// 128-second rule left out: the lab's runs are short).
func observeNewer(v2, v1 uint32) bool {
	return (v1 < v2 && v2-v1 < 1<<23) || (v1 > v2 && v1-v2 > 1<<23)
}

// Receive collects notifications until wait has passed or enough are
// accepted; each refused datagram is recorded with its reason.
func (o *MNObservation) Receive(wait time.Duration, enough int) {
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65536)
	got := 0
	for got < enough || enough == 0 {
		o.recv.SetReadDeadline(deadline)
		n, src, err := o.recv.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, err := oscore.DecodeMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			o.refuse("undecodable datagram: " + err.Error())
			continue
		}
		if m.Type == message.Confirmable {
			ack, _ := oscore.EncodeMessage(message.Message{Type: message.Acknowledgement, MessageID: m.MessageID})
			o.recv.WriteToUDP(ack, src)
		}
		v, err := o.accept(m, src.String())
		if errors.Is(err, errCancelled) {
			return
		}
		if err != nil {
			o.refuse(err.Error())
			continue
		}
		o.Values = append(o.Values, v)
		got++
	}
}

func (o *MNObservation) refuse(why string) {
	o.Refused = append(o.Refused, why)
	o.cfg.decide(o.bus, "", "MN 5.4", "notification refused: "+why)
}

// cpDepth is the depth of the C-P layer on a relayed notification: over
// the Group OSCORE layer bound to the phantom request when there is one.
func (o *MNObservation) cpDepth() int {
	if o.phantom != nil {
		return 2
	}
	return 1
}

// depthUnder is the depth (trace Event.Layer, 1 innermost) of a layer
// protecting m: one more than m's own OSCORE layer, if it has one.
func depthUnder(m message.Message) int {
	if _, err := oscore.FindOSCORE(&m); err == nil {
		return 2
	}
	return 1
}

// publishLayerDepth publishes a layer event that says how deep its layer
// is in the message's stack, so the trace names "layer 2" rather than an
// unknown depth.
func publishLayerDepth(bus *trace.Bus, xid int, node, action string, depth int, rep *oscore.Report, note string) {
	e := layerEvent(xid, node, action, rep, note)
	e.Layer = depth
	bus.Publish(e)
}
