// The request composer: method, URI, payload, the proxies to route through,
// the contexts the client applies (innermost first), CON/NON, Observe; send
// once or repeatedly. It posts a scenario.Step to /api/send. A scenario
// with a group observation (multicast_notifications) also gets a button
// that runs it (POST /api/multicast).
import { el } from './util.js';

export function mountComposer(root, ctx) {
  const { store, api, status } = ctx;
  const f = {
    from: el('select', { 'data-testid': 'comp-from' }),
    method: el('select', { 'data-testid': 'comp-method' }, ...['GET', 'POST', 'PUT', 'DELETE', 'FETCH'].map((m) => el('option', {}, m))),
    uri: el('input', { type: 'text', size: 34, value: 'coap://server/hello', 'data-testid': 'comp-uri' }),
    payload: el('input', { type: 'text', size: 12, placeholder: 'payload', 'data-testid': 'comp-payload' }),
    route: el('input', { type: 'text', size: 10, placeholder: 'P1, P2', title: 'proxies to traverse, first = next hop', 'data-testid': 'comp-route' }),
    style: el('select', { 'data-testid': 'comp-style' }, ...[['', 'default'], ['proxy-scheme', 'Proxy-Scheme'], ['proxy-uri', 'Proxy-Uri'], ['reverse', 'reverse']].map(([v, t]) => el('option', { value: v }, t))),
    contexts: el('input', { type: 'text', size: 22, placeholder: 'CTX_C_S, CTX_C_P', title: 'contexts the client applies, innermost (end-to-end) first', 'data-testid': 'comp-contexts' }),
    type: el('select', { 'data-testid': 'comp-type' }, el('option', {}, 'CON'), el('option', {}, 'NON')),
    observe: el('select', { 'data-testid': 'comp-observe' }, ...[['', 'no Observe'], ['register', 'Observe on'], ['deregister', 'Observe off']].map(([v, t]) => el('option', { value: v }, t))),
    repeat: el('input', { type: 'number', min: 1, max: 1000, value: 1, style: { width: '4em' }, 'data-testid': 'comp-repeat' }),
  };
  const result = el('div', { class: 'result', 'data-testid': 'send-result' });
  const ctxBox = el('span', { class: 'ctx-picks' });
  let busy = false;

  function step() {
    const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
    const st = { from: f.from.value, method: f.method.value, uri: f.uri.value.trim() };
    if (f.payload.value) st.payload = f.payload.value;
    if (list(f.route.value).length) st.route = list(f.route.value);
    if (f.style.value) st.proxy_style = f.style.value;
    if (list(f.contexts.value).length) st.contexts = list(f.contexts.value);
    if (f.type.value !== 'CON') st.type = f.type.value;
    if (f.observe.value) st.observe = f.observe.value;
    return st;
  }

  async function send() {
    if (busy) return;
    busy = true;
    sendBtn.disabled = true;
    const n = Math.max(1, Math.min(1000, Number(f.repeat.value) || 1));
    let ok = 0, last = null;
    try {
      for (let i = 0; i < n; i++) {
        last = await api.send(step());
        if (last.ok) ok++;
      }
      result.className = `result ${last.ok ? 'good' : 'bad'}`;
      result.textContent = `${n > 1 ? `${ok}/${n} ok · last: ` : ''}#${last.exchange} ${last.code || 'no response'} ${last.payload ? `“${last.payload}”` : ''} ` +
        `${(last.layers || []).length ? `layers ${last.layers.join(', ')}` : ''} ${last.problem ? `· ${last.problem}` : ''} · ${(last.duration_ns / 1e6).toFixed(1)} ms`;
      result.dataset.code = last.code || '';
    } catch (e) {
      result.className = 'result bad';
      result.textContent = e.message;
      status(e.message, true);
    } finally {
      busy = false;
      sendBtn.disabled = false;
    }
  }
  const sendBtn = el('button', { type: 'button', class: 'primary', 'data-testid': 'send', onclick: send }, 'Send');

  // The group observation: registrations, informative responses, the
  // notifications sent once to the group and, through a proxy, relayed to
  // each client. Shown only when the scenario has one.
  const mnResult = el('div', { class: 'result', 'data-testid': 'mn-result', role: 'status' });
  function clearGroupResult(text = '') {
    mnResult.className = 'result';
    mnResult.textContent = text;
    delete mnResult.dataset.ok;
  }
  async function runGroupObservation() {
    mnBtn.disabled = true;
    clearGroupResult('running the group observation…');
    try {
      const res = await api.multicast();
      const bad = res.filter((r) => !r.ok);
      mnResult.className = `result ${bad.length ? 'bad' : 'good'}`;
      mnResult.dataset.ok = bad.length ? '0' : '1';
      mnResult.textContent = res.map((r) => `${r.step.replace(/^multicast notifications: /, '')}: ${r.ok ? 'ok' : 'FAILED'}` +
        `${r.payload ? ` “${r.payload}”` : ''}${r.notifications ? ` +${r.notifications} notif.` : ''}${r.problem ? ` — ${r.problem}` : ''}`).join(' · ');
    } catch (e) {
      mnResult.className = 'result bad';
      mnResult.dataset.ok = '0';
      mnResult.textContent = `group observation: ${e.message}`;
      status(e.message, true);
    } finally {
      mnBtn.disabled = false;
      mnResult.scrollIntoView({ block: 'nearest' });
    }
  }
  const mnBtn = el('button', { type: 'button', 'data-testid': 'run-group-observation', onclick: runGroupObservation,
    title: 'run the scenario\'s multicast_notifications: each client registers, the server sends each notification once to the group (simulated multicast), a proxy relays it to each client' },
  'Run group observation');
  const mnInfo = el('span', { class: 'mn-info' });
  const mnBox = el('div', { class: 'mn-run', 'data-testid': 'group-observation', hidden: true }, mnBtn, mnInfo);

  function fillGroupObservation(sc) {
    const mn = sc.multicast_notifications;
    mnBox.hidden = !mn;
    if (!mn) { clearGroupResult(); return; }
    const clients = (mn.clients || []).map((c) => c.node).join(', ');
    mnInfo.textContent = `Group observation of /${mn.resource} on ${mn.server}: ${clients} ${mn.proxy ? `register through ${mn.proxy}, which relays` : 'listen to'} the notifications sent to ${mn.group}.`;
  }

  // Prefill from the scenario's first step so a loaded preset is one click away.
  function fill() {
    const sc = store.scenario;
    if (!sc) return;
    fillGroupObservation(sc);
    const clients = (sc.nodes || []).filter((n) => n.role === 'client').map((n) => n.id);
    const cur = f.from.value;
    f.from.replaceChildren(...clients.map((id) => el('option', {}, id)));
    if (clients.includes(cur)) f.from.value = cur;
    const names = (sc.contexts || []).map((c) => c.name);
    ctxBox.replaceChildren(...names.map((n) => el('button', { type: 'button', class: 'small chip-btn', style: `--c:${store.colorOf(n)}`, title: 'append to the context list',
      onclick: () => { f.contexts.value = [...f.contexts.value.split(',').map((x) => x.trim()).filter(Boolean), n].join(', '); } }, n)));
    if (sc.name !== fill.last) {
      fill.last = sc.name;
      clearGroupResult();
      const s0 = (sc.steps || [])[0];
      if (s0) {
        f.from.value = s0.from;
        f.method.value = s0.method || 'GET';
        f.uri.value = s0.uri || '';
        f.payload.value = s0.payload || '';
        f.route.value = (s0.route || []).join(', ');
        f.style.value = s0.proxy_style || '';
        f.contexts.value = (s0.contexts || []).join(', ');
        f.type.value = s0.type || 'CON';
        f.observe.value = s0.observe || '';
      }
    }
  }
  store.subscribe('scenario', fill);
  const lab = (t, x) => el('label', {}, el('span', {}, t), x);
  root.append(el('div', { class: 'composer', 'data-testid': 'composer' },
    lab('from', f.from), lab('method', f.method), lab('URI', f.uri), lab('payload', f.payload), lab('route', f.route), lab('proxy style', f.style),
    lab('contexts', f.contexts), ctxBox, lab('type', f.type), lab('observe', f.observe), lab('× times', f.repeat), sendBtn), result, mnBox, mnResult);
  fill();
  return { send, step };
}
