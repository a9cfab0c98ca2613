package trace

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"oscore-lab/oscore"
)

// File format identity (docs/trace-format.md).
const (
	FormatName    = "oscore-lab-trace"
	FormatVersion = 1
)

// Trace is a recorded run: the scenario it came from, the topology, the
// security contexts and every event, in the JSON format version 1 described
// in docs/trace-format.md.
type Trace struct {
	Format   string        `json:"format"`
	Version  int           `json:"version"`
	Creator  string        `json:"creator,omitempty"` // binary name and version
	Scenario ScenarioInfo  `json:"scenario"`
	Nodes    []NodeInfo    `json:"nodes"`
	Contexts []ContextInfo `json:"contexts"`
	Groups   []GroupInfo   `json:"groups,omitempty"`
	Events   []Event       `json:"events"`
}

// MulticastSimulated is what a trace says of every group: loopback has no
// IP multicast, so the lab copies each datagram sent to a group itself.
const MulticastSimulated = "IP multicast simulated by a fan-out link (loopback has no multicast): one datagram to the group's address, one copy to each member; each member answers from its own address"

// GroupInfo is one CoAP group: its address (a lab port, not a multicast
// address), its members, the group context they hold, and how multicast
// is carried.
type GroupInfo struct {
	ID        string   `json:"id"`
	Addr      string   `json:"addr,omitempty"`
	Members   []string `json:"members"`
	Context   string   `json:"context,omitempty"` // Group OSCORE context; "" plain CoAP
	Multicast string   `json:"multicast"`         // MulticastSimulated
}

// NewTrace assembles a version 1 trace from a run: typically the bus's
// Recent() events and the topology the nodes report.
func NewTrace(s ScenarioInfo, nodes []NodeInfo, contexts []ContextInfo, events []Event) *Trace {
	return &Trace{Format: FormatName, Version: FormatVersion, Scenario: s, Nodes: nodes, Contexts: contexts, Events: events}
}

// ScenarioInfo names the scenario a trace was recorded from.
type ScenarioInfo struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Section     string `json:"section,omitempty"` // the RFC or draft section it shows
	Explanation string `json:"explanation,omitempty"`
}

// NodeInfo is one node of the topology.
type NodeInfo struct {
	ID   string `json:"id"`
	Role string `json:"role"` // "client" | "proxy" | "server" | "external"
	Addr string `json:"addr,omitempty"`
}

// ContextInfo is one OSCORE security context shared by two endpoints
// (RFC 8613 3.1). MasterSecret is nil in a redacted trace; Fingerprint is
// always set so that readers can tell two traces used the same secret.
type ContextInfo struct {
	Name         string     `json:"name"`
	Alg          int        `json:"alg"`  // COSE AEAD number, 10 = AES-CCM-16-64-128
	HKDF         string     `json:"hkdf"` // "SHA-256" | "SHA-512"
	MasterSecret NullHex    `json:"master_secret"`
	MasterSalt   oscore.Hex `json:"master_salt"`
	IDContext    NullHex    `json:"id_context"`
	Fingerprint  string     `json:"fingerprint"`
	Demo         bool       `json:"demo"` // the public RFC 8613 Appendix C secret: never redacted
	Endpoints    []Endpoint `json:"endpoints"`
}

// Endpoint is one side of a context: the node and its IDs.
type Endpoint struct {
	Node        string     `json:"node"`
	SenderID    oscore.Hex `json:"sender_id"`
	RecipientID oscore.Hex `json:"recipient_id"`
}

// NullHex is hex in JSON, or null when nil (absent or redacted).
type NullHex []byte

// MarshalJSON writes null for nil, else a lowercase hex string.
func (h NullHex) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return json.Marshal(hex.EncodeToString(h))
}

// UnmarshalJSON reads null as nil and a hex string as bytes (non-nil even
// when empty).
func (h *NullHex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("trace: want a hex string or null, got %s", b)
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("trace: bad hex %q: %v", s, err)
	}
	*h = append(make([]byte, 0, len(v)), v...)
	return nil
}

// NewContextInfo describes a context from its parameters, with its
// fingerprint and demo flag; the secret is kept (WriteJSON redacts it).
func NewContextInfo(name string, p oscore.Params, endpoints ...Endpoint) ContextInfo {
	alg, hk := p.AEAD, p.HKDF
	if alg == 0 {
		alg = oscore.AESCCM16_64_128
	}
	if hk == 0 {
		hk = oscore.HKDFSHA256
	}
	c := ContextInfo{
		Name:         name,
		Alg:          int(alg),
		HKDF:         hk.String(),
		MasterSecret: NullHex(bytes.Clone(p.MasterSecret)),
		MasterSalt:   oscore.Hex(bytes.Clone(p.MasterSalt)),
		Fingerprint:  Fingerprint(p.MasterSecret),
		Demo:         IsDemoSecret(p.MasterSecret),
		Endpoints:    endpoints,
	}
	if c.MasterSalt == nil {
		c.MasterSalt = oscore.Hex{}
	}
	if p.IDContext != nil {
		c.IDContext = NullHex(append([]byte{}, p.IDContext...))
	}
	return c
}
