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
 * menu names a drop-down of the toolbar (toolMenus) to put the tool in,
 * so the toolbar keeps one row on a 1280 px screen.
 */
export function registerTool({ id, label, title, onClick, render, offline = false, needsLive = !offline, menu = '' }) {
  const t = { id, label, title, onClick, render, offline, needsLive, menu };
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
  const bar = doc.querySelector('[data-slot="toolbar"]');
  if (!bar) return;
  if (t.menu && toolMenus[t.menu]) toolMenu(bar, t.menu).append(node);
  else bar.append(node);
}

// The toolbar's drop-downs: what is used now and then (files, exports)
// waits behind one button; what a teacher presses during a talk stays in
// the row.
export const toolMenus = {
  file: { label: 'File', title: 'open and save scenarios and traces, export, import and compare' },
};

// toolMenu returns the item list of the named drop-down, made on first use
// where its first tool would have gone. It closes when one of its buttons
// or links is used, on a click elsewhere and on Esc.
function toolMenu(bar, name) {
  const have = bar.querySelector(`[data-menu="${name}"] > .menu-items`);
  if (have) return have;
  const items = el('div', { class: 'menu-items' });
  const menu = el('details', { class: 'tool tool-menu', 'data-menu': name, 'data-testid': `menu-${name}` },
    el('summary', { title: toolMenus[name].title }, toolMenus[name].label), items);
  items.addEventListener('click', (e) => { if (e.target.closest('button, a')) menu.open = false; });
  menu.addEventListener('toggle', () => {
    delete menu.dataset.placed;
    if (!menu.open) return;
    // Opened near the right edge, the list opens leftwards.
    items.classList.remove('flip');
    if (items.getBoundingClientRect().right > document.documentElement.clientWidth) items.classList.add('flip');
    menu.dataset.placed = '1';
  });
  document.addEventListener('click', (e) => { if (menu.open && !menu.contains(e.target)) menu.open = false; });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && menu.open) { menu.open = false; e.stopImmediatePropagation(); } }, true);
  bar.append(menu);
  return items;
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
