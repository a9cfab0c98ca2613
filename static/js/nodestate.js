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
    seen: seenOf(st.seen),
    kid: typeof rep.kid === 'string' ? rep.kid : '',
    recipients: recipientsOf(st.recipients),
  };
}

const seenOf = (v) => (Array.isArray(v) ? v.filter((x) => Number.isSafeInteger(x)).slice(0, 64) : []);

// recipientsOf reads a group context's windows, one per Recipient Context
// (RFC 10021 2.2, 2.6); null for a pairwise context's side state.
function recipientsOf(v) {
  if (!Array.isArray(v)) return null;
  return v.filter((r) => r && typeof r === 'object' && typeof r.kid === 'string').slice(0, 64).map((r) => ({
    kid: r.kid, window: Number.isSafeInteger(r.window) ? r.window : 0,
    highest: Number.isSafeInteger(r.highest) ? r.highest : -1, seen: seenOf(r.seen),
  }));
}

// stateOf is the state an index entry leaves.
function stateOf(e, at) {
  return { node: e.node, ctx: e.ctx, senderSeq: e.senderSeq, window: e.window, highest: e.highest, seen: e.seen, recipients: e.recipients, at };
}

// unsee takes Partial IV piv out of a window {highest, seen}.
function unsee(w, piv) {
  if (piv < 0 || !w.seen.includes(piv)) return w;
  const seen = w.seen.filter((x) => x !== piv);
  return { ...w, seen, highest: w.highest === piv ? (seen.length ? seen[0] : -1) : w.highest };
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
// In a group context the taken number leaves the window of the sender's
// kid (RFC 10021 2.6).
function nodeStateBefore(e) {
  let s = stateOf(e, 0);
  if (e.action === 'applied' && e.piv >= 0) s.senderSeq = e.piv;
  if (e.action !== 'removed') return s;
  if (e.recipients) s.recipients = e.recipients.map((r) => (r.kid === e.kid ? unsee(r, e.piv) : r));
  else s = { ...s, ...unsee({ highest: s.highest, seen: s.seen }, e.piv) };
  return s;
}

/**
 * nodeStateAt returns, for the first n events of a trace, a Map from
 * `${node}|${context}` to {node, ctx, senderSeq, window, highest, seen,
 * recipients, at}: recipients, for a group context, lists per kid
 * {kid, window, highest, seen} (null for a pairwise context);
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
  for (const [key, e] of last) out.set(key, stateOf(e, events[e.i].seq));
  for (const [key, e] of first) out.set(key, nodeStateBefore(e));
  return out;
}
