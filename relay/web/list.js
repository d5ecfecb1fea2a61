// The list view: every machine this browser's tokens see, its sessions,
// and the buttons to start and stop them. Polled while shown.

import { $, ago, h, menu, secsAgo, showView, sinceIso } from './dom.js';
import { api, enc, saveTokens, tokens } from './api.js';
import { machines, refreshMachines } from './machines.js';
import { openNew, openStop } from './dialogs.js';

const LIST_POLL_MS = 2000;

let listTimer = null;
let listFailing = false;
/** Whether the list is the view shown, and how to leave it after an
 *  unpairing: set by initList. */
let shown = () => false;
let reroute = () => {};

async function refreshList() {
  try {
    await refreshMachines();
    listFailing = false;
    renderList();
  } catch (e) {
    listFailing = true;
    renderListStatus(e.message);
  }
}

/** The network state in the list's header. */
export function renderListStatus(msg) {
  const s = $('list-status');
  s.textContent = listFailing ? (navigator.onLine === false ? 'no network' : 'relay unreachable') : '';
  s.title = msg || '';
  s.className = 'net' + (listFailing ? ' bad' : '');
}

export function showList() {
  document.title = 'rcd';
  showView('list-view');
  renderList();
  pollList();
}

/** Fetches the list now, then every LIST_POLL_MS while shown and visible. */
export function pollList() {
  clearTimeout(listTimer);
  if (!shown()) return;
  refreshList().finally(() => {
    if (shown() && !document.hidden) listTimer = setTimeout(pollList, LIST_POLL_MS);
  });
}

export function stopList() {
  clearTimeout(listTimer);
  listTimer = null;
}

function chip(text, cls) {
  return h('span', 'chip' + (cls ? ' ' + cls : ''), text);
}

function sandboxChip() {
  const c = chip('sandboxed', 'sandbox');
  c.title = 'Runs confined by rcd’s sandbox';
  return c;
}

function stateLabel(s) {
  if (s.state === 'exited') return s.exit_code === null || s.exit_code === undefined
    ? 'exited' : `exited ${s.exit_code}`;
  return s.state;
}

/** What a session's attention says in the list. */
const NEEDS = {
  bell: 'bell',
  notification: 'notification',
  permission: 'asks permission',
  question: 'asks you',
  finished: 'finished',
  exited: 'exited',
};

const needsYou = (s) => !!s.attention;

/** How many sessions of online machines need someone. */
function waitingCount(envs) {
  let n = 0;
  for (const e of envs) if (e.online) n += (e.sessions || []).filter(needsYou).length;
  return n;
}

function renderList() {
  renderListStatus();
  // Machines with a session that needs you first, then as listed.
  const envs = [...machines()].sort((a, b) => ((b.online && (b.sessions || []).some(needsYou))
    - (a.online && (a.sessions || []).some(needsYou))));
  if (shown()) {
    const n = waitingCount(envs);
    document.title = n ? `(${n}) rcd` : 'rcd';
  }
  const box = $('machines');
  const q = $('search').value.trim().toLowerCase();
  const frag = document.createDocumentFragment();
  let count = 0;
  for (const e of envs) {
    const envMatch = !q || e.name.toLowerCase().includes(q) || e.machine.toLowerCase().includes(q);
    const sessions = (e.sessions || [])
      .filter((s) => envMatch || s.name.toLowerCase().includes(q))
      .sort((a, b) => (needsYou(b) - needsYou(a)) || a.name.localeCompare(b.name));
    if (!envMatch && !sessions.length) continue;
    count++;
    frag.append(machineCard(e, sessions));
  }
  box.replaceChildren(frag);
  const empty = $('list-empty');
  if (!envs.length) {
    empty.textContent = listFailing
      ? 'Cannot reach the relay; retrying…'
      : 'No machines yet. Start rcd on a machine with this relay and its enrollment token; it appears here once it is connected.';
    empty.hidden = false;
  } else if (!count) {
    empty.textContent = `Nothing matches “${q}”.`;
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
}

function machineCard(e, sessions) {
  const card = h('section', 'machine' + (e.online ? '' : ' offline'));
  card.dataset.env = e.id;
  card.dataset.name = e.name;
  card.dataset.online = String(e.online);
  const head = h('div', 'machine-head');
  const dot = h('i', 'dot ' + (e.online ? 'on' : 'off'));
  dot.title = e.online ? 'online' : 'offline';
  const title = h('div', 'machine-title');
  const nm = h('div', 'machine-name');
  nm.append(dot, h('span', null, e.name));
  title.append(nm);
  const host = h('div', 'machine-host');
  // The end of a long path matters most: it is cut on the left.
  host.append(h('span', null, e.machine), h('span', 'sep', '·'), h('span', 'dir', `\u200e${e.dir}\u200e`));
  host.title = `${e.machine}:${e.dir}`;
  title.append(host);
  head.append(title);
  const add = h('button', 'btn small new-btn', '+ New');
  add.type = 'button';
  add.disabled = !e.online;
  add.title = e.online ? 'Start a new session here' : 'This machine is offline';
  add.setAttribute('aria-label', `New session on ${e.name}`);
  add.addEventListener('click', () => openNew(e));
  head.append(add);
  card.append(head);

  const meta = h('div', 'machine-meta');
  meta.append(
    e.online ? chip('online', 'ok') : chip(`offline · last seen ${secsAgo(e.last_seen_secs)}`, 'bad'),
    chip(e.spawn === 'worktree' ? 'worktree mode' : 'same-dir mode'),
    chip(`${e.used}/${e.capacity} used`, e.used >= e.capacity ? 'warn' : ''),
  );
  card.append(meta);

  const ul = h('ul', 'sessions');
  for (const s of sessions) ul.append(sessionRow(e, s, e.online));
  if (!sessions.length) {
    ul.append(h('li', 'none', e.online ? 'No sessions. Tap “+ New” to start one.' : 'No sessions.'));
  }
  card.append(ul);
  return card;
}

function sessionRow(e, s, online) {
  const li = h('li', 'session');
  li.dataset.session = s.name;
  li.dataset.state = s.state;
  const open = h('a', 'session-open');
  open.href = `#/s/${enc(e.id)}/${enc(s.name)}`;
  const top = h('div', 'session-top');
  top.append(h('span', 'session-name', s.name), online
    ? h('span', 'state ' + s.state, stateLabel(s))
    : h('span', 'state unknown', `was ${stateLabel(s)}`));
  if (s.program) {
    const p = chip(s.program, 'program');
    p.title = `Runs the program ${s.program}`;
    top.append(p);
  }
  if (s.sandboxed) top.append(sandboxChip());
  const a = s.attention;
  if (a) {
    li.classList.add('needs');
    const badge = chip(NEEDS[a.kind] || a.kind, 'needs');
    badge.title = `Needs you since ${new Date(a.since).toLocaleTimeString()}`;
    top.append(badge);
  }
  const sub = h('div', 'session-sub');
  if (s.branch) sub.append(h('span', 'branch', s.branch));
  sub.append(h('span', 'when', s.last_activity
    ? `active ${ago(sinceIso(s.last_activity))}`
    : `started ${ago(sinceIso(s.created_at))}`));
  const cmd = (s.command || []).join(' ');
  if (cmd) sub.append(h('span', 'cmd', cmd));
  open.append(top, sub);
  if (a && a.message) open.append(h('div', 'session-needs', a.message));
  if (s.change && s.change.files) {
    const c = s.change;
    const review = h('a', 'btn small review-btn');
    review.href = `#/d/${enc(e.id)}/${enc(s.name)}`;
    review.append(h('span', 'add', `+${c.added}`), ' ', h('span', 'del', `−${c.removed}`));
    review.title = `Review the change: ${c.files} file${c.files === 1 ? '' : 's'}, +${c.added} −${c.removed}`;
    review.setAttribute('aria-label', `Review ${s.name}'s change: ${c.files} files`);
    li.append(review);
  }
  const stop = h('button', 'btn small stop-btn', 'Stop');
  stop.type = 'button';
  stop.title = `Stop ${s.name}`;
  stop.setAttribute('aria-label', `Stop ${s.name}`);
  stop.disabled = !e.online;
  stop.addEventListener('click', () => openStop(e, s, () => { refreshList(); }));
  li.prepend(open);
  li.append(stop);
  return li;
}

async function unpair() {
  if (!confirm('Unpair this browser? Its device token is revoked; you need a new pairing code to come back.')) return;
  for (const t of tokens()) {
    try {
      await api('DELETE', `/devices/${enc(t.id)}`, { token: t.token });
    } catch {
      // Revoked already, or the relay is away: forgotten here anyway.
    }
  }
  saveTokens([]);
  reroute();
}

/** The list's search box and menu. `isShown()` says whether the list is
 *  the view shown; `leave()` goes where an unpaired browser goes. */
export function initList(isShown, leave) {
  shown = isShown;
  reroute = leave;
  $('search').addEventListener('input', renderList);
  $('menu-btn').addEventListener('click', () => {
    menu('rcd', [
      ['Pair with another machine’s code', () => { location.hash = '#/pair'; }],
      ['Refresh', () => pollList()],
      ['Unpair this browser', unpair, 'danger'],
    ]);
  });
}
