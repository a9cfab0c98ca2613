package nodes

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/multicast"
)

// MNProxyConfig configures a forward-proxy next to the server that takes
// part in group observations for its clients (MNP 3, 4).
type MNProxyConfig struct {
	ID     string
	Server *net.UDPAddr // where requests to the server go
	Join   func(group, listener *net.UDPAddr) error
	// ObserveOffset: the proxy numbers the notifications it relays with
	// the server's Observe value plus this offset (54112 makes the
	// figures' 11 into 54123), so its own sequence increases as the
	// server's does (RFC 7641 4.4).
	ObserveOffset uint32
	UpToken       byte // first Token towards the server (0x5e in the figures), one more per request
	// CP are the OSCORE contexts shared with clients (by the client's kid
	// in hex); when set, a ticket request is accepted only under one of
	// them (draft-ietf-core-oscore-capable-proxies A.2,
	// draft-ietf-core-multicast-notifications-proxy 10.1), else 4.01.
	CP map[string]*oscore.Context
	// Name names a client by the address its datagrams come from, for
	// the trace; nil: the address itself.
	Name func(*net.UDPAddr) string
	// Exchange gives the exchange id of the proxy's trace events; nil: none.
	Exchange func() int
	// Sending, when set, is called before each datagram the proxy sends
	// to; the proxy calls what it returns once the datagram is sent, so a
	// lab can wait until the datagram is recorded before the proxy sends
	// the next one (one link after another, in a fixed order).
	Sending func(to *net.UDPAddr) (sent func())
}

// Bounds on what hostile clients can make a proxy keep (docs/scenarios.md
// "Limits"): registrations awaiting the server's answer, and clients per
// group observation.
const (
	maxMNPending   = 256
	maxMNObservers = 256
)

// MNProxy relays group observations (MNP 3, 4).
type MNProxy struct {
	cfg                MNProxyConfig
	bus                *trace.Bus
	down, up, listener *net.UDPConn
	mid                atomic.Uint32
	upTok              atomic.Uint32

	mu        sync.Mutex
	pending   map[string]pendingDown // by upstream Token
	obs       *proxyGroupObs
	closed    bool
	wg        sync.WaitGroup
	relayed   int
	identical bool
}

type pendingDown struct {
	src   *net.UDPAddr
	token []byte
	plain bool
}

// proxyGroupObs is the proxy's part in one group observation.
type proxyGroupObs struct {
	token     []byte // T
	group     *net.UDPAddr
	last      *message.Message // cached latest notification (plain case)
	observers []proxyObserver
}

// add registers o, replacing an earlier registration of the same client
// and Token (RFC 7641 4.1: a re-registration); false when full.
func (g *proxyGroupObs) add(o proxyObserver) bool {
	for i, old := range g.observers {
		if sameAddr(old.src, o.src) && bytes.Equal(old.token, o.token) {
			g.observers[i] = o
			return true
		}
	}
	if len(g.observers) >= maxMNObservers {
		return false
	}
	g.observers = append(g.observers, o)
	return true
}

type proxyObserver struct {
	id      string // the client's address, for the trace
	src     *net.UDPAddr
	token   []byte
	binding *oscore.Binding // C-P layer of its ticket request, nil without
}

// StartMNProxy opens the proxy's sockets: towards clients, towards the
// server and one to listen to a group address.
func StartMNProxy(bus *trace.Bus, cfg MNProxyConfig) (*MNProxy, error) {
	p := &MNProxy{cfg: cfg, bus: bus, pending: map[string]pendingDown{}, identical: true}
	for _, c := range []**net.UDPConn{&p.down, &p.up, &p.listener} {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("nodes: %s: %w", cfg.ID, err)
		}
		*c = conn
	}
	p.mid.Store(0x5100)
	p.upTok.Store(uint32(cfg.UpToken))
	p.wg.Add(3)
	go p.serveDown()
	go p.serveUp()
	go p.serveGroup()
	return p, nil
}

// Addr is where clients send; UpAddr the socket facing the server.
func (p *MNProxy) Addr() *net.UDPAddr   { return p.down.LocalAddr().(*net.UDPAddr) }
func (p *MNProxy) UpAddr() *net.UDPAddr { return p.up.LocalAddr().(*net.UDPAddr) }

// Observers is how many clients the proxy relays notifications to.
func (p *MNProxy) Observers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.obs == nil {
		return 0
	}
	return len(p.obs.observers)
}

// Close stops the proxy.
func (p *MNProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for _, c := range []*net.UDPConn{p.down, p.up, p.listener} {
		if c != nil {
			c.Close()
		}
	}
	p.wg.Wait()
	return nil
}

func (p *MNProxy) decide(step, section, outcome string, code codes.Code) {
	d := &trace.Decision{Rule: trace.RuleMulticastNotif, Step: step, Section: section, Outcome: outcome}
	if code != 0 {
		d.Code = codeText(code)
	}
	p.bus.Publish(trace.Event{Type: trace.TypeDecision, Node: p.cfg.ID, Exchange: exchangeOf(p.cfg.Exchange), Decision: d})
}

// who names the client at src.
func (p *MNProxy) who(src *net.UDPAddr) string {
	if p.cfg.Name != nil {
		if n := p.cfg.Name(src); n != "" {
			return n
		}
	}
	return src.String()
}

func (p *MNProxy) send(conn *net.UDPConn, m message.Message, to *net.UDPAddr) {
	b, err := oscore.EncodeMessage(m)
	if err != nil {
		return
	}
	sent := func() {}
	if p.cfg.Sending != nil {
		sent = p.cfg.Sending(to)
	}
	if _, err := conn.WriteToUDP(b, to); err == nil {
		sent()
	}
}

func (p *MNProxy) ack(conn *net.UDPConn, m message.Message, to *net.UDPAddr) {
	if m.Type == message.Confirmable {
		p.send(conn, message.Message{Type: message.Acknowledgement, MessageID: m.MessageID}, to)
	}
}

func readLoop(wg *sync.WaitGroup, conn *net.UDPConn, handle func(message.Message, *net.UDPAddr)) {
	defer wg.Done()
	buf := make([]byte, 65536)
	for {
		n, src, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if m, err := oscore.DecodeMessage(append([]byte(nil), buf[:n]...)); err == nil {
			handle(m, src)
		}
	}
}

func (p *MNProxy) serveDown()  { readLoop(&p.wg, p.down, p.fromClient) }
func (p *MNProxy) serveUp()    { readLoop(&p.wg, p.up, p.fromServer) }
func (p *MNProxy) serveGroup() { readLoop(&p.wg, p.listener, p.fromGroup) }

// fromClient handles a client's request: removes a C-P layer addressed to
// the proxy (draft-ietf-core-oscore-capable-proxies 2.4), consumes a
// ticket request (MNP 4.2), serves a registration from its own group
// observation (MNP 3), or forwards it.
func (p *MNProxy) fromClient(m message.Message, src *net.UDPAddr) {
	if m.Code == codes.Empty || m.Code >= 32 {
		return
	}
	var cp *oscore.Binding
	if raw, err := oscore.FindOSCORE(&m); err == nil && p.cfg.CP != nil {
		if ov, err := oscore.ParseOption(raw); err == nil && ov.KIDContext == nil && p.cfg.CP[hex.EncodeToString(ov.KID)] != nil {
			lookup := func(kid, _ []byte) (*oscore.Context, error) { return p.cfg.CP[hex.EncodeToString(kid)], nil }
			inner, b, rep, err := oscore.UnprotectRequest(m, lookup)
			if err != nil {
				publishLayer(p.bus, exchangeOf(p.cfg.Exchange), p.cfg.ID, trace.LayerFailed, rep, err.Error())
				if resp, ok := oscore.ErrorResponse(m, err); ok {
					p.reply(m, src, resp)
				}
				return
			}
			publishLayerDepth(p.bus, exchangeOf(p.cfg.Exchange), p.cfg.ID, trace.LayerRemoved, depthUnder(inner), rep, "C-P layer: the proxy knows which client sends")
			inner.MessageID, inner.Type = m.MessageID, m.Type
			m, cp = inner, b
		}
	}
	if m.Options.HasOption(multicast.OptListenToMulticastResponses) {
		p.ticket(m, src, cp)
		return
	}
	p.mu.Lock()
	obs := p.obs
	p.mu.Unlock()
	_, errProt := oscore.FindOSCORE(&m)
	plain := errProt != nil
	if plain && obs != nil && obs.last != nil {
		p.serveFromCache(m, src)
		return
	}
	p.forward(m, src, plain)
}

// reply answers a client request piggybacked (CON) or as NON.
func (p *MNProxy) reply(req message.Message, to *net.UDPAddr, resp message.Message) {
	resp.Token = req.Token
	if req.Type == message.Confirmable {
		resp.Type, resp.MessageID = message.Acknowledgement, req.MessageID
	} else {
		resp.Type, resp.MessageID = message.NonConfirmable, int32(uint16(p.mid.Add(1)))
	}
	p.send(p.down, resp, to)
}

// ticket consumes a ticket request (MNP 4.2): not forwarded; the proxy
// options and Listen-To-Multicast-Responses removed; the phantom request
// rebuilt; the group address listened to; the client added.
func (p *MNProxy) ticket(m message.Message, src *net.UDPAddr, cp *oscore.Binding) {
	if p.cfg.CP != nil && cp == nil {
		p.decide("", "draft-ietf-core-oscore-capable-proxies A.2", fmt.Sprintf("ticket request from %s without a C-P OSCORE layer: refused, since anyone on the path could have set Listen-To-Multicast-Responses (MNP 10.1)", p.who(src)), codes.Unauthorized)
		p.reply(m, src, message.Message{Code: codes.Unauthorized})
		return
	}
	v, _ := m.Options.GetBytes(multicast.OptListenToMulticastResponses)
	tp, err := multicast.DecodeListenOption(v)
	if err != nil {
		p.decide("", "MNP 4.1", "ticket request refused: "+err.Error(), codes.BadOption)
		p.reply(m, src, message.Message{Code: codes.BadOption})
		return
	}
	grp, ok := tp.Client.AddrPort()
	if !ok {
		p.reply(m, src, message.Message{Code: codes.BadOption})
		return
	}
	ph := m
	ph.Options = withoutOptions(m.Options, message.ProxyURI, message.ProxyScheme, oscore.OptProxyCRI, oscore.OptProxySchemeNumber, multicast.OptListenToMulticastResponses)
	ph.Token = tp.Token
	ga := net.UDPAddrFromAddrPort(grp)
	p.mu.Lock()
	if p.obs == nil || !bytes.Equal(p.obs.token, tp.Token) {
		p.obs = &proxyGroupObs{token: tp.Token, group: ga}
	}
	ok = p.obs.add(proxyObserver{id: p.who(src), src: src, token: m.Token, binding: cp})
	n := len(p.obs.observers)
	p.mu.Unlock()
	if !ok {
		p.decide("", "MNP 4.2", fmt.Sprintf("ticket request from %s refused: %d clients already", p.who(src), maxMNObservers), codes.ServiceUnavailable)
		p.reply(m, src, message.Message{Code: codes.ServiceUnavailable})
		return
	}
	p.decide("", "MNP 4.2", fmt.Sprintf("ticket request consumed, not forwarded: proxy options and Listen-To-Multicast-Responses removed, phantom request %v (OSCORE option and payload unchanged) rebuilt with Token %x; tp_info %s", ph.Code, tp.Token, tp.Diag()), 0)
	if p.cfg.Join != nil {
		if err := p.cfg.Join(ga, p.listener.LocalAddr().(*net.UDPAddr)); err != nil {
			p.decide("", "MNP 4.2", "cannot listen: "+err.Error(), 0)
		}
	}
	p.decide("", "MNP 4.2", fmt.Sprintf("listening to %s for Token %x; client %s (Token %x) added, %d observers", ga, tp.Token, p.who(src), []byte(m.Token), n), 0)
	p.ack(p.down, m, src)
}

// serveFromCache answers a plain registration from the proxy's own group
// observation (MNP 3: no further action with the server).
func (p *MNProxy) serveFromCache(m message.Message, src *net.UDPAddr) {
	p.mu.Lock()
	obs := p.obs
	last := *obs.last
	ok := obs.add(proxyObserver{id: p.who(src), src: src, token: m.Token})
	p.mu.Unlock()
	if !ok {
		p.reply(m, src, message.Message{Code: codes.ServiceUnavailable})
		return
	}
	resp := p.relayCopy(last, m.Token)
	p.decide("", "MNP 3", fmt.Sprintf("registration from %s served from the cached notification; client added (Token %x), nothing sent to the server", p.who(src), []byte(m.Token)), 0)
	p.reply(m, src, resp)
}

// forward sends a registration on to the server with a Token of the
// proxy's: Proxy-Uri becomes Uri-Host and Uri-Path, Proxy-Scheme is
// removed (RFC 7252 5.7.2).
func (p *MNProxy) forward(m message.Message, src *net.UDPAddr, plain bool) {
	up := message.Message{Code: m.Code, Type: message.Confirmable, MessageID: int32(uint16(p.mid.Add(1))), Payload: m.Payload,
		Token: message.Token{byte(p.upTok.Add(1) - 1)}}
	for _, o := range m.Options {
		switch o.ID {
		case message.ProxyURI:
			u, err := url.Parse(string(o.Value))
			if err != nil || u.Host == "" {
				p.reply(m, src, message.Message{Code: codes.BadOption})
				return
			}
			up.Options = up.Options.Add(message.Option{ID: message.URIHost, Value: []byte(u.Hostname())})
			for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
				up.Options = up.Options.Add(message.Option{ID: message.URIPath, Value: []byte(seg)})
			}
		case message.ProxyScheme:
		default:
			up.Options = up.Options.Add(o)
		}
	}
	p.mu.Lock()
	if len(p.pending) >= maxMNPending {
		p.mu.Unlock()
		p.decide("", "RFC 7252 5.7.2", fmt.Sprintf("registration from %s refused: %d requests already wait for the server", p.who(src), maxMNPending), codes.ServiceUnavailable)
		p.reply(m, src, message.Message{Code: codes.ServiceUnavailable})
		return
	}
	p.pending[string(up.Token)] = pendingDown{src: src, token: bytes.Clone(m.Token), plain: plain}
	p.mu.Unlock()
	p.ack(p.down, m, src) // the response comes separately
	p.decide("", "RFC 7252 5.7.2", fmt.Sprintf("registration from %s (Token %x) forwarded to the server with Token %x", p.who(src), []byte(m.Token), []byte(up.Token)), 0)
	p.send(p.up, up, p.cfg.Server)
}

// fromServer handles the server's response to a forwarded registration:
// a plain informative response configures the proxy's own group
// observation (MNP 3); anything else, such as a protected informative
// response the proxy cannot read, is relayed to the client (MNP 4).
func (p *MNProxy) fromServer(m message.Message, src *net.UDPAddr) {
	if m.Code == codes.Empty {
		return
	}
	p.ack(p.up, m, src)
	p.mu.Lock()
	pd, ok := p.pending[string(m.Token)]
	delete(p.pending, string(m.Token))
	p.mu.Unlock()
	if !ok {
		return
	}
	if cf, err := m.Options.ContentFormat(); err == nil && cf == multicast.ContentFormat && m.Code == codes.ServiceUnavailable {
		if err := p.informative(m, pd); err != nil {
			p.decide("", "MN 5.3", "informative response refused: "+err.Error(), codes.BadGateway)
			p.sendDown(message.Message{Code: codes.BadGateway}, pd)
		}
		return
	}
	if !pd.plain {
		p.decide("", "MNP 4", "response relayed to the client: a protected response whose content the proxy cannot read", 0)
	}
	out := message.Message{Code: m.Code, Options: m.Options, Payload: m.Payload}
	p.sendDown(out, pd)
}

func (p *MNProxy) sendDown(m message.Message, pd pendingDown) {
	m.Token, m.Type, m.MessageID = pd.token, message.Confirmable, int32(uint16(p.mid.Add(1)))
	p.send(p.down, m, pd.src)
}

// informative takes part in the group observation as a client would (MNP
// 3; MN 5.3): listens to the group, caches last_notif and answers the
// client with it.
func (p *MNProxy) informative(m message.Message, pd pendingDown) error {
	in, err := multicast.DecodeInformative(m.Payload)
	if err != nil {
		return err
	}
	if in.TPInfo == nil || !in.TPInfo.HasDetails {
		return errors.New("no tp_info with details")
	}
	grp, ok := in.TPInfo.Client.AddrPort()
	if !ok {
		return errors.New("tpi_client names no IP address")
	}
	ga := net.UDPAddrFromAddrPort(grp)
	obs := &proxyGroupObs{token: in.TPInfo.Token, group: ga,
		observers: []proxyObserver{{id: p.who(pd.src), src: pd.src, token: pd.token}}}
	p.decide("", "MNP 3", "informative response recognized and parsed, for the proxy itself: "+in.Diag(), 0)
	if in.LastNotif != nil {
		n, err := multicast.DecodeMessageInfo(in.LastNotif, in.TPInfo.Token)
		if err != nil {
			return err
		}
		obs.last = &n
	}
	p.mu.Lock()
	p.obs = obs
	p.mu.Unlock()
	if p.cfg.Join != nil {
		if err := p.cfg.Join(ga, p.listener.LocalAddr().(*net.UDPAddr)); err != nil {
			return err
		}
	}
	p.decide("", "MNP 3", fmt.Sprintf("listening to %s for Token %x; client %s added (Token %x)", ga, in.TPInfo.Token, p.who(pd.src), pd.token), 0)
	if obs.last == nil {
		return nil // the client's registration was acknowledged already
	}
	p.sendDown(p.relayCopy(*obs.last, pd.token), pd)
	return nil
}

// relayCopy is notification n as relayed to one client: its Token and the
// proxy's Observe value; everything else unchanged.
func (p *MNProxy) relayCopy(n message.Message, token []byte) message.Message {
	out := message.Message{Code: n.Code, Token: bytes.Clone(token), Payload: n.Payload, Type: message.NonConfirmable}
	out.Options = append(message.Options(nil), n.Options...)
	if obs, err := n.Options.Observe(); err == nil {
		out.Options = replaceOption(out.Options, message.Option{ID: message.Observe, Value: uintBytes((obs + p.cfg.ObserveOffset) & (1<<24 - 1))})
	}
	return out
}

// fromGroup relays one multicast notification to each observer (MNP 3,
// 4.2) with its own Token, Message ID and the proxy's Observe value, under
// the observer's C-P layer when its ticket came under one.
func (p *MNProxy) fromGroup(m message.Message, src *net.UDPAddr) {
	p.mu.Lock()
	obs := p.obs
	if obs == nil || !bytes.Equal(m.Token, obs.token) {
		p.mu.Unlock()
		p.decide("", "MN 5.4", fmt.Sprintf("datagram on the group address with Token %x matches no group observation: dropped", []byte(m.Token)), 0)
		return
	}
	cp := m
	obs.last = &cp
	observers := append([]proxyObserver(nil), obs.observers...)
	_, noObs := m.Options.Observe()
	if noObs != nil { // a cancellation (MN 4.5): relayed, then the observation is forgotten
		p.obs = nil
	}
	p.mu.Unlock()
	if noObs != nil {
		p.decide("", "MN 5.5, MNP 3", fmt.Sprintf("datagram without Observe for Token %x: the server cancelled the group observation; relayed to every client, then forgotten", []byte(m.Token)), 0)
	}
	s, _ := m.Options.Observe()
	var names []string
	same := true
	type out struct {
		m  message.Message
		to *net.UDPAddr
	}
	var outs []out
	for _, o := range observers {
		c := p.relayCopy(m, o.token)
		c.MessageID = int32(uint16(p.mid.Add(1)))
		same = same && identicalExceptTokenMIDObserve(m, c)
		if o.binding != nil {
			prot, rep, err := oscore.ProtectResponse(o.binding, c, oscore.ProtectOptions{ResponsePIV: true})
			if err != nil {
				publishLayerDepth(p.bus, exchangeOf(p.cfg.Exchange), p.cfg.ID, trace.LayerFailed, depthUnder(c), rep, err.Error())
				continue
			}
			publishLayerDepth(p.bus, exchangeOf(p.cfg.Exchange), p.cfg.ID, trace.LayerApplied, depthUnder(c), rep, "C-P layer of the relayed notification, with the proxy's own Partial IV (RFC 8613 4.1.3.5)")
			prot.Token, prot.MessageID, prot.Type = c.Token, c.MessageID, c.Type
			c = prot
		}
		obsC, _ := c.Options.Observe()
		names = append(names, fmt.Sprintf("%s (Token %x, Observe %d)", o.id, []byte(o.token), obsC))
		outs = append(outs, out{c, o.src})
	}
	p.mu.Lock()
	p.relayed++
	p.identical = p.identical && same
	p.mu.Unlock()
	verdict := "copies identical to the received notification except Token, Message ID and Observe"
	if !same {
		verdict = "copies DIFFER from the received notification beyond Token, Message ID and Observe"
	}
	p.decide("", "MNP 3, 4.2", fmt.Sprintf("multicast notification (Token %x, Observe %d) relayed to %d clients: %s; %s", []byte(m.Token), s, len(observers), strings.Join(names, ", "), verdict), 0)
	for _, o := range outs {
		p.send(p.down, o.m, o.to)
	}
}

// Relayed reports how many multicast notifications the proxy relayed and
// whether every copy was identical to what it received except Token,
// Message ID and Observe.
func (p *MNProxy) Relayed() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.relayed, p.identical
}

// identicalExceptTokenMIDObserve compares two messages' wire form with
// Token, Message ID, type and Observe left out.
func identicalExceptTokenMIDObserve(a, b message.Message) bool {
	norm := func(m message.Message) []byte {
		m.Token, m.MessageID, m.Type = nil, 0, message.NonConfirmable
		m.Options = withoutOptions(m.Options, message.Observe)
		out, _ := oscore.EncodeMessage(m)
		return out
	}
	x, y := norm(a), norm(b)
	return x != nil && bytes.Equal(x, y)
}

// withoutOptions returns a copy of opts without the options numbered ids
// (go-coap's Remove shifts the caller's slice in place).
func withoutOptions(opts message.Options, ids ...message.OptionID) message.Options {
	out := make(message.Options, 0, len(opts))
	for _, o := range opts {
		if !slices.Contains(ids, o.ID) {
			out = append(out, o)
		}
	}
	return out
}
