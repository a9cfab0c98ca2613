// Each step explains itself, as The Illustrated TLS Connection does: for
// one datagram, what happened since the previous hop (layers removed and
// added, options consumed or moved), what the sending and the receiving
// node decided, why each option has its class in each layer (the step of
// the draft's option-protection rule that settled it, in words), and the
// key, nonce and AAD as a short narrative with their values. It reads
// only the trace (layer reports, decisions, the datagrams' bytes); the
// presenter's stage and the inspector show it, and the scenario's
// explanation is shown above the sequence diagram and on the stage.
import { store } from './store.js';
import { el, pick, hexToBytes, spacedHex, sectionLink } from './util.js';
import { parseCoap, codeName } from './coap.js';
import { replay } from './replay.js';

// How a step reason names X when the viewer does not know it; the same
// words as oscore.RuleOtherEnd, so explainDecisive and oscore.DecisiveStep
// give the same text (web/jsagree_test.go).
export const explainOtherEnd = 'the other end of this layer';

const explainOptSection = '2.2';
const explainOSCORE = 9;

/**
 * explainDecisive names the step of the option-protection rule that
 * settled an option's class from its step path, and why, exactly as
 * oscore.DecisiveStep does (draft 2.2, Appendix C): for Class E the step
 * that led to step 6 (5: meant for X; 4: no hop before X reads it), for
 * the original class the step that led to step 9.
 */
export function explainDecisive(steps) {
  const p = Array.isArray(steps) ? steps.filter((s) => Number.isInteger(s)) : [];
  const n = p.length;
  if (n < 2) return { step: 0, reason: '' };
  const before = p[n - 2], last = p[n - 1], X = explainOtherEnd;
  if (last === 8) {
    const at6 = p.indexOf(6);
    if (at6 < 1) return { step: 0, reason: '' };
    const scheme = before === 7 ? ', and the message carries Proxy-Scheme(-Number) (step 7)' : '';
    if (p[at6 - 1] === 5) return { step: 5, reason: `the option is meant for ${X}${scheme}` };
    if (p[at6 - 1] === 4) return { step: 4, reason: `no hop before ${X} reads the option${scheme}` };
  } else if (last === 9) {
    switch (before) {
      case 3: return { step: 3, reason: `another hop consumes the option before ${X}` };
      case 4: return { step: 4, reason: `the option is meant for the next hop, which is not ${X}` };
      case 5: return { step: 5, reason: `${X} needs the option before or for removing the layer` };
      case 7: return { step: 7, reason: 'the message carries no Proxy-Scheme(-Number), so the option stays readable for a reverse-proxy on the way' };
    }
  }
  return { step: 0, reason: '' };
}

function explainReport(entry) {
  const ev = entry && (entry.applied || entry.removed);
  const rep = ev && pick(ev, 'layer_event', 'Layer_') && pick(pick(ev, 'layer_event', 'Layer_'), 'report', 'Report');
  return rep && typeof rep === 'object' ? rep : null;
}

function explainStr(v) { return typeof v === 'string' ? v : ''; }

// explainEnds lists the nodes that share a context (scenario: a and b;
// trace file: endpoints).
function explainEnds(ctx) {
  const c = (store.contexts || []).find((k) => k && k.name === ctx);
  if (!c) return [];
  const list = Array.isArray(c.endpoints) ? c.endpoints : [c.a, c.b];
  return list.map((e) => explainStr(e?.node)).filter(Boolean);
}

/** explainNode names a node with its role: "the proxy P". */
export function explainNode(id) {
  if (!id) return 'the other end';
  const role = store.nodes.find((n) => n.id === id)?.role;
  return ['client', 'proxy', 'server'].includes(role) ? `the ${role} ${id}` : id;
}

function explainLayerName(ctx) {
  const ends = explainEnds(ctx);
  return ends.length === 2 ? `the ${ends.join('-')} layer` : `the layer ${ctx}`;
}

// explainApplier is the node that applied a layer (a peer outside the lab
// is known only by its address).
function explainApplier(e) {
  return e.applied?.node || e.by || '';
}

// explainX is X for a layer: the node at the other end of the context
// from the one that applied it.
function explainX(e) {
  const by = explainApplier(e);
  const other = explainEnds(e.ctx).find((n) => n !== by);
  return other || (e.removed?.node !== by ? e.removed?.node : '') || '';
}

function explainClass(c) {
  if (typeof c === 'string') return c;
  if (typeof c !== 'number') return '';
  return [c & 1 ? 'E' : '', c & 2 ? 'U' : '', c & 4 ? 'I' : ''].filter(Boolean).join('+');
}

/**
 * explainOptions gives one sentence per option whose class the draft's
 * rule settled in a layer of row, outermost layer first, the options that
 * changed class first: "Uri-Host becomes Class E in the C-P layer: step 5,
 * the option is meant for the proxy P."
 */
export function explainOptions(r) {
  const out = [];
  for (const e of r.layers.slice().reverse()) {
    const rep = explainReport(e);
    const by = explainApplier(e);
    const group = rep?.group && typeof rep.group === 'object' ? rep.group : null;
    const xName = group ? `the members of group ${explainStr(group.gid)}` : explainNode(explainX(e));
    const layerName = group ? `the Group OSCORE layer ${e.ctx}` : explainLayerName(e.ctx);
    for (const o of Array.isArray(rep?.options) ? rep.options : []) {
      if (!o || typeof o !== 'object') continue;
      const name = explainStr(o.name) || `Option ${o.number}`;
      const cls = explainClass(o.class), orig = explainClass(o.original);
      let { step, reason } = explainDecisive(o.steps);
      if (!step && Number.isInteger(o.step) && typeof o.reason === 'string') ({ step, reason } = o);
      if (!step && o.escalated === true && !e.applied && cls === 'E') {
        // Known only as its receiver removed it (a peer outside the lab):
        // the class is what the plaintext shows, the sender's steps unknown.
        out.push({ ctx: e.ctx, opt: name, changed: true, step: 0,
          text: `${name} is Class E in ${layerName}: ${by || 'its sender'} escalated it (draft 2.2), as ${e.removed?.node || 'its receiver'} found it inside the plaintext; the sender's steps are not in the trace.` });
        continue;
      }
      if (!step) continue;
      let why = reason.replaceAll(explainOtherEnd, xName);
      if (by && by === r.from && r.to) why = why.replace('the next hop', `the next hop (${explainNode(r.to)})`);
      const changed = cls !== orig;
      out.push({ ctx: e.ctx, opt: name, changed, step,
        text: `${name} ${changed ? 'becomes' : 'stays'} Class ${cls} in ${layerName}: step ${step}, ${why}.` });
    }
  }
  return out.sort((a, b) => b.changed - a.changed);
}

// explainPlaces maps each option of a datagram (but the OSCORE options,
// which the layers stand for) to where it travels: "outside" on the wire
// or "inside CTX" for the layer whose plaintext holds it, with its value.
function explainPlaces(r) {
  const m = new Map();
  const add = (o, where) => {
    if (o.number === explainOSCORE) return;
    const cur = m.get(o.name) || { where: [], value: '' };
    cur.where.push(where);
    cur.value = o.field?.text ?? o.value ?? '';
    m.set(o.name, cur);
  };
  for (const o of r.parsed?.options || []) add(o, 'outside');
  for (const e of r.layers.slice().reverse()) {
    const p = parseCoap(hexToBytes(explainStr(explainReport(e)?.plaintext)), 'plain');
    for (const o of p.options || []) add(o, `inside ${e.ctx}`);
  }
  return m;
}

/** explainPrevious is the datagram the sender of r had received before sending it. */
export function explainPrevious(r) {
  const x = store.exchanges.get(r.exchange);
  if (!x || !r.exchange || (r.dir !== 'request' && r.dir !== 'response')) return null;
  let prev = null;
  for (const q of x.rows) {
    if (q.seq >= r.seq) break;
    if (q.kind === 'datagram' && q.to === r.from && q.dir === r.dir) prev = q;
  }
  return prev;
}

/**
 * explainHopDiff says what the node that sent r changed in the message it
 * had received: "P removed CTX_C_P, consumed Proxy-Scheme; Uri-Host moved
 * from inside CTX_C_P to outside". Empty for the first hop.
 */
export function explainHopDiff(r) {
  const x = store.exchanges.get(r.exchange);
  const same = x?.rows.find((q) => q.kind === 'datagram' && q.seq < r.seq && q.from === r.from && q.to === r.to && q.ev.bytes === r.ev.bytes);
  if (same) return `${r.from} sent these bytes before (#${same.seq}): a retransmission, a duplicate or a replay`;
  const prev = explainPrevious(r);
  if (!prev) return '';
  const was = prev.layers.map((e) => e.ctx), now = r.layers.map((e) => e.ctx);
  const acts = [
    ...was.filter((c) => !now.includes(c)).reverse().map((c) => `removed ${c}`),
    ...now.filter((c) => !was.includes(c)).map((c) => `added ${c}`),
  ];
  const a = explainPlaces(prev), b = explainPlaces(r);
  const consumed = [...a.keys()].filter((n) => !b.has(n));
  const added = [...b.keys()].filter((n) => !a.has(n));
  if (consumed.length) acts.push(`consumed ${consumed.join(', ')}`);
  if (added.length) acts.push(`added ${added.map((n) => `${n} ${b.get(n).value}`.trim()).join(', ')}`);
  const moves = [];
  for (const [n, p] of a) {
    const q = b.get(n);
    if (!q) continue;
    const from = p.where.join(' and '), to = q.where.join(' and ');
    if (from !== to) moves.push(`${n} moved from ${from} to ${to}`);
    else if (p.value !== q.value) moves.push(`${n} changed from ${p.value} to ${q.value}`);
  }
  if (!acts.length && !moves.length) return `${r.from} passed the message on unchanged`;
  return [acts.length ? `${r.from} ${acts.join(', ')}` : `${r.from} kept the layers`, ...moves].join('; ');
}

/**
 * explainSides lists what the sender of r did before sending it (since it
 * received the previous hop's message, or since the exchange began) and
 * what the receiver did with it (until it sent something in the
 * exchange): layers applied and removed, decisions, deliveries, errors.
 */
export function explainSides(r) {
  const x = store.exchanges.get(r.exchange);
  if (!x) return { sender: [], receiver: [] };
  const prev = explainPrevious(r);
  const from = prev ? prev.seq : 0;
  const relevant = (ev) => ev.type === 'layer' || ev.type === 'decision' || ev.type === 'delivery' || ev.type === 'error';
  const sender = x.events.filter((ev) => ev.seq > from && ev.seq < r.seq && ev.node === r.from && relevant(ev));
  const receiver = [];
  for (const ev of x.events) {
    if (ev.seq <= r.seq) continue;
    if (ev.type === 'datagram' && ev.from === r.to) break;
    if (ev.node === r.to && relevant(ev)) receiver.push(ev);
  }
  return { sender, receiver };
}

const explainRules = {
  'incoming-request': ['incoming request', '2.4'], 'option-protection': ['option protection', '2.2'], 'outgoing-request': ['outgoing request', '2.3'],
  response: ['outgoing response', '2.5'], 'hop-limit': ['Hop-Limit', '3'], 'layer-limit': ['layer limit', '2.1'], policy: ['policy', ''],
  'sequence-number': ['sequence number', 'RFC 8613 7.2'], edhoc: ['EDHOC', 'RFC 9528'],
};

// explainDecision says a decision in a line, its step (or path of steps) given.
function explainDecision(d, step) {
  const [rule, sec] = Object.hasOwn(explainRules, explainStr(d.rule)) ? explainRules[d.rule] : [explainStr(d.rule) || 'decision', ''];
  const section = explainStr(d.section) || sec;
  // The outcome often starts by naming the step or the rule again.
  const outcome = explainStr(d.outcome).replace(/^(step [\d>→-]+|outgoing response|outgoing request|incoming request):\s*/i, '').replace(/->/g, '→');
  return `${rule}${step}${section ? ` (${/^RFC/i.test(section) ? section : `draft §${section}`})` : ''}: ${outcome}${d.code ? ` ⇒ ${d.code} ${codeName(d.code)}` : ''}`;
}

/** explainEventText says what one event of a node was, in a line. */
export function explainEventText(ev) {
  switch (ev.type) {
    case 'layer': {
      const le = pick(ev, 'layer_event', 'Layer_') || {};
      const rep = pick(le, 'report', 'Report') || {};
      const acts = { applied: 'applied', removed: 'removed', failed: 'failed to remove' };
      const act = Object.hasOwn(acts, explainStr(le.action)) ? acts[le.action] : explainStr(le.action);
      const kid = explainStr(rep.kid), piv = explainStr(rep.partial_iv);
      return `${act} ${explainStr(rep.context) || '?'} (layer ${ev.layer || '?'})${kid ? `, kid ${kid}` : ''}${piv ? `, Partial IV ${piv}` : ''}`;
    }
    case 'decision': {
      const d = pick(ev, 'decision', 'Decision') || {};
      return explainDecision(d, explainStr(d.step) ? ` step ${explainStr(d.step).replace(/->/g, '→')}` : '');
    }
    case 'delivery': {
      const d = pick(ev, 'delivery', 'Delivery') || {};
      if (d.method) return `delivered ${d.method} ${explainStr(d.resource)} to its application`;
      return `delivered the response ${explainStr(d.code)} ${codeName(explainStr(d.code))}${d.payload ? ` “${d.payload}”` : ''} to its application`;
    }
    case 'error': {
      const er = pick(ev, 'error', 'Error') || {};
      const pb = Array.isArray(er.protected_by) ? er.protected_by.filter((c) => typeof c === 'string') : [];
      return `answered ${explainStr(er.code)} ${codeName(explainStr(er.code))}${er.reason ? `: ${er.reason}` : ''}${pb.length ? `, protected by ${pb.join(', ')}` : ', unprotected'}`;
    }
  }
  return '';
}

/**
 * explainCalc tells one layer's calculations as a narrative with the
 * values of its report: RFC 8613 3.2.1 key, 5.2 nonce, 5.4 AAD, 5.3
 * encryption; for a Group OSCORE layer (RFC 10021) its group key, nonce,
 * aad_array and, in group mode, the countersignature and its keystream
 * (RFC 10021 2, 3.1, 3.3, 3.4, 4.2, 7).
 * [] when the report lacks them.
 */
export function explainCalc(e) {
  const rep = explainReport(e);
  const g = rep?.group && typeof rep.group === 'object' ? rep.group : null;
  const n = g ? g.nonce : rep?.nonce, k = g ? g.key : rep?.key, a = rep?.aad;
  if (!rep || !n || typeof n !== 'object' || !explainStr(n.nonce)) return [];
  const who = explainApplier(e) || 'the sender';
  const ctx = e.ctx;
  const out = [];
  const keyValue = (key) => (explainStr(key) ? `: ${spacedHex(key)}` : '; its value is withheld in a trace saved without secrets');
  if (k && typeof k === 'object' && g) {
    out.push({ id: 'key', section: 'RFC 10021 2', text: `The key: the ${explainStr(k.which) || 'key'} of group ${explainStr(g.gid)} (${explainStr(k.alg)}), derived with info = ${explainStr(k.info_diag)}${keyValue(k.key)}.` });
  } else if (k && typeof k === 'object') {
    const which = k.which === 'recipient' ? 'Recipient Key' : 'Sender Key';
    const owner = e.applied ? e.applied.node : e.removed?.node || who;
    out.push({ id: 'key', section: 'RFC 8613 3.2.1', text: `The key: ${owner} uses its ${which} of ${ctx}, derived as HKDF(Master Salt, Master Secret, info, 16) with info = ${explainStr(k.info_diag)} (${explainStr(k.alg)})${keyValue(k.key)}.` });
  }
  const idp = explainStr(n.padded_id_piv);
  const mine = n.piv_from === 'request' ? `This response reuses the request's nonce: ID ${explainStr(n.id_piv) || '(empty)'} is the request's kid.` :
    `ID ${explainStr(n.id_piv) || '(empty)'} is ${who}'s Sender ID, the Partial IV ${explainStr(rep.partial_iv) || '—'} its sequence number.`;
  out.push({ id: 'nonce', section: g ? 'RFC 10021 3.3' : 'RFC 8613 5.2', text: `The nonce is the Common IV XOR (length of ID ‖ padded Sender ID ‖ padded PIV): ${spacedHex(explainStr(n.common_iv))} XOR ${spacedHex(idp.slice(0, 2))} ‖ ${spacedHex(idp.slice(2))} ‖ ${spacedHex(explainStr(n.padded_piv))} = ${spacedHex(explainStr(n.nonce))}. ${mine}` });
  if (g && explainStr(g.aad)) {
    out.push({ id: 'aad', section: 'RFC 10021 3.4', text: `The AAD is the Enc_structure over the aad_array ${explainStr(g.aad_diag)}; ${explainStr(g.aad).length / 2} bytes: ${spacedHex(explainStr(g.aad))}.` });
  } else if (a && typeof a === 'object' && explainStr(a.aad)) {
    out.push({ id: 'aad', section: 'RFC 8613 5.4', text: `The AAD is the Enc_structure ${explainStr(a.diag)}: version 1, algorithm ${a.alg_aead}, the request's kid ${explainStr(a.request_kid) || '(empty)'} and Partial IV ${explainStr(a.request_piv) || '(empty)'}, no Class I options; ${explainStr(a.aad).length / 2} bytes: ${spacedHex(explainStr(a.aad))}.` });
  }
  const pt = explainStr(rep.plaintext).length / 2, ct = explainStr(rep.ciphertext).length / 2;
  const alg = explainStr(g ? g.algorithm : k?.alg) || 'The AEAD algorithm';
  if (pt || ct) {
    out.push({ id: 'aead', section: 'RFC 8613 5.3', text: `${alg} encrypts the ${pt}-byte plaintext (inner code, Class E options, payload) with this key, nonce and AAD into ${ct} bytes of ciphertext and tag${e.applied ? '' : `; ${e.removed?.node || 'the receiver'} reverses it with the same three`}.` });
  }
  if (g && explainStr(g.signature)) {
    out.push({ id: 'signature', section: 'RFC 10021 3.1', text: `${who} signs ${explainStr(g.countersign_diag)} with ${explainStr(g.signature_alg)}: ${spacedHex(explainStr(g.signature))}. The signature travels encrypted, XORed with the keystream ${spacedHex(explainStr(g.keystream))} (derived with info = ${explainStr(g.keystream_info_diag)}, RFC 10021 4.2): ${spacedHex(explainStr(g.encrypted_signature))}.` });
  }
  if (g && explainStr(g.verification)) out.push({ id: 'verification', section: 'RFC 10021 7', text: `${e.removed?.node || 'The receiver'}: ${g.verification}.` });
  return out;
}

/**
 * explainCompact tells a node's events in fewer lines, for the stage: a run
 * of decisions of one rule becomes one line with the path of its steps and
 * the last outcome ("incoming request steps 6→1→2→4 (draft §2.4): ...").
 */
export function explainCompact(evs) {
  const out = [];
  let run = [];
  const flush = () => {
    if (run.length === 1) out.push(explainEventText(run[0]));
    else if (run.length > 1) {
      const path = [];
      for (const ev of run) {
        for (const st of explainStr(pick(ev, 'decision', 'Decision')?.step).split(/->|→/).map((x) => x.trim()).filter(Boolean)) {
          if (path[path.length - 1] !== st) path.push(st);
        }
      }
      out.push(explainDecision(pick(run[run.length - 1], 'decision', 'Decision'), ` steps ${path.join('→')}`));
    }
    run = [];
  };
  for (const ev of evs) {
    const d = ev.type === 'decision' ? pick(ev, 'decision', 'Decision') : null;
    const prev = run.length ? pick(run[run.length - 1], 'decision', 'Decision') : null;
    if (d && explainStr(d.step) && !d.code && (!prev || (prev.rule === d.rule && prev.section === d.section))) { run.push(ev); continue; }
    flush();
    if (d && explainStr(d.step) && !d.code) run.push(ev);
    else out.push(explainEventText(ev));
  }
  flush();
  return out;
}

// explainFirst says what a datagram with no previous hop is.
function explainFirst(r) {
  if (r.dir === 'ack') return `${r.from} acknowledges ${r.to}'s message with an empty ACK (nothing to protect).`;
  if (r.dir === 'rst') return `${r.from} rejects ${r.to}'s message with a Reset.`;
  const what = r.dir === 'request' || r.dir === 'response' ? `the first message of this ${r.dir}` : 'a message';
  return `${r.from} sends ${what}${r.layers.length ? `, protected with ${r.layers.map((e) => e.ctx).join(', then ')}` : ', with no OSCORE layer'}.`;
}

/**
 * explainView renders the explanation of a datagram row; stage: true for
 * the presenter's stage (the outermost layer's calculations only).
 */
export function explainView(r, { stage = false } = {}) {
  const cls = stage ? 'explain stage-explain' : 'explain';
  const part = (testid, title, ...body) => el('div', { class: 'explain-part', 'data-testid': testid }, el('div', { class: 'explain-title' }, title), ...body);
  const diff = explainHopDiff(r);
  const { sender, receiver } = explainSides(r);
  const opts = explainOptions(r);
  const list = (evs, testid) => el('ol', { class: 'explain-list' }, ...(stage ? explainCompact(evs) : evs.map(explainEventText)).map((t) => el('li', { 'data-testid': testid }, t)));
  const layers = r.layers.slice().reverse();
  const calcs = (stage ? layers.slice(0, 1) : layers).map((e) => {
    const lines = explainCalc(e);
    return lines.length ? el('div', { class: 'explain-calc', 'data-testid': 'explain-calc', 'data-ctx': e.ctx },
      el('div', { class: 'explain-sub' }, `${e.ctx}, as ${explainApplier(e) || 'its sender'} ${e.applied ? 'applied' : 'sent'} it`),
      ...lines.map((l) => el('p', { 'data-testid': `explain-${l.id}` }, l.text, ' ', sectionLink(l.section)))) : '';
  });
  // What changed and why the options are where they are come first: that
  // is the lesson of the step; then who decided what, then the arithmetic.
  return el('div', { class: cls, 'data-testid': stage ? 'stage-explain' : 'explain' },
    part('explain-diff', diff ? 'Since the previous hop' : 'This hop', el('p', {}, diff || explainFirst(r))),
    opts.length ? part('explain-options', 'Why each option has its class (as each layer\'s sender applied it)', el('ul', { class: 'explain-list' },
      ...opts.map((o) => el('li', { 'data-testid': 'explain-option', 'data-opt': o.opt, 'data-ctx': o.ctx, class: o.changed ? 'changed' : '' }, o.text))),
    el('p', { class: 'explain-ref' }, sectionLink(explainOptSection, 'draft §2.2, Protection of CoAP Options'))) : '',
    part('explain-sender', `${explainNode(r.from)} (sender)`, sender.length ? list(sender, 'explain-sender-event') : el('p', {}, 'nothing recorded before sending')),
    part('explain-receiver', `${explainNode(r.to)} (receiver)`, receiver.length ? list(receiver, 'explain-receiver-event') : el('p', {}, 'nothing recorded yet')),
    calcs.some(Boolean) ? part('explain-calcs', 'The calculations', ...calcs) : '');
}

/** explainScenario renders the scenario's title and explanation. */
export function explainScenario({ brief = false } = {}) {
  const sc = store.scenario || {};
  const title = explainStr(sc.title), text = explainStr(sc.explanation), section = explainStr(sc.section), name = explainStr(sc.name);
  if (!title && !text) return el('div', { class: 'scenario-explain', 'data-testid': 'scenario-explain', hidden: true });
  return el('div', { class: 'scenario-explain', 'data-testid': 'scenario-explain' },
    el('div', { class: 'scenario-title' }, el('b', {}, title || name), section ? ` (${section})` : ''),
    !brief && text ? el('p', { class: 'scenario-text', 'data-testid': 'scenario-text' }, text) : '');
}

// Above the sequence diagram: the scenario's title and explanation, open
// by default and folded by a click.
function explainSequenceBanner() {
  const seq = document.querySelector('[data-view="sequence"]');
  if (!seq) return;
  const box = el('details', { class: 'scenario-banner', 'data-testid': 'scenario-banner', open: true });
  seq.querySelector(':scope > h2')?.after(box);
  const draw = () => {
    const view = explainScenario();
    box.hidden = view.hidden;
    const summary = el('summary', {}, ...view.firstChild ? [...view.firstChild.childNodes].map((c) => c.cloneNode(true)) : []);
    box.replaceChildren(summary, ...view.querySelectorAll('.scenario-text'));
  };
  store.subscribe('scenario', draw);
  draw();
}

/**
 * explainNow says in a line what the replay's current event is: a
 * datagram with what its sender changed, a node's layer or decision, a
 * fault, an exchange's start or end.
 */
export function explainNow(ev) {
  if (!ev) return '';
  switch (ev.type) {
    case 'datagram': {
      const r = store.bySeq.get(ev.seq);
      const what = r ? `${r.type} ${r.code} ${codeName(r.code)}`.trim() : '';
      const layers = r?.layers.length ? ` in ${r.layers.slice().reverse().map((e) => e.ctx).join(' over ')}` : '';
      const diff = r ? explainHopDiff(r) : '';
      return `${ev.from} → ${ev.to}: ${what} ${ev.dir || ''}${layers}${diff ? ` (${diff})` : ''}`.replace(/\s+/g, ' ');
    }
    case 'exchange': return `exchange #${ev.exchange || '?'}: ${explainStr(ev.note)}`;
    case 'notice': return `notice: ${explainStr(ev.note)}`;
    case 'fault': {
      const f = pick(ev, 'fault', 'Fault') || {};
      return `link ${explainStr(ev.link) || `${ev.from}-${ev.to}`}: fault ${explainStr(f.kind)} ${explainStr(f.detail)}`.trim();
    }
  }
  const t = explainEventText(ev);
  return t ? `${ev.node || '?'}: ${t}` : '';
}

// While replaying, a caption above the sequence diagram says what the
// current step is, in words.
function explainReplayCaption() {
  const seq = document.querySelector('[data-view="sequence"]');
  if (!seq) return;
  const cap = el('div', { class: 'replay-caption', 'data-testid': 'replay-caption', role: 'status', hidden: true });
  (seq.querySelector('[data-testid="scenario-banner"]') || seq.querySelector(':scope > h2'))?.after(cap);
  replay.subscribe(() => {
    // A step by message shows a datagram with what its receiver did: the
    // datagram is what the step is about.
    const row = replay.unit === 'message' ? store.bySeq.get(store.selected) : null;
    const ev = replay.active ? (row?.kind === 'datagram' ? row.ev : replay.current()) : null;
    cap.hidden = !replay.active;
    cap.textContent = replay.active ? (ev ? `Step ${replay.cursor}: ${explainNow(ev)}` : 'Step 0: nothing sent yet. Press Space or → to step.') : '';
  });
}

queueMicrotask(() => {
  explainSequenceBanner();
  explainReplayCaption();
  if (window.oscoreLab) window.oscoreLab.explain = { explainDecisive, explainOptions, explainHopDiff, explainSides, explainCalc, explainNow };
});
