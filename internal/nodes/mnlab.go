package nodes

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"oscore-lab/internal/scenario"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// errNoMulticast is RunMulticast's answer when the scenario has no group
// observation.
var errNoMulticast = errors.New("nodes: the scenario has no multicast_notifications")

// RunMulticast runs the current scenario's group observation (its
// multicast_notifications) once more, as RunSteps does after the steps.
func (l *Lab) RunMulticast(ctx context.Context) ([]Result, error) {
	sc := l.topo.Load().sc
	if sc == nil || sc.MulticastNotifications == nil {
		return nil, errNoMulticast
	}
	return l.runMulticast(ctx, sc), nil
}

// runMulticast runs the scenario's group observation after its steps
// (scenario.MulticastNotifications) and checks what each client accepted:
// one Result per client, and one for the observer counters.
func (l *Lab) runMulticast(ctx context.Context, sc *scenario.Scenario) []Result {
	mn := sc.MulticastNotifications
	spec, err := mnSpecOf(sc)
	if err != nil {
		return []Result{{Step: "multicast notifications", Problem: err.Error()}}
	}
	spec.NewExchange = func() int { return l.exchanges.start(nil, nil).id }
	res, err := RunMN(ctx, l.bus, spec)
	if err != nil {
		return []Result{{Step: "multicast notifications", Problem: err.Error()}}
	}
	var out []Result
	for _, c := range mn.Clients {
		r := Result{Step: "multicast notifications: " + c.Node, OK: true}
		var problems []string
		o := res.Clients[c.Node]
		if err := res.Errors[c.Node]; err != nil {
			r.Problem = err.Error()
			if c.ExpectError == "" || !strings.Contains(err.Error(), c.ExpectError) {
				problems = append(problems, "registration failed: "+err.Error())
			}
		} else if c.ExpectError != "" {
			problems = append(problems, "registration succeeded, want "+c.ExpectError)
		}
		if o != nil {
			got := make([]string, len(o.Values))
			for i, v := range o.Values {
				got[i] = fmt.Sprintf("Token %x Observe %d %q", v.Token, v.Observe, v.Payload)
			}
			want := make([]string, len(c.Expect))
			for i, e := range c.Expect {
				want[i] = fmt.Sprintf("Token %s Observe %d %q", strings.ToLower(e.Token), e.Observe, e.Payload)
			}
			if strings.Join(got, "; ") != strings.Join(want, "; ") {
				problems = append(problems, fmt.Sprintf("accepted [%s], want [%s]", strings.Join(got, "; "), strings.Join(want, "; ")))
			}
			if len(o.Refused) != c.ExpectRefused {
				problems = append(problems, fmt.Sprintf("refused %d datagrams %v, want %d", len(o.Refused), o.Refused, c.ExpectRefused))
			}
			if mn.Cancel && !o.Cancelled {
				problems = append(problems, "did not see the server's cancellation")
			}
			if n := len(o.Values); n > 0 {
				r.Code, r.Payload, r.Notifications = "2.05", o.Values[n-1].Payload, n-1
			}
		}
		if len(problems) > 0 {
			r.OK, r.Problem = false, strings.Join(problems, "; ")
		}
		out = append(out, r)
	}
	r := Result{Step: "multicast notifications: observer counters", OK: true}
	if w := mn.ServerObservers; w != nil && *w != res.ServerObservers {
		r.OK, r.Problem = false, fmt.Sprintf("the server counts %d observers, want %d", res.ServerObservers, *w)
	}
	if w := mn.ProxyObservers; w != nil && *w != res.ProxyObservers {
		r.OK, r.Problem = false, strings.TrimPrefix(r.Problem+fmt.Sprintf("; the proxy relays to %d clients, want %d", res.ProxyObservers, *w), "; ")
	}
	if mn.Proxy != "" && res.Relayed > 0 && !res.Identical {
		r.OK, r.Problem = false, strings.TrimPrefix(r.Problem+"; the proxy's copies differ beyond Token, Message ID and Observe", "; ")
	}
	return append(out, r)
}

// mnSpecOf turns the scenario's block into a run, with the scenario's
// contexts.
func mnSpecOf(sc *scenario.Scenario) (MNSpec, error) {
	mn := sc.MulticastNotifications
	tok, _ := hex.DecodeString(mn.PhantomToken)
	up, _ := hex.DecodeString(mn.ProxyToken)
	spec := MNSpec{Proxy: mn.Proxy != "", GroupOSCORE: mn.GroupContext != "", Resource: mn.Resource, Initial: mn.Initial,
		InitialObserve: uint32(mn.InitialObserve), PhantomToken: tok, ObserveOffset: uint32(mn.ProxyObserveOffset),
		URIHost: mn.URIHost, Attack: mn.Attack, Cancel: mn.Cancel, ServerID: mn.Server, ProxyID: mn.Proxy, GroupID: mn.Group,
		Keys: &MNKeys{CS: map[string][2]*oscore.Context{}, CP: map[string][2]*oscore.Context{}, Groups: map[string]*group.Context{}}}
	if len(up) == 1 {
		spec.UpToken = up[0]
	}
	for _, n := range mn.Notifications {
		spec.Notifications = append(spec.Notifications, MNNotify{Value: n.Payload, Observe: uint32(n.Observe)})
	}
	contexts := map[string]scenario.Context{}
	for _, c := range sc.Contexts {
		contexts[c.Name] = c
	}
	pair := func(name, client, other string) ([2]*oscore.Context, error) {
		c, ok := contexts[name]
		if !ok {
			return [2]*oscore.Context{}, fmt.Errorf("nodes: no context %q", name)
		}
		p, err := newContextPair(c, c.Seq)
		if err != nil {
			return [2]*oscore.Context{}, err
		}
		cli, _ := p.side(client)
		oth, _ := p.side(other)
		return [2]*oscore.Context{cli, oth}, nil
	}
	var gc *scenario.GroupContext
	for i := range sc.GroupContexts {
		if sc.GroupContexts[i].Name == mn.GroupContext {
			gc = &sc.GroupContexts[i]
		}
	}
	member := func(node string) error {
		if gc == nil {
			return nil
		}
		c, err := gc.NewMemberContext(node)
		if err != nil {
			return fmt.Errorf("nodes: group context %s: %w", gc.Name, err)
		}
		spec.Keys.Groups[node] = c
		return nil
	}
	if err := member(mn.Server); err != nil {
		return spec, err
	}
	for _, c := range mn.Clients {
		t, _ := hex.DecodeString(c.Token)
		tk, _ := hex.DecodeString(c.Ticket)
		spec.Clients = append(spec.Clients, MNClientSpec{ID: c.Node, Token: t, Ticket: tk, NoCP: mn.Proxy != "" && c.CPContext == "" && hasCP(mn)})
		if err := member(c.Node); err != nil {
			return spec, err
		}
		if c.Context != "" {
			p, err := pair(c.Context, c.Node, mn.Server)
			if err != nil {
				return spec, err
			}
			spec.Keys.CS[c.Node] = p
		}
		if c.CPContext != "" {
			p, err := pair(c.CPContext, c.Node, mn.Proxy)
			if err != nil {
				return spec, err
			}
			spec.Keys.CP[c.Node] = p
		}
	}
	return spec, nil
}

// hasCP reports whether any client shares a context with the proxy: the
// proxy then takes ticket requests only under one.
func hasCP(mn *scenario.MulticastNotifications) bool {
	for _, c := range mn.Clients {
		if c.CPContext != "" {
			return true
		}
	}
	return false
}
