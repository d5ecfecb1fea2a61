// Keys: the key bar (Esc, Tab, sticky Ctrl, arrows...), the text line of
// a phone's keyboard, and typing straight into the screen on a desktop.
// Everything typed goes to the open session's sendKeys.

import { $ } from './dom.js';

const keyBytes = {
  esc: '\x1b',
  tab: '\t',
  'ctrl-c': '\x03',
  'ctrl-d': '\x04',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  enter: '\r',
};
const ctrlArrows = { up: '\x1b[1;5A', down: '\x1b[1;5B', right: '\x1b[1;5C', left: '\x1b[1;5D' };

/** The control character of a key, e.g. 'c' → 0x03; null if none. */
export function ctrlOf(ch) {
  if (!ch || ch.length !== 1) return null;
  if (ch === '?') return '\x7f';
  if (ch === ' ' || ch === '@' || ch === '2') return '\x00';
  const c = ch.toUpperCase().charCodeAt(0);
  if (c >= 0x40 && c <= 0x5f) return String.fromCharCode(c & 0x1f);
  return null;
}

/** The sticky Ctrl of the key bar: the next key is sent as its control
 *  character. */
let ctrl = false;

export function setCtrl(on) {
  ctrl = on;
  const k = $('ctrl-key');
  k.classList.toggle('on', on);
  k.setAttribute('aria-pressed', String(on));
}

/** `session()` returns the open SessionClient, or null. */
export function initKeys(session) {
  const keys = $('keys');
  // Keep the text box focused (and a phone's keyboard open) on key taps.
  keys.addEventListener('pointerdown', (e) => e.preventDefault());
  keys.addEventListener('mousedown', (e) => e.preventDefault());
  keys.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-key]');
    const s = session();
    if (!b || !s) return;
    const k = b.dataset.key;
    if (k === 'ctrl') {
      setCtrl(!ctrl);
      return;
    }
    let bytes = keyBytes[k];
    if (ctrl && ctrlArrows[k]) bytes = ctrlArrows[k];
    setCtrl(false);
    if (bytes) s.sendKeys(bytes);
  });

  const line = $('line');
  let lineBefore = '';
  line.addEventListener('beforeinput', () => { lineBefore = line.value; });
  line.addEventListener('input', (e) => {
    const s = session();
    if (!s || !ctrl) return;
    // Sticky Ctrl: the next character typed becomes its control key.
    const typed = e.data || line.value.slice(lineBefore.length);
    const c = ctrlOf(typed ? typed.slice(-1) : '');
    line.value = lineBefore;
    setCtrl(false);
    if (c) s.sendKeys(c);
  });
  line.addEventListener('keydown', (e) => {
    const s = session();
    if (!s || e.isComposing) return;
    const empty = line.value === '';
    if (e.key === 'Escape') {
      e.preventDefault();
      s.sendKeys('\x1b');
    } else if (empty && (e.key === 'ArrowUp' || e.key === 'ArrowDown' || e.key === 'Tab')) {
      e.preventDefault();
      s.sendKeys({ ArrowUp: '\x1b[A', ArrowDown: '\x1b[B', Tab: '\t' }[e.key]);
    } else if (empty && e.key === 'Backspace') {
      e.preventDefault();
      s.sendKeys('\x7f');
    } else if (empty && e.ctrlKey && !e.altKey && !e.metaKey && e.key.length === 1
      && e.key.toLowerCase() !== 'v') {
      // On an empty line, Ctrl+key goes to the session (Ctrl-C, Ctrl-D...).
      const c = ctrlOf(e.key);
      if (c) {
        e.preventDefault();
        s.sendKeys(c);
      }
    }
  });
  $('line-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const s = session();
    const v = line.value;
    if (s && s.sendKeys(v + '\r')) line.value = '';
  });

  // Typing straight into the screen (a desktop keyboard).
  const screenEl = $('screen');
  screenEl.addEventListener('keydown', (e) => {
    const s = session();
    if (!s || e.isComposing || e.metaKey) return;
    const named = {
      Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: '\x1b',
      ArrowUp: '\x1b[A', ArrowDown: '\x1b[B', ArrowRight: '\x1b[C', ArrowLeft: '\x1b[D',
      Home: '\x1b[H', End: '\x1b[F', Delete: '\x1b[3~', PageUp: '\x1b[5~', PageDown: '\x1b[6~',
      Insert: '\x1b[2~',
    };
    let out = null;
    if (e.ctrlKey && !e.altKey && e.key.length === 1) {
      if ((e.key === 'c' || e.key === 'C') && window.getSelection().toString()) return;
      if (e.key === 'v' || e.key === 'V') return; // paste
      out = ctrlOf(e.key);
    } else if (named[e.key]) {
      out = named[e.key];
    } else if (e.key.length >= 1 && [...e.key].length === 1) {
      out = (e.altKey ? '\x1b' : '') + e.key;
    }
    if (out) {
      e.preventDefault();
      if (ctrl && out.length === 1) {
        out = ctrlOf(out) || out;
        setCtrl(false);
      }
      s.sendKeys(out);
    }
  });
  screenEl.addEventListener('paste', (e) => {
    const text = e.clipboardData && e.clipboardData.getData('text');
    const s = session();
    if (text && s) {
      e.preventDefault();
      s.sendKeys(text.replace(/\r?\n/g, '\r'));
    }
  });
}
