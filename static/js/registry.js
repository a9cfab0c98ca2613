// The view registry and toolbar slot: features register here and the app
// mounts them, so replay, presenter mode, quiz, HTML export and trace
// comparison can be added without rewriting the existing views.
import { el } from './util.js';

const views = [];
const tools = [];
let mounted = null; // {doc, ctx} once mountAll ran: later registrations mount at once

/**
 * registerView adds a panel. mount(root, ctx) renders into root, an element
 * with data-view=id from the page, or a new panel in the extra-views slot.
 * offline: true marks views that also work from a static trace file.
 */
export function registerView({ id, title, mount, offline = false }) {
  const v = { id, title, mount, offline };
  views.push(v);
  if (mounted) mountView(mounted.doc, mounted.ctx, v);
}

/**
 * registerTool adds a toolbar button (or a custom element from render()).
 * needsLive (default: !offline) marks tools that only work against the
 * running lab, inert while a live page shows a file or is offline.
 */
export function registerTool({ id, label, title, onClick, render, offline = false, needsLive = !offline }) {
  const t = { id, label, title, onClick, render, offline, needsLive };
  tools.push(t);
  if (mounted) mountTool(mounted.doc, mounted.ctx, t);
}

export function registeredViews() { return [...views]; }

/** mountAll mounts every registered view and tool; ctx carries store, api, mode. */
export function mountAll(doc, ctx) {
  for (const t of tools) mountTool(doc, ctx, t);
  for (const v of views) mountView(doc, ctx, v);
  mounted = { doc, ctx };
}

function mountTool(doc, ctx, t) {
  if (ctx.mode === 'trace' && !t.offline) return;
  const node = t.render ? t.render(ctx) : el('button', { type: 'button', 'data-testid': `tool-${t.id}`, title: t.title || '', onclick: () => t.onClick(ctx) }, t.label);
  // Live-only parts go inert while the page shows a file or the server is
  // unreachable (app.js setAvailability).
  if (t.needsLive) node.dataset.needsLive = '';
  doc.querySelector('[data-slot="toolbar"]')?.append(node);
}

function mountView(doc, ctx, v) {
  let root = doc.querySelector(`[data-view="${v.id}"]`);
  if (ctx.mode === 'trace' && !v.offline) { root?.remove(); return; }
  if (!root) {
    root = el('section', { class: 'panel', 'data-view': v.id }, el('h2', {}, v.title));
    doc.querySelector('[data-slot="extra-views"]')?.append(root);
  }
  if (!v.offline) root.dataset.needsLive = '';
  try { v.mount(root, ctx); } catch (e) { console.error(`registry: mounting ${v.id}:`, e); }
}
