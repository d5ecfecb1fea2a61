// The relay's HTTP API (docs/PROTOCOL.md, "Relay") and this browser's
// device tokens, one per owner it was paired with, kept in localStorage.

export const API = '/api/v1';
export const TOKENS_KEY = 'rcd.tokens';

export const enc = encodeURIComponent;
export const sessionPath = (env, name) => `/environments/${enc(env)}/sessions/${enc(name)}`;

export function tokens() {
  try {
    const t = JSON.parse(localStorage.getItem(TOKENS_KEY) || '[]');
    return Array.isArray(t) ? t.filter((x) => x && typeof x.token === 'string') : [];
  } catch {
    return [];
  }
}

export function saveTokens(list) {
  if (list.length) localStorage.setItem(TOKENS_KEY, JSON.stringify(list));
  else localStorage.removeItem(TOKENS_KEY);
}

export function addToken(id, token) {
  const list = tokens().filter((t) => t.id !== id && t.token !== token);
  list.push({ id, token });
  saveTokens(list);
}

let whenAllRevoked = () => {};

/** What to do when the relay has refused this browser's last token. */
export function onAllTokensRevoked(fn) {
  whenAllRevoked = fn;
}

/** A token was refused (revoked): forget it. */
export function dropToken(token) {
  const before = tokens();
  const after = before.filter((t) => t.token !== token);
  if (after.length === before.length) return;
  saveTokens(after);
  if (!after.length) whenAllRevoked();
}

export class ApiError extends Error {
  constructor(status, kind, message) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

/** One API call; the answer's JSON, or an ApiError with the relay's
 *  words. A 401 for a token forgets that token. */
export async function api(method, path, { token, body, timeout = 15000, signal } = {}) {
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
