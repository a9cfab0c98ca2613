package nodes

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
	"oscore-lab/oscore/group"
)

// GroupResponse is one member's response to a group request, verified.
type GroupResponse struct {
	Member  string // node id, from the response's kid
	From    string // source address the response came from
	KID     []byte
	Code    string
	Payload string
	Report  *oscore.Report
	code    codes.Code

	// Through a proxy (draft-ietf-core-groupcomm-proxy 5.5.1):
	ReplyFrom       string // the Reply-From option, decoded
	ReplyFromMember string // the member at the address Reply-From names
	CPPartialIV     []byte // the C-P layer's Partial IV, nil when the response had none
	replyFrom       *replyFrom
}

// GroupOutcome is what a client collected for one group request: the
// responses it verified, in arrival order, and those it refused.
type GroupOutcome struct {
	Responses []GroupResponse
	Refused   []RefusedResponse
	Proxy     []ProxyAnswer // through a proxy: the answers it made itself
	AfterStop int           // through a proxy: datagrams with the token after an Early Stop Request
}

// RefusedResponse is a datagram the client refused.
type RefusedResponse struct {
	Member string // the member whose address it came from ("" unknown)
	From   string // source address
	Why    string
}

// GroupCall says where and how a client sends one group request.
type GroupCall struct {
	Client  string            // the client's node id, for the trace
	Conn    *net.UDPConn      // the client's socket, the same for the whole exchange (RFC 7252 8.2)
	To      *net.UDPAddr      // the group's address
	Context *group.Context    // the client's Group Security Context
	Members map[string]string // a member's kid (hex) -> its node id
	Wait    time.Duration     // how long to collect responses
	// Enough stops collecting once that many members have been heard
	// from, with a verified response or a refused one from their address
	// (the client knows the group's size); 0 collects for the whole Wait.
	Enough int
	// Mode protects the request in group mode (0 or group.GroupMode) or
	// in pairwise mode for the member whose Sender ID is For (RFC 10021
	// 8.3). With a nil Context the request is plain CoAP.
	Mode group.Mode
	For  []byte
	// MemberAt names the member behind a source address (the group
	// link's socket for it); nil or "": the kid decides.
	MemberAt func(*net.UDPAddr) string
	Exchange int // exchange id on the client's trace events
}

// GroupRequest sends m, protected in group mode (RFC 10021 7.1), as one
// NON datagram to the group address and collects responses until c.Wait
// has passed (RFC 7252 8.2: a group request draws any number of
// responses; the client cannot know how many) or c.Enough are in. Each
// response is verified with the request's exchange (RFC 10021 7.4, one
// Response Number per server, 5.3.1) and attributed to a member by its
// kid.
func GroupRequest(ctx context.Context, bus *trace.Bus, c GroupCall, m message.Message) (GroupOutcome, error) {
	var out GroupOutcome
	m.Type = message.NonConfirmable
	prot, x := m, (*group.Exchange)(nil)
	if c.Context != nil {
		mode := c.Mode
		if mode == 0 {
			mode = group.GroupMode
		}
		var rep *oscore.Report
		var err error
		prot, x, rep, err = group.ProtectRequest(c.Context, m, group.ProtectOptions{Mode: mode, To: c.For})
		if err != nil {
			return out, err
		}
		publishGroupLayer(bus, c.Context, c.Exchange, c.Client, trace.LayerApplied, rep, "")
	}
	b, err := oscore.EncodeMessage(prot)
	if err != nil {
		return out, err
	}
	if _, err := c.Conn.WriteToUDP(b, c.To); err != nil {
		return out, err
	}
	deadline := time.Now().Add(c.Wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	seen := map[string]string{} // member -> source address of its first response
	heard := map[string]bool{}  // members with a verified or refused response
	buf := make([]byte, 65536)
	for {
		c.Conn.SetReadDeadline(deadline)
		n, src, err := c.Conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return out, nil
			}
			return out, err
		}
		at := ""
		if c.MemberAt != nil {
			at = c.MemberAt(src)
		}
		// The report refers to the datagram's bytes: each gets its own
		// copy, or the next read would rewrite the reports already kept.
		d := append([]byte(nil), buf[:n]...)
		var r GroupResponse
		var why string
		if x != nil {
			r, why = acceptGroupResponse(d, prot.Token, x, c.Members)
			if why == "" && at != "" && r.Member != at {
				why = fmt.Sprintf("response with kid %x (%s) from %s's address %s", r.KID, r.Member, at, src)
			}
		} else {
			r, why = acceptPlainResponse(d, prot.Token)
			r.Member = at
		}
		if why == "" && seen[r.Member] != "" && seen[r.Member] != src.String() {
			why = fmt.Sprintf("response with kid %x from %s, but %s answered from %s before", r.KID, src, r.Member, seen[r.Member])
		}
		if why != "" {
			out.Refused = append(out.Refused, RefusedResponse{Member: firstNonEmpty(at, r.Member), From: src.String(), Why: why})
			publishGroupLayer(bus, c.Context, c.Exchange, c.Client, trace.LayerFailed, r.Report, why)
			if at != "" {
				heard[at] = true
			}
			if c.Enough > 0 && len(heard) >= c.Enough {
				return out, nil
			}
			continue
		}
		heard[r.Member] = true
		r.From = src.String()
		seen[r.Member] = r.From
		if x != nil {
			publishGroupLayer(bus, c.Context, c.Exchange, c.Client, trace.LayerRemoved, r.Report, "response from "+r.Member)
		}
		out.Responses = append(out.Responses, r)
		if c.Enough > 0 && len(heard) >= c.Enough {
			return out, nil
		}
	}
}

// acceptPlainResponse decodes a plain CoAP response to a plain group
// request.
func acceptPlainResponse(b, token []byte) (GroupResponse, string) {
	var r GroupResponse
	m, why := decodeGroupReply(b, token)
	if why != "" {
		return r, why
	}
	r.Code, r.Payload = codeText(m.Code), string(m.Payload)
	return r, ""
}

// decodeGroupReply decodes a datagram that must answer the request with
// token; a non-empty reason says why it does not.
func decodeGroupReply(b, token []byte) (message.Message, string) {
	m, err := oscore.DecodeMessage(b)
	if err != nil {
		return m, "undecodable datagram: " + err.Error()
	}
	if !bytes.Equal(m.Token, token) {
		return m, fmt.Sprintf("token %x is not the group request's", []byte(m.Token))
	}
	return m, ""
}

// acceptGroupResponse decodes and verifies one datagram; a non-empty
// reason says why it was refused.
func acceptGroupResponse(b, token []byte, x *group.Exchange, members map[string]string) (GroupResponse, string) {
	m, why := decodeGroupReply(b, token)
	if why != "" {
		return GroupResponse{}, why
	}
	return acceptGroupMessage(m, x, members)
}

// acceptGroupMessage verifies one decoded response.
func acceptGroupMessage(m message.Message, x *group.Exchange, members map[string]string) (GroupResponse, string) {
	var r GroupResponse
	inner, rep, err := group.UnprotectResponse(x, m)
	if rep != nil {
		r.Report = rep.Complete()
	}
	if err != nil {
		return r, "Group OSCORE verification failed: " + err.Error()
	}
	r.KID = r.Report.KID
	if len(r.KID) == 0 && x.Peer() != nil {
		r.KID = x.Peer().ID() // a pairwise response may leave kid out (RFC 10021 3.2)
	}
	r.Member = members[hex.EncodeToString(r.KID)]
	if r.Member == "" {
		return r, fmt.Sprintf("kid %x names no member of the group", r.KID)
	}
	r.Code, r.Payload, r.code = codeText(inner.Code), string(inner.Payload), inner.Code
	return r, ""
}

// Check returns an error naming every member in want that has no verified
// response, and every refused datagram: a lost or forged response shows.
func (o GroupOutcome) Check(want []string) error {
	got := map[string]bool{}
	for _, r := range o.Responses {
		got[r.Member] = true
	}
	var missing []string
	for _, w := range want {
		if !got[w] {
			missing = append(missing, w)
		}
	}
	sort.Strings(missing)
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%w: %s", errNoGroupResponse, strings.Join(missing, ", ")))
	}
	for _, r := range o.Refused {
		errs = append(errs, errors.New("nodes: refused response: "+r.Why))
	}
	return errors.Join(errs...)
}

func publishLayer(bus *trace.Bus, xid int, node, action string, rep *oscore.Report, note string) {
	bus.Publish(layerEvent(xid, node, action, rep, note))
}

// layerEvent is a layer event of node with the report completed.
func layerEvent(xid int, node, action string, rep *oscore.Report, note string) trace.Event {
	if rep != nil {
		rep = rep.Complete()
	}
	return trace.Event{Type: trace.TypeLayer, Exchange: xid, Node: node, Layer_: &trace.LayerEvent{Action: action, Report: rep}, Note: note}
}
