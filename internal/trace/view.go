package trace

import (
	"fmt"
	"sort"

	"oscore-lab/oscore"
)

// view is the analysis every renderer shares: each datagram decoded, its
// layer stack recovered from the layer-applied reports, and every other
// event tied to the datagram that caused it.
type view struct {
	t        *Trace
	nodes    []string           // node order: t.Nodes, then first appearance
	dgrams   map[int]*dgramView // by event index
	attached map[int][]int      // datagram event index -> indices of events shown under it
	under    map[int]bool       // events shown under a datagram
	byCipher map[string][]int   // ciphertext -> layer-applied event indices
	removed  map[string][]int   // ciphertext -> layer-removed event indices
	used     map[int]bool       // layer-applied events that appear in some stack
	applied  map[layerKey][]int // (exchange, hop, dir, node) -> layer-applied event indices
}

type layerKey struct {
	exchange, hop int
	dir, node     string
}

// dgramView is one datagram as renderers show it.
type dgramView struct {
	raw    []byte
	msg    *Datagram // nil when malformed
	err    error
	stack  []*oscore.Report // layers, outermost first
	inner  string           // payload with nested layers: `{CTX_C_P: POST, …, 0xff, {CTX_C_S: …}}`
	reason string           // why the stack is missing although layers were applied
	sent   string           // then: what the sender's layers held
}

func newView(t *Trace) *view {
	if t == nil {
		t = &Trace{}
	}
	v := &view{
		t:        t,
		dgrams:   map[int]*dgramView{},
		attached: map[int][]int{},
		under:    map[int]bool{},
		byCipher: map[string][]int{},
		removed:  map[string][]int{},
		used:     map[int]bool{},
		applied:  map[layerKey][]int{},
	}
	seen := map[string]bool{}
	addNode := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			v.nodes = append(v.nodes, id)
		}
	}
	for _, n := range t.Nodes {
		addNode(n.ID)
	}
	for i, e := range t.Events {
		switch e.Type {
		case TypeDatagram:
			addNode(e.From)
			addNode(e.To)
		case TypeLayer:
			addNode(e.Node)
			if l := e.Layer_; l != nil && l.Action == LayerApplied && l.Report != nil {
				p := string(wirePayload(l.Report))
				v.byCipher[p] = append(v.byCipher[p], i)
				k := layerKey{e.Exchange, e.Hop, e.Dir, e.Node}
				v.applied[k] = append(v.applied[k], i)
			}
			if l := e.Layer_; l != nil && l.Action == LayerRemoved && l.Report != nil {
				p := string(wirePayload(l.Report))
				v.removed[p] = append(v.removed[p], i)
			}
		default:
			addNode(e.Node)
		}
	}
	for i, e := range t.Events {
		if e.Type == TypeDatagram {
			v.dgrams[i] = v.decode(i, e)
		}
	}
	v.attach()
	return v
}

// decode parses a datagram and recovers its layers: the payload of an
// OSCORE message is the ciphertext of the outermost layer (RFC 8613 5), so
// the report whose ciphertext equals it is that layer, and so on inwards.
func (v *view) decode(i int, e Event) *dgramView {
	d := &dgramView{raw: e.Bytes}
	d.msg, d.err = ParseDatagram(e.Bytes)
	if d.err != nil {
		return d
	}
	if _, ok := d.msg.Option(optOSCORE); !ok || len(d.msg.Payload) == 0 {
		return d
	}
	if inner, stack := v.nest(d.msg.Payload, e.Seq, 0); len(stack) > 0 {
		d.inner, d.stack = inner, stack
	} else if sent := v.outermost(layerKey{e.Exchange, e.Hop, e.Dir, e.From}); sent >= 0 {
		d.reason = "payload is not the ciphertext " + e.From + " produced: changed in flight?"
		if text, _ := v.nest(wirePayload(v.t.Events[sent].Layer_.Report), e.Seq, 0); text != "" {
			d.sent = e.From + " sent: 0xff, " + text
		}
	}
	return d
}

// outermost is the index of the highest layer applied under k, or -1.
func (v *view) outermost(k layerKey) int {
	best := -1
	for _, j := range v.applied[k] {
		if best < 0 || v.t.Events[j].Layer > v.t.Events[best].Layer {
			best = j
		}
	}
	return best
}

// maxNesting bounds recursion on hostile traces (the draft's layer limit is
// far lower).
const maxNesting = 16

// nest renders payload as the layer whose ciphertext it is, recursively.
// With no such layer it returns the payload as bytes and no stack.
func (v *view) nest(payload []byte, before uint64, depth int) (string, []*oscore.Report) {
	idx, applied := v.layerOf(payload, before)
	if idx < 0 && depth < maxNesting {
		// An EDHOC + OSCORE request (RFC 9668 3.2.1): message_3, a CBOR
		// byte string, then the ciphertext of the layer.
		if m3, rest, ok := splitCombined(payload); ok {
			if j, _ := v.layerOf(rest, before); j >= 0 {
				text, stack := v.nest(rest, before, depth+1)
				return "EDHOC message_3 " + bytesText(m3) + " || " + text, stack
			}
		}
	}
	if idx < 0 || depth >= maxNesting {
		return bytesText(payload), nil
	}
	if applied {
		v.used[idx] = true
	}
	r := v.t.Events[idx].Layer_.Report
	code, opts, inner, err := ParsePlaintext(r.Plaintext)
	if err != nil {
		return fmt.Sprintf("{%s: malformed plaintext (%v)}", r.Context, err), []*oscore.Report{r}
	}
	innerText, stack := "", []*oscore.Report(nil)
	if len(inner) > 0 {
		innerText, stack = v.nest(inner, v.t.Events[idx].Seq, depth+1)
		innerText = "0xff, " + innerText
	}
	return layerText(r.Context, code, opts, innerText), append([]*oscore.Report{r}, stack...)
}

// layerOf finds the layer event whose ciphertext is payload. A layer the
// sender applied comes first: the latest published before the datagram
// (a retransmission repeats bytes; candidates are in event order). A
// sender outside the lab publishes none, so the receiver's removal stands
// in for it: the first published after before, else the latest before it
// (a retransmission answered from the duplicate table is not decrypted
// again).
func (v *view) layerOf(payload []byte, before uint64) (idx int, applied bool) {
	if i := v.lastBefore(v.byCipher[string(payload)], before); i >= 0 {
		return i, true
	}
	cands := v.removed[string(payload)]
	if len(cands) == 0 {
		return -1, false
	}
	n := v.countBefore(cands, before)
	if n < len(cands) {
		return cands[n], false
	}
	return cands[n-1], false
}

// countBefore is how many of cands (event indices in order) were
// published before seq; all of them when seq is 0.
func (v *view) countBefore(cands []int, seq uint64) int {
	if seq == 0 {
		return len(cands)
	}
	return sort.Search(len(cands), func(k int) bool { return v.t.Events[cands[k]].Seq >= seq })
}

func (v *view) lastBefore(cands []int, seq uint64) int {
	if n := v.countBefore(cands, seq); n > 0 {
		return cands[n-1]
	}
	return -1
}

// attach ties each node event to the datagram that caused it: the latest
// datagram of the same exchange delivered to that node, or else the next one
// the node sends in that exchange. Layer-applied events that appear in a
// datagram's stack are not shown again.
func (v *view) attach() {
	evs := v.t.Events
	type key struct {
		node     string
		exchange int
	}
	// nextFrom[i][k]: first datagram at or after i sent by k.node in k.exchange.
	nextFrom := make([]int, len(evs))
	upcoming := map[key]int{}
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		if e.Type == TypeDatagram {
			upcoming[key{e.From, e.Exchange}] = i
		}
		nextFrom[i] = -1
		if nodeEvent(e.Type) {
			if j, ok := upcoming[key{e.Node, e.Exchange}]; ok {
				nextFrom[i] = j
			}
		}
	}
	lastTo := map[key]int{}
	for i, e := range evs {
		if e.Type == TypeDatagram {
			lastTo[key{e.To, e.Exchange}] = i
			continue
		}
		if !nodeEvent(e.Type) {
			continue
		}
		if v.used[i] {
			v.under[i] = true
			continue
		}
		j, ok := lastTo[key{e.Node, e.Exchange}]
		if !ok {
			j = nextFrom[i]
		}
		if j >= 0 {
			v.attached[j] = append(v.attached[j], i)
			v.under[i] = true
		}
	}
}

// stackNames lists context names, outermost first.
func stackNames(stack []*oscore.Report) []string {
	out := make([]string, len(stack))
	for i, r := range stack {
		out[i] = r.Context
	}
	return out
}

// DatagramLayers returns the layer stack of every datagram of t that
// carries OSCORE layers, keyed by the datagram's sequence number: the
// contexts outermost first, recovered from the bytes as every renderer
// recovers them (the payload is the ciphertext of the outermost layer,
// RFC 8613 5). The browser's sequence view builds its stacks from the layer
// events instead; web/jsagree_test.go holds the two to the same answer.
func DatagramLayers(t *Trace) map[uint64][]string {
	v := newView(t)
	out := map[uint64][]string{}
	for i, d := range v.dgrams {
		if len(d.stack) == 0 {
			continue
		}
		ctxs := make([]string, len(d.stack))
		for k, r := range d.stack {
			ctxs[k] = r.Context
		}
		out[v.t.Events[i].Seq] = ctxs
	}
	return out
}

// splitCombined takes a CBOR byte string (message_3) off the front of an
// EDHOC + OSCORE request's payload (RFC 9668 3.2.1).
func splitCombined(p []byte) (m3, rest []byte, ok bool) {
	if len(p) == 0 || p[0]>>5 != 2 {
		return nil, nil, false
	}
	n, off := uint64(p[0]&0x1f), 1
	switch {
	case n < 24:
	case n <= 27:
		w := 1 << (n - 24)
		if len(p) < 1+w {
			return nil, nil, false
		}
		n = 0
		for _, c := range p[1 : 1+w] {
			n = n<<8 | uint64(c)
		}
		off += w
	default:
		return nil, nil, false
	}
	if n >= uint64(len(p)-off) {
		return nil, nil, false
	}
	end := off + int(n)
	return p[:end], p[end:], true
}

// wirePayload is what a layer puts on the wire as payload: the ciphertext,
// followed in Group OSCORE group mode by the encrypted countersignature
// (RFC 10021 4.1).
func wirePayload(r *oscore.Report) []byte {
	if r.Details != nil && r.Group != nil && len(r.Group.EncryptedSignature) > 0 {
		return append(append([]byte(nil), r.Ciphertext...), r.Group.EncryptedSignature...)
	}
	return r.Ciphertext
}
