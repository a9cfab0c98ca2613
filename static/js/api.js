// The JSON API client. Errors come back as {error: "..."} with a 4xx/5xx
// code; request() turns them into thrown Errors carrying that text, the
// status and the whole body (a 412 carries the running scenario).

async function request(method, path, body, raw = false, ifMatch = '') {
  const init = { method, headers: {} };
  if (ifMatch) init.headers['If-Match'] = ifMatch;
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) throw Object.assign(new Error(data?.error || `${method} ${path}: HTTP ${res.status}`), { status: res.status, data });
  return data;
}

export const api = {
  scenarios: () => request('GET', '/api/scenarios'),
  loadBuiltin: (name) => request('POST', '/api/load', { builtin: name }),
  loadFile: (text) => request('POST', '/api/load', text, true),
  scenario: () => request('GET', '/api/scenario'),
  // version ("epoch.rev", store.version()) makes the change conditional:
  // the server refuses it with 412 when another configuration runs.
  applyScenario: (sc, version) => request('PUT', '/api/scenario', sc, false, version ? `"${version}"` : ''),
  send: (step) => request('POST', '/api/send', step),
  // multicast runs the scenario's group observation (multicast_notifications).
  multicast: () => request('POST', '/api/multicast'),
  state: () => request('GET', '/api/state'),
  trace: (secrets) => request('GET', `/api/trace${secrets ? '?include_secrets=1' : ''}`),
  // replay sends the recorded datagram event seq again on its link;
  // bytes (its hex) guard against a trace the server has renumbered.
  replay: (seq, bytes) => request('POST', '/api/replay', { seq, bytes }),
  setFaults: (link, faults, version) => request('POST', `/api/links/${encodeURIComponent(link)}/faults`, faults, false, version ? `"${version}"` : ''),
};
