package nodes

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// where places an event: exchange and hop.
type where struct {
	ex, hop int
}

func (n *node) decision(at where, rule, step, section, outcome string, code codes.Code) {
	d := &trace.Decision{Rule: rule, Step: step, Section: section, Outcome: outcome}
	if code != 0 {
		d.Code = codeText(code)
	}
	n.lab.publish(trace.Event{Type: trace.TypeDecision, Exchange: at.ex, Hop: at.hop, Node: n.id, Decision: d})
}

func (n *node) layer(at where, layer int, action, dir string, rep *oscore.Report) {
	n.lab.publish(trace.Event{Type: trace.TypeLayer, Exchange: at.ex, Hop: at.hop, Layer: layer, Node: n.id,
		Dir: dir, Layer_: &trace.LayerEvent{Action: action, Report: rep, State: n.sideState(rep)}})
}

// sideState reads the node's side of the report's context right after the
// action, for a replay to show the sequence number and replay window as
// they were then (docs/trace-format.md). Nil when the node holds no such
// context (a failed lookup). A concurrent action on the same context may
// already be counted.
func (n *node) sideState(rep *oscore.Report) *trace.SideState {
	if rep == nil || rep.Context == "" {
		return nil
	}
	t := n.lab.topo.Load()
	if g := t.groupCtx[rep.Context][n.id]; g != nil {
		return groupSideState(g)
	}
	c, _, err := t.contextFor(rep.Context, n.id)
	if err != nil {
		return nil
	}
	r := c.Replay()
	seen := r.Seen
	if len(seen) > trace.MaxSideSeen {
		seen = seen[:trace.MaxSideSeen]
	}
	return &trace.SideState{SenderSeq: c.SenderSeq(), Window: r.Window, Highest: r.Highest, Seen: seen}
}

func (n *node) errorEvent(at where, code codes.Code, diag, reason, section string, protectedBy []string) {
	n.errs.Add(1)
	n.lab.publish(trace.Event{Type: trace.TypeError, Exchange: at.ex, Hop: at.hop, Node: n.id,
		Error: &trace.ErrorEvent{Code: codeText(code), Diagnostic: diag, Reason: reason, ProtectedBy: protectedBy, Section: section}})
}

func (n *node) delivery(at where, dir, resource, method string, code codes.Code, payload []byte) {
	d := &trace.Delivery{Resource: resource, Method: method, Payload: printable(payload)}
	if code != 0 {
		d.Code = codeText(code)
	}
	n.lab.publish(trace.Event{Type: trace.TypeDelivery, Exchange: at.ex, Hop: at.hop, Node: n.id, Dir: dir, Delivery: d})
}

func (l *Lab) notice(at where, node, note string) {
	l.publish(trace.Event{Type: trace.TypeNotice, Exchange: at.ex, Hop: at.hop, Node: node, Note: note})
}

// codeText is a CoAP code in dotted form, "2.05".
func codeText(c codes.Code) string {
	return fmt.Sprintf("%d.%02d", uint8(c)>>5, uint8(c)&0x1f)
}

// printable renders a payload as text when it is UTF-8 without controls,
// else as hex with a prefix.
func printable(b []byte) string {
	for _, r := range string(b) {
		if r == 0xfffd || (r < 0x20 && r != '\n' && r != '\t' && r != '\r') {
			return "hex:" + oscore.Hex(b).String()
		}
	}
	return string(b)
}
