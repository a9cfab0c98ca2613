// The lab's entry point. It registers the built-in views and toolbar tools,
// then runs live (API + WebSocket) or, when the page carries a trace JSON
// (<script type="application/json" id="trace-data">, as an HTML export
// would), as a viewer that needs no server.
import { store } from './store.js';
import { api } from './api.js';
import { registerView, registerTool, mountAll } from './registry.js';
import { connectLive } from './live.js';
import { mountSequence } from './sequence.js';
import { mountInspector } from './inspector.js';
import { mountTopology } from './topology.js';
import { mountComposer } from './composer.js';
import { mountNodePanel } from './nodepanel.js';
import { el, download } from './util.js';
import { replay } from './replay.js';
import { presenter } from './presenter.js';
import { quiz } from './quiz.js';
import { share } from './share.js';
import { mountCheck } from './check.js';
import { topoStage } from './topostage.js';
import { mountPackets } from './packets.js';

registerView({ id: 'topology', title: 'Topology', mount: mountTopology });
registerView({ id: 'sequence', title: 'Sequence', mount: mountSequence, offline: true });
registerView({ id: 'inspector', title: 'Inspector', mount: mountInspector, offline: true });
registerView({ id: 'composer', title: 'Request', mount: mountComposer });
registerView({ id: 'nodes', title: 'Nodes', mount: mountNodePanel });
registerView({ id: 'packets', title: 'Packets', mount: mountPackets, offline: true });
registerView({ id: 'check', title: 'Conformance check', mount: mountCheck, offline: true });

registerTool({
  id: 'scenario',
  render: (ctx) => {
    const sel = el('select', { 'data-testid': 'scenario-select', title: 'built-in scenarios' });
    for (const o of document.querySelectorAll('#builtin-list option')) sel.append(o.cloneNode(true));
    const btn = el('button', { type: 'button', 'data-testid': 'load-scenario', onclick: async () => {
      try {
        const res = await api.loadBuiltin(sel.value);
        store.setScenario(res.scenario, res.rev, res.epoch);
        ctx.status(`loaded ${sel.value}`);
      } catch (e) { ctx.status(e.message, true); }
    } }, 'Load');
    return el('span', { class: 'tool' }, sel, btn);
  },
});
registerTool({ id: 'save', menu: 'file', label: 'Save scenario', title: 'download the current scenario as JSON',
  onClick: () => download(`${store.scenario?.name || 'scenario'}.json`, JSON.stringify(store.scenario, null, 2)) });
registerTool({
  id: 'open-scenario',
  menu: 'file',
  render: (ctx) => {
    const inp = el('input', { type: 'file', accept: '.json,application/json', 'data-testid': 'scenario-file', hidden: true, onchange: async () => {
      const file = inp.files[0];
      if (!file) return;
      try {
        const res = await api.loadFile(await file.text());
        store.setScenario(res.scenario, res.rev, res.epoch);
        ctx.status(`loaded ${file.name}`);
      } catch (e) { ctx.status(e.message, true); }
      inp.value = '';
    } });
    return el('span', { class: 'tool' }, inp, el('button', { type: 'button', onclick: () => inp.click() }, 'Open scenario…'));
  },
});
registerTool({ id: 'run-steps', label: 'Run steps', title: 'send every step of the scenario in order',
  onClick: async (ctx) => {
    for (const st of store.scenario?.steps || []) {
      const { expect, repeat, name, ...step } = st;
      try { await api.send(step); } catch (e) { ctx.status(e.message, true); return; }
    }
    ctx.status('all steps sent');
  } });
// Export trace saves what the page shows: the live lab's trace (from the
// server, secrets redacted) or the file being viewed.
registerTool({ id: 'export', menu: 'file', label: 'Export trace', title: 'download the trace on screen as JSON (secrets redacted)', needsLive: false,
  onClick: async (ctx) => {
    try {
      const tr = store.mode === 'trace' ? share.current() : await api.trace(false);
      download(`${store.scenario?.name || 'trace'}-trace.json`, JSON.stringify(tr, null, 2));
    } catch (e) { ctx.status(e.message, true); }
  } });
registerTool({
  id: 'open-trace',
  offline: true,
  menu: 'file',
  render: (ctx) => {
    const inp = el('input', { type: 'file', accept: '.json,application/json', hidden: true, 'data-testid': 'trace-file', onchange: async () => {
      const file = inp.files[0];
      if (!file) return;
      try {
        viewTrace(ctx, JSON.parse(await file.text()), file.name);
      } catch (e) { ctx.status(e.message, true); }
      inp.value = '';
    } });
    return el('span', { class: 'tool' }, inp, el('button', { type: 'button', onclick: () => inp.click() }, 'Open trace…'));
  },
});

// viewTrace turns a live page into a viewer of tr: the feed closes, the
// live-only parts go inert (nothing edits the running lab), the badge says
// trace, and "back to the live lab" returns. Panels keep their places.
function viewTrace(ctx, tr, name) {
  if (replay.active) replay.stop();
  store.loadTrace(tr);
  ctx.live?.close();
  ctx.live = null;
  document.body.dataset.mode = 'trace';
  document.body.dataset.viewing = name;
  setBadge('trace', `trace: ${name}`);
  setAvailability();
  ctx.status(`viewing ${name}`);
}

// backToLive leaves the file: the feed reopens and sends the running
// scenario and the recent events again.
function backToLive(ctx) {
  if (replay.active) replay.stop();
  store.goLive();
  document.body.dataset.mode = 'live';
  delete document.body.dataset.viewing;
  ctx.live = connectLive(store, { onStatus: (s) => liveStatus(ctx, s) });
  ctx.status('back to the live lab');
}

function setBadge(state, title = '') {
  const b = document.querySelector('[data-testid="live"]');
  if (b) { b.textContent = state; b.dataset.state = state; b.title = title; }
}

// liveStatus follows the feed: the badge, the unreachable banner, and the
// errors of the outage, which a reconnect clears.
let wasOffline = false;
function liveStatus(ctx, s) {
  setBadge(s);
  if (s === 'offline' && !wasOffline) { wasOffline = true; ctx.status('the lab server is unreachable', true); }
  if (s === 'live' && wasOffline) { wasOffline = false; ctx.status('reconnected to the lab server'); }
  setAvailability();
}

// setAvailability makes the live-only parts (data-needs-live: editing,
// sending, server exports) inert while they cannot work, and shows the
// unreachable banner, which overlays the page so nothing moves.
function setAvailability() {
  const viewing = store.mode === 'trace';
  const offline = !viewing && document.body.dataset.live === 'offline';
  for (const n of document.querySelectorAll('[data-needs-live]')) n.inert = viewing || offline;
  const banner = document.querySelector('[data-testid="offline-banner"]');
  if (banner) banner.hidden = !offline;
  const back = document.querySelector('[data-testid="back-to-live"]');
  if (back) { back.classList.toggle('shown', viewing); back.inert = !viewing; back.title = viewing ? `leave ${document.body.dataset.viewing || 'the file'} for the running lab` : ''; }
}

function start() {
  const statusEl = document.querySelector('[data-testid="status"]');
  const status = (text, bad = false) => {
    if (!statusEl) return;
    statusEl.textContent = text;
    statusEl.className = `status ${bad ? 'bad' : 'good'}`;
  };
  const inline = document.getElementById('trace-data');
  const mode = inline ? 'trace' : 'live';
  document.body.dataset.mode = mode;
  store.mode = mode;
  const ctx = { store, api, status, mode, live: null };
  ctx.viewTrace = (tr, name) => viewTrace(ctx, tr, name);
  store.subscribe('notice', (t) => status(t, true));
  if (mode === 'live') {
    // Both exist from the start (the button hidden, the banner out of
    // flow), so entering and leaving them moves no panel.
    document.querySelector('[data-testid="live"]')?.after(el('button', { type: 'button', class: 'back-to-live', 'data-testid': 'back-to-live', inert: true, onclick: () => backToLive(ctx) }, 'back to the live lab'));
    document.body.append(el('div', { class: 'offline-banner', role: 'alert', 'data-testid': 'offline-banner', hidden: true },
      'The lab server is unreachable. Editing, sending and server exports are off; the page reconnects by itself.'));
  }
  mountAll(document, ctx);
  if (mode === 'trace') {
    try { store.loadTrace(JSON.parse(inline.textContent)); } catch (e) { status(e.message, true); }
  } else {
    const initial = document.getElementById('scenario-data');
    if (initial) {
      try {
        const d = JSON.parse(initial.textContent);
        if (d?.scenario) store.setScenario(d.scenario, d.rev, d.epoch);
      } catch (e) { status(`app: initial scenario: ${e.message}`, true); }
    }
    ctx.live = connectLive(store, { onStatus: (s) => liveStatus(ctx, s) });
  }
  setAvailability();
  deepLinks();
  window.oscoreLab = { store, api, ctx, registerView, registerTool };
  document.body.dataset.ready = '1';
}

// deepLinks keeps the selected message in the URL (#msg=SEQ), so a link
// points at one datagram, and selects it again when the page opens.
function deepLinks() {
  store.subscribe('select', (seq) => {
    if (document.body.dataset.replay === '1') return; // replay writes its own #ex=..&step=..
    history.replaceState(null, '', seq ? `#msg=${seq}` : location.pathname + location.search);
  });
  // A link inside the page (a check report's case) changes the hash only.
  window.addEventListener('hashchange', () => {
    const seq = Number((location.hash.match(/msg=(\d+)/) || [])[1]);
    if (seq && store.bySeq.has(seq) && store.selected !== seq) store.select(seq);
  });
  const want = Number((location.hash.match(/msg=(\d+)/) || [])[1]);
  if (!want) return;
  const off = store.subscribe('events', () => {
    if (store.bySeq.has(want)) { off(); store.select(want); }
  });
}

start();
