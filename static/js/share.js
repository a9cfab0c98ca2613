// Sharing traces: export (one self-contained HTML file, a text rendering
// short enough for an issue, Mermaid), import (drop a trace JSON or an
// exported HTML file onto the lab), and run-vs-run comparison (two traces
// side by side, datagrams aligned by exchange order, hop and direction, the
// first differing field highlighted).
import { store, createStore } from './store.js';
import { registerTool } from './registry.js';
import { el, download, hexToBytes } from './util.js';
import { parseCoap } from './coap.js';
import { classText } from './inspector.js';
import { replay } from './replay.js';

export const share = {
  /** traceFromHTML pulls the embedded trace JSON out of an exported HTML file. */
  traceFromHTML(html) {
    const doc = new DOMParser().parseFromString(html, 'text/html');
    const s = doc.getElementById('trace-data');
    if (!s) throw new Error('share: this HTML file holds no oscore-lab trace (no trace-data script)');
    return JSON.parse(s.textContent);
  },

  /** parseTraceText reads a trace JSON or an exported HTML file. */
  parseTraceText(text, name = 'file') {
    const t = String(text).trimStart();
    let tr;
    try {
      tr = t.startsWith('<') ? share.traceFromHTML(t) : JSON.parse(t);
    } catch (e) {
      throw new Error(`share: ${name}: ${e.message.replace(/^share: /, '')}`);
    }
    if (!tr || tr.format !== 'oscore-lab-trace') throw new Error(`share: ${name} is not an oscore-lab trace (format field)`);
    return tr;
  },

  /** current is the trace on screen, as a trace object. */
  current() {
    return { format: 'oscore-lab-trace', version: 1, scenario: store.scenario || {}, nodes: store.nodes, contexts: store.contexts,
      events: replay.active ? replay.all.slice() : store.events.slice() };
  },

  /** view shows a trace in place of the live lab (app.js viewTrace). */
  view(tr, name, ctx) {
    const c = ctx || shareCtx;
    if (c?.viewTrace) { c.viewTrace(tr, name); return; }
    if (replay.active) replay.stop();
    store.loadTrace(tr);
    document.body.dataset.mode = 'trace';
    c?.status(`viewing ${name}`);
  },

  /** compare shows a and b side by side and returns the first difference (or null). */
  compare(a, b, names = ['A', 'B']) {
    const result = shareCompare(a, b);
    shareRenderCompare(result, names);
    return result.first;
  },

  /** diff aligns and compares two traces without drawing anything. */
  diff(a, b) { return shareCompare(a, b); },
};

let shareCtx = null;

// shareRows lists a trace's steps to align: its datagrams (with their
// layer stacks) keyed by (exchange order, hop, dir, occurrence), and its
// errors, faults and notices keyed by (exchange order, kind, node,
// occurrence). Tokens, MIDs and Partial IVs change per hop and per run,
// so they cannot align two runs.
function shareRows(tr) {
  const st = createStore();
  st.loadTrace(tr);
  const order = new Map();
  const seen = new Map();
  const out = [];
  for (const r of st.rows) {
    if (r.exchange && !order.has(r.exchange)) order.set(r.exchange, order.size + 1);
    const ex = order.get(r.exchange) || 0;
    const base = r.kind === 'datagram' ? `${ex}|${r.hop}|${r.dir || '?'}` : `${ex}|${r.kind}|${r.node || ''}`;
    const n = (seen.get(base) || 0) + 1;
    seen.set(base, n);
    out.push({ key: `${base}|${n}`, exOrder: ex, row: r, fields: r.kind === 'datagram' ? shareFields(r) : shareEventFields(r) });
  }
  return out;
}

// sharePayloadText shows a payload as quoted text when it is printable
// UTF-8, else as hex, with its length.
function sharePayloadText(b) {
  if (!b || !b.length) return 'none';
  let text = null;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(b); } catch (e) { text = null; }
  if (text !== null && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)) return `"${text}" (${b.length} bytes)`;
  return `${Array.from(b.subarray(0, 48), (x) => x.toString(16).padStart(2, '0')).join('')}${b.length > 48 ? '…' : ''} (${b.length} bytes)`;
}

// shareFields lists what two runs should agree on for a datagram, in
// reading order: endpoints, codes, the outer options, the layers with
// their options, each layer's inner code and options, the application
// payload inside the innermost layer, and last the payload on the wire
// (an OSCORE message's ciphertext, which differs whenever anything inside
// does).
function shareFields(r) {
  const p = parseCoap(hexToBytes(r.ev.bytes || ''), 'udp');
  const f = [['from → to', `${r.from} → ${r.to}`], ['type and code', `${p.type} ${p.code}`], ['inner code', r.innerCode || '']];
  const count = new Map();
  for (const o of p.options) {
    const n = (count.get(o.name) || 0) + 1;
    count.set(o.name, n);
    f.push([`outer option ${o.name}${n > 1 ? ` #${n}` : ''}`, o.field?.text ?? '']);
  }
  f.push(['outer options', p.options.map((o) => o.name).join(', ')]);
  const outer = r.layers.slice().reverse();
  f.push(['layer contexts', outer.map((e) => e.ctx).join(' ⊃ ') || 'none']);
  let inner = null;
  for (const e of outer) {
    const rep = (e.applied || e.removed)?.layer_event?.report;
    for (const o of rep?.options || []) f.push([`layer ${e.ctx} option ${o.name}`, `${o.text ?? o.value ?? ''} (Class ${classText(o.class)})`]);
    f.push([`layer ${e.ctx} options`, (rep?.options || []).map((o) => `${o.name}:${classText(o.class)}`).join(', ')]);
    if (rep?.plaintext) {
      const q = parseCoap(hexToBytes(rep.plaintext), 'plain');
      f.push([`layer ${e.ctx} code inside`, q.code || '']);
      inner = q;
    }
  }
  if (inner) f.push(['payload inside', sharePayloadText(inner.payload)]);
  f.push([outer.length ? 'payload on the wire (ciphertext)' : 'payload', sharePayloadText(p.payload)]);
  return f;
}

// shareEventFields is what two runs should agree on for an error, a fault
// or a notice: who and which code. Their texts name ports and addresses
// that change per run, so they are shown, not compared.
function shareEventFields(r) {
  return [['event', r.kind], ['node', r.node || ''], ['code', r.code || '']];
}

// shareMergeKeys lines up two runs' step keys: A's order, with each step
// only B has placed after the step B had just before it.
function shareMergeKeys(ra, rb) {
  const keys = ra.map((x) => x.key);
  const inA = new Set(keys);
  let at = -1; // where B's previous step stands in keys
  for (const x of rb) {
    const i = keys.indexOf(x.key);
    if (inA.has(x.key) && i >= 0) { at = i; continue; }
    keys.splice(at + 1, 0, x.key);
    at++;
  }
  return keys;
}

function shareCompare(a, b) {
  const ra = shareRows(a), rb = shareRows(b);
  const ma = new Map(ra.map((x) => [x.key, x]));
  const mb = new Map(rb.map((x) => [x.key, x]));
  const pairs = [];
  let first = null;
  for (const key of shareMergeKeys(ra, rb)) {
    const x = ma.get(key), y = mb.get(key);
    const diffs = [];
    if (!x || !y) diffs.push({ field: (x || y).row.kind === 'datagram' ? 'datagram' : (x || y).row.kind, a: x ? 'present' : 'absent', b: y ? 'present' : 'absent' });
    else {
      const fy = new Map(y.fields);
      const fx = new Map(x.fields);
      for (const [name, v] of x.fields) if (fy.get(name) !== v) diffs.push({ field: name, a: v, b: fy.has(name) ? fy.get(name) : '(absent)' });
      for (const [name, v] of y.fields) if (!fx.has(name)) diffs.push({ field: name, a: '(absent)', b: v });
    }
    const row = (x || y).row;
    const [exOrder, hop, dir] = key.split('|');
    const pair = { key, step: pairs.length + 1, kind: row.kind, exOrder: Number(exOrder), hop: row.kind === 'datagram' ? Number(hop) : null, dir: row.kind === 'datagram' ? dir : row.kind,
      a: x?.row || null, b: y?.row || null, fieldsA: x?.fields || [], fieldsB: y?.fields || [], diffs, diff: diffs[0] || null };
    if (pair.diff && !first) first = pair;
    pairs.push(pair);
  }
  return { pairs, first, countA: ra.length, countB: rb.length };
}

const shareCompareRoot = el('section', { class: 'panel compare-panel', 'data-view': 'compare', 'data-testid': 'view-compare', hidden: true });

function shareRowText(r) {
  if (!r) return '—';
  if (r.kind !== 'datagram') return `${r.kind} at ${r.node || '?'}${r.code ? ` ${r.code}` : ''}: ${r.text || ''}`;
  const chips = r.layers.slice().reverse().map((e) => e.ctx).join(' ⊃ ');
  return `${r.from}→${r.to} ${r.type} ${r.code}${r.innerCode ? ` ⟨${r.innerCode}⟩` : ''}${chips ? ` [${chips}]` : ''}`;
}

// shareStepDetail lists every compared field of one step, A beside B,
// the differing ones marked; drawn when the step is opened.
function shareStepDetail(p, names) {
  const fa = new Map(p.fieldsA), fb = new Map(p.fieldsB);
  const fields = [...fa.keys(), ...[...fb.keys()].filter((k) => !fa.has(k))];
  return el('table', { class: 'compare-fields', 'data-testid': 'compare-fields' },
    el('thead', {}, el('tr', {}, el('th', {}, 'field'), el('th', {}, names[0]), el('th', {}, names[1]))),
    el('tbody', {}, ...fields.map((k) => {
      const va = fa.has(k) ? fa.get(k) : '(absent)', vb = fb.has(k) ? fb.get(k) : '(absent)';
      return el('tr', { class: va === vb ? 'same' : 'differs', 'data-field': k, 'data-differs': va === vb ? '' : '1' },
        el('th', {}, k), el('td', {}, va), el('td', {}, vb));
    })));
}

function shareCloseCompare() {
  shareCompareRoot.hidden = true;
  document.body.classList.remove('comparing');
}

// shareRenderCompare shows the comparison full width in place of the lab
// (as the stage does): one row per step of the two runs lined up, each
// with both runs' messages, codes and layers and every field that
// differs; opening a step lists all its fields side by side.
function shareRenderCompare(res, names) {
  const { pairs, first } = res;
  const summary = first
    ? el('p', { class: 'compare-first', 'data-testid': 'compare-first', 'data-field': first.diff.field },
      `First difference: step ${first.step}, exchange ${first.exOrder}${first.hop !== null ? `, hop ${first.hop}` : ''}, ${first.dir} — ${first.diff.field}: `,
      el('code', { class: 'a' }, first.diff.a), ' ≠ ', el('code', { class: 'b' }, first.diff.b))
    : el('p', { class: 'compare-same', 'data-testid': 'compare-first', 'data-field': '' }, `No difference in ${pairs.length} steps lined up.`);
  const differing = pairs.filter((p) => p.diff).length;
  const rows = pairs.map((p) => {
    const detail = el('td', { class: 'compare-detail', colspan: 5, hidden: true });
    const open = el('button', { type: 'button', class: 'small', 'data-testid': 'compare-open', title: 'every compared field of this step, side by side',
      onclick: () => {
        detail.hidden = !detail.hidden;
        if (!detail.hidden && !detail.firstChild) detail.append(shareStepDetail(p, names));
        open.textContent = detail.hidden ? 'fields' : 'hide';
      } }, 'fields');
    const diffs = p.diffs.map((d) => el('div', { class: 'compare-d', 'data-field': d.field }, `${d.field}: `, el('code', { class: 'a' }, d.a), ' ≠ ', el('code', { class: 'b' }, d.b)));
    return [el('tr', {
      class: `${p.diff ? 'differs' : 'same'}${p === first ? ' first-diff' : ''}`, 'data-testid': 'compare-row', 'data-key': p.key, 'data-step': p.step,
      'data-kind': p.kind, 'data-differs': p.diff ? '1' : '', title: p.diff ? `${p.diff.field}: ${p.diff.a} ≠ ${p.diff.b}` : 'same' },
    el('td', { class: 'compare-step' }, String(p.step)),
    el('td', {}, `#${p.exOrder}${p.hop !== null ? ` hop ${p.hop}` : ''} ${p.dir}`),
    el('td', { 'data-testid': 'compare-a' }, shareRowText(p.a)), el('td', { 'data-testid': 'compare-b' }, shareRowText(p.b)),
    el('td', { class: 'compare-diff', 'data-testid': 'compare-diffs' }, open, ...(diffs.length ? diffs : [el('span', { class: 'compare-ok' }, ' same')]))),
    el('tr', { class: 'compare-detail-row' }, detail)];
  });
  shareCompareRoot.replaceChildren(
    el('h2', {}, `Comparison: ${names[0]} ↔ ${names[1]}`, el('button', { type: 'button', class: 'close', 'data-testid': 'compare-close', title: 'back to the lab', onclick: shareCloseCompare }, '× close')),
    summary,
    el('p', { class: 'compare-count', 'data-testid': 'compare-count' }, `${pairs.length} steps lined up (${res.countA} in ${names[0]}, ${res.countB} in ${names[1]}), ${differing} differ`),
    el('div', { class: 'compare-scroll' },
      el('table', { class: 'compare-table' },
        el('thead', {}, el('tr', {}, el('th', {}, 'step'), el('th', {}, 'exchange · hop · dir'), el('th', {}, names[0]), el('th', {}, names[1]), el('th', {}, 'differences'))),
        el('tbody', {}, ...rows.flat()))));
  shareCompareRoot.hidden = false;
  document.body.classList.add('comparing');
  if (shareCompareRoot.parentNode !== document.body) document.body.append(shareCompareRoot);
  shareCompareRoot.querySelector('.first-diff')?.scrollIntoView({ block: 'nearest' });
}

async function shareReadFiles(files) {
  const out = [];
  for (const f of files) out.push({ name: f.name, trace: share.parseTraceText(await f.text(), f.name) });
  return out;
}

// Exports need the server (it owns the bundle and the renderers).
async function shareFetchExport(ctx, kind, ext, type) {
  const secrets = document.querySelector('[data-testid="export-secrets"]')?.checked;
  try {
    const res = await fetch(`/api/export.${kind}${secrets ? '?include_secrets=1' : ''}`);
    const text = await res.text();
    if (!res.ok) throw new Error(JSON.parse(text || '{}').error || `HTTP ${res.status}`);
    download(`${store.scenario?.name || 'trace'}-trace.${ext}`, text, type);
    const note = res.headers.get('X-Size-Note');
    ctx.status(`exported ${kind} (${text.length} bytes${note ? `; ${note}` : ''})`);
  } catch (e) { ctx.status(`share: export ${kind}: ${e.message}`, true); }
}

function shareExportTools(ctx) {
  shareCtx = ctx;
  if (ctx.mode === 'trace') {
    return el('span', { class: 'tool share-tool' },
      el('button', { type: 'button', 'data-testid': 'tool-export-json-offline', title: 'save the trace on screen as JSON', onclick: () =>
        download(`${store.scenario?.name || 'trace'}-trace.json`, JSON.stringify(share.current(), null, 1)) }, 'Save JSON'));
  }
  // The server renders these from the live trace: live only.
  // Binary or fixed-name files download straight from the server.
  const link = (id, label, title, path) => el('a', { class: 'tool-link', 'data-testid': `tool-${id}`, 'data-needs-live': '', title, href: path, download: '',
    onclick: (e) => { e.currentTarget.href = path + (document.querySelector('[data-testid="export-secrets"]')?.checked ? '?include_secrets=1' : ''); } }, label);
  const b = (id, label, title, kind, ext, type) => el('button', { type: 'button', 'data-testid': `tool-${id}`, 'data-needs-live': '', title, onclick: () => shareFetchExport(ctx, kind, ext, type) }, label);
  return el('span', { class: 'tool share-tool' },
    b('export-html', 'Export HTML', 'one HTML file with the viewer and the trace; opens offline (secrets redacted)', 'html', 'html', 'text/html'),
    b('export-txt', 'Export text', 'a text rendering to paste into an issue', 'txt', 'txt', 'text/plain'),
    b('export-mmd', 'Export Mermaid', 'a Mermaid sequence diagram for GitHub', 'mmd', 'mmd', 'text/plain'),
    link('export-pcapng', 'pcapng', 'every datagram as a capture for Wireshark or tshark, with the lab\'s comments', '/api/export.pcapng'),
    link('export-wireshark', 'Wireshark contexts', 'the oscore_contexts file for a Wireshark profile: one row per context (master secrets only with "secrets")', '/api/oscore_contexts'),
    el('label', { title: 'include master secrets and keys (share only with people who may read the exchange)' },
      el('input', { type: 'checkbox', 'data-testid': 'export-secrets' }), ' secrets'));
}

function shareImportTools(ctx) {
  shareCtx = ctx;
  const inp = el('input', { type: 'file', multiple: true, accept: '.json,.html,.htm,application/json,text/html', hidden: true, 'data-testid': 'compare-file',
    onchange: async () => {
      try {
        const got = await shareReadFiles([...inp.files]);
        if (got.length >= 2) share.compare(got[0].trace, got[1].trace, [got[0].name, got[1].name]);
        else if (got.length === 1) share.compare(share.current(), got[0].trace, ['on screen', got[0].name]);
        ctx.status(got.length ? 'comparison ready' : 'no file');
      } catch (e) { ctx.status(e.message, true); }
      inp.value = '';
    } });
  const imp = el('input', { type: 'file', multiple: true, accept: '.json,.html,.htm,application/json,text/html', hidden: true, 'data-testid': 'import-file',
    onchange: async () => {
      try {
        const got = await shareReadFiles([...imp.files].slice(0, 2));
        if (got.length === 2) { share.compare(got[0].trace, got[1].trace, [got[0].name, got[1].name]); ctx.status('comparison ready'); }
        else if (got.length === 1) share.view(got[0].trace, got[0].name, ctx);
      } catch (e) { ctx.status(e.message, true); }
      imp.value = '';
    } });
  return el('span', { class: 'tool' }, imp, el('button', { type: 'button', 'data-testid': 'tool-import', title: 'view a trace JSON or an exported HTML file (or drop it on the page; two files are compared)', onclick: () => imp.click() }, 'Import…'),
    inp, el('button', { type: 'button', 'data-testid': 'tool-compare', title: 'compare the trace on screen with a file, or two files (JSON or exported HTML)', onclick: () => inp.click() }, 'Compare…'));
}

// Drop one trace (JSON or exported HTML) to view it; drop two to compare them.
function shareDrop() {
  document.addEventListener('dragover', (e) => {
    if ([...(e.dataTransfer?.types || [])].includes('Files')) { e.preventDefault(); document.body.classList.add('drop-target'); }
  });
  document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) document.body.classList.remove('drop-target'); });
  document.addEventListener('drop', async (e) => {
    const files = [...(e.dataTransfer?.files || [])];
    if (!files.length) return;
    e.preventDefault();
    document.body.classList.remove('drop-target');
    const status = shareCtx?.status || ((t) => store.notice(t));
    try {
      const got = await shareReadFiles(files.slice(0, 2));
      if (got.length === 2) { share.compare(got[0].trace, got[1].trace, [got[0].name, got[1].name]); status('comparison ready'); }
      else share.view(got[0].trace, got[0].name, shareCtx);
    } catch (err) { status(err.message, true); }
  });
}

queueMicrotask(() => {
  registerTool({ id: 'share-export', offline: true, menu: 'file', render: shareExportTools });
  registerTool({ id: 'share-compare', offline: true, menu: 'file', render: shareImportTools });
  shareDrop();
  if (window.oscoreLab) window.oscoreLab.share = share;
});
