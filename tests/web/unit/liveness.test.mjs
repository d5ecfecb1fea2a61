// The reconnection backoff and the ping liveness rule of the attach
// socket (relay/web/backoff.js, relay/web/liveness.js).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoff } from '../../../relay/web/backoff.js';
import { Liveness } from '../../../relay/web/liveness.js';

test('the backoff doubles up to a cap, jittered in the upper half', () => {
  assert.equal(backoff(0, 0), BACKOFF_BASE_MS / 2);
  assert.equal(backoff(0, 1), BACKOFF_BASE_MS);
  assert.equal(backoff(2, 1), BACKOFF_BASE_MS * 4);
  assert.equal(backoff(30, 0), BACKOFF_CAP_MS / 2);
  assert.equal(backoff(30, 1), BACKOFF_CAP_MS);
  const d = backoff(3, 0.5);
  assert.ok(d > 1000 && d < 2000, String(d));
});

test('two unanswered heartbeats end the socket', () => {
  const l = new Liveness();
  assert.equal(l.nextPing(), 1);
  l.pong(1);
  assert.equal(l.nextPing(), 2);
  assert.equal(l.nextPing(), 3, 'one unanswered is fine');
  assert.equal(l.nextPing(), null, 'two unanswered is not');
  l.pong(3);
  assert.equal(l.nextPing(), 4);
});

test('a probe is sent whatever the count and judged by its own answer', () => {
  const l = new Liveness();
  l.nextPing();
  l.nextPing();
  const n = l.probe();
  assert.equal(n, 3);
  assert.equal(l.answeredUpTo(n), false);
  l.pong(2);
  assert.equal(l.answeredUpTo(n), false, 'an older pong does not answer it');
  l.pong(3);
  assert.equal(l.answeredUpTo(n), true);
  l.pong(undefined);
  assert.equal(l.answeredUpTo(3), true, 'a pong without a number changes nothing');
});
