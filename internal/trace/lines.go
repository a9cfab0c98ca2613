package trace

import "fmt"

// nodeEvent reports whether events of type typ are something a node did
// because of a datagram (shown under it); exchanges, notices and faults stand
// on their own.
func nodeEvent(typ string) bool {
	switch typ {
	case TypeLayer, TypeDecision, TypeDelivery, TypeError:
		return true
	}
	return false
}

// eventLine is the short text of an event shown under a datagram:
// "P: incoming-request step 6 (2.4): decrypted with CTX_C_P".
func eventLine(e Event) string {
	if nodeEvent(e.Type) && e.Node != "" {
		return e.Node + ": " + eventDetail(e)
	}
	return eventDetail(e)
}

// eventDetail is eventLine without the acting node.
func eventDetail(e Event) string {
	switch e.Type {
	case TypeLayer:
		if l := e.Layer_; l != nil && l.Report != nil {
			verb := l.Action
			if verb == LayerFailed {
				verb = "could not remove"
			}
			// Layer 0: the sender's stack is not on record (a peer outside
			// the lab) and the removal failed before it showed the depth.
			which := fmt.Sprintf("(layer %d)", e.Layer)
			if e.Layer == 0 {
				which = "(outermost layer)"
			}
			if l.Report.Context == "" {
				return fmt.Sprintf("%s %s %s", verb, which, l.Report.Complete().Option)
			}
			return fmt.Sprintf("%s %s %s %s", verb, l.Report.Context, which, l.Report.Complete().Option)
		}
	case TypeDecision:
		if e.Decision != nil {
			return e.Decision.Text()
		}
	case TypeDelivery:
		if e.Delivery != nil {
			return "delivered " + e.Delivery.Text()
		}
	case TypeError:
		if e.Error != nil {
			return "error " + e.Error.Text()
		}
	case TypeFault:
		if e.Fault != nil {
			return "link " + e.Link + ": fault " + e.Fault.Text()
		}
	case TypeExchange:
		return fmt.Sprintf("exchange %d: %s", e.Exchange, e.Note)
	case TypeNotice:
		return "notice: " + e.Note
	}
	return e.String()
}
