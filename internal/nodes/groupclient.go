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
}

// GroupOutcome is what a client collected for one group request: the
// responses it verified, in arrival order, and those it refused.
type GroupOutcome struct {
	Responses []GroupResponse
	Refused   []string // why each refused datagram was refused
}

// GroupCall says where and how a client sends one group request.
type GroupCall struct {
	Client  string            // the client's node id, for the trace
	Conn    *net.UDPConn      // the client's socket, the same for the whole exchange (RFC 7252 8.2)
	To      *net.UDPAddr      // the group's address
	Context *group.Context    // the client's Group Security Context
	Members map[string]string // a member's kid (hex) -> its node id
	Wait    time.Duration     // how long to collect responses
	// Enough stops collecting once that many responses are verified (the
	// client knows the group's size); 0 collects for the whole Wait.
	Enough int
}

// GroupRequest sends m, protected in group mode (RFC 10021 7.1), as one
// NON datagram to the group address and collects responses until c.Wait
// has passed (RFC 7252 8.2: a group request draws any number of
// responses; the client cannot know how many) or c.Enough are in. Each
// response is verified with the request's exchange (RFC 10021 7.4, one
// Response Number per server, 5.3.1) and attributed to a member by its
// kid.
func GroupRequest(ctx context.Context, bus *trace.Bus, c GroupCall, m message.Message) (GroupOutcome, error) {
	client, conn, to, gctx, members, wait := c.Client, c.Conn, c.To, c.Context, c.Members, c.Wait
	var out GroupOutcome
	m.Type = message.NonConfirmable
	prot, x, rep, err := group.ProtectRequest(gctx, m, group.ProtectOptions{Mode: group.GroupMode})
	if err != nil {
		return out, err
	}
	publishLayer(bus, client, trace.LayerApplied, rep, "")
	b, err := oscore.EncodeMessage(prot)
	if err != nil {
		return out, err
	}
	if _, err := conn.WriteToUDP(b, to); err != nil {
		return out, err
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	seen := map[string]string{} // member -> source address of its first response
	buf := make([]byte, 65536)
	for {
		conn.SetReadDeadline(deadline)
		n, src, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return out, nil
			}
			return out, err
		}
		r, why := acceptGroupResponse(buf[:n], prot.Token, x, members)
		if why == "" && seen[r.Member] != "" && seen[r.Member] != src.String() {
			why = fmt.Sprintf("response with kid %x from %s, but %s answered from %s before", r.KID, src, r.Member, seen[r.Member])
		}
		if why != "" {
			out.Refused = append(out.Refused, why)
			publishLayer(bus, client, trace.LayerFailed, r.Report, why)
			continue
		}
		r.From = src.String()
		seen[r.Member] = r.From
		publishLayer(bus, client, trace.LayerRemoved, r.Report, "response from "+r.Member+" at "+r.From)
		out.Responses = append(out.Responses, r)
		if c.Enough > 0 && len(out.Responses) >= c.Enough {
			return out, nil
		}
	}
}

// acceptGroupResponse decodes and verifies one datagram; a non-empty
// reason says why it was refused.
func acceptGroupResponse(b, token []byte, x *group.Exchange, members map[string]string) (GroupResponse, string) {
	var r GroupResponse
	m, err := oscore.DecodeMessage(b)
	if err != nil {
		return r, "undecodable datagram: " + err.Error()
	}
	if !bytes.Equal(m.Token, token) {
		return r, fmt.Sprintf("token %x is not the group request's", []byte(m.Token))
	}
	inner, rep, err := group.UnprotectResponse(x, m)
	if rep != nil {
		r.Report = rep.Complete()
	}
	if err != nil {
		return r, "Group OSCORE verification failed: " + err.Error()
	}
	r.KID = r.Report.KID
	r.Member = members[hex.EncodeToString(r.KID)]
	if r.Member == "" {
		return r, fmt.Sprintf("kid %x names no member of the group", r.KID)
	}
	r.Code, r.Payload = codeText(inner.Code), string(inner.Payload)
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
	for _, why := range o.Refused {
		errs = append(errs, errors.New("nodes: refused response: "+why))
	}
	return errors.Join(errs...)
}

func publishLayer(bus *trace.Bus, node, action string, rep *oscore.Report, note string) {
	if rep != nil {
		rep = rep.Complete()
	}
	bus.Publish(trace.Event{Type: trace.TypeLayer, Node: node, Layer_: &trace.LayerEvent{Action: action, Report: rep}, Note: note})
}
