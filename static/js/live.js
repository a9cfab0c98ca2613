// The live feed: one WebSocket to /ws. Messages are tagged by kind: "event"
// (a batch of trace events, the ring first, then live), "state" (node
// panel), "scenario" (the configuration changed), "reset" (a new scenario
// cleared the bus) and "dropped" (events the server could not deliver).

export function connectLive(store, { onStatus } = {}) {
  let ws = null;
  let retry = 500;
  const status = (s) => { onStatus?.(s); document.body.dataset.live = s; };
  function open() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/ws`);
    status('connecting');
    ws.onopen = () => { retry = 500; status('live'); };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      switch (msg.kind) {
        case 'event': store.addEvents(msg.events || []); break;
        case 'state': store.setState(msg.state); break;
        case 'scenario': store.setScenario(msg.scenario); break;
        case 'reset': store.reset(); break;
        case 'dropped': store.dropped += msg.count || 0; store.notice(msg.note || `lost ${msg.count} events`); break;
      }
    };
    ws.onclose = () => {
      status('offline');
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }
  open();
  return { close: () => { ws.onclose = null; ws.close(); } };
}
