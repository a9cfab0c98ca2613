package trace

import (
	"time"
	"unsafe"

	"oscore-lab/oscore"
)

// Event types. One flat Event carries the part its type names.
const (
	TypeDatagram = "datagram" // a UDP datagram crossed a link
	TypeLayer    = "layer"    // a node applied or removed one OSCORE layer
	TypeDecision = "decision" // a node took a processing decision (draft step)
	TypeDelivery = "delivery" // a message reached an application
	TypeError    = "error"    // a node answered with an error response
	TypeFault    = "fault"    // a link injected a fault
	TypeExchange = "exchange" // an end-to-end exchange started or ended
	TypeNotice   = "notice"   // anything else worth telling (lost events, reset)
)

// Directions of a datagram (Event.Dir). Layer events use DirRequest and
// DirResponse so that a datagram and the layers its sender applied just
// before sending it share (exchange, hop, dir).
const (
	DirRequest  = "request"
	DirResponse = "response"
	DirACK      = "ack"
	DirRST      = "rst"
)

// Layer actions (LayerEvent.Action).
const (
	LayerApplied = "applied"
	LayerRemoved = "removed"
	LayerFailed  = "failed" // a removal that failed; the report shows how far it got
)

// Decision rules (Decision.Rule), named after the draft's processing parts.
const (
	RuleIncomingRequest  = "incoming-request"  // draft 2.4, steps 1-6
	RuleOptionProtection = "option-protection" // draft 2.2, steps 1-9
	RuleOutgoingRequest  = "outgoing-request"  // draft 2.3
	RuleResponse         = "response"          // draft 2.5, 2.6
	RuleHopLimit         = "hop-limit"         // RFC 8768 as updated by draft 3
	RuleLayerLimit       = "layer-limit"       // draft 2.1
	RulePolicy           = "policy"            // lab configuration (authorisation, routing)
	RuleSequence         = "sequence-number"   // RFC 8613 7.2, 7.5, B.1: sender sequence numbers and nonces
	RuleEDHOC            = "edhoc"             // RFC 9528 5, 6, A.1, A.2: one EDHOC message processed
	RuleMulticastNotif   = "multicast-notif"   // draft-ietf-core-observe-multicast-notifications, draft-ietf-core-multicast-notifications-proxy
)

// NoteReset is the Note of the notice a Bus sends its subscribers on Reset.
const NoteReset = "reset"

// Event is one thing that happened in the lab. Every event names its exchange
// (one end-to-end request and its response across all hops, although token,
// MID and Partial IV differ per hop), its hop (0 is the leg from the client)
// and, for layer events, its layer (1 is the innermost, end-to-end layer).
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Type     string    `json:"type"`
	Exchange int       `json:"exchange,omitempty"`
	Hop      int       `json:"hop"`
	Layer    int       `json:"layer,omitempty"`
	Node     string    `json:"node,omitempty"`

	// Datagram part. Dir is also set on layer events.
	Link  string     `json:"link,omitempty"`
	From  string     `json:"from,omitempty"`
	To    string     `json:"to,omitempty"`
	Bytes oscore.Hex `json:"bytes,omitempty"`
	Dir   string     `json:"dir,omitempty"`
	// Multicast marks a datagram of a group link, the lab's stand-in for
	// IP multicast on loopback.
	Multicast *Multicast `json:"multicast,omitempty"`

	Layer_   *LayerEvent `json:"layer_event,omitempty"` //nolint:revive // name fixed by the API contract
	Decision *Decision   `json:"decision,omitempty"`
	Delivery *Delivery   `json:"delivery,omitempty"`
	Error    *ErrorEvent `json:"error,omitempty"`
	Fault    *Fault      `json:"fault,omitempty"`
	Note     string      `json:"note,omitempty"`
}

// LayerEvent is one OSCORE layer applied (protect) or removed (unprotect),
// with the report the oscore package returned; the tracer never recomputes it.
type LayerEvent struct {
	Action string         `json:"action"` // LayerApplied | LayerRemoved | LayerFailed
	Report *oscore.Report `json:"report,omitempty"`
	State  *SideState     `json:"state,omitempty"` // the acting node's side of the context right after the action
}

// SideState is one node's side of a Security Context as it stood right
// after a layer action: the Sender Sequence Number its next protection
// with its own Partial IV takes (RFC 8613 3.2.2, 7.2.1) and its replay
// window (RFC 8613 7.4). A replay of the trace shows each node's state
// at any step from these, without the live lab. Seen lists the received
// Partial IVs still inside the window, newest first; it holds at most
// MaxSideSeen of them.
type SideState struct {
	SenderSeq uint64   `json:"sender_seq"`
	Window    int      `json:"window"`
	Highest   int64    `json:"highest"` // -1: nothing received yet
	Seen      []uint64 `json:"seen,omitempty"`
	// Recipients: for a Group OSCORE context, which has one replay window
	// per other member (RFC 10021 2.2, 2.6), the window the node keeps for
	// each Recipient Context it holds, in the order of their kids; at most
	// MaxSideRecipients. Window and Highest above are then 0 and -1.
	Recipients []RecipientWindow `json:"recipients,omitempty"`
}

// RecipientWindow is the replay window a group member keeps for one other
// member, named by that member's Sender ID (kid, hex).
type RecipientWindow struct {
	KID     string   `json:"kid"`
	Window  int      `json:"window"`
	Highest int64    `json:"highest"` // -1: nothing received yet
	Seen    []uint64 `json:"seen,omitempty"`
}

// MaxSideRecipients bounds SideState.Recipients: Recipient Contexts made on
// the fly (RFC 10021 7.2) must not make every layer event grow with them.
const MaxSideRecipients = 64

// MaxSideSeen bounds SideState.Seen, so a wide replay window (up to 4096)
// does not make every layer event carry thousands of numbers; the newest
// are kept, which is what the views draw.
const MaxSideSeen = 64

// Decision is one branch a node took, named by the draft's step and section.
type Decision struct {
	Rule    string `json:"rule"`              // Rule* constants
	Step    string `json:"step,omitempty"`    // "1", "2->4"
	Section string `json:"section,omitempty"` // "2.4"
	Outcome string `json:"outcome"`           // plain words
	Code    string `json:"code,omitempty"`    // CoAP code when the decision is an error

	EDHOC *EDHOCPart `json:"edhoc,omitempty"` // rule edhoc: the message and the key schedule so far
}

// EDHOCPart is one EDHOC message as the deciding node sent or received it
// (RFC 9528 5): its items in wire order and the session's calculation
// cards up to this message, for the tracer's key-schedule view.
type EDHOCPart struct {
	Session string      `json:"session"` // the context the session establishes
	Role    string      `json:"role"`    // "initiator" or "responder"
	Message string      `json:"message"` // "message_1" ... "message_4", "error"
	Fields  []EDHOCItem `json:"fields,omitempty"`
	Cards   []EDHOCCard `json:"cards,omitempty"`
}

// EDHOCItem is one CBOR item of a message: its encoding (hex), diagnostic
// notation and, for identifiers and compact kids, the byte string it
// stands for.
type EDHOCItem struct {
	Name string `json:"name"`
	Hex  string `json:"hex"`
	Diag string `json:"diag"`
	Raw  string `json:"raw,omitempty"`
	Note string `json:"note,omitempty"`
}

// EDHOCCard is one calculation of the key schedule: what was hashed or
// which key was derived from which with which label (RFC 9528 4). Secret
// outputs are dropped from exported files unless secrets are included.
type EDHOCCard struct {
	Name     string   `json:"name"`
	Formula  string   `json:"formula"`
	Inputs   []string `json:"inputs,omitempty"`
	Input    string   `json:"input,omitempty"`
	Info     string   `json:"info,omitempty"`
	InfoDiag string   `json:"info_diag,omitempty"`
	Output   string   `json:"output,omitempty"`
	Secret   bool     `json:"secret,omitempty"`
}

// Delivery is a request or response handed to an application.
type Delivery struct {
	Resource string `json:"resource,omitempty"`
	Method   string `json:"method,omitempty"`
	Code     string `json:"code,omitempty"`
	Payload  string `json:"payload,omitempty"`
}

// ErrorEvent is an error response a node produced.
type ErrorEvent struct {
	Code        string   `json:"code"`
	Diagnostic  string   `json:"diagnostic,omitempty"`
	Reason      string   `json:"reason,omitempty"`
	ProtectedBy []string `json:"protected_by,omitempty"` // context names, innermost first
	Section     string   `json:"section,omitempty"`
}

// Multicast places a datagram of a group link in its fan-out or fan-in:
// loopback has no IP multicast, so the link records the datagram sent to
// the group once, then the copy it hands each member, then each member's
// reply from that member's own address (RFC 7252 8.2: a group request
// draws one response per server).
type Multicast struct {
	Group string `json:"group"`          // the group's node id
	Leg   string `json:"leg"`            // MulticastSend, MulticastCopy or MulticastReply
	Copy  int    `json:"copy,omitempty"` // copy: 1-based, in member order
	Of    int    `json:"of,omitempty"`   // send and copy: the number of members
}

// Legs of a group link (Multicast.Leg).
const (
	MulticastSend  = "send"  // the one datagram addressed to the group
	MulticastCopy  = "copy"  // the link's copy to one member
	MulticastReply = "reply" // a member's reply, from its own address
)

// Fault is a fault a link injected on purpose.
type Fault struct {
	Kind   string `json:"kind"` // "drop", "delay", "duplicate", "corrupt", "replay"
	Detail string `json:"detail,omitempty"`
}

// reportCost is what a layer event's report holds beside its plaintext and
// ciphertext once its details are built (oscore.Report.Complete): the
// boxes, the option rows, the AAD and the nonce parts.
const reportCost = 2048

// Cost estimates the memory an event keeps alive: the struct, its bytes,
// its texts and, for a layer event, its report. The bus bounds its ring by
// the sum (DefaultRingBytes); node ids and other shared strings are not
// counted.
func (e *Event) Cost() int {
	n := int(unsafe.Sizeof(*e)) + len(e.Bytes) + len(e.Note)
	if e.Multicast != nil {
		n += int(unsafe.Sizeof(*e.Multicast))
	}
	if d := e.Decision; d != nil {
		n += int(unsafe.Sizeof(*d)) + len(d.Outcome) + len(d.Step)
	}
	if d := e.Delivery; d != nil {
		n += int(unsafe.Sizeof(*d)) + len(d.Resource) + len(d.Payload)
	}
	if x := e.Error; x != nil {
		n += int(unsafe.Sizeof(*x)) + len(x.Diagnostic) + len(x.Reason) + 16*len(x.ProtectedBy)
	}
	if f := e.Fault; f != nil {
		n += int(unsafe.Sizeof(*f)) + len(f.Detail)
	}
	if l := e.Layer_; l != nil {
		n += int(unsafe.Sizeof(*l))
		if st := l.State; st != nil {
			n += int(unsafe.Sizeof(*st)) + 8*len(st.Seen)
			for _, r := range st.Recipients {
				n += int(unsafe.Sizeof(r)) + len(r.KID) + 8*len(r.Seen)
			}
		}
		if r := l.Report; r != nil {
			n += reportCost + len(r.Plaintext) + len(r.Ciphertext)
			for _, s := range r.Notes {
				n += 16 + len(s)
			}
		}
	}
	return n
}
