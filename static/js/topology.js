// The topology view and editor: nodes, links and Security Contexts drawn as
// SVG, and forms that add or remove nodes and contexts, edit allow-lists and
// layer limits, and inject link faults. Every change goes to the running
// lab at once (PUT /api/scenario).
import { el } from './util.js';
import { faultForm } from './faultform.js';
import { groupSection } from './topogroups.js';

const SVG = 'http://www.w3.org/2000/svg';
export const svgEl = (tag, attrs = {}, ...kids) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};

const ALGS = [['10', 'AES-CCM-16-64-128'], ['11', 'AES-CCM-16-64-256'], ['30', 'AES-CCM-16-128-128'], ['31', 'AES-CCM-16-128-256'],
  ['1', 'A128GCM'], ['2', 'A192GCM'], ['3', 'A256GCM'], ['24', 'ChaCha20/Poly1305']];

/** roleLabel names what a node is, forward and reverse proxies apart. */
export function roleLabel(n) {
  if (n.role !== 'proxy') return n.role;
  const f = n.forward, r = (n.reverse || []).length > 0;
  return f && r ? 'forward+reverse proxy' : r ? 'reverse proxy' : 'forward proxy';
}

/** mapText and parseMapText edit {key: [values]} maps as "key: a, b; other: c" ("-" is the empty key). */
export function mapText(m) {
  return Object.entries(m || {}).map(([k, v]) => `${k === '' ? '-' : k}: ${[].concat(v).join(', ')}`).join('; ');
}
export function parseMapText(t, single = false) {
  const out = {};
  for (const part of String(t || '').split(';')) {
    if (!part.trim()) continue;
    const i = part.indexOf(':');
    if (i < 0) throw new Error(`topology: "${part.trim()}" needs the form key: value`);
    let k = part.slice(0, i).trim();
    if (k === '-') k = '';
    const vals = part.slice(i + 1).split(',').map((x) => x.trim()).filter(Boolean);
    out[k] = single ? (vals[0] || '') : vals;
  }
  return out;
}

function randomHex(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// topoTextWidth estimates a label's width at a font size, generously:
// labels are placed before they are drawn, and placed labels must not touch.
export function topoTextWidth(text, size) { return String(text).length * size * 0.62 + 6; }

function topoOverlap(a, b) { return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1; }

/**
 * topoPlace moves box (x0, y0, x1, y1) by dy until it overlaps none of the
 * placed boxes, adds it to them and returns it: every label drawn this way
 * stays clear of the others, however many nodes and contexts there are.
 */
export function topoPlace(placed, box, dy) {
  for (let k = 0; k < 200 && placed.some((p) => topoOverlap(p, box)); k++) { box.y0 += dy; box.y1 += dy; }
  placed.push(box);
  return box;
}

/** topoColumns orders nodes as the draft's figures do: clients, each proxy, groups, then servers and outside endpoints. */
export function topoColumns(nodes) {
  const cols = [];
  const clients = nodes.filter((n) => n.role === 'client');
  const proxies = nodes.filter((n) => n.role === 'proxy');
  const groups = nodes.filter((n) => n.role === 'group');
  const ends = nodes.filter((n) => n.role !== 'client' && n.role !== 'proxy' && n.role !== 'group');
  if (clients.length) cols.push(clients);
  for (const p of proxies) cols.push([p]);
  if (groups.length) cols.push(groups);
  if (ends.length) cols.push(ends);
  return cols;
}

/**
 * topoLayout places nodes in columns. size(n) gives a node's block
 * {w, h} (its box, role and whatever the view draws under it); columns
 * are as wide as their widest block and rows as tall as the tallest, so
 * no two blocks meet. Returns {pos: id -> {x, y}, W, H}, y the box centre.
 */
export function topoLayout(nodes, size, { gapX = 30, gapY = 24, top = 40 } = {}) {
  const cols = topoColumns(nodes);
  const pos = new Map();
  const rowH = Math.max(40, ...nodes.map((n) => size(n).h)) + gapY;
  const colH = Math.max(1, ...cols.map((c) => c.length)) * rowH;
  let x = 0;
  for (const c of cols) {
    const w = Math.max(80, ...c.map((n) => size(n).w)) + gapX;
    c.forEach((n, j) => pos.set(n.id, { x: x + w / 2, y: top + (colH - c.length * rowH) / 2 + j * rowH + 18 }));
    x += w;
  }
  return { pos, W: Math.max(x, 300), H: top + colH };
}

/**
 * topoLinks lists the links of a scenario: the declared ones (links[],
 * with or without faults) and those its routing implies (upstream, reverse
 * routes, next-hop contexts), each once per pair, with why it exists.
 */
export function topoLinks(sc, extraPairs = []) {
  const seen = new Map();
  const add = (a, b, kind) => {
    if (!a || !b || a === b) return;
    const k = [a, b].sort().join('|');
    if (!seen.has(k)) seen.set(k, { a, b, kinds: new Set(), declared: null });
    seen.get(k).kinds.add(kind);
    return seen.get(k);
  };
  for (const l of sc.links || []) {
    const x = add(l.a, l.b, 'declared');
    if (x) { x.declared = l; if ((l.faults || []).length) x.kinds.add('fault'); }
  }
  for (const n of sc.nodes || []) {
    add(n.id, n.upstream, 'route');
    for (const r of n.reverse || []) add(n.id, r.to, 'route');
    for (const t of Object.keys(n.next_hop_contexts || {})) add(n.id, t, 'route');
  }
  for (const g of sc.groups || []) for (const m of g.members || []) add(g.id, m.node, 'group');
  for (const [a, b] of extraPairs) add(a, b, 'seen');
  return [...seen.values()];
}

/**
 * topoNodes is what the topology draws: the scenario's nodes and, as nodes
 * of role group, its CoAP groups (RFC 7252 8), which requests are sent to
 * and whose copies reach the members.
 */
export function topoNodes(sc) {
  const nodes = (sc.nodes || []).filter((n) => typeof n.id === 'string');
  const ids = new Set(nodes.map((n) => n.id));
  const groups = (Array.isArray(sc.groups) ? sc.groups : []).filter((g) => g && typeof g.id === 'string' && !ids.has(g.id)).map((g) => ({ id: g.id, role: 'group' }));
  return [...nodes, ...groups];
}

/**
 * topoReferences lists what in a scenario names node id, each with a
 * sentence and a clear(sc) that removes the reference, so removing a node
 * can offer to clear them instead of failing validation. The node's own
 * contexts (own: true) go with it, and with them what names those contexts.
 */
export function topoReferences(sc, id) {
  const refs = [];
  const ref = (text, clear, own = false) => refs.push({ text, clear, own });
  const gone = new Set((sc.contexts || []).filter((c) => c.a?.node === id || c.b?.node === id).map((c) => c.name));
  for (const name of gone) ref(`its context ${name}`, (s) => { s.contexts = (s.contexts || []).filter((c) => c.name !== name); }, true);
  for (const n of sc.nodes || []) {
    if (n.id === id) continue;
    const m = (s) => s.nodes.find((x) => x.id === n.id);
    if (n.upstream === id) ref(`${n.id}'s upstream`, (s) => { delete m(s).upstream; });
    (n.reverse || []).forEach((r, i) => {
      if (r.to === id) ref(`${n.id}'s reverse route ${i + 1} to ${id}`, (s) => { m(s).reverse = (m(s).reverse || []).filter((x) => x.to !== id); if (!m(s).reverse.length) delete m(s).reverse; });
      else if ((r.contexts || []).some((c) => gone.has(c))) ref(`${n.id}'s reverse route ${i + 1} (contexts)`, (s) => { for (const x of m(s).reverse || []) if (x.contexts) x.contexts = x.contexts.filter((c) => !gone.has(c)); });
    });
    for (const [hop, c] of Object.entries(n.next_hop_contexts || {})) {
      if (hop === id || gone.has(c)) ref(`${n.id}'s next-hop context for ${hop}`, (s) => { delete m(s).next_hop_contexts[hop]; if (!Object.keys(m(s).next_hop_contexts).length) delete m(s).next_hop_contexts; });
    }
    for (const [c, targets] of Object.entries(n.allow || {})) {
      if (gone.has(c) || [].concat(targets).includes(id)) ref(`${n.id}'s allow-list${c ? ` for ${c}` : ''}`, (s) => {
        const al = m(s).allow;
        if (gone.has(c)) delete al[c]; else al[c] = [].concat(al[c]).filter((t) => t !== id);
        if (!Object.keys(al).length) delete m(s).allow;
      });
    }
    for (const [src, cs] of Object.entries(n.source_policy || {})) {
      if (src === id || [].concat(cs).some((c) => gone.has(c))) ref(`${n.id}'s source policy for ${src}`, (s) => {
        const sp = m(s).source_policy;
        if (src === id) delete sp[src]; else sp[src] = [].concat(sp[src]).filter((c) => !gone.has(c));
        if (!Object.keys(sp).length) delete m(s).source_policy;
      });
    }
  }
  for (const l of sc.links || []) {
    if (l.a === id || l.b === id) ref(`link ${l.a}-${l.b}${(l.faults || []).length ? ` and its ${l.faults.length} fault(s)` : ''}`, (s) => { s.links = (s.links || []).filter((x) => !(x.a === l.a && x.b === l.b)); });
  }
  // Groups (RFC 7252 8) and Group OSCORE contexts (RFC 10021) list their
  // members; the node leaves them. A group or group context left with no
  // member goes too (it needs one), and what names it: the steps sent to
  // the group, its links, the groups protected by the context.
  const dropGroup = (s, gid) => {
    s.groups = (s.groups || []).filter((q) => q.id !== gid);
    s.links = (s.links || []).filter((l) => l.a !== gid && l.b !== gid);
    s.steps = (s.steps || []).filter((st) => st.to !== gid);
  };
  for (const g of sc.groups || []) {
    const left = (g.members || []).filter((m) => m.node !== id);
    if (left.length === (g.members || []).length) continue;
    if (left.length) ref(`member of group ${g.id}`, (s) => { const x = (s.groups || []).find((q) => q.id === g.id); if (x) x.members = x.members.filter((m) => m.node !== id); });
    else ref(`group ${g.id} (${id} is its only member), its links and the steps sent to it`, (s) => dropGroup(s, g.id));
  }
  for (const gc of sc.group_contexts || []) {
    const left = (gc.members || []).filter((m) => m.node !== id);
    if (left.length === (gc.members || []).length) continue;
    if (left.length) ref(`member of group context ${gc.name}`, (s) => { const x = (s.group_contexts || []).find((q) => q.name === gc.name); if (x) x.members = x.members.filter((m) => m.node !== id); });
    else ref(`group context ${gc.name} (${id} is its only member)`, (s) => {
      s.group_contexts = (s.group_contexts || []).filter((q) => q.name !== gc.name);
      for (const g of s.groups || []) if (g.context === gc.name) delete g.context;
    });
  }
  const node = (sc.nodes || []).find((n) => n.id === id);
  const names = new Set([id, node?.authority].filter(Boolean).map((x) => x.toLowerCase()));
  (sc.steps || []).forEach((st, i) => {
    let host = '';
    try { host = new URL(st.uri).hostname.toLowerCase(); } catch { /* not a URI */ }
    if (st.from === id || (st.route || []).includes(id) || names.has(host) || (st.contexts || []).some((c) => gone.has(c)) || gone.has(st.edhoc) || (st.seq || []).some((q) => q.node === id || gone.has(q.context))) {
      const name = st.name || `${st.method || ''} ${st.uri || ''}`.trim() || `step ${i + 1}`;
      ref(`step ${i + 1} (${name})`, (s) => { s.steps = (s.steps || []).filter((x) => !(x.name === st.name && x.uri === st.uri && x.from === st.from && x.method === st.method)); });
    }
    // A group step expects answers by member: the node's go.
    else if ((st.expect?.responses || []).some((r) => r?.from === id)) {
      ref(`step ${i + 1}'s expected answer from ${id}`, (s) => {
        const x = (s.steps || []).find((q) => q.name === st.name && q.uri === st.uri && q.from === st.from && q.method === st.method && q.to === st.to);
        if (!x?.expect?.responses) return;
        x.expect.responses = x.expect.responses.filter((r) => r?.from !== id);
        if (!x.expect.responses.length) delete x.expect.responses;
      });
    }
  });
  return refs;
}

/** topoLinkReferences lists the routing entries that make a and b neighbours. */
export function topoLinkReferences(sc, a, b) {
  const refs = [];
  for (const [x, y] of [[a, b], [b, a]]) {
    const n = (sc.nodes || []).find((q) => q.id === x);
    if (!n) continue;
    const m = (s) => s.nodes.find((q) => q.id === x);
    if (n.upstream === y) refs.push({ text: `${x}'s upstream ${y}`, clear: (s) => { delete m(s).upstream; } });
    if ((n.reverse || []).some((r) => r.to === y)) refs.push({ text: `${x}'s reverse routes to ${y}`, clear: (s) => { m(s).reverse = m(s).reverse.filter((r) => r.to !== y); if (!m(s).reverse.length) delete m(s).reverse; } });
    if ((n.next_hop_contexts || {})[y]) refs.push({ text: `${x}'s next-hop context for ${y}`, clear: (s) => { delete m(s).next_hop_contexts[y]; if (!Object.keys(m(s).next_hop_contexts).length) delete m(s).next_hop_contexts; } });
  }
  return refs;
}

export function mountTopology(root, ctx) {
  const { store, api, status } = ctx;
  const svgBox = el('div', { class: 'topo-svg', 'data-testid': 'topology' });
  const editor = el('div', { class: 'editor', 'data-testid': 'editor' });
  root.append(svgBox, editor);
  let selectedNode = null;
  let faultsOpen = false;
  let linksOpen = false;
  let groupsOpen = false;
  let refreshLinkList = () => {};
  let refreshFaultLinks = () => {};
  let scannedRows = 0;
  const seenPairs = new Set(); // node pairs that exchanged datagrams
  store.subscribe('reset', () => { scannedRows = 0; seenPairs.clear(); });

  async function apply(mutate, what) {
    if (!store.scenario) return;
    const sc = structuredClone(store.scenario);
    try {
      mutate(sc);
      const res = await api.applyScenario(sc, store.version());
      store.setScenario(res?.scenario || sc, res?.rev, res?.epoch);
      status(`${what}: applied to the running lab`);
    } catch (e) {
      showRunning(e);
      status(e.message, true);
    }
  }
  ctx.applyScenario = apply;
  // A refused edit (412) carries the configuration that runs: show it.
  function showRunning(e) {
    if (e.status === 412 && e.data?.scenario) store.setScenario(e.data.scenario, e.data.rev, e.data.epoch);
  }

  // seenLinkPairs adds the node pairs that exchanged datagrams since the
  // last call: they are links too, although no configuration names them.
  function seenLinkPairs() {
    for (; scannedRows < store.rows.length; scannedRows++) {
      const r = store.rows[scannedRows];
      if (r.kind === 'datagram' && r.from && r.to) seenPairs.add(`${r.from}|${r.to}`);
    }
    return [...seenPairs].map((p) => p.split('|'));
  }
  const links = (sc) => topoLinks(sc, seenLinkPairs());

  function drawSVG() {
    const sc = store.scenario || { nodes: [] };
    const nodes = topoNodes(sc);
    const nodeW = (n) => Math.max(68, topoTextWidth(n.id, 14) + 12);
    const size = (n) => ({ w: Math.max(nodeW(n), topoTextWidth(roleLabel(n), 12)), h: 56 });
    const { pos, W, H } = topoLayout(nodes, size, { top: 30 });
    const placed = []; // label and node boxes, kept apart
    for (const n of nodes) {
      const p = pos.get(n.id), w = nodeW(n), rw = topoTextWidth(roleLabel(n), 12);
      placed.push({ x0: p.x - w / 2, y0: p.y - 18, x1: p.x + w / 2, y1: p.y + 18 }, { x0: p.x - rw / 2, y0: p.y + 20, x1: p.x + rw / 2, y1: p.y + 37 });
    }
    const svg = svgEl('svg', { class: 'topo', role: 'img', 'aria-label': 'topology' });
    for (const l of links(sc)) {
      const a = pos.get(l.a), b = pos.get(l.b);
      if (!a || !b) continue;
      svg.append(svgEl('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `link ${l.kinds.has('fault') ? 'fault' : ''}`, 'data-testid': 'topo-link', 'data-link': `${l.a}-${l.b}` }));
    }
    const labels = [];
    for (const c of store.contexts.length ? store.contexts : sc.contexts || []) {
      const na = c.a?.node ?? c.endpoints?.[0]?.node, nb = c.b?.node ?? c.endpoints?.[1]?.node;
      const a = pos.get(na), b = pos.get(nb);
      if (!a || !b) continue;
      const w = topoTextWidth(c.name, 12), mx = (a.x + b.x) / 2, y = Math.min(a.y, b.y) - 30;
      const box = topoPlace(placed, { x0: mx - w / 2, y0: y - 12, x1: mx + w / 2, y1: y + 4 }, -16);
      const ly = box.y1 - 4;
      svg.append(svgEl('path', { d: `M${a.x},${a.y - 18} Q${mx},${2 * (ly + 4) - (a.y + b.y - 36) / 2} ${b.x},${b.y - 18}`, class: 'ctx-arc', stroke: store.colorOf(c.name), 'data-testid': 'topo-ctx', 'data-ctx': c.name }));
      labels.push(svgEl('text', { x: mx, y: ly, class: 'ctx-label', fill: '#222', 'data-testid': 'topo-label' }, c.name));
    }
    svg.append(...labels);
    for (const n of nodes) {
      const p = pos.get(n.id), w = nodeW(n);
      const g = svgEl('g', { class: `tnode ${n.role} ${n.id === selectedNode ? 'sel' : ''}`, 'data-testid': 'topo-node', 'data-node': n.id, transform: `translate(${p.x},${p.y})`, tabindex: '0' },
        svgEl('rect', { x: -w / 2, y: -18, width: w, height: 36, rx: n.role === 'proxy' ? 4 : 18 }),
        svgEl('text', { y: 5, class: 'nid', 'data-testid': 'topo-label' }, n.id),
        svgEl('text', { y: 32, class: 'nrole', 'data-testid': 'topo-label' }, roleLabel(n)));
      g.addEventListener('click', () => { selectedNode = n.id; drawAll(); });
      svg.append(g);
    }
    const top = Math.min(0, ...placed.map((b) => b.y0)) - 4;
    const vh = Math.max(H, ...placed.map((b) => b.y1)) + 8 - top;
    svg.setAttribute('viewBox', `0 ${top} ${W} ${vh}`);
    // Drawn at its own size (labels 12 px and up), scrolled sideways when
    // the panel is narrower; the topology stage shows it large.
    svg.setAttribute('width', W);
    svg.setAttribute('height', vh);
    svgBox.replaceChildren(svg);
    markMessage();
  }

  // confirmRefs shows what an edit would leave dangling and applies the
  // edit together with clearing them, or nothing: the validator's error
  // never has to be the first word.
  let pendingConfirm = null;
  function confirmRefs(title, refs, mutate, what) {
    if (!refs.some((r) => !r.own)) { apply((s) => { for (const r of refs) r.clear(s); mutate(s); }, what); return; }
    pendingConfirm = { title, refs, mutate, what };
    drawAll();
  }
  function confirmBox() {
    if (!pendingConfirm) return null;
    const { title, refs, mutate, what } = pendingConfirm;
    const close = () => { pendingConfirm = null; drawAll(); };
    return el('div', { class: 'ref-confirm', role: 'alertdialog', 'data-testid': 'ref-confirm' },
      el('b', {}, title), el('p', { class: 'hint' }, 'These name it and would no longer be valid:'),
      el('ul', {}, ...refs.map((r) => el('li', { 'data-testid': 'ref-item' }, r.text))),
      el('button', { type: 'button', class: 'primary', 'data-testid': 'ref-clear', onclick: () => {
        pendingConfirm = null;
        apply((s) => { for (const r of refs) r.clear(s); mutate(s); }, what);
      } }, 'Clear them and go on'), ' ',
      el('button', { type: 'button', 'data-testid': 'ref-cancel', onclick: close }, 'Cancel'));
  }

  const input = (attrs) => el('input', { type: 'text', ...attrs });
  const select = (attrs, options, value) => {
    const s = el('select', attrs, ...options.map(([v, t]) => el('option', { value: v }, t ?? v)));
    if (value !== undefined) s.value = value;
    return s;
  };

  function nodeSection(sc) {
    const id = input({ placeholder: 'id, e.g. P2', size: 6, 'data-testid': 'add-node-id' });
    const kind = select({ 'data-testid': 'add-node-kind' }, [['client'], ['forward', 'forward proxy'], ['reverse', 'reverse proxy'], ['server'], ['external', 'external endpoint']], 'forward');
    const add = el('button', { type: 'button', 'data-testid': 'add-node', onclick: () => {
      const nid = id.value.trim();
      if (!nid) return status('topology: give the new node an id', true);
      apply((s) => {
        if (s.nodes.some((n) => n.id === nid)) throw new Error(`topology: node ${nid} exists already`);
        const n = { id: nid, role: kind.value === 'forward' || kind.value === 'reverse' ? 'proxy' : kind.value };
        if (kind.value === 'forward') n.forward = true;
        if (kind.value === 'reverse') {
          // A reverse proxy maps a path prefix to a server: coap://NODE/<id>/... goes there.
          const srv = s.nodes.find((x) => x.role === 'server');
          if (!srv) throw new Error('topology: a reverse proxy needs a server to route to; add one first');
          n.reverse = [{ path_prefix: [nid.toLowerCase()], to: srv.id }];
        }
        if (kind.value === 'external') n.addr = '127.0.0.1:5683';
        s.nodes.push(n);
        selectedNode = nid;
      }, `added ${nid}`);
    } }, 'Add node');
    const list = el('ul', { class: 'nodelist' }, ...(sc.nodes || []).map((n) => el('li', { class: n.id === selectedNode ? 'sel' : '' },
      el('a', { href: '#', onclick: (e) => { e.preventDefault(); selectedNode = n.id; drawAll(); } }, n.id), ` ${roleLabel(n)} `,
      el('button', { type: 'button', class: 'small', 'data-testid': `remove-node-${n.id}`, title: `Remove ${n.id}`, onclick: () => {
        const refs = topoReferences(store.scenario, n.id);
        confirmRefs(`Remove ${n.id}?`, refs, (s) => {
          s.nodes = s.nodes.filter((x) => x.id !== n.id);
          if (selectedNode === n.id) selectedNode = null;
        }, `removed ${n.id}`);
      } }, '✕'))));
    return el('details', { open: true }, el('summary', {}, 'Nodes'), list, el('div', { class: 'row-form' }, id, kind, add));
  }

  function nodeForm(sc) {
    const n = (sc.nodes || []).find((x) => x.id === selectedNode);
    if (!n) return el('p', { class: 'hint' }, 'Click a node to edit it.');
    const f = {
      authority: input({ value: n.authority || '', placeholder: 'example.com' }),
      forward: el('input', { type: 'checkbox', checked: !!n.forward }),
      upstream: input({ value: n.upstream || '', placeholder: 'next proxy id' }),
      layer_limit: el('input', { type: 'number', min: 0, max: 16, value: n.layer_limit || '', placeholder: '4', 'data-testid': 'node-layer-limit' }),
      hop_limit: el('input', { type: 'number', min: -1, max: 255, value: n.hop_limit || '', placeholder: '16', title: '0 or empty: 16; -1: insert none' }),
      allow: input({ value: mapText(n.allow), placeholder: 'CTX_C_P: S, *; -: *', 'data-testid': 'node-allow' }),
      next: input({ value: mapText(n.next_hop_contexts), placeholder: 'S: CTX_P_S' }),
      source: input({ value: mapText(n.source_policy), placeholder: 'P: CTX_P_S' }),
      reverse: el('textarea', { rows: 2, placeholder: '[{"host":"example.com","to":"S"}]' }, n.reverse ? JSON.stringify(n.reverse) : ''),
      addr: input({ value: n.role === 'external' ? n.addr || '' : n.listen || '', placeholder: n.role === 'external' ? 'host:port' : 'listen (empty: any port)' }),
    };
    const lab = (t, x, tip) => el('label', { title: tip || '' }, el('span', {}, t), x);
    const save = el('button', { type: 'button', 'data-testid': 'node-apply', onclick: () => apply((s) => {
      const m = s.nodes.find((x) => x.id === n.id);
      const setOr = (k, v) => { if (v === '' || v === 0 || v === false || (typeof v === 'object' && !Object.keys(v).length)) delete m[k]; else m[k] = v; };
      setOr('authority', f.authority.value.trim());
      if (m.role === 'proxy') {
        setOr('forward', f.forward.checked);
        setOr('upstream', f.upstream.value.trim());
        setOr('hop_limit', Number(f.hop_limit.value) || 0);
        setOr('next_hop_contexts', parseMapText(f.next.value, true));
        const rv = f.reverse.value.trim();
        if (rv) { try { m.reverse = JSON.parse(rv); } catch { throw new Error('topology: reverse routes must be a JSON array'); } } else delete m.reverse;
      }
      setOr('layer_limit', Number(f.layer_limit.value) || 0);
      setOr('allow', parseMapText(f.allow.value));
      setOr('source_policy', parseMapText(f.source.value));
      if (m.role === 'external') setOr('addr', f.addr.value.trim()); else setOr('listen', f.addr.value.trim());
    }, `updated ${n.id}`) }, `Apply to ${n.id}`);
    const rows = [lab('authority', f.authority, 'host name this node answers to'), lab('layer limit', f.layer_limit, 'draft 2.1: most layers accepted or applied'),
      lab('allow', f.allow, 'draft 2.4 step 4: context that removed the previous layer (- for none) → targets'),
      lab('source policy', f.source, 'draft 2.4.1: previous hop → contexts accepted from it'), lab(n.role === 'external' ? 'address' : 'listen', f.addr)];
    if (n.role === 'proxy') rows.splice(1, 0, lab('forward proxy', f.forward), lab('upstream', f.upstream), lab('next-hop contexts', f.next, 'draft 2.3: next hop → context for an extra layer'),
      lab('hop limit', f.hop_limit, 'RFC 8768'), lab('reverse routes', f.reverse));
    return el('div', { class: 'nodeform', 'data-testid': 'node-form' }, el('b', {}, `${n.id} (${roleLabel(n)})`), ...rows, save);
  }

  function contextSection(sc) {
    const ids = (sc.nodes || []).map((n) => [n.id]);
    const list = el('ul', { class: 'ctxlist' }, ...(sc.contexts || []).map((c) => el('li', {},
      el('span', { class: 'chip', style: `--c:${store.colorOf(c.name)}` }, c.name),
      ` ${c.a.node}(${c.a.sender_id || '∅'}) ↔ ${c.b.node}(${c.b.sender_id || '∅'}) alg ${c.alg || '10'} `,
      el('button', { type: 'button', class: 'small', 'data-testid': `remove-ctx-${c.name}`, onclick: () => apply((s) => { s.contexts = s.contexts.filter((x) => x.name !== c.name); }, `removed ${c.name}`) }, '✕'))));
    const a = select({ 'data-testid': 'ctx-a' }, ids), b = select({ 'data-testid': 'ctx-b' }, ids, ids[ids.length - 1]?.[0]);
    const name = input({ placeholder: 'CTX_A_B', size: 10, 'data-testid': 'ctx-name' });
    const sa = input({ size: 6, value: '01', 'data-testid': 'ctx-sid-a' }), sb = input({ size: 6, value: '02', 'data-testid': 'ctx-sid-b' });
    const secret = input({ size: 32, value: randomHex(16), 'data-testid': 'ctx-secret' });
    const salt = input({ size: 16 });
    const idctx = input({ size: 10 });
    const alg = select({}, ALGS.map(([v, t]) => [v, `${v} ${t}`]), '10');
    const hkdf = select({}, [['SHA-256'], ['SHA-512']]);
    const add = el('button', { type: 'button', 'data-testid': 'add-ctx', onclick: () => {
      const nm = name.value.trim() || `CTX_${a.value}_${b.value}`;
      apply((s) => {
        if (a.value === b.value) throw new Error('topology: a context joins two different nodes');
        const c = { name: nm, a: { node: a.value, sender_id: sa.value.trim(), recipient_id: sb.value.trim() },
          b: { node: b.value, sender_id: sb.value.trim(), recipient_id: sa.value.trim() }, master_secret: secret.value.trim(), alg: alg.value, hkdf: hkdf.value };
        if (salt.value.trim()) c.master_salt = salt.value.trim();
        if (idctx.value.trim()) c.id_context = idctx.value.trim();
        s.contexts = [...(s.contexts || []).filter((x) => x.name !== nm), c];
      }, `added ${nm}`);
    } }, 'Add context');
    const cap = (text, x, tip) => el('label', { title: tip || '' }, text, x);
    return el('details', { open: true }, el('summary', {}, 'Security contexts'), list,
      el('div', { class: 'row-form' }, cap('name', name), cap('node A', a), cap('node B', b)),
      el('div', { class: 'row-form' }, cap("A's Sender ID", sa, 'hex; B uses it as its Recipient ID'), cap("B's Sender ID", sb, 'hex; A uses it as its Recipient ID'),
        cap('ID Context', idctx, 'hex, optional')),
      el('div', { class: 'row-form' }, cap('Master Secret', secret, 'hex; typed, or random'),
        el('button', { type: 'button', class: 'small', title: 'a fresh random 16-byte secret', 'data-testid': 'ctx-random', onclick: () => { secret.value = randomHex(16); } }, 'random')),
      el('div', { class: 'row-form' }, cap('Master Salt', salt, 'hex, optional'), cap('AEAD', alg), cap('HKDF', hkdf), add));
  }

  // linkSection lists every link (declared, implied by routing, or seen
  // in traffic) and adds or removes declared ones. Removing a link that
  // routing implies offers to clear the routing entries too.
  function linkSection(sc) {
    const list = el('ul', { class: 'linklist', 'data-testid': 'link-list' });
    refreshLinkList = () => {
      const cur = store.scenario || sc;
      list.replaceChildren(...links(cur).map((l) => {
        const why = [l.kinds.has('declared') ? 'declared' : '', l.kinds.has('route') ? 'routing' : '', l.kinds.has('group') ? 'group member' : '', l.kinds.has('seen') ? 'seen in traffic' : ''].filter(Boolean).join(', ');
        const refs = topoLinkReferences(cur, l.a, l.b);
        const removable = l.declared || refs.length;
        return el('li', { 'data-testid': 'link-item', 'data-link': `${l.a}-${l.b}` }, `${l.a} — ${l.b} `, el('span', { class: 'hint' }, `(${why}${(l.declared?.faults || []).length ? `, ${l.declared.faults.length} fault(s)` : ''})`), ' ',
          removable ? el('button', { type: 'button', class: 'small', 'data-testid': `remove-link-${l.a}-${l.b}`, title: `remove the link ${l.a}-${l.b}`, onclick: () => {
            confirmRefs(`Remove the link ${l.a}-${l.b}?`, refs, (s) => {
              s.links = (s.links || []).filter((x) => !((x.a === l.a && x.b === l.b) || (x.a === l.b && x.b === l.a)));
              if (!s.links.length) delete s.links;
            }, `removed link ${l.a}-${l.b}`);
          } }, '✕') : null);
      }));
    };
    refreshLinkList();
    const ids = (sc.nodes || []).map((n) => [n.id]);
    const a = select({ 'data-testid': 'link-a' }, ids), b = select({ 'data-testid': 'link-b' }, ids, ids[ids.length - 1]?.[0]);
    const add = el('button', { type: 'button', 'data-testid': 'add-link', onclick: () => {
      const [x, y] = [a.value, b.value];
      apply((s) => {
        if (x === y) throw new Error('topology: a link joins two different nodes');
        if ((s.links || []).some((l) => (l.a === x && l.b === y) || (l.a === y && l.b === x))) throw new Error(`topology: the link ${x}-${y} exists already`);
        s.links = [...(s.links || []), { a: x, b: y }];
      }, `added link ${x}-${y}`);
    } }, 'Add link');
    return el('details', { 'data-testid': 'link-section', open: linksOpen, ontoggle: (e) => { linksOpen = e.target.open; } }, el('summary', {}, 'Links'), list,
      el('div', { class: 'row-form' }, a, b, add));
  }

  function faultSection(sc) {
    const f = faultForm({ sc, store, api, status, showRunning, links, open: faultsOpen, onToggle: (open) => { faultsOpen = open; } });
    refreshFaultLinks = f.refresh;
    return f.node;
  }

  function drawAll() {
    drawSVG();
    const sc = store.scenario;
    if (!sc) { editor.replaceChildren(el('p', { class: 'hint' }, 'Load a scenario to start.')); return; }
    if (!sc.nodes?.some((n) => n.id === selectedNode)) selectedNode = null;
    const groups = groupSection(sc, { apply, status, open: groupsOpen, onToggle: (open) => { groupsOpen = open; } });
    editor.replaceChildren(...[confirmBox(), nodeSection(sc), nodeForm(sc), contextSection(sc), groups, linkSection(sc), faultSection(sc)].filter(Boolean));
  }
  store.subscribe('scenario', () => { pendingConfirm = null; drawAll(); });
  // The selected message (the one replay stands on) marks its sender,
  // receiver and link in the drawing, as the topology stage does, large.
  function markMessage() {
    const r = store.selected ? store.bySeq.get(store.selected) : null;
    const d = r && r.kind === 'datagram' ? r : null;
    for (const g of svgBox.querySelectorAll('[data-testid="topo-node"]')) {
      g.classList.toggle('from', !!d && g.dataset.node === d.from);
      g.classList.toggle('to', !!d && g.dataset.node === d.to);
    }
    for (const l of svgBox.querySelectorAll('[data-testid="topo-link"]')) {
      l.classList.toggle('on', !!d && (l.dataset.link === `${d.from}-${d.to}` || l.dataset.link === `${d.to}-${d.from}`));
    }
  }
  store.subscribe('select', markMessage);
  // A pair that starts talking is a new link: the drawing, the link list
  // and the fault form learn it without rebuilding the forms being edited.
  let seenLinks = '';
  store.subscribe('events', () => {
    const k = store.scenario ? links(store.scenario).map((l) => `${l.a}-${l.b}:${[...l.kinds].join('+')}`).join() : '';
    if (k !== seenLinks) { seenLinks = k; drawSVG(); refreshLinkList(); refreshFaultLinks(); }
  });
  drawAll();
}
