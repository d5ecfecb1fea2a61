// rcd device UI: pairing, machines and sessions, and a live terminal.
//
// Plain JavaScript modules, no dependencies and no build step, loaded
// from the relay only (its Content-Security-Policy allows nothing else).
// The session protocol is the one of docs/PROTOCOL.md ("Relay"): an
// attach WebSocket opened with a one-time ticket, DeviceFrame envelopes,
// and inside them DeviceMsg / DaemonMsg: hello with a client_id that is
// stable per tab and session, screen frames that are acknowledged one by
// one, and input numbered per client_id and kept until the daemon
// acknowledges it, so that keys typed while the connection is down are
// delivered exactly once after the next hello. ctl/src/remote/session.rs
// is the Rust twin of this client.
//
// This module is the entry: it routes between the views and wires the
// page's events to them. The imports form a line, no cycle:
//
//   app.js ─┬─ pairing.js
//           ├─ list.js ── dialogs.js, machines.js
//           ├─ notify.js (and sw.js, the service worker, not a module)
//           ├─ term.js ─┬─ session.js ── core.js ── inputqueue.js, screen.js
//           │           │      └──────── liveness.js, backoff.js, tabs.js, machines.js
//           │           ├─ render.js ── cells.js
//           │           └─ transcript.js, font.js, keys.js, dialogs.js
//           └─ and nearly all of them: dom.js, api.js
//
// core.js and what it imports, liveness.js, backoff.js and cells.js touch
// neither the DOM nor browser globals: node's tests import them.

import { TOKENS_KEY, onAllTokensRevoked, tokens } from './api.js';
import { initPairing, pairWith, setPairMessage, showPair } from './pairing.js';
import { initList, pollList, renderListStatus, showList, stopList } from './list.js';
import { initDialogs } from './dialogs.js';
import {
  closeTerm, debugState, heartbeatEvery, initTerm, networkBack, networkGone, openSession,
  pageHidden, pageShown, showTerm, showing, wake,
} from './term.js';
import { applyFont, initFont } from './font.js';
import { initTranscript } from './transcript.js';
import { initKeys } from './keys.js';
import { setStaleAfter } from './session.js';
import { closeDiff, initDiff, showDiff } from './diff.js';
import { initNotify, refreshNotify } from './notify.js';

// ---------------------------------------------------------------------
// Routing: '' the list, '#/s/ENV/NAME' a session, '#/d/ENV/NAME' its
// changes, '#pair=CODE' pairing.

let current = null; // 'pair' | 'list' | 'term' | 'diff'

function route() {
  const hash = location.hash;
  const pair = /[#&]pair=([A-Za-z0-9 _-]{1,40})/.exec(hash);
  if (pair) {
    // The code is a secret: out of the address bar and history at once.
    history.replaceState(null, '', location.pathname + location.search);
    leave();
    current = 'pair';
    pairWith(pair[1], true, paired);
    return;
  }
  if (!tokens().length) {
    leave();
    current = 'pair';
    showPair();
    return;
  }
  const m = /^#\/s\/([^/]+)\/([^/]+)$/.exec(hash);
  if (m) {
    const env = decodeURIComponent(m[1]);
    const name = decodeURIComponent(m[2]);
    if (current === 'term' && showing(env, name)) return;
    leave();
    current = 'term';
    showTerm(env, name);
    return;
  }
  const d = /^#\/d\/([^/]+)\/([^/]+)$/.exec(hash);
  if (d) {
    leave();
    current = 'diff';
    showDiff(decodeURIComponent(d[1]), decodeURIComponent(d[2]));
    return;
  }
  if (hash === '#/pair') {
    leave();
    current = 'pair';
    showPair();
    return;
  }
  if (current !== 'list') {
    leave();
    current = 'list';
    showList();
    refreshNotify();
  }
}

function leave() {
  if (current === 'term') closeTerm();
  if (current === 'list') stopList();
  if (current === 'diff') closeDiff();
  current = null;
}

/** Paired, or unpaired: to the list, or the pairing view. */
function paired() {
  location.hash = '';
  current = null;
  route();
}

onAllTokensRevoked(() => {
  setPairMessage('The relay no longer accepts this browser (its token was revoked or the relay was reset). Pair it again.');
  location.hash = '';
  route();
});

const screenModel = () => {
  const s = openSession();
  return s ? s.core.screen : null;
};

initPairing(paired);
initDiff();
initList(() => current === 'list', paired);
initDialogs();
initTerm();
initFont(screenModel);
initTranscript(openSession);
initKeys(openSession);
initNotify();

window.addEventListener('resize', () => {
  if (current === 'term') applyFont();
});

// ---------------------------------------------------------------------
// Coming back: tab shown, window focused, network back, page restored.

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    pageHidden();
    return;
  }
  if (current === 'list') pollList();
  pageShown();
});
window.addEventListener('focus', () => wake('focus'));
window.addEventListener('online', () => {
  networkBack();
  if (current === 'list') pollList();
});
window.addEventListener('offline', () => {
  networkGone();
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
  state: debugState,
  staleAfter: setStaleAfter,
  heartbeatEvery,
};

route();
