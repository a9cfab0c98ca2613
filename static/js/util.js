// Small helpers shared by every view: DOM building, hex, field access that
// tolerates both snake_case JSON and Go field names.

/** pick returns the first defined property among names. */
export function pick(obj, ...names) {
  if (obj == null) return undefined;
  for (const n of names) if (obj[n] !== undefined && obj[n] !== null) return obj[n];
  return undefined;
}

const escMap = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** esc escapes text for use inside HTML. */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => escMap[c]);
}

/** el creates an element: el('div', {class: 'x', 'data-testid': 'y'}, child...). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(e.style, v);
    else if (k === 'html') e.innerHTML = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/**
 * replaceIfChanged puts next in place of shown unless the two are equal
 * nodes (same markup and text; listeners are not compared, so next must
 * only differ from shown in what it shows), and returns the node on screen.
 * Views re-render on every event; swapping equal nodes would drop a click
 * whose button leaves the document between press and release.
 */
export function replaceIfChanged(shown, next) {
  if (shown && shown.isEqualNode(next)) return shown;
  if (shown) shown.replaceWith(next);
  return next;
}

/** hexToBytes turns "0a1b" into a Uint8Array; bad input gives an empty array. */
export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) return new Uint8Array(0);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

/** bytesToHex formats bytes as lowercase hex, optionally spaced. */
export function bytesToHex(b, sep = '') {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(sep);
}

/** spacedHex formats a hex string in byte pairs. */
export function spacedHex(hex) {
  return typeof hex === 'string' ? hex.replace(/(..)(?!$)/g, '$1 ') : '';
}

const draftBase = 'https://datatracker.ietf.org/doc/html/draft-ietf-core-oscore-capable-proxies';

/**
 * sectionLink turns a section reference ("2.4", "draft 2.2", "RFC 8613 8.2")
 * into an anchor. It needs no network to render.
 */
export function sectionLink(section, text) {
  const s = String(section ?? '').trim();
  if (!s) return document.createTextNode(text ?? '');
  let href;
  const rfc = s.match(/RFC\s*(\d+)\s*(?:§|section)?\s*([A-Z]?[\d.]*)/i);
  if (rfc) {
    href = `https://datatracker.ietf.org/doc/html/rfc${rfc[1]}` + (rfc[2] ? `#${/^[A-Z]/.test(rfc[2]) ? 'appendix' : 'section'}-${rfc[2]}` : '');
  } else {
    const num = (s.match(/([A-Z]?\d+(?:\.\d+)*)/) || [])[1] || '';
    href = draftBase + (num ? `#${/^[A-Z]/.test(num) ? 'appendix' : 'section'}-${num}` : '');
  }
  const label = rfc ? `RFC ${rfc[1]}${rfc[2] ? ` §${rfc[2]}` : ''}` : `§${s}`;
  return el('a', { href, target: '_blank', rel: 'noopener', class: 'secref' }, text ?? label);
}

/** download offers text as a file to save. */
export function download(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
