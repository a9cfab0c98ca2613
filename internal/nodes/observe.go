package nodes

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/responsewriter"
	udpClient "github.com/plgd-dev/go-coap/v3/udp/client"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// notifyEvery is the period of /counter notifications.
var notifyEvery = time.Second

// maxObservation bounds how long a server keeps notifying one observer
// (docs/scenarios.md, "Observe").
var maxObservation = 10 * time.Minute

// conEvery makes every conEvery-th notification Confirmable: an observer
// that no longer acknowledges is then found gone and removed (RFC 7641
// 4.5), while the others go as NON.
var conEvery uint32 = 5

// observerSet holds a node's observations: as a server, the observers of
// /counter (keyed by peer and token); as a client, its own registrations
// (keyed by token, with the socket they live on).
type observerSet struct {
	mu     sync.Mutex
	server map[string]*serverObservation
	client map[string]*clientObservation
}

type serverObservation struct {
	stop chan struct{}
	once sync.Once
	why  string // why it ended, set before stop closes
	peer string
	mids [8]uint16 // Message IDs of the latest notifications, for a Reset to name
	sent int
}

// end stops the notifications; the first reason given is the one traced.
func (o *serverObservation) end(why string) {
	o.once.Do(func() {
		o.why = why
		close(o.stop)
	})
}

// resetBy ends the observation of peer whose recent notification had
// Message ID mid: the observer rejected it (RFC 7641 3.6).
func (o *observerSet) resetBy(peer string, mid uint16) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, s := range o.server {
		if s.peer != peer {
			continue
		}
		for i := 0; i < min(s.sent, len(s.mids)); i++ {
			if s.mids[i] == mid {
				s.end("the observer answered a notification with a Reset (RFC 7641 3.6)")
				delete(o.server, k)
				return
			}
		}
	}
}

type clientObservation struct {
	relay    *relay // set at a proxy: notifications go on downstream
	uri      string
	token    []byte
	pc       *pooledConn
	pool     *connPool
	layers   []clientLayer
	at       where
	received int
	// answer, while a request with the observation's token is pending on
	// its socket (the deregistration), takes the response to that request.
	answer chan message.Message
}

// relay is a proxy's forwarded observation: where notifications go and the
// layers they get on the way (draft 2.5: the layers removed from the
// registration, in reverse order; the proxy's own upstream layer comes off
// first, draft 2.6).
type relay struct {
	in      *incoming
	cc      *udpClient.Conn
	token   []byte
	own     *oscore.Binding // the proxy's layer towards the next hop, or nil
	downKey string
	seq     atomic.Uint32 // the outer Observe numbers of the downstream leg
}

// numberOuterObserve gives a response this proxy relays downstream an outer
// Observe of its own. Towards the client the proxy is the server (RFC 7641
// 5), so it numbers its notifications itself, increasing (RFC 7641 3.4,
// 4.4); removing its layer left only the empty Inner Observe (RFC 8613
// 4.1.3.5.2), which an RFC 7641 client would take for 0 and drop as stale.
// Values are 24 bits wide (RFC 7641 2).
func (r *relay) numberOuterObserve(n *node, m *message.Message) {
	if !m.Options.HasOption(optObserve) {
		return
	}
	v := r.seq.Add(1) & 0xffffff
	m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optObserve, v)
	n.decision(r.in.at, trace.RuleResponse, "", "RFC 7641 3.4; RFC 8613 4.1.3.5.2",
		fmt.Sprintf("Relayed Observe response: outer Observe %d, numbered by %s for its own leg", v, n.id), 0)
}

func (o *observerSet) init() {
	o.server = map[string]*serverObservation{}
	o.client = map[string]*clientObservation{}
}

func (o *observerSet) stopAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, s := range o.server {
		s.end("the node stopped")
		delete(o.server, k)
	}
	o.client = map[string]*clientObservation{}
}

// observe serves an Observe registration or deregistration of /counter
// (RFC 7641 3.1, 3.6). Inside OSCORE the Observe option is both inner and
// outer (RFC 8613 4.1.3.5); every notification is protected with the same
// layers as the registration's response, each with a fresh Partial IV
// (RFC 8613 8.3; draft 2.5.1).
func (n *node) observe(in *incoming, res builtin) message.Message {
	if in.cc == nil {
		return res(&n.app, &in.req)
	}
	key := in.cc.RemoteAddr().String() + "/" + hex.EncodeToString(in.req.Token)
	v, _ := in.req.Options.GetUint32(optObserve)
	resp := res(&n.app, &in.req)
	n.observers.mu.Lock()
	defer n.observers.mu.Unlock()
	if old, ok := n.observers.server[key]; ok {
		if v != 0 {
			old.end("deregistered by the observer (RFC 7641 3.6)")
		} else {
			old.end("replaced by a new registration with the same token (RFC 7641 4.1)")
		}
		delete(n.observers.server, key)
	}
	if v != 0 || resp.Code != codes.Content {
		return resp // deregistration: an ordinary response (RFC 7641 3.6)
	}
	obs := &serverObservation{stop: make(chan struct{}), peer: in.cc.RemoteAddr().String()}
	n.observers.server[key] = obs
	seq := uint32(1)
	resp.Options, _, _ = resp.Options.SetUint32(make([]byte, 4), optObserve, seq)
	// The observation counts on from the value its registration saw, so
	// another observer's notifications skip none of its values.
	base, _ := strconv.ParseUint(string(resp.Payload), 10, 64)
	cc, tok, ctx := in.cc, append([]byte(nil), in.req.Token...), n.ctx
	go func() {
		why := n.notifyUntilEnd(ctx, in, obs, cc, tok, seq, base)
		n.observers.mu.Lock()
		if n.observers.server[key] == obs {
			delete(n.observers.server, key)
		}
		n.observers.mu.Unlock()
		by := in.from
		if by == "" {
			by = obs.peer
		}
		n.decision(in.at, trace.RuleResponse, "", "RFC 7641 3.6, 4.5",
			fmt.Sprintf("Observation of /counter by %s ended after %d notifications: %s", by, obs.notified(&n.observers), why), 0)
	}()
	return resp
}

// notifyUntilEnd sends an observation's notifications until something
// ends it, and says what did. The k-th notification carries base+k; the
// server's own counter (a plain GET) counts every notification it sent.
func (n *node) notifyUntilEnd(ctx context.Context, in *incoming, obs *serverObservation, cc *udpClient.Conn, tok []byte, seq uint32, base uint64) string {
	t := time.NewTicker(notifyEvery)
	defer t.Stop()
	deadline := time.NewTimer(maxObservation)
	defer deadline.Stop()
	for {
		select {
		case <-obs.stop:
			return obs.why
		case <-ctx.Done():
			return "the node stopped"
		case <-cc.Done():
			return "the server forgot the observer's endpoint (idle)"
		case <-deadline.C:
			return fmt.Sprintf("the lab's maximum of %v per observation", maxObservation)
		case <-t.C:
		}
		seq++
		n.app.counter.Add(1)
		val := base + uint64(seq-1)
		m := message.Message{Code: codes.Content, Payload: []byte(strconv.FormatUint(val, 10))}
		m.Options, _, _ = m.Options.SetUint32(make([]byte, 4), optObserve, seq)
		protected, err := in.protectResponse(m, ownResponse)
		if err != nil {
			return "protecting a notification failed: " + err.Error()
		}
		typ := message.NonConfirmable
		if (seq-1)%conEvery == 0 {
			typ = message.Confirmable
		}
		mid := uint16(cc.GetMessageID())
		n.observers.mu.Lock()
		obs.mids[obs.sent%len(obs.mids)] = mid
		obs.sent++
		n.observers.mu.Unlock()
		if err := n.notify(ctx, cc, tok, protected, typ, mid); err != nil {
			select {
			case <-obs.stop: // a Reset answered the Confirmable one
				return obs.why
			default:
			}
			if typ == message.Confirmable {
				return "a Confirmable notification was not acknowledged (RFC 7641 4.5)"
			}
			return "sending a notification failed: " + err.Error()
		}
	}
}

// notified is how many notifications the observation sent.
func (o *serverObservation) notified(set *observerSet) int {
	set.mu.Lock()
	defer set.mu.Unlock()
	return o.sent
}

// notify sends one notification, NON or CON (RFC 7641 4.5), with Message
// ID mid; for a CON it returns once the observer acknowledged it, or with
// an error once the retransmissions ran out.
func (n *node) notify(ctx context.Context, cc *udpClient.Conn, tok []byte, m message.Message, typ message.Type, mid uint16) error {
	pm := cc.AcquireMessage(ctx)
	defer cc.ReleaseMessage(pm)
	setPooled(pm, typ, mid, tok, &m)
	n.sent.Add(1)
	return cc.WriteMessage(pm)
}

// keepObservation takes the socket of a registration out of the pool: the
// notifications arrive on it.
func (n *node) keepObservation(uri string, tok []byte, pc *pooledConn, p *connPool, at where) {
	n.observers.mu.Lock()
	defer n.observers.mu.Unlock()
	n.observers.client[string(tok)] = &clientObservation{uri: uri, token: append([]byte(nil), tok...), pc: pc, pool: p, at: at}
}

func (n *node) setObservationLayers(tok []byte, layers []clientLayer) {
	n.observers.mu.Lock()
	defer n.observers.mu.Unlock()
	if o, ok := n.observers.client[string(tok)]; ok {
		o.layers = layers
	}
}

// observationFor finds the client's registration of uri.
func (n *node) observationFor(uri string) *clientObservation {
	n.observers.mu.Lock()
	defer n.observers.mu.Unlock()
	for _, o := range n.observers.client {
		if o.uri == uri {
			return o
		}
	}
	return nil
}

func (n *node) endObservation(o *clientObservation) int {
	n.observers.mu.Lock()
	delete(n.observers.client, string(o.token))
	got := o.received
	n.observers.mu.Unlock()
	o.pool.release(o.pc)
	return got
}

// onUnsolicited receives what arrives on a client socket outside a pending
// request: Observe notifications. The client removes the layers in reverse
// order (draft 2.6); a notification that does not verify is dropped
// silently and does not end the observation (RFC 8613 8.4).
func (n *node) onUnsolicited(w *responsewriter.ResponseWriter[*udpClient.Conn], r *pool.Message) {
	m, err := copyMessage(r)
	if err != nil {
		return
	}
	n.observers.mu.Lock()
	o := n.observers.client[string(m.Token)]
	var layers []clientLayer
	var answer chan message.Message
	if o != nil {
		layers, answer = o.layers, o.answer
	}
	n.observers.mu.Unlock()
	if o == nil {
		return
	}
	if answer != nil && !m.Options.HasOption(optObserve) {
		select {
		case answer <- m:
		default:
		}
		return
	}
	n.received.Add(1)
	if o.relay != nil {
		n.relayNotification(o, m)
		return
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if !m.Options.HasOption(optOSCORE) {
			if n.missingLayers(o.at, m.Code, layerNames(layers[:i+1]), len(layers)-1-i, len(layers)) != nil {
				return // dropped; the observation goes on (RFC 8613 8.4)
			}
			break
		}
		plain, rep, err := oscore.UnprotectResponse(layers[i].b, m)
		if err != nil {
			n.decision(o.at, trace.RuleResponse, "", "RFC 8613 8.4", fmt.Sprintf("Notification does not verify with %s: %v: dropped", layers[i].name, err), 0)
			return
		}
		n.layer(o.at, i+1, trace.LayerRemoved, trace.DirResponse, rep)
		m = plain
	}
	n.observers.mu.Lock()
	o.received++
	n.observers.mu.Unlock()
	n.delivery(o.at, trace.DirResponse, o.uri, "notification", m.Code, m.Payload)
}

// relayNotification passes a notification from upstream on to the client
// that registered through this proxy, swapping the proxy's layers.
func (n *node) relayNotification(o *clientObservation, m message.Message) {
	r := o.relay
	if r.own != nil && !m.Options.HasOption(optOSCORE) {
		n.decision(o.at, trace.RuleResponse, "", "RFC 8613 8.4; draft 2.6", fmt.Sprintf("Notification %s lacks layer %s that %s added: dropped, not relayed", codeText(m.Code), r.own.Ctx.Name(), n.id), 0)
		return
	}
	if r.own != nil {
		plain, rep, err := oscore.UnprotectResponse(r.own, m)
		if err != nil {
			n.decision(o.at, trace.RuleResponse, "", "2.6", fmt.Sprintf("Notification does not verify with %s: %v: dropped", r.own.Ctx.Name(), err), 0)
			return
		}
		n.layer(o.at, 0, trace.LayerRemoved, trace.DirResponse, rep)
		m = plain
	}
	m = message.Message{Code: m.Code, Options: m.Options, Payload: m.Payload}
	r.numberOuterObserve(n, &m)
	protected, err := r.in.protectResponse(m, relayedResponse)
	if err != nil {
		return
	}
	n.observers.mu.Lock()
	o.received++
	n.observers.mu.Unlock()
	n.notify(n.ctx, r.cc, r.token, protected, message.NonConfirmable, uint16(r.cc.GetMessageID()))
}

// keepRelay records a forwarded registration on its upstream socket.
func (n *node) keepRelay(tok []byte, pc *pooledConn, p *connPool, at where, r *relay) {
	n.observers.mu.Lock()
	defer n.observers.mu.Unlock()
	n.observers.client[string(tok)] = &clientObservation{relay: r, token: append([]byte(nil), tok...), pc: pc, pool: p, at: at}
}

// relayFor finds the forwarded observation a downstream deregistration
// names (same peer and token, RFC 7641 3.6).
func (n *node) relayFor(downKey string) *clientObservation {
	n.observers.mu.Lock()
	defer n.observers.mu.Unlock()
	for _, o := range n.observers.client {
		if o.relay != nil && o.relay.downKey == downKey {
			return o
		}
	}
	return nil
}

// requestOnObservation sends a request that carries an observation's token
// on the observation's socket (the deregistration, RFC 7641 3.6) and waits
// for its answer through onUnsolicited. Notifications the server sent
// before it saw the request cross it with the same token; a wait keyed by
// the token alone (go-coap's Do) would take the first of them for the
// answer and drop the answer. The answer to a deregistration carries no
// Observe option (RFC 7641 3.6); a response that carries one is a
// notification and is delivered or relayed as such.
func (n *node) requestOnObservation(ctx context.Context, pc *pooledConn, req *pool.Message, o *clientObservation) (message.Message, error) {
	answer := make(chan message.Message, 1)
	n.observers.mu.Lock()
	o.answer = answer
	n.observers.mu.Unlock()
	defer func() {
		n.observers.mu.Lock()
		o.answer = nil
		n.observers.mu.Unlock()
	}()
	if err := pc.cc.WriteMessage(req); err != nil {
		return message.Message{}, err
	}
	select {
	case m := <-answer:
		return m, nil
	case <-ctx.Done():
		return message.Message{}, ctx.Err()
	}
}
