// rcd's service worker: it shows the relay's Web Push messages as
// notifications and opens the session of the one tapped.
//
// Served at /sw.js so that its scope is the whole app ('/'). It caches
// nothing and handles no fetch: the page always comes from the relay.
// A push carries {env, machine, session, kind, since} and, when this
// device opted in, message (docs/PROTOCOL.md, "Push").

'use strict';

// What a session waiting for a person is said to do, without its words.
const SAYS = {
  bell: 'rang the bell',
  notification: 'needs you',
  permission: 'asks permission',
  question: 'asks a question',
  finished: 'finished',
  exited: 'exited',
};

self.addEventListener('install', () => {
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  // Open pages get their notifications' clicks at once.
  event.waitUntil(self.clients.claim());
});

/** What the notification of push payload `p` says. */
function notification(p) {
  const name = typeof p.session === 'string' ? p.session : '';
  const machine = typeof p.machine === 'string' ? p.machine : '';
  const title = name ? (machine ? `${name} on ${machine}` : name) : 'rcd';
  const said = typeof p.message === 'string' ? p.message.trim() : '';
  const body = said || SAYS[p.kind] || 'needs you';
  return {
    title,
    options: {
      body,
      // A newer push about the same session replaces the older one.
      tag: `rcd:${p.env || ''}/${name}`,
      renotify: true,
      data: { env: p.env || null, session: name || null },
    },
  };
}

self.addEventListener('push', (event) => {
  let p = {};
  try {
    p = event.data ? event.data.json() : {};
  } catch {
    p = {};
  }
  const n = notification(p && typeof p === 'object' ? p : {});
  event.waitUntil(self.registration.showNotification(n.title, n.options));
});

/** The app's address of a session, or of the list. */
function sessionUrl(d) {
  const e = encodeURIComponent;
  const hash = d && d.env && d.session ? `#/s/${e(d.env)}/${e(d.session)}` : '';
  return new URL(`/${hash}`, self.location.origin).href;
}

/** Shows `url` in an open window of the app (it routes by its hash), or
 *  opens one. */
async function openAt(url) {
  const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const win = wins.find((w) => new URL(w.url).origin === self.location.origin);
  if (win) {
    win.postMessage({ kind: 'open', url });
    await win.focus().catch(() => {});
    return;
  }
  await self.clients.openWindow(url);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const done = openAt(sessionUrl(event.notification.data));
  event.waitUntil(done);
});
