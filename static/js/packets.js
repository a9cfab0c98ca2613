// The packet list, as Wireshark shows a capture: one row per datagram (or,
// with a type term in the display filter, per event of that type) with its
// number, time since the first event, delta since the row above, source,
// destination, protocol and layers, length and a summary; a display filter
// (pfilter.js, docs/teaching.md); and under a selected datagram its fields
// and bytes (clicking one picks the other), what its receiver did with it,
// the fault that changed it, and "Replay this datagram" for the live lab.
// Rows are virtualised like the sequence diagram's.
import { el, esc, pick, hexToBytes } from './util.js';
import { codeName, parseOSCOREOption } from './coap.js';
import { bytesView } from './bytes.js';
import { compileFilter, factsOf } from './pfilter.js';
import { api } from './api.js';
import { edhocLabel } from './edhoc.js';

const PK_ROW_H = 22;
const PK_OVERSCAN = 10;

// pkTime reads an RFC 3339 time with nanoseconds ("...T23:37:25.633445213Z")
// as [seconds since 1970, nanoseconds]: a double holds neither nanoseconds
// nor microseconds since 1970 exactly, but holds their differences.
function pkTime(t) {
  if (typeof t !== 'string' || !t) return null;
  const m = t.match(/^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/);
  if (!m) return null;
  const ms = Date.parse(m[1] + m[3]);
  if (!Number.isFinite(ms)) return null;
  return [ms / 1000, Number(((m[2] || '') + '000000000').slice(0, 9))];
}

// pkSince is b - a in seconds with six decimals (truncated to the
// microsecond), '' when either is unknown.
function pkSince(a, b) {
  if (!a || !b) return '';
  const us = Math.trunc(((b[0] - a[0]) * 1e9 + (b[1] - a[1])) / 1000);
  const sign = us < 0 ? '-' : '';
  const x = Math.abs(us);
  return `${sign}${Math.floor(x / 1e6)}.${String(x % 1e6).padStart(6, '0')}`;
}

function pkCodeLabel(c) {
  const n = codeName(c);
  return c.startsWith('0.') && n ? n : `${c} ${n}`.trim();
}

function pkReport(ev) {
  const le = ev && pick(ev, 'layer_event');
  return (le && pick(le, 'report')) || {};
}

/** pkInfo is the Info column of one event (row: its datagram row). */
function pkInfo(ev, row) {
  switch (ev.type) {
    case 'datagram': {
      if (!row) return '';
      const p = row.parsed;
      let s = `${p.type || '?'} ${pkCodeLabel(p.code || '?')}`;
      if (p.mid !== null) s += `, MID ${p.mid}`;
      if (p.token) s += `, token ${p.token}`;
      const o = p.options.find((x) => x.number === 9);
      if (o) {
        const x = parseOSCOREOption(hexToBytes(o.value));
        s += ' · OSCORE' + (x.kid !== null ? ` kid ${x.kid || '(empty)'}` : '') + (x.piv ? ` PIV ${x.piv}` : '') + (x.kidContext ? ` kid ctx ${x.kidContext}` : '');
      }
      if (row.innerCode) s += ` · inner ${pkCodeLabel(row.innerCode)}`;
      if (p.error) s += ` · malformed: ${p.error}`;
      return s;
    }
    case 'layer': {
      const r = pkReport(ev), le = pick(ev, 'layer_event') || {};
      return `${ev.node || '?'} ${le.action || ''} ${r.context || '?'}${r.kid !== undefined ? ` kid ${r.kid}` : ''}${r.partial_iv ? ` PIV ${r.partial_iv}` : ''}`;
    }
    case 'decision': {
      const d = pick(ev, 'decision') || {};
      return `${ev.node || '?'}: ${d.outcome || ''}${d.code ? ` ⇒ ${d.code}` : ''}`;
    }
    case 'error': {
      const e = pick(ev, 'error') || {};
      return `${ev.node || '?'}: ${e.code || ''} ${codeName(e.code || '')} ${e.diagnostic ? `“${e.diagnostic}”` : ''} ${e.reason ? `— ${e.reason}` : ''}`.replace(/\s+/g, ' ').trim();
    }
    case 'delivery': {
      const d = pick(ev, 'delivery') || {};
      return `${ev.node || '?'} delivered ${d.method || ''} ${d.resource || ''}${d.code ? ` → ${d.code} ${codeName(d.code)}` : ''}`;
    }
    case 'fault': {
      const f = pick(ev, 'fault') || {};
      return `${f.kind || 'fault'}: ${f.detail || ''}`;
    }
    default:
      return ev.note || '';
  }
}

/**
 * pkReaction says what the receiver of datagram row r did with it: the
 * first refusal, error, delivery or forwarding among its events after the
 * datagram and before it sends or receives another datagram. It returns
 * {text, seq} (seq: the event that says so) or a note that none was
 * recorded.
 */
export function pkReaction(store, r) {
  const evs = store.events;
  const who = r.to;
  const i = pkIndexOf(evs, r.seq);
  if (i < 0 || !who) return null;
  let last = null, bad = null;
  for (let k = i + 1, n = 0; k < evs.length && n < 2000; k++, n++) {
    const ev = evs[k];
    if (r.exchange && ev.exchange && ev.exchange !== r.exchange) continue;
    if (ev.type === 'datagram') {
      if (ev.from === who) {
        if (bad) return { text: `${who}: ${bad.text}`, seq: bad.seq, bad: true };
        const answer = ev.to === r.from && ev.dir === 'response' && r.dir === 'request';
        const code = store.bySeq.get(ev.seq)?.code || '';
        return { text: answer ? `${who} answered (${pkCodeLabel(code)}):` : `${who} sent it on to ${ev.to || '?'}:`, seq: ev.seq };
      }
      if (ev.to === who && ev.from === r.from) break; // the sender's next datagram
      continue;
    }
    if (ev.node !== who) continue;
    if (ev.type === 'error') {
      const e = pick(ev, 'error') || {};
      return { text: `${who} refused it: ${e.reason || e.diagnostic || ''} → ${e.code || ''} ${codeName(e.code || '')}`.trim(), seq: ev.seq, bad: true };
    }
    if (ev.type === 'delivery') {
      const d = pick(ev, 'delivery') || {};
      return { text: `${who} delivered ${d.method || 'it'} ${d.resource || ''}${d.code ? ` → ${d.code} ${codeName(d.code)}` : ''}`, seq: ev.seq };
    }
    if (ev.type === 'decision') {
      const d = pick(ev, 'decision') || {};
      last = { text: `${d.outcome || ''}${d.code ? ` → ${d.code} ${codeName(d.code)}` : ''}`, seq: ev.seq };
      if (d.code && /^[45]\./.test(d.code)) bad = last;
    }
  }
  const why = bad || last;
  if (why) return { text: `${who}: ${why.text}`, seq: why.seq, bad: !!bad };
  const malformed = r.parsed.error ? `; the datagram is not CoAP it can read (${r.parsed.error}), which an endpoint ignores silently (RFC 7252 3, 4.2)` : '';
  return { text: `${who} recorded no reaction${malformed}`, seq: 0, bad: true };
}

// pkIndexOf finds the event numbered seq in the seq-ordered list.
function pkIndexOf(evs, seq) {
  let lo = 0, hi = evs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, s = evs[mid].seq;
    if (s === seq) return mid;
    if (s < seq) lo = mid + 1; else hi = mid - 1;
  }
  return -1;
}

/** pkFaultOf finds the fault event that changed datagram row r, if any. */
function pkFaultOf(store, r) {
  const evs = store.events;
  const i = pkIndexOf(evs, r.seq);
  for (let k = i + 1; k >= 0 && k < evs.length && k <= i + 8; k++) {
    const ev = evs[k];
    if (ev.type === 'datagram' && ev.link === r.link && ev.from === r.from) return null;
    if (ev.type === 'fault' && ev.link === r.link && ev.from === r.from) return ev;
  }
  return null;
}

export function mountPackets(root, ctx) {
  const { store } = ctx;
  const live = ctx.mode === 'live';
  const input = el('input', { type: 'text', class: 'pk-filter', 'data-testid': 'pk-filter', spellcheck: 'false', autocomplete: 'off',
    placeholder: 'display filter, e.g. node==P && kid==20 && code==2.05 · opt:Uri-Host · type==decision',
    title: 'fields: type node src dst ctx kid piv code opt exchange hop len mid seq token link dir; ==, !=, <, <=, >, >=; &&, ||, !, ( ); opt:NAME; an event type alone (decision). Enter applies. See docs/teaching.md.' });
  const err = el('div', { class: 'pk-error', 'data-testid': 'pk-filter-error', role: 'alert', hidden: true });
  const count = el('span', { class: 'count', 'data-testid': 'pk-count' }, '0');
  const downloads = live ? el('span', { class: 'pk-downloads' },
    el('a', { class: 'tool-link', href: '/api/export.pcapng', download: '', 'data-testid': 'pk-pcapng', 'data-needs-live': '', title: 'every datagram as pcapng for Wireshark (the lab\'s comments per packet)' }, 'pcapng'),
    el('a', { class: 'tool-link', href: '/api/oscore_contexts', download: '', 'data-testid': 'pk-wireshark', 'data-needs-live': '', title: 'the oscore_contexts file for a Wireshark profile (master secrets only with the toolbar\'s "secrets")' }, 'Wireshark contexts')) : '';
  const bar = el('div', { class: 'pk-bar' }, input, el('span', { class: 'pk-shown' }, count, ' shown'), downloads);
  const cols = ['No.', 'Time', 'Delta', 'Source', 'Destination', 'Protocol', 'Length', 'Info'];
  const head = el('div', { class: 'pk-row pk-head', 'data-testid': 'pk-head' }, ...cols.map((c) => el('span', {}, c)));
  const rowsEl = el('div', { class: 'pk-rows' });
  const space = el('div', { class: 'pk-space' }, rowsEl);
  const scroller = el('div', { class: 'pk-scroll', tabindex: '0', 'data-testid': 'pk-scroll' }, space);
  const detail = el('div', { class: 'pk-detail', 'data-testid': 'pk-detail' }, el('p', { class: 'hint' }, 'Select a packet to see its fields and bytes.'));
  const listBox = el('div', { class: 'pk-list' }, head, scroller);
  root.append(bar, err, el('div', { class: 'pk-body' }, listBox, detail));

  // The list takes the sequence diagram's place when asked for (a button
  // in each panel's heading switches), so the lab's layout stays as it is.
  const seq = document.querySelector('[data-view="sequence"]');
  if (seq) seq.after(root);
  const toggle = el('button', { type: 'button', class: 'small pk-toggle', 'data-testid': 'packets-toggle', title: 'show the packet list (Wireshark-style) in place of the sequence diagram',
    onclick: () => setOpen(true) }, 'Packet list');
  const back = el('button', { type: 'button', class: 'small pk-toggle', 'data-testid': 'packets-close', title: 'back to the sequence diagram',
    onclick: () => setOpen(false) }, 'Sequence diagram');
  seq?.querySelector(':scope > h2')?.append(' ', toggle);
  root.querySelector(':scope > h2')?.append(' ', back);
  function setOpen(on) {
    document.body.classList.toggle('packets-open', on);
    if (on) { viewH = 0; render(true); if (selected !== null) select(selected, false); }
    else window.dispatchEvent(new Event('resize'));
  }

  let filter = compileFilter('');
  let shown = [];       // events shown, in seq order
  let scanned = 0;      // store.events already filtered
  let selected = null;  // seq of the selected event
  let viewH = 0, spaceH = -1, pending = 0;
  const liveRows = new Map();
  const facts = new Map(); // seq -> facts, dropped when layers change
  const tpl = document.createElement('template');
  let t0 = null;        // microseconds of the first event

  const rowOf = (ev) => (ev.type === 'datagram' ? store.bySeq.get(ev.seq) : null);
  function factsFor(ev) {
    let f = facts.get(ev.seq);
    if (!f) { f = factsOf(ev, rowOf(ev)); facts.set(ev.seq, f); }
    return f;
  }
  function passes(ev) {
    if (!filter.usesType && ev.type !== 'datagram') return false;
    if (filter.empty) return true;
    try { return filter.test(factsFor(ev)); } catch { return false; }
  }
  function scan() {
    const evs = store.events;
    for (; scanned < evs.length; scanned++) if (passes(evs[scanned])) shown.push(evs[scanned]);
  }
  function refilter() { shown = []; scanned = 0; scan(); }

  const times = new Map(); // seq -> [seconds, nanoseconds]
  function timeOf(ev) {
    let t = times.get(ev.seq);
    if (t === undefined) { t = pkTime(ev.time); times.set(ev.seq, t); }
    return t;
  }
  function rowHTML(ev, i) {
    const r = rowOf(ev);
    if (t0 === null && store.events.length) t0 = timeOf(store.events[0]);
    const at = timeOf(ev);
    const time = pkSince(t0, at);
    const delta = i > 0 ? pkSince(timeOf(shown[i - 1]), at) : '';
    let proto = ev.type, len = '', src = ev.node || ev.from || '', dst = ev.to || '';
    let cls = `pk-row t-${ev.type}`;
    if (r) {
      const ctxs = r.layers.slice().reverse().map((e) => e.ctx);
      proto = ctxs.length ? `OSCORE ${ctxs.join(' › ')}` : 'CoAP';
      const m = edhocLabel(r, store);
      if (m) proto = `EDHOC ${m} · ${proto}`;
      len = String(r.size);
      if (r.error) cls += ' err';
      if (pkFaultOf(store, r)) cls += ' faulted';
    } else if (ev.type === 'error') cls += ' err';
    if (ev.seq === selected) cls += ' sel';
    return `<div class="${cls}" style="top:${i * PK_ROW_H}px" data-testid="pk-row" data-seq="${ev.seq}" data-type="${esc(ev.type)}">` +
      `<span>${ev.seq}</span><span>${time}</span><span>${delta}</span><span>${esc(src)}</span><span>${esc(dst)}</span>` +
      `<span title="${esc(proto)}">${esc(proto)}</span><span>${len}</span><span title="${esc(pkInfo(ev, r))}">${esc(pkInfo(ev, r))}</span></div>`;
  }

  function clearRows() { rowsEl.textContent = ''; liveRows.clear(); }
  function render(force = false) {
    pending = 0;
    if (force) clearRows();
    if (!document.body.classList.contains('packets-open')) { count.textContent = String(shown.length); return; }
    const total = Math.max(shown.length * PK_ROW_H, 1);
    if (total !== spaceH) { space.style.height = `${total}px`; spaceH = total; }
    const top = scroller.scrollTop, h = viewH || (viewH = scroller.clientHeight) || 300;
    const start = Math.max(0, Math.floor(top / PK_ROW_H) - PK_OVERSCAN);
    const end = Math.min(shown.length, Math.ceil((top + h) / PK_ROW_H) + PK_OVERSCAN);
    for (const [i, e] of liveRows) if (i < start || i >= end) { e.remove(); liveRows.delete(i); }
    let html = '';
    const added = [];
    for (let i = start; i < end; i++) if (!liveRows.has(i)) { html += rowHTML(shown[i], i); added.push(i); }
    if (html) {
      tpl.innerHTML = html;
      const kids = [...tpl.content.children];
      kids.forEach((k, j) => liveRows.set(added[j], k));
      rowsEl.append(...kids);
    }
    count.textContent = String(shown.length);
    window.__pkPaint = { events: store.events.length, shown: shown.length, t: performance.now() };
  }
  const schedule = () => { if (!pending) pending = requestAnimationFrame(() => render()); };

  function applyFilter() {
    const t = performance.now();
    const f = compileFilter(input.value);
    if (f.error) {
      input.classList.add('bad');
      input.setAttribute('aria-invalid', 'true');
      err.hidden = false;
      err.textContent = f.error;
      return;
    }
    input.classList.remove('bad');
    input.removeAttribute('aria-invalid');
    err.hidden = true;
    err.textContent = '';
    filter = f;
    refilter();
    scroller.scrollTop = 0;
    render(true);
    window.__pkFilterMs = performance.now() - t;
    root.dataset.applied = input.value;
  }
  let typing = 0;
  input.addEventListener('input', () => {
    // Red at once while the text does not read; applied after a pause.
    const f = compileFilter(input.value);
    input.classList.toggle('bad', !!f.error);
    clearTimeout(typing);
    typing = setTimeout(applyFilter, 250);
  });
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { clearTimeout(typing); applyFilter(); } });

  function select(seq, fromList) {
    selected = seq;
    // Closed, the list only remembers the selection; opening shows it.
    if (!document.body.classList.contains('packets-open')) return;
    for (const n of rowsEl.querySelectorAll('.pk-row.sel')) n.classList.remove('sel');
    const i = shown.findIndex((ev) => ev.seq === seq);
    if (i >= 0) {
      liveRows.get(i)?.classList.add('sel');
      if (!fromList) {
        const y = i * PK_ROW_H;
        if (y < scroller.scrollTop || y > scroller.scrollTop + scroller.clientHeight - PK_ROW_H) { scroller.scrollTop = y - scroller.clientHeight / 2; render(); liveRows.get(i)?.classList.add('sel'); }
      }
    }
    showDetail(seq);
  }
  rowsEl.addEventListener('click', (e) => {
    const row = e.target.closest('.pk-row');
    if (!row) return;
    const t = performance.now();
    const seq = Number(row.dataset.seq);
    select(seq, true);
    window.__pkClickMs = performance.now() - t;
    follow(seq);
  });
  scroller.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    let i = shown.findIndex((ev) => ev.seq === selected);
    i = Math.max(0, Math.min(shown.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)));
    if (shown[i]) { select(shown[i].seq, false); follow(shown[i].seq); }
  });

  // follow makes the inspector and the sequence diagram show what the list
  // selected (a datagram, an error, a fault or a notice: the rows they
  // draw) once the list has painted its answer to the click: the
  // inspector's work must not delay it.
  let following = 0;
  function follow(seq) {
    if (!store.bySeq.has(seq)) return;
    cancelAnimationFrame(following);
    following = requestAnimationFrame(() => setTimeout(() => {
      const t = performance.now();
      if (selected === seq && store.selected !== seq) store.select(seq);
      window.__pkFollowMs = performance.now() - t;
    }));
  }

  function jump(seq) {
    return el('a', { href: `#msg=${seq}`, class: 'pk-jump', 'data-seq': seq, onclick: (e) => {
      e.preventDefault();
      if (!shown.some((ev) => ev.seq === seq)) { input.value = ''; applyFilter(); }
      select(seq, false);
      follow(seq);
    } }, `No. ${seq}`);
  }

  // reactionLine says what the receiver of datagram row r did; the events
  // that say so may arrive after the datagram is selected (refreshReaction).
  function reactionLine(r) {
    const re = pkReaction(store, r) || { text: '', seq: 0 };
    return el('div', { class: `pk-reaction${re.bad ? ' bad' : ''}`, 'data-testid': 'pk-reaction', 'data-row': r.seq, 'data-text': re.text },
      'Receiver: ', re.text, re.seq ? [' ', jump(re.seq)] : '');
  }
  function refreshReaction() {
    const line = detail.querySelector('[data-testid="pk-reaction"]');
    const r = line && store.bySeq.get(Number(line.dataset.row));
    if (!r) return;
    const next = reactionLine(r);
    if (next.dataset.text !== line.dataset.text) line.replaceWith(next);
  }

  function showDetail(seq) {
    const i = pkIndexOf(store.events, seq);
    const ev = i >= 0 ? store.events[i] : null;
    if (!ev) { detail.replaceChildren(el('p', { class: 'hint' }, 'Select a packet to see its fields and bytes.')); return; }
    const r = rowOf(ev);
    const parts = [el('div', { class: 'pk-title' }, `No. ${ev.seq} · ${ev.type}${ev.exchange ? ` · exchange #${ev.exchange}` : ''}${r ? ` · hop ${r.hop} · ${r.from} → ${r.to} on ${r.link || '?'}` : ''}`)];
    if (r) {
      const fault = pkFaultOf(store, r);
      if (fault) {
        const f = pick(fault, 'fault') || {};
        parts.push(el('div', { class: 'pk-fault', 'data-testid': 'pk-fault' }, `Fault on ${fault.link}: ${f.kind} (${f.detail || ''}) `, jump(fault.seq)));
      }
      parts.push(reactionLine(r));
      if (live && r.link) {
        const b = el('button', { type: 'button', 'data-testid': 'pk-replay', 'data-needs-live': '', title: 'send these exact bytes again on the link, as an on-path attacker would (POST /api/replay); the receiver\'s answers are recorded and delivered to nobody',
          onclick: async () => {
            b.disabled = true;
            try {
              await api.replay(ev.seq, ev.bytes);
              ctx.status(`replayed No. ${ev.seq} on ${r.link}`);
            } catch (e) { ctx.status(e.message, true); }
            b.disabled = false;
          } }, 'Replay this datagram');
        parts.push(el('div', { class: 'pk-actions' }, b));
      }
      parts.push(bytesView(ev.bytes, 'udp', `Datagram ${r.from} → ${r.to}`));
      for (const e of r.layers.slice().reverse()) {
        const rep = pkReport(e.applied || e.removed);
        if (rep.plaintext) {
          parts.push(el('details', { class: 'pk-plain' }, el('summary', {}, `Decrypted inside ${e.ctx}`), bytesView(rep.plaintext, 'plain', `Plaintext inside ${e.ctx}`)));
        }
      }
    } else {
      if (ev.type === 'fault') {
        const dg = pkDatagramOfFault(store, ev);
        if (dg) {
          parts.push(el('div', { class: 'pk-fault' }, 'Changed datagram ', jump(dg.seq)));
          parts.push(reactionLine(dg));
        }
      }
      parts.push(el('div', { class: 'pk-info' }, pkInfo(ev, null)));
      parts.push(el('pre', { class: 'pk-raw' }, JSON.stringify(ev, null, 2)));
    }
    detail.replaceChildren(...parts);
  }

  scroller.addEventListener('scroll', schedule, { passive: true });
  new ResizeObserver(() => { viewH = scroller.clientHeight; render(true); }).observe(scroller);
  store.subscribe('events', () => {
    // A list scrolled to its end follows new rows, as a live capture
    // scrolls in Wireshark; scrolled up, it stays where the reader is.
    // Closed, the list reads no layout: that would force one at every
    // step of a replay.
    const atEnd = document.body.classList.contains('packets-open') && scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - PK_ROW_H;
    const before = shown.length;
    if (scanned > store.events.length) refilter(); else scan();
    if (atEnd && shown.length > before && document.body.classList.contains('packets-open')) {
      const total = Math.max(shown.length * PK_ROW_H, 1);
      if (total !== spaceH) { space.style.height = `${total}px`; spaceH = total; }
      scroller.scrollTop = total;
    }
    render();
    if (document.body.classList.contains('packets-open')) refreshReaction();
  });
  store.subscribe('reset', () => { facts.clear(); times.clear(); t0 = null; selected = null; refilter(); clearRows(); render(); showDetail(-1); });
  store.subscribe('layers', () => { facts.clear(); refilter(); render(true); });
  store.subscribe('select', (seq) => { if (seq && seq !== selected) select(seq, false); });
  render(true);
  return { setOpen, applyFilter };
}

// pkDatagramOfFault finds the datagram a fault event changed: the last
// datagram before it on the same link from the same sender.
function pkDatagramOfFault(store, fault) {
  const evs = store.events;
  for (let k = pkIndexOf(evs, fault.seq) - 1, n = 0; k >= 0 && n < 8; k--, n++) {
    const ev = evs[k];
    if (ev.type === 'datagram' && ev.link === fault.link && ev.from === fault.from) return store.bySeq.get(ev.seq) || null;
  }
  return null;
}
