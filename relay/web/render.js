// The renderer: the screen model as DOM rows of styled runs, with the
// cursor as a highlighted cell.

import { h } from './dom.js';
import { colour, splitAt, textWidth } from './cells.js';

function styleSpan(run, text) {
  const plain = !run.fg && !run.bg && !run.bold && !run.italic && !run.underline && !run.inverse;
  if (plain) return document.createTextNode(text);
  const sp = document.createElement('span');
  sp.textContent = text;
  let fg = colour(run.fg);
  let bg = colour(run.bg);
  if (run.inverse) {
    [fg, bg] = [bg || 'var(--term-bg)', fg || 'var(--term-fg)'];
  }
  if (fg) sp.style.color = fg;
  if (bg) sp.style.backgroundColor = bg;
  if (run.bold) sp.classList.add('b');
  if (run.italic) sp.classList.add('i');
  if (run.underline) sp.classList.add('u');
  return sp;
}

function renderRow(div, row, cursorCol) {
  const frag = document.createDocumentFragment();
  let col = 0;
  let placed = cursorCol < 0;
  for (const run of (row && row.runs) || []) {
    const w = textWidth(run.text);
    if (!placed && cursorCol >= col && cursorCol < col + w) {
      const [a, at, b] = splitAt(run.text, cursorCol - col);
      if (a) frag.append(styleSpan(run, a));
      const c = styleSpan(run, at || ' ');
      const cs = c.nodeType === 3 ? h('span', null, c.textContent) : c;
      cs.classList.add('cursor');
      frag.append(cs);
      if (b) frag.append(styleSpan(run, b));
      placed = true;
    } else {
      frag.append(styleSpan(run, run.text));
    }
    col += w;
  }
  if (!placed) {
    if (cursorCol > col) frag.append(document.createTextNode(' '.repeat(cursorCol - col)));
    frag.append(h('span', 'cursor', ' '));
  }
  div.replaceChildren(frag);
}

/** Brings `box` (one div per row) up to date with `screen`: the rows it
 *  marked dirty, or all of them. `showCursor` is false once the program
 *  has ended. */
export function renderScreen(box, screen, showCursor) {
  const s = screen;
  while (box.children.length > s.nrows) box.lastChild.remove();
  while (box.children.length < s.nrows) box.append(h('div', 'row'));
  for (const i of s.takeDirty()) {
    if (i < 0 || i >= s.nrows) continue;
    const cur = s.cursorVisible && s.cursor[0] === i && showCursor ? s.cursor[1] : -1;
    renderRow(box.children[i], s.rows[i], cur);
  }
}
