// The conformance check panel: runs `oscore-lab check` from the page
// (POST /api/check, docs/web-api.md) against a target and a role, fills a
// table as the cases finish (GET /api/check/{id} polled), and opens a
// case's exchange in the sequence diagram and inspector.
import { el } from './util.js';

const ROLES = ['server', 'forward-proxy', 'oscore-proxy', 'reverse-proxy'];
const POLL_MS = 300;

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  const res = await fetch(path, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.error || `${method} ${path}: HTTP ${res.status}`);
  return data;
}

export function mountCheck(root, ctx) {
  if (ctx.mode === 'trace') { root.remove(); return; }
  const target = el('input', { 'data-testid': 'check-target', size: 24, placeholder: 'udp://127.0.0.1:5683', title: 'udp://HOST:PORT (loopback unless the lab runs with serve -expose)' });
  const role = el('select', { 'data-testid': 'check-role' }, ...ROLES.map((r) => el('option', { value: r }, r)));
  const btn = el('button', { type: 'button', 'data-testid': 'check-run' }, 'Run check');
  const status = el('span', { class: 'check-status', 'data-testid': 'check-status' });
  const tbody = el('tbody');
  const table = el('table', { class: 'check-table', 'data-testid': 'check-table' },
    el('thead', {}, el('tr', {}, ...['result', 'level', 'case', 'section', 'reason'].map((h) => el('th', {}, h)))), tbody);
  root.append(el('div', { class: 'check-form' }, target, role, btn, status), table);

  let runID = '';
  // The default target: the lab's own (first) server node.
  const fillDefault = async () => {
    if (target.value) return;
    try {
      const nodes = await call('GET', '/api/nodes');
      const s = (nodes || []).find((n) => (n.Role || n.role) === 'server');
      if (s && !target.value) target.value = `udp://${s.Addr || s.addr}`;
    } catch { /* the server is unreachable: the user types a target */ }
  };
  fillDefault();
  ctx.store.subscribe('scenario', () => { if (ctx.store.mode === 'live' && !runID) { target.value = ''; fillDefault(); } });

  const row = (c) => el('tr', { 'data-testid': 'check-row', 'data-case': c.id, 'data-result': c.result },
    el('td', { class: `check-${c.result}` }, c.result), el('td', {}, c.level),
    el('td', {}, el('a', { href: '#', 'data-testid': 'check-open', title: c.requirement, onclick: (e) => { e.preventDefault(); openCase(c); } }, c.id)),
    el('td', {}, c.section), el('td', {}, c.reason));

  const show = (run) => {
    for (let i = tbody.children.length; i < run.cases.length; i++) tbody.append(row(run.cases[i]));
    const s = run.summary;
    status.dataset.state = run.state;
    status.textContent = run.state === 'running' ? `running: ${run.cases.length} of ${run.total} cases`
      : run.state === 'failed' ? `failed: ${run.error}`
      : `${s.pass} passed, ${s.fail} failed, ${s.skip} skipped in ${run.elapsed}; ${s.ok ? 'every MUST case passed or was skipped' : `${s.must_failed} MUST case(s) failed`}`;
  };

  const poll = async (id) => {
    let run;
    try { run = await call('GET', `/api/check/${id}`); } catch (e) { status.textContent = e.message; btn.disabled = false; return; }
    if (id !== runID) return;
    show(run);
    if (run.state === 'running') setTimeout(() => poll(id), POLL_MS);
    else btn.disabled = false;
  };

  btn.addEventListener('click', async () => {
    btn.disabled = true;
    tbody.replaceChildren();
    try {
      const run = await call('POST', '/api/check', { target: target.value.trim(), role: role.value });
      runID = run.id;
      show(run);
      poll(run.id);
    } catch (e) {
      status.dataset.state = 'refused';
      status.textContent = e.message;
      btn.disabled = false;
    }
  });

  // openCase shows the run's trace (case N is exchange N) and selects the
  // case's first datagram, so the inspector opens on it.
  async function openCase(c) {
    let tr;
    try { tr = await call('GET', `/api/check/${runID}/trace`); } catch (e) { status.textContent = e.message; return; }
    ctx.viewTrace(tr, `check ${runID}`);
    const first = (tr.events || []).find((ev) => ev.exchange === c.exchange && ev.type === 'datagram')
      || (tr.events || []).find((ev) => ev.exchange === c.exchange);
    if (first) ctx.store.select(first.seq);
  }
}

