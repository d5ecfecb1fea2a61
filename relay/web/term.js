// The terminal view of one session: its header (name, machine, branch,
// connection state), the banner, the inputs waiting, the screen (drawn
// once per animation frame), and its menu. The session client behind it
// is a SessionClient; this module is its `ui`.

import { $, h, menu, showView, toast } from './dom.js';
import { SessionClient, setPingEvery } from './session.js';
import { renderScreen } from './render.js';
import { applyFont, currentFont, fittingSize, isPhone, onDrivingSize, setFont } from './font.js';
import { closeTranscript, onTranscript, openTranscript, renderTranscriptScreen } from './transcript.js';
import { setCtrl } from './keys.js';
import { pasted, renderKeys } from './typing.js';
import { openStop } from './dialogs.js';
import { api, sessionPath } from './api.js';
import { tokenFor } from './machines.js';

/** The open session: { s: its SessionClient, renderQueued }, or null. */
let term = null;

/** The open session's client, or null. */
export function openSession() {
  return term ? term.s : null;
}

/** Whether the view shows session `name` of machine `env`. */
export function showing(env, name) {
  return !!term && term.s.env === env && term.s.name === name;
}

export function showTerm(env, name) {
  showView('term-view');
  const t = { s: null, renderQueued: false };
  t.s = new SessionClient(env, name, viewOf(t));
  term = t;
  $('term-name').textContent = name;
  $('term-where').textContent = '';
  $('term-sandbox').hidden = true;
  $('request').hidden = true;
  $('request').dataset.id = '';
  $('screen').replaceChildren();
  $('banner').hidden = true;
  $('transcript').hidden = true;
  $('history-btn').setAttribute('aria-pressed', 'false');
  $('stage').hidden = false;
  setCtrl(false);
  $('size-by').textContent = '';
  applyFont();
  updateWhere();
  updatePending();
  // The size this device drives when it types, said in its hello.
  t.s.core.size = fittingSize();
  t.s.core.label = deviceLabel();
  t.s.start();
}

/** How other viewers are told this device set the size. */
export function deviceLabel() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'browser';
  const kind = isPhone() ? 'phone' : navigator.maxTouchPoints > 0 && window.innerWidth < 1100 ? 'tablet' : 'desktop';
  return `${kind} · ${browser}`;
}

export function closeTerm() {
  const t = term;
  if (!t) return;
  t.s.close();
  term = null;
}

/** What the session client shows through, for the session of `t`. */
function viewOf(t) {
  const mine = (fn) => (...args) => {
    if (t === term) fn(...args);
  };
  return {
    state: mine(showState),
    pending: mine(updatePending),
    where: mine(updateWhere),
    banner: mine(banner),
    hideBanner: mine(() => { $('banner').hidden = true; }),
    screen: mine((change) => {
      if (change.resized) applyFont();
      if (change.titleChanged) updateWhere();
      queueRender();
    }),
    transcript: mine(onTranscript),
    size: mine(showSize),
  };
}

const WHY = { typed: 'typed', resized: 'resized it', fixed: 'fixed it', started: '' };

/** The session's size and who set it, for every viewer. */
function showSize(note) {
  const mine = note.yours === true;
  const who = mine ? 'this device' : note.by;
  const why = WHY[note.why] === undefined ? note.why : WHY[note.why];
  const el = $('size-by');
  el.textContent = `${note.mode === 'fixed' ? '🔒 ' : ''}${who}${why ? ` (${why})` : ''}`;
  el.dataset.mode = note.mode;
  el.dataset.by = note.by;
  el.title = note.mode === 'fixed'
    ? `${note.cols}×${note.rows}, kept at this size (${who} ${why || 'set it'}); typing does not resize it`
    : `${note.cols}×${note.rows}: ${who} ${why || 'set it'}; it follows whoever types`;
}

function updateWhere() {
  const t = term;
  if (!t) return;
  const s = t.s;
  const e = s.machine();
  const info = s.core.session || (e && (e.sessions || []).find((x) => x.name === s.name));
  const parts = [];
  // The branch first: on a phone the end of the line is cut.
  if (info && info.branch) parts.push(info.branch);
  if (e) parts.push(e.name === e.machine ? e.name : `${e.name} · ${e.machine}`);
  if (s.core.screen.title) parts.push(s.core.screen.title);
  $('term-where').textContent = parts.join(' · ');
  $('term-sandbox').hidden = !(info && info.sandboxed);
  const listed = e && (e.sessions || []).find((x) => x.name === s.name);
  const waits = listed && listed.attention;
  document.title = `${waits ? '(!) ' : ''}${s.name} · rcd`;
  updateRequest(t, waits && waits.request);
}

/** Ids of requests answered from this page: the list may still show
 *  them until its next poll. */
const answered = new Set();

const AGENTS = { claude: 'Claude Code', codex: 'Codex' };

/** The card of a pending permission request, above the key bar. */
function updateRequest(t, req) {
  const box = $('request');
  if (!req || answered.has(req.id)) {
    box.hidden = true;
    box.dataset.id = '';
    return;
  }
  if (box.dataset.id === req.id && !box.hidden) return;
  box.dataset.id = req.id;
  const who = AGENTS[req.agent] || req.agent || 'The agent';
  const title = h('div', 'request-title', `${who} asks to use ${req.tool}`);
  const detail = h('pre', 'request-detail', req.detail || '');
  const actions = h('div', 'request-actions');
  for (const [decision, label, cls] of [['deny', 'Deny', 'btn danger'], ['allow', 'Allow', 'btn primary']]) {
    const b = h('button', cls, label);
    b.type = 'button';
    b.dataset.answer = decision;
    b.addEventListener('click', () => answer(t, req.id, decision));
    actions.append(b);
  }
  box.replaceChildren(title, detail, actions);
  if (!req.detail) detail.remove();
  box.hidden = false;
}

async function answer(t, id, decision) {
  const box = $('request');
  const buttons = [...box.querySelectorAll('button')];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await api('POST', `${sessionPath(t.s.env, t.s.name)}/answer`, {
      token: tokenFor(t.s.env), body: { id, decision }, timeout: 30000,
    });
    answered.add(id);
    toast(decision === 'allow' ? 'Allowed.' : 'Denied.');
  } catch (e) {
    if (e.kind === 'nothing-to-answer') answered.add(id);
    toast(`Not answered: ${e.message}`);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    if (t === term && answered.has(id)) updateRequest(t, null);
  }
}

function banner(text, withBack) {
  const b = $('banner');
  b.replaceChildren(h('span', null, text));
  if (withBack) {
    const a = h('a', 'btn small', 'Back to the list');
    a.href = '#';
    b.append(a);
  }
  b.hidden = false;
}

function showState() {
  const s = term.s;
  const c = $('conn');
  c.dataset.state = s.state;
  const label = {
    connecting: 'connecting…',
    connected: 'connected',
    reconnecting: 'reconnecting…',
    offline: 'offline',
  }[s.state];
  $('conn-text').textContent = label;
  c.title = s.detail ? `${label} (${s.detail})` : label;
  updatePending();
}

function updatePending() {
  const t = term;
  const p = $('pending');
  if (!t) {
    p.hidden = true;
    return;
  }
  const s = t.s;
  const n = s.core.queue.pending.length;
  let text = '';
  if (s.state !== 'connected') {
    const why = s.state === 'offline'
      ? (s.detail || 'the machine is offline')
      : s.detail ? `${s.state === 'connecting' ? 'connecting' : 'reconnecting'}: ${s.detail}` : 'reconnecting';
    text = n ? `${n} input${n === 1 ? '' : 's'} waiting — sent once connected (${why})` : why;
  } else if (n > 3) {
    text = `${n} inputs waiting for the machine`;
  }
  p.textContent = text;
  p.hidden = !text;
  p.dataset.waiting = String(n);
  // The keys themselves, while disconnected: those never sent can be
  // cancelled (the others may have arrived; they are resent once).
  const q = $('queued');
  const waiting = s.state !== 'connected' ? s.core.queue.pending : [];
  q.hidden = !waiting.length;
  if (!waiting.length) return;
  $('queued-keys').textContent = renderKeys(decodeQueued(waiting));
  const c = s.core.queue.cancellable().length;
  const b = $('queued-cancel');
  b.hidden = !c;
  b.textContent = c === waiting.length ? 'Cancel' : `Cancel ${c} unsent`;
}

/** The text of queued inputs ([seq, base64, len, at]). */
function decodeQueued(items) {
  const dec = new TextDecoder();
  return items.map((p) => {
    const bin = atob(p[1]);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return dec.decode(bytes);
  }).join('');
}

function queueRender() {
  const t = term;
  if (t.renderQueued) return;
  t.renderQueued = true;
  // A hidden page gets no animation frames: render on return.
  if (document.hidden) return;
  requestAnimationFrame(render);
}

function render() {
  const t = term;
  if (!t) return;
  t.renderQueued = false;
  renderScreen($('screen'), t.s.core.screen, t.s.core.exited === null);
  if (!$('transcript').hidden) renderTranscriptScreen();
}

function sizeMode(t, mode) {
  if (t.s.setSizeMode(mode)) {
    toast(mode === 'fixed' ? 'The size stays as it is until someone resizes it.' : 'The size follows whoever types.');
  } else {
    toast('Not connected: try again once connected.');
  }
}

/** The visible screen as text, trailing blanks trimmed. */
function screenAsText(t) {
  const sc = t.s.core.screen;
  const rows = [];
  for (let i = 0; i < sc.nrows; i++) {
    const r = sc.rows[i];
    rows.push(r ? r.runs.map((x) => x.text).join('').replace(/\s+$/, '') : '');
  }
  while (rows.length && !rows[rows.length - 1]) rows.pop();
  return rows.join('\n') + '\n';
}

async function copyScreen(t) {
  const text = screenAsText(t);
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an insecure origin): the older way.
    const ta = h('textarea');
    ta.value = text;
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    if (!ok) {
      toast('Could not copy: this browser does not allow it here.');
      return;
    }
  }
  toast(`Copied ${text.split('\n').length - 1} lines.`);
}

async function pasteClipboard(t) {
  let text = '';
  try {
    text = await navigator.clipboard.readText();
  } catch {
    toast('Could not read the clipboard: paste into the line box instead.');
    return;
  }
  if (!text) {
    toast('The clipboard is empty.');
    return;
  }
  if (t.s.sendKeys(pasted(text, t.s.core.screen.bracketedPaste))) toast('Pasted.');
}

/** A swipe down past the top of the screen opens the transcript; one up
 *  past the end of the transcript (or its button) goes back. */
function initSwipe() {
  const SWIPE_PX = 60;
  const watch = (el, atEdge, dir, action) => {
    let y0 = null;
    el.addEventListener('touchstart', (e) => {
      y0 = e.touches.length === 1 && atEdge() ? e.touches[0].clientY : null;
    }, { passive: true });
    el.addEventListener('touchmove', (e) => {
      if (y0 === null || e.touches.length !== 1) return;
      const dy = e.touches[0].clientY - y0;
      if (dy * dir > SWIPE_PX) {
        y0 = null;
        action();
      }
    }, { passive: true });
    el.addEventListener('touchend', () => { y0 = null; }, { passive: true });
  };
  const wrap = $('screen-wrap');
  watch(wrap, () => wrap.scrollTop <= 0, 1, () => {
    if (term && $('transcript').hidden) openTranscript();
  });
  const body = $('transcript-body');
  watch(body, () => body.scrollTop + body.clientHeight >= body.scrollHeight - 2, -1, () => {
    if (term && !$('transcript').hidden) closeTranscript();
  });
}

function resizeSession() {
  const t = term;
  if (!t) return;
  const [rows, cols] = fittingSize();
  t.s.resize(rows, cols);
  toast(`Session resized to ${cols}×${rows} for every viewer.`);
}

// The page's comings and goings, for the open session.

export function pageHidden() {
  if (term) term.s.hiddenAt = Date.now();
}

export function pageShown() {
  if (!term) return;
  if (term.renderQueued) {
    term.renderQueued = false;
    queueRender();
  }
  term.s.wake('the page came back');
  term.s.hiddenAt = 0;
}

export function wake(why) {
  if (term) term.s.wake(why);
}

export function networkBack() {
  if (!term) return;
  term.s.attempts = 0;
  term.s.wake('the network came back');
}

export function networkGone() {
  if (term && term.s.state !== 'connected') term.s.setState('offline', 'no network');
}

/** What the end-to-end test reads (window.rcdDebug.state). */
export function debugState() {
  if (!term) return null;
  const s = term.s;
  return {
    state: s.state,
    clientId: s.core.clientId,
    pending: s.core.queue.pending.length,
    acked: s.core.queue.acked,
    version: s.core.screen.version,
    rows: s.core.screen.nrows,
    cols: s.core.screen.cols,
    sockets: s.opened,
    sizeNote: s.core.sizeNote,
    driving: s.core.size,
    label: deviceLabel(),
  };
}

/** A new heartbeat pace, for the open session too. */
export function heartbeatEvery(ms) {
  setPingEvery(ms);
  if (term) term.s.restartHeartbeat();
}

/** The buttons of the terminal view's header and toolbar. */
export function initTerm() {
  $('font-down').addEventListener('click', () => setFont(currentFont() - 1));
  $('font-up').addEventListener('click', () => setFont(currentFont() + 1));
  $('fit-btn').addEventListener('click', resizeSession);
  $('history-btn').addEventListener('click', () => {
    if ($('transcript').hidden) openTranscript();
    else closeTranscript();
  });
  for (const id of ['font-down', 'font-up', 'fit-btn', 'history-btn']) {
    // Keep the text box focused (and a phone's keyboard open).
    $(id).addEventListener('mousedown', (e) => e.preventDefault());
  }

  $('back-btn').addEventListener('click', () => { location.hash = ''; });

  onDrivingSize(([rows, cols]) => {
    if (term) term.s.setSize(rows, cols);
  });
  $('queued-cancel').addEventListener('click', () => {
    if (!term) return;
    const n = term.s.cancelQueued();
    toast(n ? `Cancelled ${n} input${n === 1 ? '' : 's'} never sent.` : 'Nothing left to cancel: what waits was sent already.');
  });
  initSwipe();

  $('term-menu-btn').addEventListener('click', () => {
    const t = term;
    if (!t) return;
    const [rows, cols] = fittingSize();
    const e = t.s.machine();
    const info = t.s.core.session;
    const s = (info && info.name === t.s.name && info)
      || (e && (e.sessions || []).find((x) => x.name === t.s.name));
    const note = t.s.core.sizeNote;
    const items = [
      ['Transcript: scroll back through earlier output', openTranscript],
      ['Copy the visible screen', () => copyScreen(t)],
      ['Paste the clipboard into the session', () => pasteClipboard(t)],
      ['Text bigger', () => setFont(currentFont() + 1)],
      ['Text smaller', () => setFont(currentFont() - 1)],
      ['Fit the text to the width', () => setFont('fit')],
      [`Resize the session to this screen (${cols}×${rows})`, resizeSession],
    ];
    if (s && s.spawn === 'worktree') items.push(['Review the changes', () => { location.hash = `#/d/${encodeURIComponent(t.s.env)}/${encodeURIComponent(t.s.name)}`; }]);
    if (note) {
      items.push(note.mode === 'fixed'
        ? ['Size: follow whoever types (now fixed)', () => sizeMode(t, 'latest')]
        : [`Size: keep ${note.cols}×${note.rows} (now follows whoever types)`, () => sizeMode(t, 'fixed')]);
    }
    if (e && s) items.push(['Stop this session…', () => openStop(e, s, () => { location.hash = ''; }), 'danger']);
    menu(t.s.name, items);
  });
}
