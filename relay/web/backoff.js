// Delays between reconnection attempts. Pure (node's tests import it).

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_CAP_MS = 4000;

/** Delay before attempt `attempt` (0-based): BACKOFF_BASE_MS doubled per
 *  attempt up to BACKOFF_CAP_MS, then scaled by `jitter` in [0, 1) into
 *  the upper half of the step ("equal jitter", as rcctl does). */
export function backoff(attempt, jitter) {
  const d = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
  return d / 2 + jitter * d / 2;
}
