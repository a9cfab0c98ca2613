package nodes

import (
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"

	"oscore-lab/internal/scenario"
	"oscore-lab/oscore"
)

// FaultOptions tunes a fault injected at run time.
type FaultOptions struct {
	Delay    time.Duration // delay: how long (default 100ms)
	Byte     int           // corrupt: index of the byte to flip (clamped to the last byte); truncate: bytes kept
	ReplayOf int           // replay: the Nth datagram of the same direction whose bytes replace the matched one
	Code     string        // strip: the code of the clear answer ("2.05" when empty)
	Payload  string        // strip: the payload of the clear answer
}

type pendingFault struct {
	kind string
	opts FaultOptions
}

type record struct {
	dir   int
	nth   int // 1-based index within its direction
	bytes []byte
	src   *net.UDPAddr
}

// truncate is an extra fault kind of the lab: cut the datagram after Byte bytes.
const faultTruncate = "truncate"

// FaultNext injects one fault into the next datagram in direction dir
// ("a->b", "b->a"; "" means a->b). Kinds: drop, delay, duplicate, corrupt,
// replay (needs ReplayOf), strip and truncate.
func (l *Link) FaultNext(kind, dir string, o FaultOptions) error {
	d, err := parseDir(dir)
	if err != nil {
		return err
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.oneShot[d] = append(l.oneShot[d], pendingFault{kind: kind, opts: o})
	return nil
}

// SetFaults replaces the link's standing faults (scenario links[].faults).
func (l *Link) SetFaults(fs []scenario.Fault) error {
	for i, f := range fs {
		if err := checkKind(f.Kind); err != nil {
			return fmt.Errorf("nodes: link %s: faults[%d]: %w", l.id, i, err)
		}
		if f.Dir != "" {
			if _, err := parseDir(f.Dir); err != nil {
				return err
			}
		}
		if f.Delay != "" {
			if _, err := time.ParseDuration(f.Delay); err != nil {
				return fmt.Errorf("nodes: link %s: faults[%d].delay: %v", l.id, i, err)
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A fault's match counts the datagrams that enter after it was set: "drop
	// the 1st" set while the lab runs drops the next one, not one of the
	// past. A fault the link already has (an edit elsewhere re-applied the
	// scenario) keeps its count.
	base := make([][2]int, len(fs))
	used := make([]bool, len(l.faults))
	for i, f := range fs {
		base[i] = l.count
		for j, old := range l.faults {
			if !used[j] && reflect.DeepEqual(old, f) {
				base[i], used[j] = l.faultBase[j], true
				break
			}
		}
	}
	l.faults = append([]scenario.Fault(nil), fs...)
	l.faultBase = base
	return nil
}

// Faults returns the standing faults.
func (l *Link) Faults() []scenario.Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]scenario.Fault(nil), l.faults...)
}

// Replay re-sends the n-th datagram the link has carried (1-based, both
// directions counted), byte for byte, from a fresh socket: an on-path
// attacker replaying a captured datagram. The receiver's answers are
// recorded but delivered to nobody. Sent from a new address, the copy
// escapes the CoAP deduplication by MID (RFC 7252 4.5), so it reaches the
// OSCORE replay check (RFC 8613 7.4).
func (l *Link) Replay(n int) error {
	l.mu.Lock()
	var rec *record
	for i := range l.history {
		if l.history[i].overall == n {
			rec = &l.history[i].record
		}
	}
	if rec == nil {
		l.mu.Unlock()
		return fmt.Errorf("nodes: link %s: no datagram %d recorded", l.id, n)
	}
	d, b := rec.dir, append([]byte(nil), rec.bytes...)
	l.mu.Unlock()
	return l.replayBytes(d, b, fmt.Sprintf("datagram %d", n))
}

// ReplayFrom sends b again on the link as node from sent it, the way Replay
// does (a fresh socket, answers recorded and delivered to nobody): the
// page's "replay this datagram" with the bytes of a recorded datagram
// event. what names the original in the fault event ("event 15").
func (l *Link) ReplayFrom(from string, b []byte, what string) error {
	d := dirAB
	switch from {
	case l.a:
	case l.b:
		d = dirBA
	default:
		return fmt.Errorf("nodes: link %s: %q is neither of its ends", l.id, from)
	}
	return l.replayBytes(d, append([]byte(nil), b...), what)
}

// maxAttackers bounds the replay sockets a link keeps open.
const maxAttackers = 16

// replayBytes sends b in direction d from a new attacker socket.
func (l *Link) replayBytes(d int, b []byte, what string) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("nodes: link %s is closed", l.id)
	}
	r, err := l.newRelayLocked(d, nil, true)
	if err == nil {
		l.attackers = append(l.attackers, r)
		// Each replay has a socket for its answers; beyond maxAttackers
		// the oldest goes, so replays on demand cannot pile up sockets.
		if len(l.attackers) > maxAttackers {
			l.closeRelayLocked(l.attackers[0])
			l.attackers = slices.Delete(l.attackers, 0, 1)
		}
	}
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("nodes: link %s: %v", l.id, err)
	}
	l.publishDatagram(d, b)
	l.publishFault(d, "replay", fmt.Sprintf("%s sent again from %s", what, r.conn.LocalAddr()), b)
	if t := l.target[d].Load(); t != nil {
		r.conn.WriteToUDP(b, t)
	}
	return nil
}

// pass applies the faults due for one datagram, records it and sends it.
func (l *Link) pass(d int, b []byte, src *net.UDPAddr, send func([]byte)) {
	l.mu.Lock()
	l.count[d]++
	nth := l.count[d]
	l.overall++
	l.history = append(l.history, histEntry{overall: l.overall, record: record{dir: d, nth: nth, bytes: b, src: src}})
	if len(l.history) > historySize {
		l.history = l.history[len(l.history)-historySize:]
	}
	var acts []pendingFault
	if len(l.oneShot[d]) > 0 {
		acts = append(acts, l.oneShot[d][0])
		l.oneShot[d] = l.oneShot[d][1:]
	}
	for i, f := range l.faults {
		if dirMatches(f.Dir, d) && (f.Match == 0 || f.Match == nth-l.faultBase[i][d]) {
			delay, _ := time.ParseDuration(f.Delay)
			acts = append(acts, pendingFault{kind: f.Kind, opts: FaultOptions{Delay: delay, Byte: f.Byte, ReplayOf: f.ReplayOf, Code: f.Code, Payload: f.Payload}})
		}
	}
	var replayed []byte
	for _, a := range acts {
		if a.kind == scenario.FaultReplay {
			replayed = l.historyBytes(d, a.opts.ReplayOf)
		}
	}
	l.mu.Unlock()

	if len(acts) == 0 {
		l.publishDatagram(d, b)
		send(b)
		return
	}
	out := b
	var notes []func()
	drop, dup, altered := false, false, false
	var delay time.Duration
	for _, a := range acts {
		switch a.kind {
		case scenario.FaultReplay:
			if replayed == nil {
				notes = append(notes, l.faultNote(d, a.kind, fmt.Sprintf("no datagram %d to replay", a.opts.ReplayOf), out, b))
				continue
			}
			out = substituteHeader(replayed, out)
			notes = append(notes, l.faultNote(d, a.kind, fmt.Sprintf("bytes of datagram %d sent in place of datagram %d (its MID and token kept)", a.opts.ReplayOf, nth), out, b))
		case scenario.FaultStrip:
			code := firstNonEmpty(a.opts.Code, "2.05")
			out = answerInClear(out, code, a.opts.Payload)
			notes = append(notes, l.faultNote(d, a.kind, fmt.Sprintf("OSCORE layers stripped: answered %s %q in clear (MID and token kept)", code, a.opts.Payload), out, b))
		case scenario.FaultCorrupt:
			if len(out) == 0 {
				continue
			}
			i := min(max(a.opts.Byte, 0), len(out)-1)
			out = append([]byte(nil), out...)
			out[i] ^= 0xff
			altered = true
			notes = append(notes, l.faultNote(d, a.kind, fmt.Sprintf("byte %d flipped", i), out, b))
		case faultTruncate:
			k := min(max(a.opts.Byte, 0), len(out))
			out = out[:k]
			altered = true
			notes = append(notes, l.faultNote(d, a.kind, fmt.Sprintf("cut to %d bytes", k), out, b))
		case scenario.FaultDrop:
			drop = true
			notes = append(notes, l.faultNote(d, a.kind, fmt.Sprintf("datagram %d lost", nth), out, b))
		case scenario.FaultDelay:
			delay = a.opts.Delay
			if delay <= 0 {
				delay = 100 * time.Millisecond
			}
			notes = append(notes, l.faultNote(d, a.kind, fmt.Sprintf("held for %v", delay), out, b))
		case scenario.FaultDuplicate:
			dup = true
			notes = append(notes, l.faultNote(d, a.kind, "sent twice", out, b))
		}
	}
	if altered {
		l.attributeAltered(b, out)
	}
	l.publishDatagram(d, out, b)
	for _, n := range notes {
		n()
	}
	if drop {
		return
	}
	// The copy is recorded before either is sent: once the first copy is
	// on its way, the exchange may end before this goroutine runs again,
	// and the trace must not depend on the scheduler.
	deliver := func() {
		if dup {
			l.publishDatagram(d, out)
		}
		send(out)
		if dup {
			send(out)
		}
	}
	if delay > 0 {
		time.AfterFunc(delay, func() {
			select {
			case <-l.done:
			default:
				deliver()
			}
		})
		return
	}
	deliver()
}

func (l *Link) faultNote(d int, kind, detail string, b, orig []byte) func() {
	return func() { l.publishFault(d, kind, detail, b, orig) }
}

// attributeAltered keeps a datagram that a fault changed (a corrupted
// token or Message ID, a cut) in the exchange of the datagram its sender
// sent: the altered token and Message ID are registered as the original's,
// so the receiver's reaction (a refusal, an error response) joins the
// exchange too.
func (l *Link) attributeAltered(orig, out []byte) {
	c, ok := l.lab.reg.lookup(l.id, parseHeader(orig))
	h := parseHeader(out)
	if !ok || !h.ok {
		return
	}
	if len(h.token) > 0 {
		l.lab.reg.registerToken(l.id, h.token, c)
	}
	l.lab.reg.registerMID(l.id, h.mid, c)
}

// historyBytes returns the nth datagram of direction d, or nil.
func (l *Link) historyBytes(d, nth int) []byte {
	for _, h := range l.history {
		if h.dir == d && h.nth == nth {
			return h.bytes
		}
	}
	return nil
}

// substituteHeader keeps old's type, code, options and payload but takes the
// MID and token of cur: a replayed OSCORE request the CoAP layer takes for a
// new message, so that only OSCORE's replay window can catch it.
func substituteHeader(old, cur []byte) []byte {
	ho, hc := parseHeader(old), parseHeader(cur)
	if !ho.ok || !hc.ok {
		return append([]byte(nil), old...)
	}
	out := make([]byte, 0, len(old)+8)
	out = append(out, old[0]&0xf0|byte(len(hc.token)), old[1], cur[2], cur[3])
	out = append(out, hc.token...)
	return append(out, old[4+len(ho.token):]...)
}

// answerInClear is what an on-path attacker who cannot forge a layer does
// instead: keep cur's type, MID, token (not integrity-protected) and its
// outer options but the OSCORE option, and put an unprotected answer with
// code ("c.dd") and payload in place of the protected one (RFC 8613 8.4
// and draft 2.6 say why the receiver must refuse it).
func answerInClear(cur []byte, code, payload string) []byte {
	if len(code) != 4 {
		return append([]byte(nil), cur...)
	}
	c := codes.Code((code[0]-'0')<<5 | ((code[2]-'0')*10 + code[3] - '0'))
	m, err := oscore.DecodeMessage(cur)
	if err != nil {
		return append([]byte(nil), cur...)
	}
	m.Code, m.Payload = c, []byte(payload)
	m.Options = m.Options.Remove(optOSCORE)
	out, err := oscore.EncodeMessage(m)
	if err != nil {
		return append([]byte(nil), cur...)
	}
	return out
}

func parseDir(s string) (int, error) {
	switch strings.ReplaceAll(s, " ", "") {
	case "", "a->b":
		return dirAB, nil
	case "b->a":
		return dirBA, nil
	}
	return 0, fmt.Errorf("nodes: direction %q (want a->b or b->a)", s)
}

func dirMatches(s string, d int) bool {
	if s == "" {
		return true
	}
	x, err := parseDir(s)
	return err == nil && x == d
}

func checkKind(k string) error {
	switch k {
	case scenario.FaultDrop, scenario.FaultDelay, scenario.FaultDuplicate, scenario.FaultCorrupt, scenario.FaultReplay, scenario.FaultStrip, faultTruncate:
		return nil
	}
	return fmt.Errorf("nodes: unknown fault kind %q (want drop, delay, duplicate, corrupt, replay, strip or truncate)", k)
}
