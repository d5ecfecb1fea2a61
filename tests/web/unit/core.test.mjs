// The session core (relay/web/core.js) beyond the shared fixtures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INPUT_CHUNK, PROTOCOL, SessionCore, b64 } from '../../../relay/web/core.js';

const SESSION = { id: 's1', name: 'a', state: 'running' };
const hello = (input_seq) => ({ t: 'hello', protocol: PROTOCOL, session: SESSION, input_seq });

function greeted() {
  const c = new SessionCore('web-x', null);
  c.connected();
  c.onDaemon(hello(0), 0);
  return c;
}

test('base64 is standard, with padding', () => {
  assert.equal(b64(new TextEncoder().encode('ls\r')), 'bHMN');
  assert.equal(b64(new Uint8Array([0xff, 0])), '/wA=');
  const big = new Uint8Array(0x8000 * 2 + 3).fill(0x61);
  assert.equal(Buffer.from(b64(big), 'base64').length, big.length);
});

test('large input goes in chunks, numbered in order', () => {
  const c = greeted();
  const sent = c.input(new Uint8Array(INPUT_CHUNK * 2 + 1).fill(0x78), 0);
  assert.deepEqual(sent.map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(sent.map((m) => Buffer.from(m.bytes, 'base64').length), [INPUT_CHUNK, INPUT_CHUNK, 1]);
  assert.equal(c.queue.bytes(), INPUT_CHUNK * 2 + 1);
});

test('the hello says how many stale inputs were dropped', () => {
  const c = greeted();
  c.disconnected();
  c.input(new TextEncoder().encode('old'), 0);
  c.connected();
  const r = c.onDaemon(hello(0), 500, 400);
  assert.deepEqual(r.send, []);
  assert.deepEqual(r.events, [{ t: 'ready', session: SESSION, dropped: 1 }]);
});

test('a refused input empties the queue; other errors leave it', () => {
  const c = greeted();
  c.input(new TextEncoder().encode('a'), 0);
  c.input(new TextEncoder().encode('b'), 0);
  let r = c.onDaemon({ t: 'error', message: 'no such page' }, 0);
  assert.deepEqual(r.events, [{ t: 'error', message: 'no such page', refused: null }]);
  assert.equal(c.queue.pending.length, 2);
  r = c.onDaemon({ t: 'error', message: 'input refused: the session is read-only' }, 0);
  assert.equal(r.events[0].refused, 2);
  assert.equal(c.queue.pending.length, 0);
});

test('a resize asked for before the hello goes once', () => {
  const c = new SessionCore('web-x', null);
  c.connected();
  assert.deepEqual(c.resize(30, 100), []);
  assert.deepEqual(c.onDaemon(hello(0), 0).send, [{ t: 'resize', rows: 30, cols: 100 }]);
  c.connected();
  assert.deepEqual(c.onDaemon(hello(0), 0).send, []);
});

test('a renewed client_id starts an empty queue and keeps the rest', () => {
  const c = new SessionCore('web-old', { pending: [[1, 'YQ==', 1, 0]], next: 2, acked: 0 });
  c.resize(10, 40);
  c.renew('web-new');
  assert.equal(c.queue.pending.length, 0);
  assert.deepEqual(c.connected(), [{ t: 'hello', protocol: PROTOCOL, client_id: 'web-new' }]);
  assert.deepEqual(c.onDaemon(hello(0), 0).send, [{ t: 'resize', rows: 10, cols: 40 }]);
});

test('messages of no interest change nothing', () => {
  const c = greeted();
  assert.deepEqual(c.onDaemon({ t: 'pong', n: 3 }, 0), { send: [], events: [], fault: null });
});

test('the parts of a large frame are acknowledged at once and shown together', () => {
  const c = greeted();
  const P = 2 ** 52;
  const frame = (version, base, rows, cols, changed, partial) => ({
    t: 'screen', version, base, rows, cols, changed, cursor: [0, 0], cursor_visible: true,
    title: partial ? 'x' : 'y', app_cursor: false, ...(partial ? { partial: true } : {}),
  });
  let r = c.onDaemon(frame(P + 1, 0, 3, 50, [[0, { runs: [{ text: 'a' }] }]], true), 0);
  assert.deepEqual(r.send, [{ t: 'ack', version: P + 1 }]);
  assert.deepEqual(r.events, [], 'nothing to show before the last part');
  r = c.onDaemon(frame(P + 2, P + 1, 3, 50, [[1, { runs: [{ text: 'b' }] }]], true), 0);
  assert.deepEqual(r.send, [{ t: 'ack', version: P + 2 }]);
  assert.deepEqual(r.events, []);
  r = c.onDaemon(frame(9, P + 2, 3, 50, [[2, { runs: [{ text: 'c' }] }]], false), 0);
  assert.deepEqual(r.send, [{ t: 'ack', version: 9 }]);
  // The size changed with the first part and the title with the last.
  assert.deepEqual(r.events, [{ t: 'screen', resized: true, titleChanged: true }]);
  assert.deepEqual(c.screen.text(), ['a', 'b', 'c']);
  assert.equal(c.screen.version, 9);
  r = c.onDaemon(frame(10, 9, 3, 50, [[0, { runs: [{ text: 'A' }] }]], false), 0);
  assert.deepEqual(r.events, [{ t: 'screen', resized: false, titleChanged: false }]);
});

test('the size this device drives: in its hello, and later only to a daemon that knows sizes', () => {
  const c = new SessionCore('web-x', null);
  assert.deepEqual(c.connected(), [{ t: 'hello', protocol: PROTOCOL, client_id: 'web-x' }], 'none said: the hello of old');
  c.size = [40, 52];
  c.label = 'phone · Chrome';
  assert.deepEqual(c.connected(), [{
    t: 'hello', protocol: PROTOCOL, client_id: 'web-x', size: { rows: 40, cols: 52 }, label: 'phone · Chrome',
  }]);
  c.onDaemon(hello(0), 0);
  // An older daemon sent no size note: it would refuse these.
  assert.deepEqual(c.setSize(30, 52), []);
  assert.deepEqual(c.setSizeMode('fixed'), []);
  assert.deepEqual(c.connected()[0].size, { rows: 30, cols: 52 }, 'the next hello says it');
  c.onDaemon(hello(0), 0);
  const r = c.onDaemon({ t: 'size', rows: 30, cols: 52, mode: 'latest', by: 'phone · Chrome', why: 'typed' }, 0);
  assert.deepEqual(r.events, [{ t: 'size', note: { t: 'size', rows: 30, cols: 52, mode: 'latest', by: 'phone · Chrome', why: 'typed' } }]);
  assert.deepEqual(c.setSize(20, 52), [{ t: 'size', rows: 20, cols: 52 }]);
  assert.deepEqual(c.setSize(20, 52), [], 'the same size is not said again');
  assert.deepEqual(c.setSizeMode('fixed'), [{ t: 'size-mode', mode: 'fixed' }]);
});
