// The node panel: per node its counters, per context the sender sequence
// number, the replay window and the layer limit. State arrives over the
// WebSocket; GET /api/state is the fallback.
import { el, pick } from './util.js';

function replayText(r) {
  if (!r) return '—';
  const hi = pick(r, 'highest', 'Highest');
  const win = pick(r, 'window', 'Window');
  const seen = pick(r, 'seen', 'Seen');
  const bm = pick(r, 'bitmap', 'Bitmap');
  const parts = [`window ${win ?? '?'}`, `highest ${hi === undefined || hi < 0 ? 'none' : hi}`];
  if (Array.isArray(seen) && seen.length) parts.push(`seen ${seen.slice(-6).join(',')}`);
  else if (bm !== undefined) parts.push(`bitmap ${typeof bm === 'number' ? bm.toString(2) : JSON.stringify(bm)}`);
  return parts.join(' · ');
}

export function mountNodePanel(root, { store }) {
  const body = el('div', { class: 'nodepanel', 'data-testid': 'nodepanel' });
  root.append(body);
  function render() {
    const st = store.state;
    const nodes = pick(st || {}, 'nodes', 'Nodes') || [];
    if (!nodes.length) { body.replaceChildren(el('p', { class: 'hint' }, 'No node state yet.')); return; }
    body.replaceChildren(...nodes.map((n) => {
      const id = pick(n, 'id', 'ID');
      const ctxs = pick(n, 'contexts', 'Contexts') || [];
      return el('div', { class: 'ncard', 'data-testid': 'node-card', 'data-node': id },
        el('div', { class: 'ncard-head' }, el('b', {}, id), ` ${pick(n, 'role', 'Role') || ''} `, el('code', {}, pick(n, 'addr', 'Addr') || '')),
        el('div', { class: 'counters' },
          el('span', { 'data-testid': 'ctr-received' }, `rx ${pick(n, 'received', 'Received') ?? 0}`), ' · ',
          el('span', { 'data-testid': 'ctr-sent' }, `tx ${pick(n, 'sent', 'Sent') ?? 0}`), ' · ',
          el('span', { 'data-testid': 'ctr-errors', class: (pick(n, 'errors', 'Errors') || 0) > 0 ? 'bad' : '' }, `errors ${pick(n, 'errors', 'Errors') ?? 0}`)),
        ctxs.length ? el('table', { class: 'ctxstate' },
          el('tr', {}, el('th', {}, 'context'), el('th', {}, 'sender seq'), el('th', {}, 'replay window'), el('th', {}, 'layer limit')),
          ...ctxs.map((c) => el('tr', { 'data-testid': 'ctx-state', 'data-ctx': pick(c, 'name', 'Name') },
            el('td', {}, el('span', { class: 'chip', style: `--c:${store.colorOf(pick(c, 'name', 'Name'))}` }, pick(c, 'name', 'Name'))),
            el('td', { 'data-testid': 'sender-seq' }, String(pick(c, 'sender_seq', 'SenderSeq') ?? '—')),
            el('td', {}, replayText(pick(c, 'replay', 'Replay'))),
            el('td', {}, String(pick(c, 'layer_limit', 'LayerLimit') ?? pick(n, 'layer_limit') ?? '—'))))) : el('div', { class: 'hint' }, 'no contexts'));
    }));
  }
  store.subscribe('state', render);
  render();
}
