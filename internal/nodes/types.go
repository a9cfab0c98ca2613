package nodes

import (
	"time"

	"oscore-lab/oscore"
)

// Result is the outcome of one step: what the client got back after
// removing every layer it could.
type Result struct {
	Step     string        `json:"step"`
	Exchange int           `json:"exchange"`
	Code     string        `json:"code"`    // "2.05", "" when no response
	Payload  string        `json:"payload"` // UTF-8 of the innermost payload
	Layers   []string      `json:"layers"`  // contexts removed from the response by the client, innermost first
	OK       bool          `json:"ok"`      // expectations held (true when the step has none and a response came)
	Problem  string        `json:"problem,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	// Notifications counts the Observe notifications received after the
	// first response (observe register steps).
	Notifications int `json:"notifications,omitempty"`
	// Responses are what a step sent to a group received: each member's
	// verified response and each refused datagram, in arrival order.
	Responses []MemberResult `json:"responses,omitempty"`
}

// LabState is a snapshot for the node panel.
type LabState struct {
	Nodes []NodeState `json:"nodes"`
	Links []LinkInfo  `json:"links"`
}

// NodeState is one node's counters and its Security Contexts.
type NodeState struct {
	ID, Role, Addr         string
	Received, Sent, Errors uint64
	Contexts               []ContextState `json:"contexts"`
}

// ContextState is one Security Context as a node holds it.
type ContextState struct {
	Name        string             `json:"name"`
	Peer        string             `json:"peer"`
	SenderID    oscore.Hex         `json:"sender_id"`
	RecipientID oscore.Hex         `json:"recipient_id"`
	SenderSeq   uint64             `json:"sender_seq"`
	Replay      oscore.ReplayState `json:"replay"`
	LayerLimit  int                `json:"layer_limit"`
}

// NodeInfo names a node and its real listening address.
type NodeInfo struct {
	ID, Role, Addr string
	Links          []string `json:"links,omitempty"` // ids of the links touching the node
}
