// Terminal colours and widths (relay/web/cells.js), as the renderer uses
// them to place the cursor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { colour, cpWidth, splitAt, textWidth } from '../../../relay/web/cells.js';

test('palette colours', () => {
  assert.equal(colour(null), null);
  assert.equal(colour('#12ab34'), '#12ab34');
  assert.equal(colour('1'), 'var(--c1)');
  assert.equal(colour('16'), 'rgb(0,0,0)');
  assert.equal(colour('196'), 'rgb(255,0,0)');
  assert.equal(colour('232'), 'rgb(8,8,8)');
  assert.equal(colour('256'), null);
  assert.equal(colour('x'), null);
});

test('wide and combining characters', () => {
  assert.equal(cpWidth('a'.codePointAt(0)), 1);
  assert.equal(cpWidth('漢'.codePointAt(0)), 2);
  assert.equal(cpWidth(0x301), 0);
  assert.equal(textWidth('a漢b'), 4);
  assert.deepEqual(splitAt('a漢b', 1), ['a', '漢', 'b']);
  assert.deepEqual(splitAt('e\u0301x', 0), ['', 'e\u0301', 'x'], 'a mark stays with its letter');
  assert.deepEqual(splitAt('ab', 5), ['ab', '', '']);
});
