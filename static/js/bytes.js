// The bytes pane: a hex grid and a field list that highlight each other on
// hover (as Wireshark's packet bytes do), plus a bit table for the OSCORE
// option's flag byte (RFC 8613 section 6.1).
import { el, esc, hexToBytes } from './util.js';
import { parseCoap, parseOSCOREOption } from './coap.js';

/** bytesView renders hex (a string) parsed as mode 'udp' or 'plain'. */
export function bytesView(hex, mode, title) {
  const b = hexToBytes(hex || '');
  const p = parseCoap(b, mode);
  const fields = [...p.fields];
  const osc = p.options.find((o) => o.number === 9);
  if (osc) fields.splice(osc.field.id + 1, 0, ...oscoreSubfields(osc, fields.length));
  // A byte belongs to the narrowest field that covers it: the kid inside
  // the OSCORE option, the option inside the message.
  const owner = new Array(b.length).fill(-1);
  const span = new Array(b.length).fill(Infinity);
  for (const f of fields) {
    for (let i = f.start; i < f.end && i < b.length; i++) {
      if (f.end - f.start <= span[i]) { owner[i] = f.id; span[i] = f.end - f.start; }
    }
  }
  let grid = '';
  for (let i = 0; i < b.length; i++) {
    grid += `<span class="b" data-f="${owner[i]}" data-i="${i}">${b[i].toString(16).padStart(2, '0')}</span>`;
    if (i % 16 === 15) grid += '<br>';
  }
  const list = fields.map((f) =>
    `<div class="f${f.sub ? ' sub' : ''}" data-f="${f.id}" data-testid="byte-field"><span class="rng">${f.start}–${f.end - 1}</span> <b>${esc(f.name)}</b> <span>${esc(f.text)}</span></div>`).join('');
  const box = el('div', { class: 'bytes', 'data-testid': 'bytes-view' },
    el('div', { class: 'bytes-title' }, title, ` · ${b.length} bytes`),
    el('div', { class: 'bytes-cols' },
      el('div', { class: 'fields', html: list }),
      el('div', { class: 'hex', 'data-testid': 'hex', html: grid })));
  if (p.error) box.append(el('div', { class: 'verdict bad' }, `Malformed: ${p.error}`));
  if (osc) box.append(flagTable(hexToBytes(osc.value)));
  // A field marks its whole range, the parts inside it included (the
  // OSCORE option with its kid), and its line in the list.
  const cells = box.querySelectorAll('.hex .b');
  const byId = new Map(fields.map((f) => [String(f.id), f]));
  const mark = (id, cls, on) => {
    const f = byId.get(id);
    if (!f) return;
    box.querySelector(`.f[data-f="${id}"]`)?.classList.toggle(cls, on);
    for (let i = f.start; i < f.end && i < cells.length; i++) cells[i].classList.toggle(cls, on);
  };
  let cur = null;
  box.addEventListener('mouseover', (e) => {
    const t = e.target.closest('[data-f]');
    const id = t ? t.dataset.f : null;
    if (id === cur) return;
    if (cur !== null) mark(cur, 'hl', false);
    cur = id;
    if (cur !== null) mark(cur, 'hl', true);
  });
  box.addEventListener('mouseleave', () => { if (cur !== null) mark(cur, 'hl', false); cur = null; });
  // A click picks a field, as in Wireshark: a byte picks the narrowest
  // field it belongs to in the list, a field picks its bytes, and the
  // other side scrolls to it.
  box.addEventListener('click', (e) => {
    const t = e.target.closest('[data-f]');
    if (!t || !byId.has(t.dataset.f)) return;
    for (const n of box.querySelectorAll('.picked')) n.classList.remove('picked');
    mark(t.dataset.f, 'picked', true);
    box.dataset.picked = t.dataset.f;
    const f = byId.get(t.dataset.f);
    const other = t.classList.contains('b') ? box.querySelector(`.f[data-f="${t.dataset.f}"]`) : cells[f.start];
    other?.scrollIntoView({ block: 'nearest' });
  });
  return box;
}

// oscoreSubfields splits the OSCORE option's value into its parts (RFC 8613
// 6.1): the flag byte, the Partial IV, the kid context with its length
// byte, and the kid, numbered from id on.
function oscoreSubfields(o, id) {
  const v = hexToBytes(o.value);
  const x = parseOSCOREOption(v);
  if (x.flags === null) return [];
  const out = [];
  let i = o.valueStart;
  const sub = (name, n, text) => {
    const end = Math.min(i + n, o.end);
    if (end > i) out.push({ id: id + out.length, name, start: i, end, text, sub: true });
    i = end;
  };
  sub('OSCORE flag byte', 1, `0x${x.flags.toString(16).padStart(2, '0')}: n=${x.n} k=${x.k ? 1 : 0} h=${x.h ? 1 : 0}${x.g ? ' g=1' : ''}`);
  sub('Partial IV', x.n, x.piv);
  if (x.h) {
    sub('kid context length', 1, String(x.kidContext.length / 2));
    sub('kid context', x.kidContext.length / 2, x.kidContext);
  }
  if (x.k) sub('kid', o.end - i, x.kid || '(empty)');
  return out;
}

/** flagTable explains the OSCORE option's first byte bit by bit. */
export function flagTable(v) {
  const o = parseOSCOREOption(v);
  if (o.flags === null) return el('div', { class: 'note-text' }, 'OSCORE option is empty: a response that reuses the request nonce.');
  const bits = [...Array(8)].map((_, i) => (o.flags >> (7 - i)) & 1);
  const row = (cells) => el('tr', {}, ...cells);
  const t = el('table', { class: 'bits', 'data-testid': 'flag-bits' },
    row([el('th', {}, 'bit'), ...[7, 6, 5, 4, 3, 2, 1, 0].map((i) => el('th', {}, String(i)))]),
    row([el('th', {}, 'value'), ...bits.map((x) => el('td', {}, String(x)))]),
    row([el('th', {}, 'meaning'), el('td', { colspan: 2 }, 'reserved (0)'), el('td', {}, 'g'), el('td', {}, 'h'), el('td', {}, 'k'), el('td', { colspan: 3 }, `n = ${o.n}`)]));
  const facts = [
    `n = ${o.n}: Partial IV is ${o.n} byte(s)${o.n ? ` (${o.piv})` : ''}`,
    `k = ${o.k ? 1 : 0}: kid ${o.k ? `present (${o.kid || 'empty'})` : 'absent'}`,
    `h = ${o.h ? 1 : 0}: kid context ${o.h ? `present (${o.kidContext})` : 'absent'}`,
  ];
  if (o.g) facts.push('g = 1: Group Flag, Group OSCORE group mode; the payload ends with the encrypted countersignature (RFC 10021 4.1)');
  if (o.reserved) facts.push('reserved bits set: the message is malformed (RFC 8613 6.1)');
  return el('div', { class: 'flagbox' }, el('div', { class: 'bytes-title' }, `OSCORE option flag byte 0x${o.flags.toString(16).padStart(2, '0')}`), t,
    el('ul', {}, ...facts.map((f) => el('li', {}, f))));
}
