// client_ids: one per tab and session, kept in sessionStorage so a reload
// resumes the same input sequence. A duplicated tab copies
// sessionStorage, client_id included; two tabs must never share one, so a
// tab asks the others (BroadcastChannel) before using a stored id.

/** How long a tab waits for another to say an id is its own. */
const CLAIM_MS = 120;

const myIds = new Set();
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('rcd-tabs') : null;
const claims = new Map();
if (channel) {
  channel.onmessage = (ev) => {
    const m = ev.data || {};
    if (m.q === 'who' && myIds.has(m.id)) channel.postMessage({ a: 'mine', id: m.id });
    if (m.a === 'mine' && claims.has(m.id)) claims.get(m.id)();
  };
}

/** A new random client_id. */
export function randomId() {
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return 'web-' + Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Whether no other tab uses `id` (resolves after CLAIM_MS at most). */
export function claimId(id) {
  if (!channel) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { claims.delete(id); resolve(true); }, CLAIM_MS);
    claims.set(id, () => { clearTimeout(timer); claims.delete(id); resolve(false); });
    channel.postMessage({ q: 'who', id });
  });
}

/** This tab uses `id` (and answers for it). */
export function holdId(id) {
  myIds.add(id);
}

export function releaseId(id) {
  myIds.delete(id);
}
