// Notifications on this device: the service worker (/sw.js) shows the
// relay's Web Push messages; this module registers it, and turns pushes
// on and off for this browser with the switch under the machine list.
//
// On: the browser's permission, a subscription to its push service with
// the relay's key (GET /push/key), and that subscription saved with the
// relay under each of this browser's device tokens (PUT /push/subscription,
// with the message-text opt-in). Off: unsubscribed and deleted. A tapped
// notification opens its session: the worker tells an open page where to
// go, and the page routes there by its hash.

import { $, showError } from './dom.js';
import { api, tokens } from './api.js';

const WORKER = '/sw.js';
/** How long the browser's push service may take to subscribe. */
const SUBSCRIBE_MS = 15000;

let busy = false;

function supported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** iPhone and iPad deliver pushes only to an app added to the Home
 *  Screen and opened from there. */
function iosInBrowser() {
  const ios = /iPad|iPhone|iPod/.test(navigator.userAgent)
    || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
  const standalone = navigator.standalone === true
    || window.matchMedia('(display-mode: standalone)').matches;
  return ios && !standalone;
}

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function sameKey(a, b) {
  if (!a) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

async function registration() {
  await navigator.serviceWorker.register(WORKER, { scope: '/' });
  return within(navigator.serviceWorker.ready, 10000, 'the service worker did not start');
}

async function currentSubscription() {
  const reg = await navigator.serviceWorker.getRegistration('/');
  return reg ? reg.pushManager.getSubscription() : null;
}

/** Saves `sub` with the relay under every token of this browser. */
async function save(sub, withMessage) {
  const body = { ...sub.toJSON(), with_message: withMessage };
  const results = await Promise.allSettled(tokens().map((t) =>
    api('PUT', '/push/subscription', { token: t.token, body })));
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  if (!ok) {
    const failed = results.find((r) => r.status === 'rejected');
    throw new Error(`The relay did not take the subscription: ${failed ? failed.reason.message : 'no device token'}.`);
  }
}

async function turnOn(withMessage) {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new Error(permission === 'denied'
      ? 'Notifications are blocked for this site: allow them in the browser’s settings, then try again.'
      : 'Notifications were not allowed.');
  }
  const toks = tokens();
  if (!toks.length) throw new Error('Pair this browser first.');
  const { key } = await api('GET', '/push/key', { token: toks[0].token });
  const appKey = keyBytes(key);
  const reg = await registration();
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub.options.applicationServerKey, appKey)) {
    // Made for another relay key (the relay was reset): start again.
    await sub.unsubscribe().catch(() => {});
    sub = null;
  }
  if (!sub) {
    try {
      sub = await within(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: appKey }),
        SUBSCRIBE_MS, 'its push service did not answer');
    } catch (e) {
      throw new Error(`This browser could not subscribe to its push service (${e.message || e.name}). Notifications stay off.`);
    }
  }
  await save(sub, withMessage);
}

async function turnOff() {
  const sub = await currentSubscription().catch(() => null);
  if (sub) await sub.unsubscribe().catch(() => {});
  await Promise.allSettled(tokens().map((t) =>
    api('DELETE', '/push/subscription', { token: t.token })));
}

/** Shows what is so: on when this browser has a subscription the relay
 *  holds for its first token. */
async function render() {
  const on = $('notify-on');
  const text = $('notify-text');
  const note = $('notify-note');
  note.hidden = true;
  if (iosInBrowser()) {
    on.checked = false;
    on.disabled = true;
    text.disabled = true;
    note.textContent = 'On iPhone and iPad, notifications need rcd on the Home Screen: tap Share, then “Add to Home Screen”, and open rcd from there.';
    note.hidden = false;
    return;
  }
  if (!supported()) {
    on.checked = false;
    on.disabled = true;
    text.disabled = true;
    note.textContent = window.isSecureContext
      ? 'This browser cannot receive notifications from the relay.'
      : 'Notifications need this page over https: open the relay by its https:// address.';
    note.hidden = false;
    return;
  }
  let subscribed = false;
  let withMessage = false;
  let failure = '';
  const toks = tokens();
  const sub = await currentSubscription().catch(() => null);
  if (sub && toks.length) {
    try {
      const s = await api('GET', '/push/subscription', { token: toks[0].token });
      subscribed = !!s && s.subscribed && s.endpoint === sub.endpoint;
      withMessage = subscribed && !!s.with_message;
      if (s && s.failed) {
        // Nothing that fails is silent.
        failure = `${s.failed} notification${s.failed === 1 ? '' : 's'} could not be delivered`
          + (s.last_error ? ` (last: ${s.last_error})` : '') + '.';
      }
    } catch {
      subscribed = false;
    }
  }
  on.disabled = busy;
  on.checked = subscribed;
  // Off, the box keeps the choice for the next time it is turned on.
  if (subscribed) text.checked = withMessage;
  text.disabled = busy;
  if (Notification.permission === 'denied') {
    note.textContent = 'Notifications are blocked for this site in the browser’s settings.';
    note.hidden = false;
  } else if (failure) {
    note.textContent = failure;
    note.hidden = false;
  }
}

async function change(action) {
  if (busy) return;
  busy = true;
  const box = $('notify');
  box.dataset.busy = 'true';
  $('notify-on').disabled = true;
  $('notify-text').disabled = true;
  showError($('notify-error'), '');
  try {
    await action();
  } catch (e) {
    showError($('notify-error'), e.message || String(e));
  } finally {
    busy = false;
    delete box.dataset.busy;
    await render().catch(() => {});
  }
}

/** Registers the service worker, follows its "open this session"
 *  messages, and wires the switches. */
export function initNotify() {
  const box = $('notify');
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', (e) => {
      const d = e.data;
      if (!d || d.kind !== 'open' || typeof d.url !== 'string') return;
      const u = new URL(d.url, location.href);
      if (u.origin === location.origin) location.hash = u.hash;
    });
    navigator.serviceWorker.startMessages();
    navigator.serviceWorker.register(WORKER, { scope: '/' }).catch((e) => {
      console.warn('rcd: the service worker did not register:', e);
    });
  }
  $('notify-on').addEventListener('change', (e) => {
    const want = e.target.checked;
    const withMessage = $('notify-text').checked;
    change(() => (want ? turnOn(withMessage) : turnOff()));
  });
  $('notify-text').addEventListener('change', (e) => {
    const withMessage = e.target.checked;
    change(async () => {
      const sub = await currentSubscription();
      if (sub) await save(sub, withMessage);
    });
  });
  box.hidden = false;
  render().catch(() => {});
}

/** Shows the switches' state again (the list view is shown). */
export function refreshNotify() {
  if (!busy) render().catch(() => {});
}
