//! The emulator: `vte`'s parser drives this [`vte::Perform`] handler,
//! which writes into the primary grid or, while a full-screen program
//! has it, the alternate one.

use super::capture::Capture;
use super::cell::{Attrs, BOLD, Cell, Color, DIM, INVERSE, ITALIC, Packed, UNDERLINE, WIDE_CONT};
use super::grid::{Grid, Pos};
use rcd_proto::control::AttentionKind;
use unicode_width::UnicodeWidthChar as _;

/// The modes that change what the keyboard and mouse send, and how the
/// cursor looks: restored on an attaching terminal by a redraw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modes {
    pub app_keypad: bool,
    pub app_cursor: bool,
    pub hide_cursor: bool,
    pub bracketed_paste: bool,
    /// DECAWM reset (`CSI ? 7 l`): characters at the last column overwrite it.
    pub no_autowrap: bool,
    /// The mouse mode's DECSET number (9, 1000, 1002, 1003), or 0.
    pub mouse: u16,
    /// The mouse encoding's DECSET number (1005, 1006), or 0.
    pub mouse_encoding: u16,
    /// DECSCUSR's parameter (0 is the terminal's default).
    pub cursor_style: u16,
}

#[derive(Debug)]
pub struct Screen {
    pub primary: Grid,
    /// Made when a program switches to it, dropped when it switches back.
    pub alternate: Option<Box<Grid>>,
    pub attrs: Attrs,
    saved_attrs: Attrs,
    pub modes: Modes,
    last_char: Option<char>,
    pub capture: Capture,
    /// The character of the last `print` from the parser (see
    /// `Terminal::process`).
    pub printed: Option<char>,
}

/// Text of an escape sequence's parameter, at most 256 characters.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(256).collect()
}

fn join_message(title: &str, body: &str) -> String {
    match (title.is_empty(), body.is_empty()) {
        (false, false) => format!("{title}: {body}"),
        (false, true) => title.to_string(),
        _ => body.to_string(),
    }
}

impl Screen {
    fn notify(&mut self, message: String) {
        self.capture
            .alerts
            .push((AttentionKind::Notification, message));
    }

    /// A part of a kitty notification: `d=0` says more parts follow
    /// (of the same `i=`), `p=` which part it is (title, the default, or
    /// body), `e=1` that it is base64.
    fn kitty_notification(&mut self, metadata: &[u8], payload: &[u8]) {
        use base64::Engine as _;
        let (mut id, mut done, mut part, mut encoded) = (String::new(), true, "title", false);
        for kv in metadata.split(|&b| b == b':') {
            match kv.split_first() {
                Some((b'i', v)) => id = text(v.strip_prefix(b"=").unwrap_or(v)),
                Some((b'd', b"=0")) => done = false,
                Some((b'p', b"=body")) => part = "body",
                Some((b'p', b"=title")) => part = "title",
                // Queries and other payload kinds (icons, buttons) carry
                // no text for a person.
                Some((b'p', _)) => return,
                Some((b'e', b"=1")) => encoded = true,
                _ => {}
            }
        }
        let decoded = if encoded {
            base64::engine::general_purpose::STANDARD
                .decode(payload)
                .unwrap_or_default()
        } else {
            payload.to_vec()
        };
        let piece = text(&decoded);
        let mut pending = match self.capture.kitty.take() {
            Some(p) if p.0 == id => p,
            _ => (id, String::new(), String::new()),
        };
        let slot = if part == "body" {
            &mut pending.2
        } else {
            &mut pending.1
        };
        if slot.chars().count() < 256 {
            slot.push_str(&piece);
        }
        if done {
            let message = join_message(&pending.1, &pending.2);
            self.notify(message.chars().take(256).collect());
        } else {
            self.capture.kitty = Some(pending);
        }
    }

    pub fn new(height: u16, width: u16) -> Self {
        Self {
            primary: Grid::new(height, width),
            alternate: None,
            attrs: Attrs::default(),
            saved_attrs: Attrs::default(),
            modes: Modes::default(),
            last_char: None,
            capture: Capture::default(),
            printed: None,
        }
    }

    /// The grid being drawn on.
    pub fn grid(&self) -> &Grid {
        self.alternate.as_deref().unwrap_or(&self.primary)
    }

    fn grid_mut(&mut self) -> &mut Grid {
        match &mut self.alternate {
            Some(g) => g,
            None => &mut self.primary,
        }
    }

    /// The grid being drawn on, and where its scrolled rows go: the
    /// alternate screen's rows are not output history.
    fn parts(&mut self) -> (&mut Grid, Option<&mut Capture>) {
        match &mut self.alternate {
            Some(g) => (g, None),
            None => (&mut self.primary, Some(&mut self.capture)),
        }
    }

    pub fn resize(&mut self, height: u16, width: u16) {
        self.primary.resize(height, width, Some(&mut self.capture));
        if let Some(alt) = &mut self.alternate {
            alt.resize(height, width, None);
        }
    }

    /// The drawing attributes the last cursor save kept.
    pub fn saved_attrs(&self) -> Attrs {
        self.saved_attrs
    }

    fn save_cursor(&mut self) {
        self.grid_mut().save_cursor();
        self.saved_attrs = self.attrs;
    }

    fn restore_cursor(&mut self) {
        self.grid_mut().restore_cursor();
        self.attrs = self.saved_attrs;
    }

    fn enter_alternate(&mut self) {
        if self.alternate.is_none() {
            let (h, w) = (self.primary.height, self.primary.width);
            self.alternate = Some(Box::new(Grid::new(h, w)));
        }
    }

    fn reset(&mut self) {
        let (h, w) = (self.primary.height, self.primary.width);
        let capture = std::mem::take(&mut self.capture);
        *self = Self::new(h, w);
        self.capture = capture;
    }

    /// A character that is not printable ASCII, or that needs more than
    /// writing one cell: wrapping, wide characters, combining marks.
    fn text(&mut self, c: char) {
        let attrs = self.attrs;
        let no_wrap = self.modes.no_autowrap;
        let width = match c.width() {
            None if u32::from(c) < 256 => return,
            w => w.unwrap_or(1).min(2) as u16,
        };
        let (g, mut capture) = self.parts();
        let w = g.width;
        if width > w || (width == 0 && g.pos.col == 0) {
            return;
        }
        let mut base;
        let was_wide;
        let mut printed = false;
        if width > 0 {
            if g.pos.col + width > w {
                if no_wrap {
                    g.pos.col = w - width;
                } else {
                    // A character that does not fit continues the line
                    // only if the last column was written.
                    let last = g.rows[usize::from(g.pos.row)].cell(w - 1);
                    let wrap = last.has_contents() || last.is_wide_continuation();
                    g.wrap(width, wrap, capture.as_deref_mut());
                }
            }
            base = g.pos;
            let row = &mut g.rows[usize::from(base.row)];
            was_wide = row.cell(base.col).is_wide();
            *row.cell_mut(base.col, w) = Cell::with_char(c, attrs, c.width().unwrap_or(1) > 1);
            g.pos.col += width;
            printed = true;
        } else {
            // A combining mark joins the character before the cursor.
            base = Pos {
                row: g.pos.row,
                col: g.pos.col - 1,
            };
            let row = &mut g.rows[usize::from(base.row)];
            if row.cell(base.col).is_wide_continuation() && base.col > 0 {
                base.col -= 1;
            }
            was_wide = row.cell(base.col).is_wide();
            row.append(base.col, w, c);
            if !was_wide && row.cell(base.col).is_wide() {
                // It became wide (an emoji's variation selector): the
                // cursor moves past its second half, which may not fit.
                let scrolled = g.wrap(1, false, capture);
                let new = g.pos;
                if new.col == 0 {
                    let old_row = usize::from(base.row - scrolled.min(base.row));
                    let text = g.rows[old_row].text_of(base.col).unwrap_or_default();
                    *g.rows[old_row].cell_mut(base.col, w) = Cell::blank(attrs);
                    g.rows[usize::from(new.row)].set_text(0, w, &text, attrs, true);
                    g.pos.col += 2;
                    base = new;
                } else {
                    g.pos.col += 1;
                }
            }
        }
        if no_wrap {
            g.clamp_col();
        }
        // Mend the wide characters the write cut in half.
        let row = &mut g.rows[usize::from(base.row)];
        let is_wide = row.cell(base.col).is_wide();
        if base.col > 0 {
            let prev = row.cell(base.col - 1);
            if prev.is_wide() {
                *row.cell_mut(base.col - 1, w) = prev.cleared();
            }
        }
        if was_wide && !is_wide {
            *row.cell_mut(base.col + 1, w) = Cell::with_char(' ', attrs, false);
        }
        if !was_wide && is_wide {
            let next_was_wide = row.cell(base.col + 1).is_wide();
            let next = row.cell_mut(base.col + 1, w);
            *next = Cell::DEFAULT;
            next.set_flag(WIDE_CONT, true);
            if next_was_wide {
                *row.cell_mut(base.col + 2, w) = Cell::blank(attrs);
                if base.col + 2 == w - 1 {
                    row.set_wrapped(false);
                }
            }
        }
        if printed {
            self.last_char = Some(c);
        }
    }

    fn set_mode(&mut self, param: u16, on: bool) {
        match param {
            1 => self.modes.app_cursor = on,
            6 => self.grid_mut().set_origin(on),
            7 => self.modes.no_autowrap = !on,
            9 | 1000 | 1002 | 1003 => {
                if on {
                    self.modes.mouse = param;
                } else if self.modes.mouse == param {
                    self.modes.mouse = 0;
                }
            }
            1005 | 1006 => {
                if on {
                    self.modes.mouse_encoding = param;
                } else if self.modes.mouse_encoding == param {
                    self.modes.mouse_encoding = 0;
                }
            }
            25 => self.modes.hide_cursor = !on,
            47 | 1047 => {
                if on {
                    self.enter_alternate();
                } else {
                    self.alternate = None;
                }
            }
            1049 => {
                if on {
                    self.save_cursor();
                    self.alternate = None;
                    self.enter_alternate();
                } else {
                    self.alternate = None;
                    self.restore_cursor();
                }
            }
            2004 => self.modes.bracketed_paste = on,
            _ => {}
        }
    }

    fn sgr(&mut self, params: &vte::Params) {
        if params.is_empty() {
            self.attrs = Attrs::default();
            return;
        }
        let mut iter = params.iter();
        let a = &mut self.attrs;
        let byte = |n: u16| u8::try_from(n).ok();
        while let Some(p) = iter.next() {
            match p {
                [0] => *a = Attrs::default(),
                [1] => {
                    a.set(DIM, false);
                    a.set(BOLD, true);
                }
                [2] => {
                    a.set(BOLD, false);
                    a.set(DIM, true);
                }
                [3] => a.set(ITALIC, true),
                [4] => a.set(UNDERLINE, true),
                [7] => a.set(INVERSE, true),
                [22] => a.set(BOLD | DIM, false),
                [23] => a.set(ITALIC, false),
                [24] => a.set(UNDERLINE, false),
                [27] => a.set(INVERSE, false),
                [n @ 30..=37] => a.fg = Packed::new(Color::Idx((n - 30) as u8)),
                [39] => a.fg = Packed::DEFAULT,
                [n @ 40..=47] => a.bg = Packed::new(Color::Idx((n - 40) as u8)),
                [49] => a.bg = Packed::DEFAULT,
                [n @ 90..=97] => a.fg = Packed::new(Color::Idx((n - 82) as u8)),
                [n @ 100..=107] => a.bg = Packed::new(Color::Idx((n - 92) as u8)),
                [x @ (38 | 48), rest @ ..] => {
                    // What vt100 did: a colour whose numbers do not fit a
                    // byte, or `38;` followed by anything else, ends the
                    // sequence; a colon form it does not know is skipped.
                    let colour = if rest.is_empty() {
                        let next = |iter: &mut vte::ParamsIter<'_>| match iter.next() {
                            Some(&[n]) => byte(n),
                            _ => None,
                        };
                        let colour = match iter.next() {
                            Some([5]) => next(&mut iter).map(Color::Idx),
                            Some([2]) => {
                                let r = next(&mut iter);
                                let g = next(&mut iter);
                                let b = next(&mut iter);
                                r.zip(g).zip(b).map(|((r, g), b)| Color::Rgb(r, g, b))
                            }
                            _ => None,
                        };
                        let Some(colour) = colour else { return };
                        colour
                    } else {
                        let colour = match rest {
                            [5, i] => Some(byte(*i).map(Color::Idx)),
                            [2, r, g, b] => Some(
                                byte(*r)
                                    .zip(byte(*g))
                                    .zip(byte(*b))
                                    .map(|((r, g), b)| Color::Rgb(r, g, b)),
                            ),
                            _ => None,
                        };
                        match colour {
                            None => continue,
                            Some(None) => return,
                            Some(Some(c)) => c,
                        }
                    };
                    if *x == 38 {
                        a.fg = Packed::new(colour);
                    } else {
                        a.bg = Packed::new(colour);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The first parameter, with 0 (or none) read as `default`.
fn param(params: &vte::Params, index: usize, default: u16) -> u16 {
    match params.iter().nth(index).and_then(|p| p.first().copied()) {
        None | Some(0) => default,
        Some(n) => n,
    }
}

impl Screen {
    /// Takes the bytes that the parser, in its ground state, would only
    /// print or execute: printable ASCII, written a run at a time, and
    /// C0 controls other than ESC. Stops at ESC or a byte of UTF-8 (the
    /// parser's), and says how many bytes it took.
    pub fn plain(&mut self, bytes: &[u8]) -> usize {
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                0x20..=0x7e => {
                    let run = &bytes[i..];
                    let n = run
                        .iter()
                        .position(|b| !(0x20..=0x7e).contains(b))
                        .unwrap_or(run.len());
                    self.print_run(&run[..n]);
                    i += n;
                }
                0x1b | 0x80.. => break,
                0x7f => {
                    self.put_char('\x7f');
                    i += 1;
                }
                _ => {
                    vte::Perform::execute(self, b);
                    i += 1;
                }
            }
        }
        i
    }

    /// Printable ASCII, as many cells at once as fit the cursor's row.
    fn print_run(&mut self, run: &[u8]) {
        let mut i = 0;
        while i < run.len() {
            if !self.modes.no_autowrap {
                let attrs = self.attrs;
                let g = match &mut self.alternate {
                    Some(g) => g,
                    None => &mut self.primary,
                };
                let (col, w) = (g.pos.col, g.width);
                if col < w {
                    let room = usize::from(w - col).min(run.len() - i);
                    let text = &run[i..i + room];
                    let n = g.rows[usize::from(g.pos.row)].put_plain_run(col, w, text, attrs);
                    if n > 0 {
                        g.pos.col += n as u16;
                        i += n;
                        self.last_char = Some(char::from(run[i - 1]));
                        continue;
                    }
                }
            }
            // A wrap due, a wide character in the way, or DECAWM off.
            self.put_char(char::from(run[i]));
            i += 1;
        }
    }

    /// What printing `c` does.
    fn put_char(&mut self, c: char) {
        // The common case: printable ASCII written into one cell that is
        // not part of a wide character, no wrap due.
        if c.is_ascii() && !c.is_ascii_control() {
            let cell = Cell::with_char(c, self.attrs, false);
            let no_wrap = self.modes.no_autowrap;
            let g = match &mut self.alternate {
                Some(g) => g,
                None => &mut self.primary,
            };
            let (col, w) = (g.pos.col, g.width);
            if col < w && g.rows[usize::from(g.pos.row)].put_plain(col, w, cell) {
                g.pos.col += 1;
                if no_wrap && g.pos.col == w {
                    g.pos.col = w - 1;
                }
                self.last_char = Some(c);
                return;
            }
        }
        if c == '\u{fffd}' || ('\u{80}'..'\u{a0}').contains(&c) {
            return;
        }
        self.text(c);
    }
}

impl vte::Perform for Screen {
    fn print(&mut self, c: char) {
        self.printed = Some(c);
        self.put_char(c);
    }

    fn execute(&mut self, byte: u8) {
        if byte == 7 {
            // A bell (one ending an escape sequence never comes here).
            self.capture
                .alerts
                .push((AttentionKind::Bell, String::new()));
            return;
        }
        let (g, capture) = self.parts();
        match byte {
            8 => g.pos.col = g.pos.col.saturating_sub(1),
            9 => {
                // Tab stops every 8 columns.
                g.pos.col = (g.pos.col - g.pos.col % 8).saturating_add(8);
                g.clamp_col();
            }
            10..=12 => {
                g.line_feed(capture);
            }
            13 => g.pos.col = 0,
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        if !intermediates.is_empty() {
            return;
        }
        match byte {
            b'7' => self.save_cursor(),
            b'8' => self.restore_cursor(),
            b'=' => self.modes.app_keypad = true,
            b'>' => self.modes.app_keypad = false,
            b'D' => {
                let (g, capture) = self.parts();
                g.line_feed(capture);
            }
            b'E' => {
                let (g, capture) = self.parts();
                g.pos.col = 0;
                g.line_feed(capture);
            }
            b'M' => self.grid_mut().reverse_index(),
            b'c' => self.reset(),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, intermediates: &[u8], _ignore: bool, c: char) {
        let p1 = |default| param(params, 0, default);
        match intermediates {
            [] => {}
            [b'?'] => {
                match c {
                    'h' | 'l' => {
                        for p in params.iter() {
                            if let [n] = p {
                                self.set_mode(*n, c == 'h');
                            }
                        }
                    }
                    'J' => {
                        let attrs = self.attrs;
                        self.grid_mut().erase_display(p1(0), attrs);
                    }
                    'K' => {
                        let attrs = self.attrs;
                        self.grid_mut().erase_line(p1(0), attrs);
                    }
                    _ => {}
                }
                return;
            }
            [b' '] => {
                if c == 'q' && p1(0) <= 6 {
                    self.modes.cursor_style = p1(0);
                }
                return;
            }
            _ => return,
        }
        let attrs = self.attrs;
        match c {
            'm' => self.sgr(params),
            'b' => {
                if let Some(ch) = self.last_char {
                    for _ in 0..p1(1) {
                        self.put_char(ch);
                    }
                }
            }
            's' => self.save_cursor(),
            'u' => self.restore_cursor(),
            _ => {
                let (g, capture) = self.parts();
                let w = g.width;
                match c {
                    '@' => {
                        let col = g.pos.col;
                        g.row_mut().insert(col, p1(1), w);
                    }
                    'A' => g.up(p1(1)),
                    'B' => g.down(p1(1)),
                    'C' => {
                        g.pos.col = g.pos.col.saturating_add(p1(1));
                        g.clamp_col();
                    }
                    'D' => g.pos.col = g.pos.col.saturating_sub(p1(1)),
                    'E' => {
                        g.pos.col = 0;
                        g.down(p1(1));
                    }
                    'F' => {
                        g.pos.col = 0;
                        g.up(p1(1));
                    }
                    'G' | '`' => {
                        g.pos.col = p1(1) - 1;
                        g.clamp_col();
                    }
                    'H' | 'f' => g.set_pos(Pos {
                        row: param(params, 0, 1) - 1,
                        col: param(params, 1, 1) - 1,
                    }),
                    'J' => g.erase_display(p1(0), attrs),
                    'K' => g.erase_line(p1(0), attrs),
                    'L' => g.insert_lines(p1(1)),
                    'M' => g.delete_lines(p1(1)),
                    'P' => {
                        let col = g.pos.col;
                        let end = col.saturating_add(p1(1)).min(w);
                        g.row_mut().remove(col, end, w);
                    }
                    'S' => g.scroll_up(p1(1), capture),
                    'T' => g.scroll_down(p1(1)),
                    'X' => {
                        let col = g.pos.col;
                        let end = col.saturating_add(p1(1)).min(w);
                        g.row_mut().erase(col, end, attrs, w);
                    }
                    'd' => g.row_set(p1(1) - 1),
                    'r' => {
                        let h = g.height;
                        g.set_region(param(params, 0, 1) - 1, param(params, 1, h) - 1);
                    }
                    _ => {}
                }
            }
        }
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], _bell_terminated: bool) {
        match params {
            [b"0" | b"2", title @ ..] if !title.is_empty() => {
                // A title with ';' in it arrives in pieces.
                let title = title.join(&b';');
                self.capture.title = text(&title);
            }
            // iTerm2's notification; `9;4;…` (progress) and ConEmu's other
            // numbered commands are not notifications.
            [b"9", rest @ ..] if !rest.is_empty() => {
                let command = rest.len() > 1
                    && rest[0].len() <= 2
                    && !rest[0].is_empty()
                    && rest[0].iter().all(u8::is_ascii_digit);
                if !command {
                    let message = text(&rest.join(&b';'));
                    self.notify(message);
                }
            }
            // `777;notify;TITLE;BODY` (rxvt-unicode, foot, Ghostty).
            [b"777", b"notify", rest @ ..] => {
                let title = rest.first().map(|t| text(t)).unwrap_or_default();
                let body = rest
                    .get(1..)
                    .map(|b| text(&b.join(&b';')))
                    .unwrap_or_default();
                self.notify(join_message(&title, &body));
            }
            // kitty's `99;METADATA;PAYLOAD`.
            [b"99", metadata, payload @ ..] => {
                self.kitty_notification(metadata, &payload.join(&b';'));
            }
            _ => {}
        }
    }
}
