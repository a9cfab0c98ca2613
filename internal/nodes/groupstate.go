package nodes

import (
	"fmt"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// groupSideState is a member's side of a Group OSCORE context right after a
// layer action (docs/trace-format.md "The side state"): its own Sender
// Sequence Number (RFC 10021 2.2, 3.2) and, per Recipient Context it holds,
// the replay window it keeps for that member (RFC 10021 2.2, 2.6; RFC 8613
// 7.4), contexts made on the fly included (RFC 10021 7.2).
func groupSideState(c *group.Context) *trace.SideState {
	st := &trace.SideState{SenderSeq: c.SenderSeq(), Highest: -1}
	for _, r := range c.Recipients() {
		if len(st.Recipients) == trace.MaxSideRecipients {
			break
		}
		w := r.Replay()
		seen := w.Seen
		if len(seen) > trace.MaxSideSeen {
			seen = seen[:trace.MaxSideSeen]
		}
		st.Recipients = append(st.Recipients, trace.RecipientWindow{KID: fmt.Sprintf("%x", r.ID()), Window: w.Window, Highest: w.Highest, Seen: seen})
	}
	return st
}

// publishGroupLayer publishes a layer event of node whose report is of the
// group context c, with c's side state; a report of another context (a
// plain response where a group one was awaited) carries none.
func publishGroupLayer(bus *trace.Bus, c *group.Context, xid int, node, action string, rep *oscore.Report, note string) {
	bus.Publish(groupLayerEvent(c, xid, node, action, rep, note))
}

// publishGroupLayerDepth is publishGroupLayer for a layer at depth (1 the
// innermost).
func publishGroupLayerDepth(bus *trace.Bus, c *group.Context, xid int, node, action string, depth int, rep *oscore.Report, note string) {
	e := groupLayerEvent(c, xid, node, action, rep, note)
	e.Layer = depth
	bus.Publish(e)
}

// groupLayerEvent is a layer event of a Group OSCORE layer at depth 1: the
// group layer protects end to end between the client and the members, so it
// is always the first layer applied and the last removed (draft 2.1).
func groupLayerEvent(c *group.Context, xid int, node, action string, rep *oscore.Report, note string) trace.Event {
	e := layerEvent(xid, node, action, rep, note)
	e.Layer = 1
	if c != nil && rep != nil && rep.Context == c.Name() {
		e.Layer_.State = groupSideState(c)
	}
	return e
}

// GroupSide is node's side of the group context name as it stands now, in
// the shape a layer event carries; false when node is no member of it.
func (l *Lab) GroupSide(name, node string) (*trace.SideState, bool) {
	c := l.topo.Load().groupCtx[name][node]
	if c == nil {
		return nil, false
	}
	return groupSideState(c), true
}
