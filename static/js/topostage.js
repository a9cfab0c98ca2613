// The topology stage: the topology drawn large (for a projector), where the
// current message travels as an envelope along the link from its sender to
// its receiver, the envelope showing its OSCORE layers as coloured bands,
// outermost on top. Each node shows its contexts' state as it stood at that
// point of the trace (nodestate.js): the next Sender Sequence Number and the
// replay window. Clicking a node shows what it did with the current message:
// the layers it removed and the decisions it took on the way in, the layers
// it added and the decisions on the way out, as Packet Tracer's simulation
// mode shows a device's in and out processing.
import { store } from './store.js';
import { registerTool } from './registry.js';
import { el, pick } from './util.js';
import { replay } from './replay.js';
import { presenter } from './presenter.js';
import { nodeStateAt } from './nodestate.js';
import { roleLabel, svgEl, topoLayout, topoLinks, topoNodes, topoPlace, topoTextWidth } from './topology.js';

const stageFont = 18; // px: the stage is read from the back of a room

export const topoStage = {
  open: false,
  animMs: 700,        // how long the envelope travels (replay plays one step every 0.9 s)
  node: null,         // the node whose processing the detail shows
  shownSeq: 0,        // the message the envelope carries
  travelFrom: 0,      // when it set off
  anim: 0,            // requestAnimationFrame id while it travels
  renderMs: 0,        // how long the last drawing took (the speed test reads it)
  renders: 0,         // how many drawings so far (tests: an idle stage draws nothing)
  root: null,

  /** show opens or closes the stage. */
  show(on = !topoStage.open) {
    topoStage.open = !!on;
    stageRoot().hidden = !topoStage.open;
    document.body.classList.toggle('topo-staged', topoStage.open);
    if (topoStage.open) {
      const head = document.querySelector('header.top');
      stageRoot().style.top = `${head ? Math.round(head.getBoundingClientRect().bottom) : 0}px`;
      topoStage.shownSeq = 0;
      stageRender();
    } else {
      cancelAnimationFrame(topoStage.anim);
    }
    for (const b of document.querySelectorAll('[data-testid="tool-topo-stage"]')) b.classList.toggle('on', topoStage.open);
    stageShare();
  },
};

// stageShare tells the audience window (presenter.js) whether the stage is
// open and which node's processing it shows; the audience follows.
function stageShare() {
  if (presenter.audience) return;
  presenter.extra = { ...presenter.extra, topoStage: { open: topoStage.open, node: topoStage.node } };
  presenter.broadcast();
}

presenter.listeners.add(() => {
  if (!presenter.audience) return;
  const want = presenter.extra?.topoStage;
  if (!want) { if (topoStage.open) topoStage.show(false); return; }
  topoStage.node = typeof want.node === 'string' ? want.node : null;
  if (!!want.open !== topoStage.open) topoStage.show(!!want.open);
  else stageSoon();
});

// stageWidth is the stage's width, followed by a ResizeObserver: reading
// it while drawing would force a layout of the whole page at every step.
let stageWidth = 1200;

function stageRoot() {
  if (topoStage.root) return topoStage.root;
  const r = el('div', { class: 'topo-stage', 'data-testid': 'topo-stage', hidden: true, role: 'region', 'aria-label': 'topology stage' });
  document.body.append(r);
  new ResizeObserver((entries) => {
    const w = Math.round(entries[entries.length - 1].contentRect.width);
    if (w > 0 && Math.abs(w - stageWidth) > 1) { stageWidth = w; stageSoon(); }
  }).observe(r);
  topoStage.root = r;
  return r;
}

// stageMessage is the datagram the stage shows: the one replay stands on,
// or the selected one.
function stageMessage() {
  const row = store.selected ? store.bySeq.get(store.selected) : null;
  return row && row.kind === 'datagram' ? row : null;
}

function stageContextsOf(id) {
  const out = [];
  for (const c of store.contexts.length ? store.contexts : store.scenario?.contexts || []) {
    const ends = c.endpoints || [c.a, c.b];
    if (ends.some((e) => e?.node === id)) out.push(c.name);
  }
  // A group member holds the group's context too (RFC 10021 2).
  for (const gc of store.scenario?.group_contexts || []) if ((gc.members || []).some((m) => m.node === id)) out.push(gc.name);
  return out;
}

// stageStateText is one context's state at a node: "seq 43 · rx ≤42".
// A group context has a window per other member's kid (RFC 10021 2.6):
// "seq 2 · rx 01≤1 12≤0".
function stageStateText(st) {
  if (!st) return 'not used yet';
  if (st.recipients) {
    const got = st.recipients.filter((r) => r.highest >= 0);
    const rx = got.length ? `rx ${got.slice(0, 3).map((r) => `${r.kid}≤${r.highest}`).join(' ')}${got.length > 3 ? ' …' : ''}` : 'rx none';
    return `seq ${st.senderSeq} · ${rx}`;
  }
  const rx = st.highest >= 0 ? `rx ≤${st.highest}` : 'rx none';
  return `seq ${st.senderSeq} · ${rx}`;
}

function stageRender() {
  if (!topoStage.open) return;
  const t0 = performance.now();
  try { stageDraw(); } finally { topoStage.renderMs = performance.now() - t0; topoStage.renders++; }
}

function stageDraw() {
  const root = stageRoot();
  const sc = store.scenario || { nodes: [] };
  const nodes = topoNodes(sc.nodes && sc.nodes.length ? sc : { ...sc, nodes: store.nodes });
  const events = replay.active ? replay.all : store.events;
  const upTo = replay.active ? replay.cursor : store.events.length;
  const state = nodeStateAt(events, upTo);
  const row = stageMessage();
  // A fault, an error or a notice the replay stands on is shown where it
  // happened: on its link, or at its node.
  const shown = store.selected ? store.bySeq.get(store.selected) : null;
  const note = shown && shown.kind !== 'datagram' ? shown : null;
  // What changed since the message before this one lights up.
  const at = row || note;
  const prevRow = at ? store.rows[at.index - 1] : null;
  const since = prevRow ? prevRow.seq : 0;

  const F = stageFont;
  const ctxsOf = new Map(nodes.map((n) => [n.id, stageContextsOf(n.id)]));
  const boxW = (n) => Math.max(96, topoTextWidth(n.id, F + 4) + 24);
  const groupCtxs = new Set((store.scenario?.group_contexts || []).map((g) => g.name));
  const cardW = (n) => Math.max(0, ...ctxsOf.get(n.id).map((c) => Math.max(topoTextWidth(c, F), groupCtxs.has(c) ? topoTextWidth('seq 000 · rx 00≤00 00≤00 00≤00 …', F) + 16 : topoTextWidth('seq 000 · rx ≤000', F) + 70)));
  const size = (n) => ({ w: Math.max(boxW(n), topoTextWidth(roleLabel(n), F), cardW(n)), h: 48 + 28 + ctxsOf.get(n.id).length * 2 * (F + 6) });
  const { pos, W, H } = topoLayout(nodes, size, { gapX: 70, gapY: 40, top: 60 });
  const placed = [];
  const svg = svgEl('svg', { class: 'topo topo-big', role: 'img', 'aria-label': 'topology stage' });
  const linkLayer = svgEl('g', {}), labelLayer = svgEl('g', {}), nodeLayer = svgEl('g', {});
  svg.append(linkLayer, labelLayer, nodeLayer);
  for (const n of nodes) {
    const p = pos.get(n.id), s = size(n);
    placed.push({ x0: p.x - s.w / 2, y0: p.y - 24, x1: p.x + s.w / 2, y1: p.y - 24 + s.h });
  }
  for (const l of topoLinks(sc, store.rows.filter((r) => r.kind === 'datagram' && r.from && r.to).map((r) => [r.from, r.to]))) {
    const a = pos.get(l.a), b = pos.get(l.b);
    if (!a || !b) continue;
    const joins = (r) => r && ((r.from === l.a && r.to === l.b) || (r.from === l.b && r.to === l.a));
    const on = joins(row), hit = note?.kind === 'fault' && joins(note);
    linkLayer.append(svgEl('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `link ${l.kinds.has('fault') ? 'fault' : ''} ${on ? 'on' : ''} ${hit ? 'fault-now' : ''}`, 'data-testid': 'stage-link', 'data-link': `${l.a}-${l.b}` }));
    if (hit) {
      const label = `✕ ${String(note.ev?.fault?.kind || 'fault')}`;
      linkLayer.append(svgEl('text', { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 + F + 8, class: 'fault-mark', 'data-testid': 'stage-fault' }, label));
    }
  }
  const ctxList = store.contexts.length ? store.contexts : sc.contexts || [];
  for (const c of ctxList) {
    const ends = c.endpoints || [c.a, c.b];
    const a = pos.get(ends[0]?.node), b = pos.get(ends[1]?.node);
    if (!a || !b) continue;
    const w = topoTextWidth(c.name, F), mx = (a.x + b.x) / 2;
    const box = topoPlace(placed, { x0: mx - w / 2, y0: Math.min(a.y, b.y) - 60, x1: mx + w / 2, y1: Math.min(a.y, b.y) - 60 + F + 4 }, -(F + 6));
    const ly = box.y1 - 5;
    labelLayer.append(svgEl('path', { d: `M${a.x},${a.y - 24} Q${mx},${2 * (ly + 6) - (a.y + b.y - 48) / 2} ${b.x},${b.y - 24}`, class: 'ctx-arc', stroke: store.colorOf(c.name) }),
      svgEl('text', { x: mx, y: ly, class: 'ctx-label', 'data-testid': 'stage-label' }, c.name));
  }
  for (const n of nodes) {
    const p = pos.get(n.id), w = boxW(n);
    const role = row && row.from === n.id ? 'from' : row && row.to === n.id ? 'to' : note?.kind === 'error' && note.node === n.id ? 'err' : '';
    const s = size(n);
    const g = svgEl('g', { class: `tnode ${n.role} ${role} ${topoStage.node === n.id ? 'sel' : ''}`, 'data-testid': 'stage-node', 'data-node': n.id, transform: `translate(${p.x},${p.y})`, tabindex: '0' },
      svgEl('rect', { x: -s.w / 2, y: -24, width: s.w, height: s.h, class: 'hit' }), // the whole block takes the click
      svgEl('rect', { x: -w / 2, y: -24, width: w, height: 48, rx: n.role === 'proxy' ? 6 : 24 }),
      svgEl('text', { y: 8, class: 'nid', 'data-testid': 'stage-label' }, n.id),
      svgEl('text', { y: 24 + F + 4, class: 'nrole', 'data-testid': 'stage-label' }, roleLabel(n)));
    let y = 24 + F + 4 + F + 8;
    for (const c of ctxsOf.get(n.id)) {
      const st = state.get(`${n.id}|${c}`);
      const changed = st && st.at > since;
      const line = svgEl('g', { class: `nstate ${changed ? 'changed' : ''}`, 'data-testid': 'stage-state', 'data-node': n.id, 'data-ctx': c,
        'data-seq': st ? String(st.senderSeq) : '', 'data-highest': st ? String(st.highest) : '',
        'data-recipients': st?.recipients ? st.recipients.map((r) => `${r.kid}:${r.highest}`).join(' ') : '' });
      line.append(svgEl('rect', { x: -cardW(n) / 2, y: y - F + 2, width: 10, height: F - 2, style: `fill:${store.colorOf(c)}`, class: 'swatch' }),
        svgEl('text', { x: -cardW(n) / 2 + 16, y, class: 'nctx', 'data-testid': 'stage-label' }, c),
        svgEl('text', { x: -cardW(n) / 2 + 16, y: y + F + 4, class: 'nseq', 'data-testid': 'stage-label' }, stageStateText(st)));
      if (st && st.highest >= 0) {
        const cells = Math.min(8, st.window);
        const seen = new Set(st.seen);
        const x0 = cardW(n) / 2 - cells * 8;
        for (let i = 0; i < cells && st.highest - i >= 0; i++) line.append(svgEl('rect', { x: x0 + i * 8, y: y + 8, width: 6, height: F - 6, class: seen.has(st.highest - i) ? 'cell on' : 'cell' }));
      }
      g.append(line);
      y += 2 * (F + 6);
    }
    g.addEventListener('click', () => { topoStage.node = topoStage.node === n.id ? null : n.id; stageRender(); stageShare(); });
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter') { topoStage.node = n.id; stageRender(); stageShare(); } });
    nodeLayer.append(g);
  }
  const top = Math.min(0, ...placed.map((b) => b.y0)) - 10;
  const height = Math.max(H, ...placed.map((b) => b.y1)) + 10 - top;
  const avail = Math.max(320, stageWidth - 40);
  const k = Math.min(1.5, Math.max(1, avail / W)); // never below 1: text stays at stageFont or larger
  svg.setAttribute('viewBox', `0 ${top} ${W} ${height}`);
  svg.setAttribute('width', String(Math.round(W * k)));
  svg.setAttribute('height', String(Math.round(height * k)));

  const env = row ? stageEnvelope(row, pos) : null;
  if (env) svg.append(env.g);
  const head = el('div', { class: 'stage-top' },
    el('b', {}, row ? `${row.from} → ${row.to}` : note ? `${note.kind}${note.node ? ` at ${note.node}` : ''}` : 'no message selected'),
    row ? ` ${row.dir || ''} · ${row.layers.length ? row.layers.slice().reverse().map((e) => e.ctx).join(' ⟩ ') : 'no OSCORE layer'}`
      : note ? ` ${note.code ? `${note.code} ` : ''}${note.text || ''}` : ' (step through Replay or select a message)',
    replay.active ? el('span', { class: 'hint' }, ` · step ${replay.cursor}/${replay.all.length}`) : '',
    el('button', { type: 'button', class: 'stage-close', 'data-testid': 'topo-stage-close', onclick: () => topoStage.show(false) }, 'Close'));
  root.replaceChildren(head, el('div', { class: 'stage-svg' }, svg), stageDetail(row));
  if (env) stageTravel(env, row);
}

// stageEnvelope draws the message as an envelope: one band per OSCORE
// layer, outermost on top, each in its context's colour with its name.
function stageEnvelope(row, pos) {
  const a = pos.get(row.from), b = pos.get(row.to);
  if (!a || !b) return null;
  const F = stageFont;
  const bands = row.layers.length ? row.layers.slice().reverse().map((e) => e.ctx) : [''];
  const w = Math.max(120, ...bands.map((c) => topoTextWidth(c || 'no OSCORE', F) + 16));
  const bh = F + 8, h = bands.length * bh + 10;
  const g = svgEl('g', { class: 'envelope', 'data-testid': 'topo-envelope', 'data-from': row.from, 'data-to': row.to, 'data-seq': String(row.seq) },
    svgEl('rect', { x: -w / 2 - 5, y: -h / 2, width: w + 10, height: h, rx: 6, class: 'env-paper' }));
  bands.forEach((c, i) => {
    const y = -h / 2 + 5 + i * bh;
    const band = svgEl('g', { 'data-testid': 'env-band', 'data-ctx': c });
    band.append(svgEl('rect', { x: -w / 2, y, width: w, height: bh - 2, fill: c ? store.colorOf(c) : '#ddd', class: 'env-band' }),
      svgEl('text', { x: 0, y: y + bh - 8, class: 'env-label', style: `fill:${c ? stageInk(store.colorOf(c)) : '#000'}` }, c || 'no OSCORE'));
    g.append(band);
  });
  return { g, a, b };
}

// stageInk is black or white, whichever contrasts more with the band's
// colour (WCAG relative luminance), so every band label reads at 4.5:1.
function stageInk(hex) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex || '');
  if (!m) return '#000';
  const lin = (i) => { const c = parseInt(m[1].slice(i, i + 2), 16) / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const L = 0.2126 * lin(0) + 0.7152 * lin(2) + 0.0722 * lin(4);
  return (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) ? '#000' : '#fff';
}

// stageTravel moves the envelope from the sender's centre to the
// receiver's, once per message. A drawing made while it travels (a live
// event, the selection announced again) picks up where it was; a message
// already shown stays put.
function stageTravel(env, row) {
  const place = (t) => env.g.setAttribute('transform', `translate(${env.a.x + (env.b.x - env.a.x) * t},${env.a.y + (env.b.y - env.a.y) * t})`);
  cancelAnimationFrame(topoStage.anim);
  if (topoStage.shownSeq !== row.seq) { topoStage.shownSeq = row.seq; topoStage.travelFrom = performance.now(); }
  const t0 = topoStage.travelFrom;
  const step = (now) => {
    const t = topoStage.animMs > 0 ? Math.min(1, Math.max(0, (now - t0) / topoStage.animMs)) : 1;
    place(t < 1 ? t * t * (3 - 2 * t) : 1); // ease in and out
    if (t < 1) topoStage.anim = requestAnimationFrame(step);
    else env.g.dataset.arrived = '1';
  };
  step(performance.now());
}

// stageProcessing finds what node did with the message in row, among the
// events shown: on the way in (it received it), the events of the exchange
// at that node after the datagram up to its first added layer or its next
// datagram; on the way out (it sent it), its events back to the last layer
// it removed, the request reaching its application, or its previous datagram.
export function stageProcessing(events, row, node) {
  let i = events.length - 1;
  while (i >= 0 && events[i].seq !== row.seq) i--;
  const inn = [], out = [];
  if (i < 0) return { inn, out };
  const x = row.exchange;
  const own = (e) => e.exchange === x && e.node === node;
  if (node === row.to) {
    for (let j = i + 1; j < events.length; j++) {
      const e = events[j];
      if (e.type === 'datagram') { if (e.exchange === x && (e.from === node || e.to === node)) break; continue; }
      if (!own(e)) continue;
      if (e.type === 'layer' && pick(e.layer_event, 'action') === 'applied') break;
      if (e.type === 'layer' || e.type === 'decision' || e.type === 'delivery' || e.type === 'error') inn.push(e);
    }
  }
  if (node === row.from) {
    for (let j = i - 1; j >= 0; j--) {
      const e = events[j];
      if (e.type === 'datagram') { if (e.exchange === x && (e.from === node || e.to === node)) break; continue; }
      if (!own(e)) continue;
      const action = e.type === 'layer' ? pick(e.layer_event, 'action') : '';
      if (action === 'removed' || action === 'failed' || e.type === 'delivery' || (e.type === 'decision' && e.decision?.rule === 'incoming-request')) break;
      if (e.type === 'layer' || e.type === 'decision' || e.type === 'error') out.unshift(e);
    }
  }
  return { inn, out };
}

function stageEventLine(e) {
  if (e.type === 'layer') {
    const le = e.layer_event || {}, rep = le.report || {};
    const ctx = typeof rep.context === 'string' ? rep.context : '?';
    const verb = { applied: 'added', removed: 'removed', failed: 'failed to remove' }[le.action] || String(le.action || '');
    return el('li', { class: `proc layer ${le.action}`, 'data-testid': 'proc-layer', 'data-action': String(le.action || ''), 'data-ctx': ctx },
      `${verb} `, el('span', { class: 'chip', style: `--c:${store.colorOf(ctx)}` }, ctx), ` (layer ${e.layer || '?'}) ${typeof rep.option === 'string' ? rep.option : ''}`);
  }
  if (e.type === 'decision') {
    const d = e.decision || {};
    return el('li', { class: 'proc decision', 'data-testid': 'proc-decision' },
      `${String(d.rule || '')}${d.step ? ` step ${d.step}` : ''}${d.section ? ` (${d.section})` : ''}: ${String(d.outcome || '')}${d.code ? ` → ${d.code}` : ''}`);
  }
  if (e.type === 'delivery') {
    const d = e.delivery || {};
    return el('li', { class: 'proc delivery', 'data-testid': 'proc-delivery' },
      d.method ? `handed ${String(d.method)} /${String(d.resource || '')} to its application` : `got ${String(d.code || '')} ${String(d.payload || '')}`.trim());
  }
  const er = e.error || {};
  return el('li', { class: 'proc error', 'data-testid': 'proc-error' }, `answered ${String(er.code || '')} ${String(er.reason || er.diagnostic || '')}`);
}

// stageDetail is the clicked node's processing of the current message and
// its contexts' state now.
function stageDetail(row) {
  const id = topoStage.node;
  if (!id) return el('p', { class: 'hint stage-hint' }, 'Click a node to see what it did with this message.');
  const box = el('div', { class: 'stage-detail', 'data-testid': 'topo-detail', 'data-node': id });
  box.append(el('h3', {}, `${id}${row ? ` and the message ${row.from} → ${row.to}` : ''}`));
  if (!row) { box.append(el('p', {}, 'No message is selected.')); return box; }
  const { inn, out } = stageProcessing(store.events, row, id);
  const summary = (list, action, word) => {
    const ctxs = list.filter((e) => e.type === 'layer' && e.layer_event?.action === action).map((e) => e.layer_event?.report?.context).filter((c) => typeof c === 'string');
    return ctxs.length ? `${word} ${ctxs.join(', ')}` : '';
  };
  if (id === row.from) {
    box.append(el('h4', {}, `Out: how ${id} sent it`), el('p', { class: 'proc-sum', 'data-testid': 'proc-out-sum' }, summary(out, 'applied', 'added') || 'added no layer'),
      el('ol', { 'data-testid': 'proc-out' }, ...out.map(stageEventLine)));
  }
  if (id === row.to) {
    box.append(el('h4', {}, `In: what ${id} did with it`), el('p', { class: 'proc-sum', 'data-testid': 'proc-in-sum' }, summary(inn, 'removed', 'removed') || 'removed no layer'),
      el('ol', { 'data-testid': 'proc-in' }, ...inn.map(stageEventLine)));
    if (!inn.length) box.append(el('p', { class: 'hint' }, replay.active ? 'Nothing yet at this step: step on to see it.' : 'Nothing recorded.'));
  }
  if (id !== row.from && id !== row.to) box.append(el('p', {}, `${id} neither sent nor received this message.`));
  return box;
}

// T opens and closes the stage; Esc closes it before anything else (the
// selection and presenter mode stay). Never while typing in a field.
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || presenter.audience || e.target.closest?.('input,select,textarea,[contenteditable]')) return;
  if (e.key === 't' || e.key === 'T') { topoStage.show(); e.preventDefault(); }
  else if (e.key === 'Escape' && topoStage.open) { topoStage.show(false); e.preventDefault(); e.stopImmediatePropagation(); }
}, true);

// Follow replay, the selection and the scenario while the stage is open.
let stagePending = 0;
function stageSoon() {
  if (!topoStage.open || stagePending) return;
  stagePending = requestAnimationFrame(() => { stagePending = 0; stageRender(); });
}
replay.subscribe(stageSoon);
store.subscribe('select', stageSoon);
store.subscribe('scenario', stageSoon);
store.subscribe('events', stageSoon);
store.subscribe('reset', () => { topoStage.shownSeq = 0; stageSoon(); });

queueMicrotask(() => {
  registerTool({ id: 'topo-stage', offline: true, render: () => el('span', { class: 'tool topo-stage-tool' },
    el('button', { type: 'button', 'data-testid': 'tool-topo-stage', title: 'the topology, large (T): the message travels along the links, each node shows its state at this step (click a node for its processing)', onclick: () => topoStage.show() }, 'Topology stage')) });
  if (window.oscoreLab) window.oscoreLab.topoStage = topoStage;
});
