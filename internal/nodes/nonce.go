package nodes

import (
	"errors"
	"fmt"

	"oscore-lab/internal/scenario"
	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// pinSeqs applies a step's seq pins. A pin may skip numbers but not go
// back to one its context already used with the same keys: that reuses an
// AEAD nonce (RFC 8613 7.2). Only a step marked nonce_reuse may, to show
// what it costs; pinSeqs returns those pins.
func pinSeqs(t *topology, st scenario.Step) ([]scenario.SeqPin, error) {
	var reused []scenario.SeqPin
	for _, pin := range st.Seq {
		c, _, err := t.contextFor(pin.Context, pin.Node)
		if err != nil {
			return nil, err
		}
		err = c.SetSenderSeq(pin.Value)
		switch {
		case errors.Is(err, oscore.ErrSequenceReused) && st.NonceReuse:
			if err := c.ReuseSenderSeq(pin.Value); err != nil {
				return nil, err
			}
			reused = append(reused, pin)
		case errors.Is(err, oscore.ErrSequenceReused):
			return nil, fmt.Errorf("nodes: seq pin of %s at %s: %w; a step that demonstrates nonce reuse says so with nonce_reuse", pin.Context, pin.Node, err)
		case err != nil:
			return nil, err
		}
	}
	return reused, nil
}

// showNonceReuse publishes what an observer learns from two messages
// protected with the same key and nonce: every AEAD of the lab encrypts
// with a key stream (AES-CCM and AES-GCM in counter mode, ChaCha20), so
// the XOR of the two ciphertexts, tags aside, is the XOR of the two
// plaintexts (RFC 8613 7.2, D.4). The ciphertexts are the ones the trace
// recorded, as an on-path observer would have.
func (l *Lab) showNonceReuse(at where, pin scenario.SeqPin) {
	var first, second *oscore.Report
	var exchanges [2]int
	for _, e := range l.bus.Recent() {
		if e.Type != trace.TypeLayer || e.Node != pin.Node || e.Layer_ == nil || e.Layer_.Action != trace.LayerApplied {
			continue
		}
		rep := e.Layer_.Report
		if rep == nil || rep.Context != pin.Context || rep.Complete().Seq != int64(pin.Value) {
			continue
		}
		if first == nil {
			first, exchanges[0] = rep, e.Exchange
		} else if e.Exchange != exchanges[0] {
			second, exchanges[1] = rep, e.Exchange
		}
	}
	n := l.topo.Load().nodes[pin.Node]
	if n == nil {
		return
	}
	if second == nil {
		n.decision(at, trace.RuleSequence, "", "RFC 8613 7.2", fmt.Sprintf("The earlier message with sequence number %d of %s is no longer in the trace: nothing to compare", pin.Value, pin.Context), 0)
		return
	}
	c, _, err := l.topo.Load().contextFor(pin.Context, pin.Node)
	if err != nil {
		return
	}
	tag := c.AEAD().TagLen()
	k := min(len(first.Ciphertext), len(second.Ciphertext)) - tag
	k = max(min(k, len(first.Plaintext), len(second.Plaintext)), 0)
	x := make([]byte, k)
	for i := range x {
		x[i] = first.Ciphertext[i] ^ second.Ciphertext[i]
	}
	n.decision(at, trace.RuleSequence, "", "RFC 8613 7.2, D.4", fmt.Sprintf(
		"Nonce reuse seen from the wire: the ciphertexts of exchanges %d and %d, both %s sequence number %d, XOR to %x, and so do their plaintexts %x and %x (one key stream): whoever knows one plaintext reads the other",
		exchanges[0], exchanges[1], pin.Context, pin.Value, x, []byte(first.Plaintext[:k]), []byte(second.Plaintext[:k])), 0)
}
