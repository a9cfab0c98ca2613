// Package loadgen is an outside CoAP client that loads one server: CON
// GET requests from one UDP socket with a fixed number in flight, each
// retransmitted as RFC 7252 4.2 asks until its ACK arrives, optionally
// protected with OSCORE (RFC 8613). It counts exchanges per time window
// and measures sequential latency, so that a server's rate can be seen to
// hold (or not) as the exchanges add up.
package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"oscore-lab/oscore"
)

// Config describes a load.
type Config struct {
	Addr     *net.UDPAddr
	Path     string          // Uri-Path of every GET ("hello")
	Options  message.Options // more options of every GET, e.g. Uri-Host and Proxy-Scheme for a proxy
	Context  *oscore.Context // nil: plain CoAP
	InFlight int             // requests outstanding at once (32)
	// Duration ends the run; Exchanges (if > 0) ends it earlier.
	Duration  time.Duration
	Exchanges int
	Window    time.Duration // width of a counting window (10 s)
	// AckTimeout is the first retransmission timeout (RFC 7252 4.8: 2 s);
	// a request is lost after MAX_RETRANSMIT (4) retransmissions.
	AckTimeout time.Duration
}

// Result is what a run measured.
type Result struct {
	Exchanges int           // answered with 2.05 (and verified, with OSCORE)
	Failed    int           // lost, or answered with anything else
	Retrans   int           // retransmissions sent
	FirstErr  error         // why the first failed exchange failed
	total     time.Duration // process CPU time of the whole run
	Elapsed   time.Duration // wall time of the run
	Windows   []int         // exchanges completed in each Window
	// WindowCPU[i] is the process CPU time (ProcessCPU) from the start to
	// the first completion in window i; nil where it cannot be measured.
	WindowCPU []time.Duration
	// Marks[i] is the wall time at which exchange i*MarkEvery completed:
	// rates between two exchange counts, whatever the windows.
	Marks []time.Duration
	// CPU[i] is the process CPU time (ProcessCPU) used from the start to
	// Marks[i]; CPU is nil where it cannot be measured.
	CPU []time.Duration
}

// MarkEvery is the exchange count between two Marks.
const MarkEvery = 1000

// Rate is exchanges per second over the whole run.
func (r Result) Rate() float64 { return float64(r.Exchanges) / r.Elapsed.Seconds() }

// RateBetween is the rate between exchange counts a and b (multiples of
// MarkEvery that the run reached).
func (r Result) RateBetween(a, b int) (float64, bool) {
	i, j := a/MarkEvery, b/MarkEvery
	if i < 0 || j >= len(r.Marks) || j <= i {
		return 0, false
	}
	return float64(b-a) / (r.Marks[j] - r.Marks[i]).Seconds(), true
}

// CPUBetween is the process CPU time per exchange between exchange counts
// a and b.
func (r Result) CPUBetween(a, b int) (time.Duration, bool) {
	i, j := a/MarkEvery, b/MarkEvery
	if i < 0 || j >= len(r.CPU) || j <= i {
		return 0, false
	}
	return (r.CPU[j] - r.CPU[i]) / time.Duration(b-a), true
}

// WindowCPUPerExchange is the process CPU time per exchange of each
// window but the last (whose end has no mark).
func (r Result) WindowCPUPerExchange() []time.Duration {
	var out []time.Duration
	for i := 0; i+1 < len(r.WindowCPU) && i < len(r.Windows); i++ {
		if r.Windows[i] > 0 {
			out = append(out, (r.WindowCPU[i+1]-r.WindowCPU[i])/time.Duration(r.Windows[i]))
		}
	}
	return out
}

// CPUPerExchange is the process CPU time per exchange over the run.
func (r Result) CPUPerExchange() (time.Duration, bool) {
	if len(r.CPU) < 2 || r.Exchanges == 0 {
		return 0, false
	}
	return r.total / time.Duration(r.Exchanges), true
}

func (c *Config) defaults() {
	if c.Path == "" {
		c.Path = "hello"
	}
	if c.InFlight <= 0 {
		c.InFlight = 32
	}
	if c.Window <= 0 {
		c.Window = 10 * time.Second
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 2 * time.Second
	}
}

// client is one socket and the requests waiting on it, by MID (for the
// ACK) and by token (for the response).
type client struct {
	cfg  Config
	conn *net.UDPConn

	sendMu sync.Mutex // protect (take a sequence number) and send in one step

	mu      sync.Mutex
	byMID   map[uint16]*pending
	byToken map[string]*pending
	nextMID uint16
	nextTok uint64
}

type pending struct {
	mid   uint16
	token message.Token
	acked chan struct{} // closed by an empty ACK: the response comes separately
	done  chan []byte   // the response, buffered
}

func dial(cfg Config) (*client, error) {
	conn, err := net.DialUDP("udp", nil, cfg.Addr)
	if err != nil {
		return nil, err
	}
	c := &client{cfg: cfg, conn: conn, byMID: map[uint16]*pending{}, byToken: map[string]*pending{}}
	go c.read()
	return c, nil
}

// read hands each response to the request with its token: piggybacked on
// an ACK with the request's MID, or separate (RFC 7252 5.2.2) after an
// empty ACK, in which case a CON response is acknowledged.
func (c *client) read() {
	buf := make([]byte, 2048)
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d := buf[:n]
		if n < 4 || d[0]>>6 != 1 || n < 4+int(d[0]&0xf) {
			continue
		}
		typ, code := message.Type(d[0]>>4&3), codes.Code(d[1])
		mid := binary.BigEndian.Uint16(d[2:4])
		token := string(d[4 : 4+int(d[0]&0xf)])
		if typ == message.Confirmable {
			c.conn.Write([]byte{0x60, 0, d[2], d[3]}) // RFC 7252 5.2.2
		}
		c.mu.Lock()
		var p *pending
		switch {
		case typ == message.Acknowledgement && code == codes.Empty:
			if q, ok := c.byMID[mid]; ok {
				delete(c.byMID, mid)
				close(q.acked)
			}
		case typ == message.Acknowledgement && c.byMID[mid] != nil && string(c.byMID[mid].token) == token,
			typ != message.Acknowledgement && typ != message.Reset && code >= codes.Created:
			if q, ok := c.byToken[token]; ok {
				p = q
				delete(c.byToken, token)
				if c.byMID[q.mid] == q {
					delete(c.byMID, q.mid)
				}
			}
		}
		c.mu.Unlock()
		if p != nil {
			p.done <- append([]byte(nil), d...)
		}
	}
}

// exchange sends one GET and waits for its answer, retransmitting until
// it is acknowledged.
func (c *client) exchange(ctx context.Context) (retrans int, err error) {
	c.mu.Lock()
	mid := c.nextMID
	c.nextMID++
	c.nextTok++
	tok := make(message.Token, 8)
	binary.BigEndian.PutUint64(tok, c.nextTok)
	p := &pending{mid: mid, token: tok, acked: make(chan struct{}), done: make(chan []byte, 1)}
	c.byMID[mid] = p
	c.byToken[string(tok)] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.byMID[mid] == p {
			delete(c.byMID, mid)
		}
		if c.byToken[string(tok)] == p {
			delete(c.byToken, string(tok))
		}
		c.mu.Unlock()
	}()

	m := message.Message{Code: codes.GET, Type: message.Confirmable, MessageID: int32(mid), Token: tok, Options: c.options()}
	d, b, err := c.send(m)
	if err != nil {
		return 0, err
	}
	timeout := c.cfg.AckTimeout
	t := time.NewTimer(timeout)
	defer t.Stop()
	acked := p.acked
	for {
		select {
		case <-ctx.Done():
			return retrans, ctx.Err()
		case ans := <-p.done:
			return retrans, c.check(ans, b)
		case <-acked:
			acked = nil // no more retransmissions; the response may take a while
			t.Reset(exchangeLifetime)
		case <-t.C:
			if acked == nil || retrans == 4 {
				return retrans, fmt.Errorf("loadgen: MID %#04x lost", mid)
			}
			retrans++
			c.conn.Write(d)
			timeout *= 2
			t.Reset(timeout)
		}
	}
}

// exchangeLifetime bounds the wait for a separate response.
const exchangeLifetime = 247 * time.Second

// send protects m (with OSCORE) and writes it, one request at a time, so
// that Partial IVs reach the server in the order they were taken.
func (c *client) send(m message.Message) ([]byte, *oscore.Binding, error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	var b *oscore.Binding
	if c.cfg.Context != nil {
		var err error
		if m, b, _, err = oscore.ProtectRequest(c.cfg.Context, m, oscore.ProtectOptions{}); err != nil {
			return nil, nil, err
		}
	}
	d, err := encode(m)
	if err != nil {
		return nil, nil, err
	}
	_, err = c.conn.Write(d)
	return d, b, err
}

// options are the request's options, sorted (go-coap encodes them in the
// order given).
func (c *client) options() message.Options {
	opts := append(message.Options{{ID: message.URIPath, Value: []byte(c.cfg.Path)}}, c.cfg.Options...)
	sort.SliceStable(opts, func(i, j int) bool { return opts[i].ID < opts[j].ID })
	return opts
}

func (c *client) check(ans []byte, b *oscore.Binding) error {
	m := message.Message{Options: make(message.Options, 0, 8)}
	if _, err := coder.DefaultCoder.Decode(ans, &m); err != nil {
		return err
	}
	if b != nil {
		inner, _, err := oscore.UnprotectResponse(b, m)
		if err != nil {
			return err
		}
		m = inner
	}
	if m.Code != codes.Content {
		return fmt.Errorf("loadgen: answer %v", m.Code)
	}
	return nil
}

func encode(m message.Message) ([]byte, error) {
	n, err := coder.DefaultCoder.Size(m)
	if err != nil {
		return nil, err
	}
	d := make([]byte, n)
	_, err = coder.DefaultCoder.Encode(m, d)
	return d, err
}

// Run loads the server with cfg.InFlight requests at a time from one
// socket until cfg.Duration has passed or cfg.Exchanges are done.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.defaults()
	c, err := dial(cfg)
	if err != nil {
		return Result{}, err
	}
	defer c.conn.Close()
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	var (
		mu          sync.Mutex
		res         Result
		started     = time.Now()
		issued      atomic.Int64
		cpu0, cpuOK = ProcessCPU()
	)
	var wg sync.WaitGroup
	for range cfg.InFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if cfg.Exchanges > 0 && issued.Add(1) > int64(cfg.Exchanges) {
					return
				}
				re, err := c.exchange(ctx)
				if ctx.Err() != nil {
					return
				}
				at := time.Since(started)
				mu.Lock()
				res.Retrans += re
				if err != nil {
					res.Failed++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
				} else {
					res.Exchanges++
					w := int(at / cfg.Window)
					for len(res.Windows) <= w && (cfg.Duration == 0 || time.Duration(w)*cfg.Window < cfg.Duration) {
						res.Windows = append(res.Windows, 0)
						if cpu, ok := ProcessCPU(); ok && cpuOK {
							res.WindowCPU = append(res.WindowCPU, cpu-cpu0)
						}
					}
					if w < len(res.Windows) {
						res.Windows[w]++ // exchanges that end after Duration count in no window
					}
					if res.Exchanges%MarkEvery == 0 {
						res.Marks = append(res.Marks, at)
						if cpu, ok := ProcessCPU(); ok && cpuOK {
							res.CPU = append(res.CPU, cpu-cpu0)
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(started)
	res.Marks = append([]time.Duration{0}, res.Marks...)
	if cpu, ok := ProcessCPU(); ok && cpuOK {
		res.CPU = append([]time.Duration{0}, res.CPU...)
		res.total = cpu - cpu0
	}
	if res.Exchanges == 0 && res.FirstErr != nil {
		return res, res.FirstErr
	}
	return res, nil
}

// Latency is the distribution of sequential exchanges' round trips.
type Latency struct{ P50, P99 time.Duration }

// Sequential runs n exchanges one after the other and returns their
// latency.
func Sequential(ctx context.Context, cfg Config, n int) (Latency, error) {
	cfg.defaults()
	c, err := dial(cfg)
	if err != nil {
		return Latency{}, err
	}
	defer c.conn.Close()
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if _, err := c.exchange(ctx); err != nil {
			return Latency{}, err
		}
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return Latency{P50: lat[n/2], P99: lat[n*99/100]}, nil
}
