// The input queue (relay/web/inputqueue.js) beyond the shared fixtures:
// what the page keeps in sessionStorage, and the two-minute rule.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputQueue } from '../../../relay/web/inputqueue.js';

const seqs = (list) => list.map((p) => p[0]);

test('a reloaded tab resumes the queue it saved', () => {
  const q = new InputQueue(null);
  q.push('YQ==', 1, 1000);
  q.push('Yg==', 1, 2000);
  q.push('Yw==', 1, 3000);
  assert.deepEqual(seqs(q.unsent()), [1, 2, 3]);
  q.ack(1);
  // As sessionStorage has it.
  const saved = JSON.parse(JSON.stringify({ cid: 'web-x', q }));
  const r = new InputQueue(saved.q);
  assert.deepEqual(r.pending, [[2, 'Yg==', 1, 2000], [3, 'Yw==', 1, 3000]]);
  assert.equal(r.acked, 1);
  assert.equal(r.next, 4);
  // Nothing counts as sent on the new page: the hello decides.
  r.resume(2);
  assert.deepEqual(seqs(r.unsent()), [3]);
  assert.equal(r.push('ZA==', 1, 4000), 4);
});

test('a damaged saved queue keeps only well-formed inputs', () => {
  const r = new InputQueue({ pending: [[1, 'YQ==', 1, 0], 'junk', [2, 'Yg==']], next: 0 });
  assert.deepEqual(seqs(r.pending), [1]);
  assert.equal(r.next, 1);
  assert.equal(r.acked, 0);
  assert.deepEqual(new InputQueue({ pending: 'no' }).toJSON(), { pending: [], next: 1, acked: 0, flown: 0 });
});

test('inputs are sent once per connection', () => {
  const q = new InputQueue(null);
  q.push('YQ==', 1, 0);
  assert.deepEqual(seqs(q.unsent()), [1]);
  assert.deepEqual(q.unsent(), []);
  q.push('Yg==', 1, 0);
  assert.deepEqual(seqs(q.unsent()), [2]);
  assert.equal(q.bytes(), 2);
});

test('the first stale input drops it and everything after it', () => {
  const q = new InputQueue(null);
  q.push('YQ==', 1, 0);
  q.push('Yg==', 1, 100000);
  q.resume(0);
  assert.equal(q.dropStale(120000, 120000), 0, 'exactly two minutes is not stale');
  assert.equal(q.dropStale(120000, 120001), 2, 'the later one goes too, to keep the order');
  assert.deepEqual(q.pending, []);
  assert.equal(q.push('Yw==', 1, 120001), 1, 'numbered after the daemon’s count');
  assert.deepEqual(seqs(q.unsent()), [1]);
});

test('a refused queue is discarded whole', () => {
  const q = new InputQueue(null);
  q.push('YQ==', 1, 0);
  q.push('Yg==', 1, 0);
  assert.equal(q.discard(), 2);
  assert.equal(q.bytes(), 0);
  assert.equal(q.push('Yw==', 1, 0), 3, 'the numbering goes on');
});

test('only inputs never sent are cancelled, and the numbering goes on after the sent ones', () => {
  const q = new InputQueue(null);
  q.push('YQ==', 1, 0); // 1
  q.push('Yg==', 1, 0); // 2
  assert.deepEqual(q.unsent().map((p) => p[0]), [1, 2], 'sent on a socket that then died');
  q.push('Yw==', 1, 0); // 3, typed while disconnected
  q.push('ZA==', 1, 0); // 4
  assert.deepEqual(q.cancellable().map((p) => p[0]), [3, 4]);
  assert.equal(q.cancelUnsent(), 2);
  assert.deepEqual(q.pending.map((p) => p[0]), [1, 2], 'the sent ones stay: the daemon may have applied them');
  assert.equal(q.push('ZQ==', 1, 0), 3, 'the next input takes the first cancelled number');
  assert.equal(q.cancelUnsent(), 1);
  assert.equal(q.cancelUnsent(), 0);
  // After the daemon's hello says what it applied, nothing later was.
  q.resume(1);
  assert.deepEqual(q.cancellable().map((p) => p[0]), [2]);
  const again = new InputQueue(JSON.parse(JSON.stringify(q)));
  assert.equal(again.flown, 1, 'kept across a reload');
});
