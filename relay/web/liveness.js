// The ping liveness rule of the attach socket, as every socket of rcd has
// it (rcd_proto::liveness): pings to the relay are numbered, and a socket
// with MISSED_PINGS of them unanswered is dead. Pure (node's tests import
// it).

/** Unanswered pings that make a socket dead. */
export const MISSED_PINGS = 2;

export class Liveness {
  constructor() {
    /** The number of the last ping sent. */
    this.sent = 0;
    /** The highest ping answered. */
    this.answered = 0;
  }

  /** The number of the next heartbeat ping, or null when MISSED_PINGS
   *  went unanswered and the socket should be replaced. */
  nextPing() {
    if (this.sent >= this.answered + MISSED_PINGS) return null;
    return ++this.sent;
  }

  /** The number of a probe ping: sent whatever the count (its own timer
   *  judges it). */
  probe() {
    return ++this.sent;
  }

  /** A pong for ping `n`. */
  pong(n) {
    this.answered = Math.max(this.answered, n || 0);
  }

  /** Whether ping `n` was answered. */
  answeredUpTo(n) {
    return this.answered >= n;
  }
}
