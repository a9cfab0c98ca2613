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

registerView({ id: 'topology', title: 'Topology', mount: mountTopology });
registerView({ id: 'sequence', title: 'Sequence', mount: mountSequence, offline: true });
registerView({ id: 'inspector', title: 'Inspector', mount: mountInspector, offline: true });
registerView({ id: 'composer', title: 'Request', mount: mountComposer });
registerView({ id: 'nodes', title: 'Nodes', mount: mountNodePanel });

registerTool({
  id: 'scenario',
  render: (ctx) => {
    const sel = el('select', { 'data-testid': 'scenario-select', title: 'built-in scenarios' });
    for (const o of document.querySelectorAll('#builtin-list option')) sel.append(o.cloneNode(true));
    const btn = el('button', { type: 'button', 'data-testid': 'load-scenario', onclick: async () => {
      try {
        const res = await api.loadBuiltin(sel.value);
        store.setScenario(res.scenario, res.rev);
        ctx.status(`loaded ${sel.value}`);
      } catch (e) { ctx.status(e.message, true); }
    } }, 'Load');
    return el('span', { class: 'tool' }, sel, btn);
  },
});
registerTool({ id: 'save', label: 'Save scenario', title: 'download the current scenario as JSON',
  onClick: () => download(`${store.scenario?.name || 'scenario'}.json`, JSON.stringify(store.scenario, null, 2)) });
registerTool({
  id: 'open-scenario',
  render: (ctx) => {
    const inp = el('input', { type: 'file', accept: '.json,application/json', 'data-testid': 'scenario-file', hidden: true, onchange: async () => {
      const file = inp.files[0];
      if (!file) return;
      try {
        const res = await api.loadFile(await file.text());
        store.setScenario(res.scenario, res.rev);
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
registerTool({ id: 'export', label: 'Export trace', title: 'download the trace as JSON (secrets redacted)',
  onClick: async (ctx) => {
    try { download(`${store.scenario?.name || 'trace'}-trace.json`, JSON.stringify(await api.trace(false), null, 2)); } catch (e) { ctx.status(e.message, true); }
  } });
registerTool({
  id: 'open-trace',
  offline: true,
  render: (ctx) => {
    const inp = el('input', { type: 'file', accept: '.json,application/json', hidden: true, 'data-testid': 'trace-file', onchange: async () => {
      const file = inp.files[0];
      if (!file) return;
      try {
        ctx.live?.close();
        store.loadTrace(JSON.parse(await file.text()));
        document.body.dataset.mode = 'trace';
        ctx.status(`viewing ${file.name} (reload for the live lab)`);
      } catch (e) { ctx.status(e.message, true); }
    } });
    return el('span', { class: 'tool' }, inp, el('button', { type: 'button', onclick: () => inp.click() }, 'Open trace…'));
  },
});

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
  store.subscribe('notice', (t) => status(t, true));
  mountAll(document, ctx);
  if (mode === 'trace') {
    try { store.loadTrace(JSON.parse(inline.textContent)); } catch (e) { status(e.message, true); }
  } else {
    const initial = document.getElementById('scenario-data');
    if (initial) {
      try {
        const d = JSON.parse(initial.textContent);
        if (d?.scenario) store.setScenario(d.scenario, d.rev);
      } catch (e) { status(`app: initial scenario: ${e.message}`, true); }
    }
    ctx.live = connectLive(store, { onStatus: (s) => { const b = document.querySelector('[data-testid="live"]'); if (b) { b.textContent = s; b.dataset.state = s; } } });
  }
  deepLinks();
  window.oscoreLab = { store, api, ctx, registerView, registerTool };
  document.body.dataset.ready = '1';
}

// deepLinks keeps the selected message in the URL (#msg=SEQ), so a link
// points at one datagram, and selects it again when the page opens.
function deepLinks() {
  store.subscribe('select', (seq) => {
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
