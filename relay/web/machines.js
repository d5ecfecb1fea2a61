// The machines (environments) this browser's tokens see, as last fetched:
// the list view shows them, the terminal view names its machine with them
// and finds the token that sees its session.

import { api, tokens } from './api.js';

/** Last known environments, each with the token that sees it. */
let envs = [];

/** Asks the relay with every token; a machine seen by several counts once. */
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

/** Fetches the list again; on a failure the last one stays. */
export async function refreshMachines() {
  envs = await fetchEnvs();
  return envs;
}

/** The last known list. */
export function machines() {
  return envs;
}

export function machine(envId) {
  return envs.find((e) => e.id === envId) || null;
}

/** The token that sees a machine (or this browser's first one). */
export function tokenFor(envId) {
  const e = envs.find((x) => x.id === envId);
  if (e) return e.token;
  const t = tokens();
  return t.length ? t[0].token : null;
}
