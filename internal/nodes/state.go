package nodes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"oscore-lab/internal/trace"
	"oscore-lab/oscore"
)

// DefaultStateStep is the persistence step K of RFC 8613 B.1.1: the state
// file is written once every K messages a context protects with its own
// Partial IV.
const DefaultStateStep = 16

// maxStateFile bounds the state file the lab reads.
const maxStateFile = 4 << 20

// stateFile keeps, per context instance (node and keys), the sender
// sequence number a restart begins at and the replay window, so that
// repeated runs against a long-lived peer neither reuse a nonce nor get
// their requests taken for replays (RFC 8613 7.5.1, B.1.1, B.1.2).
type stateFile struct {
	path string
	k    uint64

	mu      sync.Mutex
	entries map[string]*stateEntry // node + "/" + keys
	order   []string
}

// stateEntry is one context instance in the file. SenderSeq is the number
// the next start begins at: every number below may have been used.
type stateEntry struct {
	Context   string             `json:"context"`
	Node      string             `json:"node"`
	Keys      string             `json:"keys"` // fingerprint of the derived keys and IDs: state applies to these keys only
	SenderSeq uint64             `json:"sender_seq"`
	Replay    oscore.ReplayState `json:"replay"`

	ctx *oscore.Context // the live instance, nil once dropped
}

type stateDoc struct {
	Version  int           `json:"version"`
	Step     uint64        `json:"step"`
	Contexts []*stateEntry `json:"contexts"`
}

// UseState makes the lab keep its contexts' sequence numbers and replay
// windows in the file at path, read now if it exists and written with
// persistence step k (RFC 8613 B.1.1; k < 1 means DefaultStateStep). Call
// it before Load; Close writes the file a last time.
func (l *Lab) UseState(path string, k uint64) error {
	if k < 1 {
		k = DefaultStateStep
	}
	sf := &stateFile{path: path, k: k, entries: map[string]*stateEntry{}}
	if err := sf.read(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state = sf
	return nil
}

func (sf *stateFile) read() error {
	f, err := os.Open(sf.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("nodes: state file: %w", err)
	}
	defer f.Close()
	var doc stateDoc
	dec := json.NewDecoder(&limitReader{r: f, n: maxStateFile})
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("nodes: state file %s: %v", sf.path, err)
	}
	if doc.Version != 1 {
		return fmt.Errorf("nodes: state file %s: version %d (want 1)", sf.path, doc.Version)
	}
	for i, e := range doc.Contexts {
		if e == nil || e.Node == "" || e.Keys == "" || e.SenderSeq > oscore.MaxSequenceNumber+1 {
			return fmt.Errorf("nodes: state file %s: contexts[%d]: needs a node, keys and a sender_seq up to 2^40", sf.path, i)
		}
		sf.add(e)
	}
	return nil
}

func (sf *stateFile) add(e *stateEntry) {
	key := e.Node + "/" + e.Keys
	if _, ok := sf.entries[key]; !ok {
		sf.order = append(sf.order, key)
	}
	sf.entries[key] = e
}

// keysOf fingerprints a context instance: its keys, Common IV and IDs.
func keysOf(c *oscore.Context) string {
	h := sha256.New()
	for _, b := range [][]byte{c.SenderKey(), c.RecipientKey(), c.CommonIV(), c.SenderID(), c.RecipientID()} {
		h.Write([]byte{byte(len(b))})
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// attach ties a new context instance at node to its entry. An instance
// that did not resume an older one (a start, not a live edit) takes the
// saved state: its sequence number begins at the saved one and its replay
// window is restored, so it needs no Echo. Either way the number a restart
// would begin at is saved before it is reached (RFC 8613 B.1.1). It
// returns what it restored, for the trace ("" nothing).
func (sf *stateFile) attach(name, node string, c *oscore.Context, gate *echoGate, resumed bool) (string, error) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	key := node + "/" + keysOf(c)
	e, ok := sf.entries[key]
	var restored string
	if ok && !resumed {
		if e.SenderSeq > c.SenderSeq() {
			if err := c.SetSenderSeq(e.SenderSeq); err != nil {
				return "", err
			}
		}
		if err := c.RestoreReplay(e.Replay); err != nil {
			return "", fmt.Errorf("nodes: state file %s: %s at %s: %v", sf.path, name, node, err)
		}
		gate.mu.Lock()
		gate.need = false
		gate.mu.Unlock()
		restored = fmt.Sprintf("%s at %s resumes from the state file: sender sequence number %d, replay window up to %d", name, node, c.SenderSeq(), e.Replay.Highest)
	}
	if !ok {
		e = &stateEntry{Node: node, Keys: key[len(node)+1:]}
		sf.add(e)
	}
	e.Context, e.ctx = name, c
	e.SenderSeq = max(c.SenderSeq(), c.FreshSeq()) // every number below is used or skipped
	c.PersistSeq(e.SenderSeq, sf.k, func(next uint64) error {
		sf.mu.Lock()
		defer sf.mu.Unlock()
		e.SenderSeq = next
		return sf.writeLocked()
	})
	return restored, nil
}

// flush writes the file with every live instance's replay window.
func (sf *stateFile) flush() error {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	return sf.writeLocked()
}

// writeLocked replaces the file atomically (a new file renamed over it).
func (sf *stateFile) writeLocked() error {
	doc := stateDoc{Version: 1, Step: sf.k}
	for _, key := range sf.order {
		e := sf.entries[key]
		if e.ctx != nil {
			e.Replay = e.ctx.Replay()
		}
		doc.Contexts = append(doc.Contexts, e)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(sf.path), ".oscore-lab-state-*")
	if err != nil {
		return fmt.Errorf("nodes: state file: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), sf.path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("nodes: state file: %w", werr)
	}
	return nil
}

// limitReader fails once more than n bytes are read.
type limitReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (lr *limitReader) Read(p []byte) (int, error) {
	if lr.n <= 0 {
		return 0, errors.New("file larger than 4 MiB")
	}
	if int64(len(p)) > lr.n {
		p = p[:lr.n]
	}
	n, err := lr.r.Read(p)
	lr.n -= int64(n)
	return n, err
}

// publishRestored puts what attach restored in the trace.
func (l *Lab) publishRestored(node, note string) {
	l.publish(trace.Event{Type: trace.TypeDecision, Node: node, Decision: &trace.Decision{Rule: trace.RuleSequence, Section: "RFC 8613 7.5.1, B.1.1, B.1.2", Outcome: note}})
}
