// The browser half of rcd-bench's `key-browser` scenario: a key typed in
// the device web UI (served by rcd's embedded relay) in headless Chromium
// at phone size, until its character is in the terminal's DOM.
//
//   node bench/browser/key-browser.mjs PAIR_URL SESSION KEYS WARM_UP
//
// PAIR_URL is the pairing link rcd printed (`…/#pair=CODE`); the page pairs
// through it as a phone does, opens SESSION from the machine list and types
// WARM_UP keys, then KEYS measured keys, into the screen (the keydown
// handler a hardware keyboard reaches). The session's program must echo
// every byte and print nothing else (`stty raw -echo; exec cat`), so key i
// lands in a known cell of the size the page drives (the session takes it
// at the first key): column i mod cols of row i div cols (the last row
// once the screen has scrolled).
//
// Every timestamp is taken inside the page, on its own clock
// (performance.now): the key event's timeStamp (when Chromium made the
// input event), the WebSocket send of the input, the arrival of the screen
// frame after it, and the moment a MutationObserver on #screen sees the
// character in its cell. Each key waits for its character (at most
// KEY_LIMIT_MS) before the next is typed, after a random pause shorter
// than a 60 Hz frame.
//
// CHROMIUM_FLAGS adds command-line flags to the browser's (to try one).
// With KEY_BROWSER_TRACE=FILE, Chromium's performance trace of the last
// ten measured keys is written to FILE (open it in chrome://tracing or
// Perfetto); the probe's timestamps are in it as user timing marks.
//
// Uses tests/web's playwright-core and Debian's chromium (CHROMIUM, default
// /usr/bin/chromium). Prints one line of JSON on stdout; progress on
// stderr. Limits itself to LIMIT_SECS (default 50) and closes the browser
// however it ends.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, '../../tests/web');
const require = createRequire(path.join(web, 'package.json'));
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LIMIT_MS = Number(process.env.LIMIT_SECS || 50) * 1000;
const TRACE = process.env.KEY_BROWSER_TRACE || '';
const KEY_LIMIT_MS = 2000;
const FRAME_MS = 1000 / 60;
/** Consecutive keys that did not show before the run gives up. */
const GIVE_UP_AFTER = 5;

const [pairUrl, session, keysArg, warmArg] = process.argv.slice(2);
const keys = Number(keysArg);
const warmUp = Number(warmArg);
if (!pairUrl || !session || !(keys > 0) || !(warmUp >= 0)) {
  console.error('usage: key-browser.mjs PAIR_URL SESSION KEYS WARM_UP');
  process.exit(2);
}

function say(...a) {
  console.error('key-browser:', ...a);
}

let browser = null;
const watchdog = setTimeout(async () => {
  say(`gave up after ${LIMIT_MS / 1000} s`);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}, LIMIT_MS);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
  });
}

/** Installed in the page once the terminal is connected: the probe that
 *  times each key. */
function probe() {
  const screen = document.getElementById('screen');
  /** The key under way: its cell, its character and its timestamps. */
  let want = null;
  const done = (ok) => {
    const w = want;
    want = null;
    clearTimeout(w.timer);
    w.resolve(ok ? {
      dom: w.dom - w.t0,
      send: w.send === null ? null : w.send - w.t0,
      frame: w.frame === null ? null : w.frame - w.t0,
    } : null);
  };
  // Capture phase on the window: before the page's own handler on #screen.
  window.addEventListener('keydown', (e) => {
    if (want && want.t0 === null && e.key === want.ch) {
      want.t0 = e.timeStamp;
      performance.mark(`key ${want.ch}`);
    }
  }, true);
  const sockets = new WeakSet();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (want && want.t0 !== null && want.send === null && typeof data === 'string' && data.includes('input')) {
      want.send = performance.now();
      performance.mark('input sent');
    }
    if (!sockets.has(this)) {
      sockets.add(this);
      // After the page's onmessage (registered first) has applied it.
      this.addEventListener('message', (ev) => {
        if (!want || want.send === null || want.frame !== null) return;
        if (typeof ev.data !== 'string' || ev.data.includes('screen')) {
          want.frame = ev.timeStamp;
          performance.mark('screen frame in');
        }
      });
    }
    return send.call(this, data);
  };
  const check = () => {
    if (!want || want.t0 === null) return;
    const row = screen.children[want.row];
    if (row && row.textContent[want.col] === want.ch) {
      want.dom = performance.now();
      performance.mark('in the DOM');
      done(true);
    }
  };
  new MutationObserver(check).observe(screen, { childList: true, subtree: true, characterData: true });
  window.__rcdBench = {
    /** The next key, `ch`, must show in cell (row, col); resolves with
     *  its timings in ms, or null if it did not show within limitMs. */
    arm(row, col, ch, limitMs) {
      if (want) done(false);
      return new Promise((resolve) => {
        want = { row, col, ch, t0: null, send: null, frame: null, dom: null, resolve };
        want.timer = setTimeout(() => { if (want) done(false); }, limitMs);
      });
    },
    armed() {
      return want !== null;
    },
  };
}

async function main() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(process.env.CHROMIUM_FLAGS || '').split(' ').filter(Boolean),
    ],
  });
  const ctx = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  const page = await ctx.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  // Pairing as a phone does: the link rcd printed, then the machine list.
  await page.goto(pairUrl);
  const open = `.session[data-session="${session}"] .session-open`;
  await page.waitForSelector(open, { timeout: 20000 });
  await page.click(open);
  await page.waitForFunction(() => {
    const c = document.getElementById('conn');
    return c && c.dataset.state === 'connected';
  }, null, { timeout: 20000 });
  // The session takes this page's size at its first key (it follows the
  // device that types, docs/PROTOCOL.md "Who sets the size"), once the
  // daemon has said it does (its `size` note, just after the hello).
  await page.waitForFunction(() => window.rcdDebug.state().sizeNote, null, { timeout: 2000 }).catch(() => {});
  const size = await page.evaluate(() => window.rcdDebug.state());
  const [rows, cols] = size.sizeNote && size.driving ? size.driving : [size.rows, size.cols];
  say(`paired and connected; ${cols}×${rows}; ${warmUp} keys to warm up, then ${keys}`);
  await page.evaluate(probe);
  await page.focus('#screen');

  const samples = [];
  let failed = 0;
  let inARow = 0;
  const traceFrom = TRACE ? Math.max(warmUp, warmUp + keys - 10) : -1;
  for (let i = 0; i < warmUp + keys; i++) {
    if (i === traceFrom) {
      await browser.startTracing(page, {
        path: TRACE,
        categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel',
          'blink.user_timing', 'renderer.scheduler', 'disabled-by-default-renderer.scheduler',
          'sequence_manager', 'net', 'cc', 'viz', 'input', 'benchmark'],
      });
    }
    const ch = String.fromCharCode(97 + (i % 26));
    const row = Math.min(Math.floor(i / cols), rows - 1);
    const col = i % cols;
    // A pause of a random part of a 60 Hz frame first: the loop would
    // otherwise lock onto the display's frames (each key is typed a fixed
    // time after the frame that showed the one before) and measure one
    // phase of them only, which real typing does not.
    await new Promise((r) => setTimeout(r, Math.random() * FRAME_MS));
    const result = page.evaluate(([r, c, k, l]) => window.__rcdBench.arm(r, c, k, l), [row, col, ch, KEY_LIMIT_MS]);
    // The page runs evaluations in order: the probe is armed by now.
    if (!(await page.evaluate(() => window.__rcdBench.armed()))) throw new Error('the probe is not armed');
    await page.keyboard.press(ch);
    const t = await result;
    if (t === null) {
      failed++;
      inARow++;
      say(`key ${i} (${ch}) did not show within ${KEY_LIMIT_MS} ms`);
      if (inARow >= GIVE_UP_AFTER) break;
      continue;
    }
    inARow = 0;
    if (i >= warmUp) samples.push(t);
  }
  if (traceFrom >= 0) {
    await browser.stopTracing();
    say(`trace written to ${TRACE}`);
  }
  if (problems.length) say(`page errors: ${problems.join('; ')}`);
  const browserVersion = browser.version();
  await browser.close();
  browser = null;
  process.stdout.write(`${JSON.stringify({ rows, cols, browser: browserVersion, failed, samples })}\n`);
}

let code = 0;
try {
  await main();
} catch (e) {
  say(`failed: ${e.stack || e}`);
  code = 1;
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close().catch(() => {});
}
process.exit(code);
