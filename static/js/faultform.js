// The Link faults form of the topology editor: every field of a scenario
// fault (docs/scenarios.md, links[].faults) with a label that says what it
// does, only the fields the chosen kind uses, directions named by the
// link's nodes, and the standing faults listed in words.
import { el } from './util.js';

// What each kind does and which fields it takes.
const ffKinds = {
  drop: { text: 'drop: the datagram is lost', fields: [] },
  delay: { text: 'delay: the datagram is held, then sent', fields: ['delay'] },
  duplicate: { text: 'duplicate: the datagram is sent twice', fields: [] },
  corrupt: { text: 'corrupt: one byte is flipped (XOR 0xff)', fields: ['byte'] },
  replay: { text: 'replay: an earlier datagram\'s bytes go in its place (its MID and token kept)', fields: ['replay_of'] },
  strip: { text: 'strip: an attacker answers in clear, without the OSCORE layers', fields: ['code', 'payload'] },
};

/** ffOrdinal writes 1 as "1st", 2 as "2nd", 11 as "11th". */
function ffOrdinal(n) {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' })[n % 10] || 'th';
  return `${n}${s}`;
}

/** faultText says one standing fault of link a-b in words. */
export function faultText(a, b, f) {
  const dir = f.dir === 'a->b' ? `${a}→${b}` : f.dir === 'b->a' ? `${b}→${a}` : 'both ways';
  const which = f.match ? `the ${ffOrdinal(f.match)} datagram ${dir} from when it was set` : `every datagram ${dir}`;
  const extra = [];
  if (f.kind === 'delay') extra.push(`held ${f.delay || '100ms'}`);
  if (f.kind === 'corrupt') extra.push(`byte ${f.byte || 0}`);
  if (f.kind === 'replay') extra.push(`bytes of the ${ffOrdinal(f.replay_of || 0)} datagram ${dir}`);
  if (f.kind === 'strip') extra.push(`answer ${f.code || '2.05'} "${f.payload || ''}"`);
  return `${a}-${b}: ${f.kind}, ${which}${extra.length ? `; ${extra.join(', ')}` : ''}`;
}

/**
 * faultForm builds the form. o: {sc, store, api, status, showRunning,
 * links(sc) -> [{a, b}], open, onToggle(open)}. It returns {node, refresh},
 * refresh() relisting the links the form offers.
 */
export function faultForm(o) {
  const { sc, store, api, status } = o;
  const field = (label, tip, input, key) => el('label', { class: 'ff-field', title: tip, 'data-field': key || '' }, el('span', { class: 'ff-label' }, label), input);
  const link = el('select', { 'data-testid': 'fault-link' });
  const kind = el('select', { 'data-testid': 'fault-kind' }, ...Object.keys(ffKinds).map((k) => el('option', { value: k }, k)));
  const dir = el('select', { 'data-testid': 'fault-dir' });
  const match = el('input', { type: 'number', min: 0, max: 1000000, value: 0, 'data-testid': 'fault-match', style: { width: '5em' } });
  const delay = el('input', { type: 'text', placeholder: '50ms', size: 6, 'data-testid': 'fault-delay' });
  const byte = el('input', { type: 'number', min: 0, max: 65535, value: 0, 'data-testid': 'fault-byte', style: { width: '5em' } });
  const replayOf = el('input', { type: 'number', min: 1, max: 1000000, value: 1, 'data-testid': 'fault-replay-of', style: { width: '5em' } });
  const code = el('input', { type: 'text', placeholder: '2.05', size: 5, 'data-testid': 'fault-code' });
  const payload = el('input', { type: 'text', placeholder: 'payload', size: 10, 'data-testid': 'fault-payload' });
  const what = el('div', { class: 'hint', 'data-testid': 'fault-what' });
  const per = {
    delay: field('delay', 'how long the link holds the datagram (a Go duration: 50ms, 1s)', delay, 'delay'),
    byte: field('byte to flip', 'index of the byte the link flips, from 0 (clamped to the last byte)', byte, 'byte'),
    replay_of: field('replay datagram no.', 'the Nth datagram in the same direction whose bytes are sent in place of the matched one', replayOf, 'replay_of'),
    code: field('answer code', 'the code of the clear answer the attacker sends (c.dd, class 2 to 5; 2.05 when empty)', code, 'code'),
    payload: field('answer payload', 'the payload of the clear answer (UTF-8)', payload, 'payload'),
  };
  function refresh() {
    const keep = link.value;
    link.replaceChildren(...o.links(store.scenario || sc).map((l) => el('option', { value: `${l.a}-${l.b}` }, `${l.a}-${l.b}`)));
    if (keep && [...link.options].some((x) => x.value === keep)) link.value = keep;
    refreshDir();
  }
  // Directions are named by the link's nodes: a is the link's first node.
  function refreshDir() {
    const keep = dir.value;
    const [a, b] = (link.value || 'A-B').split('-');
    dir.replaceChildren(el('option', { value: '' }, 'both ways'), el('option', { value: 'a->b' }, `${a} → ${b}`), el('option', { value: 'b->a' }, `${b} → ${a}`));
    dir.value = keep;
  }
  function showKind() {
    const k = ffKinds[kind.value];
    for (const [key, f] of Object.entries(per)) f.hidden = !k.fields.includes(key);
    what.textContent = k.text;
  }
  link.addEventListener('change', refreshDir);
  kind.addEventListener('change', showKind);
  refresh();
  showKind();

  async function setFaults(id, faults) {
    try {
      const res = await api.setFaults(id, faults, store.version());
      store.setScenario(res.scenario, res.rev, res.epoch);
      status(`faults on ${id} updated`);
    } catch (e) { o.showRunning(e); status(e.message, true); }
  }
  const current = el('ul', { 'data-testid': 'fault-list' }, ...(sc.links || []).flatMap((l) => (l.faults || []).map((f, i) => el('li', { 'data-testid': 'fault-item' }, faultText(l.a, l.b, f), ' ',
    el('button', { type: 'button', class: 'small', title: 'remove this fault', 'aria-label': `remove fault: ${faultText(l.a, l.b, f)}`, onclick: () => setFaults(`${l.a}-${l.b}`, l.faults.filter((_, j) => j !== i)) }, '✕')))));
  const add = el('button', { type: 'button', 'data-testid': 'add-fault', onclick: () => {
    if (!link.value) return status('topology: no link yet; add one under Links or send a request first', true);
    const [a, b] = link.value.split('-');
    const l = (store.scenario?.links || []).find((x) => (x.a === a && x.b === b) || (x.a === b && x.b === a));
    const f = { kind: kind.value };
    if (dir.value) f.dir = dir.value;
    if (Number(match.value)) f.match = Number(match.value);
    if (kind.value === 'delay') f.delay = delay.value || '50ms';
    if (kind.value === 'corrupt') f.byte = Number(byte.value) || 0;
    if (kind.value === 'replay') f.replay_of = Number(replayOf.value) || 1;
    if (kind.value === 'strip' && code.value) f.code = code.value;
    if (kind.value === 'strip' && payload.value) f.payload = payload.value;
    // The stored link may name its ends the other way round.
    if (l && l.a === b && f.dir) f.dir = f.dir === 'a->b' ? 'b->a' : 'a->b';
    setFaults(link.value, [...(l?.faults || []), f]);
  } }, 'Add fault');
  const node = el('details', { 'data-testid': 'fault-section', open: o.open, ontoggle: (e) => o.onToggle(e.target.open) },
    el('summary', {}, 'Link faults'), current,
    el('div', { class: 'row-form ff-form' },
      field('link', 'the link whose datagrams the fault changes', link, 'link'),
      field('fault', 'what the link does to the datagram', kind, 'kind'),
      field('direction', 'which way the datagrams travel', dir, 'dir'),
      field('match (0 = every)', 'only the Nth datagram in that direction, counted from when the fault is set (1 = the next one); 0 = every one', match, 'match'),
      ...Object.values(per), add),
    what);
  return { node, refresh };
}
