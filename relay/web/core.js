// The session protocol of one device, without I/O: the JavaScript twin of
// rcctl's Core (ctl/src/remote/session.rs). It turns the daemon's
// messages (DaemonMsg of docs/PROTOCOL.md) into the messages to answer
// with and events for the page, and knows what to send after each hello:
// a resize asked for meanwhile, every queued input the daemon has not
// applied, and a transcript page still unanswered. The methods return the
// DeviceMsg objects to send, in order (onDaemon with events and a fault
// besides); the session client sends each as a binary message (wire.js).
//
// Pure: no DOM, and of the platform only btoa, which node has too (node's
// tests import it).

import { InputQueue } from './inputqueue.js';
import { Screen } from './screen.js';

/** The session protocol this page speaks (RELAY_PROTOCOL_VERSION). */
export const PROTOCOL = 2;
/** Largest input message (bytes before base64). */
export const INPUT_CHUNK = 16 * 1024;
/** Keys that waited longer for a connection are not sent (and the page
 *  says so): an answer typed minutes ago may no longer fit the screen. */
export const STALE_INPUT_MS = 120000;

/** Standard base64 (with padding) of a Uint8Array. */
export function b64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** What one message from the daemon asks for: messages to send, events
 *  for the page, and a fault when this connection must end. */
function reaction(send = [], events = [], fault = null) {
  return { send, events, fault };
}

export class SessionCore {
  /** `saved` is a queue from sessionStorage (InputQueue.toJSON), or null. */
  constructor(clientId, saved) {
    this.clientId = clientId;
    this.queue = new InputQueue(saved);
    this.screen = new Screen();
    /** The daemon answered our hello on this connection. */
    this.greeted = false;
    /** A resize asked for before the hello: [rows, cols]. */
    this.pendingResize = null;
    /** What the parts of a frame changed so far (see 'screen'). */
    this.partChange = null;
    /** A transcript page asked for and not yet answered (asked again
     *  after each hello until it comes). */
    this.transcriptWant = null;
    /** The program's exit status once it ended. */
    this.exited = null;
    /** The session as the daemon's last hello described it. */
    this.session = null;
    /** The size this device would drive, [rows, cols], and how viewers
     *  are told of it: said in the hello when set. */
    this.size = null;
    this.label = null;
    /** The daemon's last word on the size (a `size` message): rows,
     *  cols, mode, by, why. Null until a daemon that knows sizes says. */
    this.sizeNote = null;
  }

  /** Another tab holds this client_id: start afresh with a new one. */
  renew(clientId) {
    this.clientId = clientId;
    this.queue = new InputQueue(null);
  }

  /** A new socket, or the daemon's link came back: the hello to send.
   *  Inputs wait until the daemon answers it. */
  connected() {
    this.greeted = false;
    this.partChange = null;
    this.screen.forgetVersion();
    const hello = { t: 'hello', protocol: PROTOCOL, client_id: this.clientId };
    if (this.size) {
      hello.size = { rows: this.size[0], cols: this.size[1] };
      if (this.label) hello.label = this.label;
    }
    return [hello];
  }

  /** This device's size changed: said now to a daemon that knows sizes
   *  (older ones would refuse the message), else in the next hello. */
  setSize(rows, cols) {
    if (this.size && this.size[0] === rows && this.size[1] === cols) return [];
    this.size = [rows, cols];
    return this.greeted && this.sizeNote ? [{ t: 'size', rows, cols }] : [];
  }

  /** Who decides the session's size: 'latest' or 'fixed'. */
  setSizeMode(mode) {
    return this.greeted && this.sizeNote ? [{ t: 'size-mode', mode }] : [];
  }

  /** Drops the queued inputs never sent (see InputQueue.cancelUnsent). */
  cancelUnsent() {
    return this.queue.cancelUnsent();
  }

  /** The socket (or the daemon's link) went away. */
  disconnected() {
    this.greeted = false;
    this.screen.forgetVersion();
  }

  /** Queues keys typed at `now` (in chunks of at most INPUT_CHUNK). */
  input(bytes, now) {
    for (let i = 0; i < bytes.length; i += INPUT_CHUNK) {
      const chunk = bytes.subarray(i, i + INPUT_CHUNK);
      this.queue.push(b64(chunk), chunk.length, now);
    }
    return this.outgoing();
  }

  /** The queued inputs not sent on this connection, once greeted. */
  outgoing() {
    if (!this.greeted) return [];
    return this.queue.unsent().map(([seq, data]) => ({ t: 'input', seq, bytes: data }));
  }

  /** Resizes the session now, or right after the next hello. */
  resize(rows, cols) {
    if (this.greeted) return [{ t: 'resize', rows, cols }];
    this.pendingResize = [rows, cols];
    return [];
  }

  /** Asks for a transcript page (again after each hello until it comes). */
  requestTranscript(from, maxLines) {
    this.transcriptWant = { from, max_lines: maxLines };
    return this.greeted ? [{ t: 'transcript', from, max_lines: maxLines }] : [];
  }

  /** Handles one message from the daemon, received at `now` (ms); after a
   *  hello, queued inputs older than `staleInputMs` are dropped. */
  onDaemon(m, now, staleInputMs = STALE_INPUT_MS) {
    switch (m.t) {
      case 'hello': {
        if (m.protocol !== PROTOCOL) {
          return reaction([], [], {
            kind: 'fatal',
            reason: `This session speaks protocol ${m.protocol}, this page speaks ${PROTOCOL}: reload the page, or update the older of rcd and the relay.`,
          });
        }
        this.greeted = true;
        this.session = m.session;
        this.queue.resume(m.input_seq);
        const dropped = this.queue.dropStale(staleInputMs, now);
        const send = [];
        if (this.pendingResize) {
          send.push({ t: 'resize', rows: this.pendingResize[0], cols: this.pendingResize[1] });
          this.pendingResize = null;
        }
        send.push(...this.outgoing());
        if (this.transcriptWant) send.push({ t: 'transcript', ...this.transcriptWant });
        return reaction(send, [{ t: 'ready', session: m.session, dropped }]);
      }
      case 'screen': {
        const change = this.screen.apply(m);
        if (!change) return reaction([], [], { kind: 'reconnect', reason: 'the screen got out of step' });
        // A part of a frame too large for one message (`partial`): applied
        // and acknowledged at once, shown when the last part has come
        // (what changed meanwhile is kept for that event).
        const seen = this.partChange;
        const merged = seen
          ? { resized: seen.resized || change.resized, titleChanged: seen.titleChanged || change.titleChanged }
          : change;
        this.partChange = m.partial ? merged : null;
        const events = m.partial ? [] : [{ t: 'screen', ...merged }];
        return reaction([{ t: 'ack', version: m.version }], events);
      }
      case 'input-ack':
        this.queue.ack(m.seq);
        return reaction([], [{ t: 'input-ack', seq: m.seq }]);
      case 'transcript':
        this.transcriptWant = null;
        return reaction([], [{ t: 'transcript', page: m }]);
      case 'size':
        this.sizeNote = m;
        return reaction([], [{ t: 'size', note: m }]);
      case 'exited':
        this.exited = m.code;
        return reaction([], [{ t: 'exited', code: m.code }]);
      case 'error': {
        // The daemon refuses input it cannot take: none of the queue will
        // be applied, so none of it is kept.
        const refused = /input refused/.test(m.message) ? this.queue.discard() : null;
        return reaction([], [{ t: 'error', message: m.message, refused }]);
      }
      default:
        return reaction();
    }
  }
}
