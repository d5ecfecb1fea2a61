// Keys: the key bar (Esc, Tab, sticky Ctrl, arrows...), the text line of
// a phone's keyboard, typing straight into the screen on a desktop, and on
// a phone through the keyboard a tap on the screen opens (#direct, a
// hidden field that is emptied after every key). Everything typed goes to
// the open session's sendKeys.

import { $ } from './dom.js';
import { KEY_BYTES as keyBytes, compositionDelta, inputBytes, pasted, withLine } from './typing.js';
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
    // ⏎ sends the line box's text with it; Tab and the arrows send the
    // text first (to complete it, to pick with it).
    const line = $('line');
    const r = withLine(line.value, k, bytes);
    if (r.send && s.sendKeys(r.send) && r.clear) line.value = '';
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
    let out = namedKey(e);
    if (out === undefined) return;
    if (out === null && e.key.length >= 1 && [...e.key].length === 1) {
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
      s.sendKeys(pasted(text, s.core.screen.bracketedPaste));
    }
  });

  initDirect(session);
}

const NAMED = {
  Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: '\x1b',
  ArrowUp: '\x1b[A', ArrowDown: '\x1b[B', ArrowRight: '\x1b[C', ArrowLeft: '\x1b[D',
  Home: '\x1b[H', End: '\x1b[F', Delete: '\x1b[3~', PageUp: '\x1b[5~', PageDown: '\x1b[6~',
  Insert: '\x1b[2~',
};

/** The bytes of a keydown that is not plain text: a named key or a
 *  Ctrl combination; null for text (or nothing); undefined when the
 *  browser should have it (copy with a selection, paste). */
function namedKey(e) {
  if (e.ctrlKey && !e.altKey && e.key.length === 1) {
    if ((e.key === 'c' || e.key === 'C') && window.getSelection().toString()) return undefined;
    if (e.key === 'v' || e.key === 'V') return undefined; // paste
    return ctrlOf(e.key);
  }
  return NAMED[e.key] || null;
}

/** The phone's keyboard on the screen: a tap on the screen focuses
 *  #direct (which opens the keyboard), and what it types goes to the
 *  session key by key: text from `beforeinput` (insertText), a
 *  composition as it grows, Backspace as DEL, Enter as CR. A long
 *  press still selects the screen's text (the field does not cover it). */
function initDirect(session) {
  const direct = $('direct');
  const wrap = $('screen-wrap');
  let touched = false;
  wrap.addEventListener('pointerdown', (e) => { touched = e.pointerType !== 'mouse'; });
  wrap.addEventListener('click', () => {
    if (!touched || String(window.getSelection()).length) return;
    direct.focus({ preventScroll: true });
  });

  let composing = false;
  const send = (bytes) => {
    const s = session();
    if (!s || !bytes) return;
    if (ctrl && [...bytes].length === 1) {
      bytes = ctrlOf(bytes) || bytes;
      setCtrl(false);
    }
    s.sendKeys(bytes);
  };
  direct.addEventListener('keydown', (e) => {
    // A phone's soft keyboard mostly says 'Unidentified' (229): its
    // input events carry the text. Named keys come from hardware ones.
    if (composing || e.isComposing || e.keyCode === 229 || e.metaKey) return;
    const out = namedKey(e);
    if (!out) return;
    e.preventDefault();
    send(out);
  });
  // A composition goes as it grows (compositionDelta): what was sent of
  // it so far.
  let composed = '';
  const compose = (text) => {
    const delta = compositionDelta(composed, text || '');
    composed = text || '';
    // (A sticky Ctrl takes a one-letter start, as it takes a typed key.)
    send(delta);
  };
  direct.addEventListener('compositionstart', () => {
    composing = true;
    composed = '';
  });
  direct.addEventListener('compositionupdate', (e) => compose(e.data));
  direct.addEventListener('compositionend', (e) => {
    composing = false;
    compose(e.data);
    composed = '';
    direct.value = '';
  });
  direct.addEventListener('beforeinput', (e) => {
    if (e.inputType === 'insertCompositionText' || composing) return;
    const s = session();
    const clip = e.inputType === 'insertFromPaste'
      && (e.data || (e.dataTransfer && e.dataTransfer.getData('text/plain')));
    const bytes = clip ? pasted(clip, !!(s && s.core.screen.bracketedPaste)) : inputBytes(e.inputType, e.data);
    e.preventDefault();
    send(bytes);
  });
  direct.addEventListener('input', () => {
    // What a keyboard inserted without a cancellable event.
    if (!composing) direct.value = '';
  });
}
