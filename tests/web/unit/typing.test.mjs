// The pure parts of typing on a phone (relay/web/typing.js): the line box
// combined with a key of the key bar, what the keyboard's input events
// send, and how queued keys read.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_BYTES, compositionDelta, inputBytes, pasted, renderKeys, withLine } from '../../../relay/web/typing.js';

test('⏎ sends the line box with Enter, or Enter alone', () => {
  assert.deepEqual(withLine('ls -l', 'enter'), { send: 'ls -l\r', clear: true });
  assert.deepEqual(withLine('', 'enter'), { send: '\r', clear: false });
});

test('Tab and the arrows send the text first, then the key, and clear the box', () => {
  assert.deepEqual(withLine('git ch', 'tab'), { send: 'git ch\t', clear: true });
  assert.deepEqual(withLine('2', 'down'), { send: '2\x1b[B', clear: true });
  assert.deepEqual(withLine('', 'up'), { send: '\x1b[A', clear: false });
  // Ctrl+arrow bytes passed in are kept.
  assert.deepEqual(withLine('w', 'right', '\x1b[1;5C'), { send: 'w\x1b[1;5C', clear: true });
});

test('Esc, ^C and ^D leave the line box alone', () => {
  for (const k of ['esc', 'ctrl-c', 'ctrl-d']) {
    assert.deepEqual(withLine('half typed', k), { send: KEY_BYTES[k], clear: false }, k);
  }
  assert.deepEqual(withLine('x', 'nosuchkey'), { send: '', clear: false });
});

test('the keyboard\'s input events as a terminal has them', () => {
  assert.equal(inputBytes('insertText', 'y'), 'y');
  assert.equal(inputBytes('insertText', 'a\nb'), 'a\rb');
  assert.equal(inputBytes('insertLineBreak', null), '\r');
  assert.equal(inputBytes('insertParagraph', null), '\r');
  assert.equal(inputBytes('deleteContentBackward', null), '\x7f');
  assert.equal(inputBytes('deleteWordBackward', null), '\x17');
  assert.equal(inputBytes('insertCompositionText', 'wor'), null, 'a composition goes by its updates');
  assert.equal(inputBytes('insertText', ''), null);
  assert.equal(inputBytes('formatBold', null), null);
});

test('queued keys read as typed', () => {
  assert.equal(renderKeys('ls\r'), 'ls⏎');
  assert.equal(renderKeys('\x03'), '^C');
  assert.equal(renderKeys('\x1b[A\x1bOB\x1b[C\x1b[D'), '↑↓→←');
  assert.equal(renderKeys('ab\x7f\t'), 'ab⌫⇥');
  assert.equal(renderKeys('\x1b'), 'Esc ');
  assert.equal(renderKeys('\x1b[200~hi\x1b[201~'), '[paste hi]');
  assert.equal(renderKeys('é✓'), 'é✓');
});

test('a paste is bracketed when the program asked for it', () => {
  assert.equal(pasted('a\nb', false), 'a\rb');
  assert.equal(pasted('a\nb', true), '\x1b[200~a\rb\x1b[201~');
  assert.equal(pasted('x\x1b[201~y', true), '\x1b[200~xy\x1b[201~', 'an end marker inside cannot end it early');
});

test('a composition goes as it grows, and a correction as DELs and the new end', () => {
  assert.equal(compositionDelta('', 'y'), 'y', 'a letter goes when typed');
  assert.equal(compositionDelta('y', 'ye'), 'e');
  assert.equal(compositionDelta('teh', 'the'), '\x7f\x7fhe', 'corrected at the end');
  assert.equal(compositionDelta('the', 'the'), '', 'committed as it was');
  assert.equal(compositionDelta('ab', ''), '\x7f\x7f', 'cancelled');
  assert.equal(compositionDelta('ni', '你'), '\x7f\x7f你', 'an IME\'s letters become its character');
  assert.equal(compositionDelta('é', 'éa'), 'a', 'by characters, not UTF-16 units');
});
