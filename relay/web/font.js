// The terminal's text size: fitted to the width by default; A−/A+ and a
// two-finger pinch pick a size, kept in localStorage. Also the session
// size this screen area holds at a readable size (READABLE_PX on a phone,
// or the size picked): what this device drives when it types, and the
// Fit button's.

import { $ } from './dom.js';

const FONT_KEY = 'rcd.font';
/** The text size a phone drives the session at unless one is picked: the
 *  smallest that reads without pinching. */
export const READABLE_PX = 12;
/** The same on a larger screen. */
const DESKTOP_PX = 14;
/** A character's width per pixel of font size, measured once. */
let charRatio = 0;
/** The open session's screen model, or null: set by initFont. */
let screenOf = () => null;

function measureRatio() {
  const m = $('measure');
  m.style.fontSize = '100px';
  const w = m.getBoundingClientRect().width;
  charRatio = w > 0 ? w / 10 / 100 : 0.6;
}

function fontSetting() {
  const v = localStorage.getItem(FONT_KEY);
  const n = Number(v);
  return v && Number.isFinite(n) && n >= 4 && n <= 40 ? n : 'fit';
}

function fitSize() {
  if (!charRatio) measureRatio();
  const wrap = $('screen-wrap');
  const width = wrap.clientWidth - 12;
  const s = screenOf();
  const cols = (s && s.cols) || 80;
  return Math.max(4, Math.min(16, Math.floor((width / (cols * charRatio)) * 10) / 10));
}

/** The text size in pixels. */
export function currentFont() {
  const s = fontSetting();
  return s === 'fit' ? fitSize() : s;
}

/** Whether this is a phone-sized screen. */
export function isPhone() {
  return window.innerWidth < 600;
}

/** The text size this device drives the session at: the one picked, or
 *  the readable default. */
export function drivingFont() {
  const s = fontSetting();
  return s === 'fit' ? (isPhone() ? READABLE_PX : DESKTOP_PX) : s;
}

/** Told [rows, cols] when the size this device would drive changes. */
let onSize = () => {};

export function onDrivingSize(fn) {
  onSize = fn;
}

let sizeTimer = null;

function reportSize() {
  clearTimeout(sizeTimer);
  // A phone's keyboard opening resizes the page in steps: say the last.
  sizeTimer = setTimeout(() => {
    if ($('stage').hidden || !$('screen-wrap').clientWidth) return;
    onSize(fittingSize());
  }, 150);
}

export function applyFont() {
  const px = currentFont();
  const sc = $('screen');
  sc.style.fontSize = `${px}px`;
  sc.dataset.font = String(px);
  updateFit();
  reportSize();
}

/** Shows the Fit button when the session's size differs from what this
 *  screen holds at the current text size. */
export function updateFit() {
  const s = screenOf();
  const b = $('fit-btn');
  if (!s || !s.nrows || $('stage').hidden) {
    b.hidden = true;
    $('size-label').textContent = '';
    return;
  }
  const [rows, cols] = fittingSize();
  $('fit-size').textContent = `${cols}×${rows}`;
  $('size-label').textContent = `${s.cols}×${s.nrows}`;
  b.hidden = rows === s.nrows && cols === s.cols;
}

/** A size in pixels, or 'fit'. */
export function setFont(px) {
  if (px === 'fit') localStorage.removeItem(FONT_KEY);
  else localStorage.setItem(FONT_KEY, String(Math.max(4, Math.min(40, Math.round(px * 2) / 2))));
  applyFont();
}

/** The rows and columns this screen area holds at the driving size. */
export function fittingSize() {
  if (!charRatio) measureRatio();
  const wrap = $('screen-wrap');
  const px = drivingFont();
  const cols = Math.floor((wrap.clientWidth - 12) / (px * charRatio));
  const rows = Math.floor((wrap.clientHeight - 12) / (px * 1.25));
  return [Math.max(2, Math.min(500, rows)), Math.max(10, Math.min(500, cols))];
}

/** `screen()` returns the open session's screen model, or null. Sets up
 *  the app's height on phones and the pinch to zoom. */
export function initFont(screen) {
  screenOf = screen;

  if (window.visualViewport) {
    const vv = window.visualViewport;
    const fit = () => {
      document.documentElement.style.setProperty('--app-h', `${vv.height}px`);
      reportSize();
    };
    vv.addEventListener('resize', fit);
    fit();
  }

  // Pinch to zoom the terminal text (two fingers on the screen).
  const pts = new Map();
  let start = null;
  const wrap = $('screen-wrap');
  const dist = () => {
    const [a, b] = [...pts.values()];
    return Math.hypot(a.x - b.x, a.y - b.y);
  };
  wrap.addEventListener('pointerdown', (e) => {
    pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pts.size === 2) start = { d: dist(), px: currentFont() };
  });
  wrap.addEventListener('pointermove', (e) => {
    if (!pts.has(e.pointerId)) return;
    pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pts.size === 2 && start && start.d > 0) {
      const px = start.px * (dist() / start.d);
      $('screen').style.fontSize = `${Math.max(4, Math.min(40, px))}px`;
    }
  });
  const end = (e) => {
    if (pts.size === 2 && start && start.d > 0) setFont(start.px * (dist() / start.d));
    pts.delete(e.pointerId);
    if (pts.size < 2) start = null;
  };
  wrap.addEventListener('pointerup', end);
  wrap.addEventListener('pointercancel', end);
}
