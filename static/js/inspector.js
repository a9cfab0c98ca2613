// The message inspector: the onion of layers on one datagram, the class of
// every option in every layer with the draft step path, the exact bytes, the
// calculation cards (key derivation, nonce, AAD) and the decisions each node
// took. Every value comes from the layer reports in the events; nothing is
// recomputed here.
import { el, pick, replaceIfChanged, spacedHex, sectionLink, hexToBytes } from './util.js';
import { parseCoap, codeName, optionName } from './coap.js';
import { bytesView } from './bytes.js';
import { edhocOf, edhocSection } from './edhoc.js';
import { explainView } from './explain.js';

const OPTION_SECTION = '2.2'; // draft: Protection of CoAP Options, Steps 1-9

const report = (entry) => {
  const ev = entry && (entry.applied || entry.removed);
  const le = ev && pick(ev, 'layer_event', 'Layer_');
  return (le && pick(le, 'report', 'Report')) || null;
};

/** classText turns a class (bitmask number or text) into "E", "U", "I", "E+U". */
export function classText(c) {
  if (typeof c === 'string') return c;
  if (typeof c !== 'number') return '';
  const parts = [];
  if (c & 1) parts.push('E');
  if (c & 2) parts.push('U');
  if (c & 4) parts.push('I');
  return parts.join('+');
}

export function stepsText(steps) {
  if (Array.isArray(steps)) return steps.join('→');
  return String(steps ?? '').replace(/->/g, '→');
}

const ruleNames = {
  'incoming-request': 'Incoming-request', 'option-protection': 'Option-protection', 'outgoing-request': 'Outgoing-request',
  response: 'Response', 'hop-limit': 'Hop-Limit', 'layer-limit': 'Layer limit', policy: 'Policy', edhoc: 'EDHOC',
};

export function mountInspector(root, { store }) {
  const body = el('div', { class: 'insp-body', 'data-testid': 'inspector' },
    el('p', { class: 'hint' }, 'Click an arrow in the sequence diagram to open its layers, options, bytes and calculations.'));
  root.append(body);
  let shownCount = 0; // events of the selected exchange when it was drawn
  let shownFan = 0;   // store.fanRev when a group link's datagram was drawn
  // Whether the reader scrolled the inspector: only then does a new
  // message scroll it back to the top, since touching scrollTop forces a
  // layout of the page on every step of a replay.
  let scrolled = false;
  body.addEventListener('scroll', () => { scrolled = body.scrollTop > 0; }, { passive: true });
  const show = (seq, keepScroll = false) => {
    const row = store.bySeq.get(seq);
    if (!row) {
      body.replaceChildren();
      return;
    }
    shownCount = store.exchanges.get(row.exchange)?.events.length || 0;
    shownFan = store.fanRev;
    const parts = row.kind === 'datagram' ? datagramDetail(row, store) : noteDetail(row, store);
    if (keepScroll && body.children.length === parts.length) {
      // The same message with more of its exchange known (an Observe
      // notification arrives every second): only the parts that changed
      // are swapped, with the reader's open sections and byte tab, so a
      // click in progress and a collapsed section survive.
      parts.forEach((next, i) => {
        const shown = body.children[i];
        keepReaderState(shown, next);
        replaceIfChanged(shown, next);
      });
      return;
    }
    const top = keepScroll && scrolled ? body.scrollTop : 0;
    body.replaceChildren(...parts);
    if (scrolled) body.scrollTop = top;
  };
  // While replaying faster than anyone reads (a step a frame), the
  // inspector, the costliest view to draw, follows at most every 100 ms and
  // always shows the last step; the diagram keeps every frame.
  let shownAt = -1e9, showTimer = 0, timerKeeps = true;
  const showSoon = (keepScroll) => {
    const now = performance.now();
    if (document.body.dataset.replay !== '1' || now - shownAt >= 100) {
      clearTimeout(showTimer);
      showTimer = 0;
      shownAt = now;
      show(store.selected, keepScroll);
      return;
    }
    timerKeeps = showTimer ? timerKeeps && keepScroll : keepScroll;
    clearTimeout(showTimer);
    showTimer = setTimeout(() => { showTimer = 0; shownAt = performance.now(); show(store.selected, timerKeeps); }, 100);
  };
  store.subscribe('select', () => showSoon(false));
  // Later events of the same exchange (the receiver removing a layer, its
  // decisions) complete the picture: redraw, keeping the scroll position.
  store.subscribe('events', () => {
    const row = store.bySeq.get(store.selected);
    const n = row && store.exchanges.get(row.exchange)?.events.length;
    if ((n && n !== shownCount) || (row?.fan && store.fanRev !== shownFan)) showSoon(true);
  });
  store.subscribe('reset', () => body.replaceChildren(el('p', { class: 'hint' }, 'No message selected.')));
  // X clears the selection anywhere; Esc does too, except on the stage,
  // where it only leaves presenter mode (presenter.js).
  document.addEventListener('keydown', (e) => {
    if (store.selected === null || e.ctrlKey || e.metaKey || e.altKey || e.target.closest?.('input,select,textarea,[contenteditable]')) return;
    const esc = e.key === 'Escape' && !e.defaultPrevented && !document.body.classList.contains('presenting');
    if (esc || e.key === 'x' || e.key === 'X') store.select(null);
  });
}

// keepReaderState gives a redrawn part of the inspector the reader's state
// of the part on screen: which sections are open and which byte tab shows.
function keepReaderState(shown, next) {
  if (shown.tagName === 'DETAILS' && next.tagName === 'DETAILS') next.open = shown.open;
  const was = shown.querySelectorAll('details'), now = next.querySelectorAll('details');
  if (was.length === now.length) was.forEach((d, i) => { now[i].open = d.open; });
  const tab = shown.querySelector('.tabs > .on');
  if (tab) next.querySelector(`.tabs > [data-testid="${tab.dataset.testid}"]`)?.click();
}

function section(title, testid, ...children) {
  return el('details', { class: 'insp-sec', open: true, 'data-testid': testid }, el('summary', {}, title), ...children);
}

function datagramDetail(r, store) {
  const outer = r.layers.slice().reverse(); // outermost first
  const summary = el('div', { class: 'insp-head', 'data-testid': 'insp-summary' },
    el('b', {}, `${r.from} → ${r.to}`), ` · link ${r.link || '?'} · hop ${r.hop} · ${r.dir || 'datagram'} · exchange #${r.exchange || '?'} · ${r.size} bytes`,
    el('div', {}, `${r.type} ${r.code} ${codeName(r.code)}`, r.innerCode ? ` · inner ${r.innerCode} ${codeName(r.innerCode)}` : ''),
    el('div', { class: 'chips' }, ...outer.map((e) => chip(store, e.ctx))),
    r.mc || r.relay ? fanSummary(r, store) : '');
  return [
    summary,
    ...edhocSection(edhocOf(r, store), store),
    section('What happened, and why', 'explain-section', explainView(r)),
    section('Layers (onion)', 'onion', onion(r, store)),
    section('Options by layer', 'options-table', optionsTable(r, outer, store)),
    section('Bytes', 'bytes', ...bytesTabs(r, outer)),
    section('Calculations', 'calc', ...outer.map((e) => calcCards(e, store, r))),
    section('Decisions', 'decisions', decisions(r, store)),
  ];
}

function chip(store, ctx) {
  return el('span', { class: 'chip', 'data-testid': 'layer-chip', 'data-ctx': ctx, style: `--c:${store.colorOf(ctx)}` }, ctx);
}

function onion(r, store) {
  // Build from the innermost outwards so each box wraps the next one.
  let box = innerMessage(r.layers[0]);
  for (let k = 0; k < r.layers.length; k++) {
    const e = r.layers[k];
    const rep = report(e) || {};
    const applier = e.applied?.node || (e.by ? `${e.by} (outside the lab)` : '?');
    let remover = e.removed ? e.removed.node : null;
    // One group request reaches every member: each removes the layer from
    // its own copy.
    if (rep.group && r.mc?.leg === 'send') remover = 'each member of ' + r.mc.group;
    else if (rep.group && r.mc?.leg === 'copy') remover = r.to;
    box = el('div', { class: 'layer-box', 'data-testid': 'onion-layer', 'data-ctx': e.ctx, style: `--c:${store.colorOf(e.ctx)}` },
      el('div', { class: 'layer-title' }, chip(store, e.ctx),
        ` kid ${rep.kid ?? '—'} · Partial IV ${rep.partial_iv ?? '—'}`, rep.kid_context ? ` · kid context ${rep.kid_context}` : '',
        rep.group ? el('span', { class: 'code-badge', 'data-testid': 'group-mode' }, ` · Group OSCORE, ${rep.group.mode} mode`) : '',
        el('span', { class: 'who' }, ` applied by ${applier}`, remover ? `, removed by ${remover}` : ', not removed on this leg')),
      (rep.notes || []).length ? el('div', { class: 'opts' }, rep.notes.join(' · ')) : '',
      box);
  }
  const p = r.parsed;
  return el('div', { class: 'layer-box wire' },
    el('div', { class: 'layer-title' }, `CoAP over UDP ${r.from} → ${r.to}: ${p.type} ${p.code} ${codeName(p.code)}, MID ${p.mid}, token ${p.token || '—'}`,
      el('div', { class: 'opts' }, 'outer options: ', p.options.map((o) => `${o.name} ${o.field.text}`).join(' · ') || 'none')),
    box);
}

function innerMessage(entry) {
  if (!entry) return el('div', { class: 'inner' }, 'No OSCORE layer: the message travels in the clear.');
  const rep = report(entry) || {};
  const p = parseCoap(hexToBytes(rep.plaintext || ''), 'plain');
  const payload = p.payload ? new TextDecoder().decode(p.payload) : '';
  return el('div', { class: 'inner', 'data-testid': 'onion-inner' },
    el('b', {}, `Inner message: ${p.code} ${codeName(p.code)}`),
    el('div', { class: 'opts' }, p.options.map((o) => `${o.name} ${o.field.text}`).join(' · ') || 'no inner options'),
    payload ? el('div', {}, 'payload: ', el('code', {}, payload)) : '');
}

function optionsTable(r, outer, store) {
  if (!outer.length) return el('p', { class: 'hint' }, 'No OSCORE layer: every option travels in the clear.');
  const names = new Map(); // name -> number
  const perLayer = outer.map((e) => {
    const m = new Map();
    for (const o of (report(e)?.options || [])) {
      const name = o.name || optionName(o.number);
      names.set(name, o.number ?? 0);
      m.set(name, o);
    }
    return m;
  });
  const rows = [...names.entries()].sort((a, b) => a[1] - b[1]);
  const head = el('tr', {}, el('th', {}, 'option'), ...outer.map((e) => el('th', {}, chip(store, e.ctx))));
  const trs = rows.map(([name]) => el('tr', {}, el('th', { class: 'optname' }, name), ...outer.map((e, i) => {
    const o = perLayer[i].get(name);
    if (!o) return el('td', { class: 'na' }, '—');
    const cls = classText(o.class ?? o.layer_class);
    const orig = classText(o.original ?? o.original_class);
    const steps = stepsText(o.steps);
    return el('td', { 'data-testid': 'opt-class', 'data-opt': name, 'data-ctx': e.ctx, class: `cls-${cls.replace('+', '')}` },
      el('b', {}, cls),
      orig && orig !== cls ? el('span', { class: 'orig' }, ` (was ${orig})`) : '',
      steps ? el('div', { class: 'steps' }, sectionLink(OPTION_SECTION, `Option-protection Step ${steps}`)) : '',
      o.where ? el('div', { class: 'where' }, o.where) : '');
  })));
  return el('div', {},
    el('table', { class: 'opts-table' }, el('thead', {}, head), el('tbody', {}, ...trs)),
    el('p', { class: 'hint' }, 'Class per layer: E encrypted in that layer, U visible to the next hop, I integrity-protected. Each column lists the options as the layer\'s sender saw them when it applied the layer. The step path is the draft\'s option-protection algorithm (', sectionLink(OPTION_SECTION, '§2.2'), ').'));
}

function bytesTabs(r, outer) {
  const tabs = [{ title: 'On the wire', hex: r.ev.bytes, mode: 'udp' }];
  for (const e of outer) {
    const rep = report(e);
    if (rep?.plaintext) tabs.push({ title: `Plaintext inside ${e.ctx}`, hex: rep.plaintext, mode: 'plain' });
  }
  const pane = el('div', { class: 'tab-pane' });
  const bar = el('div', { class: 'tabs' });
  tabs.forEach((t, i) => {
    const b = el('button', { type: 'button', 'data-testid': `bytes-tab-${i}`, onclick: () => {
      for (const x of bar.children) x.classList.remove('on');
      b.classList.add('on');
      pane.replaceChildren(bytesView(t.hex, t.mode, t.title));
    } }, t.title);
    bar.append(b);
  });
  bar.firstChild?.click();
  return [bar, pane];
}

function kv(obj, labels) {
  const t = el('table', { class: 'kv' });
  const keys = Object.keys(obj || {});
  const ordered = [...labels.map(([k]) => k).filter((k) => keys.includes(k)), ...keys.filter((k) => !labels.some(([x]) => x === k))];
  for (const k of ordered) {
    const v = obj[k];
    if (v === undefined || v === null || v === '') continue;
    const label = (labels.find(([x]) => x === k) || [k, k.replace(/_/g, ' ')])[1];
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    const isHex = /^[0-9a-f]+$/.test(text) && text.length % 2 === 0 && text.length > 2;
    t.append(el('tr', {}, el('th', {}, label), el('td', {}, el('code', {}, isHex ? spacedHex(text) : text))));
  }
  return t;
}

function calcCards(e, store, r) {
  const rep = report(e);
  if (!rep) return el('div', {});
  const by = e.applied ? `${e.applied.node} (protect)` : `${e.removed?.node} (unprotect)`;
  const card = (title, testid, obj, labels, note) => el('div', { class: 'card', 'data-testid': testid, style: `--c:${store.colorOf(e.ctx)}` },
    el('div', { class: 'card-title' }, chip(store, e.ctx), ` ${title}`), kv(obj, labels), note ? el('p', { class: 'hint' }, note) : '');
  if (rep.group && typeof rep.group === 'object') return groupCards(e, rep, by, card, r);
  return el('div', { class: 'cards' },
    el('div', { class: 'card-by' }, `${e.ctx}, values as computed by ${by}`),
    card('Key derivation', 'card-key', rep.key, [['which', 'key'], ['alg', 'algorithm'], ['info_diag', 'HKDF info (CBOR diag)'], ['info', 'HKDF info (bytes)'], ['key', 'derived key']],
      ['info = [id, id_context, alg_aead, type, L] (RFC 8613 3.2.1); the key is HKDF(salt, secret, info, L).', ' ', sectionLink('RFC 8613 3.2.1')]),
    card('Nonce', 'card-nonce', rep.nonce, [['piv_from', 'Partial IV from'], ['id_piv', 'ID_PIV'], ['padded_id_piv', 'S ‖ ID_PIV padded'], ['padded_piv', 'PIV padded (5 bytes)'], ['common_iv', 'Common IV'], ['nonce', 'nonce = padded ⊕ Common IV']],
      ['size of ID_PIV (1 byte) ‖ ID_PIV left-padded ‖ PIV left-padded, XORed with the Common IV (RFC 8613 5.2).', ' ', sectionLink('RFC 8613 5.2')]),
    card('AAD', 'card-aad', rep.aad, [['diag', 'Enc_structure (diag)'], ['alg_aead', 'alg_aead'], ['request_kid', 'request_kid'], ['request_piv', 'request_piv'], ['options', 'Class I options'], ['aad_array', 'aad_array (bytes)'], ['external_aad', 'external_aad (bstr)'], ['aad', 'AAD = Enc_structure (bytes)']],
      ['Enc_structure = ["Encrypt0", h\'\', external_aad], external_aad = bstr .cbor [1, [alg], request_kid, request_piv, I options] (RFC 8613 5.4).', ' ', sectionLink('RFC 8613 5.4')]));
}

// groupCards shows a Group OSCORE layer's report (oscore.GroupReport): the
// mode and what the OSCORE option says, the key with its label, the nonce
// from the Common IV's prefix, the 9-element aad_array and, in group mode,
// the countersignature, its keystream and the verification.
function groupCards(e, rep, by, card, r) {
  const g = rep.group;
  // The receivers' side: who verified this layer and how, and the Response
  // Number the client counted. On a copy or a response, the receiver of
  // that datagram; on the datagram to the group, every member.
  const removals = (e.removals || (e.removed ? [e.removed] : [])).filter((ev) => !r.mc || r.mc.leg === 'send' || ev.node === r.to);
  const rg = (ev) => pick(pick(pick(ev, 'layer_event') || {}, 'report') || {}, 'group') || {};
  const verified = removals.map((ev) => `${ev.node || '?'}: ${pick(pick(ev, 'layer_event') || {}, 'action') === 'failed' ? 'FAILED ' : ''}${rg(ev).verification || pick(ev, 'note') || ''}`);
  const rnum = removals.map((ev) => rg(ev).response_number).find((n) => Number.isSafeInteger(n) && n >= 0) ?? g.response_number;
  const rn = Number.isSafeInteger(rnum) && rnum >= 0 ? String(rnum) : '';
  const head = {
    mode: g.mode, flag_byte: g.flag_byte, option: rep.option, kid: rep.kid, kid_context: rep.kid_context, partial_iv: rep.partial_iv,
    gid: g.gid, sender_id: g.sender_id, algorithm: g.algorithm, verification: verified.join(' · ') || g.verification, response_number: rn,
  };
  const nonce = { ...(g.nonce && typeof g.nonce === 'object' ? g.nonce : {}), common_iv_len: g.common_iv_len };
  const sig = {
    signature_alg: g.signature_alg, countersign_diag: g.countersign_diag, countersign_structure: g.countersign_structure, signature: g.signature,
    keystream_salt: g.keystream_salt, keystream_info_diag: g.keystream_info_diag, keystream_info: g.keystream_info, keystream: g.keystream,
    encrypted_signature: g.encrypted_signature,
  };
  const groupMode = g.mode === 'group';
  return el('div', { class: 'cards' },
    el('div', { class: 'card-by' }, `${e.ctx}, Group OSCORE values as computed by ${by}`),
    card('Group OSCORE', 'card-group', head, [['mode', 'mode'], ['flag_byte', 'flag byte (OSCORE option)'], ['option', 'OSCORE option'], ['kid', 'kid'], ['kid_context', 'kid context'],
      ['partial_iv', 'Partial IV'], ['gid', 'Gid (ID Context used)'], ['sender_id', 'Sender ID of the protecting member'], ['algorithm', 'encryption algorithm'],
      ['verification', 'verification'], ['response_number', 'Response Number after this response']],
    ['Group mode sets the Group Flag (0x20) and adds a countersignature; pairwise mode uses keys shared by two members (RFC 10021 4.1, 8).', ' ', sectionLink('RFC 10021 4.1')]),
    card('Key', 'card-key', g.key && typeof g.key === 'object' ? g.key : {}, [['which', 'key label'], ['alg', 'algorithm'], ['info_diag', 'HKDF info (CBOR diag)'], ['info', 'HKDF info (bytes)'], ['key', 'key']],
      ['Sender Keys are derived as in RFC 8613 with the Group Encryption Algorithm in info; Pairwise Keys from the ECDH shared secret (RFC 10021 2.1.9, 2.5.1).', ' ', sectionLink('RFC 10021 2.5.1')]),
    card('Nonce', 'card-nonce', nonce, [['piv_from', 'Partial IV from'], ['id_piv', 'ID_PIV'], ['padded_id_piv', 'S ‖ ID_PIV padded'], ['padded_piv', 'PIV padded (5 bytes)'], ['common_iv', 'Common IV (prefix used)'], ['common_iv_len', 'Common IV length'], ['nonce', 'nonce']],
      ['As RFC 8613 5.2, with the Common IV\'s first bytes when the algorithm\'s nonce is shorter (RFC 10021 3.3).', ' ', sectionLink('RFC 10021 3.3')]),
    card('AAD', 'card-aad', { aad_diag: g.aad_diag, aad_array: g.aad_array, aad: g.aad }, [['aad_diag', 'aad_array (diag)'], ['aad_array', 'aad_array (bytes)'], ['aad', 'AAD = Enc_structure (bytes)']],
      ['aad_array = [oscore_version, algorithms, request_kid, request_piv, options, request_kid_context, OSCORE_option, sender_cred, gm_cred] (RFC 10021 3.4).', ' ', sectionLink('RFC 10021 3.4')]),
    groupMode
      ? card('Countersignature and keystream', 'card-signature', sig, [['signature_alg', 'signature algorithm'], ['countersign_diag', 'Countersign_structure (diag)'], ['countersign_structure', 'Countersign_structure (bytes)'],
        ['signature', 'signature'], ['keystream_salt', 'keystream HKDF salt'], ['keystream_info_diag', 'keystream info (diag)'], ['keystream_info', 'keystream info (bytes)'], ['keystream', 'keystream'], ['encrypted_signature', 'encrypted signature = signature ⊕ keystream']],
        ['The payload is ciphertext ‖ (signature ⊕ keystream), the keystream derived from the Signature Encryption Key (RFC 10021 3.1, 4.1, 4.2).', ' ', sectionLink('RFC 10021 4.2')])
      : el('p', { class: 'hint', 'data-testid': 'card-signature' }, 'Pairwise mode: no countersignature; the AEAD tag alone authenticates the sender (RFC 10021 8).'));
}

// fanSummary places a group link's datagram in its fan: the request sent to
// the group with the copies and the responses per member, a copy, or a
// member's response; the rows it names open with a click.
function fanSummary(r, store) {
  const f = r.fan;
  const mc = r.mc || { leg: 'relay', group: f.group };
  const go = (row, text) => el('button', { type: 'button', 'data-testid': 'fan-member', 'data-seq': row.seq, 'data-member': row.from === f?.client ? row.to : row.from,
    onclick: () => store.select(row.seq) }, text);
  const sim = `loopback has no IP multicast: a fan-out link stands in for it, recording one datagram to ${mc.group} and one copy to each member`;
  const parts = [];
  if (mc.leg === 'send') {
    parts.push(el('b', {}, `Multicast to group ${mc.group} (${mc.of} members)`), ` — simulated: ${sim}.`);
    if (f) {
      parts.push(el('div', {}, `Copies: `, ...f.copies.map((c) => go(c, `${c.to}`))));
      parts.push(el('div', { 'data-testid': 'fan-responses' }, `Responses (${f.replies.length}): `,
        ...f.replies.map((x) => go(x, `${x.member} ${x.innerCode || x.code}`))));
    }
  } else if (mc.leg === 'relay') {
    parts.push(el('b', {}, f.send.dir === 'response' ? `Notification relayed by ${r.from} to ${r.to}` : `Response ${r.nth} relayed by ${r.from}${r.member ? ` from member ${r.member}` : ''}`),
      f.send.dir === 'response' ? ` — the notification ${f.send.from} sent once to group ${mc.group}, with ${r.to}'s own Token, MID and Observe.` : ` — ${r.from} sent the request to group ${mc.group} and relays each member's response.`,
      ' ', go(f.send, `the datagram to ${mc.group}`));
  } else if (mc.leg === 'copy') {
    parts.push(el('b', {}, `Simulated multicast: copy ${mc.copy} of ${mc.of}`), ` of the datagram sent to ${mc.group} — ${sim}.`);
    if (f) parts.push(' ', go(f.send, `the datagram to ${mc.group}`));
  } else {
    parts.push(el('b', {}, `Response from member ${r.from}`), f ? ` (${r.nth} of ${f.replies.length} so far) to the group request sent to ${mc.group}, from ${r.from}'s own address.` : ` through group ${mc.group}; its request is not in the trace.`);
    if (f) parts.push(' ', go(f.send, 'the request'));
  }
  return el('div', { class: 'insp-mc', 'data-testid': 'insp-multicast', 'data-leg': mc.leg }, ...parts);
}

function decisionItem(ev) {
  const d = pick(ev, 'decision', 'Decision') || {};
  const rule = ruleNames[d.rule] || d.rule || 'Decision';
  const step = d.step ? ` Step ${stepsText(d.step)}` : '';
  return el('li', { 'data-testid': 'decision', 'data-node': ev.node || '' },
    el('b', {}, ev.node || '?'), ' · ', sectionLink(d.section || '', `${rule}${step}`), d.section ? ` (${/^RFC/i.test(d.section) ? d.section.replace(/(RFC\s*\d+)\s*/i, '$1 §') : `§${d.section}`})` : '',
    ': ', d.outcome || '', d.code ? el('span', { class: 'code-badge' }, ` ⇒ ${d.code} ${codeName(d.code)}`) : '');
}

function deliveryItem(ev) {
  const d = pick(ev, 'delivery', 'Delivery') || {};
  return el('li', { class: 'delivery', 'data-testid': 'delivery', 'data-node': ev.node || '' },
    el('b', {}, ev.node || '?'), ` · delivered ${d.method || 'a message'}${d.resource ? ` to ${/^(\/|[a-z][a-z0-9+.-]*:)/i.test(d.resource) ? '' : '/'}${d.resource}` : ''}`,
    d.code ? ` → ${d.code} ${codeName(d.code)}` : '', d.payload ? ` “${d.payload}”` : '');
}

function errorItem(ev) {
  const er = pick(ev, 'error', 'Error') || {};
  const pb = er.protected_by || er.ProtectedBy;
  return el('li', { class: 'err', 'data-testid': 'error-why' },
    el('b', {}, `${ev.node || '?'}: ${er.code || ''} ${codeName(er.code || '')}`),
    er.diagnostic ? ` “${er.diagnostic}”` : '', er.reason ? ` — ${er.reason}` : '',
    er.section ? [' ', sectionLink(er.section)] : '',
    pb && pb.length ? ` · error protected by ${pb.join(', ')}` : ' · error sent unprotected');
}

// decisions lists what nodes decided around this datagram: from the previous
// datagram of the exchange to the next one, then the rest of the exchange.
function decisions(r, store) {
  const x = store.exchanges.get(r.exchange);
  if (!x) return el('p', { class: 'hint' }, 'No exchange recorded for this datagram.');
  const dgs = x.rows.filter((q) => q.kind === 'datagram');
  const i = dgs.indexOf(r);
  const lo = i > 0 ? dgs[i - 1].seq : 0;
  const hi = i >= 0 && i + 1 < dgs.length ? dgs[i + 1].seq : Infinity;
  const shown = (ev) => ev.type === 'decision' || ev.type === 'error' || ev.type === 'delivery';
  const near = x.events.filter((ev) => shown(ev) && ev.seq > lo && ev.seq < hi);
  const rest = x.events.filter((ev) => shown(ev) && !near.includes(ev));
  const item = (ev) => (ev.type === 'error' ? errorItem(ev) : ev.type === 'delivery' ? deliveryItem(ev) : decisionItem(ev));
  return el('div', {},
    near.length ? el('ol', { class: 'decisions' }, ...near.map(item)) : el('p', { class: 'hint' }, 'No decision recorded around this datagram.'),
    rest.length ? el('details', {}, el('summary', {}, `The rest of exchange #${r.exchange} (${rest.length})`), el('ol', { class: 'decisions' }, ...rest.map(item))) : '');
}

function noteDetail(r, store) {
  const out = [el('div', { class: 'insp-head' }, el('b', {}, `${r.kind}: ${r.code || ''} ${r.text}`), ` · node ${r.node || '?'} · exchange #${r.exchange || '?'}`)];
  if (r.kind === 'error') out.push(section('Why', 'why', el('ol', { class: 'decisions' }, errorItem(r.ev))));
  const x = store.exchanges.get(r.exchange);
  if (x) out.push(section('Decisions in this exchange', 'decisions', el('ol', { class: 'decisions' },
    ...x.events.filter((ev) => ev.type === 'decision' || ev.type === 'error' || ev.type === 'delivery')
      .map((ev) => (ev.type === 'error' ? errorItem(ev) : ev.type === 'delivery' ? deliveryItem(ev) : decisionItem(ev))))));
  out.push(section('Event', 'raw', el('pre', {}, JSON.stringify(r.ev, null, 2))));
  return out;
}
