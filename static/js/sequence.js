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

// fanColor tells one group request's rows from another's.
const FAN_COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7'];
function fanColor(f) { return FAN_COLORS[f.send.seq % FAN_COLORS.length]; }

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
  let fanSeen = 0;

  const filter = { node: '', exchange: 0, errors: false };
  const passes = (r) =>
    (!filter.node || r.from === filter.node || r.to === filter.node || r.node === filter.node) &&
    (!filter.exchange || r.exchange === filter.exchange) &&
    (!filter.errors || r.error || (r.exchange && store.exchanges.get(r.exchange)?.hasError));

  function layout() {
    const ids = store.nodeOrder();
    const gone = ids.filter((id) => store.isGone(id)).join() + '|' + ids.filter((id) => store.groups.has(id)).join();
    const w = viewW || (viewW = scroller.clientWidth) || 600;
    if (ids.join() === order.join() && w === width && gone === goneKey) return false;
    order = ids; width = w; goneKey = gone;
    xs = new Map();
    const n = Math.max(order.length, 1);
    order.forEach((id, i) => xs.set(id, Math.round(GUTTER + ((w - GUTTER) * (i + 0.5)) / n)));
    // A removed node keeps its lifeline (its arrows are history), marked.
    // A group's lifeline is the address the fan-out link listens on.
    const isGroup = (id) => store.groups.has(id) && !store.isGone(id);
    head.replaceChildren(...order.map((id) => store.isGone(id) && !store.groups.has(id)
      ? el('div', { class: 'life-name gone', 'data-node': id, 'data-gone': '', title: `${id} is no longer in the scenario`, style: { left: `${xs.get(id)}px` } }, `${id} (removed)`)
      : store.groups.has(id)
        ? el('div', { class: 'life-name group', 'data-node': id, 'data-group': '', 'data-testid': 'group-lifeline', title: `${id} is a group: loopback has no IP multicast, so a fan-out link records one datagram to ${id}, then one copy to each member (simulated multicast)`, style: { left: `${xs.get(id)}px` } }, `⇉ ${id} group`)
        : el('div', { class: 'life-name', 'data-node': id, style: { left: `${xs.get(id)}px` } }, id)));
    lanes.replaceChildren(...order.map((id) => el('div', { class: isGroup(id) || store.groups.has(id) ? 'lane group' : 'lane', style: { left: `${xs.get(id)}px` } })));
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

  // fanTag marks a group link's datagram: the one sent to the group, the
  // link's copy to a member (simulated multicast) or a member's response,
  // grouped under its request by a bar in the fan's colour.
  function fanTag(r) {
    const mc = r.mc, f = r.fan;
    if (r.relay && f.send.dir === 'response') {
      return `<span class="mc-tag reply" data-testid="fan-relay" data-member="" data-request="${f.send.seq}" data-nth="${r.nth}" title="${esc(`${r.from} relays the notification ${f.send.from} sent to ${f.group} (seq ${f.send.seq}) to ${r.to}, with ${r.to}'s own Token, MID and Observe`)}">↳ relayed to ${esc(r.to)}</span>`;
    }
    if (r.relay) {
      return `<span class="mc-tag reply" data-testid="fan-relay" data-member="${esc(r.member)}" data-request="${f.send.seq}" data-nth="${r.nth}" title="${esc(`Response ${r.nth} that ${r.from} relays from the group request it sent to ${f.group}${r.member ? `: ${r.member}'s response, inside its Group OSCORE layer` : ''}`)}">↳ ${r.nth}.${r.member ? ` ${esc(r.member)}` : ''} via ${esc(r.from)}</span>`;
    }
    if (mc.leg === 'send') {
      const answered = f ? [...new Set(f.replies.map((x) => x.member))] : [];
      // A notification sent to the group draws no responses (RFC 7641 4.5,
      // NON): its fan counts the proxies' relays instead.
      const t = r.dir === 'response' ? `multicast notification ×${mc.of}` + (f?.relays ? ` · ${f.relays} relayed` : '')
        : `multicast ×${mc.of}` + (f ? ` · ${f.replies.length} resp.` : '');
      return `<span class="mc-tag send" data-testid="mcast-send" data-group="${esc(mc.group)}" data-of="${mc.of}" data-responses="${f ? f.replies.length : 0}" title="${esc(`One datagram to group ${mc.group}; the fan-out link copies it to each member (simulated multicast). Responses from: ${answered.join(', ') || 'none yet'}`)}">⇉ ${esc(t)}</span>`;
    }
    if (mc.leg === 'copy') {
      return `<span class="mc-tag copy" data-testid="mcast-copy" data-group="${esc(mc.group)}" data-copy="${mc.copy}" data-of="${mc.of}" title="Simulated multicast: the fan-out link's copy ${mc.copy} of ${mc.of} of the datagram sent to ${esc(mc.group)}">copy ${mc.copy}/${mc.of} · simulated multicast: fan-out link</span>`;
    }
    if (mc.leg === 'reply') {
      const req = f ? f.send.seq : '';
      return `<span class="mc-tag reply" data-testid="fan-in" data-group="${esc(mc.group)}" data-member="${esc(r.from)}" data-request="${req}" data-nth="${r.nth || 0}" title="${esc(f ? `Response ${r.nth} to the group request (seq ${req}) from member ${r.from}, sent from its own address` : `A reply from ${r.from} through group ${mc.group}; its request is not in the trace`)}">↳ ${f ? `${r.nth}. ` : ''}${esc(r.from)}</span>`;
    }
    return '';
  }

  function rowHTML(r, i) {
    const prev = shown[i - 1];
    const first = !prev || prev.exchange !== r.exchange;
    const f = r.fan;
    const cls = ['row', r.exchange % 2 ? 'x-odd' : 'x-even', first ? 'x-first' : '', r.error ? 'err' : '', r.seq === store.selected ? 'sel' : '',
      f ? `in-fan ${f.send === r ? 'fan-head' : ''}` : ''].join(' ');
    let gut = first && r.exchange ? `#${r.exchange}` : r.hop !== undefined && r.kind === 'datagram' ? `hop ${r.hop}` : '';
    if (r.mc && !(first && r.exchange)) gut = r.mc.leg === 'send' ? `⇉ ${r.mc.group}` : r.mc.leg === 'reply' ? `↳ ${r.from}` : `⇢ ${r.to}`;
    const fanAttr = f ? ` data-fan="${f.send.seq}" data-leg="${esc(r.mc?.leg || (r.relay ? 'relay' : r.kind))}" style="--fan:${fanColor(f)};top:${i * ROW_H}px"` : ` style="top:${i * ROW_H}px"`;
    const attrs = `class="${cls}"${fanAttr} data-testid="seq-row" data-seq="${r.seq}" data-kind="${r.kind}" data-exchange="${r.exchange || ''}"`;
    if (r.kind === 'datagram') {
      const x1 = xs.get(r.from) ?? GUTTER, x2 = xs.get(r.to) ?? GUTTER;
      const left = Math.min(x1, x2), w = Math.max(Math.abs(x2 - x1), 8);
      const code = r.innerCode || r.code;
      const label = `${r.type} ${codeLabel(r.code)}` + (r.innerCode ? ` ⟨${codeLabel(r.innerCode)}⟩` : '');
      const mcCls = r.mc ? ` mc-${esc(r.mc.leg)}` : '';
      // A group request's labels are long: one that would run past an edge
      // of the diagram starts at the arrow's left end or ends at its right.
      const tag = r.mc || r.relay ? fanTag(r) : '';
      const estW = tag ? (tag.replace(/<[^>]*>/g, '').length + label.length) * 6.5 + r.layers.length * 62 : 0;
      const lblCls = !tag ? '' : left + w / 2 - estW / 2 < 4 ? ' lbl-l' : left + w / 2 + estW / 2 > width - 4 ? ' lbl-r' : '';
      return `<div ${attrs} data-code="${code}" data-from="${esc(r.from)}" data-to="${esc(r.to)}" title="${esc(r.link)} · ${r.size} bytes · seq ${r.seq} · ${esc(String(r.ev.time || '').slice(11, 23))}">` +
        `<span class="gut">${esc(gut)}</span><div class="arrow ${x2 >= x1 ? 'r' : 'l'}${mcCls}" style="left:${left}px;width:${w}px">` +
        `<span class="lbl${lblCls}">${tag}<span class="chips">${chips(r)}</span><span class="code">${esc(label)}</span></span></div></div>`;
    }
    const x = xs.get(r.node) ?? xs.get(r.from) ?? GUTTER;
    gut = esc(gut);
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
  // The scroller's scrollTop as this code set it or a scroll event found
  // it: reading scrollTop after a change to the page forces a layout of the
  // whole page, at every step of a replay.
  let scrollY = 0;
  const viewHeight = () => viewH || (viewH = scroller.clientHeight) || 400;
  function setScroll(y) {
    scroller.scrollTop = y;
    scrollY = Math.max(0, Math.min(Math.round(y), Math.max(spaceH, 1) - viewHeight()));
  }

  function clearRows() {
    rowsEl.textContent = '';
    live.clear();
  }

  function render(force = false) {
    pendingRender = 0;
    if (layout() || force) clearRows();
    const total = Math.max(shown.length * ROW_H, 1);
    if (total !== spaceH) { space.style.height = `${total}px`; spaceH = total; }
    const h = viewHeight(), top = Math.max(0, Math.min(scrollY, total - h));
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

  scroller.addEventListener('scroll', () => { scrollY = scroller.scrollTop; schedule(); }, { passive: true });
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
    const h = viewHeight();
    if (y < scrollY || y > scrollY + h - ROW_H) setScroll(y - h / 2);
  }
  const onFilter = () => {
    filter.node = nodeSel.value;
    filter.exchange = Number(exInput.value) || 0;
    filter.errors = errBox.checked;
    refilter();
    setScroll(0);
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
    if (store.fanRev !== fanSeen) { fanSeen = store.fanRev; clearRows(); } // a request's row counts its responses
    if (atEnd && shown.length > before) {
      const total = Math.max(shown.length * ROW_H, 1);
      if (total !== spaceH) { space.style.height = `${total}px`; spaceH = total; }
      setScroll(total);
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
