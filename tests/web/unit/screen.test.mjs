// The screen model (relay/web/screen.js) beyond the shared fixtures: what
// the renderer is told to redraw.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Screen } from '../../../relay/web/screen.js';

const row = (text) => ({ runs: [{ text }] });
const frame = (version, base, rows, cols, changed, cursor = [0, 0], title = '') => ({
  t: 'screen', version, base, rows, cols, changed, cursor, cursor_visible: true, title, app_cursor: false,
});

test('a full frame redraws every row, a difference only its rows and the cursor’s', () => {
  const s = new Screen();
  assert.deepEqual(s.apply(frame(1, 0, 3, 10, [[0, row('a')], [1, row('b')], [2, row('c')]], [0, 1], 'sh')),
    { resized: true, titleChanged: true });
  assert.deepEqual(s.takeDirty(), [0, 1, 2]);
  assert.deepEqual(s.takeDirty(), [], 'nothing twice');
  assert.deepEqual(s.apply(frame(2, 1, 3, 10, [[2, row('C')]], [1, 0], 'sh')),
    { resized: false, titleChanged: false });
  // Row 2 changed; the cursor moved from row 0 to row 1.
  assert.deepEqual(s.takeDirty().sort(), [0, 1, 2]);
  s.apply(frame(3, 2, 3, 10, [[2, row('x')]], [1, 0], 'sh'));
  assert.deepEqual(s.takeDirty().sort(), [1, 2]);
});

test('a frame of another size redraws everything', () => {
  const s = new Screen();
  s.apply(frame(1, 0, 3, 10, [[0, row('a')], [1, row('b')], [2, row('c')]]));
  s.takeDirty();
  const change = s.apply(frame(2, 0, 2, 20, [[0, row('b')], [1, row('c')]]));
  assert.deepEqual(change, { resized: true, titleChanged: false });
  assert.deepEqual(s.takeDirty(), [0, 1]);
  assert.deepEqual(s.text(), ['b', 'c']);
  assert.equal(s.nrows, 2);
  assert.equal(s.cols, 20);
});

test('a frame on a base it lacks changes nothing, not even what to redraw', () => {
  const s = new Screen();
  s.apply(frame(4, 0, 2, 10, [[0, row('a')], [1, row('b')]]));
  s.takeDirty();
  assert.equal(s.apply(frame(6, 5, 2, 10, [[0, row('z')]], [1, 1], 'new')), null);
  assert.deepEqual(s.takeDirty(), []);
  assert.deepEqual(s.text(), ['a', 'b']);
  assert.equal(s.version, 4);
  assert.equal(s.title, '');
  s.forgetVersion();
  assert.equal(s.apply(frame(7, 4, 2, 10, [])), null, 'after a new hello only a full frame');
  assert.deepEqual(s.text(), ['a', 'b'], 'the rows stay on show meanwhile');
});

test('rows beyond the screen are ignored and missing ones are blank', () => {
  const s = new Screen();
  s.apply(frame(1, 0, 2, 10, [[0, row('a')], [5, row('far')]]));
  assert.deepEqual(s.text(), ['a', '']);
  s.apply(frame(2, 1, 3, 10, [[2, row('new')]]));
  assert.deepEqual(s.text(), ['a', '', 'new'], 'a difference may grow the screen');
});

test('the program’s cursor-key mode is kept', () => {
  const s = new Screen();
  s.apply({ ...frame(1, 0, 1, 10, []), app_cursor: true });
  assert.equal(s.appCursor, true);
  s.apply(frame(2, 1, 1, 10, []));
  assert.equal(s.appCursor, false);
});
