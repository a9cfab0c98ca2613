package trace

import (
	"fmt"
	"strconv"
	"strings"
)

// String is the canonical one-line text form of an event:
// "#seq ex<exchange> hop<hop> <type> <details>". Datagrams show their decoded
// CoAP message (DecodeDatagram); layer events show the context and the
// OSCORE option; decisions their rule, step, section and outcome.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d ex%d hop%d %s", e.Seq, e.Exchange, e.Hop, e.Type)
	switch e.Type {
	case TypeDatagram:
		fmt.Fprintf(&b, " %s -> %s", e.From, e.To)
		if e.Link != "" {
			fmt.Fprintf(&b, " (link %s)", e.Link)
		}
		if e.Dir != "" {
			b.WriteString(" " + e.Dir)
		}
		b.WriteString(": " + DecodeDatagram(e.Bytes))
	case TypeLayer:
		fmt.Fprintf(&b, " %d %s", e.Layer, e.Node)
		if l := e.Layer_; l != nil {
			b.WriteString(" " + l.Action)
			if r := l.Report.Complete(); r != nil { // Option is filled on first use
				fmt.Fprintf(&b, " %s %s %s", r.Context, r.Message, r.Option)
			}
		}
		if e.Dir != "" && (e.Layer_ == nil || e.Layer_.Report == nil || e.Layer_.Report.Message != e.Dir) {
			b.WriteString(" (" + e.Dir + ")")
		}
	case TypeDecision:
		b.WriteString(" " + e.Node)
		if d := e.Decision; d != nil {
			b.WriteString(" " + d.Text())
		}
	case TypeDelivery:
		b.WriteString(" " + e.Node)
		if d := e.Delivery; d != nil {
			b.WriteString(" " + d.Text())
		}
	case TypeError:
		b.WriteString(" " + e.Node)
		if x := e.Error; x != nil {
			b.WriteString(" " + x.Text())
		}
	case TypeFault:
		if e.Link != "" {
			b.WriteString(" link " + e.Link)
		}
		if f := e.Fault; f != nil {
			b.WriteString(" " + f.Text())
		}
	default:
		if e.Node != "" {
			b.WriteString(" " + e.Node)
		}
	}
	if e.Note != "" {
		b.WriteString(": " + e.Note)
	}
	return b.String()
}

// Text is "incoming-request step 6 (2.4): decrypted with CTX_C_P [4.01]".
func (d *Decision) Text() string {
	s := d.Rule
	if d.Step != "" {
		s += " step " + d.Step
	}
	if d.Section != "" {
		s += " (" + d.Section + ")"
	}
	s += ": " + d.Outcome
	if d.Code != "" {
		s += " [" + d.Code + "]"
	}
	return s
}

// Text is `GET /alarm_status` for a request, `2.05 "0"` for a response.
func (d *Delivery) Text() string {
	parts := []string{}
	for _, p := range []string{d.Method, d.Code, d.Resource} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if d.Payload != "" {
		parts = append(parts, strconv.Quote(d.Payload))
	}
	return strings.Join(parts, " ")
}

// Text is `4.01 "Security context not found" protected by CTX_C_P (2.4): reason`.
func (x *ErrorEvent) Text() string {
	s := x.Code
	if x.Diagnostic != "" {
		s += " " + strconv.Quote(x.Diagnostic)
	}
	if len(x.ProtectedBy) > 0 {
		s += " protected by " + strings.Join(x.ProtectedBy, ", ")
	} else {
		s += " unprotected"
	}
	if x.Section != "" {
		s += " (" + x.Section + ")"
	}
	if x.Reason != "" {
		s += ": " + x.Reason
	}
	return s
}

// Text is "drop: detail".
func (f *Fault) Text() string {
	if f.Detail == "" {
		return f.Kind
	}
	return f.Kind + ": " + f.Detail
}
