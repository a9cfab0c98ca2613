// Presenter mode: large type, high contrast, editing controls hidden, and one
// message filling the screen as the onion of its layers, each box labelled
// with its context, kid and Partial IV and listing the options inside it.
// An audience window (the same page opened with #audience) follows the
// presenter: the replay position, the selected message and the quiz travel
// over a BroadcastChannel (same origin) and over postMessage between the
// two windows (which also works for an HTML export opened from disk).
import { store } from './store.js';
import { registerTool } from './registry.js';
import { el, replaceIfChanged } from './util.js';
import { codeName } from './coap.js';
import { replay, clickerKeys } from './replay.js';
import { classText } from './inspector.js';
import { explainView, explainScenario } from './explain.js';

const presenterChannelName = 'oscore-lab-presenter';

export const presenter = {
  on: false,
  audience: /(^#|&)audience\b/.test(location.hash),
  child: null,        // the audience window this presenter opened
  channel: null,
  extra: {},          // more state to mirror (the quiz puts its card here)
  listeners: new Set(),

  /** enable turns presenter mode on or off. */
  enable(on = true) {
    presenter.on = !!on;
    document.body.classList.toggle('presenting', presenter.on);
    presenterStage.hidden = !presenter.on;
    if (presenter.on) presenterRender();
    presenter.broadcast();
    for (const fn of presenter.listeners) fn(presenter);
  },

  /** openAudience opens the audience window; it mirrors this one. */
  openAudience() {
    const url = location.href.split('#')[0] + '#audience';
    presenter.child = window.open(url, 'oscore-lab-audience');
    if (!presenter.child) store.notice('presenter: the browser blocked the audience window (allow pop-ups for this page)');
    return presenter.child;
  },

  /** state is what the audience window needs to show the same thing. */
  state() {
    const cur = replay.active ? replay.current() : null;
    return { kind: 'sync', presenting: presenter.on, replay: replay.active, seq: cur ? cur.seq : 0,
      selected: store.selected, extra: presenter.extra };
  },

  /**
   * broadcast sends the state to the audience (no-op in the audience),
   * once per task however many changes a step makes: a replay step
   * selects, notifies and re-renders, and each used to post.
   */
  broadcast(msg) {
    if (presenter.audience) return;
    if (msg) { presenterSend(msg); return; }
    if (presenterBroadcastQueued) return;
    presenterBroadcastQueued = true;
    queueMicrotask(() => { presenterBroadcastQueued = false; presenterSend(presenter.state()); });
  },
};

let presenterBroadcastQueued = false;

function presenterSend(msg) {
  const m = { app: 'oscore-lab', ...msg };
  try { presenter.channel?.postMessage(m); } catch (e) { /* closed channel */ }
  for (const w of [presenter.child, window.opener]) {
    if (w && !w.closed) { try { w.postMessage(m, '*'); } catch (e) { /* gone */ } }
  }
}

// The trace travels to the audience only when it cannot get it itself: an
// imported or embedded trace (the live lab's audience has the WebSocket).
function presenterTraceMessage() {
  return { kind: 'trace', trace: {
    format: 'oscore-lab-trace', version: 1, scenario: store.scenario || {}, nodes: store.nodes, contexts: store.contexts,
    events: replay.active ? replay.all : store.events } };
}

function presenterReceive(m) {
  if (!m || m.app !== 'oscore-lab') return;
  if (!presenter.audience) {
    if (m.kind === 'key') presenterClick(m.key, false);
    if (m.kind === 'hello') {
      if (store.mode === 'trace') presenterSend(presenterTraceMessage());
      presenter.broadcast();
    }
    return;
  }
  if (m.kind === 'trace') {
    if (replay.active) replay.stop();
    try { store.loadTrace(m.trace); document.body.dataset.mode = 'trace'; } catch (e) { store.notice(e.message); }
    return;
  }
  if (m.kind !== 'sync') return;
  presenterApply(m);
}

let presenterPending = null;
function presenterApply(m) {
  presenterPending = m;
  if (m.replay) {
    if (!replay.active) replay.start(0);
    const want = replay.all.findIndex((ev) => ev.seq === m.seq);
    if (m.seq && want < 0) return; // not here yet (live feed catching up): retried on the next events
    replay.seek(m.seq ? want + 1 : 0);
  } else {
    if (replay.active) replay.stop();
    if (m.selected && store.bySeq.has(m.selected)) store.select(m.selected);
  }
  presenterPending = null;
  presenter.extra = m.extra || {};
  presenter.enable(true);
}

store.subscribe('events', () => { if (presenterPending) presenterApply(presenterPending); });

// The stage: one message, full screen.
const presenterStage = el('div', { class: 'stage', 'data-testid': 'presenter-stage', hidden: true });

function presenterReport(entry) {
  const ev = entry && (entry.applied || entry.removed);
  return ev?.layer_event?.report || null;
}

function presenterOptText(o) {
  return `${o.name}${o.text !== undefined && o.text !== '' ? ` ${o.text}` : ''}`;
}

/** presenterOnion draws a datagram's layers as nested boxes, outermost first. */
export function presenterOnion(r) {
  const layers = r.layers.slice().reverse();
  const p = r.parsed || { options: [] };
  let inner;
  if (layers.length) {
    const rep = presenterReport(layers[layers.length - 1]) || {};
    inner = el('div', { class: 'stage-inner', 'data-testid': 'stage-inner' },
      el('div', { class: 'stage-label' }, `Inner message: ${rep.inner_code ? `${rep.inner_code} ${codeName(rep.inner_code)}` : ''}`));
  } else {
    inner = el('div', { class: 'stage-inner' }, 'No OSCORE layer: the message travels in the clear.');
  }
  let box = inner;
  for (let i = layers.length - 1; i >= 0; i--) {
    const e = layers[i];
    const rep = presenterReport(e) || {};
    const opts = rep.options || [];
    const inside = opts.filter((o) => classText(o.class).includes('E'));
    const outside = opts.filter((o) => !classText(o.class).includes('E'));
    box = el('div', { class: 'stage-layer', 'data-testid': 'stage-layer', 'data-ctx': e.ctx, style: `--c:${store.colorOf(e.ctx)}` },
      el('div', { class: 'stage-label' },
        el('span', { class: 'chip', 'data-testid': 'layer-chip', 'data-ctx': e.ctx, style: `--c:${store.colorOf(e.ctx)}` }, e.ctx),
        el('span', {}, ` kid ${rep.kid || '—'}`), el('span', {}, ` · Partial IV ${rep.partial_iv || '—'}`),
        rep.kid_context ? el('span', {}, ` · kid context ${rep.kid_context}`) : ''),
      el('div', { class: 'stage-opts', 'data-testid': 'stage-inside' },
        inside.length ? `inside: ${inside.map(presenterOptText).join(' · ')}` : 'inside: no option of its own'),
      outside.length ? el('div', { class: 'stage-opts outer' }, `outside this layer: ${outside.map(presenterOptText).join(' · ')}`) : '',
      box);
  }
  const outerOpts = p.options.map((o) => `${o.name} ${o.field?.text ?? ''}`.trim()).join(' · ') || 'no option';
  return el('div', { class: 'stage-wire', 'data-testid': 'stage-wire' },
    el('div', { class: 'stage-label' }, `${r.from} → ${r.to}  ${r.type || ''} ${r.code || ''} ${codeName(r.code || '')}`),
    el('div', { class: 'stage-opts outer' }, `on the wire: ${outerOpts}`),
    box);
}

function presenterRender() {
  if (!presenter.on) return;
  const r = store.bySeq.get(store.selected);
  const head = el('div', { class: 'stage-head' },
    replay.active ? `step ${replay.position().step}/${replay.all.length}` : '',
    r?.exchange ? ` · exchange #${r.exchange}` : '', r?.hop !== undefined ? ` · hop ${r.hop}` : '', r?.dir ? ` · ${r.dir}` : '');
  let body;
  // The scenario's explanation opens the talk (no message yet); then its
  // title stays above each message, with what happened and why beside it.
  if (!r) body = el('div', {}, explainScenario(), el('p', { class: 'stage-hint' }, replay.active ? 'Press Space or → to show the first message.' : 'Select a message, or start Replay.'));
  else if (r.kind === 'datagram') body = el('div', {}, explainScenario({ brief: true }), el('div', { class: 'stage-body' }, presenterOnion(r), explainView(r, { stage: true })));
  else body = el('div', { class: `stage-note ${r.kind}` }, `${r.node || ''}: ${r.code ? `${r.code} ${codeName(r.code)} — ` : ''}${r.text || ''}`);
  // Only what changed is swapped, and the quiz's slot never leaves the
  // stage: a button taken out of the document between press and release
  // loses its click, and live events re-render the stage at any moment.
  const [shownHead, shownBody, slot] = presenterStage.children;
  if (slot === presenterStageSlot && presenterStage.children.length === 3) {
    replaceIfChanged(shownHead, head);
    replaceIfChanged(shownBody, body);
  } else {
    presenterStage.replaceChildren(head, body, presenterStageSlot);
  }
}

// A slot under the message where the quiz puts its card.
const presenterStageSlot = el('div', { class: 'stage-slot', 'data-testid': 'stage-slot' });
presenter.slot = presenterStageSlot;

store.subscribe('select', () => { presenterRender(); presenter.broadcast(); });
store.subscribe('events', () => presenterRender());
replay.subscribe(() => presenterRender());

function presenterTools() {
  const toggle = el('button', { type: 'button', 'data-testid': 'presenter-toggle', title: 'large type, one message on screen (F to toggle, Esc to leave, X clears the selection)',
    onclick: () => presenter.enable(!presenter.on) }, 'Present');
  const aud = el('button', { type: 'button', 'data-testid': 'audience-open', title: 'open a window for the projector that follows this one',
    onclick: () => { presenter.openAudience(); } }, 'Audience');
  presenter.listeners.add(() => { toggle.classList.toggle('on', presenter.on); toggle.textContent = presenter.on ? 'Leave presenter' : 'Present'; });
  return el('span', { class: 'tool presenter-tool' }, toggle, aud);
}

// presenterClick does what a clicker key asks: step the replay (replay.js
// does that for the keys pressed here), or, on the stage outside replay,
// show the next or previous message of the diagram.
function presenterClick(key, local) {
  const dir = clickerKeys[key];
  if (!dir) return false;
  if (replay.active) {
    if (!local) { if (dir === 'next') replay.forward(); else replay.back(); }
    return true;
  }
  if (!presenter.on) return false;
  const rows = store.rows;
  const i = rows.findIndex((r) => r.seq === store.selected);
  const j = i < 0 ? (dir === 'next' ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, i + (dir === 'next' ? 1 : -1)));
  if (rows[j]) store.select(rows[j].seq);
  return true;
}

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest?.('input,select,textarea,[contenteditable]')) return;
  // The audience window hands the clicker's keys to the presenter, so the
  // clicker works whichever window has the focus.
  if (presenter.audience) {
    if (clickerKeys[e.key]) { presenterSend({ kind: 'key', key: e.key }); e.preventDefault(); }
    return;
  }
  if (presenterClick(e.key, true)) { e.preventDefault(); return; }
  if (e.key === 'f' || e.key === 'F') { presenter.enable(!presenter.on); e.preventDefault(); }
  // Esc leaves the stage and nothing else: the selection stays (X clears it).
  else if (e.key === 'Escape' && presenter.on) { presenter.enable(false); e.preventDefault(); }
});

queueMicrotask(() => {
  document.body.append(presenterStage);
  registerTool({ id: 'presenter', offline: true, render: presenterTools });
  if (typeof BroadcastChannel === 'function') {
    try {
      presenter.channel = new BroadcastChannel(presenterChannelName);
      presenter.channel.onmessage = (e) => presenterReceive(e.data);
    } catch (e) { presenter.channel = null; }
  }
  window.addEventListener('message', (e) => presenterReceive(e.data));
  replay.subscribe(() => presenter.broadcast());
  if (window.oscoreLab) window.oscoreLab.presenter = presenter;
  if (presenter.audience) {
    document.body.dataset.audience = '1';
    presenter.enable(true);
    presenterSend({ kind: 'hello' });
  }
});
