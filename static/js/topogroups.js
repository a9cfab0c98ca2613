// The topology editor's groups (docs/scenarios.md, "Groups"): a CoAP group
// of server nodes, which the lab reaches through a fan-out link standing in
// for IP multicast, and optionally a Group OSCORE context (RFC 10021) that
// its members and one client share. Every change goes to the running lab
// through the editor's apply.
import { el } from './util.js';

function groupHex(n) {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * groupAdd adds group id with members (server ids) to sc. Each member
 * waits 50 ms more than the previous before it answers (a fixed Leisure,
 * RFC 7252 8.2), so the answers keep their order in the trace. With
 * secure, a group context GRP_<id> with a random Gid and Master Secret is
 * added for client and the members, Sender IDs 01 for the client and 11,
 * 12, ... for the members in order.
 */
export function groupAdd(sc, { id, members, client, secure }) {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,31}$/.test(id)) throw new Error(`topology: "${id}" is not a group id (a letter, then letters, digits, _ or -)`);
  if ((sc.nodes || []).some((n) => n.id === id) || (sc.groups || []).some((g) => g.id === id)) throw new Error(`topology: ${id} names a node or a group already`);
  if (!members.length) throw new Error(`topology: group ${id} needs at least one member`);
  const g = { id, members: members.map((node, i) => (i ? { node, leisure: `${50 * i}ms` } : { node })) };
  if (secure) {
    if (!client) throw new Error('topology: a Group OSCORE group needs a client to share its context with');
    const name = `GRP_${id}`;
    if ((sc.group_contexts || []).some((c) => c.name === name)) throw new Error(`topology: group context ${name} exists already`);
    sc.group_contexts = [...(sc.group_contexts || []), {
      name, gid: groupHex(3), master_secret: groupHex(16),
      members: [{ node: client, sender_id: '01' }, ...members.map((node, i) => ({ node, sender_id: (0x11 + i).toString(16).padStart(2, '0') }))],
    }];
    g.context = name;
  }
  sc.groups = [...(sc.groups || []), g];
  return sc;
}

/**
 * groupRemove removes group id, the links to its members, the steps sent
 * to it, and its group context when no other group uses it.
 */
export function groupRemove(sc, id) {
  const g = (sc.groups || []).find((x) => x.id === id);
  if (!g) return sc;
  sc.groups = sc.groups.filter((x) => x.id !== id);
  if (g.context && !sc.groups.some((x) => x.context === g.context)) sc.group_contexts = (sc.group_contexts || []).filter((c) => c.name !== g.context);
  sc.links = (sc.links || []).filter((l) => l.a !== id);
  sc.steps = (sc.steps || []).filter((st) => st.to !== id);
  for (const k of ['groups', 'group_contexts', 'links', 'steps']) if (!sc[k]?.length) delete sc[k];
  return sc;
}

/** groupSection lists the groups and adds or removes them. */
export function groupSection(sc, { apply, status, open, onToggle }) {
  const list = el('ul', { class: 'grouplist', 'data-testid': 'group-list' }, ...(sc.groups || []).map((g) => el('li', { 'data-testid': 'group-item', 'data-group': g.id },
    el('b', {}, g.id), ` → ${(g.members || []).map((m) => m.node).join(', ')} `,
    el('span', { class: 'hint' }, g.context ? `(Group OSCORE ${g.context})` : '(plain CoAP)'), ' ',
    el('button', { type: 'button', class: 'small', 'data-testid': `remove-group-${g.id}`, title: `remove group ${g.id}`, onclick: () => apply((s) => { groupRemove(s, g.id); }, `removed group ${g.id}`) }, '✕'))));
  const id = el('input', { type: 'text', placeholder: 'id, e.g. G', size: 5, 'data-testid': 'add-group-id' });
  const servers = (sc.nodes || []).filter((n) => n.role === 'server');
  const boxes = servers.map((n) => el('input', { type: 'checkbox', checked: true, 'data-testid': `group-member-${n.id}`, 'data-node': n.id }));
  const clients = (sc.nodes || []).filter((n) => n.role === 'client');
  const client = el('select', { 'data-testid': 'add-group-client' }, ...clients.map((n) => el('option', { value: n.id }, n.id)));
  const secure = el('input', { type: 'checkbox', checked: clients.length > 0, 'data-testid': 'add-group-secure' });
  const add = el('button', { type: 'button', 'data-testid': 'add-group', onclick: () => {
    const gid = id.value.trim();
    if (!gid) return status('topology: give the new group an id', true);
    const members = boxes.filter((b) => b.checked).map((b) => b.dataset.node);
    apply((s) => { groupAdd(s, { id: gid, members, client: client.value, secure: secure.checked }); }, `added group ${gid}`);
  } }, 'Add group');
  const cap = (text, x, tip) => el('label', { title: tip || '' }, text, x);
  return el('details', { 'data-testid': 'group-section', open, ontoggle: (e) => onToggle(e.target.open) }, el('summary', {}, 'Groups'),
    el('p', { class: 'hint' }, 'A group is reached through a fan-out link that stands in for IP multicast: one datagram to the group, one copy to each member.'),
    list,
    el('div', { class: 'row-form' }, cap('id', id), ...servers.map((n, i) => cap(` ${n.id}`, boxes[i], 'member'))),
    el('div', { class: 'row-form' }, cap('Group OSCORE', secure, 'add a group context GRP_<id> for the client and the members'), cap('client', client), add));
}
