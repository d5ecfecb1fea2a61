// The screen model: the device's copy of the session's screen, built from
// the daemon's screen frames (rcd_proto::stream::ScreenFrame). A frame is
// a difference from the version it names as its base; base 0 means every
// row is in it. A frame on a base this copy does not have changes nothing
// and is refused (the caller then starts over on a new connection, which
// brings a full frame). Also keeps which rows the renderer must redraw.
//
// Pure: no DOM and no browser globals (node's tests import it).

export class Screen {
  constructor() {
    /** Rows as the daemon sends them: { runs: [{ text, fg, bg, ... }] }. */
    this.rows = [];
    /** The version applied last; 0 when there is none to build on
     *  (before the first frame, and after every new hello). */
    this.version = 0;
    this.nrows = 0;
    this.cols = 80;
    /** [row, column], 0-based. */
    this.cursor = [0, 0];
    this.cursorVisible = true;
    this.title = '';
    /** The program asked for application cursor keys (DECCKM). */
    this.appCursor = false;
    /** The program asked for bracketed paste (DECSET 2004). */
    this.bracketedPaste = false;
    /** Rows to redraw, or every row when `all`. */
    this.dirty = new Set();
    this.all = true;
  }

  /** Keeps the rows (for display) but accepts only a full frame next. */
  forgetVersion() {
    this.version = 0;
  }

  /** Applies a frame. Returns null (and changes nothing) when it is a
   *  difference from a version this copy does not have; otherwise
   *  whether the size or the title changed. */
  apply(f) {
    if (f.base !== 0 && f.base !== this.version) return null;
    const old = this.cursor[0];
    if (this.rows.length !== f.rows || this.cols !== f.cols) this.all = true;
    if (f.base === 0) {
      this.rows = new Array(f.rows).fill(null).map(() => ({ runs: [] }));
      this.all = true;
    }
    this.rows.length = f.rows;
    for (let i = 0; i < f.rows; i++) if (!this.rows[i]) this.rows[i] = { runs: [] };
    for (const [i, row] of f.changed) {
      if (i < f.rows) {
        this.rows[i] = row;
        this.dirty.add(i);
      }
    }
    this.version = f.version;
    const resized = this.nrows !== f.rows || this.cols !== f.cols;
    this.nrows = f.rows;
    this.cols = f.cols;
    this.cursor = f.cursor;
    this.cursorVisible = f.cursor_visible;
    this.appCursor = !!f.app_cursor;
    this.bracketedPaste = !!f.bracketed_paste;
    this.dirty.add(old);
    this.dirty.add(f.cursor[0]);
    const titleChanged = this.title !== f.title;
    if (titleChanged) this.title = f.title;
    return { resized, titleChanged };
  }

  /** The rows to redraw since the last call (every row after a full
   *  frame or a resize); the renderer skips indexes outside the screen. */
  takeDirty() {
    const rows = this.all ? [...Array(this.nrows).keys()] : [...this.dirty];
    this.all = false;
    this.dirty.clear();
    return rows;
  }

  /** Each row's text without style, trailing blanks trimmed (as
   *  `rcctl screen` shows it). */
  text() {
    return this.rows.map((r) => ((r && r.runs) || []).map((x) => x.text).join('').trimEnd());
  }
}
