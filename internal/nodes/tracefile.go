package nodes

import (
	"oscore-lab/internal/trace"
)

// Trace assembles the run as a version 1 trace file (docs/trace-format.md):
// the scenario, the nodes with their real addresses, every context with its
// parameters (WriteJSON redacts the secrets) and the bus's recent events.
func (l *Lab) Trace() *trace.Trace {
	t := l.topo.Load()
	sc := t.sc
	info := trace.ScenarioInfo{Name: sc.Name, Title: sc.Title, Section: sc.Section, Explanation: sc.Explanation}
	var ns []trace.NodeInfo
	for _, n := range l.Nodes() {
		ns = append(ns, trace.NodeInfo{ID: n.ID, Role: n.Role, Addr: n.Addr})
	}
	var cs []trace.ContextInfo
	for _, name := range t.ctxOrder {
		p := t.contexts[name]
		a, b := p.a.Params(), p.b.Params()
		cs = append(cs, trace.NewContextInfo(name, a,
			trace.Endpoint{Node: p.cfg.A.Node, SenderID: a.SenderID, RecipientID: a.RecipientID},
			trace.Endpoint{Node: p.cfg.B.Node, SenderID: b.SenderID, RecipientID: b.RecipientID}))
	}
	tr := trace.NewTrace(info, ns, cs, l.bus.Recent())
	for _, g := range sc.Groups {
		lg := t.groups[g.ID]
		if lg == nil {
			continue
		}
		gi := trace.GroupInfo{ID: g.ID, Addr: lg.link.Addr().String(), Context: g.Context, Multicast: trace.MulticastSimulated}
		for _, m := range g.Members {
			gi.Members = append(gi.Members, m.Node)
		}
		tr.Groups = append(tr.Groups, gi)
	}
	return tr
}
