// rcd device UI: pairing, machines and sessions, and a live terminal.
//
// Plain JavaScript, no dependencies, loaded from the relay only (its
// Content-Security-Policy allows nothing else). The session protocol is the
// one of docs/PROTOCOL.md ("Relay"): an attach WebSocket opened with a
// one-time ticket, DeviceFrame envelopes, and inside them DeviceMsg /
// DaemonMsg: hello with a client_id that is stable per tab and session,
// screen frames that are acknowledged one by one, and input numbered per
// client_id and kept until the daemon acknowledges it, so that keys typed
// while the connection is down are delivered exactly once after the next
// hello. ctl/src/remote/session.rs is the Rust twin of this client.
'use strict';

(() => {
  const API = '/api/v1';
  const PROTOCOL = 1;
  /** Heartbeat to the relay on the attach socket; two missed pongs = dead. */
  let pingEveryMs = 10000;
  /** After the page comes back, a pong must arrive this soon. */
  const PROBE_MS = 700;
  /** A page hidden this long replaces its socket on return, unasked. */
  const LONG_HIDDEN_MS = 3000;
  const BACKOFF_BASE_MS = 250;
  const BACKOFF_CAP_MS = 4000;
  /** A socket that has not opened by then is given up. */
  const OPEN_TIMEOUT_MS = 6000;
  /** On a wake, a ticket fetch or an opening socket older than this is
   *  given up and started again at once. */
  const WAKE_STALE_MS = 800;
  const LIST_POLL_MS = 2000;
  /** Largest input message (bytes before base64). */
  const INPUT_CHUNK = 16 * 1024;
  /** Most bytes waiting for a connection; more is refused, visibly. */
  const MAX_PENDING_BYTES = 256 * 1024;
  /** Keys that waited longer for a connection are not sent (and the page
   *  says so): an answer typed minutes ago may no longer fit the screen. */
  let staleInputMs = 120000;
  const TRANSCRIPT_PAGE = 400;

  const $ = (id) => document.getElementById(id);

  /** An element with a class and text. */
  function h(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // ---------------------------------------------------------------------
  // Tokens: one per owner this browser was paired with.

  const TOKENS_KEY = 'rcd.tokens';

  function tokens() {
    try {
      const t = JSON.parse(localStorage.getItem(TOKENS_KEY) || '[]');
      return Array.isArray(t) ? t.filter((x) => x && typeof x.token === 'string') : [];
    } catch {
      return [];
    }
  }

  function saveTokens(list) {
    if (list.length) localStorage.setItem(TOKENS_KEY, JSON.stringify(list));
    else localStorage.removeItem(TOKENS_KEY);
  }

  function addToken(id, token) {
    const list = tokens().filter((t) => t.id !== id && t.token !== token);
    list.push({ id, token });
    saveTokens(list);
  }

  let pairMessage = '';

  /** A token was refused (revoked): forget it. */
  function dropToken(token) {
    const before = tokens();
    const after = before.filter((t) => t.token !== token);
    if (after.length === before.length) return;
    saveTokens(after);
    if (!after.length) {
      pairMessage = 'The relay no longer accepts this browser (its token was revoked or the relay was reset). Pair it again.';
      location.hash = '';
      route();
    }
  }

  // ---------------------------------------------------------------------
  // HTTP API

  class ApiError extends Error {
    constructor(status, kind, message) {
      super(message);
      this.status = status;
      this.kind = kind;
    }
  }

  async function api(method, path, { token, body, timeout = 15000, signal } = {}) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeout);
    // A caller's signal (a wake giving up on a fetch from before a sleep)
    // aborts it too.
    const cancel = () => ctl.abort();
    if (signal) {
      if (signal.aborted) ctl.abort();
      else signal.addEventListener('abort', cancel, { once: true });
    }
    let resp;
    try {
      resp = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
        signal: ctl.signal,
      });
    } catch {
      throw new ApiError(0, 'network', ctl.signal.aborted
        ? 'the relay did not answer in time'
        : 'cannot reach the relay');
    } finally {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', cancel);
    }
    let data = null;
    const text = await resp.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!resp.ok) {
      if (resp.status === 401 && token) dropToken(token);
      throw new ApiError(resp.status, (data && data.kind) || 'http',
        (data && data.message) || `the relay answered ${resp.status}`);
    }
    return data;
  }

  const enc = encodeURIComponent;
  const sessionPath = (env, name) => `/environments/${enc(env)}/sessions/${enc(name)}`;

  // ---------------------------------------------------------------------
  // Small UI helpers

  let toastTimer = null;
  function toast(msg, ms = 4000) {
    const t = $('toast');
    t.textContent = msg;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, ms);
  }

  function showError(el, msg) {
    el.textContent = msg || '';
    el.hidden = !msg;
  }

  function ago(secs) {
    if (!Number.isFinite(secs) || secs < 0) return '';
    if (secs < 10) return 'just now';
    if (secs < 60) return `${Math.floor(secs)} s ago`;
    if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
    if (secs < 86400) return `${Math.floor(secs / 3600)} h ago`;
    return `${Math.floor(secs / 86400)} d ago`;
  }

  function secsAgo(secs) {
    return secs < 120 ? `${Math.round(secs)} s ago` : ago(secs);
  }

  function sinceIso(iso) {
    const t = Date.parse(iso);
    return Number.isFinite(t) ? Math.max(0, (Date.now() - t) / 1000) : NaN;
  }

  function showView(id) {
    for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== id;
    document.body.dataset.view = id;
  }

  function openDialog(d) {
    if (!d.open) d.showModal();
  }

  function closeDialog(d) {
    if (d.open) d.close();
  }

  /** A menu sheet: items are [label, action, className]. */
  function menu(title, items) {
    $('menu-title').textContent = title;
    const box = $('menu-items');
    box.replaceChildren();
    for (const [label, action, cls] of items) {
      const b = h('button', 'menu-item' + (cls ? ' ' + cls : ''), label);
      b.type = 'button';
      b.addEventListener('click', () => {
        closeDialog($('menu-dialog'));
        action();
      });
      box.append(b);
    }
    openDialog($('menu-dialog'));
  }

  // ---------------------------------------------------------------------
  // Routing: '' the list, '#/s/ENV/NAME' a session, '#pair=CODE' pairing.

  let current = null; // 'pair' | 'list' | 'term'

  function route() {
    const hash = location.hash;
    const pair = /[#&]pair=([A-Za-z0-9 _-]{1,40})/.exec(hash);
    if (pair) {
      // The code is a secret: out of the address bar and history at once.
      history.replaceState(null, '', location.pathname + location.search);
      leave();
      pairWith(pair[1], true);
      return;
    }
    if (!tokens().length) {
      leave();
      showPair();
      return;
    }
    const m = /^#\/s\/([^/]+)\/([^/]+)$/.exec(hash);
    if (m) {
      const env = decodeURIComponent(m[1]);
      const name = decodeURIComponent(m[2]);
      if (current === 'term' && term && term.env === env && term.name === name) return;
      leave();
      showTerm(env, name);
      return;
    }
    if (hash === '#/pair') {
      leave();
      showPair();
      return;
    }
    if (current !== 'list') {
      leave();
      showList();
    }
  }

  function leave() {
    if (current === 'term') closeTerm();
    if (current === 'list') stopList();
    current = null;
  }

  // ---------------------------------------------------------------------
  // Pairing

  function showPair() {
    current = 'pair';
    showView('pair-view');
    for (const o of document.querySelectorAll('.origin')) o.textContent = location.origin;
    showError($('pair-error'), pairMessage);
    pairMessage = '';
    $('pair-back').hidden = !tokens().length;
    $('pair-code').focus({ preventScroll: true });
  }

  function deviceLabel() {
    const ua = navigator.userAgent;
    const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
      : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows'
        : /Linux/.test(ua) ? 'Linux' : 'unknown system';
    const br = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'browser';
    return `web: ${br} on ${os}`;
  }

  async function pairWith(code, fromLink) {
    showPair();
    const input = $('pair-code');
    const btn = $('pair-submit');
    input.value = code;
    btn.disabled = true;
    btn.textContent = 'Pairing…';
    try {
      const tok = await api('POST', '/pair', { body: { code: code.trim(), label: deviceLabel() } });
      addToken(tok.id, tok.token);
      input.value = '';
      location.hash = '';
      current = null;
      route();
      toast('This browser is paired.');
    } catch (e) {
      const why = e.status === 401
        ? `The code ${fromLink ? 'in this link ' : ''}was refused: it is wrong, used or expired (codes live 10 minutes and work once). Ask rcd for a new one (space bar in its terminal).`
        : e.message;
      showError($('pair-error'), why);
    } finally {
      btn.disabled = false;
      btn.textContent = 'Pair';
    }
  }

  $('pair-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = $('pair-code').value.trim();
    if (code) pairWith(code, false);
  });

  // ---------------------------------------------------------------------
  // Machines and sessions

  /** Last known environments, each with the token that sees it. */
  let envs = [];
  let listTimer = null;
  let listFailing = false;

  async function fetchEnvs() {
    const toks = tokens();
    const results = await Promise.allSettled(
      toks.map((t) => api('GET', '/environments', { token: t.token, timeout: 8000 })));
    const seen = new Map();
    let failure = null;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        for (const e of r.value || []) {
          if (!seen.has(e.id)) seen.set(e.id, { ...e, token: toks[i].token });
        }
      } else if (r.reason && r.reason.status !== 401) {
        failure = r.reason;
      }
    });
    if (failure && seen.size === 0) throw failure;
    return [...seen.values()];
  }

  function tokenFor(envId) {
    const e = envs.find((x) => x.id === envId);
    if (e) return e.token;
    const t = tokens();
    return t.length ? t[0].token : null;
  }

  async function refreshList() {
    try {
      envs = await fetchEnvs();
      listFailing = false;
      renderList();
    } catch (e) {
      listFailing = true;
      renderListStatus(e.message);
    }
  }

  function renderListStatus(msg) {
    const s = $('list-status');
    s.textContent = listFailing ? (navigator.onLine === false ? 'no network' : 'relay unreachable') : '';
    s.title = msg || '';
    s.className = 'net' + (listFailing ? ' bad' : '');
  }

  function showList() {
    current = 'list';
    document.title = 'rcd';
    showView('list-view');
    renderList();
    pollList();
  }

  function pollList() {
    clearTimeout(listTimer);
    if (current !== 'list') return;
    refreshList().finally(() => {
      if (current === 'list' && !document.hidden) listTimer = setTimeout(pollList, LIST_POLL_MS);
    });
  }

  function stopList() {
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

  function renderList() {
    renderListStatus();
    const box = $('machines');
    const q = $('search').value.trim().toLowerCase();
    const frag = document.createDocumentFragment();
    let shown = 0;
    for (const e of envs) {
      const envMatch = !q || e.name.toLowerCase().includes(q) || e.machine.toLowerCase().includes(q);
      const sessions = (e.sessions || [])
        .filter((s) => envMatch || s.name.toLowerCase().includes(q))
        .sort((a, b) => a.name.localeCompare(b.name));
      if (!envMatch && !sessions.length) continue;
      shown++;
      frag.append(machineCard(e, sessions));
    }
    box.replaceChildren(frag);
    const empty = $('list-empty');
    if (!envs.length) {
      empty.textContent = listFailing
        ? 'Cannot reach the relay; retrying…'
        : 'No machines yet. Start rcd on a machine with this relay and its enrollment token; it appears here once it is connected.';
      empty.hidden = false;
    } else if (!shown) {
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
    if (s.sandboxed) top.append(sandboxChip());
    const sub = h('div', 'session-sub');
    if (s.branch) sub.append(h('span', 'branch', s.branch));
    sub.append(h('span', 'when', s.last_activity
      ? `active ${ago(sinceIso(s.last_activity))}`
      : `started ${ago(sinceIso(s.created_at))}`));
    const cmd = (s.command || []).join(' ');
    if (cmd) sub.append(h('span', 'cmd', cmd));
    open.append(top, sub);
    const stop = h('button', 'btn small stop-btn', 'Stop');
    stop.type = 'button';
    stop.title = `Stop ${s.name}`;
    stop.setAttribute('aria-label', `Stop ${s.name}`);
    stop.disabled = !e.online;
    stop.addEventListener('click', () => openStop(e, s, false));
    li.append(open, stop);
    return li;
  }

  $('search').addEventListener('input', renderList);

  $('menu-btn').addEventListener('click', () => {
    menu('rcd', [
      ['Pair with another machine’s code', () => { location.hash = '#/pair'; }],
      ['Refresh', () => pollList()],
      ['Unpair this browser', unpair, 'danger'],
    ]);
  });

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
    location.hash = '';
    current = null;
    route();
  }

  // New session

  let newEnv = null;

  function openNew(e) {
    newEnv = e;
    $('new-env').textContent = e.name;
    $('new-name').value = '';
    for (const r of document.querySelectorAll('#new-form input[name=spawn]')) r.checked = r.value === e.spawn;
    showError($('new-error'), '');
    $('new-create').disabled = false;
    $('new-create').textContent = 'Create';
    openDialog($('new-dialog'));
    $('new-name').focus();
  }

  $('new-cancel').addEventListener('click', () => closeDialog($('new-dialog')));

  $('new-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const e = newEnv;
    if (!e) return;
    const name = $('new-name').value.trim();
    const checked = document.querySelector('#new-form input[name=spawn]:checked');
    const btn = $('new-create');
    btn.disabled = true;
    btn.textContent = 'Creating…';
    showError($('new-error'), '');
    try {
      const s = await api('POST', `/environments/${enc(e.id)}/sessions`, {
        token: e.token,
        body: { name: name || null, spawn: checked ? checked.value : null },
        timeout: 40000,
      });
      closeDialog($('new-dialog'));
      location.hash = `#/s/${enc(e.id)}/${enc(s.name)}`;
    } catch (err) {
      // The daemon's own words (e.g. "at capacity (2/2): …").
      showError($('new-error'), err.message);
    } finally {
      btn.disabled = false;
      btn.textContent = 'Create';
    }
  });

  // Stop

  let stopTarget = null;

  function openStop(e, s, fromTerm) {
    stopTarget = { e, s, fromTerm };
    $('stop-name').textContent = s.name;
    const wt = s.spawn === 'worktree' || !!s.branch;
    $('stop-text').textContent = `The program gets a hang-up signal, then is killed if it does not end. ` +
      (wt ? 'Its worktree and branch are removed only if they hold no work (no uncommitted change, untracked file or commit of their own); otherwise they are kept.'
        : 'It runs in the shared directory, which stays as it is.');
    $('stop-force-row').hidden = !wt;
    $('stop-force').checked = false;
    showError($('stop-error'), '');
    $('stop-confirm').disabled = false;
    $('stop-confirm').textContent = 'Stop session';
    openDialog($('stop-dialog'));
  }

  $('stop-cancel').addEventListener('click', () => closeDialog($('stop-dialog')));

  $('stop-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = stopTarget;
    if (!t) return;
    const btn = $('stop-confirm');
    btn.disabled = true;
    btn.textContent = 'Stopping…';
    try {
      const force = $('stop-force').checked && !$('stop-force-row').hidden;
      const report = await api('DELETE', `${sessionPath(t.e.id, t.s.name)}?force=${force}`, {
        token: t.e.token,
        timeout: 40000,
      });
      closeDialog($('stop-dialog'));
      showStopReport(report);
      if (t.fromTerm) location.hash = '';
      else refreshList();
    } catch (err) {
      showError($('stop-error'), err.message);
    } finally {
      btn.disabled = false;
      btn.textContent = 'Stop session';
    }
  });

  function showStopReport(r) {
    $('result-title').textContent = `Stopped ${r.name}`;
    const body = $('result-body');
    body.replaceChildren();
    if (r.exit_code !== null && r.exit_code !== undefined) {
      const sig = { 129: 'hang-up signal', 130: 'interrupt', 137: 'killed', 143: 'terminated' }[r.exit_code];
      body.append(h('p', null, `The program ended with status ${r.exit_code}${sig ? ` (${sig})` : ''}.`));
    }
    const w = r.worktree;
    const p = h('p', 'worktree-outcome');
    if (!w) {
      p.textContent = 'It had no worktree of its own: it ran in the shared directory.';
    } else if (w.action === 'kept') {
      p.dataset.action = 'kept';
      p.append(h('strong', null, 'The worktree was kept'),
        `: it holds work (${w.reason || 'changes'}).`);
      const where = h('div', 'mono small');
      where.textContent = `${w.path} (branch ${w.branch})`;
      p.append(where);
      body.append(p, h('p', 'muted', 'Nothing is lost. “rcctl worktrees” on that machine lists the kept worktrees.'));
    } else if (w.action === 'saved') {
      p.dataset.action = 'saved';
      p.append(h('strong', null, 'The worktree was removed after saving its work'),
        ` under ${w.saved_ref || 'refs/rcd/saved/'}.`);
    } else {
      p.dataset.action = w.action;
      p.append(h('strong', null, 'The worktree was removed'),
        `: it held no work${w.reason ? ` (${w.reason})` : ''}. Branch ${w.branch} is gone too.`);
    }
    if (!body.contains(p)) body.append(p);
    openDialog($('result-dialog'));
  }

  // ---------------------------------------------------------------------
  // Terminal colours and widths

  const CUBE = [0, 95, 135, 175, 215, 255];

  function colour(c) {
    if (c === null || c === undefined) return null;
    if (c[0] === '#') return c;
    const i = Number(c);
    if (!Number.isInteger(i) || i < 0 || i > 255) return null;
    if (i < 16) return `var(--c${i})`;
    if (i < 232) {
      const n = i - 16;
      return `rgb(${CUBE[Math.floor(n / 36)]},${CUBE[Math.floor(n / 6) % 6]},${CUBE[n % 6]})`;
    }
    const g = 8 + (i - 232) * 10;
    return `rgb(${g},${g},${g})`;
  }

  /** Terminal columns of one code point (a close cousin of wcwidth). */
  function cpWidth(cp) {
    if (cp < 0x300) return 1;
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f
      || (cp >= 0xfe20 && cp <= 0xfe2f)) return 0;
    if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f)
      || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff)
      || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60)
      || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f)
      || (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)) return 2;
    return 1;
  }

  /** The text of a run split at a column: [before, at, after]. */
  function splitAt(text, col) {
    let c = 0;
    let i = 0;
    const cps = Array.from(text);
    for (; i < cps.length; i++) {
      const w = cpWidth(cps[i].codePointAt(0));
      if (c >= col && w > 0) break;
      c += w;
    }
    let j = i + 1;
    while (j < cps.length && cpWidth(cps[j].codePointAt(0)) === 0) j++;
    return [cps.slice(0, i).join(''), cps.slice(i, j).join(''), cps.slice(j).join('')];
  }

  function textWidth(text) {
    let w = 0;
    for (const ch of text) w += cpWidth(ch.codePointAt(0));
    return w;
  }

  // ---------------------------------------------------------------------
  // Input queue: the JavaScript twin of rcctl's InputQueue, kept in
  // sessionStorage so a reload of the tab resumes with the same client_id.

  function randomId() {
    const a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return 'web-' + Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  class InputQueue {
    constructor(saved) {
      this.pending = []; // [seq, base64, bytes, typed at (ms)]
      this.next = 1;
      this.acked = 0;
      this.sent = 0;
      if (saved && Array.isArray(saved.pending)) {
        this.pending = saved.pending.filter((p) => Array.isArray(p) && p.length === 4);
        this.next = saved.next || 1;
        this.acked = saved.acked || 0;
      }
    }

    toJSON() {
      return { pending: this.pending, next: this.next, acked: this.acked };
    }

    bytes() {
      return this.pending.reduce((n, p) => n + p[2], 0);
    }

    push(b64, len) {
      const seq = this.next++;
      this.pending.push([seq, b64, len, Date.now()]);
      return seq;
    }

    /** Right after resume(): drops what waited too long, none of which
     *  was applied, and numbers the next input after the daemon's count.
     *  Returns how many were dropped. */
    dropStale(maxAgeMs) {
      const old = Date.now() - maxAgeMs;
      if (!this.pending.length || this.pending[0][3] >= old) return 0;
      const n = this.pending.length;
      // Keep the order: everything after a stale input goes too.
      this.pending = [];
      this.next = this.acked + 1;
      this.sent = this.acked;
      return n;
    }

    ack(seq) {
      if (seq <= this.acked) return;
      this.acked = seq;
      while (this.pending.length && this.pending[0][0] <= seq) this.pending.shift();
      this.sent = Math.max(this.sent, seq);
    }

    /** After the daemon's hello: it applied everything up to inputSeq. */
    resume(inputSeq) {
      if (inputSeq < this.acked) {
        // The daemon forgot this client: renumber after its count.
        let s = inputSeq;
        for (const p of this.pending) p[0] = ++s;
        this.next = s + 1;
        this.acked = inputSeq;
      } else {
        this.ack(inputSeq);
        this.next = Math.max(this.next, inputSeq + 1);
      }
      this.sent = inputSeq;
    }

    /** Queued inputs not sent on this connection; they count as sent now. */
    unsent() {
      const out = this.pending.filter((p) => p[0] > this.sent);
      if (this.pending.length) this.sent = Math.max(this.sent, this.pending[this.pending.length - 1][0]);
      return out;
    }
  }

  function b64(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  // Tabs: a duplicated tab copies sessionStorage, client_id included; two
  // tabs must never share one, so a tab asks before using a stored id.
  const myIds = new Set();
  const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('rcd-tabs') : null;
  const claims = new Map();
  if (tabs) {
    tabs.onmessage = (ev) => {
      const m = ev.data || {};
      if (m.q === 'who' && myIds.has(m.id)) tabs.postMessage({ a: 'mine', id: m.id });
      if (m.a === 'mine' && claims.has(m.id)) claims.get(m.id)();
    };
  }

  function claimId(id) {
    if (!tabs) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { claims.delete(id); resolve(true); }, 120);
      claims.set(id, () => { clearTimeout(timer); claims.delete(id); resolve(false); });
      tabs.postMessage({ q: 'who', id });
    });
  }

  // ---------------------------------------------------------------------
  // The terminal view

  /** The open session, or null. */
  let term = null;

  const keyBytes = {
    esc: '\x1b',
    tab: '\t',
    'ctrl-c': '\x03',
    'ctrl-d': '\x04',
    up: '\x1b[A',
    down: '\x1b[B',
    right: '\x1b[C',
    left: '\x1b[D',
    enter: '\r',
  };
  const ctrlArrows = { up: '\x1b[1;5A', down: '\x1b[1;5B', right: '\x1b[1;5C', left: '\x1b[1;5D' };

  /** The control character of a key, e.g. 'c' → 0x03; null if none. */
  function ctrlOf(ch) {
    if (!ch || ch.length !== 1) return null;
    if (ch === '?') return '\x7f';
    if (ch === ' ' || ch === '@' || ch === '2') return '\x00';
    const c = ch.toUpperCase().charCodeAt(0);
    if (c >= 0x40 && c <= 0x5f) return String.fromCharCode(c & 0x1f);
    return null;
  }

  function storageKey(env, name) {
    return `rcd.s.${env}/${name}`;
  }

  function showTerm(env, name) {
    current = 'term';
    showView('term-view');
    const key = storageKey(env, name);
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(key) || 'null');
    } catch {
      saved = null;
    }
    term = {
      env,
      name,
      key,
      clientId: saved && saved.cid ? saved.cid : randomId(),
      queue: new InputQueue(saved && saved.q),
      ws: null,
      state: 'connecting', // connecting | connected | reconnecting | offline
      detail: '',
      greeted: false,
      linkUp: null,
      attempts: 0,
      connecting: 0, // the running connect()'s number, or 0
      connGen: 0,
      connStarted: 0,
      ticketCtl: null,
      wsStarted: 0,
      retryTimer: null,
      pingTimer: null,
      probeTimer: null,
      openTimer: null,
      pingN: 0,
      lastPong: 0,
      closed: false,
      exited: null,
      gone: false,
      hiddenAt: document.hidden ? Date.now() : 0,
      pendingResize: null,
      transcriptWant: null,
      screen: { rows: [], version: 0, nrows: 0, cols: 80, cursor: [0, 0], cursorVisible: true, title: '' },
      dirty: new Set(),
      all: true,
      renderQueued: false,
      ctrl: false,
      infoTimer: null,
      session: null,
      ready: null,
      opened: 0,
    };
    myIds.add(term.clientId);
    $('term-name').textContent = name;
    $('term-where').textContent = '';
    $('term-sandbox').hidden = true;
    $('screen').replaceChildren();
    $('banner').hidden = true;
    $('transcript').hidden = true;
    $('history-btn').setAttribute('aria-pressed', 'false');
    $('stage').hidden = false;
    setCtrl(false);
    applyFont();
    updateWhere();
    updatePending();
    const t = term;
    t.ready = (saved && saved.cid ? claimId(saved.cid) : Promise.resolve(true)).then((mine) => {
      if (!mine && t === term) {
        // Another tab uses this id (a duplicated tab): start afresh.
        myIds.delete(t.clientId);
        t.clientId = randomId();
        t.queue = new InputQueue(null);
        myIds.add(t.clientId);
        saveTerm();
      }
    });
    saveTerm();
    setState('connecting', '');
    connect();
    pollInfo();
  }

  function closeTerm() {
    const t = term;
    if (!t) return;
    t.closed = true;
    abandonConnect(t);
    clearTimeout(t.retryTimer);
    clearInterval(t.pingTimer);
    clearTimeout(t.probeTimer);
    clearTimeout(t.openTimer);
    clearTimeout(t.infoTimer);
    if (t.ws) {
      const ws = t.ws;
      t.ws = null;
      ws.onclose = null;
      try {
        ws.close(1000, 'left');
      } catch {
        // already closing
      }
    }
    saveTerm();
    myIds.delete(t.clientId);
    term = null;
  }

  function saveTerm() {
    const t = term;
    if (!t) return;
    try {
      sessionStorage.setItem(t.key, JSON.stringify({ cid: t.clientId, q: t.queue }));
    } catch {
      // Storage full or disabled: the queue still lives in memory.
    }
  }

  function envOf(t) {
    return envs.find((e) => e.id === t.env) || null;
  }

  function updateWhere() {
    const t = term;
    if (!t) return;
    const e = envOf(t);
    const s = t.session || (e && (e.sessions || []).find((x) => x.name === t.name));
    const parts = [];
    if (e) parts.push(e.name === e.machine ? e.name : `${e.name} · ${e.machine}`);
    if (s && s.branch) parts.push(s.branch);
    if (t.screen.title) parts.push(t.screen.title);
    $('term-where').textContent = parts.join(' · ');
    $('term-sandbox').hidden = !(s && s.sandboxed);
    document.title = `${t.name} · rcd`;
  }

  /** Keeps the list fresh while a session is open: to name its machine
   *  and to notice when the session is gone. */
  function pollInfo() {
    const t = term;
    if (!t || t.closed || t.infoBusy) return;
    t.infoBusy = true;
    fetchEnvs().then((list) => {
      envs = list;
      if (t !== term) return;
      const e = envOf(t);
      const s = e && (e.sessions || []).find((x) => x.name === t.name);
      const wasGone = t.gone;
      // The machine is connected and lists no such session: a socket
      // would wait for nothing. (If it shows up again, so does the page.)
      t.gone = !!(e && e.online && !s && t.state !== 'connected');
      if (wasGone && !t.gone) {
        // A session of that name is back.
        $('banner').hidden = true;
        t.attempts = 0;
        connect();
      }
      if (t.gone && !wasGone) {
        // Nothing to reconnect to any more.
        clearTimeout(t.retryTimer);
        dropSocket(t);
        banner('This session is gone: it was stopped or it ended.', true);
        setState('offline', 'the session is gone');
      }
      updateWhere();
    }).catch(() => {}).finally(() => {
      t.infoBusy = false;
      clearTimeout(t.infoTimer);
      if (t === term && !t.closed) t.infoTimer = setTimeout(pollInfo, 5000);
    });
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

  function setState(state, detail) {
    const t = term;
    if (!t) return;
    t.state = state;
    t.detail = detail || '';
    const c = $('conn');
    c.dataset.state = state;
    const label = {
      connecting: 'connecting…',
      connected: 'connected',
      reconnecting: 'reconnecting…',
      offline: 'offline',
    }[state];
    $('conn-text').textContent = label;
    c.title = t.detail ? `${label} (${t.detail})` : label;
    updatePending();
  }

  function updatePending() {
    const t = term;
    const p = $('pending');
    if (!t) {
      p.hidden = true;
      return;
    }
    const n = t.queue.pending.length;
    let text = '';
    if (t.state !== 'connected') {
      const why = t.state === 'offline'
        ? (t.detail || 'the machine is offline')
        : t.detail ? `${t.state === 'connecting' ? 'connecting' : 'reconnecting'}: ${t.detail}` : 'reconnecting';
      text = n ? `${n} input${n === 1 ? '' : 's'} waiting — sent once connected (${why})` : why;
    } else if (n > 3) {
      text = `${n} inputs waiting for the machine`;
    }
    p.textContent = text;
    p.hidden = !text;
    p.dataset.waiting = String(n);
  }

  // Connection

  function backoff(attempt) {
    const d = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
    return d / 2 + Math.random() * d / 2;
  }

  function scheduleReconnect(why) {
    const t = term;
    if (!t || t.closed || t.gone) return;
    clearTimeout(t.retryTimer);
    const delay = backoff(t.attempts++);
    if (navigator.onLine === false) setState('offline', 'no network');
    else setState('reconnecting', why);
    t.retryTimer = setTimeout(connect, delay);
  }

  /** Drops the current socket (without waiting for a close handshake a
   *  dead peer never answers) and connects again at once. */
  function replaceSocket(why) {
    const t = term;
    if (!t || t.closed) return;
    dropSocket(t);
    t.attempts = 0;
    setState('reconnecting', why);
    connect();
  }

  function dropSocket(t) {
    clearInterval(t.pingTimer);
    clearTimeout(t.probeTimer);
    clearTimeout(t.openTimer);
    t.greeted = false;
    t.screen.version = 0;
    if (t.ws) {
      const ws = t.ws;
      t.ws = null;
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(4100, 'replaced');
      } catch {
        // never opened
      }
    }
  }

  async function connect() {
    const t = term;
    if (!t || t.closed || t.connecting || t.gone) return;
    clearTimeout(t.retryTimer);
    if (t.ws && t.ws.readyState <= WebSocket.OPEN) return;
    const gen = ++t.connGen;
    // A wake abandons this connect (bumping connGen) if it hangs.
    const stale = () => t !== term || t.closed || t.connGen !== gen;
    t.connecting = gen;
    t.connStarted = Date.now();
    const ctl = new AbortController();
    t.ticketCtl = ctl;
    try {
      await t.ready;
      if (stale()) return;
      if (!envOf(t) && tokens().length > 1) {
        // Which of this browser's tokens sees that machine?
        envs = await fetchEnvs().catch(() => envs);
        if (stale()) return;
      }
      const token = tokenFor(t.env);
      if (!token) return;
      let ticket;
      try {
        ticket = await api('POST', `${sessionPath(t.env, t.name)}/attach-ticket`,
          { token, timeout: 8000, signal: ctl.signal });
      } catch (e) {
        if (stale()) return;
        if (e.status === 401) return; // unpaired: dropToken has moved on
        scheduleReconnect(e.status === 404 ? 'the machine is not on the relay (yet)' : e.message);
        return;
      }
      if (stale()) return;
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const url = `${proto}//${location.host}${API}${sessionPath(t.env, t.name)}/attach?ticket=${enc(ticket.ticket)}`;
      const ws = new WebSocket(url);
      t.ws = ws;
      t.wsStarted = Date.now();
      t.openTimer = setTimeout(() => {
        if (t.ws === ws && ws.readyState !== WebSocket.OPEN) {
          dropSocket(t);
          scheduleReconnect('the relay did not answer');
        }
      }, OPEN_TIMEOUT_MS);
      ws.onopen = () => {
        if (t.ws !== ws) return;
        clearTimeout(t.openTimer);
        t.opened++;
        t.attempts = 0;
        t.pingN = 0;
        t.lastPong = 0;
        t.linkUp = null;
        clearInterval(t.pingTimer);
        t.pingTimer = setInterval(heartbeat, pingEveryMs);
        hello();
      };
      ws.onmessage = (ev) => {
        if (t.ws === ws) onFrame(ev.data);
      };
      ws.onclose = (ev) => {
        if (t.ws !== ws) return;
        t.ws = null;
        dropSocket(t);
        const why = ev.code === 1001 ? 'the relay restarted'
          : ev.code === 1008 ? 'this browser’s token was revoked'
            : ev.reason || 'the connection dropped';
        if (ev.code === 1008) {
          dropToken(tokenFor(t.env));
          return;
        }
        scheduleReconnect(why);
      };
    } finally {
      if (t.connecting === gen) {
        t.connecting = 0;
        t.ticketCtl = null;
      }
    }
  }

  /** Gives up on a connect() still fetching its ticket (from before a
   *  sleep, say): its late answer is ignored. */
  function abandonConnect(t) {
    if (!t.connecting) return;
    t.connGen++;
    t.connecting = 0;
    if (t.ticketCtl) t.ticketCtl.abort();
    t.ticketCtl = null;
  }

  function heartbeat() {
    const t = term;
    if (!t || !t.ws || t.ws.readyState !== WebSocket.OPEN) return;
    if (t.pingN >= t.lastPong + 2) {
      replaceSocket('two heartbeats went unanswered');
      return;
    }
    t.pingN++;
    sendFrame({ t: 'ping', n: t.pingN });
  }

  /** The page came back (tab shown, focus, network back): make sure the
   *  socket is alive within a second, or replace it. */
  function wake(why) {
    const t = term;
    if (!t || t.closed) return;
    if (t.gone) return;
    if (!t.ws || t.ws.readyState === WebSocket.CLOSING || t.ws.readyState === WebSocket.CLOSED) {
      // A ticket fetch that has run this long likely hangs on a dead
      // connection: start over now instead of waiting for its timeout.
      if (t.connecting && Date.now() - t.connStarted >= WAKE_STALE_MS) abandonConnect(t);
      t.attempts = 0;
      connect();
      return;
    }
    if (t.ws.readyState === WebSocket.CONNECTING) {
      // Likewise a socket still opening: replace it rather than wait for
      // the open timeout.
      if (Date.now() - t.wsStarted >= WAKE_STALE_MS) {
        t.attempts = 0;
        replaceSocket(why);
      }
      return;
    }
    if (t.ws.readyState !== WebSocket.OPEN) return;
    if (t.hiddenAt && Date.now() - t.hiddenAt >= LONG_HIDDEN_MS) {
      // Back from a sleep: a socket that old is likely dead; a new one
      // costs one full frame.
      t.hiddenAt = 0;
      replaceSocket(why);
      return;
    }
    if (t.probeTimer) return;
    t.pingN++;
    const n = t.pingN;
    sendFrame({ t: 'ping', n });
    t.probeTimer = setTimeout(() => {
      t.probeTimer = null;
      if (t === term && t.lastPong < n) replaceSocket(`no answer after ${why}`);
    }, PROBE_MS);
  }

  function sendFrame(f) {
    const t = term;
    if (!t || !t.ws || t.ws.readyState !== WebSocket.OPEN) return false;
    try {
      t.ws.send(JSON.stringify(f));
      return true;
    } catch {
      return false;
    }
  }

  function sendMsg(m) {
    return sendFrame({ t: 'data', data: JSON.stringify(m) });
  }

  function hello() {
    const t = term;
    t.greeted = false;
    t.screen.version = 0;
    sendMsg({ t: 'hello', protocol: PROTOCOL, client_id: t.clientId });
  }

  function onFrame(text) {
    const t = term;
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    switch (f.t) {
      case 'data': {
        let m;
        try {
          m = JSON.parse(f.data);
        } catch {
          return;
        }
        onDaemon(m);
        break;
      }
      case 'link':
        t.linkUp = !!f.up;
        if (f.up) {
          // A new link of the daemon knows nothing of this tab.
          setState('reconnecting', 'the machine is back; resuming');
          hello();
        } else {
          t.greeted = false;
          t.screen.version = 0;
          const e = envOf(t);
          setState('offline', t.exited !== null ? 'the program has ended'
            : e && e.online ? 'waiting for the session on the machine' : 'the machine is offline');
          // Stopped, or its machine went away? The list says which.
          clearTimeout(t.infoTimer);
          t.infoTimer = setTimeout(pollInfo, 300);
        }
        break;
      case 'ping':
        sendFrame({ t: 'pong', n: f.n });
        break;
      case 'pong':
        t.lastPong = Math.max(t.lastPong, f.n || 0);
        break;
      default:
    }
  }

  function onDaemon(m) {
    const t = term;
    switch (m.t) {
      case 'hello': {
        if (m.protocol !== PROTOCOL) {
          banner(`This session speaks protocol ${m.protocol}, this page speaks ${PROTOCOL}: reload the page, or update the older of rcd and the relay.`, true);
          dropSocket(t);
          t.closed = true;
          return;
        }
        t.greeted = true;
        t.session = m.session;
        t.gone = false;
        t.queue.resume(m.input_seq);
        const stale = t.queue.dropStale(staleInputMs);
        if (stale) {
          toast(`Not sent: ${stale} input${stale === 1 ? '' : 's'} typed over ${Math.round(staleInputMs / 1000)} s ago, while disconnected. Type again if still needed.`, 8000);
        }
        if (t.pendingResize) {
          sendMsg({ t: 'resize', rows: t.pendingResize[0], cols: t.pendingResize[1] });
          t.pendingResize = null;
        }
        flush();
        if (t.transcriptWant) sendMsg({ t: 'transcript', ...t.transcriptWant });
        if (m.session && m.session.state !== 'exited' && t.exited === null) $('banner').hidden = true;
        setState('connected', '');
        updateWhere();
        break;
      }
      case 'screen':
        if (!applyFrame(m)) {
          replaceSocket('the screen got out of step');
          return;
        }
        sendMsg({ t: 'ack', version: m.version });
        break;
      case 'input-ack':
        t.queue.ack(m.seq);
        saveTerm();
        updatePending();
        break;
      case 'transcript':
        onTranscript(m);
        break;
      case 'exited':
        t.exited = m.code;
        banner(`The program ended (status ${m.code}). The screen shows how it left off.`, true);
        break;
      case 'error':
        if (/input refused/.test(m.message)) {
          const n = t.queue.pending.length;
          t.queue.pending = [];
          saveTerm();
          updatePending();
          toast(`Not sent (${n} input${n === 1 ? '' : 's'}): ${m.message}`, 6000);
        } else {
          toast(m.message, 6000);
        }
        break;
      default:
    }
  }

  function flush() {
    const t = term;
    if (!t || !t.greeted) return;
    for (const [seq, data] of t.queue.unsent()) sendMsg({ t: 'input', seq, bytes: data });
    saveTerm();
    updatePending();
  }

  /** Sends keys: queued and numbered, then sent if the session is ready.
   *  Returns false (and says so) when they are refused. */
  function sendKeys(str) {
    const t = term;
    if (!t) return false;
    if (t.exited !== null) {
      toast('Not sent: the program has ended.');
      return false;
    }
    if (t.gone) {
      toast('Not sent: the session is gone.');
      return false;
    }
    // Full-screen programs that asked for application cursor keys get
    // arrows as ESC O A, as a real terminal would send them.
    if (t.appCursor) str = str.replace(/^\x1b\[([ABCD])$/, '\x1bO$1');
    const bytes = new TextEncoder().encode(str);
    if (t.queue.bytes() + bytes.length > MAX_PENDING_BYTES) {
      toast(`Not sent: ${t.queue.pending.length} inputs are still waiting for the connection.`, 6000);
      return false;
    }
    for (let i = 0; i < bytes.length; i += INPUT_CHUNK) {
      const chunk = bytes.subarray(i, i + INPUT_CHUNK);
      t.queue.push(b64(chunk), chunk.length);
    }
    saveTerm();
    flush();
    updatePending();
    return true;
  }

  // Screen

  function applyFrame(f) {
    const t = term;
    const s = t.screen;
    if (f.base !== 0 && f.base !== s.version) return false;
    const old = s.cursor[0];
    if (s.rows.length !== f.rows || s.cols !== f.cols) t.all = true;
    if (f.base === 0) {
      s.rows = new Array(f.rows).fill(null).map(() => ({ runs: [] }));
      t.all = true;
    }
    s.rows.length = f.rows;
    for (let i = 0; i < f.rows; i++) if (!s.rows[i]) s.rows[i] = { runs: [] };
    for (const [i, row] of f.changed) {
      if (i < f.rows) {
        s.rows[i] = row;
        t.dirty.add(i);
      }
    }
    s.version = f.version;
    const resized = s.nrows !== f.rows || s.cols !== f.cols;
    s.nrows = f.rows;
    s.cols = f.cols;
    if (resized) applyFont();
    s.cursor = f.cursor;
    s.cursorVisible = f.cursor_visible;
    t.appCursor = !!f.app_cursor;
    t.dirty.add(old);
    t.dirty.add(f.cursor[0]);
    if (s.title !== f.title) {
      s.title = f.title;
      updateWhere();
    }
    queueRender();
    return true;
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
    const s = t.screen;
    const box = $('screen');
    while (box.children.length > s.nrows) box.lastChild.remove();
    while (box.children.length < s.nrows) box.append(h('div', 'row'));
    const rows = t.all ? [...Array(s.nrows).keys()] : [...t.dirty];
    for (const i of rows) {
      if (i < 0 || i >= s.nrows) continue;
      const cur = s.cursorVisible && s.cursor[0] === i && t.exited === null ? s.cursor[1] : -1;
      renderRow(box.children[i], s.rows[i], cur);
    }
    t.all = false;
    t.dirty.clear();
    if (!$('transcript').hidden) renderTranscriptScreen();
  }

  function styleSpan(run, text) {
    const plain = !run.fg && !run.bg && !run.bold && !run.italic && !run.underline && !run.inverse;
    if (plain) return document.createTextNode(text);
    const sp = document.createElement('span');
    sp.textContent = text;
    let fg = colour(run.fg);
    let bg = colour(run.bg);
    if (run.inverse) {
      [fg, bg] = [bg || 'var(--term-bg)', fg || 'var(--term-fg)'];
    }
    if (fg) sp.style.color = fg;
    if (bg) sp.style.backgroundColor = bg;
    if (run.bold) sp.classList.add('b');
    if (run.italic) sp.classList.add('i');
    if (run.underline) sp.classList.add('u');
    return sp;
  }

  function renderRow(div, row, cursorCol) {
    const frag = document.createDocumentFragment();
    let col = 0;
    let placed = cursorCol < 0;
    for (const run of (row && row.runs) || []) {
      const w = textWidth(run.text);
      if (!placed && cursorCol >= col && cursorCol < col + w) {
        const [a, at, b] = splitAt(run.text, cursorCol - col);
        if (a) frag.append(styleSpan(run, a));
        const c = styleSpan(run, at || ' ');
        const cs = c.nodeType === 3 ? h('span', null, c.textContent) : c;
        cs.classList.add('cursor');
        frag.append(cs);
        if (b) frag.append(styleSpan(run, b));
        placed = true;
      } else {
        frag.append(styleSpan(run, run.text));
      }
      col += w;
    }
    if (!placed) {
      if (cursorCol > col) frag.append(document.createTextNode(' '.repeat(cursorCol - col)));
      frag.append(h('span', 'cursor', ' '));
    }
    div.replaceChildren(frag);
  }

  // Font size: fit to width by default; A−/A+ and pinch pick a size.

  const FONT_KEY = 'rcd.font';
  let charRatio = 0;

  function measureRatio() {
    const m = $('measure');
    m.style.fontSize = '100px';
    const w = m.getBoundingClientRect().width;
    charRatio = w > 0 ? w / 10 / 100 : 0.6;
  }

  function fontSetting() {
    const v = localStorage.getItem(FONT_KEY);
    const n = Number(v);
    return v && Number.isFinite(n) && n >= 4 && n <= 40 ? n : 'fit';
  }

  function fitSize() {
    if (!charRatio) measureRatio();
    const wrap = $('screen-wrap');
    const width = wrap.clientWidth - 12;
    const cols = (term && term.screen.cols) || 80;
    return Math.max(4, Math.min(16, Math.floor((width / (cols * charRatio)) * 10) / 10));
  }

  function currentFont() {
    const s = fontSetting();
    return s === 'fit' ? fitSize() : s;
  }

  function applyFont() {
    const px = currentFont();
    const sc = $('screen');
    sc.style.fontSize = `${px}px`;
    sc.dataset.font = String(px);
    updateFit();
  }

  /** Shows the Fit button when the session's size differs from what this
   *  screen holds at the current text size. */
  function updateFit() {
    const t = term;
    const b = $('fit-btn');
    if (!t || !t.screen.nrows || $('stage').hidden) {
      b.hidden = true;
      $('size-label').textContent = '';
      return;
    }
    const [rows, cols] = fittingSize();
    $('fit-size').textContent = `${cols}×${rows}`;
    $('size-label').textContent = `${t.screen.cols}×${t.screen.nrows}`;
    b.hidden = rows === t.screen.nrows && cols === t.screen.cols;
  }

  function setFont(px) {
    if (px === 'fit') localStorage.removeItem(FONT_KEY);
    else localStorage.setItem(FONT_KEY, String(Math.max(4, Math.min(40, Math.round(px * 2) / 2))));
    applyFont();
  }

  /** The rows and columns this screen area holds at the current size. */
  function fittingSize() {
    if (!charRatio) measureRatio();
    const wrap = $('screen-wrap');
    const px = currentFont();
    const cols = Math.floor((wrap.clientWidth - 12) / (px * charRatio));
    const rows = Math.floor((wrap.clientHeight - 12) / (px * 1.25));
    return [Math.max(2, Math.min(500, rows)), Math.max(10, Math.min(500, cols))];
  }

  function resizeSession() {
    const t = term;
    if (!t) return;
    const [rows, cols] = fittingSize();
    if (t.greeted) sendMsg({ t: 'resize', rows, cols });
    else t.pendingResize = [rows, cols];
    toast(`Session resized to ${cols}×${rows} for every viewer.`);
  }

  window.addEventListener('resize', () => {
    if (current === 'term') applyFont();
  });

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

  if (window.visualViewport) {
    const vv = window.visualViewport;
    const fit = () => document.documentElement.style.setProperty('--app-h', `${vv.height}px`);
    vv.addEventListener('resize', fit);
    fit();
  }

  // Pinch to zoom the terminal text (two fingers on the screen).
  {
    const pts = new Map();
    let start = null;
    const wrap = $('screen-wrap');
    const dist = () => {
      const [a, b] = [...pts.values()];
      return Math.hypot(a.x - b.x, a.y - b.y);
    };
    wrap.addEventListener('pointerdown', (e) => {
      pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pts.size === 2) start = { d: dist(), px: currentFont() };
    });
    wrap.addEventListener('pointermove', (e) => {
      if (!pts.has(e.pointerId)) return;
      pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pts.size === 2 && start && start.d > 0) {
        const px = start.px * (dist() / start.d);
        $('screen').style.fontSize = `${Math.max(4, Math.min(40, px))}px`;
      }
    });
    const end = (e) => {
      if (pts.size === 2 && start && start.d > 0) setFont(start.px * (dist() / start.d));
      pts.delete(e.pointerId);
      if (pts.size < 2) start = null;
    };
    wrap.addEventListener('pointerup', end);
    wrap.addEventListener('pointercancel', end);
  }

  // Transcript

  /** The transcript view: lines [first, last) are shown; `range` is a
   *  fetch in progress, gathered page by page (the daemon may shorten a
   *  page to fit one message). */
  const tr = { first: 0, last: 0, range: null };

  function openTranscript() {
    const t = term;
    if (!t) return;
    $('transcript').hidden = false;
    $('stage').hidden = true;
    $('transcript-lines').textContent = '';
    $('transcript-more').hidden = true;
    $('transcript-info').textContent = 'loading…';
    tr.first = 0;
    tr.last = 0;
    tr.range = null;
    $('history-btn').setAttribute('aria-pressed', 'true');
    updateFit();
    renderTranscriptScreen();
    // A page from beyond the end says how long the transcript is.
    askTranscript(Number.MAX_SAFE_INTEGER, 1);
  }

  function closeTranscript() {
    $('transcript').hidden = true;
    $('stage').hidden = false;
    if (term) term.transcriptWant = null;
    tr.range = null;
    $('history-btn').setAttribute('aria-pressed', 'false');
    applyFont();
  }

  function askTranscript(from, maxLines) {
    const t = term;
    t.transcriptWant = { from, max_lines: maxLines };
    if (t.greeted) sendMsg({ t: 'transcript', from, max_lines: maxLines });
  }

  /** Fetches lines [from, end). */
  function fetchRange(from, end, initial) {
    tr.range = { from, end, initial, lines: [] };
    askTranscript(from, Math.min(TRANSCRIPT_PAGE, end - from));
  }

  function onTranscript(page) {
    const t = term;
    t.transcriptWant = null;
    if ($('transcript').hidden) return;
    const body = $('transcript-body');
    const pre = $('transcript-lines');
    const r = tr.range;
    if (!r) {
      // The answer to the length probe.
      if (page.total === 0) {
        $('transcript-info').textContent = 'nothing has scrolled off the screen yet';
        return;
      }
      fetchRange(Math.max(1, page.total - TRANSCRIPT_PAGE + 1), page.total + 1, true);
      return;
    }
    r.lines.push(...page.lines);
    const next = page.from + page.lines.length;
    if (page.lines.length && next < r.end) {
      askTranscript(next, Math.min(TRANSCRIPT_PAGE, r.end - next));
      return;
    }
    tr.range = null;
    const text = r.lines.join('\n');
    if (r.initial) {
      pre.textContent = text;
      tr.last = r.from + r.lines.length;
      body.scrollTop = body.scrollHeight;
    } else {
      // Earlier lines: prepend them and keep what was on screen in place.
      const before = body.scrollHeight;
      pre.textContent = text + (pre.textContent ? '\n' + pre.textContent : '');
      body.scrollTop += body.scrollHeight - before;
    }
    tr.first = r.from;
    $('transcript-info').textContent = `lines ${tr.first}–${tr.last - 1} of ${page.total}`;
    $('transcript-more').hidden = tr.first <= 1;
  }

  function renderTranscriptScreen() {
    const t = term;
    if (!t) return;
    const lines = t.screen.rows.map((r) => (r.runs || []).map((x) => x.text).join('').trimEnd());
    while (lines.length && !lines[lines.length - 1]) lines.pop();
    $('transcript-screen').textContent = lines.join('\n');
  }

  $('transcript-more').addEventListener('click', () => {
    if (tr.range || tr.first <= 1) return;
    fetchRange(Math.max(1, tr.first - TRANSCRIPT_PAGE), tr.first, false);
  });
  $('transcript-close').addEventListener('click', closeTranscript);

  // Keys

  function setCtrl(on) {
    if (term) term.ctrl = on;
    const k = $('ctrl-key');
    k.classList.toggle('on', on);
    k.setAttribute('aria-pressed', String(on));
  }

  const keys = $('keys');
  // Keep the text box focused (and a phone's keyboard open) on key taps.
  keys.addEventListener('pointerdown', (e) => e.preventDefault());
  keys.addEventListener('mousedown', (e) => e.preventDefault());
  keys.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-key]');
    if (!b || !term) return;
    const k = b.dataset.key;
    if (k === 'ctrl') {
      setCtrl(!term.ctrl);
      return;
    }
    let bytes = keyBytes[k];
    if (term.ctrl && ctrlArrows[k]) bytes = ctrlArrows[k];
    setCtrl(false);
    if (bytes) sendKeys(bytes);
  });

  const line = $('line');
  let lineBefore = '';
  line.addEventListener('beforeinput', () => { lineBefore = line.value; });
  line.addEventListener('input', (e) => {
    if (!term || !term.ctrl) return;
    // Sticky Ctrl: the next character typed becomes its control key.
    const typed = e.data || line.value.slice(lineBefore.length);
    const c = ctrlOf(typed ? typed.slice(-1) : '');
    line.value = lineBefore;
    setCtrl(false);
    if (c) sendKeys(c);
  });
  line.addEventListener('keydown', (e) => {
    if (!term || e.isComposing) return;
    const empty = line.value === '';
    if (e.key === 'Escape') {
      e.preventDefault();
      sendKeys('\x1b');
    } else if (empty && (e.key === 'ArrowUp' || e.key === 'ArrowDown' || e.key === 'Tab')) {
      e.preventDefault();
      sendKeys({ ArrowUp: '\x1b[A', ArrowDown: '\x1b[B', Tab: '\t' }[e.key]);
    } else if (empty && e.key === 'Backspace') {
      e.preventDefault();
      sendKeys('\x7f');
    } else if (empty && e.ctrlKey && !e.altKey && !e.metaKey && e.key.length === 1
      && e.key.toLowerCase() !== 'v') {
      // On an empty line, Ctrl+key goes to the session (Ctrl-C, Ctrl-D...).
      const c = ctrlOf(e.key);
      if (c) {
        e.preventDefault();
        sendKeys(c);
      }
    }
  });
  $('line-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = line.value;
    if (sendKeys(v + '\r')) line.value = '';
  });

  // Typing straight into the screen (a desktop keyboard).
  const screenEl = $('screen');
  screenEl.addEventListener('keydown', (e) => {
    if (!term || e.isComposing || e.metaKey) return;
    const named = {
      Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: '\x1b',
      ArrowUp: '\x1b[A', ArrowDown: '\x1b[B', ArrowRight: '\x1b[C', ArrowLeft: '\x1b[D',
      Home: '\x1b[H', End: '\x1b[F', Delete: '\x1b[3~', PageUp: '\x1b[5~', PageDown: '\x1b[6~',
      Insert: '\x1b[2~',
    };
    let out = null;
    if (e.ctrlKey && !e.altKey && e.key.length === 1) {
      if ((e.key === 'c' || e.key === 'C') && window.getSelection().toString()) return;
      if (e.key === 'v' || e.key === 'V') return; // paste
      out = ctrlOf(e.key);
    } else if (named[e.key]) {
      out = named[e.key];
    } else if (e.key.length >= 1 && [...e.key].length === 1) {
      out = (e.altKey ? '\x1b' : '') + e.key;
    }
    if (out) {
      e.preventDefault();
      if (term.ctrl && out.length === 1) {
        out = ctrlOf(out) || out;
        setCtrl(false);
      }
      sendKeys(out);
    }
  });
  screenEl.addEventListener('paste', (e) => {
    const text = e.clipboardData && e.clipboardData.getData('text');
    if (text && term) {
      e.preventDefault();
      sendKeys(text.replace(/\r?\n/g, '\r'));
    }
  });

  $('back-btn').addEventListener('click', () => { location.hash = ''; });

  $('term-menu-btn').addEventListener('click', () => {
    const t = term;
    if (!t) return;
    const [rows, cols] = fittingSize();
    const e = envOf(t);
    const s = (t.session && t.session.name === t.name && t.session)
      || (e && (e.sessions || []).find((x) => x.name === t.name));
    const items = [
      ['Transcript: scroll back through earlier output', openTranscript],
      ['Text bigger', () => setFont(currentFont() + 1)],
      ['Text smaller', () => setFont(currentFont() - 1)],
      ['Fit the text to the width', () => setFont('fit')],
      [`Resize the session to this screen (${cols}×${rows})`, resizeSession],
    ];
    if (e && s) items.push(['Stop this session…', () => openStop(e, s, true), 'danger']);
    menu(t.name, items);
  });

  // ---------------------------------------------------------------------
  // Coming back: tab shown, window focused, network back, page restored.

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      if (term) term.hiddenAt = Date.now();
      return;
    }
    if (current === 'list') pollList();
    if (term) {
      if (term.renderQueued) {
        term.renderQueued = false;
        queueRender();
      }
      wake('the page came back');
      term.hiddenAt = 0;
    }
  });
  window.addEventListener('focus', () => wake('focus'));
  window.addEventListener('online', () => {
    if (term) {
      term.attempts = 0;
      wake('the network came back');
    }
    if (current === 'list') pollList();
  });
  window.addEventListener('offline', () => {
    if (term && term.state !== 'connected') setState('offline', 'no network');
    if (current === 'list') renderListStatus();
  });
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) wake('the page was restored');
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('storage', (e) => {
    if (e.key === TOKENS_KEY) route();
  });

  // The end-to-end test reads state through this (nothing else uses it).
  window.rcdDebug = {
    state: () => (term ? {
      state: term.state,
      clientId: term.clientId,
      pending: term.queue.pending.length,
      acked: term.queue.acked,
      version: term.screen.version,
      rows: term.screen.nrows,
      cols: term.screen.cols,
      sockets: term.opened,
    } : null),
    staleAfter: (ms) => { staleInputMs = ms; },
    heartbeatEvery: (ms) => {
      pingEveryMs = ms;
      if (term && term.ws) {
        clearInterval(term.pingTimer);
        term.pingTimer = setInterval(heartbeat, ms);
      }
    },
  };

  route();
})();
