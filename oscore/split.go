package oscore

import (
	"fmt"

	"github.com/plgd-dev/go-coap/v3/message"
)

// splitResult holds what splitting learnt about a message.
type splitResult struct {
	observe         bool // request carries Observe: outer Code FETCH (RFC 8613 4.1.3.5)
	observeRegister bool // request Observe value 0 (registration)
	notification    bool // response with Observe to an Observe request
}

// split divides m's options into Inner (Class E) and Outer (Class U and I)
// for one layer (RFC 8613 4.1, 4.1.3), with o.Rule deciding outer-only
// options per draft 2.2, and records each decision as a report row.
//
//   - Options with an E bit are Inner. Observe is Inner and Outer: in
//     requests both carry the original value (4.1.3.5.1); in notifications
//     the Inner value is empty and the Outer keeps the original (4.1.3.5.2).
//     No-Response is Inner only (4.1.3.6). With o.OuterMaxAge, Max-Age is
//     Outer only: the Max-Age 0 of an OSCORE error (4.1.3.1, 8.2).
//   - Unrecognised options are Class E (4.1), or ErrUnrecognisedOption under
//     o.StrictOptions (draft 2.2: 4.02 for a request, 5.02 for a response).
//   - Proxy-Uri left outer is decomposed (4.1.3.3).
//   - The previous layer's OSCORE option is an ordinary U option to the
//     rule; it becomes Inner when escalated (draft 2.1, 2.2). Without a rule
//     it is always escalated: two OSCORE options in one message are invalid.
//
// Inner and outer options come back separately, in the caller's buffers
// (which stay on its stack; seal copies the outer ones out at their exact
// size).
func split(m *message.Message, o ProtectOptions, isRequest, boundObserve bool, rep *Report, innerBuf, outerBuf message.Options) (inner, outer message.Options, sp splitResult, err error) {
	inner, outer = innerBuf[:0], outerBuf[:0]
	for _, opt := range m.Options {
		num := uint16(opt.ID)
		known := lookup(num) != nil
		if !known && o.StrictOptions {
			e := ErrUnrecognisedOption.withDetail(fmt.Sprintf("%s in a %s", OptionName(num), rep.Message))
			if !isRequest {
				e = e.forResponse()
			}
			return nil, nil, sp, e
		}
		orig := originalClass(num)
		or := optRow{num: num, value: opt.Value, orig: orig}
		if orig&ClassE != 0 {
			or.cl, or.where = orig, whereInner
			switch {
			case num == optObserve && isRequest:
				sp.observe = true
				sp.observeRegister = decodeUint(opt.Value) == 0
				inner = append(inner, opt)
				outer = append(outer, opt)
				or.where, or.note = whereBoth, noteObserveRequest
			case num == optObserve && boundObserve:
				sp.notification = true
				inner = append(inner, message.Option{ID: opt.ID, Value: []byte{}})
				outer = append(outer, opt)
				or.where, or.note = whereBoth, noteObserveNotification
			case num == optNoResponse:
				inner = append(inner, opt)
				or.note = noteNoResponse
			case num == optMaxAge && o.OuterMaxAge && !isRequest:
				// The Max-Age 0 of an OSCORE error is for the caches on the
				// path: a layer applied over the error keeps it visible.
				outer = append(outer, opt)
				or.cl, or.where, or.note = ClassU, whereOuter, noteOuterMaxAge
			default:
				if !known {
					or.note = noteUnrecognised
				}
				inner = append(inner, opt)
			}
			rep.addRow(or)
			continue
		}
		res := RuleResult{Class: orig, Original: orig}
		if o.Rule != nil {
			res = o.Rule(num, m.Options)
		}
		if num == optOSCORE && o.Rule == nil {
			res = RuleResult{Class: ClassE, Original: orig}
			or.note = notePreviousOSCORE
		}
		or.cl, or.steps = res.Class, stepSet(res.Steps)
		if res.Class&ClassE != 0 {
			or.where = whereInner
			if or.note == noteNone {
				or.note = noteEscalated
			}
			inner = append(inner, opt)
			rep.addRow(or)
			continue
		}
		if num == optOSCORE {
			return nil, nil, sp, fmt.Errorf("oscore: the previous layer's OSCORE option must be Class E in a new layer (draft 2.1, 2.2); the rule gave %v", res.Class)
		}
		or.where = whereOuter
		if num == optProxyURI && isRequest {
			composed, path, query, err := decomposeProxyURI(string(opt.Value))
			if err != nil {
				return nil, nil, sp, err
			}
			for _, p := range path {
				inner = append(inner, message.Option{ID: optURIPath, Value: []byte(p)})
			}
			for _, q := range query {
				inner = append(inner, message.Option{ID: optURIQuery, Value: []byte(q)})
			}
			outer = append(outer, message.Option{ID: opt.ID, Value: []byte(composed)})
			or.note = noteProxyURI
			rep.addNote(proxyURIText(composed, len(path), len(query)))
			rep.addRow(or)
			continue
		}
		outer = append(outer, opt)
		rep.addRow(or)
	}
	sortOptions(inner)
	sortOptions(outer)
	return inner, outer, sp, nil
}

// proxyURIText is the note on a decomposed Proxy-Uri (RFC 8613 4.1.3.3).
func proxyURIText(composed string, paths, queries int) string {
	return fmt.Sprintf("Proxy-Uri decomposed: outer %q, %d Uri-Path and %d Uri-Query inner (RFC 8613 4.1.3.3)", composed, paths, queries)
}

// proxyURINote rebuilds the note of a Proxy-Uri row from the option's
// value, as split wrote it (decomposition is deterministic).
func proxyURINote(v []byte) string {
	composed, path, query, err := decomposeProxyURI(string(v))
	if err != nil {
		return ""
	}
	return proxyURIText(composed, len(path), len(query))
}
