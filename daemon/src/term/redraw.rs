//! The screen read out: plain rows, styled runs for devices, and the
//! escape codes that repaint it on an attaching terminal.

use super::cell::{Attrs, BOLD, Cell, Color, DIM, INVERSE, ITALIC, Packed, UNDERLINE};
use super::row::Row;
use super::screen::Screen;
use rcd_proto::stream::{Row as StyledRow, Run};
use std::fmt::Write as _;

/// A colour as devices get it: an index as its number, a 24-bit colour
/// as `#rrggbb`, the default as nothing.
pub fn colour(c: Color) -> Option<String> {
    match c {
        Color::Default => None,
        Color::Idx(i) => Some(i.to_string()),
        Color::Rgb(r, g, b) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
    }
}

/// A row's text: characters at their columns, trailing blanks trimmed.
pub fn plain_row(row: &Row, width: u16) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut skip = false;
    for (col, &cell) in row.cells().iter().enumerate().take(usize::from(width)) {
        if std::mem::take(&mut skip) {
            continue;
        }
        skip = cell.is_wide();
        if cell.has_contents() {
            for _ in next..col {
                out.push(' ');
            }
            row.push_text(cell, &mut out);
            next = col + if cell.is_wide() { 2 } else { 1 };
        }
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out
}

/// One row as runs of equally styled text; trailing default blanks are
/// dropped.
pub fn styled_row(row: &Row, width: u16) -> StyledRow {
    let mut runs: Vec<Run> = Vec::new();
    let mut style_of_last = None;
    for col in 0..width {
        let cell = row.cell(col);
        if cell.is_wide_continuation() {
            continue;
        }
        let attrs = cell.attrs();
        let style = (attrs.fg, attrs.bg, attrs.flags & !DIM);
        let last = match runs.last_mut() {
            Some(last) if style_of_last == Some(style) => last,
            _ => {
                runs.push(Run {
                    text: String::new(),
                    fg: colour(cell.fg()),
                    bg: colour(cell.bg()),
                    bold: cell.has(BOLD),
                    italic: cell.has(ITALIC),
                    underline: cell.has(UNDERLINE),
                    inverse: cell.has(INVERSE),
                });
                style_of_last = Some(style);
                runs.last_mut().expect("just pushed")
            }
        };
        if !row.push_text(cell, &mut last.text) {
            last.text.push(' ');
        }
    }
    // Trailing blanks without a background carry nothing.
    if let Some(last) = runs.last_mut()
        && last.bg.is_none()
        && !last.inverse
        && !last.underline
    {
        let trimmed = last.text.trim_end().len();
        last.text.truncate(trimmed);
        if last.text.is_empty() {
            runs.pop();
        }
    }
    StyledRow { runs }
}

/// SGR that sets exactly `a` (from any state).
fn write_sgr(out: &mut String, a: Attrs) {
    out.push_str("\x1b[0");
    for (flag, code) in [
        (BOLD, 1),
        (DIM, 2),
        (ITALIC, 3),
        (UNDERLINE, 4),
        (INVERSE, 7),
    ] {
        if a.flags & flag != 0 {
            let _ = write!(out, ";{code}");
        }
    }
    for (c, base) in [(a.fg, 38), (a.bg, 48)] {
        match Packed::get(c) {
            Color::Default => {}
            Color::Idx(i) => {
                let _ = write!(out, ";{base};5;{i}");
            }
            Color::Rgb(r, g, b) => {
                let _ = write!(out, ";{base};2;{r};{g};{b}");
            }
        }
    }
    out.push('m');
}

/// Bytes that repaint the screen on a real terminal of the same size:
/// which screen is shown, every cell with its attributes, the scroll
/// region, the cursor (its pending wrap too), the drawing attributes and
/// the input modes.
pub fn redraw(s: &Screen) -> Vec<u8> {
    let mut out = String::new();
    paint(&mut out, s.grid(), s.attrs, s.modes, s.alternate.is_some());
    out.into_bytes()
}

/// Bytes that bring a blank screen of the same size to `s`'s state,
/// both screens of it: the primary one painted first, then, when a
/// full-screen program has the alternate one, the switch to it (which
/// saves the primary cursor, as the program's own switch did) and its
/// paint. For a session adopted after rcd restarted.
pub fn restore(s: &Screen) -> Vec<u8> {
    let mut out = String::new();
    match &s.alternate {
        None => paint(&mut out, &s.primary, s.attrs, s.modes, false),
        Some(alt) => {
            paint(&mut out, &s.primary, s.saved_attrs(), s.modes, false);
            paint(&mut out, alt, s.attrs, s.modes, true);
        }
    }
    out.into_bytes()
}

fn paint(
    out: &mut String,
    g: &super::grid::Grid,
    attrs: Attrs,
    modes: super::screen::Modes,
    alt: bool,
) {
    if alt {
        out.push_str("\x1b[?1049h");
    }
    // Clear everything first: the attaching terminal shows anything. The
    // cursor stays hidden while the rows are painted.
    out.push_str("\x1b[?25l\x1b[r\x1b[?6l\x1b[?7h\x1b[0m\x1b[H\x1b[2J");
    let mut pen = Attrs::default();
    for (r, row) in g.rows.iter().enumerate() {
        let cells = row.cells();
        let end = cells
            .iter()
            .rposition(|&c| c != Cell::DEFAULT)
            .map_or(0, |i| i + 1);
        let mut at = usize::MAX;
        let mut col = 0;
        while col < end {
            let cell = cells[col];
            if cell.is_wide_continuation() {
                col += 1;
                continue;
            }
            if at != col {
                let _ = write!(out, "\x1b[{};{}H", r + 1, col + 1);
            }
            if cell.attrs() != pen {
                pen = cell.attrs();
                write_sgr(out, pen);
            }
            if !cell.has_contents() {
                // Blank cells with attributes (a coloured erase) are
                // erased the same way, not written as spaces.
                let run = cells[col..end].iter().take_while(|&&c| c == cell).count();
                let _ = write!(out, "\x1b[{run}X");
                col += run;
                continue;
            }
            row.push_text(cell, out);
            at = col + if cell.is_wide() { 2 } else { 1 };
            col = at;
        }
    }
    if (g.top, g.bottom) != (0, g.height - 1) {
        let _ = write!(out, "\x1b[{};{}r", g.top + 1, g.bottom + 1);
    }
    if g.origin {
        out.push_str("\x1b[?6h");
    }
    let cup_row = if g.origin {
        g.pos.row.saturating_sub(g.top)
    } else {
        g.pos.row
    };
    if g.pos.col >= g.width {
        // Pending wrap: write the last character again to be in the same
        // state.
        let row = &g.rows[usize::from(g.pos.row)];
        let mut col = g.width - 1;
        if row.cell(col).is_wide_continuation() && col > 0 {
            col -= 1;
        }
        let cell = row.cell(col);
        let _ = write!(out, "\x1b[{};{}H", cup_row + 1, col + 1);
        if cell.has_contents() {
            if cell.attrs() != pen {
                pen = cell.attrs();
                write_sgr(out, pen);
            }
            row.push_text(cell, out);
        }
    } else {
        let _ = write!(out, "\x1b[{};{}H", cup_row + 1, g.pos.col + 1);
    }
    if attrs != pen {
        write_sgr(out, attrs);
    }
    let m = modes;
    if m.no_autowrap {
        out.push_str("\x1b[?7l");
    }
    out.push_str(if m.app_keypad { "\x1b=" } else { "\x1b>" });
    out.push_str(if m.app_cursor { "\x1b[?1h" } else { "\x1b[?1l" });
    out.push_str(if m.bracketed_paste {
        "\x1b[?2004h"
    } else {
        "\x1b[?2004l"
    });
    if m.mouse != 0 {
        let _ = write!(out, "\x1b[?{}h", m.mouse);
    }
    if m.mouse_encoding != 0 {
        let _ = write!(out, "\x1b[?{}h", m.mouse_encoding);
    }
    if m.cursor_style != 0 {
        let _ = write!(out, "\x1b[{} q", m.cursor_style);
    }
    if !m.hide_cursor {
        out.push_str("\x1b[?25h");
    }
}
