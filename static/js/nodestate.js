// Node state at a point of the trace: each node's side of each Security
// Context (the next Sender Sequence Number, the replay window) as it stood
// after the first n events, rebuilt from the side state that every layer
// event carries (docs/trace-format.md, "The side state"). Replay and the
// topology stage show it, so a step shows the numbers of that step, not the
// lab's final ones.
import { pick } from './util.js';

const nodeStateIndexes = new WeakMap(); // events array -> {length, entries}

// nodeStateEntry reads one layer event's side state, typed as the format
// says (a trace file may hold anything); null when it has none.
function nodeStateEntry(ev, i) {
  if (ev?.type !== 'layer') return null;
  const le = pick(ev, 'layer_event') || {};
  const st = le.state, rep = le.report;
  if (!st || typeof st !== 'object' || !rep || typeof rep !== 'object') return null;
  const num = (v, dflt) => (Number.isSafeInteger(v) ? v : dflt);
  const ctx = typeof rep.context === 'string' ? rep.context : '';
  if (!ctx || typeof ev.node !== 'string' || !ev.node) return null;
  return {
    i, node: ev.node, ctx, action: String(le.action || ''), message: String(rep.message || ''),
    piv: num(rep.seq, -1),
    senderSeq: num(st.sender_seq, 0), window: num(st.window, 0), highest: num(st.highest, -1),
    seen: Array.isArray(st.seen) ? st.seen.filter((x) => Number.isSafeInteger(x)).slice(0, 64) : [],
  };
}

// nodeStateIndex lists the layer events with side state, grown as the
// events array grows (live events join replay's array).
function nodeStateIndex(events) {
  let ix = nodeStateIndexes.get(events);
  if (!ix) { ix = { length: 0, entries: [] }; nodeStateIndexes.set(events, ix); }
  for (; ix.length < events.length; ix.length++) {
    const e = nodeStateEntry(events[ix.length], ix.length);
    if (e) ix.entries.push(e);
  }
  return ix.entries;
}

// nodeStateBefore undoes one layer event: a protection with its own
// Partial IV used that number as the next sequence number, and a taken
// Partial IV was not in the window before.
function nodeStateBefore(e) {
  const s = { node: e.node, ctx: e.ctx, senderSeq: e.senderSeq, window: e.window, highest: e.highest, seen: e.seen.slice(), at: 0 };
  if (e.action === 'applied' && e.piv >= 0) s.senderSeq = e.piv;
  if (e.action === 'removed' && e.piv >= 0 && s.seen.includes(e.piv)) {
    s.seen = s.seen.filter((x) => x !== e.piv);
    if (s.highest === e.piv) s.highest = s.seen.length ? s.seen[0] : -1;
  }
  return s;
}

/**
 * nodeStateAt returns, for the first n events of a trace, a Map from
 * `${node}|${context}` to {node, ctx, senderSeq, window, highest, seen, at}:
 * `at` is the seq of the event that left that state (0: the state before
 * the context's first event in the trace). Contexts no layer event names
 * are absent.
 */
export function nodeStateAt(events, n) {
  const last = new Map(), first = new Map();
  for (const e of nodeStateIndex(events)) {
    const key = `${e.node}|${e.ctx}`;
    if (e.i < n) last.set(key, e);
    else if (!last.has(key) && !first.has(key)) first.set(key, e);
  }
  const out = new Map();
  for (const [key, e] of last) out.set(key, { node: e.node, ctx: e.ctx, senderSeq: e.senderSeq, window: e.window, highest: e.highest, seen: e.seen, at: events[e.i].seq });
  for (const [key, e] of first) out.set(key, nodeStateBefore(e));
  return out;
}
