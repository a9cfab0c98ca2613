// A byte-exact CoAP parser for display only: it maps every header field and
// option to its byte range so the inspector can cross-highlight fields and
// bytes (RFC 7252 section 3). Crypto values never come from here.

const optionNames = {
  1: 'If-Match', 3: 'Uri-Host', 4: 'ETag', 5: 'If-None-Match', 6: 'Observe', 7: 'Uri-Port',
  8: 'Location-Path', 9: 'OSCORE', 11: 'Uri-Path', 12: 'Content-Format', 14: 'Max-Age',
  15: 'Uri-Query', 16: 'Hop-Limit', 17: 'Accept', 19: 'Q-Block1', 20: 'Location-Query',
  21: 'EDHOC', 23: 'Block2', 27: 'Block1', 28: 'Size2', 31: 'Q-Block2', 35: 'Proxy-Uri',
  39: 'Proxy-Scheme', 60: 'Size1', 252: 'Echo', 258: 'No-Response', 292: 'Request-Tag',
};

const codeNames = {
  '0.00': 'Empty', '0.01': 'GET', '0.02': 'POST', '0.03': 'PUT', '0.04': 'DELETE', '0.05': 'FETCH',
  '0.06': 'PATCH', '0.07': 'iPATCH', '2.01': 'Created', '2.02': 'Deleted', '2.03': 'Valid',
  '2.04': 'Changed', '2.05': 'Content', '2.31': 'Continue', '4.00': 'Bad Request',
  '4.01': 'Unauthorized', '4.02': 'Bad Option', '4.03': 'Forbidden', '4.04': 'Not Found',
  '4.05': 'Method Not Allowed', '4.06': 'Not Acceptable', '4.08': 'Request Entity Incomplete',
  '4.12': 'Precondition Failed', '4.13': 'Request Entity Too Large', '4.15': 'Unsupported Content-Format',
  '5.00': 'Internal Server Error', '5.01': 'Not Implemented', '5.02': 'Bad Gateway',
  '5.03': 'Service Unavailable', '5.04': 'Gateway Timeout', '5.05': 'Proxying Not Supported',
  '5.08': 'Hop Limit Reached',
};

const typeNames = ['CON', 'NON', 'ACK', 'RST'];

export function optionName(n) { return optionNames[n] || `Option ${n}`; }
export function codeString(c) { return `${c >> 5}.${String(c & 31).padStart(2, '0')}`; }
export function codeName(s) { return codeNames[s] || ''; }

/**
 * parseCoap parses a CoAP-over-UDP datagram (mode 'udp') or an OSCORE
 * plaintext (mode 'plain': code, options, payload; RFC 8613 section 5.3).
 * It returns {fields, options, code, type, mid, token, payload, error}; each
 * field is {id, name, start, end, text}. Malformed input yields error text and
 * the fields parsed so far. It refuses what the Go parser behind the text,
 * pcapng and Wireshark views refuses (internal/trace ParseDatagram and
 * ParsePlaintext; web/jsagree_test.go runs both over the same bytes), so that
 * every view calls the same datagram malformed.
 */
export function parseCoap(b, mode = 'udp') {
  const out = { fields: [], options: [], code: '', type: '', mid: null, token: '', payload: null, error: '' };
  let i = 0;
  const field = (name, start, end, text, extra = {}) => {
    const f = { id: out.fields.length, name, start, end, text, ...extra };
    out.fields.push(f);
    return f;
  };
  const need = (n, what) => {
    if (i + n > b.length) { out.error = `truncated ${what} at byte ${i}`; return false; }
    return true;
  };
  let tkl = 0;
  if (mode === 'udp') {
    if (!need(4, 'header')) return out;
    const ver = b[0] >> 6, t = (b[0] >> 4) & 3;
    tkl = b[0] & 15;
    out.type = typeNames[t];
    field('Ver | T | TKL', 0, 1, `version ${ver}, ${out.type}, token length ${tkl}`);
    if (ver !== 1) { out.error = `CoAP version ${ver}, want 1 (RFC 7252 3)`; return out; }
    out.code = codeString(b[1]);
    field('Code', 1, 2, `${out.code} ${codeName(out.code)}`);
    out.mid = (b[2] << 8) | b[3];
    field('Message ID', 2, 4, `${out.mid}`);
    i = 4;
    if (tkl > 8) { out.error = `token length ${tkl} is reserved`; return out; }
    if (tkl) {
      if (!need(tkl, 'token')) return out;
      out.token = hex(b.subarray(i, i + tkl));
      field('Token', i, i + tkl, out.token);
      i += tkl;
    }
  } else {
    if (!need(1, 'code')) return out;
    out.code = codeString(b[0]);
    field('Code', 0, 1, `${out.code} ${codeName(out.code)}`);
    i = 1;
  }
  let num = 0;
  while (i < b.length) {
    if (b[i] === 0xff) {
      field('Payload marker', i, i + 1, '0xFF');
      i++;
      if (i >= b.length) { out.error = 'payload marker with empty payload'; return out; }
      out.payload = b.subarray(i);
      field('Payload', i, b.length, `${b.length - i} bytes`);
      return checkEmpty(out, mode, tkl, b.length);
    }
    const start = i;
    let delta = b[i] >> 4, len = b[i] & 15;
    i++;
    const ext = (v, what) => {
      if (v === 13) { if (!need(1, what)) return -1; return b[i++] + 13; }
      if (v === 14) { if (!need(2, what)) return -1; const x = ((b[i] << 8) | b[i + 1]) + 269; i += 2; return x; }
      if (v === 15) { out.error = `reserved nibble 15 in ${what} at byte ${start}`; return -1; }
      return v;
    };
    delta = ext(delta, 'option delta'); if (delta < 0) return out;
    len = ext(len, 'option length'); if (len < 0) return out;
    if (!need(len, 'option value')) return out;
    num += delta;
    if (num > 0xffff) { out.error = `option number ${num} out of range at byte ${start}`; return out; }
    const value = b.subarray(i, i + len);
    const opt = { number: num, name: optionName(num), start, valueStart: i, end: i + len, value: hex(value) };
    opt.field = field(`Option ${opt.name}`, start, i + len, describeOption(num, value), { option: opt });
    out.options.push(opt);
    i += len;
  }
  return checkEmpty(out, mode, tkl, b.length);
}

// checkEmpty applies RFC 7252 4.1: an Empty message (code 0.00) is the
// 4-byte header alone.
function checkEmpty(out, mode, tkl, n) {
  if (mode === 'udp' && out.code === '0.00' && (tkl !== 0 || n !== 4)) {
    out.error = 'Empty message (code 0.00) with a token, options or payload (RFC 7252 4.1)';
  }
  return out;
}

function hex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); }

function describeOption(num, v) {
  const text = (x) => new TextDecoder().decode(x);
  const uint = (x) => x.reduce((a, c) => a * 256 + c, 0);
  switch (num) {
    case 3: case 8: case 11: case 15: case 20: case 35: case 39: return JSON.stringify(text(v));
    case 6: case 7: case 12: case 14: case 16: case 17: case 28: case 60: case 258: return String(uint(v));
    case 9: return describeOSCORE(v);
    default: return v.length ? hex(v) : '(empty)';
  }
}

/**
 * parseOSCOREOption splits the OSCORE option value (RFC 8613 section 6.1):
 * flag byte n (Partial IV length), k (kid present), h (kid context present),
 * g (Group Flag, RFC 10021 section 4.1: Group OSCORE group mode).
 * It refuses what oscore.ParseOption refuses (reserved bits, reserved Partial
 * IV lengths, truncation, trailing bytes without the kid flag), keeping the
 * fields it could read for display.
 */
export function parseOSCOREOption(v) {
  const r = { flags: null, n: 0, k: false, h: false, g: false, reserved: 0, piv: '', kidContext: null, kid: null, error: '' };
  if (v.length === 0) return r;
  const f = v[0];
  r.flags = f;
  r.n = f & 7; r.k = !!(f & 8); r.h = !!(f & 16); r.g = !!(f & 32); r.reserved = f >> 6;
  let i = 1;
  if (r.reserved) { r.error = `reserved flag bits set (0x${f.toString(16).padStart(2, '0')})`; return r; }
  if (f === 0) { r.error = 'all flags zero but the option value is not empty'; return r; }
  if (r.n > 5) { r.error = `Partial IV length ${r.n} is reserved`; return r; }
  r.piv = hex(v.subarray(i, i + r.n)); i += r.n;
  if (r.h) { const s = v[i] ?? 0; r.kidContext = hex(v.subarray(i + 1, i + 1 + s)); i += 1 + s; }
  if (r.k) r.kid = hex(v.subarray(Math.min(i, v.length)));
  if (i > v.length) r.error = 'truncated OSCORE option';
  else if (!r.k && i < v.length) r.error = `${v.length - i} trailing bytes without the kid flag`;
  return r;
}

function describeOSCORE(v) {
  const o = parseOSCOREOption(v);
  if (o.flags === null) return '(empty: response without Partial IV)';
  const parts = [];
  if (o.g) parts.push('group');
  if (o.k) parts.push(`kid:${o.kid}`);
  if (o.n) parts.push(`piv:${o.piv}`);
  if (o.h) parts.push(`kidctx:${o.kidContext}`);
  return `[${parts.join(', ')}]` + (o.error ? ` (${o.error})` : '');
}
