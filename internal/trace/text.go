package trace

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteText renders a trace the way the draft's figures read: per datagram
// the header ("C -> P  CON POST  MID 0x5d1f  Token 0x8c"), the outer options,
// then the payload with each layer nested in braces
// (`0xff, {CTX_C_P: POST, …, 0xff, {CTX_C_S: GET, Uri-Path "alarm_status"}}`),
// then, marked with "*", what the nodes did because of it.
func WriteText(w io.Writer, t *Trace) error {
	v := newView(t)
	t = v.t // never nil
	bw := bufio.NewWriter(w)
	writeTextHeader(bw, t, v)
	first := true
	for i, e := range t.Events {
		if v.under[i] {
			continue
		}
		if e.Type == TypeExchange && !first {
			fmt.Fprintln(bw)
		}
		first = false
		if e.Type != TypeDatagram {
			writeStandalone(bw, e)
			continue
		}
		fmt.Fprintf(bw, "%s -> %s  %s\n", e.From, e.To, v.dgrams[i].header())
		for _, l := range v.dgrams[i].body() {
			fmt.Fprintf(bw, "    %s\n", l)
		}
		for _, j := range v.attached[i] {
			fmt.Fprintf(bw, "  * %s\n", eventLine(t.Events[j]))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: writing text: %w", err)
	}
	return nil
}

func writeTextHeader(w io.Writer, t *Trace, v *view) {
	s := t.Scenario
	title := s.Name
	if s.Title != "" {
		title += ": " + s.Title
	}
	if s.Section != "" {
		title += " (" + s.Section + ")"
	}
	fmt.Fprintf(w, "# %s\n", title)
	var nodes []string
	for _, n := range t.Nodes {
		nodes = append(nodes, strings.TrimSpace(n.ID+" "+n.Role))
	}
	if len(nodes) == 0 {
		nodes = v.nodes
	}
	fmt.Fprintf(w, "# nodes: %s\n", strings.Join(nodes, ", "))
	for _, c := range t.Contexts {
		var ends []string
		for _, e := range c.Endpoints {
			ends = append(ends, fmt.Sprintf("%s sender %s", e.Node, hexOrEmpty(e.SenderID)))
		}
		fmt.Fprintf(w, "# context %s: %s\n", c.Name, strings.Join(ends, ", "))
	}
	for _, g := range t.Groups {
		sec := "plain CoAP"
		if g.Context != "" {
			sec = "group context " + g.Context
		}
		fmt.Fprintf(w, "# group %s: members %s, %s; %s\n", g.ID, strings.Join(g.Members, ", "), sec, g.Multicast)
	}
	fmt.Fprintln(w)
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 {
		return "(empty)"
	}
	return fmt.Sprintf("0x%x", b)
}

func writeStandalone(w io.Writer, e Event) {
	switch e.Type {
	case TypeExchange:
		fmt.Fprintf(w, "== exchange %d: %s ==\n", e.Exchange, e.Note)
	default:
		fmt.Fprintf(w, "-- %s\n", eventLine(e))
	}
}

// header is the datagram's first line after "From -> To".
func (d *dgramView) header() string {
	if d.err != nil {
		return "malformed CoAP: " + strings.TrimPrefix(d.err.Error(), "trace: ")
	}
	return d.msg.Header()
}

// body lists the outer options, one per line, then the payload with its
// nested layers, then why no layers could be shown when that is odd.
func (d *dgramView) body() []string {
	if d.err != nil {
		return []string{fmt.Sprintf("0x%x", d.raw)}
	}
	lines := optionTexts(d.msg.Options)
	switch {
	case d.inner != "":
		lines = append(lines, "0xff, "+d.inner)
	case len(d.msg.Payload) > 0:
		lines = append(lines, payloadText(d.msg.Payload))
	}
	if d.reason != "" {
		lines = append(lines, "("+d.reason+")")
	}
	if d.sent != "" {
		lines = append(lines, "("+d.sent+")")
	}
	return lines
}
