// The input queue: keys numbered per client_id and kept until the daemon
// acknowledges them, so that keys typed while the connection is down are
// delivered exactly once after the next hello. The JavaScript twin of
// rcctl's InputQueue (ctl/src/remote/session.rs); its state is what the
// page keeps in sessionStorage, so a reload of the tab resumes it.
//
// Pure: no DOM and no browser globals (node's tests import it).

/** One queued input: [seq, base64 of its bytes, byte count, typed at (ms)]. */
export class InputQueue {
  /** `saved` is what toJSON() returned (from sessionStorage), or null. */
  constructor(saved) {
    this.pending = [];
    this.next = 1;
    this.acked = 0;
    this.sent = 0;
    /** The highest seq ever handed to a socket since the daemon last said
     *  what it applied: inputs above it were never sent, so the daemon
     *  cannot have applied them, and they alone may be cancelled. */
    this.flown = 0;
    if (saved && Array.isArray(saved.pending)) {
      this.pending = saved.pending.filter((p) => Array.isArray(p) && p.length === 4);
      this.next = saved.next || 1;
      this.acked = saved.acked || 0;
      // An older page kept no count: everything queued may have gone.
      this.flown = Number.isInteger(saved.flown) ? saved.flown : this.next - 1;
    }
  }

  toJSON() {
    return { pending: this.pending, next: this.next, acked: this.acked, flown: this.flown };
  }

  /** Queued inputs never sent, which cancelUnsent() would drop. */
  cancellable() {
    return this.pending.filter((p) => p[0] > this.flown);
  }

  /** Drops the queued inputs never sent (typed while disconnected) and
   *  numbers the next input after the last one sent; returns how many
   *  were dropped. Inputs sent and not yet acknowledged stay: the daemon
   *  may have applied them, and only resending them keeps each applied
   *  exactly once. */
  cancelUnsent() {
    const keep = this.pending.filter((p) => p[0] <= this.flown);
    const n = this.pending.length - keep.length;
    if (!n) return 0;
    this.pending = keep;
    this.next = Math.max(this.acked, this.flown) + 1;
    return n;
  }

  /** Bytes waiting for an acknowledgement. */
  bytes() {
    return this.pending.reduce((n, p) => n + p[2], 0);
  }

  /** Queues one input typed at `now` (ms); returns its seq. */
  push(b64, len, now) {
    const seq = this.next++;
    this.pending.push([seq, b64, len, now]);
    return seq;
  }

  /** Right after resume(): drops what waited longer than `maxAgeMs` at
   *  `now`, none of which was applied, and numbers the next input after
   *  the daemon's count. Returns how many were dropped. */
  dropStale(maxAgeMs, now) {
    const old = now - maxAgeMs;
    if (!this.pending.length || this.pending[0][3] >= old) return 0;
    const n = this.pending.length;
    // Keep the order: everything after a stale input goes too.
    this.pending = [];
    this.next = this.acked + 1;
    this.sent = this.acked;
    this.flown = this.acked;
    return n;
  }

  /** Forgets every queued input (the daemon refused them); returns how
   *  many there were. */
  discard() {
    const n = this.pending.length;
    this.pending = [];
    return n;
  }

  /** The daemon applied everything up to `seq`. */
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
    // The daemon's word: nothing after inputSeq was applied.
    this.flown = inputSeq;
  }

  /** Queued inputs not sent on this connection; they count as sent now. */
  unsent() {
    const out = this.pending.filter((p) => p[0] > this.sent);
    if (this.pending.length) this.sent = Math.max(this.sent, this.pending[this.pending.length - 1][0]);
    this.flown = Math.max(this.flown, this.sent);
    return out;
  }
}
