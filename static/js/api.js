// The JSON API client. Errors come back as {error: "..."} with a 4xx/5xx
// code; request() turns them into thrown Errors carrying that text.

async function request(method, path, body, raw = false) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!res.ok) throw new Error(data?.error || `${method} ${path}: HTTP ${res.status}`);
  return data;
}

export const api = {
  scenarios: () => request('GET', '/api/scenarios'),
  loadBuiltin: (name) => request('POST', '/api/load', { builtin: name }),
  loadFile: (text) => request('POST', '/api/load', text, true),
  scenario: () => request('GET', '/api/scenario'),
  applyScenario: (sc) => request('PUT', '/api/scenario', sc),
  send: (step) => request('POST', '/api/send', step),
  state: () => request('GET', '/api/state'),
  trace: (secrets) => request('GET', `/api/trace${secrets ? '?include_secrets=1' : ''}`),
  setFaults: (link, faults) => request('POST', `/api/links/${encodeURIComponent(link)}/faults`, faults),
};
