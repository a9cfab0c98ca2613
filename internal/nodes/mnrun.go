package nodes

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// MNSpec is one run of a group observation over real loopback UDP: the
// message flows of draft-ietf-core-observe-multicast-notifications 7 and
// 10 (direct) and draft-ietf-core-multicast-notifications-proxy 6 and 7
// (through a proxy), with or without Group OSCORE and a C-P OSCORE layer
// (draft-ietf-core-oscore-capable-proxies A.2).
type MNSpec struct {
	Proxy       bool // clients reach the server through forward-proxy P
	GroupOSCORE bool // MN 9: unicast under RFC 8613, the phantom and notifications under Group OSCORE
	CP          bool // a C-P OSCORE context per client around the ticket request and its notifications
	Clients     []MNClientSpec
	Resource    string // "r"
	Initial     string // the representation when the observation starts, "1234"
	// InitialObserve is INIT_NOTIF's Observe value; Notifications are
	// sent in order after every client registered.
	InitialObserve uint32
	Notifications  []MNNotify
	PhantomToken   []byte // T, 0x7b
	ServerKID      byte   // the server's Sender ID in the group, 0x05
	ServerSeq      uint64 // its Sender Sequence Number when the observation starts, 501
	ObserveOffset  uint32 // the proxy's Observe offset (54112)
	UpToken        byte   // the proxy's first Token towards the server (0x5e)
	URIHost        string // "sensor.example"
	// Attack, after the notifications: "forge" (a notification with a
	// bad signature sent to the group address), "unbound" (one the server
	// signed for another request), "replay" (a genuine one sent again), or
	// "" for none.
	Attack string
	Cancel bool          // the server cancels the group observation after the notifications (MN 4.5)
	Wait   time.Duration // per exchange; 0 means 2 s
	// ServerID, ProxyID and GroupID name the nodes in traces ("S", "P",
	// "G" when empty).
	ServerID, ProxyID, GroupID string
	// Keys, when set, are the run's contexts (from a scenario); nil: the
	// run derives its own from fixed labels.
	Keys *MNKeys
	// NewExchange, when set, numbers the run's exchanges (a lab whose
	// trace the run joins); nil: they count from 1.
	NewExchange func() int
}

// MNKeys are a run's contexts: per client its RFC 8613 context with the
// server (client side, server side) and with the proxy (client side,
// proxy side), and each member's instance of the group context.
type MNKeys struct {
	CS, CP map[string][2]*oscore.Context
	Groups map[string]*group.Context
}

// MNClientSpec is one client of a run.
type MNClientSpec struct {
	ID     string
	Token  []byte // of its registration
	Ticket []byte // of its ticket request (Group OSCORE through a proxy)
	KID    byte   // its Sender ID with the server (RFC 8613) and in the group
	Seq    uint64 // its Sender Sequence Number with the server
	NoCP   bool   // sends its ticket request without the C-P layer (an error path)
}

// MNNotify is one notification the server sends.
type MNNotify struct {
	Value   string
	Observe uint32
}

// MNResult is what a run observed.
type MNResult struct {
	Clients         map[string]*MNObservation
	Errors          map[string]error // a client whose registration failed
	ServerObservers int              // the server's observer counter after the notifications (before a cancellation)
	ProxyObservers  int
	Relayed         int  // multicast notifications the proxy relayed
	Identical       bool // every relayed copy equal to the received one but Token, MID, Observe
}

// The keys of a run: none is printed in the drafts, so they are the lab's,
// derived from fixed labels (reproducible traces).
func mnSeed(label string) []byte { s := sha256.Sum256([]byte("oscore-lab mn " + label)); return s[:] }

// RunMN builds the run's nodes and links, registers the clients in order,
// sends the notifications and the attack, and collects what each client
// accepted.
func RunMN(ctx context.Context, bus *trace.Bus, spec MNSpec) (*MNResult, error) {
	if spec.Wait == 0 {
		spec.Wait = 2 * time.Second
	}
	sid, pid, gid := cmp.Or(spec.ServerID, "S"), cmp.Or(spec.ProxyID, "P"), cmp.Or(spec.GroupID, "G")
	lab := NewLab(bus)
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	// Each registration, notification, cancellation and attack is one
	// exchange of the trace: the run is sequential, so the current one is
	// where every event goes; tokens on the links are registered with it.
	var cur atomic.Int64
	links := &linkSet{}
	exch := func() int { return int(cur.Load()) }
	next := func() { cur.Store(int64(lab.exchanges.start(nil, nil).id)) }
	if spec.NewExchange != nil {
		next = func() { cur.Store(int64(spec.NewExchange())) }
	}
	tag := func(l *Link, token []byte, hop int) {
		if l != nil && len(token) > 0 {
			lab.reg.registerToken(l.id, token, corr{Exchange: exch(), Hop: hop})
		}
	}
	g, err := NewListenLink(bus, gid, sid)
	if err != nil {
		return nil, err
	}
	g.Tag = func([]byte) int { return exch() }
	closers = append(closers, g.Close)
	joinAs := func(id string) func(grp, listener *net.UDPAddr) error {
		return func(grp, listener *net.UDPAddr) error {
			if !sameAddr(grp, g.Addr()) {
				return fmt.Errorf("nodes: %s is not the group address %s", grp, g.Addr())
			}
			return g.Join(GroupMember{ID: id, Addr: listener})
		}
	}
	keys := spec.Keys
	if keys == nil {
		if keys, err = mnDerivedKeys(spec); err != nil {
			return nil, err
		}
	}
	groups := keys.Groups
	name := func(a *net.UDPAddr) string {
		if ref, ok := lab.peerOf(a); ok {
			return ref.node
		}
		return ""
	}
	scfg := MNServerConfig{ID: sid, Name: name, Exchange: exch, Resource: spec.Resource, Value: spec.Initial, Group: g.Addr(), Token: spec.PhantomToken,
		Observe: spec.InitialObserve, Contexts: map[string]*oscore.Context{}}
	if spec.GroupOSCORE {
		scfg.GroupCtx, scfg.JoinURI, scfg.SecGp = groups[sid], "coap://myGM/ace-group/myGroup", "myGroup"
	}
	for _, pair := range keys.CS {
		scfg.Contexts[hex.EncodeToString(pair[0].SenderID())] = pair[1]
	}
	s, err := StartMNServer(bus, scfg)
	if err != nil {
		return nil, err
	}
	closers = append(closers, s.Close)
	var p *MNProxy
	var ps *Link
	if spec.Proxy {
		pcfg := MNProxyConfig{ID: pid, Name: name, Exchange: exch, Join: joinAs(pid), ObserveOffset: spec.ObserveOffset, UpToken: spec.UpToken,
			Sending: links.sending}
		if len(keys.CP) > 0 {
			pcfg.CP = map[string]*oscore.Context{}
			for _, pair := range keys.CP {
				pcfg.CP[hex.EncodeToString(pair[0].SenderID())] = pair[1]
			}
		}
		// The proxy's socket towards the server exists before the link.
		if p, err = StartMNProxy(bus, pcfg); err != nil {
			return nil, err
		}
		closers = append(closers, p.Close)
		ps, err = newLink(lab, pid, sid, p.UpAddr(), s.Addr(), false, false)
		if err != nil {
			return nil, err
		}
		links.add(ps)
		closers = append(closers, ps.Close)
		ps.admit(pid, p.UpAddr())
		ps.admit(sid, s.Addr())
		p.cfg.Server = ps.addrFor(pid)
	}
	res := &MNResult{Clients: map[string]*MNObservation{}, Errors: map[string]error{}}
	relayTokens := map[*Link][]byte{} // each client's link and the Token notifications reach it with
	for _, c := range spec.Clients {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		closers = append(closers, conn.Close)
		peer, peerID := s.Addr(), sid
		if p != nil {
			peer, peerID = p.Addr(), pid
		}
		l, err := newLink(lab, c.ID, peerID, conn.LocalAddr().(*net.UDPAddr), peer, false, false)
		if err != nil {
			return nil, err
		}
		links.add(l)
		closers = append(closers, l.Close)
		l.admit(c.ID, conn.LocalAddr())
		l.admit(peerID, peer)
		next()
		tag(l, c.Token, 0)
		tag(l, c.Ticket, 0)
		if p != nil {
			tag(ps, []byte{byte(p.upTok.Load())}, 1)
			relayTokens[l] = c.Token
			if len(c.Ticket) > 0 {
				relayTokens[l] = c.Ticket
			}
		}
		ccfg := MNClientConfig{ID: c.ID, Conn: conn, To: l.addrFor(c.ID), Token: c.Token, Exchange: exch, MID: 0x3000 + uint16(len(res.Clients))*0x100,
			Resource: spec.Resource, OSCORE: keys.CS[c.ID][0], Wait: spec.Wait, Sent: new(atomic.Uint64)}
		if spec.GroupOSCORE {
			ccfg.GroupCtx = groups[c.ID]
		}
		switch {
		case p == nil:
			ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				return nil, err
			}
			closers = append(closers, ln.Close)
			ccfg.Listen, ccfg.Join = ln, joinAs(c.ID)
		case spec.GroupOSCORE:
			ccfg.URIHost, ccfg.TicketToken = spec.URIHost, c.Ticket
			if !c.NoCP {
				ccfg.CP = keys.CP[c.ID][0]
			}
		default:
			ccfg.ProxyURI = "coap://" + spec.URIHost + "/" + spec.Resource
		}
		o, err := MNRegister(ctx, bus, ccfg)
		// The client's last datagram (the ACK of a separate informative
		// response) is on its way when MNRegister returns: the next
		// registration starts once the link has recorded it.
		l.waitRecorded(dirAB, ccfg.Sent.Load(), spec.Wait)
		if err != nil {
			res.Errors[c.ID] = err
			continue
		}
		res.Clients[c.ID] = o
	}
	// a notification, cancellation or attack: a new exchange, which the
	// proxy's copies to each client join
	relayed := func() {
		next()
		for l, t := range relayTokens {
			tag(l, t, 1)
		}
	}
	for _, n := range spec.Notifications {
		relayed()
		if err := s.Notify(n.Value, n.Observe); err != nil {
			return res, err
		}
		collect(res, spec.Wait, 1)
	}
	// The counters as the notifications left them, before a cancellation
	// frees the observation.
	res.ServerObservers = s.Observers()
	if p != nil {
		res.ProxyObservers = p.Observers()
	}
	if spec.Cancel {
		relayed()
		if err := s.Cancel(); err != nil {
			return res, err
		}
		collect(res, spec.Wait, 1)
	}
	if spec.Attack != "" {
		relayed()
		if err := mnAttack(spec, g, s, groups[sid]); err != nil {
			return res, err
		}
		collect(res, spec.Wait/2, 1)
	}
	if p != nil {
		res.Relayed, res.Identical = p.Relayed()
	}
	return res, nil
}

// linkSet is the links of a multicast-notification run, for a proxy that
// waits until each datagram it sends is recorded before it sends the next:
// the proxy sends on several links at once (an ACK to a client and a
// request to the server, a notification's copies), and each link records
// as its own goroutine reads, so without the wait the records interleave
// differently from run to run.
type linkSet struct {
	mu    sync.Mutex
	links []*Link
}

// settleMax bounds the wait for one datagram's record (a dropped one has
// none).
const settleMax = 250 * time.Millisecond

func (s *linkSet) add(l *Link) {
	s.mu.Lock()
	s.links = append(s.links, l)
	s.mu.Unlock()
}

// sending is MNProxyConfig.Sending: it returns a wait for the record of
// the datagram sent to "to" on the link that carries it.
func (s *linkSet) sending(to *net.UDPAddr) func() {
	s.mu.Lock()
	links := append([]*Link(nil), s.links...)
	s.mu.Unlock()
	for _, l := range links {
		if d, ok := l.carrying(to); ok {
			n := l.recorded[d].Load()
			return func() { l.waitRecorded(d, n+1, settleMax) }
		}
	}
	return func() {}
}

// collect waits for n more notifications at every client.
func collect(res *MNResult, wait time.Duration, n int) {
	done := make(chan struct{}, len(res.Clients))
	for _, o := range res.Clients {
		go func() { o.Receive(wait, n); done <- struct{}{} }()
	}
	for range res.Clients {
		<-done
	}
}

// mnAttack sends one hostile datagram to the group address from a socket
// of its own, named X in the trace.
func mnAttack(spec MNSpec, g *GroupLink, s *MNServer, srvGroup *group.Context) error {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer conn.Close()
	g.NameSender(conn.LocalAddr().(*net.UDPAddr), "X")
	s.mu.Lock()
	last := s.last
	s.mu.Unlock()
	n := last
	switch spec.Attack {
	case "replay":
	case "forge": // a fresh Partial IV and a flipped payload bit
		raw, err := oscore.FindOSCORE(&last)
		if err != nil {
			return errors.New("nodes: the forge attack needs Group OSCORE")
		}
		ov, err := oscore.ParseOption(raw)
		if err != nil {
			return err
		}
		ov.PartialIV = oscore.EncodePIV(oscore.PIVValue(ov.PartialIV) + 1)
		n.Options = append(message.Options(nil), last.Options...)
		n.Options = replaceOption(n.Options, message.Option{ID: oscore.OptOSCORE, Value: ov.Marshal()})
		n.Payload = append([]byte(nil), last.Payload...)
		n.Payload[len(n.Payload)-1] ^= 0x01
	case "unbound":
		if srvGroup == nil {
			return errors.New("nodes: the unbound attack needs Group OSCORE")
		}
		other := message.Message{Code: codes.GET, Token: spec.PhantomToken}
		other.Options = other.Options.Add(message.Option{ID: message.Observe, Value: []byte{}})
		other.Options = other.Options.Add(message.Option{ID: message.URIPath, Value: []byte("other")})
		ph, _, err := group.ProtectPhantom(srvGroup, other)
		if err != nil {
			return err
		}
		m := message.Message{Code: codes.Content, Token: spec.PhantomToken, Type: message.NonConfirmable, Payload: []byte("9999")}
		m.Options = m.Options.Add(message.Option{ID: message.Observe, Value: []byte{}})
		if n, _, err = ph.ProtectNotification(m); err != nil {
			return err
		}
	default:
		return fmt.Errorf("nodes: unknown attack %q", spec.Attack)
	}
	// The outer Observe value is not protected (RFC 8613 4.1.3.5.2): an
	// attacker makes its datagram look newer, so that only Group OSCORE
	// can tell it apart.
	obs, _ := last.Options.Observe()
	n.Options = replaceOption(n.Options, message.Option{ID: message.Observe, Value: uintBytes(obs + 1)})
	n.MessageID = 0x6666
	b, err := oscore.EncodeMessage(n)
	if err != nil {
		return err
	}
	_, err = conn.WriteToUDP(b, g.Addr())
	return err
}

// mnDerivedKeys derives a run's contexts from fixed labels: RFC 8613
// contexts with the server under Group OSCORE (the client's Sender ID its
// KID, the server's empty), contexts with the proxy under CP (client IDs
// 11, 12, ..., the proxy's 10), and the group "myGroup".
func mnDerivedKeys(spec MNSpec) (*MNKeys, error) {
	k := &MNKeys{CS: map[string][2]*oscore.Context{}, CP: map[string][2]*oscore.Context{}}
	if !spec.GroupOSCORE {
		return k, nil
	}
	var err error
	if k.Groups, err = mnGroupContexts(spec); err != nil {
		return nil, err
	}
	for i, c := range spec.Clients {
		cli, srv, err := mnPairwise("C-S "+c.ID, []byte{c.KID}, []byte{}, c.Seq)
		if err != nil {
			return nil, err
		}
		k.CS[c.ID] = [2]*oscore.Context{cli, srv}
		if spec.CP {
			cli, prx, err := mnPairwise("C-P "+c.ID, []byte{byte(0x11 + i)}, []byte{0x10}, 0)
			if err != nil {
				return nil, err
			}
			k.CP[c.ID] = [2]*oscore.Context{cli, prx}
		}
	}
	return k, nil
}

// mnPairwise derives an RFC 8613 context pair (client side, other side)
// from a label; the client's next sequence number is seq.
func mnPairwise(label string, clientID, otherID []byte, seq uint64) (*oscore.Context, *oscore.Context, error) {
	p := oscore.Params{MasterSecret: mnSeed(label)[:16], MasterSalt: mnSeed(label + " salt")[:8], SenderID: clientID, RecipientID: otherID}
	cli, err := oscore.NewContext(label+" (client)", p)
	if err != nil {
		return nil, nil, err
	}
	if err := cli.SetSenderSeq(seq); err != nil {
		return nil, nil, err
	}
	p.SenderID, p.RecipientID = otherID, clientID
	other, err := oscore.NewContext(label, p)
	return cli, other, err
}

// mnGroupContexts makes the OSCORE group "myGroup" (Gid 57ab2e) of MN 10:
// the server with Sender ID ServerKID at ServerSeq, each client with its
// KID; Ed25519, AES-CCM-16-64-128 in group mode.
func mnGroupContexts(spec MNSpec) (map[string]*group.Context, error) {
	type member struct {
		id   string
		kid  byte
		key  *group.PrivateKey
		cred []byte
	}
	sid := cmp.Or(spec.ServerID, "S")
	ms := []member{{id: sid, kid: spec.ServerKID}}
	for _, c := range spec.Clients {
		ms = append(ms, member{id: c.ID, kid: c.KID})
	}
	for i := range ms {
		k, err := group.NewEd25519Key(mnSeed("group member " + ms[i].id))
		if err != nil {
			return nil, err
		}
		cr, err := group.MakeCCS(ms[i].id, k.Public())
		if err != nil {
			return nil, err
		}
		ms[i].key, ms[i].cred = k, cr
	}
	out := map[string]*group.Context{}
	for _, m := range ms {
		c, err := group.NewContext("myGroup ("+m.id+")", group.Params{
			MasterSecret: mnSeed("myGroup")[:16], MasterSalt: mnSeed("myGroup salt")[:8], GroupID: []byte{0x57, 0xab, 0x2e},
			GroupEnc: oscore.AESCCM16_64_128, Sig: group.EdDSA, GMCred: []byte{0xa0},
			SenderID: []byte{m.kid}, SenderCred: m.cred, SenderKey: m.key,
		})
		if err != nil {
			return nil, err
		}
		for _, o := range ms {
			if o.id != m.id {
				if _, err := c.AddRecipient([]byte{o.kid}, o.cred); err != nil {
					return nil, err
				}
			}
		}
		out[m.id] = c
	}
	if err := out[sid].SetSenderSeq(spec.ServerSeq); err != nil {
		return nil, err
	}
	return out, nil
}
