package trace

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMermaid renders a trace as a Mermaid sequenceDiagram (GitHub renders
// it inline): participants in node order, one arrow per datagram labelled
// with its type, code, OSCORE option and layer stack (`{CTX_C_P {CTX_C_S}}`,
// outermost first), requests solid and responses dashed, and a note for
// each decision, error, delivery and fault.
func WriteMermaid(w io.Writer, t *Trace) error {
	v := newView(t)
	t = v.t // never nil
	bw := bufio.NewWriter(w)
	roles := map[string]string{}
	for _, n := range t.Nodes {
		roles[n.ID] = n.Role
	}
	ids, taken := map[string]string{}, map[string]bool{}
	fmt.Fprintln(bw, "sequenceDiagram")
	for i, n := range v.nodes {
		id := mermaidID(n, i)
		if taken[id] {
			id = fmt.Sprintf("%s_%d", id, i)
		}
		ids[n], taken[id] = id, true
		label := n
		if r := roles[n]; r != "" {
			label += " (" + r + ")"
		}
		fmt.Fprintf(bw, "    participant %s as %s\n", id, mermaidText(label))
	}
	span := ""
	if len(v.nodes) > 0 {
		span = ids[v.nodes[0]]
		if len(v.nodes) > 1 {
			span += "," + ids[v.nodes[len(v.nodes)-1]]
		}
	}
	note := func(over, text string) {
		if over != "" {
			fmt.Fprintf(bw, "    Note over %s: %s\n", over, mermaidText(text))
		}
	}
	for i, e := range t.Events {
		if v.under[i] && e.Type != TypeDatagram {
			continue
		}
		switch e.Type {
		case TypeDatagram:
			arrow := "->>"
			if e.Dir != DirRequest {
				arrow = "-->>"
			}
			fmt.Fprintf(bw, "    %s%s%s: %s\n", ids[e.From], arrow, ids[e.To], mermaidText(v.dgrams[i].label()))
			for _, j := range v.attached[i] {
				a := t.Events[j]
				if a.Type == TypeLayer {
					continue // the arrow label shows the stack
				}
				note(ids[a.Node], eventDetail(a))
			}
		case TypeExchange, TypeNotice:
			note(span, eventLine(e))
		case TypeFault:
			over := ids[e.From]
			if e.To != "" && ids[e.To] != "" {
				over += "," + ids[e.To]
			}
			if over == "" {
				over = span
			}
			note(over, eventLine(e))
		default:
			if ids[e.Node] != "" {
				note(ids[e.Node], eventDetail(e))
			} else {
				note(span, eventLine(e))
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: writing Mermaid: %w", err)
	}
	return nil
}

// label is the short arrow label: "CON POST OSCORE [kid:20, piv:1f] {CTX_C_P {CTX_C_S}}".
func (d *dgramView) label() string {
	if d.err != nil {
		return "malformed CoAP"
	}
	s := d.msg.TypeName() + " " + CodeName(d.msg.Code)
	if o, ok := d.msg.Option(optOSCORE); ok {
		s += " " + OptionText(o)
	}
	if len(d.stack) > 0 {
		s += " " + stackBraces(stackNames(d.stack))
	}
	return s
}

// stackBraces is "{CTX_C_P {CTX_C_S}}" for names outermost first.
func stackBraces(names []string) string {
	return "{" + strings.Join(names, " {") + strings.Repeat("}", len(names))
}

// mermaidID makes a participant id of letters, digits and underscores.
func mermaidID(node string, i int) string {
	var b strings.Builder
	for _, r := range node {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || node[0] >= '0' && node[0] <= '9' || mermaidKeywords[strings.ToLower(b.String())] {
		return fmt.Sprintf("n%d_%s", i, b.String())
	}
	return b.String()
}

// mermaidKeywords are the words of Mermaid's sequence-diagram grammar that
// it refuses as a participant id, in any case (checked against Mermaid
// 11.17 by web/hostiletrace_test.go): a node named "end" would break the
// diagram. "as", "left", "right" and "of" are taken as ids.
var mermaidKeywords = map[string]bool{
	"sequencediagram": true, "participant": true, "actor": true, "create": true, "destroy": true,
	"box": true, "end": true, "loop": true, "rect": true, "opt": true, "alt": true, "else": true,
	"par": true, "par_over": true, "and": true, "critical": true, "option": true, "break": true,
	"over": true, "note": true, "links": true, "link": true, "properties": true, "details": true,
	"activate": true, "deactivate": true, "title": true, "acctitle": true, "accdescr": true,
	"autonumber": true, "off": true,
}

// mermaidText keeps a label on one line and away from Mermaid's syntax:
// ';' ends a statement, '#' starts an entity code.
var mermaidReplacer = strings.NewReplacer("\n", " ", "\r", " ", ";", ",", "#", "no. ")

func mermaidText(s string) string { return mermaidReplacer.Replace(s) }
