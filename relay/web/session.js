// The session client: one open session's attach socket, kept up. It
// fetches a one-time ticket, opens the socket, says hello (SessionCore
// decides what to send and how to read the daemon's answers), pings the
// relay (Liveness), replaces a socket that stops answering or that was
// asleep, and reconnects with backoff. What the page shows goes through
// `ui`, the terminal view's callbacks.

import { API, api, dropToken, enc, sessionPath, tokens } from './api.js';
import { toast } from './dom.js';
import { machine, refreshMachines, tokenFor } from './machines.js';
import { PROTOCOL, SessionCore, STALE_INPUT_MS } from './core.js';
import { Liveness } from './liveness.js';
import { backoff } from './backoff.js';
import { claimId, holdId, randomId, releaseId } from './tabs.js';
import { OLDER_RELAY, decodeIncoming, encodeMessage } from './wire.js';

/** Heartbeat to the relay on the attach socket; two missed pongs = dead. */
const PING_EVERY_MS = 10000;
/** After the page comes back, a pong must arrive this soon. */
const PROBE_MS = 700;
/** A page hidden this long replaces its socket on return, unasked. */
const LONG_HIDDEN_MS = 3000;
/** A socket that has not opened by then is given up. */
const OPEN_TIMEOUT_MS = 6000;
/** On a wake, a ticket fetch or an opening socket older than this is
 *  given up and started again at once. */
const WAKE_STALE_MS = 800;
/** Most bytes waiting for a connection; more is refused, visibly. */
const MAX_PENDING_BYTES = 256 * 1024;
/** The list is asked again this often while a session is open. */
const INFO_POLL_MS = 2000;

// The end-to-end test shortens these (window.rcdDebug).
let pingEveryMs = PING_EVERY_MS;
let staleInputMs = STALE_INPUT_MS;

export function setPingEvery(ms) {
  pingEveryMs = ms;
}

export function setStaleAfter(ms) {
  staleInputMs = ms;
}

function storageKey(env, name) {
  return `rcd.s.${env}/${name}`;
}

export class SessionClient {
  /** Session `name` of machine `env`; `ui` is what the page shows:
   *  state(), pending(), where(), banner(text, withBack), hideBanner(),
   *  screen(change) and transcript(page). */
  constructor(env, name, ui) {
    this.env = env;
    this.name = name;
    this.ui = ui;
    this.key = storageKey(env, name);
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(this.key) || 'null');
    } catch {
      saved = null;
    }
    this.core = new SessionCore(saved && saved.cid ? saved.cid : randomId(), saved && saved.q);
    this.ws = null;
    this.state = 'connecting'; // connecting | connected | reconnecting | offline
    this.detail = '';
    this.linkUp = null;
    this.attempts = 0;
    this.connecting = 0; // the running connect()'s number, or 0
    this.connGen = 0;
    this.connStarted = 0;
    this.ticketCtl = null;
    this.wsStarted = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.probeTimer = null;
    this.openTimer = null;
    this.live = new Liveness();
    this.closed = false;
    this.gone = false;
    this.hiddenAt = document.hidden ? Date.now() : 0;
    this.infoTimer = null;
    this.infoBusy = false;
    this.opened = 0;
    holdId(this.core.clientId);
    this.ready = (saved && saved.cid ? claimId(saved.cid) : Promise.resolve(true)).then((mine) => {
      if (!mine && !this.closed) {
        // Another tab uses this id (a duplicated tab): start afresh.
        releaseId(this.core.clientId);
        this.core.renew(randomId());
        holdId(this.core.clientId);
        this.save();
      }
    });
  }

  /** Connects, and keeps the machine's list fresh. */
  start() {
    this.save();
    this.setState('connecting', '');
    this.connect();
    this.pollInfo();
  }

  close() {
    this.closed = true;
    this.abandonConnect();
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.openTimer);
    clearTimeout(this.infoTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      try {
        ws.close(1000, 'left');
      } catch {
        // already closing
      }
    }
    this.save();
    releaseId(this.core.clientId);
  }

  /** The client_id and the input queue, for a reload of the tab. */
  save() {
    try {
      sessionStorage.setItem(this.key, JSON.stringify({ cid: this.core.clientId, q: this.core.queue }));
    } catch {
      // Storage full or disabled: the queue still lives in memory.
    }
  }

  /** The session's machine as last listed, or null. */
  machine() {
    return machine(this.env);
  }

  setState(state, detail) {
    this.state = state;
    this.detail = detail || '';
    this.ui.state();
  }

  /** Keeps the list fresh while a session is open: to name its machine
   *  and to notice when the session is gone. */
  pollInfo() {
    if (this.closed || this.infoBusy) return;
    this.infoBusy = true;
    refreshMachines().then(() => {
      if (this.closed) return;
      const e = this.machine();
      const s = e && (e.sessions || []).find((x) => x.name === this.name);
      const wasGone = this.gone;
      // The machine is connected and lists no such session: a socket
      // would wait for nothing. (If it shows up again, so does the page.)
      this.gone = !!(e && e.online && !s && this.state !== 'connected');
      if (wasGone && !this.gone) {
        // A session of that name is back.
        this.ui.hideBanner();
        this.attempts = 0;
        this.connect();
      }
      if (this.gone && !wasGone) {
        // Nothing to reconnect to any more.
        clearTimeout(this.retryTimer);
        this.dropSocket();
        this.ui.banner('This session is gone: it was stopped or it ended.', true);
        this.setState('offline', 'the session is gone');
      }
      this.ui.where();
    }).catch(() => {}).finally(() => {
      this.infoBusy = false;
      clearTimeout(this.infoTimer);
      if (!this.closed) this.infoTimer = setTimeout(() => this.pollInfo(), INFO_POLL_MS);
    });
  }

  scheduleReconnect(why) {
    if (this.closed || this.gone) return;
    clearTimeout(this.retryTimer);
    const delay = backoff(this.attempts++, Math.random());
    if (navigator.onLine === false) this.setState('offline', 'no network');
    else this.setState('reconnecting', why);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Drops the current socket (without waiting for a close handshake a
   *  dead peer never answers) and connects again at once. */
  replaceSocket(why) {
    if (this.closed) return;
    this.dropSocket();
    this.attempts = 0;
    this.setState('reconnecting', why);
    this.connect();
  }

  dropSocket() {
    clearInterval(this.pingTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.openTimer);
    this.core.disconnected();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(4100, 'replaced');
      } catch {
        // never opened
      }
    }
  }

  async connect() {
    if (this.closed || this.connecting || this.gone) return;
    clearTimeout(this.retryTimer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    const gen = ++this.connGen;
    // A wake abandons this connect (bumping connGen) if it hangs.
    const stale = () => this.closed || this.connGen !== gen;
    this.connecting = gen;
    this.connStarted = Date.now();
    const ctl = new AbortController();
    this.ticketCtl = ctl;
    try {
      await this.ready;
      if (stale()) return;
      if (!this.machine() && tokens().length > 1) {
        // Which of this browser's tokens sees that machine?
        await refreshMachines().catch(() => {});
        if (stale()) return;
      }
      const token = tokenFor(this.env);
      if (!token) return;
      let ticket;
      try {
        ticket = await api('POST', `${sessionPath(this.env, this.name)}/attach-ticket`,
          { token, timeout: 8000, signal: ctl.signal });
      } catch (e) {
        if (stale()) return;
        if (e.status === 401) return; // unpaired: dropToken has moved on
        this.scheduleReconnect(e.status === 404 ? 'the machine is not on the relay (yet)' : e.message);
        return;
      }
      if (stale()) return;
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const url = `${proto}//${location.host}${API}${sessionPath(this.env, this.name)}/attach?ticket=${enc(ticket.ticket)}`;
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      this.wsStarted = Date.now();
      this.openTimer = setTimeout(() => {
        if (this.ws === ws && ws.readyState !== WebSocket.OPEN) {
          this.dropSocket();
          this.scheduleReconnect('the relay did not answer');
        }
      }, OPEN_TIMEOUT_MS);
      ws.onopen = () => {
        if (this.ws !== ws) return;
        clearTimeout(this.openTimer);
        this.opened++;
        this.attempts = 0;
        this.live = new Liveness();
        this.linkUp = null;
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.heartbeat(), pingEveryMs);
        this.hello();
      };
      ws.onmessage = (ev) => {
        if (this.ws === ws) this.onFrame(ev.data);
      };
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.dropSocket();
        const why = ev.code === 1001 ? 'the relay restarted'
          : ev.code === 1008 ? 'this browser’s token was revoked'
            : ev.reason || 'the connection dropped';
        if (ev.code === 1008) {
          dropToken(tokenFor(this.env));
          return;
        }
        if (ev.code === OLDER_RELAY) {
          this.ui.banner(`The relay speaks an older protocol than this page (${PROTOCOL}): update rc-relay.`, true);
          this.closed = true;
          this.setState('offline', 'the relay is older than this page');
          return;
        }
        this.scheduleReconnect(why);
      };
    } finally {
      if (this.connecting === gen) {
        this.connecting = 0;
        this.ticketCtl = null;
      }
    }
  }

  /** Gives up on a connect() still fetching its ticket (from before a
   *  sleep, say): its late answer is ignored. */
  abandonConnect() {
    if (!this.connecting) return;
    this.connGen++;
    this.connecting = 0;
    if (this.ticketCtl) this.ticketCtl.abort();
    this.ticketCtl = null;
  }

  heartbeat() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const n = this.live.nextPing();
    if (n === null) {
      this.replaceSocket('two heartbeats went unanswered');
      return;
    }
    this.sendFrame({ t: 'ping', n });
  }

  /** Restarts the heartbeat at the current pace (after setPingEvery). */
  restartHeartbeat() {
    if (!this.ws) return;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.heartbeat(), pingEveryMs);
  }

  /** The page came back (tab shown, focus, network back): make sure the
   *  socket is alive within a second, or replace it. */
  wake(why) {
    if (this.closed) return;
    if (this.gone) return;
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) {
      // A ticket fetch that has run this long likely hangs on a dead
      // connection: start over now instead of waiting for its timeout.
      if (this.connecting && Date.now() - this.connStarted >= WAKE_STALE_MS) this.abandonConnect();
      this.attempts = 0;
      this.connect();
      return;
    }
    if (ws.readyState === WebSocket.CONNECTING) {
      // Likewise a socket still opening: replace it rather than wait for
      // the open timeout.
      if (Date.now() - this.wsStarted >= WAKE_STALE_MS) {
        this.attempts = 0;
        this.replaceSocket(why);
      }
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    if (this.hiddenAt && Date.now() - this.hiddenAt >= LONG_HIDDEN_MS) {
      // Back from a sleep: a socket that old is likely dead; a new one
      // costs one full frame.
      this.hiddenAt = 0;
      this.replaceSocket(why);
      return;
    }
    if (this.probeTimer) return;
    const n = this.live.probe();
    this.sendFrame({ t: 'ping', n });
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (!this.closed && !this.live.answeredUpTo(n)) this.replaceSocket(`no answer after ${why}`);
    }, PROBE_MS);
  }

  /** Sends a text or binary message; false when the socket is not open. */
  sendRaw(data) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends an envelope to the relay (a text message). */
  sendFrame(f) {
    return this.sendRaw(JSON.stringify(f));
  }

  /** Sends session messages (DeviceMsg), each a binary message. */
  send(msgs) {
    for (const m of msgs) this.sendRaw(encodeMessage(m));
  }

  hello() {
    this.send(this.core.connected());
  }

  onFrame(data) {
    const got = decodeIncoming(data);
    if (!got) return;
    if ('message' in got) {
      if (got.message) this.onDaemon(got.message);
      return;
    }
    const f = got.frame || {};
    switch (f.t) {
      case 'link':
        this.linkUp = !!f.up;
        if (f.up) {
          // A new link of the daemon knows nothing of this tab.
          this.setState('reconnecting', 'the machine is back; resuming');
          this.hello();
        } else {
          this.core.disconnected();
          const e = this.machine();
          this.setState('offline', this.core.exited !== null ? 'the program has ended'
            : e && e.online ? 'waiting for the session on the machine' : 'the machine is offline');
          // Stopped, or its machine went away? The list says which.
          clearTimeout(this.infoTimer);
          this.infoTimer = setTimeout(() => this.pollInfo(), 300);
        }
        break;
      case 'ping':
        this.sendFrame({ t: 'pong', n: f.n });
        break;
      case 'pong':
        this.live.pong(f.n);
        break;
      default:
    }
  }

  onDaemon(m) {
    const r = this.core.onDaemon(m, Date.now(), staleInputMs);
    if (r.fault) {
      if (r.fault.kind === 'fatal') {
        this.ui.banner(r.fault.reason, true);
        this.dropSocket();
        this.closed = true;
      } else {
        this.replaceSocket(r.fault.reason);
      }
      return;
    }
    this.send(r.send);
    for (const ev of r.events) this.onEvent(ev);
  }

  onEvent(ev) {
    switch (ev.t) {
      case 'ready': {
        this.gone = false;
        if (ev.dropped) {
          const n = ev.dropped;
          toast(`Not sent: ${n} input${n === 1 ? '' : 's'} typed over ${Math.round(staleInputMs / 1000)} s ago, while disconnected. Type again if still needed.`, 8000);
        }
        this.save();
        this.ui.pending();
        if (ev.session && ev.session.state !== 'exited' && this.core.exited === null) this.ui.hideBanner();
        this.setState('connected', '');
        this.ui.where();
        break;
      }
      case 'screen':
        this.ui.screen(ev);
        break;
      case 'input-ack':
        this.save();
        this.ui.pending();
        break;
      case 'transcript':
        this.ui.transcript(ev.page);
        break;
      case 'size':
        this.ui.size(ev.note);
        break;
      case 'exited':
        this.ui.banner(`The program ended (status ${ev.code}). The screen shows how it left off.`, true);
        break;
      case 'error':
        if (ev.refused !== null) {
          const n = ev.refused;
          this.save();
          this.ui.pending();
          toast(`Not sent (${n} input${n === 1 ? '' : 's'}): ${ev.message}`, 6000);
        } else {
          toast(ev.message, 6000);
        }
        break;
      default:
    }
  }

  /** Sends keys: queued and numbered, then sent if the session is ready.
   *  Returns false (and says so) when they are refused. */
  sendKeys(str) {
    if (this.core.exited !== null) {
      toast('Not sent: the program has ended.');
      return false;
    }
    if (this.gone) {
      toast('Not sent: the session is gone.');
      return false;
    }
    // Full-screen programs that asked for application cursor keys get
    // arrows as ESC O A, as a real terminal would send them.
    if (this.core.screen.appCursor) str = str.replace(/\x1b\[([ABCD])$/, '\x1bO$1');
    const bytes = new TextEncoder().encode(str);
    if (this.core.queue.bytes() + bytes.length > MAX_PENDING_BYTES) {
      toast(`Not sent: ${this.core.queue.pending.length} inputs are still waiting for the connection.`, 6000);
      return false;
    }
    this.send(this.core.input(bytes, Date.now()));
    this.save();
    this.ui.pending();
    return true;
  }

  /** Resizes the session (now, or right after the next hello). */
  resize(rows, cols) {
    this.send(this.core.resize(rows, cols));
  }

  /** This device's size, for the session to take when it types. */
  setSize(rows, cols) {
    this.send(this.core.setSize(rows, cols));
  }

  /** 'latest' (the session follows whoever types) or 'fixed'. */
  setSizeMode(mode) {
    const m = this.core.setSizeMode(mode);
    if (!m.length) return false;
    this.send(m);
    return true;
  }

  /** Drops the queued inputs never sent; returns how many. */
  cancelQueued() {
    const n = this.core.cancelUnsent();
    this.save();
    this.ui.pending();
    return n;
  }

  /** Asks for a transcript page (again after each hello until it comes). */
  requestTranscript(from, maxLines) {
    this.send(this.core.requestTranscript(from, maxLines));
  }

  forgetTranscript() {
    this.core.transcriptWant = null;
  }
}
