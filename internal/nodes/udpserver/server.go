// Package udpserver is a CoAP-over-UDP server made of go-coap v3's
// per-peer connections (udp/client.Conn) around a read loop of its own.
//
// go-coap's udp/server keeps every response for EXCHANGE_LIFETIME and
// walks the peer's whole response cache on every datagram, so a server
// facing one busy peer slows down as the cache grows (3,100 exchanges/s
// falling to 400/s within a minute). This server keeps go-coap's request
// handling, response writer, retransmission and observation code, and
// replaces three parts:
//
//   - duplicate detection (RFC 7252 4.5): one bounded table for all peers,
//     O(1) per datagram, consulted before go-coap decodes the datagram; a
//     duplicate CON gets the very bytes that answered it, a duplicate
//     still being processed or a duplicate NON is dropped;
//   - the response cache: each response is encoded once, when it is
//     written, and those bytes are what the table keeps (go-coap's own
//     cache gets nothing to store);
//   - housekeeping: expiry runs from a ticker, never per datagram, and a
//     peer silent for PeerIdle is closed, so memory stays bounded by
//     MaxPeers and the table's bounds.
//
// As in go-coap's server, one peer's requests are handled one at a time,
// in arrival order: a client's OSCORE Partial IVs reach the replay window
// (RFC 8613 7.4) in the order they were sent, however many are in flight.
package udpserver

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
)

// ExchangeLifetime is RFC 7252 4.8.2's EXCHANGE_LIFETIME for the default
// transmission parameters.
const ExchangeLifetime = 247 * time.Second

// Config is a server's configuration; zero fields take the defaults.
type Config struct {
	// Handler serves every request of every peer.
	Handler udpClient.HandlerFunc
	// Errors receives errors nobody else can act on; nil drops them.
	Errors func(error)
	// RequestMonitor, when set, sees every decoded message of a peer
	// before go-coap handles it and may drop it (go-coap's option of the
	// same name).
	RequestMonitor udpClient.RequestMonitorFunc
	// Traffic, when set, sees every datagram the server reads (in) or
	// writes (out), with the peer's address as RemoteAddr().String() names
	// it, before anything else happens to it: duplicates, malformed
	// datagrams and the answers the duplicate table sends again included.
	// d is valid only during the call.
	Traffic func(in bool, peer string, d []byte)

	// AckTimeout and MaxRetransmit are RFC 7252 4.8's ACK_TIMEOUT and
	// MAX_RETRANSMIT for the Confirmable messages the server sends
	// (2 s and 4).
	AckTimeout    time.Duration
	MaxRetransmit uint32

	// Lifetime is how long a request is remembered for duplicate detection
	// (EXCHANGE_LIFETIME); DedupEntries and DedupBytes bound the table
	// (65,536 requests, 16 MiB of answers): the oldest entry goes first.
	Lifetime     time.Duration
	DedupEntries int
	DedupBytes   int

	// MaxPeers bounds the peers known at once (4,096): a datagram from a
	// new peer beyond it is dropped. PeerIdle closes a peer that sent and
	// received nothing for that long (EXCHANGE_LIFETIME).
	MaxPeers int
	PeerIdle time.Duration
	// Tick is how often retransmissions and expiries are checked (1 s).
	Tick time.Duration

	MaxMessageSize uint32 // 64 KiB
	// Now is the clock; tests replace it.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Errors == nil {
		c.Errors = func(error) {}
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 2 * time.Second
	}
	if c.MaxRetransmit == 0 {
		c.MaxRetransmit = 4
	}
	if c.Lifetime <= 0 {
		c.Lifetime = ExchangeLifetime
	}
	if c.DedupEntries <= 0 {
		c.DedupEntries = 1 << 16
	}
	if c.DedupBytes <= 0 {
		c.DedupBytes = 16 << 20
	}
	if c.MaxPeers <= 0 {
		c.MaxPeers = 4096
	}
	if c.PeerIdle <= 0 {
		c.PeerIdle = ExchangeLifetime
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = 64 << 10
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server serves CoAP over one UDP socket.
type Server struct {
	l      *coapNet.UDPConn
	cfg    Config
	conn   udpClient.Config
	ctx    context.Context
	cancel context.CancelFunc
	dedup  *dedup
	seed   maphash.Seed

	mu    sync.Mutex
	peers map[netip.AddrPort]*udpClient.Conn
}

// New returns a server for l; Serve starts it.
func New(l *coapNet.UDPConn, cfg Config) *Server {
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{l: l, cfg: cfg, ctx: ctx, cancel: cancel,
		dedup: newDedup(cfg.DedupEntries, cfg.DedupBytes, cfg.Lifetime),
		seed:  maphash.MakeSeed(),
		peers: make(map[netip.AddrPort]*udpClient.Conn)}
	c := udpClient.DefaultConfig
	c.Handler = cfg.Handler
	c.Errors = cfg.Errors
	c.TransmissionNStart = 1
	c.TransmissionAcknowledgeTimeout = cfg.AckTimeout
	c.TransmissionMaxRetransmit = cfg.MaxRetransmit
	c.MaxMessageSize = cfg.MaxMessageSize
	c.BlockwiseEnable = false
	c.MessagePool = pool.New(1024, 2048)
	// go-coap's own in-flight duplicate tracking keys on the MID alone and
	// ends only after the response is out: a new request reusing the MID
	// right after its answer would be dropped. The server's table does
	// this job before go-coap sees a datagram.
	c.MaxPendingMessages = 0
	s.conn = c
	return s
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// Serve reads datagrams until Stop; it returns nil after Stop.
func (s *Server) Serve() error {
	go s.housekeeping()
	buf := make([]byte, int(s.cfg.MaxMessageSize)+1)
	for {
		var raddr *net.UDPAddr
		var cm *coapNet.ControlMessage
		n, err := s.l.ReadWithOptions(buf, coapNet.WithContext(s.ctx), coapNet.WithGetControlMessage(&cm), coapNet.WithGetRemoteAddr(&raddr))
		if err != nil {
			if s.ctx.Err() != nil || coapNet.IsCancelOrCloseError(err) {
				return nil
			}
			if coapNet.IsMessageSizeError(err) {
				continue
			}
			return err
		}
		if n > int(s.cfg.MaxMessageSize) || raddr == nil {
			continue
		}
		s.receive(buf[:n], raddr, cm)
	}
}

// Stop ends Serve and every peer; the socket stays open for its owner.
func (s *Server) Stop() {
	s.cancel()
	s.mu.Lock()
	peers := s.peers
	s.peers = make(map[netip.AddrPort]*udpClient.Conn)
	s.mu.Unlock()
	for _, cc := range peers {
		cc.Close()
	}
}

// receive runs one datagram through duplicate detection into its peer's
// go-coap connection.
func (s *Server) receive(d []byte, raddr *net.UDPAddr, cm *coapNet.ControlMessage) {
	key := netip.AddrPortFrom(raddr.AddrPort().Addr().Unmap(), raddr.AddrPort().Port())
	cc := s.peer(key, raddr)
	if cc == nil {
		return
	}
	sess := cc.Session().(*session)
	if s.cfg.Traffic != nil {
		s.cfg.Traffic(true, sess.name, d)
	}
	if h, ok := parseHeader(d); ok && h.isRequest() {
		v, answer := s.dedup.check(dedupKey{key, h.mid}, maphash.Bytes(s.seed, d), h.typ == message.Confirmable, s.now())
		switch v {
		case resend:
			s.write(answer, sess, cm)
			return
		case drop:
			return
		}
	}
	err := cc.Process(cm, d)
	if err == nil {
		return
	}
	var malformed *udpClient.MalformedMessageError
	if errors.As(err, &malformed) {
		s.rejectMalformed(sess, cm, malformed)
		return
	}
	s.cfg.Errors(fmt.Errorf("udpserver: %v: %w", raddr, err))
	cc.Close()
}

// rejectMalformed answers a malformed Confirmable message whose header
// could be read with a RST (RFC 7252 4.2) and ignores any other (RFC 7252
// 3: an unknown version is silently ignored).
func (s *Server) rejectMalformed(sess *session, cm *coapNet.ControlMessage, e *udpClient.MalformedMessageError) {
	if e.InvalidVersion || !e.HasHeader || e.Type != message.Confirmable || !message.ValidateMID(e.MessageID) {
		return
	}
	rst := []byte{0x70, 0, byte(e.MessageID >> 8), byte(e.MessageID)}
	s.dedup.answered(dedupKey{sess.key, uint16(e.MessageID)}, rst)
	s.write(rst, sess, cm)
}

// write sends d to a peer outside go-coap's connection (answers of the
// duplicate table, RSTs).
func (s *Server) write(d []byte, sess *session, cm *coapNet.ControlMessage) {
	raddr := sess.raddr
	if s.cfg.Traffic != nil {
		s.cfg.Traffic(false, sess.name, d)
	}
	opts := []coapNet.UDPWriteOption{coapNet.WithContext(s.ctx), coapNet.WithRemoteAddr(raddr)}
	if cm != nil {
		opts = append(opts, coapNet.WithControlMessage(&coapNet.ControlMessage{IfIndex: cm.GetIfIndex(), Src: cm.Dst}))
	}
	if err := s.l.WriteWithOptions(d, opts...); err != nil && s.ctx.Err() == nil {
		s.cfg.Errors(fmt.Errorf("udpserver: write to %v: %w", raddr, err))
	}
}

// peer returns the connection of a peer, made on its first datagram, or
// nil when MaxPeers are known already.
func (s *Server) peer(key netip.AddrPort, raddr *net.UDPAddr) *udpClient.Conn {
	now := s.now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cc, ok := s.peers[key]; ok {
		cc.Session().(*session).last.Store(now)
		return cc
	}
	if len(s.peers) >= s.cfg.MaxPeers || s.ctx.Err() != nil {
		return nil
	}
	sess := newSession(s, raddr, key)
	sess.last.Store(now)
	cfg := s.conn
	opts := []udpClient.Option{udpClient.WithResponseMessageCache(noCache{})}
	if s.cfg.RequestMonitor != nil {
		opts = append(opts, udpClient.WithRequestMonitor(s.cfg.RequestMonitor))
	}
	cc := udpClient.NewConnWithOpts(sess, &cfg, opts...)
	s.peers[key] = cc
	return cc
}

// forget drops a closed peer's connection.
func (s *Server) forget(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cc, ok := s.peers[sess.key]; ok && cc.Session() == udpClient.Session(sess) {
		delete(s.peers, sess.key)
	}
}

// Peers is the number of peers known.
func (s *Server) Peers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

// Remembered is the number of requests the duplicate table holds.
func (s *Server) Remembered() int { return s.dedup.len() }

// housekeeping runs go-coap's retransmission and expiry checks for every
// peer, closes idle peers and expires the duplicate table, every Tick.
// Each peer's check walks only its messages in flight.
func (s *Server) housekeeping() {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		now := s.now()
		s.dedup.expire(now)
		s.mu.Lock()
		peers := make([]*udpClient.Conn, 0, len(s.peers))
		for _, cc := range s.peers {
			peers = append(peers, cc)
		}
		s.mu.Unlock()
		idle := now.Add(-s.cfg.PeerIdle).UnixNano()
		for _, cc := range peers {
			if cc.Session().(*session).last.Load() < idle {
				cc.Close()
				continue
			}
			cc.CheckExpirations(now)
		}
	}
}

// header is the fixed part of a CoAP message (RFC 7252 3).
type header struct {
	typ  message.Type
	code codes.Code
	mid  uint16
}

func parseHeader(d []byte) (header, bool) {
	if len(d) < 4 || d[0]>>6 != 1 {
		return header{}, false
	}
	return header{typ: message.Type(d[0] >> 4 & 3), code: codes.Code(d[1]), mid: uint16(d[2])<<8 | uint16(d[3])}, true
}

// isRequest: a CON or NON message with a request code (RFC 7252 12.1).
func (h header) isRequest() bool {
	return (h.typ == message.Confirmable || h.typ == message.NonConfirmable) && h.code >= 1 && h.code < 32
}

// noCache stands in for go-coap's response cache: the server's table
// keeps answers as the bytes that went out.
type noCache struct{}

func (noCache) Load(string, *pool.Message) (bool, error) { return false, nil }
func (noCache) Store(string, *pool.Message) error        { return nil }
func (noCache) CheckExpirations(time.Time)               {}
