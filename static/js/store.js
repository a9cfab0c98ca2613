// The event store: every trace event in arrival order, the datagram rows the
// sequence diagram draws, the selected message, and topics views subscribe
// to. Notifications are batched to one per animation frame so 1,000 events a
// second cost one DOM update per frame. Extensions (replay, presenter, quiz,
// comparison) read and drive the lab through this store only.
import { pick, hexToBytes } from './util.js';
import { parseCoap } from './coap.js';

// Okabe-Ito: a palette that stays distinct for the common colour-vision
// deficiencies. Every chip also carries its context name as text.
export const palette = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#999999'];

export function createStore() {
  const listeners = new Map();
  const pending = new Set();
  let frame = 0;

  const s = {
    events: [],          // raw trace events, in seq order
    rows: [],            // datagram, error and fault rows for the sequence diagram
    bySeq: new Map(),    // seq -> row
    exchanges: new Map(),// exchange id -> {id, rows, hasError, errors, decisions}
    scenario: null,      // the current scenario (editor model)
    nodes: [],           // [{id, role, addr}]
    contexts: [],        // trace contexts (offline) or scenario contexts
    state: null,         // LabState from the server
    selected: null,      // seq of the selected row
    dropped: 0,          // events the server could not deliver
    mode: 'live',        // 'live' | 'trace'
    rev: 0,              // configuration revision last shown
    epoch: '',           // the server process that revision belongs to
    stacks: new Map(),   // `${exchange}|${request|response}` -> open layer entries
    ctxColor: new Map(),
    seenNodes: new Set(), // node ids met in rows (a trace may name nodes its scenario lacks)
    lifelines: [],       // lifeline order so far (nodeOrder), kept until reset
    lifeRank: new Map(), // node id -> role rank when its lifeline appeared
    groups: new Set(),   // node ids of groups (a group link's simulated multicast address)
    fans: [],            // group requests: {send, group, client, token, copies, replies}
    fanRev: 0,           // bumped when a fan gains a copy or a reply (rows drawn earlier name them)
    groupLayers: new Map(), // ciphertext -> layer entry, for Group OSCORE layers lately applied

    subscribe(topic, fn) {
      if (!listeners.has(topic)) listeners.set(topic, new Set());
      listeners.get(topic).add(fn);
      return () => listeners.get(topic).delete(fn);
    },
    /** emit notifies topic subscribers on the next animation frame. */
    emit(topic) {
      pending.add(topic);
      if (!frame) frame = requestAnimationFrame(flush);
    },
    /** emitNow notifies at once (tests, synchronous flows). */
    emitNow(topic, arg) {
      const t0 = performance.now();
      for (const fn of listeners.get(topic) || []) {
        try { fn(arg, s); } catch (e) { console.error(`store: ${topic} listener:`, e); }
      }
      const st = (window.__storeStats ||= {});
      st[topic] = (st[topic] || 0) + performance.now() - t0;
    },

    reset() {
      s.events = []; s.rows = []; s.bySeq = new Map(); s.exchanges = new Map(); s.seenNodes = new Set();
      s.lifelines = []; s.lifeRank = new Map(); s.groups = new Set(); s.fans = []; s.fanRev++; s.groupLayers = new Map();
      s.stacks = new Map(); s.selected = null; s.dropped = 0;
      s.emitNow('reset');
      s.emit('events');
    },

    /** addEvents appends a batch of trace events (ignoring ones already seen). */
    addEvents(batch) {
      let last = s.events.length ? s.events[s.events.length - 1].seq : 0;
      for (const raw of batch) {
        const ev = normalEvent(raw);
        if (!ev) continue; // bus notices (reset, losses) arrive as their own message kinds
        if (ev.seq <= last) {
          if (ev.seq !== 1) continue; // already seen (ring and live overlap)
          s.reset(); // the bus restarted its numbering: a new scenario
        }
        last = ev.seq;
        s.events.push(ev);
        ingest(ev);
      }
      s.emit('events');
    },

    /**
     * setScenario shows a configuration; rev (when given) drops stale ones.
     * Revisions count within one server process (epoch): a new epoch's
     * scenario is taken whatever its revision, and the old process's
     * events go with it.
     */
    setScenario(sc, rev, epoch) {
      if (typeof epoch === 'string' && epoch && epoch !== s.epoch) {
        const restarted = s.epoch !== '';
        s.epoch = epoch;
        s.rev = typeof rev === 'number' ? rev : 0;
        if (restarted) { s.scenarioText = null; s.reset(); }
      } else if (typeof rev === 'number') {
        if (rev < s.rev) return;
        s.rev = rev;
      }
      // The API reply and the WebSocket both announce a change: emit once,
      // so forms being edited are not rebuilt for nothing.
      const text = JSON.stringify(sc ?? null);
      if (text === s.scenarioText) return;
      s.scenarioText = text;
      s.scenario = sc;
      s.nodes = (sc?.nodes || []).map((n) => ({ id: n.id, role: n.role, addr: n.addr || n.listen || '' }));
      if (s.mode === 'live') s.contexts = sc?.contexts || [];
      assignColors();
      s.emit('scenario');
    },
    /** version names the configuration shown, for If-Match ('' before any). */
    version() { return s.epoch ? `${s.epoch}.${s.rev}` : ''; },
    setState(st) { s.state = st; s.emit('state'); },
    select(seq) { s.selected = seq; s.emitNow('select', seq); },
    notice(text) { s.emitNow('notice', text); },

    /** goLive leaves a trace file for the live feed, which refills the store. */
    goLive() {
      s.mode = 'live'; s.scenarioText = null; s.state = null;
      s.reset();
      s.emit('state');
    },

    /** loadTrace shows a trace JSON v1 (a file, or inlined by an HTML export). */
    loadTrace(tr) {
      if (!tr || tr.format !== 'oscore-lab-trace') throw new Error('store: not an oscore-lab trace (format field)');
      s.mode = 'trace';
      s.scenarioText = null; s.state = null; // the live lab's, not the file's
      s.reset();
      s.emit('state');
      // The envelope as docs/trace-format.md types it: a file may hold
      // anything, and the views walk these lists.
      // A trace saved from the live page carries the whole scenario
      // (links, reverse routes, steps), which the topology still draws.
      const sc = tr.scenario && typeof tr.scenario === 'object' ? tr.scenario : {};
      const named = (v) => objects(v).filter((x) => typeof x.id === 'string' && x.id);
      const scNodes = named(sc.nodes).map((n) => ('reverse' in n ? { ...n, reverse: objects(n.reverse) } : n));
      const nodes = named(tr.nodes).length ? named(tr.nodes) : scNodes;
      s.nodes = nodes.map((n) => ({ id: n.id, role: str(n.role), addr: str(n.addr) }));
      s.scenario = { ...sc, name: str(sc.name), title: str(sc.title), section: str(sc.section), explanation: str(sc.explanation),
        nodes: scNodes.length ? scNodes : nodes };
      if ('links' in sc) s.scenario.links = objects(sc.links).map((l) => ({ ...l, faults: objects(l.faults) }));
      for (const k of ['steps', 'contexts']) if (k in sc) s.scenario[k] = objects(sc[k]);
      s.contexts = objects(tr.contexts).filter((c) => typeof c.name === 'string').map((c) => ({ ...c, endpoints: objects(c.endpoints) }));
      assignColors();
      s.emit('scenario');
      s.addEvents(tr.events || []);
    },

    colorOf(ctx) {
      if (!s.ctxColor.has(ctx)) s.ctxColor.set(ctx, palette[s.ctxColor.size % palette.length]);
      return s.ctxColor.get(ctx);
    },
    /**
     * nodeOrder lists lifelines. History does not move: a lifeline keeps its
     * place among the others until the store resets (a new scenario), a
     * node removed from the scenario keeps its lifeline while rows name it
     * (isGone tells), and a new node is placed by its role without
     * reordering the lifelines already drawn.
     */
    nodeOrder() {
      // Clients on the left, then proxies, then servers and external
      // endpoints, as the draft draws its figures; scenario order within.
      // A group sits between the proxies and its members.
      const rank = { client: 0, proxy: 1, group: 1.5, server: 2, external: 3 };
      const want = s.nodes.map((n, i) => [rank[n.role] ?? 2, i, n.id]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
      for (const id of s.seenNodes) if (!want.includes(id)) want.push(id);
      const rankOf = (id) => { const n = s.nodes.find((x) => x.id === id); return n ? rank[n.role] ?? 2 : s.groups.has(id) ? rank.group : s.lifeRank.get(id) ?? 4; };
      const ids = s.lifelines.filter((id) => want.includes(id));
      for (const id of want) {
        if (ids.includes(id)) continue;
        // After the last lifeline of the same or a lower rank.
        const r = rankOf(id);
        let at = 0;
        for (let i = 0; i < ids.length; i++) if (rankOf(ids[i]) <= r) at = i + 1;
        ids.splice(at, 0, id);
      }
      for (const id of ids) if (!s.lifeRank.has(id)) s.lifeRank.set(id, rankOf(id));
      s.lifelines = ids;
      return ids.slice();
    },
    /** isGone tells a lifeline whose node the scenario no longer has. */
    isGone(id) { return s.mode === 'live' && !s.nodes.some((n) => n.id === id); },
  };

  function flush() {
    frame = 0;
    const topics = [...pending];
    pending.clear();
    for (const t of topics) s.emitNow(t);
  }

  function assignColors() {
    for (const c of s.contexts) s.colorOf(c.name);
  }

  function exchangeOf(id) {
    if (!s.exchanges.has(id)) s.exchanges.set(id, { id, rows: [], hasError: false, errors: [], decisions: [], events: [], byBytes: new Map() });
    return s.exchanges.get(id);
  }

  // normalEvent returns ev with the fields the views compare as numbers or
  // write into markup coerced to their types in docs/trace-format.md: a
  // trace file may come from anywhere, and a string in place of a number
  // must not become markup. Events without a positive sequence number
  // give null.
  function normalEvent(ev) {
    if (!ev || typeof ev !== 'object' || !isCount(ev.seq) || ev.seq === 0) return null;
    const n = { ...ev };
    for (const k of ['exchange', 'hop', 'layer']) if (k in n) n[k] = isCount(n[k]) ? n[k] : 0;
    for (const k of ['type', 'time', 'node', 'link', 'from', 'to', 'dir', 'bytes', 'note']) if (k in n && typeof n[k] !== 'string') n[k] = '';
    // A layer report's lists, which the inspector, presenter, quiz and
    // compare walk: options keep their objects, notes their strings.
    const le = n.layer_event, rep = le?.report;
    if (rep && typeof rep === 'object' && ('options' in rep || 'notes' in rep)) {
      const r = { ...rep };
      if ('options' in r) r.options = objects(r.options);
      if ('notes' in r) r.notes = Array.isArray(r.notes) ? r.notes.filter((x) => typeof x === 'string') : [];
      n.layer_event = { ...le, report: r };
    }
    return n;
  }
  function isCount(v) { return Number.isSafeInteger(v) && v >= 0; }
  function str(v) { return typeof v === 'string' ? v : ''; }
  function objects(v) { return Array.isArray(v) ? v.filter((x) => x && typeof x === 'object') : []; }

  function addRow(row) {
    for (const id of [row.from, row.to, row.node]) if (id) s.seenNodes.add(id);
    row.index = s.rows.length;
    s.rows.push(row);
    s.bySeq.set(row.seq, row);
    if (row.exchange) exchangeOf(row.exchange).rows.push(row);
  }

  // ingest correlates one event: layer events push and pop a per-exchange
  // stack, and each datagram takes a snapshot of the layers on the wire
  // (the exports find the same stacks from the bytes, trace.DatagramLayers;
  // web/jsagree_test.go compares the two).
  function ingest(ev) {
    const x = ev.exchange || 0;
    if (x) exchangeOf(x).events.push(ev);
    switch (ev.type) {
      case 'layer': {
        const le = pick(ev, 'layer_event', 'Layer_') || {};
        const rep = pick(le, 'report', 'Report') || {};
        const action = pick(le, 'action', 'Action');
        const kind = ev.dir || pick(rep, 'message') || 'request';
        const key = `${x}|${kind}`;
        if (!s.stacks.has(key)) s.stacks.set(key, []);
        const st = s.stacks.get(key);
        const ctx = str(pick(rep, 'context')) || '?';
        s.colorOf(ctx);
        const grp = pick(rep, 'group');
        if (action === 'applied') {
          const entry = { ctx, layer: ev.layer, applied: ev, removed: null };
          st.push(entry);
          if (grp) groupApplied(entry, str(pick(rep, 'ciphertext')));
        } else {
          // Every member removes the layer of one group request, each from
          // its own copy: the entry keeps them all.
          if (grp) s.groupLayers.get(str(pick(rep, 'ciphertext')))?.removals.push(ev);
          // The layer whose ciphertext this removal read, else the last one
          // of the context: members of a group share a context name and
          // protect their responses at the same time.
          const cipher = str(pick(rep, 'ciphertext'));
          let idx = -1;
          if (cipher && st.length > 1) idx = st.findLastIndex((e) => e.ctx === ctx && cipherOf(e) === cipher);
          if (idx < 0) for (let i = st.length - 1; i >= 0; i--) if (st[i].ctx === ctx) { idx = i; break; }
          if (idx >= 0) { st[idx].removed = ev; st.splice(idx, 1); }
          else if (action === 'removed') adoptRemoved(x, kind, { ctx, layer: ev.layer, applied: null, removed: ev }, str(pick(rep, 'ciphertext')));
        }
        break;
      }
      case 'datagram': {
        const bytes = hexToBytes(ev.bytes || '');
        const parsed = parseCoap(bytes, 'udp');
        const kind = ev.dir === 'response' ? 'response' : ev.dir === 'request' ? 'request' : '';
        // A retransmitted, duplicated or replayed datagram carries the layers
        // of its first copy, even if the receiver has removed them since.
        const xe = x ? exchangeOf(x) : null;
        const again = xe?.byBytes.get(ev.bytes);
        const layers = again || (kind ? withoutSiblings([...(s.stacks.get(`${x}|${kind}`) || [])], ev.bytes) : []);
        if (xe && !again && layers.length) xe.byBytes.set(ev.bytes, layers);
        const inner = layers.length ? str(pick(pick(pick(layers[0].applied || layers[0].removed, 'layer_event') || {}, 'report') || {}, 'inner_code')) : '';
        const row = {
          kind: 'datagram', seq: ev.seq, ev, exchange: x, hop: ev.hop, from: ev.from, to: ev.to, link: ev.link,
          dir: ev.dir || '', layers, code: parsed.code, type: parsed.type, innerCode: inner || '', size: bytes.length, parsed,
        };
        if (ev.multicast && typeof ev.multicast === 'object') fanRow(row, ev.multicast);
        else if (kind === 'response' && s.fans.length) relayRow(row);
        if (/^[45]\./.test(row.code) || /^[45]\./.test(row.innerCode)) row.error = true;
        if (kind === 'response') s.stacks.delete(`${x}|request`);
        addRow(row);
        if (row.error && x) exchangeOf(x).hasError = true;
        break;
      }
      case 'error': {
        const er = pick(ev, 'error', 'Error') || {};
        addRow({ kind: 'error', seq: ev.seq, ev, exchange: x, node: ev.node, code: pick(er, 'code') || '', error: true,
          text: pick(er, 'reason', 'diagnostic') || '' });
        if (x) { const xe = exchangeOf(x); xe.hasError = true; xe.errors.push(ev); }
        break;
      }
      case 'fault': {
        const f = pick(ev, 'fault', 'Fault') || {};
        const frow = { kind: 'fault', seq: ev.seq, ev, exchange: x, node: ev.from || ev.node, from: ev.from, to: ev.to,
          text: `${pick(f, 'kind') || 'fault'} ${pick(f, 'detail') || ''}`.trim() };
        // A fault on a group link's copy or reply stays in its fan.
        if (s.groups.has(ev.from) || s.groups.has(ev.to)) frow.fan = s.fans.findLast((q) => q.group === ev.from || q.group === ev.to);
        addRow(frow);
        // A stripped datagram (an attacker's answer in clear) carries no
        // layer, whatever its sender applied; nobody will remove those.
        if (pick(f, 'kind') === 'strip' && x) {
          const xe = exchangeOf(x);
          const row = xe.rows.findLast((r) => r.kind === 'datagram' && r.link === ev.link && r.from === ev.from);
          if (row) { row.layers = []; row.innerCode = ''; row.error = /^[45]\./.test(row.code); xe.byBytes.delete(row.ev.bytes); }
          s.stacks.delete(`${x}|${ev.dir || 'response'}`);
        }
        break;
      }
      case 'decision':
        if (x) exchangeOf(x).decisions.push(ev);
        break;
      case 'notice':
        addRow({ kind: 'notice', seq: ev.seq, ev, exchange: x, node: ev.node, text: ev.note || '' });
        break;
    }
  }
  // groupApplied remembers a Group OSCORE layer by its ciphertext, which
  // every removal reports, so the removals by all members reach it; only
  // the latest few hundred are kept.
  function groupApplied(entry, cipher) {
    entry.removals = [];
    if (!cipher) return;
    s.groupLayers.set(cipher, entry);
    if (s.groupLayers.size > 512) s.groupLayers.delete(s.groupLayers.keys().next().value);
  }

  // withoutSiblings keeps, of the layers open in an exchange with Group
  // OSCORE layers or one context twice, those the datagram carries: each
  // member of a group protects its own response at the same time, and a
  // proxy wraps each in a layer of its own, but a datagram carries one of
  // each. They are found
  // from the bytes inwards: the outermost layer's ciphertext is in the
  // payload (RFC 8613 5; RFC 10021 4.1: followed by the encrypted
  // signature), each inner layer's in the plaintext around it.
  function withoutSiblings(layers, bytes) {
    if (layers.length < 2 || (!layers.some(isGroupLayer) && new Set(layers.map((e) => e.ctx)).size === layers.length)) return layers;
    const left = layers.slice();
    const out = [];
    let text = String(bytes || '').toLowerCase();
    while (left.length) {
      const i = left.findLastIndex((e) => { const c = cipherOf(e).toLowerCase(); return c && text.includes(c); });
      if (i < 0) break;
      const e = left.splice(i, 1)[0];
      out.unshift(e);
      text = str(pick(reportOf(e), 'plaintext')).toLowerCase();
    }
    return out.length ? out : layers;
  }
  function reportOf(e) { return pick(pick(e.applied || e.removed, 'layer_event') || {}, 'report') || {}; }
  function isGroupLayer(e) { return !!pick(reportOf(e), 'group'); }

  // relayRow places a response that a proxy relays in a fan: one from a
  // group request's member (groupcomm-proxy 5.4: one response to the client
  // per member's response), named after the member whose Group OSCORE layer
  // it carries, if any; or a notification the group link brought the proxy
  // (multicast-notifications-proxy 4: one copy per client, each with its
  // own Token, MID and Observe), which carries the sent notification's
  // layer.
  function relayRow(row) {
    for (let i = s.fans.length - 1; i >= Math.max(0, s.fans.length - 64); i--) {
      const f = s.fans[i];
      const relayed = f.send.dir === 'response'
        ? f.copies.some((c) => c.to === row.from) && carries(row, f.send.layers)
        : row.exchange && f.send.exchange === row.exchange && f.client === row.from;
      if (!relayed) continue;
      // A client may have removed the notification's layer before the
      // proxy's next copy went out: the copy carries it all the same.
      if (f.send.dir === 'response' && !f.send.layers.every((e) => row.layers.includes(e))) {
        row.layers = [...f.send.layers, ...row.layers.filter((e) => !f.send.layers.some((g) => g.ctx === e.ctx))];
        row.innerCode = f.send.innerCode;
      }
      row.fan = f;
      row.relay = true;
      const g = row.layers.find((e) => isGroupLayer(e) && e.applied);
      row.member = g ? g.applied.node : '';
      f.relays = (f.relays || 0) + 1;
      row.nth = f.relays;
      s.fanRev++;
      return;
    }
  }

  // carries tells whether a datagram holds the layers' ciphertext, in its
  // payload or inside the plaintext of one of its own layers.
  function carries(row, layers) {
    const texts = [String(row.ev.bytes || '').toLowerCase(), ...row.layers.map((e) => str(pick(reportOf(e), 'plaintext')).toLowerCase())];
    return layers.some((e) => { const c = cipherOf(e).toLowerCase(); return c && texts.some((t) => t.includes(c)); });
  }

  function cipherOf(e) {
    return str(pick(reportOf(e), 'ciphertext'));
  }

  // fanRow places a group link's datagram (trace Event.multicast) in its
  // fan: the one datagram sent to the group opens a fan; each copy the link
  // hands a member is that datagram again, with its layers; each member's
  // reply joins the fan of the request with its token sent by the client
  // it answers (RFC 7252 8.2), carrying only the layers that member applied.
  function fanRow(row, mc) {
    const group = str(mc.group), leg = str(mc.leg);
    if (!group) return;
    const of = isCount(mc.of) ? mc.of : 0;
    row.mc = { group, leg, copy: isCount(mc.copy) ? mc.copy : 0, of };
    const token = row.parsed.token || '';
    if (leg === 'send') {
      s.groups.add(group);
      const fan = { send: row, group, client: row.from, token, of, copies: [], replies: [] };
      row.fan = fan;
      s.fans.push(fan);
      return;
    }
    // Only recent fans are searched: a reply long after its request has
    // no fan to join, and a long trace costs no quadratic time.
    let fan;
    for (let i = s.fans.length - 1; i >= Math.max(0, s.fans.length - 64) && !fan; i--) {
      const f = s.fans[i];
      if (f.group !== group) continue;
      if (leg === 'copy' ? f.send.ev.bytes === row.ev.bytes : f.client === row.to && f.token === token) fan = f;
    }
    if (!fan || (leg !== 'copy' && leg !== 'reply')) return;
    row.fan = fan;
    s.fanRev++;
    if (leg === 'copy') {
      row.layers = fan.send.layers;
      row.innerCode = fan.send.innerCode;
      fan.copies.push(row);
      return;
    }
    const own = row.layers.filter((e) => e.applied?.node === row.from);
    if (own.length) {
      row.layers = own;
      row.innerCode = str(pick(pick(pick(own[0].applied, 'layer_event') || {}, 'report') || {}, 'inner_code'));
    }
    row.member = row.from;
    fan.replies.push(row);
    row.nth = fan.replies.length;
  }

  // adoptRemoved gives the datagrams of a peer outside the lab, which
  // publishes no applied layer, the layer a lab node removed: each datagram
  // of the exchange whose payload is the layer's ciphertext, or whose
  // innermost known layer's plaintext ends with it (a layer nested inside),
  // as trace.DatagramLayers finds them from the bytes.
  function adoptRemoved(x, kind, entry, cipher) {
    const xe = x ? s.exchanges.get(x) : null;
    if (!xe || !cipher) return;
    cipher = cipher.toLowerCase();
    entry.by = xe.rows.find((r) => r.kind === 'datagram')?.from || '';
    let changed = false;
    for (const r of xe.rows) {
      if (r.kind !== 'datagram' || r.dir !== kind) continue;
      const inner = r.layers.length ? str(pick(pick(pick(r.layers[0].applied || r.layers[0].removed, 'layer_event') || {}, 'report') || {}, 'plaintext')) : '';
      const carries = r.layers.length ? inner.toLowerCase().endsWith('ff' + cipher) : String(r.ev.bytes || '').toLowerCase().endsWith('ff' + cipher);
      if (!carries || r.layers.some((e) => e.removed === entry.removed)) continue;
      r.layers = [entry, ...r.layers];
      r.innerCode = str(pick(pick(pick(entry.removed, 'layer_event') || {}, 'report') || {}, 'inner_code')) || '';
      if (/^[45]\./.test(r.innerCode)) { r.error = true; xe.hasError = true; }
      changed = true;
    }
    if (changed) s.emit('layers');
  }

  return s;
}

export const store = createStore();
