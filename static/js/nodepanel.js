// The node panel: per node its counters, per context the sender sequence
// number, the replay window and the layer limit. State arrives over the
// WebSocket; GET /api/state is the fallback. While replaying, the sequence
// numbers and replay windows are those of the replay's step (rebuilt from
// the trace, nodestate.js), not the lab's current ones. A group member's
// group contexts come from the trace alone, with a window per kid.
import { el, pick } from './util.js';
import { replay } from './replay.js';
import { nodeStateAt } from './nodestate.js';

// replayCell shows the replay window (RFC 8613 7.4): the highest Partial IV
// received and a strip of cells, newest on the left, filled when seen.
function replayCell(r) {
  if (!r) return el('td', {}, '—');
  return el('td', { 'data-testid': 'replay' }, ...replayWindow(r));
}

function replayWindow(r) {
  const hi = pick(r, 'highest', 'Highest');
  const win = pick(r, 'window', 'Window') ?? 0;
  const seen = new Set(pick(r, 'seen', 'Seen') || []);
  if (hi === undefined || hi < 0) return [`window ${win} · nothing received`];
  const cells = Math.min(win, 32);
  const strip = el('span', { class: 'replay-strip', title: `Partial IVs ${Math.max(0, hi - cells + 1)}..${hi}, newest first` });
  for (let i = 0; i < cells && hi - i >= 0; i++) strip.append(el('i', { class: seen.has(hi - i) ? 'on' : '' }));
  const recent = [...seen].slice(0, 5).join(', ');
  return [`highest ${hi} · window ${win} `, strip, recent ? el('div', { class: 'hint' }, `seen ${recent}${seen.size > 5 ? ', …' : ''}`) : ''];
}

// groupReplayCell shows a group context's windows, one per other member's
// kid (RFC 10021 2.6).
function groupReplayCell(recipients) {
  if (!recipients.length) return el('td', { 'data-testid': 'replay' }, 'no Recipient Context');
  return el('td', { 'data-testid': 'replay' }, ...recipients.map((r) =>
    el('div', { 'data-testid': 'group-window', 'data-kid': r.kid, 'data-highest': String(r.highest) }, el('code', {}, `kid ${r.kid}`), ' ', ...replayWindow(r))));
}

export function mountNodePanel(root, { store }) {
  const body = el('div', { class: 'nodepanel', 'data-testid': 'nodepanel' });
  root.append(body);
  function render() {
    const st = store.state;
    const nodes = pick(st || {}, 'nodes', 'Nodes') || [];
    if (!nodes.length) { body.replaceChildren(el('p', { class: 'hint' }, 'No node state yet.')); return; }
    const then = replay.active ? nodeStateAt(replay.all, replay.cursor) : null;
    // Group contexts are known from the trace alone: their layer events
    // carry the member's side (docs/trace-format.md "The side state").
    const groupsNow = then || nodeStateAt(store.events || [], (store.events || []).length);
    const groupRows = (id) => [...groupsNow.values()].filter((s) => s.node === id && s.recipients).map((s) =>
      el('tr', { 'data-testid': 'ctx-state', 'data-ctx': s.ctx, 'data-group': '1' },
        el('td', {}, el('span', { class: 'chip', style: `--c:${store.colorOf(s.ctx)}` }, s.ctx)),
        el('td', { 'data-testid': 'sender-seq' }, String(s.senderSeq)),
        groupReplayCell(s.recipients),
        el('td', {}, '—')));
    // At a replay step, a context the trace shows takes that step's values.
    const asThen = (id, c) => {
      const s = then?.get(`${id}|${pick(c, 'name', 'Name')}`);
      if (!s) return c;
      return { ...c, sender_seq: s.senderSeq, replay: { highest: s.highest, window: s.window, seen: s.seen } };
    };
    const head = then ? [el('p', { class: 'hint', 'data-testid': 'nodepanel-at' }, `Sequence numbers and replay windows as at replay step ${replay.cursor} of ${replay.all.length}.`)] : [];
    body.replaceChildren(...head, ...nodes.map((n) => {
      const id = pick(n, 'id', 'ID');
      const ctxs = (pick(n, 'contexts', 'Contexts') || []).map((c) => asThen(id, c));
      const groups = groupRows(id);
      return el('div', { class: 'ncard', 'data-testid': 'node-card', 'data-node': id },
        el('div', { class: 'ncard-head' }, el('b', {}, id), ` ${pick(n, 'role', 'Role') || ''} `, el('code', {}, pick(n, 'addr', 'Addr') || '')),
        el('div', { class: 'counters' },
          el('span', { 'data-testid': 'ctr-received' }, `rx ${pick(n, 'received', 'Received') ?? 0}`), ' · ',
          el('span', { 'data-testid': 'ctr-sent' }, `tx ${pick(n, 'sent', 'Sent') ?? 0}`), ' · ',
          el('span', { 'data-testid': 'ctr-errors', class: (pick(n, 'errors', 'Errors') || 0) > 0 ? 'bad' : '' }, `errors ${pick(n, 'errors', 'Errors') ?? 0}`)),
        ctxs.length || groups.length ? el('table', { class: 'ctxstate' },
          el('tr', {}, el('th', {}, 'context'), el('th', {}, 'sender seq'), el('th', {}, 'replay window'), el('th', {}, 'layer limit')),
          ...ctxs.map((c) => el('tr', { 'data-testid': 'ctx-state', 'data-ctx': pick(c, 'name', 'Name') },
            el('td', {}, el('span', { class: 'chip', style: `--c:${store.colorOf(pick(c, 'name', 'Name'))}` }, pick(c, 'name', 'Name'))),
            el('td', { 'data-testid': 'sender-seq' }, String(pick(c, 'sender_seq', 'SenderSeq') ?? '—')),
            replayCell(pick(c, 'replay', 'Replay')),
            el('td', {}, String(pick(c, 'layer_limit', 'LayerLimit') ?? pick(n, 'layer_limit') ?? '—')))), ...groups) : el('div', { class: 'hint' }, 'no contexts'));
    }));
  }
  store.subscribe('state', render);
  let lastCursor = -1;
  replay.subscribe(() => {
    const at = replay.active ? replay.cursor : -1;
    if (at !== lastCursor) { lastCursor = at; render(); }
  });
  render();
}
