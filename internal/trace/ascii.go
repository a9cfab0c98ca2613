package trace

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// asciiColumn is the distance between two lifelines.
const asciiColumn = 16

// WriteASCII renders a trace in the style of the draft's figures: one
// lifeline per node, an arrow per datagram, and to the right the message
// with its layers nested in braces, followed by what the nodes did.
func WriteASCII(w io.Writer, t *Trace) error {
	v := newView(t)
	t = v.t // never nil
	bw := bufio.NewWriter(w)
	col := map[string]int{}
	for i, n := range v.nodes {
		col[n] = 2 + i*asciiColumn
	}
	width := 2 + asciiColumn*max(len(v.nodes)-1, 0) + 1
	lifelines := func() []byte {
		b := []byte(strings.Repeat(" ", width))
		for _, c := range col {
			b[c] = '|'
		}
		return b
	}
	row := func(left []byte, text string) {
		line := string(left)
		if text != "" {
			line += "  " + text
		}
		fmt.Fprintln(bw, strings.TrimRight(line, " "))
	}

	head := []byte(strings.Repeat(" ", width))
	for _, n := range v.nodes {
		name := n
		if len(name) > asciiColumn-2 {
			name = name[:asciiColumn-2]
		}
		start := max(col[n]-(len(name)-1)/2, 0)
		copy(head[start:], name)
	}
	row(head, "")
	row(lifelines(), "")

	for i, e := range t.Events {
		if v.under[i] {
			continue
		}
		if e.Type != TypeDatagram {
			row(lifelines(), eventLine(e))
			continue
		}
		d := v.dgrams[i]
		row(arrow(lifelines(), col[e.From], col[e.To]), d.header())
		for _, l := range d.body() {
			row(lifelines(), "  "+l)
		}
		for _, j := range v.attached[i] {
			row(lifelines(), "  * "+eventLine(t.Events[j]))
		}
		row(lifelines(), "")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: writing ASCII: %w", err)
	}
	return nil
}

// arrow draws "+----->|" from column a to column b (or "|<-----+").
func arrow(line []byte, a, b int) []byte {
	if a == b {
		line[a] = '*'
		return line
	}
	lo, hi := min(a, b), max(a, b)
	for x := lo + 1; x < hi; x++ {
		line[x] = '-'
	}
	line[a] = '+'
	if b > a {
		line[b-1] = '>'
	} else {
		line[b+1] = '<'
	}
	return line
}
