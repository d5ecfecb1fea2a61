// The attach socket's framing: session messages as binary JSON, envelopes
// as text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeIncoming, encodeMessage } from '../../../relay/web/wire.js';

test('a session message is the UTF-8 of its JSON, with nothing around it', () => {
  const m = { t: 'input', seq: 3, bytes: 'bHMNCg==' };
  const bytes = encodeMessage(m);
  assert.ok(bytes instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(bytes), '{"t":"input","seq":3,"bytes":"bHMNCg=="}');
  // What the socket hands the page for a binary message is an ArrayBuffer.
  assert.deepEqual(decodeIncoming(bytes.buffer), { message: m });
});

test('text is an envelope of the relay; the two are never confused', () => {
  assert.deepEqual(decodeIncoming('{"t":"link","up":false}'), { frame: { t: 'link', up: false } });
  const screen = encodeMessage({ t: 'screen', version: 2, title: 'ü ☃ "q"' });
  assert.deepEqual(decodeIncoming(screen.buffer), { message: { t: 'screen', version: 2, title: 'ü ☃ "q"' } });
  assert.equal(decodeIncoming('not json'), null);
  assert.equal(decodeIncoming(new TextEncoder().encode('{oops').buffer), null);
});
