package scenario

// Scenario is one lab configuration: the nodes, the OSCORE Security Contexts
// between them, the faults on the links and the requests to send.
// docs/scenarios.md describes every field; scenario.schema.json is the same
// model as a JSON Schema (draft 2020-12).
type Scenario struct {
	Name        string    `json:"name"`
	Title       string    `json:"title,omitempty"`
	Section     string    `json:"section,omitempty"`     // "draft-ietf-core-oscore-capable-proxies B.3" / "RFC 8613 C.4"
	Explanation string    `json:"explanation,omitempty"` // a paragraph for a tutorial audience
	Nodes       []Node    `json:"nodes"`
	Contexts    []Context `json:"contexts,omitempty"`
	Links       []Link    `json:"links,omitempty"` // declared links and their faults; a link exists implicitly between nodes that talk
	Steps       []Step    `json:"steps,omitempty"`
	// GroupContexts are Group OSCORE Security Contexts (RFC 10021), each
	// shared by its members; Groups are CoAP groups, each reached through
	// a link that stands in for IP multicast (groups.go).
	GroupContexts []GroupContext `json:"group_contexts,omitempty"`
	Groups        []Group        `json:"groups,omitempty"`
	// MulticastNotifications is a group observation run after the steps
	// (mcast.go).
	MulticastNotifications *MulticastNotifications `json:"multicast_notifications,omitempty"`
}

// Roles a node can play.
const (
	RoleClient   = "client"
	RoleProxy    = "proxy"
	RoleServer   = "server"
	RoleExternal = "external"
)

// DefaultLayerLimit is the number of OSCORE layers a node accepts or applies
// when the scenario sets no layer_limit (draft section 2.1 asks for a limit).
const DefaultLayerLimit = 4

// DefaultHopLimit is the Hop-Limit a proxy inserts when a request carries
// none (RFC 8768 section 3).
const DefaultHopLimit = 16

// NoHopLimit as a proxy's hop_limit means it inserts no Hop-Limit (it still
// decrements one it receives), as in the draft's Appendix B figures.
const NoHopLimit = -1

// Node is one CoAP endpoint of the lab.
type Node struct {
	ID              string              `json:"id"`                          // "C", "P1", "S"
	Role            string              `json:"role"`                        // "client" | "proxy" | "server" | "external"
	Listen          string              `json:"listen,omitempty"`            // "127.0.0.1:5683"; empty = port 0
	Addr            string              `json:"addr,omitempty"`              // external: address:port of the outside endpoint
	Sources         []string            `json:"sources,omitempty"`           // external: more source addresses it sends from ("192.0.2.7", "127.0.0.1:40000", "10.0.0.0/8"); see ParseSource
	Authority       string              `json:"authority,omitempty"`         // host name this node answers to, e.g. "example.com"
	Forward         bool                `json:"forward,omitempty"`           // proxy: acts as forward-proxy
	Reverse         []ReverseRoute      `json:"reverse,omitempty"`           // proxy: reverse-proxy routes
	Upstream        string              `json:"upstream,omitempty"`          // forward-proxy: next proxy for forward-proxied requests (B.6 P1 -> P2)
	NextHopContexts map[string]string   `json:"next_hop_contexts,omitempty"` // next-hop node id -> context to add a layer with (draft 2.3)
	Allow           map[string][]string `json:"allow,omitempty"`             // acceptability (draft 2.4 step 4): context that removed the previous layer ("" none) -> allowed target node ids ("*" any)
	LayerLimit      int                 `json:"layer_limit,omitempty"`       // 0 = DefaultLayerLimit
	SourcePolicy    map[string][]string `json:"source_policy,omitempty"`     // (draft 2.4.1) previous-hop node id -> contexts accepted from it
	Resources       []string            `json:"resources,omitempty"`         // server: "name", "alias=name" or "path=text:VALUE"; see ParseResource
	HopLimit        int                 `json:"hop_limit,omitempty"`         // proxy: Hop-Limit to insert when missing (0 = DefaultHopLimit, NoHopLimit = none)
	RequireEcho     bool                `json:"require_echo,omitempty"`      // server: a context without replay state takes a request only after an Echo round trip (RFC 8613 B.1.2, RFC 9175)
}

// ReverseRoute sends requests that match Host and/or PathPrefix to node To.
// Contexts says whether requests on the route carry a layer for the proxy
// itself (B.7): the proxy removes a layer of one of them before it
// forwards; with none, it forwards every layer untouched (draft 2.4 step 3).
type ReverseRoute struct {
	Host       string   `json:"host,omitempty"`        // match Uri-Host
	PathPrefix []string `json:"path_prefix,omitempty"` // match and consume these leading Uri-Path segments
	To         string   `json:"to"`                    // target node id
	Contexts   []string `json:"contexts,omitempty"`    // contexts whose layer the proxy removes before forwarding
	// StandsForMembers: the route's target is a group and the proxy
	// stands in for each member too (draft-ietf-core-groupcomm-proxy 6.1,
	// first case, App. A.1): Reply-From names the proxy and, in a CRI
	// reference, the member. Otherwise it names the member.
	StandsForMembers bool `json:"stands_for_members,omitempty"`
}

// Context is one OSCORE Security Context shared by two endpoints
// (RFC 8613 section 3).
type Context struct {
	Name          string            `json:"name"` // "CTX_C_S"
	A             Endpoint          `json:"a"`
	B             Endpoint          `json:"b"`
	MasterSecret  string            `json:"master_secret,omitempty"`   // hex; empty only for a context EDHOC establishes
	MasterSalt    string            `json:"master_salt,omitempty"`     // hex
	IDContext     *string           `json:"id_context,omitempty"`      // hex; nil = absent
	SendIDContext bool              `json:"send_id_context,omitempty"` // include kid context in requests
	Alg           string            `json:"alg,omitempty"`             // "10" or a name; default 10
	HKDF          string            `json:"hkdf,omitempty"`            // "SHA-256" (default) | "SHA-512"
	ReplayWindow  int               `json:"replay_window,omitempty"`   // 0 = 32
	Seq           map[string]uint64 `json:"seq,omitempty"`             // node id -> pinned initial sender sequence number
	ResponsePIV   bool              `json:"response_piv,omitempty"`    // responses protected with this context carry the responder's own Partial IV (RFC 8613 C.8, draft 2.5.1)
	EDHOC         *EDHOC            `json:"edhoc,omitempty"`           // established by EDHOC between a (Initiator) and b (Responder)
}

// EDHOC has a context established by an EDHOC session (RFC 9528) that a
// step with "edhoc" runs: endpoint a is the Initiator, b the Responder,
// C_I is a's recipient_id and C_R its sender_id (RFC 9528 A.1). Until the
// step runs, the context has no master_secret and does not exist in the
// lab; afterwards the lab fills master_secret and master_salt from the
// EDHOC exporter.
type EDHOC struct {
	Method          int           `json:"method"`                     // 0-3 (RFC 9528 3.2)
	Suites          []int         `json:"suites"`                     // the Initiator's cipher suites, most preferred first
	ResponderSuites []int         `json:"responder_suites,omitempty"` // default: the last of suites
	Initiator       EDHOCIdentity `json:"initiator"`
	Responder       EDHOCIdentity `json:"responder"`
	PinInitiator    []string      `json:"pin_initiator,omitempty"` // hex ephemeral private keys X, in order (demonstrations only)
	PinResponder    []string      `json:"pin_responder,omitempty"` // hex ephemeral private keys Y
	// CombinedRequest sends message_3 inside the first OSCORE request that
	// uses the context (RFC 9668), instead of on its own.
	CombinedRequest bool `json:"combined_request,omitempty"`
}

// EDHOCIdentity is one side's authentication credential and private key.
type EDHOCIdentity struct {
	Credential string `json:"credential"`         // "ccs" (identified by its kid) or "x509" (by x5t)
	Cred       string `json:"cred"`               // hex: the CCS exactly as CRED_x, or the DER certificate
	PrivateKey string `json:"private_key"`        // hex: Ed25519 seed, X25519 or P-256 scalar
	ByValue    bool   `json:"by_value,omitempty"` // send ID_CRED by value (kccs, x5chain)
}

// Endpoint is one side of a Context.
type Endpoint struct {
	Node        string `json:"node"`
	SenderID    string `json:"sender_id"`    // hex, may be empty
	RecipientID string `json:"recipient_id"` // hex, may be empty
	// MasterSecret, when set, replaces the context's Master Secret at this
	// endpoint only: the two ends then derive different keys, which is how
	// a scenario shows a misconfigured or stale key (RFC 8613 section 8.2).
	MasterSecret string `json:"master_secret,omitempty"` // hex
}

// Link names the relay between two nodes so faults can be put on it.
type Link struct {
	A      string  `json:"a"`
	B      string  `json:"b"`
	Faults []Fault `json:"faults,omitempty"`
}

// Fault kinds a link can inject.
const (
	FaultDrop      = "drop"
	FaultDelay     = "delay"
	FaultDuplicate = "duplicate"
	FaultCorrupt   = "corrupt"
	FaultReplay    = "replay"
	FaultStrip     = "strip"
)

// Fault is one misbehaviour of a link.
type Fault struct {
	Kind     string `json:"kind"`                // "drop"|"delay"|"duplicate"|"corrupt"|"replay"|"strip"
	Dir      string `json:"dir,omitempty"`       // "a->b" | "b->a" | "" both
	Match    int    `json:"match,omitempty"`     // apply to the Nth datagram in that direction (1-based); 0 = every
	Delay    string `json:"delay,omitempty"`     // "50ms"
	Byte     int    `json:"byte,omitempty"`      // corrupt: index of the byte to flip
	ReplayOf int    `json:"replay_of,omitempty"` // replay: send the bytes of the Nth datagram (same direction) in place of the matched one, with the matched one's MID and token
	Code     string `json:"code,omitempty"`      // strip: the code of the clear answer (default "2.05")
	Payload  string `json:"payload,omitempty"`   // strip: the payload of the clear answer (UTF-8)
}

// Step is one request the scenario sends.
type Step struct {
	Name       string       `json:"name,omitempty"`
	From       string       `json:"from"`                  // client node id
	Method     string       `json:"method"`                // GET POST PUT DELETE FETCH
	URI        string       `json:"uri"`                   // "coap://example.com/alarm_status"
	Payload    string       `json:"payload,omitempty"`     // UTF-8
	Route      []string     `json:"route,omitempty"`       // proxies to traverse, in order (first = next hop)
	ProxyStyle string       `json:"proxy_style,omitempty"` // "proxy-scheme" (default with a forward route) | "proxy-uri" | "reverse"
	Contexts   []string     `json:"contexts,omitempty"`    // contexts the client applies, innermost first (draft 2.3)
	Type       string       `json:"type,omitempty"`        // "CON" (default) | "NON"
	Observe    string       `json:"observe,omitempty"`     // "" | "register" | "deregister"
	Token      string       `json:"token,omitempty"`       // hex, pinned on the first leg
	MID        *int         `json:"mid,omitempty"`         // pinned on the first leg
	HopTokens  []string     `json:"hop_tokens,omitempty"`  // pinned tokens per later leg (index 0 = second leg)
	HopMIDs    []int        `json:"hop_mids,omitempty"`    // pinned MIDs per later leg (index 0 = second leg)
	Options    []StepOption `json:"options,omitempty"`     // extra options
	Hops       int          `json:"hop_limit,omitempty"`   // client-inserted Hop-Limit (0 = none)
	Repeat     int          `json:"repeat,omitempty"`      // send the request this many times (0 = once)
	Seq        []SeqPin     `json:"seq,omitempty"`         // sender sequence numbers pinned for this step
	NonceReuse bool         `json:"nonce_reuse,omitempty"` // the step demonstrates nonce reuse: its seq pins may move back to used numbers
	Expect     *Expect      `json:"expect,omitempty"`
	EDHOC      string       `json:"edhoc,omitempty"` // run EDHOC for this context instead of sending a request (RFC 9528 A.2)
	// To names a group: the request goes as one NON datagram to the
	// group's address and every member may answer (RFC 7252 8.2). The
	// URI gives the path and query; its host is not looked up.
	To     string `json:"to,omitempty"`
	Mode   string `json:"mode,omitempty"`   // group step with a group context: "group" (default, RFC 10021 7) | "pairwise" (8)
	Member string `json:"member,omitempty"` // pairwise group step: the member whose pairwise key protects the request (RFC 10021 8.3)
	// A group step with a route goes through the proxy route[0]
	// (draft-ietf-core-groupcomm-proxy 5.1.1): MulticastTimeout is the
	// Multicast-Timeout T' in seconds it carries (nil: none, which the
	// proxy answers with 4.00), EarlyStopAfter sends an Early Stop
	// Request once that many responses are in (5.1.3; 0: never).
	MulticastTimeout *int `json:"multicast_timeout,omitempty"`
	EarlyStopAfter   int  `json:"early_stop_after,omitempty"`
	// ReplyFrom makes a unicast step a follow-up to a member that an
	// earlier group step reached through a reverse-proxy standing in for
	// it (draft-ietf-core-groupcomm-proxy 6.2): the request goes to the
	// step's route with Uri-Host and Uri-Port from the CRI reference of
	// the Reply-From that member's response carried.
	ReplyFrom string `json:"reply_from,omitempty"`
}

// Group OSCORE modes of a group step.
const (
	ModeGroup    = "group"
	ModePairwise = "pairwise"
)

// Proxy styles of a step.
const (
	StyleProxyScheme = "proxy-scheme"
	StyleProxyURI    = "proxy-uri"
	StyleReverse     = "reverse"
)

// StepOption is an extra CoAP option the client adds to the request. Value
// (hex) and Text (UTF-8) are exclusive; both empty is an empty option.
type StepOption struct {
	Number uint16 `json:"number"`
	Value  string `json:"value,omitempty"` // hex
	Text   string `json:"text,omitempty"`  // UTF-8
}

// SeqPin sets the sender sequence number Node uses with Context for the
// step's request (or its response, when Node answers), before the step runs.
type SeqPin struct {
	Context string `json:"context"`
	Node    string `json:"node"`
	Value   uint64 `json:"value"`
}

// Expect is what the client must see at the end of a step, after removing
// every layer it can.
type Expect struct {
	Code       string  `json:"code,omitempty"`        // "2.05"
	Payload    *string `json:"payload,omitempty"`     // exact UTF-8 payload; nil = not checked
	Timeout    string  `json:"timeout,omitempty"`     // "2s"; default 5s
	NoResponse bool    `json:"no_response,omitempty"` // no response must arrive within Timeout
	Refused    bool    `json:"refused,omitempty"`     // the client must refuse the response (a layer it added is missing)
	// Responses is what a group step must collect, one entry per member
	// that is checked; members without an entry are not checked.
	Responses []MemberResponse `json:"responses,omitempty"`
	// MulticastTimeout is the Multicast-Timeout the proxy's own answer to a
	// group step carries (4.00: 0; 5.05 in a chain: the least T' it
	// accepts); nil: not checked.
	MulticastTimeout *int `json:"multicast_timeout,omitempty"`
}

// MemberResponse is the expectation on one member's answer to a group
// request.
type MemberResponse struct {
	From       string  `json:"from"`                  // member node id
	Code       string  `json:"code,omitempty"`        // "2.05"; empty with payload unset: any verified response
	Payload    *string `json:"payload,omitempty"`     // exact UTF-8 payload; nil = not checked
	NoResponse bool    `json:"no_response,omitempty"` // no verified response from this member may arrive
	Refused    bool    `json:"refused,omitempty"`     // a response comes from this member's address and the client refuses it
}
