// Terminal colours and text widths, for the renderer. Pure (node's tests
// import it).

const CUBE = [0, 95, 135, 175, 215, 255];

/** A run's colour as CSS: null (the default), "0".."255" (the palette:
 *  the first 16 are the theme's --c0..--c15) or "#rrggbb". */
export function colour(c) {
  if (c === null || c === undefined) return null;
  if (c[0] === '#') return c;
  const i = Number(c);
  if (!Number.isInteger(i) || i < 0 || i > 255) return null;
  if (i < 16) return `var(--c${i})`;
  if (i < 232) {
    const n = i - 16;
    return `rgb(${CUBE[Math.floor(n / 36)]},${CUBE[Math.floor(n / 6) % 6]},${CUBE[n % 6]})`;
  }
  const g = 8 + (i - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

/** Terminal columns of one code point (a close cousin of wcwidth). */
export function cpWidth(cp) {
  if (cp < 0x300) return 1;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f
    || (cp >= 0xfe20 && cp <= 0xfe2f)) return 0;
  if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f)
    || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff)
    || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60)
    || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f)
    || (cp >= 0x1f900 && cp <= 0x1f9ff) || (cp >= 0x20000 && cp <= 0x3fffd)) return 2;
  return 1;
}

/** The text of a run split at a column: [before, at, after]. */
export function splitAt(text, col) {
  let c = 0;
  let i = 0;
  const cps = Array.from(text);
  for (; i < cps.length; i++) {
    const w = cpWidth(cps[i].codePointAt(0));
    if (c >= col && w > 0) break;
    c += w;
  }
  let j = i + 1;
  while (j < cps.length && cpWidth(cps[j].codePointAt(0)) === 0) j++;
  return [cps.slice(0, i).join(''), cps.slice(i, j).join(''), cps.slice(j).join('')];
}

/** Terminal columns of a text. */
export function textWidth(text) {
  let w = 0;
  for (const ch of text) w += cpWidth(ch.codePointAt(0));
  return w;
}
