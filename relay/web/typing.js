// What typing on a phone sends, without the DOM: the bytes of the
// keyboard's input events on the screen, the line box combined with a key
// of the key bar, and a readable rendering of queued bytes.
//
// Pure: no DOM and no browser globals (node's tests import it).

/** The bytes of the key bar's keys. */
export const KEY_BYTES = {
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

/** Keys that send the line box's text first (then clear it). */
const AFTER_LINE = new Set(['enter', 'tab', 'up', 'down', 'right', 'left']);

/** What a key of the key bar sends with `text` in the line box: the
 *  bytes, and whether the box is then cleared. ⏎ sends the line and
 *  Enter (or Enter alone); Tab and the arrows the line, then the key (to
 *  complete or pick what was typed); other keys leave the line alone. */
export function withLine(text, key, bytes = KEY_BYTES[key]) {
  if (!bytes) return { send: '', clear: false };
  if (text && AFTER_LINE.has(key)) return { send: text + bytes, clear: true };
  return { send: bytes, clear: false };
}

/** What takes the session from a composition's text already sent,
 *  `sent`, to its text now, `now`: a DEL for each character after their
 *  common start, then the rest of `now`. A phone keyboard composes whole
 *  words (and an IME its characters): sent as they grow, a letter reaches
 *  the program when it is typed, and a word the keyboard corrects at its
 *  end is corrected in the session the same way. */
export function compositionDelta(sent, now) {
  const a = [...sent];
  const b = [...now];
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return '\x7f'.repeat(a.length - i) + b.slice(i).join('');
}

/** What one `beforeinput` event of the screen's keyboard field sends, or
 *  null when it sends nothing (a composition's steps go by
 *  compositionDelta). Line breaks are Enter (CR), a delete
 *  backwards DEL, a word deleted backwards ^W, as a terminal has them. */
export function inputBytes(inputType, data) {
  switch (inputType) {
    case 'insertText':
    case 'insertReplacementText':
    case 'insertFromPaste':
    case 'insertFromDrop':
      return data ? data.replace(/\r?\n/g, '\r') : null;
    case 'insertLineBreak':
    case 'insertParagraph':
      return '\r';
    case 'deleteContentBackward':
      return '\x7f';
    case 'deleteWordBackward':
      return '\x17';
    case 'deleteContentForward':
      return '\x1b[3~';
    default:
      return null;
  }
}

const NAMED = [
  ['\x1b[A', '↑'], ['\x1b[B', '↓'], ['\x1b[C', '→'], ['\x1b[D', '←'],
  ['\x1bOA', '↑'], ['\x1bOB', '↓'], ['\x1bOC', '→'], ['\x1bOD', '←'],
  ['\x1b[1;5A', '^↑'], ['\x1b[1;5B', '^↓'], ['\x1b[1;5C', '^→'], ['\x1b[1;5D', '^←'],
  ['\x1b[H', 'Home'], ['\x1b[F', 'End'], ['\x1b[3~', 'Del'], ['\x1b[2~', 'Ins'],
  ['\x1b[5~', 'PgUp'], ['\x1b[6~', 'PgDn'],
  ['\x1b[200~', '[paste '], ['\x1b[201~', ']'],
];

/** Queued keys as a person reads them: `ls⏎`, `^C`, `↑`, `Esc`, `⇥`,
 *  `⌫`; other control characters as ^X. */
export function renderKeys(str) {
  let out = '';
  let i = 0;
  outer: while (i < str.length) {
    for (const [seq, name] of NAMED) {
      if (str.startsWith(seq, i)) {
        out += name;
        i += seq.length;
        continue outer;
      }
    }
    const ch = str[i];
    const c = ch.charCodeAt(0);
    if (ch === '\r' || ch === '\n') out += '⏎';
    else if (ch === '\t') out += '⇥';
    else if (ch === '\x7f') out += '⌫';
    else if (ch === '\x1b') out += 'Esc ';
    else if (c < 0x20) out += `^${String.fromCharCode(c + 0x40)}`;
    else out += ch;
    i += 1;
  }
  return out;
}

/** Text pasted into a program: wrapped in bracketed-paste markers when
 *  it asked for them (DECSET 2004), newlines as Enter. */
export function pasted(text, bracketed) {
  const t = text.replace(/\r?\n/g, '\r');
  return bracketed ? `\x1b[200~${t.replace(/\x1b\[20[01]~/g, '')}\x1b[201~` : t;
}
