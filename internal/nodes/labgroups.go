package nodes

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore/group"
)

// defaultGroupWait is how long a group step collects responses when the
// step sets no expect.timeout; it ends earlier once every member has
// answered.
const defaultGroupWait = 2 * time.Second

// labGroup is one running CoAP group: the link that stands in for its
// multicast address and a GroupServer per member.
type labGroup struct {
	cfg     scenario.Group
	ctx     map[string]*group.Context // the group context's instance per member node; nil: plain CoAP
	link    *GroupLink
	servers []*GroupServer
	kids    map[string]string // hex Sender ID -> node id, over the whole group context
}

func (g *labGroup) close() {
	g.link.Close()
	g.closeServers()
}

// MemberResult is one datagram a group step's client received: a member's
// verified response, or one it refused.
type MemberResult struct {
	Member  string `json:"member"` // "" when the source is no member's
	From    string `json:"from"`   // source address
	Code    string `json:"code,omitempty"`
	Payload string `json:"payload,omitempty"`
	Refused string `json:"refused,omitempty"` // why the client refused it
	// ReplyFrom is the Reply-From option of a response relayed by a proxy
	// (draft-ietf-core-groupcomm-proxy 3), decoded.
	ReplyFrom string `json:"reply_from,omitempty"`
}

// startGroups builds the group contexts (one instance per member node,
// RFC 10021 2) and starts the groups of t: an unchanged group keeps its
// link, members and contexts (sequence numbers, replay windows); a changed
// context carries each member's Sender Sequence Number over, so an edit
// cannot make a member reuse a nonce under the same keys (RFC 10021
// 2.6.2). Group link faults come from links whose end a is the group.
func (l *Lab) startGroups(old, t *topology) error {
	s := t.sc
	t.groupCtx = map[string]map[string]*group.Context{}
	for i := range s.GroupContexts {
		gc := &s.GroupContexts[i]
		if prev := old.sc.GroupContextNamed(gc.Name); prev != nil && reflect.DeepEqual(*prev, *gc) && old.groupCtx[gc.Name] != nil {
			t.groupCtx[gc.Name] = old.groupCtx[gc.Name]
			continue
		}
		byNode := map[string]*group.Context{}
		for _, m := range gc.Members {
			c, err := gc.NewMemberContext(m.Node)
			if err != nil {
				return fmt.Errorf("nodes: group context %s: %v", gc.Name, err)
			}
			if oc := old.groupCtx[gc.Name][m.Node]; oc != nil && string(oc.GroupID()) == string(c.GroupID()) {
				c.SetSenderSeq(oc.SenderSeq()) // forward only; a higher pin stays
			}
			byNode[m.Node] = c
		}
		t.groupCtx[gc.Name] = byNode
	}
	t.groups = map[string]*labGroup{}
	for i := range s.Groups {
		cfg := s.Groups[i]
		if og := old.groups[cfg.ID]; og != nil && reflect.DeepEqual(og.cfg, cfg) && sameContexts(og.ctx, t.groupCtx[cfg.Context]) {
			t.groups[cfg.ID] = og
			continue
		}
		g, err := l.startGroup(t, cfg)
		if err != nil {
			return err
		}
		t.groups[cfg.ID] = g
	}
	for id, og := range old.groups {
		if t.groups[id] != og {
			og.close()
		}
	}
	for _, g := range t.groups {
		for _, m := range g.cfg.Members {
			g.link.SetFaults(m.Node, nil)
		}
	}
	for _, sl := range s.Links {
		if g := t.groups[sl.A]; g != nil {
			if err := g.link.SetFaults(sl.B, sl.Faults); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameContexts(a, b map[string]*group.Context) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// startGroup starts one group's members and its link.
func (l *Lab) startGroup(t *topology, cfg scenario.Group) (*labGroup, error) {
	g := &labGroup{cfg: cfg, ctx: t.groupCtx[cfg.Context], kids: map[string]string{}}
	if gc := t.sc.GroupContextNamed(cfg.Context); gc != nil {
		for _, m := range gc.Members {
			g.kids[strings.ToLower(m.SenderID)] = m.Node
		}
	}
	var members []GroupMember
	for _, m := range cfg.Members {
		leisure, _ := time.ParseDuration(m.Leisure)
		var ctx *group.Context
		if g.ctx != nil {
			ctx = g.ctx[m.Node]
		}
		if m.Impersonate != "" {
			var err error
			if ctx, err = t.sc.GroupContextNamed(cfg.Context).NewImpostorContext(m.Node, m.Impersonate); err != nil {
				g.closeServers()
				return nil, fmt.Errorf("nodes: group %s: %v", cfg.ID, err)
			}
		}
		srv, err := startGroupServer(l.bus, m.Node, ctx, GroupServerOptions{App: l.memberApp(m.Node), Leisure: leisure, Tag: l.groupExchange})
		if err != nil {
			g.closeServers()
			return nil, err
		}
		g.servers = append(g.servers, srv)
		members = append(members, srv.Member())
	}
	link, err := NewGroupLinkAt(l.bus, cfg.ID, "", members, cfg.Listen)
	if err != nil {
		g.closeServers()
		return nil, err
	}
	link.Tag = l.groupExchange
	g.link = link
	return g, nil
}

func (g *labGroup) closeServers() {
	for _, s := range g.servers {
		s.Close()
	}
}

// memberApp serves a group request at member node as the node serves a
// unicast one: its resources list and built-ins (resources.go), looked up
// in the current topology at each request.
func (l *Lab) memberApp(node string) func(req *message.Message) message.Message {
	return func(req *message.Message) message.Message {
		n := l.topo.Load().nodes[node]
		if n == nil {
			return message.Message{Code: codes.ServiceUnavailable}
		}
		res, _, ok := resourceFor(n.cfg(), pathOf(*req))
		if !ok {
			return message.Message{Code: codes.NotFound}
		}
		return res(&n.app, req)
	}
}

// groupExchange names the exchange of a group datagram by its token.
func (l *Lab) groupExchange(b []byte) int {
	if len(b) < 4 || len(b) < 4+int(b[0]&0x0f) {
		return 0
	}
	v, ok := l.groupTokens.Load(string(b[4 : 4+int(b[0]&0x0f)]))
	if !ok {
		return 0
	}
	return v.(int)
}

// sendGroup runs a step sent to a group (RFC 7252 8.2): one NON request
// to the group's address, protected with the group context in group or
// pairwise mode (RFC 10021 7.1, 8.3) or plain, and every response
// collected until each member has answered or the wait is over.
func (l *Lab) sendGroup(ctx context.Context, st scenario.Step) (Result, error) {
	start := time.Now()
	res := Result{Step: firstNonEmpty(st.Name, st.Method+" "+st.URI)}
	t := l.topo.Load()
	g := t.groups[st.To]
	if g == nil || t.nodes[st.From] == nil {
		res.Problem = fmt.Sprintf("nodes: no group %q or client %q in the lab", st.To, st.From)
		return res, errors.New(res.Problem)
	}
	m, err := groupRequestMessage(st)
	if err != nil {
		res.Problem = err.Error()
		return res, err
	}
	if st.Token != "" {
		b, _ := hex.DecodeString(st.Token)
		m.Token = nonNil(b)
	} else {
		m.Token = l.ids.token()
	}
	if st.MID != nil {
		m.MessageID = int32(*st.MID)
	} else {
		m.MessageID = int32(l.ids.mid())
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		res.Problem = err.Error()
		return res, err
	}
	defer conn.Close()
	g.link.NameSender(conn.LocalAddr().(*net.UDPAddr), st.From)
	xch := l.exchanges.start(nil, nil)
	res.Exchange = xch.id
	l.groupTokens.Store(string(m.Token), xch.id)
	defer l.groupTokens.Delete(string(m.Token))

	call := GroupCall{Client: st.From, Conn: conn, To: g.link.Addr(), Members: g.kids, Enough: len(g.cfg.Members),
		MemberAt: g.link.MemberAt, Exchange: xch.id, Wait: defaultGroupWait}
	how := "plain CoAP"
	if g.ctx != nil {
		call.Context = g.ctx[st.From]
		call.Mode, how = group.GroupMode, "Group OSCORE group mode (RFC 10021 7), context "+g.cfg.Context
		if st.Mode == scenario.ModePairwise {
			call.Mode, how = group.PairwiseMode, "Group OSCORE pairwise mode for "+st.Member+" (RFC 10021 8.3), context "+g.cfg.Context
			for kid, node := range g.kids {
				if node == st.Member {
					call.For, _ = hex.DecodeString(kid)
				}
			}
		}
	}
	if st.Expect != nil && st.Expect.Timeout != "" {
		call.Wait, _ = time.ParseDuration(st.Expect.Timeout)
	}
	var members []string
	for _, mb := range g.cfg.Members {
		members = append(members, mb.Node)
	}
	l.publish(trace.Event{Type: trace.TypeExchange, Exchange: xch.id, Node: st.From,
		Note: fmt.Sprintf("start: %s %s %s to group %s (members %s), %s; %s", st.From, st.Method, st.URI, st.To, strings.Join(members, ", "), how, trace.MulticastSimulated)})
	out, err := GroupRequest(ctx, l.bus, call, m)
	res.Duration = time.Since(start)
	for _, r := range out.Responses {
		res.Responses = append(res.Responses, MemberResult{Member: r.Member, From: r.From, Code: r.Code, Payload: r.Payload})
	}
	for _, r := range out.Refused {
		res.Responses = append(res.Responses, MemberResult{Member: r.Member, From: r.From, Refused: r.Why})
	}
	res.OK, res.Problem = judgeGroup(st.Expect, members, res.Responses, err)
	end := fmt.Sprintf("end: %d responses, %d refused, in %v", len(out.Responses), len(out.Refused), res.Duration.Round(time.Microsecond))
	if err != nil {
		end = "end: " + err.Error()
	}
	l.publish(trace.Event{Type: trace.TypeExchange, Exchange: xch.id, Node: st.From, Note: end})
	if err != nil {
		return res, err
	}
	return res, nil
}

// groupRequestMessage builds a group step's request: method, Uri-Path and
// Uri-Query of its URI (no Uri-Host: the request goes to the group's
// address, RFC 7252 6.4), the extra options and the payload.
func groupRequestMessage(st scenario.Step) (message.Message, error) {
	code, ok := methodCodes[st.Method]
	if !ok {
		return message.Message{}, fmt.Errorf("nodes: step: unknown method %q", st.Method)
	}
	u, err := url.Parse(st.URI)
	if err != nil {
		return message.Message{}, fmt.Errorf("nodes: step: uri %q: %v", st.URI, err)
	}
	m := message.Message{Code: code, Type: message.NonConfirmable}
	for _, seg := range uriSegments(u) {
		m.Options = insertOption(m.Options, message.Option{ID: message.URIPath, Value: []byte(seg)})
	}
	for _, q := range uriQuery(u) {
		m.Options = insertOption(m.Options, message.Option{ID: message.URIQuery, Value: []byte(q)})
	}
	for _, o := range st.Options {
		v := []byte(o.Text)
		if o.Value != "" {
			v, _ = hex.DecodeString(o.Value)
		}
		m.Options = insertOption(m.Options, message.Option{ID: message.OptionID(o.Number), Value: v})
	}
	if st.Payload != "" {
		m.Payload = []byte(st.Payload)
	}
	return m, nil
}

// judgeGroup compares what a group step collected with expect.responses;
// without them every member must answer. Any refused response fails the
// step unless a refusal from its member is expected. Problems are joined
// with "; ".
func judgeGroup(e *scenario.Expect, members []string, got []MemberResult, err error) (bool, string) {
	if err != nil {
		return false, err.Error()
	}
	var want []scenario.MemberResponse
	if e != nil {
		want = e.Responses
	}
	if len(want) == 0 {
		for _, m := range members {
			want = append(want, scenario.MemberResponse{From: m})
		}
	}
	var problems []string
	refusedOK := map[string]bool{}
	for _, w := range want {
		var answer, refused *MemberResult
		for i := range got {
			if got[i].Member != w.From {
				continue
			}
			if got[i].Refused != "" {
				refused = firstOf(refused, &got[i])
			} else {
				answer = firstOf(answer, &got[i])
			}
		}
		switch {
		case w.NoResponse:
			if answer != nil {
				problems = append(problems, fmt.Sprintf("expected no response from %s, got %s %q", w.From, answer.Code, answer.Payload))
			}
		case w.Refused:
			refusedOK[w.From] = true
			switch {
			case refused != nil:
			case answer != nil:
				problems = append(problems, fmt.Sprintf("expected %s's response refused, got %s %q", w.From, answer.Code, answer.Payload))
			default:
				problems = append(problems, fmt.Sprintf("expected %s's response refused, got none", w.From))
			}
		case answer == nil:
			problems = append(problems, fmt.Sprintf("expected a response from %s, got none", w.From))
		case w.Code != "" && w.Code != answer.Code:
			problems = append(problems, fmt.Sprintf("%s: expected code %s, got %s %q", w.From, w.Code, answer.Code, answer.Payload))
		case w.Payload != nil && *w.Payload != answer.Payload:
			problems = append(problems, fmt.Sprintf("%s: expected payload %q, got %q", w.From, *w.Payload, answer.Payload))
		}
	}
	for _, r := range got {
		if r.Refused != "" && !refusedOK[r.Member] {
			problems = append(problems, fmt.Sprintf("refused a response from %s: %s", firstNonEmpty(r.Member, "no member"), r.Refused))
		}
	}
	return len(problems) == 0, strings.Join(problems, "; ")
}

func firstOf(a, b *MemberResult) *MemberResult {
	if a != nil {
		return a
	}
	return b
}
