// EDHOC (RFC 9528) in the inspector and the sequence view: each EDHOC
// message is a decision event with rule "edhoc" carrying the message's CBOR
// items and the key schedule's calculation cards so far
// (docs/trace-format.md). This module reads that part into its documented
// shape, finds the messages a datagram carries and draws them. Every value
// comes from the trace; nothing is recomputed, and a secret output the
// trace left out (a file saved without secrets) is said to be withheld.
import { el, spacedHex, sectionLink } from './util.js';

const edStr = (v) => (typeof v === 'string' ? v : '');
const edHex = (v) => (typeof v === 'string' && v.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(v) ? v.toLowerCase() : '');
const edObjects = (v) => (Array.isArray(v) ? v.filter((x) => x && typeof x === 'object' && !Array.isArray(x)) : []);
const edStrings = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/**
 * edhocPart returns the EDHOC part of a decision event in the shape
 * docs/trace-format.md documents ({session, role, message, fields, cards},
 * strings, hex strings, lists of objects), or null when the event carries
 * none. A trace file may come from anywhere: wrong types become empty.
 */
export function edhocPart(ev) {
  const d = ev && typeof ev === 'object' ? ev.decision : null;
  if (!d || typeof d !== 'object' || d.rule !== 'edhoc') return null;
  const p = d.edhoc;
  if (!p || typeof p !== 'object' || Array.isArray(p)) return null;
  return {
    session: edStr(p.session),
    role: p.role === 'initiator' || p.role === 'responder' ? p.role : '',
    message: edStr(p.message),
    fields: edObjects(p.fields).map((f) => ({ name: edStr(f.name), hex: edHex(f.hex), diag: edStr(f.diag), raw: edHex(f.raw), note: edStr(f.note) })),
    cards: edObjects(p.cards).map((c) => ({
      name: edStr(c.name), formula: edStr(c.formula), inputs: edStrings(c.inputs), input: edHex(c.input),
      info: edHex(c.info), info_diag: edStr(c.info_diag), output: edHex(c.output), secret: c.secret === true,
    })),
  };
}

// messageDir is the CoAP direction that carries an EDHOC message in the
// forward message flow over CoAP (RFC 9528 A.2): the Initiator is the CoAP
// client. An error or an unknown name may travel either way.
function edhocDir(m) {
  if (m === 'message_1' || m === 'message_3') return 'request';
  if (m === 'message_2' || m === 'message_4') return 'response';
  return '';
}

// sender is the role that sends a message: the Initiator sends message_1
// and message_3, the Responder message_2 and message_4 (RFC 9528 5.1).
function edhocSender(m) {
  const d = edhocDir(m);
  return d === 'request' ? 'initiator' : d === 'response' ? 'responder' : '';
}

// edhocSig is the hex a message shows on the wire: the message itself when
// a card holds it, else its longest item of 8 bytes or more (G_X, G_Y and
// CIPHERTEXT_2, CIPHERTEXT_3). The CoAP payload carries the message whole
// (RFC 9528 A.2: after true or C_R; RFC 9668 3.2.1: before the OSCORE
// ciphertext), in the clear or inside an OSCORE layer's plaintext.
function edhocSig(part) {
  const whole = part.cards.find((c) => c.name === part.message && c.output);
  if (whole) return whole.output;
  const longest = part.fields.reduce((m, f) => (f.hex.length > m.length ? f.hex : m), '');
  return longest.length >= 16 ? longest : '';
}

// edhocHas says whether hex h holds sig at a byte boundary.
function edhocHas(h, sig) {
  for (let i = h.indexOf(sig); i >= 0; i = h.indexOf(sig, i + 1)) if (i % 2 === 0) return true;
  return false;
}

// The EDHOC decisions of the store, with their parts and signatures, kept
// up to date incrementally; and each row's messages, until another arrives.
const edhocSeenBy = new WeakMap();
function edhocAll(store) {
  let c = edhocSeenBy.get(store);
  if (!c || c.events !== store.events || c.i > store.events.length) c = { events: store.events, i: 0, list: [] };
  for (; c.i < store.events.length; c.i++) {
    const ev = store.events[c.i];
    const part = edhocPart(ev);
    if (part) c.list.push({ ev, part, sig: edhocSig(part) });
  }
  edhocSeenBy.set(store, c);
  return c.list;
}

/** edhocCount returns how many EDHOC decisions the store holds. */
export function edhocCount(store) {
  return edhocAll(store).length;
}

const edhocRows = new WeakMap();
/**
 * edhocOf lists the EDHOC messages a datagram row carries, the sender's
 * view first. A message is found by its bytes in the datagram or in the
 * plaintext of one of its layers, whatever exchange the node filed it under
 * (an Initiator prepares message_3 when message_2 arrives; the combined
 * request sends it with the next one). A message without such bytes (an
 * error message, a trace from elsewhere) goes with the datagrams of its
 * exchange that travel its way. Each entry is {ev, part}.
 */
export function edhocOf(row, store) {
  const all = edhocAll(store);
  if (!all.length || !row || row.kind !== 'datagram') return [];
  const had = edhocRows.get(row);
  if (had && had.n === all.length && had.layers === row.layers && had.k === row.layers?.length) return had.list;
  const texts = [edHex(row.ev?.bytes)];
  for (const e of row.layers || []) texts.push(edHex((e.applied || e.removed)?.layer_event?.report?.plaintext));
  const list = all.filter(({ ev, part, sig }) => {
    if (sig) return texts.some((h) => edhocHas(h, sig));
    const dir = edhocDir(part.message);
    return !!row.exchange && ev.exchange === row.exchange && (!dir || !row.dir || dir === row.dir);
  }).sort((a, b) => (b.part.role === edhocSender(b.part.message)) - (a.part.role === edhocSender(a.part.message)) || a.ev.seq - b.ev.seq);
  edhocRows.set(row, { n: all.length, layers: row.layers, k: row.layers?.length, list });
  return list;
}

/** edhocLabel names the EDHOC messages of a row for its chip ("message_2"), or ''. */
export function edhocLabel(row, store) {
  return [...new Set(edhocOf(row, store).map((e) => e.part.message))].join(', ');
}

/**
 * rfcName writes a card name as RFC 9528 does: th_2 is TH_2, prk_3e2m is
 * PRK_3e2m, keystream_2 is KEYSTREAM_2, signature_or_mac_2 is
 * Signature_or_MAC_2, message_1 and context_2 stay as they are.
 */
export function rfcName(name) {
  const n = edStr(name);
  const special = { h_message_1: 'H(message_1)', prk_out: 'PRK_out', prk_exporter: 'PRK_exporter', master_secret: 'OSCORE Master Secret', master_salt: 'OSCORE Master Salt' };
  if (special[n]) return special[n];
  if (/^(message|context)_\w+$/.test(n)) return n;
  const sig = n.match(/^signature_or_mac_(\w+)$/);
  if (sig) return `Signature_or_MAC_${sig[1]}`;
  return n.split('_').map((s, i) => (i > 0 && /^\d/.test(s) ? s : s.toUpperCase())).join('_');
}

const edhocRoleName = (r) => (r === 'initiator' ? 'Initiator' : r === 'responder' ? 'Responder' : 'unknown role');

/**
 * edhocSection draws the EDHOC messages of a datagram for the inspector:
 * per message the items in wire order and the calculation cards, those new
 * at this message first and the earlier ones of the session folded.
 */
export function edhocSection(entries, store) {
  return entries.map(({ ev, part }, i) => {
    const earlier = edhocEarlier(ev, part, store);
    const fresh = part.cards.filter((c) => !earlier.has(c.name));
    const old = part.cards.filter((c) => earlier.has(c.name));
    const verb = part.role === edhocSender(part.message) ? 'as sent by' : 'as received by';
    return el('details', { class: 'insp-sec edhoc', open: i === 0, 'data-testid': 'edhoc', 'data-message': part.message, 'data-node': edStr(ev.node), 'data-role': part.role },
      el('summary', {}, `EDHOC ${part.message || '?'} ${verb} ${edStr(ev.node) || '?'} (${edhocRoleName(part.role)}${part.session ? ` for ${part.session}` : ''})`),
      el('p', { class: 'hint' }, 'The message\'s CBOR items in wire order, each plaintext\'s items after its ciphertext (', sectionLink('RFC 9528 5'), ').'),
      edhocFields(part.fields),
      el('div', { class: 'cards edhoc-cards' },
        el('div', { class: 'card-by' }, `Key schedule at this message (${fresh.length} new)`, ' ', sectionLink('RFC 9528 4')),
        ...fresh.map(edhocCard)),
      old.length ? el('details', { class: 'edhoc-earlier' }, el('summary', {}, `Earlier in this handshake (${old.length})`), el('div', { class: 'cards edhoc-cards' }, ...old.map(edhocCard))) : '');
  });
}

// earlierCards names the cards the same node already showed at an earlier
// message of the same session.
function edhocEarlier(ev, part, store) {
  let prev = null;
  for (const e of store.events) {
    if (e.seq >= ev.seq) break;
    const p = e.node === ev.node && edhocPart(e);
    if (p && p.session === part.session && p.role === part.role) prev = p;
  }
  return new Set(prev ? prev.cards.map((c) => c.name) : []);
}

function edhocFields(fields) {
  if (!fields.length) return el('p', { class: 'hint' }, 'The trace lists no item of this message.');
  return el('table', { class: 'kv edhoc-fields' }, el('tbody', {}, ...fields.map((f) => el('tr', { 'data-testid': 'edhoc-field', 'data-name': f.name },
    el('th', {}, f.name),
    el('td', {}, el('code', { class: 'diag' }, f.diag),
      f.note || f.raw ? el('div', { class: 'hint' }, f.note, f.raw ? ` (bytes ${spacedHex(f.raw)})` : '') : '',
      f.hex ? el('div', { class: 'enc' }, 'encoded: ', el('code', {}, spacedHex(f.hex))) : '')))));
}

function edhocCard(c) {
  const row = (label, value, testid) => el('tr', testid ? { 'data-testid': testid } : {}, el('th', {}, label), el('td', {}, value));
  const code = (h) => el('code', {}, spacedHex(h));
  let out;
  if (c.output) out = row(c.secret ? 'output (secret)' : 'output', code(c.output), 'edhoc-output');
  else if (c.secret) out = row('output', el('span', { class: 'withheld' }, 'secret, withheld: the trace was saved without secrets'), 'edhoc-withheld');
  return el('div', { class: `card edhoc-card${c.secret ? ' secret' : ''}`, 'data-testid': 'edhoc-card', 'data-name': c.name },
    el('div', { class: 'card-title' }, rfcName(c.name), c.secret ? el('span', { class: 'secret-badge' }, ' secret') : ''),
    c.formula ? el('div', { class: 'formula' }, el('code', {}, c.formula)) : '',
    el('table', { class: 'kv' }, el('tbody', {},
      c.inputs.length ? row('from', c.inputs.map(rfcName).join(', ')) : '',
      c.input ? row('input (hashed or keyed)', code(c.input)) : '',
      c.info_diag ? row('info (CBOR diag)', el('code', {}, c.info_diag)) : '',
      c.info ? row('info (bytes)', code(c.info)) : '',
      out || '')));
}
