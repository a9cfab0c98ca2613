package udpserver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapNet "github.com/plgd-dev/go-coap/v3/net"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
)

// session is go-coap's view of one peer (udpClient.Session): it writes
// through the server's socket and closes without touching it.
type session struct {
	srv   *Server
	raddr *net.UDPAddr
	key   netip.AddrPort
	name  string // raddr.String(), for Config.Traffic

	ctx    atomic.Pointer[context.Context]
	cancel context.CancelFunc
	done   chan struct{}
	last   atomic.Int64 // unix nanoseconds of the last datagram either way

	mu       sync.Mutex
	onClose  []func()
	shutdown sync.Once
}

var _ udpClient.Session = (*session)(nil)

func newSession(srv *Server, raddr *net.UDPAddr, key netip.AddrPort) *session {
	ctx, cancel := context.WithCancel(srv.ctx)
	s := &session{srv: srv, raddr: raddr, key: key, name: raddr.String(), cancel: cancel, done: make(chan struct{})}
	s.ctx.Store(&ctx)
	return s
}

func (s *session) Context() context.Context { return *s.ctx.Load() }

func (s *session) SetContextValue(key, val any) {
	ctx := context.WithValue(s.Context(), key, val)
	s.ctx.Store(&ctx)
}

// Close ends the peer: its context is cancelled at once, its close
// callbacks run and its entry leaves the server afterwards, off the
// caller's goroutine (go-coap may call Close holding its own locks).
func (s *session) Close() error {
	s.cancel()
	s.shutdown.Do(func() {
		go func() {
			s.srv.forget(s)
			s.mu.Lock()
			fs := s.onClose
			s.onClose = nil
			s.mu.Unlock()
			for _, f := range fs {
				f()
			}
			close(s.done)
		}()
	})
	return nil
}

func (s *session) AddOnClose(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onClose = append(s.onClose, f)
}

func (s *session) Done() <-chan struct{} { return s.done }

func (s *session) MaxMessageSize() uint32 { return s.srv.cfg.MaxMessageSize }

func (s *session) RemoteAddr() net.Addr { return s.raddr }

func (s *session) LocalAddr() net.Addr { return s.srv.l.LocalAddr() }

func (s *session) NetConn() net.Conn { return s.srv.l.NetConn() }

// WriteMessage encodes m once: the same bytes go on the wire and, when m
// answers a Confirmable request, into the duplicate table.
func (s *session) WriteMessage(m *pool.Message) error {
	data, err := m.MarshalWithEncoder(coder.DefaultCoder)
	if err != nil {
		return err
	}
	if t := m.Type(); t == message.Acknowledgement || t == message.Reset {
		s.srv.dedup.answered(dedupKey{s.key, uint16(m.MessageID())}, data)
	}
	s.last.Store(s.srv.now().UnixNano())
	if f := s.srv.cfg.Traffic; f != nil {
		f(false, s.name, data)
	}
	return s.srv.l.WriteWithOptions(data, coapNet.WithContext(m.Context()), coapNet.WithRemoteAddr(s.raddr), coapNet.WithControlMessage(m.ControlMessage()))
}

func (s *session) WriteMulticastMessage(m *pool.Message, addr *net.UDPAddr, opts ...coapNet.MulticastOption) error {
	data, err := m.MarshalWithEncoder(coder.DefaultCoder)
	if err != nil {
		return err
	}
	return s.srv.l.WriteMulticast(m.Context(), addr, data, opts...)
}

// Run is for sessions that own their socket; the server reads for all.
func (s *session) Run(*udpClient.Conn) error {
	return errors.New("udpserver: a peer's datagrams are read by its server")
}
