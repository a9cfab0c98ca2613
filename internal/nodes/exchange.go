package nodes

import "sync"

// exchangeCap bounds the exchanges the lab remembers (pins and layer stacks).
const exchangeCap = 4096

// exchange is what the lab remembers of one end-to-end exchange so that
// later legs can be pinned (tokens, MIDs) and layers numbered.
type exchange struct {
	id        int
	hopTokens [][]byte
	hopMIDs   []int

	mu     sync.Mutex
	stacks map[int][]string // hop -> contexts of the layers on that leg's request, innermost first
}

func (e *exchange) setStack(hop int, s []string) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stacks[hop] = append([]string(nil), s...)
}

func (e *exchange) stack(hop int) []string {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stacks[hop]
}

// pinnedToken is the token pinned for leg hop (hop >= 1), or nil.
func (e *exchange) pinnedToken(hop int) []byte {
	if e == nil || hop < 1 || hop-1 >= len(e.hopTokens) {
		return nil
	}
	return e.hopTokens[hop-1]
}

func (e *exchange) pinnedMID(hop int) (uint16, bool) {
	if e == nil || hop < 1 || hop-1 >= len(e.hopMIDs) {
		return 0, false
	}
	return uint16(e.hopMIDs[hop-1]), true
}

type exchangeTable struct {
	mu    sync.Mutex
	next  int
	byID  map[int]*exchange
	order []int
}

func (t *exchangeTable) init() { t.byID = map[int]*exchange{} }

// reset numbers exchanges from 1 again: a loaded scenario's exchange ids
// (and the page's #ex= deep links) do not depend on what ran before.
func (t *exchangeTable) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next, t.byID, t.order = 0, map[int]*exchange{}, nil
}

func (t *exchangeTable) start(hopTokens [][]byte, hopMIDs []int) *exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	e := &exchange{id: t.next, hopTokens: hopTokens, hopMIDs: hopMIDs, stacks: map[int][]string{}}
	t.byID[e.id] = e
	t.order = append(t.order, e.id)
	if len(t.order) > exchangeCap {
		delete(t.byID, t.order[0])
		t.order = t.order[1:]
	}
	return e
}

func (t *exchangeTable) get(id int) *exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}
