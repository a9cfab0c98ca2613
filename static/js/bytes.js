// The bytes pane: a hex grid and a field list that highlight each other on
// hover (as Wireshark's packet bytes do), plus a bit table for the OSCORE
// option's flag byte (RFC 8613 section 6.1).
import { el, esc, hexToBytes } from './util.js';
import { parseCoap, parseOSCOREOption } from './coap.js';

/** bytesView renders hex (a string) parsed as mode 'udp' or 'plain'. */
export function bytesView(hex, mode, title) {
  const b = hexToBytes(hex || '');
  const p = parseCoap(b, mode);
  const owner = new Array(b.length).fill(-1);
  for (const f of p.fields) for (let i = f.start; i < f.end && i < b.length; i++) if (owner[i] === -1 || f.option) owner[i] = f.id;
  // Options own their whole range; the header nibble byte is a sub-field.
  let grid = '';
  for (let i = 0; i < b.length; i++) {
    grid += `<span class="b" data-f="${owner[i]}" data-i="${i}">${b[i].toString(16).padStart(2, '0')}</span>`;
    if (i % 16 === 15) grid += '<br>';
  }
  const list = p.fields.map((f) =>
    `<div class="f" data-f="${f.id}"><span class="rng">${f.start}–${f.end - 1}</span> <b>${esc(f.name)}</b> <span>${esc(f.text)}</span></div>`).join('');
  const box = el('div', { class: 'bytes', 'data-testid': 'bytes-view' },
    el('div', { class: 'bytes-title' }, title, ` · ${b.length} bytes`),
    el('div', { class: 'bytes-cols' },
      el('div', { class: 'fields', html: list }),
      el('div', { class: 'hex', 'data-testid': 'hex', html: grid })));
  if (p.error) box.append(el('div', { class: 'verdict bad' }, `Malformed: ${p.error}`));
  const osc = p.options.find((o) => o.number === 9);
  if (osc) box.append(flagTable(hexToBytes(osc.value)));
  const highlight = (id, on) => {
    for (const n of box.querySelectorAll(`[data-f="${id}"]`)) n.classList.toggle('hl', on);
  };
  let cur = null;
  box.addEventListener('mouseover', (e) => {
    const t = e.target.closest('[data-f]');
    const id = t ? t.dataset.f : null;
    if (id === cur) return;
    if (cur !== null) highlight(cur, false);
    cur = id;
    if (cur !== null && cur !== '-1') highlight(cur, true);
  });
  box.addEventListener('mouseleave', () => { if (cur !== null) highlight(cur, false); cur = null; });
  return box;
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
