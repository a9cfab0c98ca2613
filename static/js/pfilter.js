// The packet list's display filter: a small expression language over the
// facts of one trace event (docs/teaching.md, "Display filter"), in the
// spirit of Wireshark's display filters:
//
//   node==P && kid==01 && code==2.05
//   opt:Uri-Host || ctx==CTX_C_P
//   type==decision && node==S
//   !(len<60) and exchange>=3
//
// compileFilter never throws: a text it cannot read gives {error, at}, and
// a compiled filter never throws on any event (coerced by store.js), so a
// hostile text or trace cannot break the page.
import { pick, hexToBytes } from './util.js';
import { parseCoap, parseOSCOREOption, codeName, codeString, optionName } from './coap.js';

/** The event types a trace holds (docs/trace-format.md). */
export const pfTypes = ['datagram', 'layer', 'decision', 'delivery', 'error', 'fault', 'exchange', 'notice'];

// Limits: a filter longer than this, or nested deeper, is refused with an
// error instead of costing the page (docs/scenarios.md, "Limits").
export const pfMaxLength = 1000;
const pfMaxDepth = 32;

// Each field: its kind (how values are read and compared) and what it
// means, for the error that lists them.
const pfFields = {
  type: { kind: 'type' },
  node: { kind: 'str' }, src: { kind: 'str' }, dst: { kind: 'str' },
  ctx: { kind: 'str' }, context: { kind: 'str', as: 'ctx' },
  kid: { kind: 'hex' }, piv: { kind: 'piv' }, partial_iv: { kind: 'piv', as: 'piv' },
  code: { kind: 'code' }, opt: { kind: 'opt' },
  exchange: { kind: 'num' }, ex: { kind: 'num', as: 'exchange' }, hop: { kind: 'num' },
  len: { kind: 'num' }, mid: { kind: 'num' }, seq: { kind: 'num' }, no: { kind: 'num', as: 'seq' },
  token: { kind: 'hex' }, link: { kind: 'str' }, dir: { kind: 'str' },
};
const pfFieldList = 'type, node, src, dst, ctx, kid, piv, code, opt, exchange, hop, len, mid, seq, token, link, dir';

// Words that stand alone: an event type, or a protocol as Wireshark names it.
const pfWords = {
  oscore: (f) => f.ctx.length > 0 || f.hasOSCORE,
  coap: (f) => f.type === 'datagram',
};

let pfCodeByName = null;
function pfCodeOf(v) {
  if (/^[0-7]\.[0-3][0-9]$/.test(v)) return v;
  if (!pfCodeByName) {
    pfCodeByName = new Map();
    for (let c = 0; c < 256; c++) {
      const s = codeString(c), n = codeName(s);
      if (n) pfCodeByName.set(n.toLowerCase().replace(/[\s_-]+/g, ''), s);
    }
  }
  return pfCodeByName.get(v.toLowerCase().replace(/[\s_-]+/g, '')) || null;
}

function pfHex(v) {
  const h = v.toLowerCase().replace(/^0x/, '').replace(/[\s:]/g, '');
  return /^([0-9a-f]{2})*$/.test(h) ? h : null;
}

// tokenize splits the text; each token keeps its column for errors.
function pfTokenize(text) {
  const out = [];
  const re = /\s*(?:(\(|\)|&&|\|\||!=|==|<=|>=|<|>|=|!)|"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_.:\-+/*#]+))/y;
  let i = 0;
  while (i < text.length) {
    if (/^\s*$/.test(text.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) {
      const at = i + (text.slice(i).length - text.slice(i).trimStart().length);
      return { error: `unexpected ${JSON.stringify(text[at])}`, at };
    }
    const at = m.index + (m[0].length - m[0].trimStart().length);
    if (m[1]) out.push({ t: 'op', v: m[1], at });
    else if (m[2] !== undefined) out.push({ t: 'str', v: m[2].replace(/\\(.)/g, '$1'), at });
    else {
      const w = m[3].toLowerCase();
      if (w === 'and') out.push({ t: 'op', v: '&&', at });
      else if (w === 'or') out.push({ t: 'op', v: '||', at });
      else if (w === 'not') out.push({ t: 'op', v: '!', at });
      else out.push({ t: 'word', v: m[3], at });
    }
    i = re.lastIndex;
  }
  return { tokens: out };
}

class PfError extends Error {
  constructor(msg, at) { super(msg); this.at = at; }
}

/**
 * compileFilter reads a display filter. It returns {test(facts), usesType}
 * or {error, at} (at: the column the error is at). The empty text passes
 * every datagram.
 */
export function compileFilter(text) {
  text = typeof text === 'string' ? text : '';
  if (text.length > pfMaxLength) return { error: `filter: longer than ${pfMaxLength} characters`, at: pfMaxLength };
  const tk = pfTokenize(text);
  if (tk.error) return { error: `filter: ${tk.error} at column ${tk.at + 1}`, at: tk.at };
  const toks = tk.tokens;
  if (!toks.length) return { test: () => true, usesType: false, empty: true };
  let p = 0, usesType = false;
  const peek = () => toks[p];
  const isOp = (v) => toks[p] && toks[p].t === 'op' && toks[p].v === v;
  const end = () => (toks[p] ? toks[p].at : text.length);
  const expect = (what) => { throw new PfError(`expected ${what}${toks[p] ? ` before ${JSON.stringify(toks[p].t === 'str' ? `"${toks[p].v}"` : toks[p].v)}` : ' at the end'}`, end()); };

  function orExpr(depth) {
    let l = andExpr(depth);
    while (isOp('||')) { p++; const a = l, b = andExpr(depth); l = (f) => a(f) || b(f); }
    return l;
  }
  function andExpr(depth) {
    let l = unary(depth);
    while (isOp('&&')) { p++; const a = l, b = unary(depth); l = (f) => a(f) && b(f); }
    return l;
  }
  function unary(depth) {
    if (depth > pfMaxDepth) throw new PfError(`nested deeper than ${pfMaxDepth}`, end());
    if (isOp('!')) { p++; const a = unary(depth + 1); return (f) => !a(f); }
    if (isOp('(')) {
      p++;
      const a = orExpr(depth + 1);
      if (!isOp(')')) expect('")"');
      p++;
      return a;
    }
    return term();
  }
  function term() {
    const t = peek();
    if (!t || t.t !== 'word') expect('a field (' + pfFieldList + '), opt:NAME or an event type');
    p++;
    let name = t.v.toLowerCase();
    let value = null, op = '==';
    if (name.startsWith('opt:')) {
      value = t.v.slice(4);
      name = 'opt';
      if (!value) throw new PfError('opt: needs an option name or number, e.g. opt:Uri-Host', t.at);
    } else if (!pfFields[name] || (pfTypes.includes(name) && !pfIsComparison(peek()))) {
      if (pfTypes.includes(name)) { usesType = true; return (f) => f.type === name; }
      if (pfWords[name]) return pfWords[name];
      throw new PfError(`unknown field ${JSON.stringify(t.v)} (fields: ${pfFieldList}; or opt:NAME, an event type, oscore, coap)`, t.at);
    }
    const def = pfFields[name];
    const key = def.as || name;
    if (value === null) {
      const o = peek();
      if (!pfIsComparison(o)) {
        if (key === 'opt') expect('"==" and an option name');
        expect(`a comparison after ${t.v} (==, !=, <, <=, >, >=)`);
      }
      p++;
      op = o.v === '=' ? '==' : o.v;
      const v = peek();
      if (!v || (v.t !== 'word' && v.t !== 'str')) expect(`a value for ${t.v}`);
      p++;
      value = v.v;
      if (def.kind !== 'num' && !['==', '!='].includes(op)) throw new PfError(`${t.v} compares with == or != only`, o.at);
      return compare(key, def.kind, op, value, v.at);
    }
    return compare(key, def.kind, op, value, t.at + 4);
  }
  function compare(key, kind, op, value, at) {
    let want;
    switch (kind) {
      case 'type':
        usesType = true;
        want = value.toLowerCase();
        if (!pfTypes.includes(want)) throw new PfError(`unknown event type ${JSON.stringify(value)} (types: ${pfTypes.join(', ')})`, at);
        return neg(op, (f) => f.type === want);
      case 'str':
        want = value;
        return neg(op, (f) => (Array.isArray(f[key]) ? f[key].includes(want) : f[key] === want));
      case 'hex':
        want = pfHex(value);
        if (want === null) throw new PfError(`${key} takes hex bytes, e.g. ${key}==5f (got ${JSON.stringify(value)})`, at);
        return neg(op, (f) => f[key].includes(want));
      case 'piv': {
        const h = pfHex(value.length % 2 ? `0${value.replace(/^0x/i, '')}` : value);
        if (h === null || !h.length) throw new PfError(`piv takes a hex Partial IV, e.g. piv==2a (got ${JSON.stringify(value)})`, at);
        want = pfPIV(h);
        return neg(op, (f) => f.piv.some((x) => pfPIV(x) === want));
      }
      case 'code': {
        want = pfCodeOf(value);
        if (!want) throw new PfError(`unknown code ${JSON.stringify(value)} (write c.dd, e.g. 2.05, or a name, e.g. Content or GET)`, at);
        return neg(op, (f) => f.code.includes(want));
      }
      case 'opt': {
        const n = /^\d+$/.test(value) ? optionName(Number(value)) : value;
        want = n.toLowerCase();
        return neg(op, (f) => f.opt.includes(want));
      }
      case 'num': {
        if (!/^\d{1,15}$/.test(value)) throw new PfError(`${key} takes a whole number (got ${JSON.stringify(value)})`, at);
        const x = Number(value);
        const cmp = { '==': (a) => a === x, '!=': (a) => a !== x, '<': (a) => a < x, '<=': (a) => a <= x, '>': (a) => a > x, '>=': (a) => a >= x }[op];
        return (f) => f[key] !== null && cmp(f[key]);
      }
    }
    throw new PfError(`cannot compare ${key}`, at);
  }
  const neg = (op, fn) => (op === '!=' ? (f) => !fn(f) : fn);

  try {
    const fn = orExpr(0);
    if (p < toks.length) expect('"&&", "||" or the end');
    return { test: fn, usesType };
  } catch (e) {
    if (!(e instanceof PfError)) throw e;
    return { error: `filter: ${e.message} at column ${e.at + 1}`, at: e.at };
  }
}

function pfIsComparison(t) { return !!t && t.t === 'op' && ['==', '!=', '<', '<=', '>', '>=', '='].includes(t.v); }

// pfPIV is a Partial IV's value as hex without leading zero bytes, so that
// 002a and 2a are the same sequence number (RFC 8613 6.1).
function pfPIV(h) { return h.replace(/^(00)+(?=..)/, ''); }

/**
 * factsOf lists what the filter can ask of event ev (row: its datagram
 * row in the store, if any): every value is a string, a number or a list
 * of strings, never undefined.
 */
export function factsOf(ev, row) {
  const f = {
    type: ev.type, node: [], src: '', dst: '', ctx: [], kid: [], piv: [], code: [], opt: [],
    exchange: ev.exchange || 0, hop: Number.isSafeInteger(ev.hop) ? ev.hop : 0, len: null, mid: null, seq: ev.seq,
    token: [], link: ev.link || '', dir: ev.dir || '', hasOSCORE: false,
  };
  const add = (list, v) => { if (typeof v === 'string' && v && !list.includes(v)) list.push(v); };
  add(f.node, ev.node); add(f.node, ev.from); add(f.node, ev.to);
  f.src = ev.from || ev.node || '';
  f.dst = ev.to || '';
  const fromReport = (rep) => {
    if (!rep || typeof rep !== 'object') return;
    add(f.ctx, rep.context);
    if (typeof rep.kid === 'string') add(f.kid, rep.kid.toLowerCase());
    if (typeof rep.partial_iv === 'string') add(f.piv, rep.partial_iv.toLowerCase());
    add(f.code, rep.inner_code); add(f.code, rep.outer_code);
    // The options the layer encrypts are those of its plaintext (the
    // report's option list is the applier's view of the whole message).
    if (typeof rep.plaintext === 'string') for (const o of parseCoap(hexToBytes(rep.plaintext), 'plain').options) add(f.opt, o.name.toLowerCase());
  };
  if (ev.type === 'datagram' && row) {
    const p = row.parsed;
    f.len = row.size;
    f.mid = p.mid;
    add(f.token, p.token);
    add(f.code, p.code);
    add(f.code, row.innerCode);
    for (const o of p.options) {
      add(f.opt, o.name.toLowerCase());
      if (o.number === 9) {
        f.hasOSCORE = true;
        const oo = parseOSCOREOption(hexToBytes(o.value));
        if (oo.kid !== null) add(f.kid, oo.kid);
        if (oo.piv) add(f.piv, oo.piv);
      }
    }
    for (const e of row.layers) fromReport(pfReport(e.applied || e.removed));
  } else if (ev.type === 'layer') {
    fromReport(pfReport(ev));
  } else {
    const d = pick(ev, 'decision') || pick(ev, 'error') || pick(ev, 'delivery') || {};
    if (d && typeof d.code === 'string') add(f.code, d.code);
    if (ev.type === 'error' && Array.isArray(d.protected_by)) for (const c of d.protected_by) add(f.ctx, c);
  }
  return f;
}

function pfReport(ev) {
  const le = ev && pick(ev, 'layer_event');
  return (le && pick(le, 'report')) || null;
}
