// Replay: step through a recorded or imported trace one event (or one
// message) at a time, as Packet Tracer's simulation mode does. The store
// itself is the screen: while replaying, the store holds only the events up
// to the cursor, so the sequence diagram draws exactly those and the
// inspector shows the current message. Live events that arrive meanwhile are
// kept aside and shown when replay ends. Each position has a stable URL
// fragment (#ex=1&step=7, or #step=42), honoured on load.
import { store } from './store.js';
import { registerTool } from './registry.js';
import { el } from './util.js';

const replayRowTypes = new Set(['datagram', 'error', 'fault', 'notice']);
const storeAddEvents = store.addEvents; // the store's own ingest, kept while replay intercepts it
const replayExchangeCache = { all: null, scanned: 0, seen: new Set(), list: [] };

export const replay = {
  active: false,
  all: [],            // every event of the trace, in seq order
  cursor: 0,          // how many events of `all` the store shows
  unit: 'message',    // 'message' steps to the next datagram/error/fault; 'event' steps one event
  playing: false,
  speed: 900,         // ms between steps while playing
  timer: 0,
  seeking: false,
  listeners: new Set(),

  /** start enters replay at step 0 (or at `at` events) with the store's events. */
  start(at = 0) {
    if (!replay.active) {
      replay.all = store.events.slice();
      replay.cursor = store.events.length;
      replay.active = true;
      store.addEvents = replayIntercept;
      document.body.dataset.replay = '1';
    }
    replay.seek(at);
  },

  /** stop leaves replay and shows every event again (live ones included). */
  stop() {
    if (!replay.active) return;
    replay.pause();
    replay.active = false;
    store.addEvents = storeAddEvents;
    delete document.body.dataset.replay;
    storeAddEvents(replay.all.slice(replay.cursor));
    replay.cursor = replay.all.length;
    history.replaceState(null, '', location.pathname + location.search);
    replayNotify();
  },

  /** seek shows the first n events, selecting the message they end on. */
  seek(n) {
    if (!replay.active) return;
    n = Math.max(0, Math.min(replay.all.length, Math.floor(Number(n) || 0)));
    if (n >= replay.cursor) {
      storeAddEvents(replay.all.slice(replay.cursor, n));
    } else {
      replay.seeking = true;
      try { store.reset(); storeAddEvents(replay.all.slice(0, n)); } finally { replay.seeking = false; }
    }
    replay.cursor = n;
    const row = replayCurrentRow();
    store.select(row ? row.seq : null);
    replayWriteHash();
    replayNotify();
  },

  next() { replay.seek(replayNextPosition(replay.cursor)); },
  /**
   * forward is the clicker's "next": it first gives hold() (the quiz's
   * pending question) the press, then pauses and steps.
   */
  forward() {
    if (replay.hold?.()) return;
    replay.pause();
    replay.next();
  },
  back() { replay.pause(); replay.prev(); },
  hold: null,         // () => true when a press of "next" was used otherwise
  prev() { replay.seek(replayPrevPosition(replay.cursor)); },
  reset() { replay.pause(); replay.seek(0); },
  end() { replay.seek(replay.all.length); },
  atEnd() { return replay.cursor >= replay.all.length; },

  /** jumpToExchange shows exchange x up to and including its first message. */
  jumpToExchange(x) {
    x = Number(x);
    const i = replay.all.findIndex((ev) => ev.exchange === x && replayRowTypes.has(ev.type));
    const j = i >= 0 ? i : replay.all.findIndex((ev) => ev.exchange === x);
    if (j < 0) return false;
    replay.seek(replayUnitEnd(j));
    return true;
  },

  play() {
    if (!replay.active) replay.start(0);
    if (replay.atEnd()) replay.seek(0);
    replay.playing = true;
    clearInterval(replay.timer);
    replay.timer = setInterval(() => {
      if (replay.atEnd()) { replay.pause(); return; }
      replay.next();
    }, replay.speed);
    replayNotify();
  },
  pause() {
    replay.playing = false;
    clearInterval(replay.timer);
    replay.timer = 0;
    replayNotify();
  },
  toggle() { if (replay.playing) replay.pause(); else replay.play(); },

  /** current is the event the cursor is on (the last one shown). */
  current() { return replay.cursor > 0 ? replay.all[replay.cursor - 1] : null; },
  /** exchanges lists the exchange ids of the trace in order of appearance. */
  exchanges() {
    // Kept per trace array and grown as it grows: every step asks, and a
    // scan of 10,000 events per step would cost frames.
    const c = replayExchangeCache;
    if (c.all !== replay.all || c.scanned > replay.all.length) { c.all = replay.all; c.scanned = 0; c.seen = new Set(); c.list = []; }
    for (; c.scanned < replay.all.length; c.scanned++) {
      const x = replay.all[c.scanned].exchange;
      if (x && !c.seen.has(x)) { c.seen.add(x); c.list.push(x); }
    }
    return c.list.slice();
  },
  /** position describes the cursor for the URL fragment and the step label. */
  position() {
    const ev = replay.current();
    if (!ev) return { step: 0, exchange: 0, exStep: 0 };
    let k = 0;
    if (ev.exchange) for (let i = 0; i < replay.cursor; i++) if (replay.all[i].exchange === ev.exchange) k++;
    return { step: replay.cursor, exchange: ev.exchange || 0, exStep: k };
  },
  /** subscribe(fn) calls fn(replay) after every change; returns an unsubscribe. */
  subscribe(fn) { replay.listeners.add(fn); return () => replay.listeners.delete(fn); },

  /** parseHash reads #step=N or #ex=X&step=K into an event count (or -1). */
  parseHash(hash = location.hash) {
    const p = new URLSearchParams(String(hash).replace(/^#/, ''));
    if (!p.has('step')) return -1;
    const step = Math.max(0, Number(p.get('step')) || 0);
    const ex = Number(p.get('ex')) || 0;
    if (!ex) return step <= replay.all.length ? step : -1;
    let k = 0;
    for (let i = 0; i < replay.all.length; i++) {
      if (replay.all[i].exchange === ex && ++k === step) return i + 1;
    }
    return -1;
  },
};

// replayIntercept stands in for store.addEvents while replaying: new events
// join the trace but stay hidden until the cursor reaches them.
function replayIntercept(batch) {
  let last = replay.all.length ? replay.all[replay.all.length - 1].seq : 0;
  for (const ev of batch || []) {
    if (!ev.seq) continue;
    if (ev.seq <= last) {
      if (ev.seq !== 1) continue;
      replay.all = []; // a new scenario restarted the numbering
      replay.cursor = 0;
      replay.seeking = true;
      try { store.reset(); } finally { replay.seeking = false; }
    }
    last = ev.seq;
    replay.all.push(ev);
  }
  replayNotify();
}

// A reset that replay did not cause (a new scenario, an imported trace)
// starts the replay over with what comes next.
store.subscribe('reset', () => {
  if (!replay.active || replay.seeking) return;
  replay.all = [];
  replay.cursor = 0;
  replayNotify();
});

// Message positions end just before the next message, so one step shows a
// datagram together with what its receiver did with it.
function replayUnitEnd(i) {
  for (let k = i + 1; k < replay.all.length; k++) if (replayRowTypes.has(replay.all[k].type)) return k;
  return replay.all.length;
}

function replayNextPosition(c) {
  if (c >= replay.all.length) return c;
  if (replay.unit === 'event') return c + 1;
  for (let i = c; i < replay.all.length; i++) {
    if (replayRowTypes.has(replay.all[i].type)) {
      const e = replayUnitEnd(i);
      if (e > c) return e;
    }
  }
  return replay.all.length;
}

function replayPrevPosition(c) {
  if (c <= 0) return 0;
  if (replay.unit === 'event') return c - 1;
  let best = 0;
  for (let i = 0; i < replay.all.length; i++) {
    if (!replayRowTypes.has(replay.all[i].type)) continue;
    const e = replayUnitEnd(i);
    if (e < c) best = e; else break;
  }
  return best;
}

// replayCurrentRow is the message the inspector should show: the newest
// row shown, or, between messages, the latest row of the current exchange.
function replayCurrentRow() {
  const ev = replay.current();
  if (!ev) return null;
  if (store.bySeq.has(ev.seq)) return store.bySeq.get(ev.seq);
  const x = ev.exchange && store.exchanges.get(ev.exchange);
  if (x && x.rows.length) return x.rows[x.rows.length - 1];
  return store.rows.length ? store.rows[store.rows.length - 1] : null;
}

// replayWriteHash keeps the URL on the cursor, at most every 100 ms and
// always after the last step: history.replaceState costs a round trip to
// the browser, too much for every step of a fast replay.
let replayHashAt = -1e9, replayHashTimer = 0;
function replayWriteHash() {
  clearTimeout(replayHashTimer);
  const write = () => {
    replayHashAt = performance.now();
    if (!replay.active) return;
    const p = replay.position();
    const hash = p.exchange ? `#ex=${p.exchange}&step=${p.exStep}` : `#step=${p.step}`;
    history.replaceState(null, '', location.pathname + location.search + hash);
  };
  if (performance.now() - replayHashAt >= 100) write();
  else replayHashTimer = setTimeout(write, 100);
}

function replayNotify() {
  for (const fn of replay.listeners) {
    try { fn(replay); } catch (e) { console.error('replay: listener:', e); }
  }
}

/**
 * clickerKeys is the one key map of a presentation clicker (Page Down and
 * Page Up) and the keyboard, the same in replay, on the presenter's stage,
 * in the quiz and in the audience window (docs/teaching.md, Keyboard).
 */
export const clickerKeys = { ' ': 'next', ArrowRight: 'next', PageDown: 'next', ArrowLeft: 'prev', PageUp: 'prev' };

// Keyboard: the clicker keys step, K or P plays and pauses, R resets, End
// jumps to the end. Only while replaying, and never while typing in a field.
document.addEventListener('keydown', (e) => {
  if (!replay.active || e.ctrlKey || e.metaKey || e.altKey || document.body.dataset.audience === '1') return;
  if (e.target.closest?.('input,select,textarea,[contenteditable]')) return;
  let done = true;
  switch (clickerKeys[e.key] || e.key) {
    case 'next': replay.forward(); break;
    case 'prev': replay.back(); break;
    case 'k': case 'K': case 'p': case 'P': replay.toggle(); break;
    case 'r': case 'R': replay.reset(); break;
    case 'Home': replay.reset(); break;
    case 'End': replay.end(); break;
    default: done = false;
  }
  if (done) {
    e.preventDefault();
    if (document.activeElement?.tagName === 'BUTTON') document.activeElement.blur();
  }
});

function replayControls(ctx) {
  const btn = (testid, label, title, fn) => el('button', { type: 'button', 'data-testid': testid, title, onclick: fn }, label);
  const toggle = btn('replay-toggle', 'Replay', 'step through the trace (Space/→ next, ← back, K play/pause, R reset)', () => {
    if (replay.active) replay.stop(); else replay.start(0);
  });
  const play = btn('replay-play', '▶', 'play / pause (K)', () => replay.toggle());
  // A choice made, the select lets go of the focus: the clicker's next
  // Page Down steps instead of choosing the next option.
  const exSel = el('select', { 'data-testid': 'replay-exchange', title: 'jump to an exchange', onchange: () => { if (exSel.value) replay.jumpToExchange(exSel.value); exSel.blur(); } });
  const unitSel = el('select', { 'data-testid': 'replay-unit', title: 'one step is a message (with what its receiver did) or one event', onchange: () => { replay.unit = unitSel.value; unitSel.blur(); } },
    el('option', { value: 'message' }, 'by message'), el('option', { value: 'event' }, 'by event'));
  const pos = el('span', { class: 'replay-pos', 'data-testid': 'replay-pos' });
  const bar = el('span', { class: 'replay-bar', 'data-testid': 'replay-bar', hidden: true },
    btn('replay-reset', '↺', 'reset (R)', () => replay.reset()),
    btn('replay-prev', '◀', 'step back (←, Page Up)', () => replay.back()),
    play,
    btn('replay-next', '▶|', 'step forward (Space, →, Page Down)', () => replay.forward()),
    exSel, unitSel, pos);
  let exKey = '';
  replay.subscribe(() => {
    bar.hidden = !replay.active;
    toggle.classList.toggle('on', replay.active);
    toggle.textContent = replay.active ? 'Exit replay' : 'Replay';
    play.textContent = replay.playing ? '⏸' : '▶';
    const xs = replay.exchanges();
    if (xs.join() !== exKey) {
      exKey = xs.join();
      exSel.replaceChildren(el('option', { value: '' }, 'exchange…'), ...xs.map((x) => el('option', { value: x }, `#${x}`)));
    }
    const p = replay.position();
    exSel.value = p.exchange ? String(p.exchange) : '';
    pos.textContent = `step ${p.step}/${replay.all.length}` + (p.exchange ? ` · #${p.exchange} event ${p.exStep}` : '');
    pos.title = `step ${p.step} of ${replay.all.length}` + (p.exchange ? `; event ${p.exStep} of exchange #${p.exchange}` : '');
    pos.dataset.step = String(p.step);
  });
  void ctx;
  return el('span', { class: 'tool replay-tool' }, toggle, bar);
}

// Open at the step the URL names, once the trace (file or live ring) holds it.
function replayFromHash() {
  if (!/(^#|&)step=/.test(location.hash)) return;
  const want = location.hash;
  const tryNow = () => {
    if (replay.active || !store.events.length) return false;
    replay.all = store.events.slice();
    const n = replay.parseHash(want);
    if (n < 0) return false;
    replay.start(n);
    return true;
  };
  if (tryNow()) return;
  const off = store.subscribe('events', () => { if (tryNow()) off(); });
}

queueMicrotask(() => {
  registerTool({ id: 'replay', offline: true, render: replayControls });
  if (window.oscoreLab) window.oscoreLab.replay = replay;
  replayFromHash();
});
