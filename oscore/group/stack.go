package group

import (
	"errors"
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
	"oscore-lab/oscore"
)

// Stacks that mix Group OSCORE and RFC 8613 layers, in any order
// (draft-ietf-core-oscore-capable-proxies 1, 2.1: its rules apply to
// Group OSCORE "as is"), with the same contracts as oscore's
// ProtectRequestLayers and its siblings.

// Layer is one layer of a stack: an RFC 8613 context with its options
// (the option-protection rule of that layer, draft 2.2), or a Group OSCORE
// context with its.
type Layer struct {
	OSCORE        *oscore.Context
	OSCOREOptions oscore.ProtectOptions
	Group         *Context
	GroupOptions  ProtectOptions
}

func (l Layer) name() string {
	switch {
	case l.Group != nil:
		return l.Group.name
	case l.OSCORE != nil:
		return l.OSCORE.Name()
	}
	return ""
}

// Binding ties a layer's responses to its request: an oscore.Binding for an
// RFC 8613 layer, an Exchange for a Group OSCORE one.
type Binding struct {
	OSCORE *oscore.Binding
	Group  *Exchange
}

func (b Binding) name() string {
	switch {
	case b.Group != nil:
		return b.Group.ctx.name
	case b.OSCORE != nil && b.OSCORE.Ctx != nil:
		return b.OSCORE.Ctx.Name()
	}
	return ""
}

// ResponseOptions are the protect options of one layer of a response.
type ResponseOptions struct {
	OSCORE oscore.ProtectOptions
	Group  ProtectOptions
}

func limitOrDefault(limit int) int {
	if limit <= 0 {
		return oscore.DefaultLayerLimit
	}
	return limit
}

// ProtectRequestLayers applies layers in the order given, layers[0]
// innermost (draft 2.3). More layers than limit (0: the default) abort
// before any protection (draft 2.1).
func ProtectRequestLayers(m message.Message, layers []Layer, limit int) (message.Message, []Binding, []*oscore.Report, error) {
	if limit = limitOrDefault(limit); len(layers) > limit {
		return message.Message{}, nil, nil, oscore.ErrLayerLimit.WithDetail(fmt.Sprintf("outgoing request needs %d layers, limit %d: sending aborted (draft 2.1)", len(layers), limit))
	}
	for i, l := range layers {
		if (l.OSCORE == nil) == (l.Group == nil) {
			return message.Message{}, nil, nil, &oscore.LayerError{Layer: i, Err: errors.New("group: a layer needs exactly one context")}
		}
	}
	bindings := make([]Binding, 0, len(layers))
	reports := make([]*oscore.Report, 0, len(layers))
	for i, l := range layers {
		var (
			out message.Message
			b   Binding
			rep *oscore.Report
			err error
		)
		if l.Group != nil {
			out, b.Group, rep, err = ProtectRequest(l.Group, m, l.GroupOptions)
		} else {
			out, b.OSCORE, rep, err = oscore.ProtectRequest(l.OSCORE, m, l.OSCOREOptions)
		}
		if err != nil {
			return message.Message{}, bindings, reports, &oscore.LayerError{Layer: i, Context: l.name(), Report: rep, Err: err}
		}
		m = out
		bindings = append(bindings, b)
		reports = append(reports, rep)
	}
	return m, bindings, reports, nil
}

// UnprotectRequestLayers removes layers until no OSCORE option is left
// (draft 2.4 step 6, repeated). A layer whose Group Flag is set, or whose
// kid context names a group groups knows, is Group OSCORE (RFC 10021 6);
// any other goes to lookup. The bindings and reports come outermost
// first; on an error, with the message as far as it was unprotected.
func UnprotectRequestLayers(m message.Message, lookup oscore.ContextLookup, groups Lookup, limit int) (message.Message, []Binding, []*oscore.Report, error) {
	limit = limitOrDefault(limit)
	var bindings []Binding
	var reports []*oscore.Report
	for {
		raw, err := oscore.FindOSCORE(&m)
		if errors.Is(err, oscore.ErrNotProtected) {
			return m, bindings, reports, nil
		}
		if len(bindings) == limit {
			return m, bindings, reports, &oscore.LayerError{Layer: len(bindings),
				Err: oscore.ErrLayerLimit.WithDetail(fmt.Sprintf("incoming request needs more than %d layers (draft 2.1)", limit))}
		}
		var (
			out message.Message
			b   Binding
			rep *oscore.Report
		)
		if err == nil && isGroupLayer(raw, groups) {
			out, b.Group, rep, err = UnprotectRequest(m, groups)
		} else {
			out, b.OSCORE, rep, err = oscore.UnprotectRequest(m, lookup)
		}
		if err != nil {
			name := ""
			if rep != nil {
				name = rep.Context
			}
			return m, bindings, reports, &oscore.LayerError{Layer: len(bindings), Context: name, Report: rep, Err: err}
		}
		m = out
		bindings = append(bindings, b)
		reports = append(reports, rep)
	}
}

// isGroupLayer tells a Group OSCORE layer by its Group Flag, or by a kid
// context that is the Gid of a known group (RFC 10021 6).
func isGroupLayer(raw []byte, groups Lookup) bool {
	ov, err := oscore.ParseOption(raw)
	if err != nil || groups == nil {
		return false
	}
	if ov.Group {
		return true
	}
	if ov.KIDContext == nil {
		return false
	}
	c, err := groups(ov.KIDContext)
	return err == nil && c != nil
}

// ProtectResponseLayers protects a response with the layers removed from
// its request, innermost first (draft 2.5); bindings come in removal
// order, as UnprotectRequestLayers returns them, opts[i] go with
// bindings[i]. The reports come in application order.
func ProtectResponseLayers(m message.Message, bindings []Binding, opts []ResponseOptions) (message.Message, []*oscore.Report, error) {
	reports := make([]*oscore.Report, 0, len(bindings))
	for i := len(bindings) - 1; i >= 0; i-- {
		var o ResponseOptions
		if i < len(opts) {
			o = opts[i]
		}
		b := bindings[i]
		var (
			out message.Message
			rep *oscore.Report
			err error
		)
		switch {
		case b.Group != nil:
			out, rep, err = ProtectResponse(b.Group, m, o.Group)
		case b.OSCORE != nil:
			out, rep, err = oscore.ProtectResponse(b.OSCORE, m, o.OSCORE)
		default:
			err = errors.New("group: no binding")
		}
		if err != nil {
			return message.Message{}, reports, &oscore.LayerError{Layer: i, Context: b.name(), Report: rep, Err: err}
		}
		m = out
		reports = append(reports, rep)
	}
	return m, reports, nil
}

// UnprotectResponseLayers removes from a response the layers the client
// added to its request, outermost first (draft 2.6); bindings are the ones
// ProtectRequestLayers returned. A response with fewer layers (an
// intermediary's error response, draft 2.5) returns what was removed with
// an error wrapping ErrNotProtected; an OSCORE option left after all of
// them is ErrTooManyLayers. Every failure is silent.
func UnprotectResponseLayers(m message.Message, bindings []Binding) (message.Message, []*oscore.Report, error) {
	reports := make([]*oscore.Report, 0, len(bindings))
	for i := len(bindings) - 1; i >= 0; i-- {
		b := bindings[i]
		if _, err := oscore.FindOSCORE(&m); errors.Is(err, oscore.ErrNotProtected) {
			return m, reports, &oscore.LayerError{Layer: len(reports), Context: b.name(),
				Err: oscore.Silent(oscore.ErrNotProtected.WithDetail(fmt.Sprintf("response carries %d of the %d layers the request got", len(reports), len(bindings))))}
		}
		var (
			out message.Message
			rep *oscore.Report
			err error
		)
		switch {
		case b.Group != nil:
			out, rep, err = UnprotectResponse(b.Group, m)
		case b.OSCORE != nil:
			out, rep, err = oscore.UnprotectResponse(b.OSCORE, m)
		default:
			err = oscore.Silent(errors.New("group: no binding"))
		}
		if err != nil {
			return m, reports, &oscore.LayerError{Layer: len(reports), Context: b.name(), Report: rep, Err: err}
		}
		m = out
		reports = append(reports, rep)
	}
	if _, err := oscore.FindOSCORE(&m); !errors.Is(err, oscore.ErrNotProtected) {
		return m, reports, &oscore.LayerError{Layer: len(reports),
			Err: oscore.Silent(oscore.ErrTooManyLayers.WithDetail(fmt.Sprintf("OSCORE option left after removing all %d layers (draft 2.6)", len(bindings))))}
	}
	return m, reports, nil
}
