// The live feed: one WebSocket to /ws. Messages are tagged by kind: "event"
// (a batch of trace events, the ring first, then live), "state" (node
// panel), "scenario" (the configuration changed), "reset" (a new scenario
// cleared the bus) and "dropped" (events the server could not deliver).

// The status is "connecting" until the first socket opens, "live" while
// one is open, and "offline" from a close until a new socket opens.

export function connectLive(store, { onStatus } = {}) {
  let ws = null;
  let retry = 500;
  let timer = 0;
  let closed = false;
  const status = (s) => { document.body.dataset.live = s; onStatus?.(s); };
  status('connecting');
  function open() {
    timer = 0;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(`${proto}//${location.host}/ws`);
    ws.onopen = () => { retry = 500; status('live'); };
    const stats = (window.__wsStats = { msgs: 0, parseMs: 0, handleMs: 0, first: 0, last: 0 });
    ws.onmessage = (m) => {
      let msg;
      const t0 = performance.now();
      if (!stats.first) stats.first = t0;
      try { msg = JSON.parse(m.data); } catch { return; }
      const t1 = performance.now();
      stats.msgs++;
      stats.parseMs += t1 - t0;
      queueMicrotask(() => { stats.handleMs += performance.now() - t1; stats.last = performance.now(); });
      switch (msg.kind) {
        case 'event': store.addEvents(msg.events || []); break;
        case 'state': store.setState(msg.state); break;
        case 'scenario': store.setScenario(msg.scenario, msg.rev ?? 0, msg.epoch); break;
        case 'reset': store.reset(); break;
        case 'dropped': store.dropped += msg.count || 0; store.notice(msg.note || `lost ${msg.count} events`); break;
      }
    };
    ws.onclose = () => {
      if (closed) return;
      status('offline');
      timer = setTimeout(open, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }
  open();
  return { close: () => { closed = true; clearTimeout(timer); ws.onclose = null; ws.onmessage = null; ws.close(); } };
}
