// Replays tests/fixtures/device-session/*.json (format in its README.md)
// through the web UI's session core, relay/web/core.js, exactly as
// relay/web/session.js drives it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { SessionCore } from '../../../relay/web/core.js';

const DIR = fileURLToPath(new URL('../../fixtures/device-session/', import.meta.url));
/** What this core models beyond the protocol core (README.md, "needs"). */
const MODELS = new Set(['stale-inputs']);

/** One step: what the device sends, and a fault if any. */
function play(core, step, clock) {
  if ('daemon' in step) {
    const r = core.onDaemon(step.daemon, clock.now);
    return { send: r.send, fault: r.fault ? r.fault.kind : null, dropped: dropped(r) };
  }
  if ('relay' in step) {
    assert.equal(step.relay.t, 'link', 'only link frames are relay steps');
    if (step.relay.up) return { send: core.connected(), fault: null };
    core.disconnected();
    return { send: [], fault: null };
  }
  switch (step.do) {
    case 'connect':
      return { send: core.connected(), fault: null };
    case 'disconnect':
      core.disconnected();
      return { send: [], fault: null };
    case 'type':
      return { send: core.input(new TextEncoder().encode(step.text), clock.now), fault: null };
    case 'resize':
      return { send: core.resize(step.rows, step.cols), fault: null };
    case 'transcript':
      return { send: core.requestTranscript(step.from, step.max_lines), fault: null };
    case 'wait':
      clock.now += step.ms;
      return { send: [], fault: null };
    default:
      throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
}

function dropped(r) {
  const ready = r.events.find((e) => e.t === 'ready');
  return ready ? ready.dropped : undefined;
}

/** Compares a JSON value regardless of key order (and of JS-only keys
 *  such as undefined ones). */
const plain = (v) => JSON.parse(JSON.stringify(v));

function check(core, out, expect, where) {
  assert.deepEqual(plain(out.send), expect.send || [], `${where}: messages sent`);
  assert.equal(out.fault, expect.fault || null, `${where}: fault`);
  if ('greeted' in expect) assert.equal(core.greeted, expect.greeted, `${where}: greeted`);
  if (expect.inputs) {
    const q = core.queue;
    if ('unacked' in expect.inputs) assert.equal(q.pending.length, expect.inputs.unacked, `${where}: unacked`);
    if ('acked' in expect.inputs) assert.equal(q.acked, expect.inputs.acked, `${where}: acked`);
  }
  if (expect.screen) {
    const s = core.screen;
    const have = {
      rows: s.text(),
      version: s.version,
      cols: s.cols,
      cursor: s.cursor,
      cursor_visible: s.cursorVisible,
      title: s.title,
    };
    for (const [k, v] of Object.entries(expect.screen)) {
      assert.ok(k in have, `${where}: unknown screen key ${k}`);
      assert.deepEqual(plain(have[k]), v, `${where}: screen ${k}`);
    }
  }
  if ('dropped' in expect) assert.equal(out.dropped, expect.dropped, `${where}: dropped`);
  if ('exited' in expect) assert.equal(core.exited, expect.exited, `${where}: exited`);
  const known = ['send', 'fault', 'greeted', 'inputs', 'screen', 'dropped', 'exited'];
  for (const k of Object.keys(expect)) assert.ok(known.includes(k), `${where}: unknown key ${k}`);
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

test('there are fixtures', () => {
  assert.ok(files.length >= 8, `${files.length} fixtures in ${DIR}`);
});

for (const file of files) {
  const fx = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
  const missing = (fx.needs || []).filter((n) => !MODELS.has(n));
  test(file, { skip: missing.length ? `needs ${missing}` : false }, () => {
    const core = new SessionCore(fx.client_id, null);
    const clock = { now: 0 };
    fx.steps.forEach((step, i) => {
      const where = `${file} step ${i + 1}`;
      assert.ok(step.expect && 'send' in step.expect, `${where}: every step expects "send"`);
      check(core, play(core, step, clock), step.expect, where);
    });
  });
}
