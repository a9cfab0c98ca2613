package oscore

import "github.com/plgd-dev/go-coap/v3/message"

// Report records one protect or unprotect step in full, so that a tracer
// or the UI can show every intermediate value without recomputing any
// cryptography (RFC 8613 5.2 nonce, 5.3 plaintext, 5.4 AAD, 3.2.1 keys,
// 4.1 option classes; draft 2.2 step paths). All byte fields marshal to hex.
//
// Protect and unprotect run on every message, so they record only what is
// cheap: Context, Action, Message, Plaintext, Ciphertext and Notes are set
// when the call returns; the Details are built on first use, by Complete
// and by MarshalJSON, from references to the bytes the call used and each
// option's class decision in compact form. Read Details only after Complete
// (the pointer is nil before). Byte fields share memory with the messages
// and the context: treat a report as read-only.
type Report struct {
	Context    string   `json:"context"`
	Action     string   `json:"action"`  // "protect" | "unprotect"
	Message    string   `json:"message"` // "request" | "response"
	*Details            // built by Complete; its fields encode here, in this order
	Plaintext  Hex      `json:"plaintext"`
	Ciphertext Hex      `json:"ciphertext"`
	Notes      []string `json:"notes,omitempty"` // decisions in plain words (e.g. "Proxy-Uri decomposed (RFC 8613 4.1.3.3)")

	lazy *reportLazy // nil for reports decoded from JSON or made by hand
}

// Details are the fields of a report derived from what protect or
// unprotect recorded: the OSCORE option and its parts (RFC 8613 6.1), the
// nonce (5.2), the AAD (5.4), the key (3.2.1), every option's class in this
// layer (4.1, draft 2.2) and the outer and inner codes (4.2).
type Details struct {
	KID         Hex            `json:"kid,omitempty"`
	KIDContext  Hex            `json:"kid_context,omitempty"`
	PartialIV   Hex            `json:"partial_iv,omitempty"`
	Seq         int64          `json:"seq"`          // sequence number from the Partial IV, -1 when absent
	Option      string         `json:"option"`       // canonical text of the OSCORE option: "[kid:, piv:14]" or "-"
	OptionValue Hex            `json:"option_value"` // the OSCORE option bytes
	Nonce       NonceReport    `json:"nonce"`
	AAD         AADReport      `json:"aad"`
	Key         KeyReport      `json:"key"`
	Options     []OptionReport `json:"options"`
	OuterCode   string         `json:"outer_code"`
	InnerCode   string         `json:"inner_code"`
	Group       *GroupReport   `json:"group,omitempty"` // a Group OSCORE layer (RFC 10021); its Nonce, AAD and Key replace the ones above
}

// reportBox holds a report with its lazy state in one allocation.
type reportBox struct {
	rep Report
	lz  reportLazy
}

// responseBox is a response's report box with room for its first note
// (a response's report usually has one, a request's rarely), for the
// message the call returns and for a nonce from the response's own Partial
// IV (a response reusing the request nonce points to its Binding's).
type responseBox struct {
	reportBox
	firstNote [1]string
	room      msgRoom
	nonce     nonceBuf
}

func (x *responseBox) init(action, msg string) *Report {
	r := x.reportBox.init(action, msg)
	r.Notes = x.firstNote[:0:1]
	return r
}

// reportAndBinding puts a request's report, its binding and the message
// the call returns in one allocation (they live as long as each other in
// practice). The request nonce lives in the binding, where the report
// reads it.
type reportAndBinding struct {
	reportBox
	b    Binding
	room msgRoom
}

func (x *reportBox) init(action, msg string) *Report {
	r := &x.rep // fields set one by one: the box is already zero
	r.Action, r.Message, r.lazy = action, msg, &x.lz
	x.lz.owner = r
	return r
}

func newReportAndBinding(action, msg string) (*Report, *Binding, *msgRoom) {
	x := new(reportAndBinding)
	return x.init(action, msg), &x.b, &x.room
}

// Room in a report box for the message a protect or unprotect returns: its
// option list and the bytes of the OSCORE option, plaintext, ciphertext and
// AAD. A 64-byte-payload request through one layer needs 190 to 194
// bytes with a Partial IV of one to three bytes and an 8-byte tag, 198 to
// 202 with a 16-byte tag; larger messages get their own allocations. The
// returned message then shares the box with its report, which already
// referred to those bytes. The room is what brings a request's box to 760
// bytes: with the 8-byte header the runtime adds to objects of more than
// 512 bytes with pointers, it fills the 768-byte size class (a response's
// box: 704 bytes, also class 768).
const (
	roomOpts  = 4
	roomBytes = 200
)

type msgRoom struct {
	opts  [roomOpts]message.Option
	bytes [roomBytes]byte
}

// byteBuf returns an empty slice with capacity n, in the room when it fits.
// Each room hands out its bytes once.
func (r *msgRoom) byteBuf(n int) []byte {
	if n <= len(r.bytes) {
		return r.bytes[:0:n]
	}
	return make([]byte, 0, n)
}

// optBuf returns an empty option list with capacity n, in the room when it
// fits. Each room hands out its options once.
func (r *msgRoom) optBuf(n int) message.Options {
	if n <= len(r.opts) {
		return r.opts[:0:n]
	}
	return make(message.Options, 0, n)
}

// NonceReport shows the nonce construction of RFC 8613 5.2: the Sender ID
// of the Partial IV's generator (ID_PIV), S || ID_PIV left-padded to
// nonce_len-6 bytes, the Partial IV left-padded to 5 bytes, the Common IV
// and the XOR of the concatenation with the Common IV.
type NonceReport struct {
	IDPIV       Hex    `json:"id_piv"`
	PaddedIDPIV Hex    `json:"padded_id_piv"` // S (1 byte) || ID_PIV left-padded to nonce_len-6
	PaddedPIV   Hex    `json:"padded_piv"`    // 5 bytes
	CommonIV    Hex    `json:"common_iv"`
	Nonce       Hex    `json:"nonce"`
	PIVFrom     string `json:"piv_from"` // "request" (request nonce reused) or "own"
}

// AADReport shows the Additional Authenticated Data (RFC 8613 5.4): the
// aad_array, external_aad (its bstr wrapping), the Enc_structure bytes
// and its CBOR diagnostic notation.
type AADReport struct {
	Alg         int    `json:"alg_aead"`
	RequestKID  Hex    `json:"request_kid"`
	RequestPIV  Hex    `json:"request_piv"`
	Options     Hex    `json:"options"` // Class I options (none are defined)
	AADArray    Hex    `json:"aad_array"`
	ExternalAAD Hex    `json:"external_aad"`
	AAD         Hex    `json:"aad"`
	Diag        string `json:"diag"`
}

// KeyReport names the key that was used and how it was derived
// (RFC 8613 3.2.1). Key may be cleared with Report.Redact.
type KeyReport struct {
	Which    string `json:"which"` // "sender" | "recipient"
	Alg      string `json:"alg"`
	Info     Hex    `json:"info"`
	InfoDiag string `json:"info_diag"`
	Key      Hex    `json:"key,omitempty"`
}

// OptionReport is one option of the unprotected message and what the layer
// did with it: its original class (RFC 8613 4.1), the class in this layer
// and the draft's step path (section 2.2) when the rule ran, with the step
// that settled the class and why.
type OptionReport struct {
	Number    uint16 `json:"number"`
	Name      string `json:"name"`
	Value     Hex    `json:"value"`
	Text      string `json:"text"` // value in its format: "\"example.com\"", "5", "[kid:5f, piv:2a]"
	Original  string `json:"original"`
	Class     string `json:"class"`
	Steps     []int  `json:"steps,omitempty"`
	Step      int    `json:"step,omitempty"`   // the step that settled the class (DecisiveStep)
	Reason    string `json:"reason,omitempty"` // why, in the draft's words, X named by RuleOtherEnd
	Where     string `json:"where"`            // "inner", "outer", "inner+outer", "discarded"
	Escalated bool   `json:"escalated,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Redact completes the report and clears its key bytes (for exports
// without secrets). Copies of a report share its Details: Redact gives r
// its own copy without the key and changes nothing the others see.
func (r *Report) Redact() {
	if r = r.Complete(); r == nil || r.Details == nil {
		return
	}
	if r.Key.Key != nil || (r.Group != nil && r.Group.Key.Key != nil) {
		d := *r.Details
		d.Key.Key = nil
		if d.Group != nil {
			g := *d.Group
			g.Key.Key = nil
			d.Group = &g
		}
		r.Details = &d
	}
}
