package oscore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
)

// DefaultLayerLimit is the maximum number of OSCORE layers an endpoint
// applies to an outgoing message or removes from an incoming one when the
// caller sets none (draft-ietf-core-oscore-capable-proxies section 2.1: an
// endpoint SHOULD define such a limit). Eight covers the common two layers
// and privacy chains of a few proxies (draft Appendix A.7).
const DefaultLayerLimit = 8

// Layer is one OSCORE layer a sender applies: the Security Context shared
// with the layer's other endpoint and how to protect with it, including the
// option-protection rule of that layer (draft 2.2; a Route's RuleFor).
type Layer struct {
	Ctx     *Context
	Options ProtectOptions
}

// LayerError says which layer of a stack failed, and carries the failing
// step's report when there is one. errors.Is and errors.As see the
// underlying *Error.
type LayerError struct {
	Layer   int    // index in the stack: application order for protect, removal order for unprotect
	Context string // name of the context, "" when none was found
	Report  *Report
	Err     error
}

func (e *LayerError) Error() string {
	ctx := ""
	if e.Context != "" {
		ctx = " (" + e.Context + ")"
	}
	return fmt.Sprintf("oscore: layer %d%s: %s", e.Layer, ctx, strings.TrimPrefix(e.Err.Error(), "oscore: "))
}

func (e *LayerError) Unwrap() error { return e.Err }

func limitOrDefault(limit int) int {
	if limit <= 0 {
		return DefaultLayerLimit
	}
	return limit
}

// ProtectRequestLayers applies layers to request m in the order given
// (draft section 2.3): layers[0] is the end-to-end layer shared with the
// other application endpoint, then one layer per intermediary, from the one
// nearest the destination back to the nearest one, so that the outermost
// layer is the next hop's. Each layer brings its own option-protection rule
// (draft 2.2) in its ProtectOptions.
//
// When the stack needs more layers than limit (0: DefaultLayerLimit) the
// sending is aborted before any protection (draft 2.1) with ErrLayerLimit.
// A layer that would meet an option it does not recognise while its
// StrictOptions is set also stops the stack before any context is used
// (draft 2.2: ErrUnrecognisedOption, 4.02 for a request).
//
// The returned bindings and reports are indexed like layers; keep the
// bindings for UnprotectResponseLayers.
func ProtectRequestLayers(m message.Message, layers []Layer, limit int) (message.Message, []*Binding, []*Report, error) {
	if err := checkStack(m, layers, limit, "outgoing request"); err != nil {
		return message.Message{}, nil, nil, err
	}
	bindings := make([]*Binding, 0, len(layers))
	reports := make([]*Report, 0, len(layers))
	for i, l := range layers {
		out, b, rep, err := ProtectRequest(l.Ctx, m, l.Options)
		if err != nil {
			return message.Message{}, bindings, reports, &LayerError{Layer: i, Context: l.Ctx.Name(), Report: rep, Err: err}
		}
		m = out
		bindings = append(bindings, b)
		reports = append(reports, rep)
	}
	return m, bindings, reports, nil
}

// checkStack refuses a stack that cannot be applied as a whole, before any
// Sender Sequence Number is used: too many layers (draft 2.1), a missing
// context, or, for a layer with StrictOptions, an option the sender does not
// recognise (draft 2.2).
func checkStack(m message.Message, layers []Layer, limit int, what string) error {
	if limit = limitOrDefault(limit); len(layers) > limit {
		return ErrLayerLimit.withDetail(fmt.Sprintf("%s needs %d layers, limit %d: sending aborted (draft 2.1)", what, len(layers), limit))
	}
	for i, l := range layers {
		if l.Ctx == nil {
			return &LayerError{Layer: i, Err: errors.New("oscore: no security context")}
		}
		if !l.Options.StrictOptions {
			continue
		}
		if num, ok := unrecognised(m); ok {
			return &LayerError{Layer: i, Context: l.Ctx.Name(), Err: ErrUnrecognisedOption.withDetail(OptionName(num))}
		}
	}
	return nil
}

// UnprotectRequestLayers removes OSCORE layers from request m one at a time
// (draft 2.4 step 6, then back to step 1) until no OSCORE option is left, for
// tests and headless use; a node interleaves the other steps of section 2.4
// between removals. The bindings and reports come in removal order
// (outermost first).
//
// An OSCORE option still present after limit removals (0:
// DefaultLayerLimit) stops processing with ErrLayerLimit, 4.01 (draft 2.1).
// On any error the bindings of the layers removed so far are returned with
// the message as far as it was unprotected: an error response is protected
// with exactly those layers (draft 2.5, ProtectResponseLayers).
func UnprotectRequestLayers(m message.Message, lookup ContextLookup, limit int) (message.Message, []*Binding, []*Report, error) {
	limit = limitOrDefault(limit)
	bindings := make([]*Binding, 0, min(limit, 4))
	reports := make([]*Report, 0, min(limit, 4))
	for hasOSCORE(&m) {
		if len(bindings) == limit {
			return m, bindings, reports, &LayerError{Layer: len(bindings),
				Err: ErrLayerLimit.withDetail(fmt.Sprintf("incoming request needs more than %d layers (draft 2.1)", limit))}
		}
		out, b, rep, err := UnprotectRequest(m, lookup)
		if err != nil {
			name := ""
			if b != nil && b.Ctx != nil {
				name = b.Ctx.Name()
			} else if rep != nil {
				name = rep.Context
			}
			return m, bindings, reports, &LayerError{Layer: len(bindings), Context: name, Report: rep, Err: err}
		}
		m = out
		bindings = append(bindings, b)
		reports = append(reports, rep)
	}
	return m, bindings, reports, nil
}

// ProtectResponseLayers protects response m with the layers removed from its
// request, in reverse order (draft 2.5): bindings come in removal order, as
// UnprotectRequestLayers returns them, so the innermost layer is applied
// first and the layer of the hop the request came from is outermost. For an
// error response pass only the bindings of the layers removed successfully.
// opts[i] are the protect options of bindings[i] (missing entries: zero).
//
// Each layer uses the responder's own Sender Sequence Number as Partial IV,
// except that the first response to a request MAY omit it (draft 2.5.1);
// ProtectResponse enforces that per binding, ResponsePIV asks for a Partial
// IV in the first one too. The reports come in application order.
func ProtectResponseLayers(m message.Message, bindings []*Binding, opts []ProtectOptions) (message.Message, []*Report, error) {
	for i, b := range bindings {
		if b == nil || b.Ctx == nil {
			return message.Message{}, nil, &LayerError{Layer: i, Err: errors.New("oscore: no binding")}
		}
		if i < len(opts) && opts[i].StrictOptions {
			if num, ok := unrecognised(m); ok {
				// Checked before any layer is applied (draft 2.2: 5.02 for a response).
				return message.Message{}, nil, &LayerError{Layer: i, Context: b.Ctx.Name(),
					Err: ErrUnrecognisedOption.withDetail(OptionName(num)).forResponse()}
			}
		}
	}
	reports := make([]*Report, 0, len(bindings))
	for i := len(bindings) - 1; i >= 0; i-- {
		var o ProtectOptions
		if i < len(opts) {
			o = opts[i]
		}
		out, rep, err := ProtectResponse(bindings[i], m, o)
		if err != nil {
			if errors.Is(err, ErrUnrecognisedOption) {
				err = asResponseError(err)
			}
			return message.Message{}, reports, &LayerError{Layer: i, Context: bindings[i].Ctx.Name(), Report: rep, Err: err}
		}
		m = out
		reports = append(reports, rep)
	}
	return m, reports, nil
}

// asResponseError turns a request-side table error into its response-side
// code (draft 2.2: an unrecognised option in a response is 5.02).
func asResponseError(err error) error {
	var e *Error
	if errors.As(err, &e) && e.ResponseCode() != e.Code {
		return e.forResponse()
	}
	return err
}

// UnprotectResponseLayers removes from response m the layers the client
// added to its request, in reverse order (draft 2.6): bindings are the ones
// ProtectRequestLayers returned (innermost first), so the outermost layer
// comes off first. The reports come in removal order.
//
// An OSCORE option after a removal is expected while layers remain. One
// still present after as many removals as layers were added stops
// processing with ErrTooManyLayers (silent, draft 2.6). A response that
// runs out of OSCORE layers early (an error response from an intermediary,
// protected only with the layers that intermediary removed, draft 2.5)
// returns what was removed so far with a LayerError wrapping
// ErrNotProtected; the message is then the intermediary's response.
//
// Several responses to one request (Observe; a proxy relaying a group's
// responses) are accepted with at most one response without Partial IV per
// source OSCORE endpoint, which counts as the oldest (draft 2.6.1,
// RFC 8613 7.4.1); UnprotectResponse keeps that state in each binding.
func UnprotectResponseLayers(m message.Message, bindings []*Binding) (message.Message, []*Report, error) {
	reports := make([]*Report, 0, len(bindings))
	for i := len(bindings) - 1; i >= 0; i-- {
		b := bindings[i]
		if b == nil || b.Ctx == nil {
			return m, reports, &LayerError{Layer: len(reports), Err: errors.New("oscore: no binding")}
		}
		if !hasOSCORE(&m) {
			return m, reports, &LayerError{Layer: len(reports), Context: b.Ctx.Name(),
				Err: ErrNotProtected.withDetail(fmt.Sprintf("response carries %d of the %d layers the request got", len(reports), len(bindings)))}
		}
		out, rep, err := UnprotectResponse(b, m)
		if err != nil {
			return m, reports, &LayerError{Layer: len(reports), Context: b.Ctx.Name(), Report: rep, Err: err}
		}
		m = out
		reports = append(reports, rep)
	}
	if hasOSCORE(&m) {
		return m, reports, &LayerError{Layer: len(reports),
			Err: ErrTooManyLayers.withDetail(fmt.Sprintf("OSCORE option left after removing all %d layers (draft 2.6)", len(bindings)))}
	}
	return m, reports, nil
}

// unrecognised returns the first option of m the registry does not know.
func unrecognised(m message.Message) (uint16, bool) {
	for _, o := range m.Options {
		if _, ok := LookupOption(uint16(o.ID)); !ok {
			return uint16(o.ID), true
		}
	}
	return 0, false
}

func hasOSCORE(m *message.Message) bool {
	return m.Options.HasOption(optOSCORE)
}
