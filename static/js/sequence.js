// The sequence diagram: one lifeline per node, one arrow per datagram, each
// arrow carrying the chips of the OSCORE layers on the wire (outermost
// first). It is virtualised: rows have a fixed height, the scroller holds a
// tall spacer, and only the rows on screen exist in the DOM, so 10,000 events
// scroll as smoothly as ten.
import { el, esc } from './util.js';
import { codeName } from './coap.js';
import { edhocLabel, edhocCount } from './edhoc.js';

export const ROW_H = 30;
const GUTTER = 64;
const OVERSCAN = 8;

// codeLabel names methods ("GET") and numbers responses ("4.01 Unauthorized").
function codeLabel(c) {
  const n = codeName(c);
  return c.startsWith('0.') && n ? n : `${c} ${n}`.trim();
}

export function mountSequence(root, { store }) {
  const nodeSel = el('select', { 'data-testid': 'filter-node', title: 'Only rows that involve this node' }, el('option', { value: '' }, 'all nodes'));
  const exInput = el('input', { type: 'number', min: '1', placeholder: 'exch. #', 'data-testid': 'filter-exchange', title: 'Only this exchange' });
  const errBox = el('input', { type: 'checkbox', 'data-testid': 'filter-errors' });
  const count = el('span', { class: 'count', 'data-testid': 'event-count' }, '0');
  const rowsShown = el('span', { class: 'count', 'data-testid': 'row-count' }, '0');
  const follow = el('input', { type: 'checkbox', checked: true, 'data-testid': 'follow', title: 'Keep the newest row in view' });
  const filters = el('div', { class: 'seq-filters' },
    nodeSel, exInput, el('label', {}, errBox, ' errors only'), el('label', {}, follow, ' follow'),
    el('span', { class: 'spacer' }), rowsShown, ' rows · ', count, ' events');
  const head = el('div', { class: 'seq-head', 'data-testid': 'lifelines' });
  const lanes = el('div', { class: 'seq-lanes' });
  const rowsEl = el('div', { class: 'seq-rows' });
  const empty = el('p', { class: 'hint seq-empty', 'data-testid': 'seq-empty' }, 'No datagram yet: send a request (Request panel) or run the scenario\'s steps.');
  const space = el('div', { class: 'seq-space' }, lanes, rowsEl, empty);
  const scroller = el('div', { class: 'seq-scroll', tabindex: '0', 'data-testid': 'seq-scroll' }, space);
  root.append(filters, head, scroller);

  let order = [];        // lifeline node ids
  let goneKey = '';      // lifelines of removed nodes, as drawn
  let xs = new Map();    // node id -> x
  let shown = [];        // filtered rows
  let scanned = 0;       // store.rows already filtered
  let lastRange = '';
  let width = 0;
  let pendingRender = 0;
  let edhocSeen = 0;

  const filter = { node: '', exchange: 0, errors: false };
  const passes = (r) =>
    (!filter.node || r.from === filter.node || r.to === filter.node || r.node === filter.node) &&
    (!filter.exchange || r.exchange === filter.exchange) &&
    (!filter.errors || r.error || (r.exchange && store.exchanges.get(r.exchange)?.hasError));

  function layout() {
    const ids = store.nodeOrder();
    const gone = ids.filter((id) => store.isGone(id)).join();
    const w = viewW || (viewW = scroller.clientWidth) || 600;
    if (ids.join() === order.join() && w === width && gone === goneKey) return false;
    order = ids; width = w; goneKey = gone;
    xs = new Map();
    const n = Math.max(order.length, 1);
    order.forEach((id, i) => xs.set(id, Math.round(GUTTER + ((w - GUTTER) * (i + 0.5)) / n)));
    // A removed node keeps its lifeline (its arrows are history), marked.
    head.replaceChildren(...order.map((id) => store.isGone(id)
      ? el('div', { class: 'life-name gone', 'data-node': id, 'data-gone': '', title: `${id} is no longer in the scenario`, style: { left: `${xs.get(id)}px` } }, `${id} (removed)`)
      : el('div', { class: 'life-name', 'data-node': id, style: { left: `${xs.get(id)}px` } }, id)));
    lanes.replaceChildren(...order.map((id) => el('div', { class: 'lane', style: { left: `${xs.get(id)}px` } })));
    const cur = nodeSel.value;
    nodeSel.replaceChildren(el('option', { value: '' }, 'all nodes'), ...order.map((id) => el('option', { value: id }, id)));
    nodeSel.value = order.includes(cur) ? cur : '';
    return true;
  }

  function refilter() {
    shown = [];
    scanned = 0;
    scan();
  }
  function scan() {
    const rows = store.rows;
    for (; scanned < rows.length; scanned++) if (passes(rows[scanned])) shown.push(rows[scanned]);
  }

  function chips(r) {
    let h = '';
    for (let i = r.layers.length - 1; i >= 0; i--) {
      const c = r.layers[i].ctx;
      h += `<span class="chip" data-testid="layer-chip" data-ctx="${esc(c)}" style="--c:${store.colorOf(c)}">${esc(c)}</span>`;
    }
    h ||= '<span class="chip plain" data-testid="layer-chip" data-ctx="">no OSCORE</span>';
    const m = edhocLabel(r, store);
    return m ? `<span class="chip edhoc" data-testid="edhoc-chip" data-message="${esc(m)}" title="EDHOC ${esc(m)} (RFC 9528)">EDHOC ${esc(m)}</span>${h}` : h;
  }

  function rowHTML(r, i) {
    const prev = shown[i - 1];
    const first = !prev || prev.exchange !== r.exchange;
    const cls = ['row', r.exchange % 2 ? 'x-odd' : 'x-even', first ? 'x-first' : '', r.error ? 'err' : '', r.seq === store.selected ? 'sel' : ''].join(' ');
    const gut = first && r.exchange ? `#${r.exchange}` : r.hop !== undefined && r.kind === 'datagram' ? `hop ${r.hop}` : '';
    const attrs = `class="${cls}" style="top:${i * ROW_H}px" data-testid="seq-row" data-seq="${r.seq}" data-kind="${r.kind}" data-exchange="${r.exchange || ''}"`;
    if (r.kind === 'datagram') {
      const x1 = xs.get(r.from) ?? GUTTER, x2 = xs.get(r.to) ?? GUTTER;
      const left = Math.min(x1, x2), w = Math.max(Math.abs(x2 - x1), 8);
      const code = r.innerCode || r.code;
      const label = `${r.type} ${codeLabel(r.code)}` + (r.innerCode ? ` ⟨${codeLabel(r.innerCode)}⟩` : '');
      return `<div ${attrs} data-code="${code}" data-from="${esc(r.from)}" data-to="${esc(r.to)}" title="${esc(r.link)} · ${r.size} bytes · seq ${r.seq} · ${esc(String(r.ev.time || '').slice(11, 23))}">` +
        `<span class="gut">${gut}</span><div class="arrow ${x2 >= x1 ? 'r' : 'l'}" style="left:${left}px;width:${w}px">` +
        `<span class="lbl"><span class="chips">${chips(r)}</span><span class="code">${esc(label)}</span></span></div></div>`;
    }
    const x = xs.get(r.node) ?? xs.get(r.from) ?? GUTTER;
    const text = r.kind === 'error' ? `${r.code} ${codeName(r.code)} — ${r.text}` : r.text;
    return `<div ${attrs} data-code="${esc(r.code || '')}"><span class="gut">${gut}</span>` +
      `<div class="note ${r.kind}${x > width * 0.55 ? ' flip' : ''}" style="left:${x}px" title="${esc(text)}">${r.kind === 'fault' ? '✕ ' : ''}${esc(text)}</div></div>`;
  }

  // Rows on screen, keyed by their index in `shown`: a scroll step adds the
  // few rows that came into view and drops those that left, so each frame
  // parses and lays out a handful of elements, not the whole window.
  const live = new Map();
  const tpl = document.createElement('template');
  let viewH = 0, viewW = 0, spaceH = -1;

  function clearRows() {
    rowsEl.textContent = '';
    live.clear();
  }

  function render(force = false) {
    pendingRender = 0;
    if (layout() || force) clearRows();
    const total = Math.max(shown.length * ROW_H, 1);
    if (total !== spaceH) { space.style.height = `${total}px`; spaceH = total; }
    const top = scroller.scrollTop, h = viewH || (viewH = scroller.clientHeight) || 400;
    const start = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const end = Math.min(shown.length, Math.ceil((top + h) / ROW_H) + OVERSCAN);
    for (const [i, e] of live) if (i < start || i >= end) { e.remove(); live.delete(i); }
    let html = '';
    const added = [];
    for (let i = start; i < end; i++) if (!live.has(i)) { html += rowHTML(shown[i], i); added.push(i); }
    if (html) {
      tpl.innerHTML = html;
      const kids = [...tpl.content.children];
      kids.forEach((k, j) => live.set(added[j], k));
      rowsEl.append(...kids);
    }
    const key = `${shown.length}:${store.events.length}`;
    if (key !== lastRange) {
      lastRange = key;
      empty.hidden = shown.length > 0;
      if (!shown.length) empty.textContent = store.rows.length ? 'No row matches the filters.' : 'No datagram yet: send a request (Request panel) or run the scenario\'s steps.';
      rowsShown.textContent = String(shown.length);
      count.textContent = String(store.events.length);
    }
    // Paint marks for the speed tests: when rows first showed, and the last
    // render with how many events it reflected.
    if (!window.__seqFirstPaint && shown.length) window.__seqFirstPaint = performance.now();
    window.__seqPaint = { events: store.events.length, rows: live.size, t: performance.now() };
  }
  const schedule = () => { if (!pendingRender) pendingRender = requestAnimationFrame(() => render()); };

  scroller.addEventListener('scroll', schedule, { passive: true });
  new ResizeObserver(() => { viewH = scroller.clientHeight; viewW = scroller.clientWidth; render(true); }).observe(scroller);
  rowsEl.addEventListener('click', (e) => {
    const row = e.target.closest('.row');
    if (row) store.select(Number(row.dataset.seq));
  });
  scroller.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    let i = shown.findIndex((r) => r.seq === store.selected);
    i = Math.max(0, Math.min(shown.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)));
    if (shown[i]) { store.select(shown[i].seq); scrollToIndex(i); }
  });
  function scrollToIndex(i) {
    const y = i * ROW_H;
    if (y < scroller.scrollTop || y > scroller.scrollTop + scroller.clientHeight - ROW_H) scroller.scrollTop = y - scroller.clientHeight / 2;
  }
  const onFilter = () => {
    filter.node = nodeSel.value;
    filter.exchange = Number(exInput.value) || 0;
    filter.errors = errBox.checked;
    refilter();
    scroller.scrollTop = 0;
    render(true);
  };
  nodeSel.addEventListener('change', onFilter);
  exInput.addEventListener('input', onFilter);
  errBox.addEventListener('change', onFilter);

  store.subscribe('events', () => {
    const atEnd = follow.checked;
    const before = shown.length;
    if (scanned > store.rows.length) refilter(); else scan();
    if (filter.errors && shown.length === before) refilter(); // a late error marks earlier rows
    if (shown.length < before) clearRows();
    const k = edhocCount(store); // a message named after its row was drawn
    if (k !== edhocSeen) { edhocSeen = k; clearRows(); }
    if (atEnd && shown.length > before) {
      const total = Math.max(shown.length * ROW_H, 1);
      if (total !== spaceH) { space.style.height = `${total}px`; spaceH = total; }
      scroller.scrollTop = total;
    }
    render();
  });
  store.subscribe('reset', () => { refilter(); clearRows(); lastRange = ''; });
  // A peer's layers reach rows drawn already (store.js adoptRemoved).
  store.subscribe('layers', () => { clearRows(); render(); });
  store.subscribe('scenario', () => render(true));
  store.subscribe('select', (seq) => {
    for (const e of rowsEl.querySelectorAll('.row.sel')) e.classList.remove('sel');
    const i = shown.findIndex((r) => r.seq === seq);
    if (i >= 0) {
      scrollToIndex(i);
      render();
      live.get(i)?.classList.add('sel');
    }
  });
  // Scrolling by hand switches follow off; reaching the bottom turns it back on.
  scroller.addEventListener('wheel', () => {
    requestAnimationFrame(() => { follow.checked = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - ROW_H; });
  }, { passive: true });
  render(true);
  return { render, scroller };
}
