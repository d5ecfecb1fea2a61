// The transcript view: earlier output that scrolled off the screen,
// fetched page by page over the session's socket, above the current
// screen as text.

import { $ } from './dom.js';
import { applyFont, updateFit } from './font.js';

const TRANSCRIPT_PAGE = 400;

/** The transcript view: lines [first, last) are shown; `range` is a
 *  fetch in progress, gathered page by page (the daemon may shorten a
 *  page to fit one message). */
const tr = { first: 0, last: 0, range: null, done: false };

/** The open session (a SessionClient), or null: set by initTranscript. */
let sessionOf = () => null;

export function openTranscript() {
  const s = sessionOf();
  if (!s) return;
  $('transcript').hidden = false;
  $('stage').hidden = true;
  $('transcript-lines').textContent = '';
  $('transcript-more').hidden = true;
  $('transcript-info').textContent = 'loading…';
  tr.first = 0;
  tr.last = 0;
  tr.range = null;
  tr.done = false;
  $('history-btn').setAttribute('aria-pressed', 'true');
  updateFit();
  renderTranscriptScreen();
  // A page from beyond the end says how long the transcript is.
  s.requestTranscript(Number.MAX_SAFE_INTEGER, 1);
}

export function closeTranscript() {
  $('transcript').hidden = true;
  $('stage').hidden = false;
  const s = sessionOf();
  if (s) s.forgetTranscript();
  tr.range = null;
  $('history-btn').setAttribute('aria-pressed', 'false');
  applyFont();
}

/** Fetches lines [from, end). */
function fetchRange(from, end, initial) {
  tr.range = { from, end, initial, lines: [] };
  sessionOf().requestTranscript(from, Math.min(TRANSCRIPT_PAGE, end - from));
}

/** A page came (TranscriptPage: from, lines, total). */
export function onTranscript(page) {
  if ($('transcript').hidden) return;
  const body = $('transcript-body');
  const pre = $('transcript-lines');
  const r = tr.range;
  if (!r) {
    // The answer to the length probe.
    if (page.total === 0) {
      $('transcript-info').textContent = 'nothing has scrolled off the screen yet';
      return;
    }
    fetchRange(Math.max(1, page.total - TRANSCRIPT_PAGE + 1), page.total + 1, true);
    return;
  }
  // A page may start later than asked: lines dropped by the daemon's
  // cap are one line in their place, at the number of the last of them.
  if (!r.lines.length) r.start = page.from;
  const keep = Math.max(0, Math.min(page.lines.length, r.end - page.from));
  r.lines.push(...page.lines.slice(0, keep));
  const next = page.from + keep;
  if (keep && next < r.end) {
    sessionOf().requestTranscript(next, Math.min(TRANSCRIPT_PAGE, r.end - next));
    return;
  }
  tr.range = null;
  const start = Math.min(r.start ?? r.from, r.end);
  const text = r.lines.join('\n');
  if (r.initial) {
    pre.textContent = text;
    tr.last = start + r.lines.length;
    body.scrollTop = body.scrollHeight;
  } else {
    // Earlier lines: prepend them and keep what was on screen in place.
    const before = body.scrollHeight;
    pre.textContent = text + (pre.textContent ? '\n' + pre.textContent : '');
    body.scrollTop += body.scrollHeight - before;
  }
  tr.first = start;
  // Nothing earlier when the answer began later than asked.
  tr.done = start > r.from || start <= 1;
  $('transcript-info').textContent = `lines ${tr.first}–${tr.last - 1} of ${page.total}`;
  $('transcript-more').hidden = tr.done;
}

/** The current screen as text, below the transcript. */
export function renderTranscriptScreen() {
  const s = sessionOf();
  if (!s) return;
  const lines = s.core.screen.text();
  while (lines.length && !lines[lines.length - 1]) lines.pop();
  $('transcript-screen').textContent = lines.join('\n');
}

/** `session()` returns the open SessionClient, or null. */
export function initTranscript(session) {
  sessionOf = session;
  $('transcript-more').addEventListener('click', () => {
    if (tr.range || tr.done) return;
    fetchRange(Math.max(1, tr.first - TRANSCRIPT_PAGE), tr.first, false);
  });
  $('transcript-close').addEventListener('click', closeTranscript);
}
