// End-to-end test of rcd's device web UI: real headless Chromium (Debian's
// `chromium`, driven by playwright-core) against a real `rc-relay` and real
// `rcd` daemons on 127.0.0.1.
//
//   node tests/web/e2e.mjs
//
// Environment:
//   RCD_BIN_DIR      where rc-relay and rcd are (default: target/debug)
//   CHROMIUM         the browser (default: /usr/bin/chromium)
//   WEB_SCREENSHOTS  where screenshots go (default: target/web-screenshots;
//                    WEB_SCREENSHOTS=docs/screenshots refreshes the README's)
//   WEB_TIMEOUT_SECS the whole run's limit (default 240)
//
// Everything it starts is stopped when it ends, passes, fails or times out.
// The last line says `web: N passed, M failed`.

import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pushTests } from './push.mjs';
import { phoneTests } from './phone.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const BIN = path.resolve(process.env.RCD_BIN_DIR || path.join(repo, 'target/debug'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.resolve(repo, process.env.WEB_SCREENSHOTS || 'target/web-screenshots');
const LIMIT_MS = Number(process.env.WEB_TIMEOUT_SECS || 240) * 1000;
const STEP_MS = 60000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rcdweb-'));
const children = new Set();
let browser = null;
let proxy = null;

function log(...a) {
  console.log('web:', ...a);
}

// ---------------------------------------------------------------------------
// Processes

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(what, cond, ms = 15000, every = 100) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      last = await cond();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - start > ms) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await sleep(every);
  }
}

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stop(child, signal = 'SIGINT', grace = 8000) {
  if (!child || exited(child)) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const t = setTimeout(() => { if (!exited(child)) child.kill('SIGKILL'); }, grace);
  await done;
  clearTimeout(t);
}

// An rcd killed by a test leaves its sessions to its keeper (the
// process named by each state directory's keeper/k<pid>.sock): end them.
function endKeepers(dir) {
  let entries = [];
  try { entries = fs.readdirSync(dir, { recursive: true }); } catch { return; }
  for (const e of entries) {
    const m = /(?:^|\/)keeper\/k(\d+)\.sock$/.exec(String(e));
    if (m) { try { process.kill(Number(m[1]), 'SIGTERM'); } catch {} }
  }
}

function bin(name) {
  const p = path.join(BIN, name);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: build first (cargo build --workspace --bins)`);
  return p;
}

class Relay {
  constructor(dir) {
    this.dataDir = path.join(dir, 'relay-data');
    this.log = path.join(dir, 'relay.log');
    this.port = 0;
    this.url = '';
    this.child = null;
  }

  async start() {
    const deadline = Date.now() + 15000;
    for (;;) {
      const logFd = fs.openSync(this.log, 'a');
      const child = track(spawn(bin('rc-relay'), [
        'serve', '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir,
        '--heartbeat-interval', '1', '--offline-after', '3', '--forget-after', '600',
      ], { stdio: ['ignore', 'pipe', logFd], env: { ...process.env, RUST_LOG: 'rc_relay=debug,info' } }));
      fs.closeSync(logFd);
      const first = await new Promise((resolve) => {
        let buf = '';
        const onData = (d) => {
          buf += d;
          const nl = buf.indexOf('\n');
          if (nl >= 0) {
            child.stdout.off('data', onData);
            resolve(buf.slice(0, nl));
          }
        };
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', onData);
        child.once('exit', () => resolve(buf));
      });
      const m = /^listening on (\S+)/.exec(first.trim());
      if (m) {
        child.stdout.resume();
        this.url = m[1];
        this.port = Number(new URL(this.url).port);
        this.child = child;
        return;
      }
      await stop(child, 'SIGKILL');
      if (Date.now() > deadline) throw new Error(`rc-relay did not start: ${first}\n${fs.readFileSync(this.log, 'utf8')}`);
      await sleep(200); // the old process may hold the port a moment
    }
  }

  async kill() {
    await stop(this.child, 'SIGKILL');
    this.child = null;
  }

  enrollmentToken() {
    const out = execFileSync(bin('rc-relay'), ['token', 'create', '--label', 'web-e2e', '--data-dir', this.dataDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const m = /rce_\S+/.exec(out);
    if (!m) throw new Error(`no token in: ${out}`);
    return m[0];
  }
}

function git(dir, ...args) {
  execFileSync('git', args, {
    cwd: dir,
    stdio: 'ignore',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid',
    },
  });
}

class Daemon {
  constructor(name, relay, tokenFile, { capacity = 4, worktree = false, programs = [] } = {}) {
    this.name = name;
    this.programs = programs;
    this.relay = relay;
    this.tokenFile = tokenFile;
    this.capacity = capacity;
    this.worktree = worktree;
    this.root = path.join(tmp, name);
    this.work = path.join(this.root, 'work');
    this.log = path.join(this.root, 'rcd.log');
    this.child = null;
  }

  async start() {
    fs.mkdirSync(this.work, { recursive: true });
    if (this.worktree) {
      git(this.work, 'init', '-q', '-b', 'main');
      fs.writeFileSync(path.join(this.work, 'README.md'), '# docs\n');
      git(this.work, 'add', '.');
      git(this.work, 'commit', '-q', '-m', 'first');
    }
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith('RCD_') || k === 'XDG_RUNTIME_DIR') delete env[k];
    Object.assign(env, {
      HOME: this.root,
      RUST_LOG: 'rcd=debug,info',
      PS1: `\\[\\e[1;32m\\]you@${this.name}\\[\\e[0m\\]:\\[\\e[1;34m\\]\\W\\[\\e[0m\\]$ `,
      GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
      GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.invalid',
    });
    const args = [
      '--relay', this.relay.url, '--token-file', this.tokenFile,
      '--socket', path.join(this.root, 'rcd.sock'), '--state-dir', path.join(this.root, 'state'),
      '--dir', this.work, '--name', this.name, '--command', 'bash --norc --noprofile',
      '--stop-grace', '2', '--capacity', String(this.capacity),
    ];
    if (this.worktree) args.push('--spawn', 'worktree');
    // `--command` above is the default program's command line.
    for (const p of this.programs) args.push('--program', p);
    if (this.programs.length) args.push('--default-program', 'shell');
    const logFd = fs.openSync(this.log, 'a');
    this.child = track(spawn(bin('rcd'), args, { stdio: ['ignore', logFd, logFd], env }));
    fs.closeSync(logFd);
    const m = await waitFor(`rcd ${this.name} to print a pairing link`, () => {
      if (exited(this.child)) throw new Error(`rcd ${this.name} exited:\n${fs.readFileSync(this.log, 'utf8')}`);
      return /open (\S+#pair=(\S+))/.exec(fs.readFileSync(this.log, 'utf8'));
    }, 20000);
    this.pairUrl = m[1];
    this.code = m[2];
  }
}

/** A TCP proxy in front of the relay that can turn its open WebSockets
 *  into half-open ones: nothing goes through and nothing is closed, as
 *  after a phone slept or changed networks. */
function startProxy(port) {
  const pairs = new Set();
  let stall = false;
  const server = net.createServer((c) => {
    const u = net.connect(port, '127.0.0.1');
    const p = { c, u, ws: false, holed: stall, busy: false };
    pairs.add(p);
    c.on('data', (d) => {
      if (!p.ws && /^GET [^\r\n]*\/attach\?/.test(d.toString('latin1', 0, 300))) p.ws = true;
      if (!p.holed) u.write(d);
      else p.busy = true;
    });
    u.on('data', (d) => { if (!p.holed) c.write(d); });
    const end = () => {
      c.destroy();
      u.destroy();
      pairs.delete(p);
    };
    c.on('error', end);
    u.on('error', end);
    c.on('close', () => { if (!p.holed) end(); });
    u.on('close', () => { if (!p.holed) end(); });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        /** Freezes every open WebSocket (with `all`, every connection,
         *  and new ones too, until release()); returns how many. */
        blackhole(all = false) {
          let n = 0;
          if (all) stall = true;
          for (const p of pairs) {
            if ((all || p.ws) && !p.holed) {
              p.holed = true;
              n++;
            }
          }
          return n;
        },
        /** The network is back: new connections go through, idle frozen
         *  ones are reset; requests already stuck stay stuck. */
        release() {
          stall = false;
          for (const p of pairs) {
            if (p.holed && !p.ws && !p.busy) {
              p.c.destroy();
              p.u.destroy();
              pairs.delete(p);
            }
          }
        },
        close() {
          server.close();
          for (const p of pairs) {
            p.c.destroy();
            p.u.destroy();
          }
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------
// Page helpers

const problems = [];

function watch(page, label) {
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`${label}: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: uncaught ${e.message}`));
  return page;
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(250); // let the last frame paint
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function screenText(page) {
  return page.$eval('#screen', (s) => Array.from(s.children, (r) => r.textContent.replace(/\s+$/, '')).join('\n'));
}

async function waitScreen(page, needle, ms = 15000) {
  let last = '';
  try {
    await waitFor(`the screen to show ${JSON.stringify(needle)}`, async () => {
      last = await screenText(page);
      return typeof needle === 'string' ? last.includes(needle) : needle.test(last);
    }, ms);
  } catch (e) {
    throw new Error(`${e.message}; it shows:\n${last}`);
  }
  return last;
}

async function connState(page) {
  return page.$eval('#conn', (c) => c.dataset.state);
}

async function waitConn(page, state, ms = 15000) {
  await waitFor(`the status to be ${state}`, async () => (await connState(page)) === state, ms, 50);
}

async function typeLine(page, text) {
  await page.fill('#line', text);
  await page.press('#line', 'Enter');
}

function occurrences(hay, needle) {
  return hay.split(needle).length - 1;
}

async function visible(page, sel) {
  return page.$eval(sel, (e) => !e.hidden && e.getClientRects().length > 0).catch(() => false);
}

async function card(page, name) {
  return page.$(`.machine[data-name="${name}"]`);
}

async function token(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('rcd.tokens'))[0].token);
}

async function apiCall(relay, tok, method, p, body) {
  const resp = await fetch(`${relay.url}/api/v1${p}`, {
    method,
    headers: { Authorization: `Bearer ${tok}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

// ---------------------------------------------------------------------------
// Tests

const results = [];
let failed = false;

async function test(name, fn) {
  if (failed) {
    results.push({ name, ok: null });
    log(`skip ${name}`);
    return;
  }
  const t0 = Date.now();
  let timer;
  try {
    await Promise.race([
      fn(),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`step took over ${STEP_MS} ms`)), STEP_MS); }),
    ]);
    results.push({ name, ok: true });
    log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed = true;
    results.push({ name, ok: false });
    log(`FAIL ${name}: ${e.stack || e}`);
    if (browser) {
      for (const ctx of browser.contexts()) {
        for (const [i, p] of ctx.pages().entries()) {
          await p.screenshot({ path: path.join(SHOTS, `failure-${results.length}-${i}.png`) }).catch(() => {});
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/test does)`);

  const relay = new Relay(tmp);
  await relay.start();
  const tokenFile = path.join(tmp, 'enroll.token');
  fs.writeFileSync(tokenFile, relay.enrollmentToken());
  const laptop = new Daemon('laptop', relay, tokenFile, { capacity: 1 });
  const server = new Daemon('server', relay, tokenFile, {
    capacity: 4, worktree: true,
    programs: ['shell=', 'greeter=sh -c "echo greeted-$((40+2)); exec cat"'],
  });
  const oldbox = new Daemon('old-box', relay, tokenFile, { capacity: 2 });
  await Promise.all([laptop.start(), server.start(), oldbox.start()]);
  log(`relay ${relay.url}; daemons up`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const phoneCtx = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
  });
  const deskCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const phone = watch(await phoneCtx.newPage(), 'phone');
  const desk = watch(await deskCtx.newPage(), 'desktop');
  let envIds = {};

  await test('an unpaired visitor sees only the pairing page', async () => {
    await phone.goto(`${relay.url}/`);
    await waitFor('the pairing page', () => visible(phone, '#pair-view'));
    if (await visible(phone, '#list-view')) throw new Error('the list is visible unpaired');
    const origin = await phone.textContent('.origin');
    if (origin !== relay.url) throw new Error(`the page names ${origin}`);
    await shot(phone, 'phone-pair');
  });

  await test('pairing through the #pair= link rcd prints', async () => {
    await phone.goto(laptop.pairUrl);
    await waitFor('the machine list', () => visible(phone, '#list-view'));
    const hash = await phone.evaluate(() => location.hash);
    if (hash !== '') throw new Error(`the code stayed in the address: ${hash}`);
    const stored = await phone.evaluate(() => localStorage.getItem('rcd.tokens'));
    if (!/rcdev_/.test(stored || '')) throw new Error(`no device token stored: ${stored}`);
    // A used code is refused, and says so.
    const again = await deskCtx.newPage();
    await again.goto(laptop.pairUrl);
    await waitFor('the refusal', async () => /refused/.test(await again.textContent('#pair-error')));
    await again.close();
  });

  await test('pairing by typing a code', async () => {
    await desk.goto(`${relay.url}/`);
    await waitFor('the pairing page', () => visible(desk, '#pair-view'));
    // Typed codes are read in any case, without the dash.
    await desk.fill('#pair-code', server.code.replace('-', '').toLowerCase());
    await desk.click('#pair-submit');
    await waitFor('the machine list', () => visible(desk, '#list-view'));
  });

  await test('the list: machines online, then one offline after its rcd was killed', async () => {
    for (const n of ['laptop', 'server', 'old-box']) {
      await waitFor(`${n} online`, async () => {
        const c = await card(phone, n);
        return c && (await c.getAttribute('data-online')) === 'true';
      });
    }
    envIds = await phone.evaluate(() => Object.fromEntries(
      Array.from(document.querySelectorAll('.machine'), (m) => [m.dataset.name, m.dataset.env])));
    const tok = await token(phone);
    // Sessions made through the API show up live, with their branch.
    let r = await apiCall(relay, tok, 'POST', `/environments/${envIds['old-box']}/sessions`, { name: 'nightly' });
    if (r.status !== 201) throw new Error(`create nightly: ${JSON.stringify(r)}`);
    r = await apiCall(relay, tok, 'POST', `/environments/${envIds.server}/sessions`, { name: 'docs' });
    if (r.status !== 201) throw new Error(`create docs: ${JSON.stringify(r)}`);
    // fix-login runs sandboxed (Landlock); the list marks it, and only it.
    r = await apiCall(relay, tok, 'POST', `/environments/${envIds.server}/sessions`, { name: 'fix-login', spawn: 'same-dir', sandbox: true });
    if (r.status !== 201) throw new Error(`create fix-login: ${JSON.stringify(r)}`);
    await waitFor('docs with its branch', async () => {
      const b = await phone.$('.machine[data-name="server"] .session[data-session="docs"] .branch');
      return b && (await b.textContent()) === 'rcd/docs';
    });
    await waitFor('fix-login marked sandboxed', async () => {
      const c = await phone.$('.machine[data-name="server"] .session[data-session="fix-login"] .chip.sandbox');
      return c && (await c.textContent()) === 'sandboxed';
    });
    const listed = await apiCall(relay, tok, 'GET', '/environments');
    const sboxed = listed.body.find((e) => e.id === envIds.server).sessions.filter((s) => s.sandboxed).map((s) => s.name);
    if (sboxed.join() !== 'fix-login') throw new Error(`sandboxed per the API: ${sboxed}`);
    const marked = await phone.$$eval('.session .chip.sandbox', (cs) => cs.map((c) => c.closest('.session').dataset.session));
    if (marked.join() !== 'fix-login') throw new Error(`sessions marked sandboxed: ${marked}`);
    const text = await phone.textContent('.machine[data-name="server"]');
    for (const want of ['worktree mode', '2/4 used', server.work]) {
      if (!text.includes(want)) throw new Error(`server's card lacks ${want}: ${text}`);
    }
    await stop(oldbox.child, 'SIGKILL');
    await waitFor('old-box offline', async () => {
      const c = await card(phone, 'old-box');
      return c && (await c.getAttribute('data-online')) === 'false';
    }, 15000);
    const off = await phone.textContent('.machine[data-name="old-box"]');
    if (!/offline/.test(off) || !/nightly/.test(off)) throw new Error(`old-box card: ${off}`);
    if ((await card(phone, 'laptop').then((c) => c.getAttribute('data-online'))) !== 'true') throw new Error('laptop went offline too');
    if (!(await phone.$eval('.machine[data-name="old-box"] .new-btn', (b) => b.disabled))) throw new Error('New is enabled on an offline machine');
  });

  await test('a new session by name; typed echo shows on the screen', async () => {
    await phone.click('.machine[data-name="laptop"] .new-btn');
    await waitFor('the new-session dialog', () => phone.$eval('#new-dialog', (d) => d.open));
    await phone.fill('#new-name', 'web1');
    await phone.click('#new-create');
    await waitFor('the terminal', () => visible(phone, '#term-view'), 20000);
    const hash = await phone.evaluate(() => location.hash);
    if (hash !== `#/s/${envIds.laptop}/web1`) throw new Error(`terminal route ${hash}`);
    await waitConn(phone, 'connected');
    await waitScreen(phone, 'you@laptop');
    await typeLine(phone, 'echo hello-$((6*7))');
    await waitScreen(phone, 'hello-42');
    if ((await phone.inputValue('#line')) !== '') throw new Error('the line was not cleared');
    await typeLine(phone, "printf '\\e[1;32mpass\\e[0m \\e[33mwarn\\e[0m \\e[97;41m fail \\e[0m \\e[4munderlined\\e[0m \\e[7minverse\\e[0m\\n'");
    await waitScreen(phone, 'underlined inverse');
    const styled = await phone.$$eval('#screen span', (ss) => ss.map((s) => `${s.textContent}|${s.style.color}|${s.style.backgroundColor}|${s.className}`));
    const find = (t) => styled.find((s) => s.startsWith(`${t}|`)) || '';
    if (!find('pass').includes('var(--c2)') || !find('pass').includes('b')) throw new Error(`pass is not bold green: ${find('pass')}`);
    if (!find(' fail ').includes('var(--c1)')) throw new Error(`fail has no red background: ${find(' fail ')}`);
    if (!/\bu\b/.test(find('underlined'))) throw new Error(`no underline: ${find('underlined')}`);
    if (!(await phone.$('#screen .cursor'))) throw new Error('no cursor');
  });

  await test('the key bar: Ctrl-C interrupts a running sleep, and sticky Ctrl + c too', async () => {
    await typeLine(phone, 'sleep 100');
    await waitScreen(phone, 'sleep 100');
    await sleep(400);
    await phone.click('#keys [data-key="ctrl-c"]');
    await typeLine(phone, 'echo back-$((2+3))');
    await waitScreen(phone, 'back-5', 8000);
    await typeLine(phone, 'sleep 100 # again');
    await waitScreen(phone, 'sleep 100 # again');
    await sleep(400);
    await phone.click('#ctrl-key');
    if ((await phone.getAttribute('#ctrl-key', 'aria-pressed')) !== 'true') throw new Error('Ctrl did not stick');
    await phone.focus('#line');
    await phone.keyboard.type('c');
    if ((await phone.inputValue('#line')) !== '') throw new Error('c went into the text box');
    if ((await phone.getAttribute('#ctrl-key', 'aria-pressed')) !== 'false') throw new Error('Ctrl stayed on');
    await typeLine(phone, 'echo again-$((3+4))');
    await waitScreen(phone, 'again-7', 8000);
    // Enter alone, from the key bar: a new prompt.
    const before = occurrences(await screenText(phone), 'you@laptop');
    await phone.click('#keys [data-key="enter"]');
    await waitFor('a new prompt', async () => occurrences(await screenText(phone), 'you@laptop') > before);
    await shot(phone, 'phone-terminal');
  });

  await test('arrows follow the application cursor mode a program asks for', async () => {
    // Normal mode: ESC [ A.
    await typeLine(phone, "read -rsn3 k; printf 'got:%q\\n' \"$k\"");
    await sleep(400);
    await phone.click('#keys [data-key="up"]');
    await waitScreen(phone, "got:$'\\E[A'", 8000);
    // After DECCKM (as full-screen programs set it): ESC O A.
    await typeLine(phone, "printf '\\e[?1h'; read -rsn3 k; printf 'app:%q\\n' \"$k\"; printf '\\e[?1l'");
    await sleep(600);
    await phone.click('#keys [data-key="up"]');
    await waitScreen(phone, "app:$'\\EOA'", 8000);
  });

  await test('two browsers on one session see the same screen and both type', async () => {
    await desk.goto(`${relay.url}/#/s/${envIds.laptop}/web1`);
    await waitConn(desk, 'connected');
    await waitScreen(desk, 'again-7');
    await typeLine(desk, 'echo from-desktop-$((10+1))');
    await waitScreen(desk, 'from-desktop-11');
    await waitScreen(phone, 'from-desktop-11');
    await typeLine(phone, 'echo from-phone-$((20+2))');
    await waitScreen(desk, 'from-phone-22');
    let a = '';
    let b = '';
    try {
      await waitFor('the same screen on both', async () => {
        [a, b] = [await screenText(phone), await screenText(desk)];
        return a === b;
      }, 5000);
    } catch (e) {
      throw new Error(`${e.message}:\n${a}\n---\n${b}`);
    }
    await shot(desk, 'desktop-terminal');
  });

  await phoneTests({
    test, phone, desk, phoneCtx, relay, envIds, waitFor, waitConn, waitScreen, screenText,
    visible, connState, shot, log, occurrences,
  });

  await test('the list with every kind of machine (screenshots)', async () => {
    await phone.click('#back-btn');
    await waitFor('the list', () => visible(phone, '#list-view'));
    await waitFor('web1 listed', () => phone.$('.session[data-session="web1"]'));
    await shot(phone, 'phone-list');
    const list = watch(await deskCtx.newPage(), 'desktop-list');
    await list.goto(`${relay.url}/`);
    await waitFor('web1 listed', () => list.$('.session[data-session="web1"]'));
    await shot(list, 'desktop-list');
    await list.close();
  });

  await test('a permission request: first in the list with its badge, a card with Allow in the session', async () => {
    // Claude Code's hook input, as it would run `rcctl hook claude`.
    const input = {
      session_id: 'e2e', cwd: laptop.work, hook_event_name: 'PermissionRequest', permission_mode: 'manual',
      tool_name: 'Bash', tool_input: { command: 'cargo test --all', description: 'Run the tests' },
    };
    fs.writeFileSync(path.join(laptop.work, 'perm.json'), JSON.stringify(input));
    await phone.goto(`${relay.url}/#/s/${envIds.laptop}/web1`);
    await waitConn(phone, 'connected');
    await typeLine(phone, `${bin('rcctl')} hook claude < perm.json > perm.out; echo HOOK-$((1+1))`);
    await waitFor('the request card', () => visible(phone, '#request'), 15000);
    const card = await phone.textContent('#request');
    if (!/Claude Code asks to use Bash/.test(card) || !/cargo test --all/.test(card)) throw new Error(`card: ${card}`);
    if (!/^\(!\) web1/.test(await phone.title())) throw new Error(`title: ${await phone.title()}`);
    // The list: the session first, with a badge and its message; the
    // title counts it.
    await phone.click('#back-btn');
    await waitFor('the list', () => visible(phone, '#list-view'));
    await waitFor('the badge', () => phone.$('.machine[data-name="laptop"] .session.needs .chip.needs'));
    const row = await phone.textContent('.machine[data-name="laptop"] .session.needs');
    if (!/asks permission/.test(row) || !/Bash: cargo test --all/.test(row)) throw new Error(`row: ${row}`);
    if ((await phone.title()) !== '(1) rcd') throw new Error(`list title: ${await phone.title()}`);
    if ((await phone.$eval('#machines .machine', (m) => m.dataset.name)) !== 'laptop') throw new Error('the machine that needs you is not first');
    await shot(phone, 'phone-needs-you');
    await phone.click('.machine[data-name="laptop"] .session.needs .session-open');
    await waitConn(phone, 'connected');
    await waitFor('the request card again', () => visible(phone, '#request'), 15000);
    await shot(phone, 'phone-permission');
    await phone.click('#request [data-answer="allow"]');
    await waitScreen(phone, 'HOOK-2', 15000);
    const out = JSON.parse(fs.readFileSync(path.join(laptop.work, 'perm.out'), 'utf8'));
    if (out.hookSpecificOutput.decision.behavior !== 'allow') throw new Error(`hook printed ${JSON.stringify(out)}`);
    await waitFor('the card to go', async () => !(await visible(phone, '#request')));
  });

  await test('the relay is killed and restarted: the page resumes, keys typed meanwhile arrive once', async () => {
    await phone.goto(`${relay.url}/#/s/${envIds.laptop}/web1`);
    await waitConn(phone, 'connected');
    await relay.kill();
    await waitFor('the phone to notice', async () => (await connState(phone)) !== 'connected', 10000, 50);
    await typeLine(phone, 'echo outage-$((500+55))');
    await waitFor('the line to wait visibly', async () => (await phone.getAttribute('#pending', 'data-waiting')) === '1'
      && (await visible(phone, '#pending')));
    await shot(phone, 'phone-reconnecting');
    await sleep(1500);
    await relay.start();
    log(`relay restarted on ${relay.url}`);
    await waitConn(phone, 'connected', 40000);
    await waitScreen(phone, 'outage-555', 10000);
    await waitConn(desk, 'connected', 20000);
    await waitScreen(desk, 'outage-555', 10000);
    await sleep(1500);
    const text = await screenText(phone);
    if (occurrences(text, 'outage-555') !== 1) throw new Error(`delivered ${occurrences(text, 'outage-555')} times:\n${text}`);
    if ((await phone.getAttribute('#pending', 'data-waiting')) !== '0') throw new Error('inputs still waiting');
    // The relay forgot the killed machine: it has left the list.
    await phone.click('#back-btn');
    await waitFor('laptop back in the list', async () => {
      const c = await card(phone, 'laptop');
      return c && (await c.getAttribute('data-online')) === 'true';
    }, 20000);
    if (await card(phone, 'old-box')) throw new Error('old-box is still listed');
  });

  await test('a half-open socket is replaced: on coming back within a second, by heartbeat otherwise', async () => {
    proxy = await startProxy(relay.port);
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const tok = await token(phone);
    await ctx.addInitScript(([t]) => {
      if (!localStorage.getItem('rcd.tokens')) localStorage.setItem('rcd.tokens', JSON.stringify([{ id: 'x', token: t }]));
    }, [tok]);
    const p = watch(await ctx.newPage(), 'proxied');
    await p.goto(`${proxy.url}/#/s/${envIds.laptop}/web1`);
    await waitConn(p, 'connected');
    const cid = await p.evaluate(() => window.rcdDebug.state().clientId);
    const sockets = () => p.evaluate(() => window.rcdDebug.state().sockets);
    /** Waits for a socket newer than the n-th, greeted by the daemon. */
    const replaced = async (n, ms) => {
      await waitFor('a new socket', async () => (await sockets()) > n, ms, 10);
      await waitConn(p, 'connected', ms);
    };
    let n = await sockets();
    // The phone slept: its socket is dead but nobody closed it.
    if (proxy.blackhole() < 1) throw new Error('no WebSocket through the proxy');
    const t0 = Date.now();
    await p.evaluate(() => window.dispatchEvent(new Event('focus')));
    await replaced(n, 5000);
    const took = Date.now() - t0;
    log(`  resumed ${took} ms after coming back`);
    if (took > 3000) throw new Error(`resuming took ${took} ms`);
    await typeLine(p, 'echo wake-$((7*8))');
    await waitScreen(p, 'wake-56');
    // The tab was in the background for a while (a phone asleep): on its
    // return the socket is replaced at once.
    await p.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    if (proxy.blackhole() < 1) throw new Error('no WebSocket through the proxy');
    await sleep(3200);
    n = await sockets();
    const t1 = Date.now();
    await p.evaluate(() => {
      delete document.hidden;
      delete document.visibilityState;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await replaced(n, 5000);
    const took1 = Date.now() - t1;
    log(`  resumed ${took1} ms after the page was shown again`);
    if (took1 > 1500) throw new Error(`resuming took ${took1} ms`);
    // The phone slept while a reconnect was under way: its ticket fetch
    // or its opening socket hangs. Coming back starts over at once.
    n = await sockets();
    if (proxy.blackhole(true) < 1) throw new Error('nothing through the proxy');
    await p.evaluate(() => window.dispatchEvent(new Event('focus')));
    await waitFor('a reconnect under way', async () => (await connState(p)) !== 'connected', 3000, 20);
    await sleep(1200);
    proxy.release();
    const t2 = Date.now();
    await p.evaluate(() => window.dispatchEvent(new Event('focus')));
    await replaced(n, 8000);
    const took2 = Date.now() - t2;
    log(`  resumed ${took2} ms after coming back during a reconnect`);
    if (took2 > 1500) throw new Error(`resuming took ${took2} ms`);
    // Without any event, the heartbeat finds a dead socket by itself.
    await p.evaluate(() => window.rcdDebug.heartbeatEvery(300));
    n = await sockets();
    if (proxy.blackhole() < 1) throw new Error('no WebSocket through the proxy');
    await replaced(n, 8000);
    // A reload of the tab keeps its client_id (sessionStorage).
    await p.reload();
    await waitConn(p, 'connected');
    const cid2 = await p.evaluate(() => window.rcdDebug.state().clientId);
    if (cid !== cid2) throw new Error(`the client_id changed on reload: ${cid} → ${cid2}`);
    await typeLine(p, 'echo reloaded-$((8*8))');
    await waitScreen(p, 'reloaded-64');
    // Keys that waited too long for a connection are dropped, visibly,
    // and the next ones still arrive (numbered after the daemon's count).
    await p.evaluate(() => window.rcdDebug.staleAfter(500));
    n = await sockets();
    if (proxy.blackhole() < 1) throw new Error('no WebSocket through the proxy');
    await typeLine(p, 'echo stale-$((4*4))');
    await sleep(800);
    await p.evaluate(() => window.dispatchEvent(new Event('focus')));
    await replaced(n, 5000);
    await waitFor('the refusal', async () => /Not sent: 1 input/.test(await p.textContent('#toast')));
    await typeLine(p, 'echo fresh-$((5*5))');
    await waitScreen(p, 'fresh-25');
    if ((await screenText(p)).includes('stale-16')) throw new Error('a stale input was typed');
    await ctx.close();
    proxy.close();
    proxy = null;
  });

  await test('the capacity error is shown as the daemon words it', async () => {
    await waitFor('the list', () => visible(phone, '#list-view'));
    await phone.click('.machine[data-name="laptop"] .new-btn');
    await phone.fill('#new-name', 'web2');
    await phone.click('#new-create');
    await waitFor('an error', () => visible(phone, '#new-error'), 20000);
    const shown = await phone.textContent('#new-error');
    const r = await apiCall(relay, await token(phone), 'POST', `/environments/${envIds.laptop}/sessions`, { name: 'web3' });
    if (r.status !== 409 || r.body.kind !== 'at-capacity') throw new Error(`expected 409 at-capacity: ${JSON.stringify(r)}`);
    if (shown !== r.body.message) throw new Error(`shown ${JSON.stringify(shown)}, the daemon says ${JSON.stringify(r.body.message)}`);
    if (!shown.startsWith('at capacity (1/1)')) throw new Error(`unexpected wording: ${shown}`);
    if (!(await phone.$eval('#new-dialog', (d) => d.open))) throw new Error('the dialog closed');
    await shot(phone, 'phone-capacity');
    await phone.click('#new-cancel');
  });

  await test('the transcript scrolls back through earlier output', async () => {
    await phone.click('.session[data-session="web1"] .session-open');
    await waitConn(phone, 'connected');
    await typeLine(phone, 'seq -f "line-%g" 1 900');
    await waitScreen(phone, 'line-900');
    await phone.click('#history-btn');
    await waitFor('the last page', async () => /line-800\n/.test(await phone.textContent('#transcript-lines')));
    await shot(phone, 'phone-transcript');
    let info = await phone.textContent('#transcript-info');
    if (!/^lines \d+–\d+ of \d+$/.test(info) || info.startsWith('lines 1–')) throw new Error(`transcript info: ${info}`);
    // Page back to the first line.
    for (let i = 0; i < 6 && (await visible(phone, '#transcript-more')); i++) {
      const before = info;
      await phone.click('#transcript-more');
      await waitFor('an earlier page', async () => (info = await phone.textContent('#transcript-info')) !== before);
    }
    const lines = (await phone.textContent('#transcript-lines')).split('\n');
    if (!info.startsWith('lines 1–')) throw new Error(`did not reach line 1: ${info}`);
    const want = lines.indexOf('line-1');
    if (want < 0 || !lines.includes('hello-42')) throw new Error(`transcript lacks earlier output: ${lines.slice(0, 20).join(' | ')}`);
    // In order, each line once.
    for (let k = 1; k <= 850; k++) {
      if (lines[want + k - 1] !== `line-${k}`) throw new Error(`line ${k} is ${JSON.stringify(lines[want + k - 1])}`);
    }
    await phone.click('#history-btn');
    await waitFor('the live screen', () => visible(phone, '#screen-wrap'));
  });

  await test('the session is resized to fit the screen when asked', async () => {
    // Fixed: otherwise the phone, which typed last, follows A+ at once.
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Size: keep")');
    await waitFor('the fixed mode', async () => (await phone.getAttribute('#size-by', 'data-mode')) === 'fixed');
    await phone.click('#font-up');
    await waitFor('the Fit button', () => visible(phone, '#fit-btn'));
    const label = await phone.textContent('#fit-size');
    const m = /^(\d+)×(\d+)$/.exec(label);
    if (!m) throw new Error(`fit label: ${label}`);
    await phone.click('#fit-btn');
    await waitFor(`a ${m[1]}×${m[2]} screen`, async () => {
      const s = await phone.evaluate(() => window.rcdDebug.state());
      return s.cols === Number(m[1]) && s.rows === Number(m[2]);
    });
    await typeLine(phone, 'stty size');
    await waitScreen(phone, `${m[2]} ${m[1]}`);
    await waitFor('the Fit button to go', async () => !(await visible(phone, '#fit-btn')));
    await shot(phone, 'phone-resized');
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Fit the text")');
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Size: follow")');
  });

  await test('the review of a worktree session: its change in the list, then file by file', async () => {
    await phone.goto(`${relay.url}/#/s/${envIds.server}/docs`);
    await waitConn(phone, 'connected');
    // What an agent would do: a commit, then changes on top of it.
    await typeLine(phone, "printf 'fn one() {}\\n' > lib.rs && git add lib.rs && git commit -qm 'add lib' && "
      + "printf 'fn two() {}\\n' >> lib.rs && printf '%s\\n' todo \"$(printf 'x%.0s' $(seq 300))\" > todo.md && "
      + "git mv README.md GUIDE.md && echo RE'VIEW'");
    await waitScreen(phone, 'REVIEW', 10000);
    await phone.click('#back-btn');
    await waitFor('the list', () => visible(phone, '#list-view'));
    const chip = '.machine[data-name="server"] .session[data-session="docs"] .review-btn';
    await waitFor('the change in the list', async () => /\+\d+/.test((await phone.textContent(chip).catch(() => '')) || ''), 15000);
    await phone.click(chip);
    await waitFor('the review', () => visible(phone, '#diff-view'));
    await waitFor('the diff', async () => /3 files/.test(await phone.textContent('#diff-sum')), 15000);
    const files = await phone.$$eval('#diff-files option', (os) => os.map((o) => o.textContent));
    for (const want of ['lib.rs', 'GUIDE.md', 'todo.md']) {
      if (!files.some((f) => f.startsWith(want))) throw new Error(`files: ${files}`);
    }
    const todo = files.findIndex((f) => f.startsWith('todo.md'));
    await phone.selectOption('#diff-files', String(todo));
    await waitFor('the untracked file', async () => /untracked/.test(await phone.textContent('#diff-file')));
    if (!/\+todo/.test((await phone.textContent('#diff-file')).replace(/\s/g, ''))) throw new Error('todo.md has no added line');
    const wide = await phone.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    if (wide) throw new Error('the review scrolls sideways');
    await shot(phone, 'phone-review');
    const guide = files.findIndex((f) => f.startsWith('GUIDE.md'));
    await phone.selectOption('#diff-files', String(guide));
    await waitFor('the rename', async () => /README\.md → GUIDE\.md/.test(await phone.textContent('#diff-file')));
    // Only what is not committed: lib.rs is modified, by one line.
    await phone.click('#diff-unc');
    await waitFor('the uncommitted changes', async () => /not committed/.test(await phone.textContent('#diff-sum')), 15000);
    const unc = await phone.$$eval('#diff-files option', (os) => os.map((o) => o.textContent));
    const lib = unc.find((f) => f.startsWith('lib.rs')) || '';
    if (!/\+1 −0/.test(lib)) throw new Error(`uncommitted: ${unc}`);
    await phone.click('#diff-back');
    await waitConn(phone, 'connected');
  });

  await test('stop asks first, then tells whether the worktree was kept and why', async () => {
    await phone.goto(`${relay.url}/#/s/${envIds.server}/docs`);
    await waitConn(phone, 'connected');
    if (await visible(phone, '#term-sandbox')) throw new Error('docs is marked sandboxed');
    await typeLine(phone, 'touch notes.txt && git status --short --branch && ls --color=always -la');
    await waitScreen(phone, 'notes.txt');
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Stop")');
    await waitFor('the confirmation', () => phone.$eval('#stop-dialog', (d) => d.open));
    await phone.click('#stop-cancel');
    const still = await apiCall(relay, await token(phone), 'GET', '/environments');
    const docs = still.body.find((e) => e.id === envIds.server).sessions.find((s) => s.name === 'docs');
    if (!docs) throw new Error('cancel stopped it anyway');
    await phone.click('#term-menu-btn');
    await phone.click('.menu-item:has-text("Stop")');
    await phone.click('#stop-confirm');
    await waitFor('the outcome', () => phone.$eval('#result-dialog', (d) => d.open), 20000);
    const outcome = await phone.$eval('#result-body', (b) => b.textContent);
    const action = await phone.getAttribute('#result-body .worktree-outcome', 'data-action');
    if (action !== 'kept' || !/untracked/.test(outcome)) throw new Error(`outcome: ${action}: ${outcome}`);
    await shot(phone, 'phone-stopped');
    await phone.click('#result-ok');
    await waitFor('the outcome to close', async () => !(await phone.$eval('#result-dialog', (d) => d.open)));
    await waitFor('the list without docs', async () => (await visible(phone, '#list-view'))
      && !(await phone.$('.session[data-session="docs"]')), 10000);
  });

  await test('a session stopped from another browser says it is gone', async () => {
    await desk.goto(`${relay.url}/#/s/${envIds.server}/fix-login`);
    await waitConn(desk, 'connected');
    await waitFor('the sandboxed chip in the header', () => visible(desk, '#term-sandbox'));
    await waitFor('fix-login listed', () => phone.$('.session[data-session="fix-login"] .stop-btn'));
    await phone.click('.session[data-session="fix-login"] .stop-btn');
    await waitFor('the confirmation', () => phone.$eval('#stop-dialog', (d) => d.open));
    if (await visible(phone, '#stop-force-row')) throw new Error('a same-dir session offers to remove a worktree');
    await phone.click('#stop-confirm');
    await waitFor('the outcome', () => phone.$eval('#result-dialog', (d) => d.open), 20000);
    const outcome = await phone.textContent('#result-body');
    if (!/no worktree of its own/.test(outcome)) throw new Error(`outcome: ${outcome}`);
    await phone.click('#result-ok');
    await waitFor('the banner', async () => (await visible(desk, '#banner'))
      && /gone/.test(await desk.textContent('#banner')), 12000);
    await typeLine(desk, 'echo nobody');
    if ((await desk.inputValue('#line')) !== 'echo nobody') throw new Error('a refused line was cleared');
    if (!/Not sent/.test(await desk.textContent('#toast'))) throw new Error('no refusal shown');
  });

  await test('the New dialog lists the machine’s programs and starts the one chosen', async () => {
    await phone.goto(`${relay.url}/`);
    await waitFor('the list', () => visible(phone, '#list-view'));
    // A machine with one program offers no choice.
    await waitFor('laptop online', () => phone.$eval('.machine[data-name="laptop"] .new-btn', (b) => !b.disabled), 15000);
    await phone.click('.machine[data-name="laptop"] .new-btn');
    await waitFor('the new-session dialog', () => phone.$eval('#new-dialog', (d) => d.open));
    if (await visible(phone, '#new-programs')) throw new Error('a choice of programs on a machine with one');
    await phone.click('#new-cancel');
    await waitFor('server online', () => phone.$eval('.machine[data-name="server"] .new-btn', (b) => !b.disabled), 15000);
    await phone.click('.machine[data-name="server"] .new-btn');
    await waitFor('the new-session dialog', () => phone.$eval('#new-dialog', (d) => d.open));
    await waitFor('the programs', () => visible(phone, '#new-programs'));
    const offered = await phone.$$eval('#new-programs input[name=program]', (is) => is.map((i) => `${i.value}${i.checked ? '*' : ''}`));
    if (offered.join(' ') !== 'greeter shell*') throw new Error(`offered: ${offered.join(' ')}`);
    await phone.click('#new-programs label[data-program="greeter"]');
    await phone.fill('#new-name', 'greet');
    await shot(phone, 'phone-new-programs');
    await phone.click('#new-create');
    await waitFor('the terminal', () => visible(phone, '#term-view'), 20000);
    await waitConn(phone, 'connected');
    await waitScreen(phone, 'greeted-42');
    await phone.goto(`${relay.url}/`);
    const chipSel = '.machine[data-name="server"] .session[data-session="greet"] .chip.program';
    await waitFor('the program in the list', async () => (await phone.textContent(chipSel).catch(() => '')) === 'greeter', 15000);
    // The device's request named the program and nothing else.
    const listed = await apiCall(relay, await token(phone), 'GET', '/environments');
    const greet = listed.body.find((e) => e.id === envIds.server).sessions.find((s) => s.name === 'greet');
    if (greet.program !== 'greeter') throw new Error(`listed: ${JSON.stringify(greet)}`);
    const r = await apiCall(relay, await token(phone), 'DELETE', `/environments/${envIds.server}/sessions/greet?force=true`);
    if (r.status !== 200) throw new Error(`stop: ${JSON.stringify(r)}`);
  });

  await pushTests({ test, browser, relay, envIds, phone, waitFor, visible, watch, apiCall, token, shot, log });

  await test('no Content-Security-Policy violation or script error on any page', async () => {
    if (problems.length) throw new Error(problems.join('\n'));
  });
}

let code = 1;
const watchdog = setTimeout(async () => {
  log(`FAIL the whole run took over ${LIMIT_MS / 1000} s`);
  results.push({ name: 'time limit', ok: false });
  await finish();
  process.exit(1);
}, LIMIT_MS);

let finished = false;
async function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(watchdog);
  if (proxy) proxy.close();
  if (browser) await browser.close().catch(() => {});
  await Promise.all([...children].map((c) => stop(c, 'SIGINT')));
  endKeepers(tmp);
  const passed = results.filter((r) => r.ok === true).length;
  const failedN = results.filter((r) => r.ok === false).length;
  const skipped = results.filter((r) => r.ok === null).length;
  if (failedN) {
    log(`logs kept in ${tmp}; screenshots in ${SHOTS}`);
  } else {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`web: ${passed} passed, ${failedN} failed${skipped ? `, ${skipped} skipped` : ''}`);
  code = failedN || !passed ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    results.push({ name: `interrupted by ${sig}`, ok: false });
    await finish();
    process.exit(1);
  });
}

try {
  await main();
} catch (e) {
  log(`FAIL set-up: ${e.stack || e}`);
  results.push({ name: 'set-up', ok: false });
}
await finish();
process.exit(code);
