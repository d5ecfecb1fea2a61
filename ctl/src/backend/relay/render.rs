//! Draws the synchronised screen of a remote session on the local
//! terminal: only the rows that changed since the last draw, each with
//! cursor addressing and SGR styles from its runs, then the cursor; plus an
//! optional status line at the bottom (reconnecting, machine offline).
//!
//! Text from the session is drawn, never interpreted: control characters
//! in it are replaced, so a remote program cannot send escape sequences to
//! this terminal.

use crate::device::Screen;
use rcd_proto::stream::{Row, Run};
use std::fmt::Write;

/// Switches to the alternate screen (saving the title) and turns off
/// autowrap, so that a row too wide for this terminal is cut, not wrapped.
pub const ENTER: &str = "\x1b[22;0t\x1b[?1049h\x1b[?7l\x1b[H\x1b[2J";
/// Undoes [`ENTER`], shows the cursor and resets attributes.
pub const LEAVE: &str = "\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l\x1b[23;0t";

/// What is on the local terminal, to draw only differences.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// The local terminal's (rows, cols); `None` follows the session's
    /// size (output that is not a terminal).
    fixed: Option<(u16, u16)>,
    /// The size drawn for last.
    size: (u16, u16),
    /// What each local row shows; `None` when unknown.
    drawn: Vec<Option<Row>>,
    status: Option<String>,
    drawn_status: Option<String>,
    title: Option<String>,
    full: bool,
}

impl Renderer {
    /// A renderer for a terminal of `size` (rows, cols), or following the
    /// session's size when `None`.
    pub fn new(size: Option<(u16, u16)>) -> Self {
        Self {
            fixed: size,
            size: size.unwrap_or((0, 0)),
            drawn: Vec::new(),
            status: None,
            drawn_status: None,
            title: None,
            full: true,
        }
    }

    /// The local terminal changed size: everything is drawn again.
    pub fn resize(&mut self, size: (u16, u16)) {
        self.fixed = Some(size);
        self.full = true;
    }

    /// Sets or clears the status line.
    pub fn set_status(&mut self, status: Option<String>) {
        self.status = status;
    }

    /// The bytes that bring the terminal to `screen` (and the status).
    pub fn render(&mut self, screen: &Screen) -> String {
        let size = self.fixed.unwrap_or((
            u16::try_from(screen.rows.len()).unwrap_or(u16::MAX),
            screen.cols,
        ));
        let mut out = String::new();
        out.push_str("\x1b[?25l");
        if self.full || size != self.size {
            self.full = false;
            self.size = size;
            self.drawn = vec![None; size.0 as usize];
            self.drawn_status = None;
            out.push_str("\x1b[0m\x1b[H\x1b[2J");
        }
        let (rows, cols) = size;
        let status_row = self.status.as_ref().map(|_| rows.saturating_sub(1));
        let blank = Row::default();
        for i in 0..rows {
            if Some(i) == status_row {
                continue;
            }
            let want = screen.rows.get(i as usize).unwrap_or(&blank);
            let slot = &mut self.drawn[i as usize];
            if slot.as_ref() == Some(want) {
                continue;
            }
            let _ = write!(out, "\x1b[{};1H", i + 1);
            out.push_str(&row_escapes(want, cols));
            out.push_str("\x1b[0m\x1b[K");
            *slot = Some(want.clone());
        }
        if let (Some(row), Some(status)) = (status_row, &self.status) {
            if self.drawn_status.as_ref() != Some(status) {
                let text: String = clean(status).chars().take(cols as usize).collect();
                let pad = (cols as usize).saturating_sub(text.chars().count());
                let _ = write!(
                    out,
                    "\x1b[{};1H\x1b[0;7m{text}{}\x1b[0m",
                    row + 1,
                    " ".repeat(pad)
                );
                self.drawn_status = Some(status.clone());
                // The session's row under it is drawn again when it goes.
                self.drawn[row as usize] = None;
            }
        } else {
            self.drawn_status = None;
        }
        if self.title.as_deref() != Some(screen.title.as_str()) {
            let _ = write!(out, "\x1b]2;{}\x07", clean(&screen.title));
            self.title = Some(screen.title.clone());
        }
        let (crow, ccol) = screen.cursor;
        let cursor_covered = status_row.is_some_and(|r| crow >= r);
        if crow < rows && ccol < cols.max(1) && !cursor_covered {
            let _ = write!(out, "\x1b[{};{}H", crow + 1, ccol + 1);
            if screen.cursor_visible {
                out.push_str("\x1b[?25h");
            }
        }
        out
    }
}

/// A row as SGR sequences and text, cut at `cols` characters. Every run
/// starts from reset attributes.
pub fn row_escapes(row: &Row, cols: u16) -> String {
    let mut out = String::new();
    let mut left = cols as usize;
    let mut current: Option<String> = None;
    for run in &row.runs {
        if left == 0 {
            break;
        }
        let text: String = clean(&run.text).chars().take(left).collect();
        if text.is_empty() {
            continue;
        }
        left -= text.chars().count();
        let style = sgr(run);
        if current.as_ref() != Some(&style) {
            out.push_str(&style);
            current = Some(style);
        }
        out.push_str(&text);
    }
    out
}

/// The SGR sequence of a run's style.
pub fn sgr(run: &Run) -> String {
    let mut s = String::from("\x1b[0");
    for (on, code) in [
        (run.bold, ";1"),
        (run.italic, ";3"),
        (run.underline, ";4"),
        (run.inverse, ";7"),
    ] {
        if on {
            s.push_str(code);
        }
    }
    if let Some(c) = run.fg.as_deref().and_then(|c| colour(c, true)) {
        s.push(';');
        s.push_str(&c);
    }
    if let Some(c) = run.bg.as_deref().and_then(|c| colour(c, false)) {
        s.push(';');
        s.push_str(&c);
    }
    s.push('m');
    s
}

/// SGR parameters of a colour: `"0"`..`"255"` (palette) or `"#rrggbb"`.
fn colour(c: &str, fg: bool) -> Option<String> {
    if let Some(hex) = c.strip_prefix('#') {
        if hex.len() != 6 || !hex.is_ascii() {
            return None;
        }
        let part = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        let (r, g, b) = (part(0)?, part(2)?, part(4)?);
        return Some(format!("{};2;{r};{g};{b}", if fg { 38 } else { 48 }));
    }
    let n: u8 = c.parse().ok()?;
    let (base, bright, ext) = if fg { (30, 90, 38) } else { (40, 100, 48) };
    Some(match n {
        0..=7 => (base + n as u16).to_string(),
        8..=15 => (bright + (n - 8) as u16).to_string(),
        _ => format!("{ext};5;{n}"),
    })
}

/// Text without control characters.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Row {
        Row {
            runs: vec![Run {
                text: s.into(),
                ..Run::default()
            }],
        }
    }

    fn screen(rows: &[&str]) -> Screen {
        Screen {
            rows: rows.iter().map(|r| plain(r)).collect(),
            version: 1,
            cols: 10,
            cursor: (1, 3),
            cursor_visible: true,
            title: "t".into(),
        }
    }

    #[test]
    fn styles_become_sgr() {
        let run = Run {
            text: "x".into(),
            fg: Some("1".into()),
            bg: Some("#0a0b0c".into()),
            bold: true,
            inverse: true,
            ..Run::default()
        };
        assert_eq!(sgr(&run), "\x1b[0;1;7;31;48;2;10;11;12m");
        let run = Run {
            fg: Some("9".into()),
            bg: Some("200".into()),
            underline: true,
            italic: true,
            ..Run::default()
        };
        assert_eq!(sgr(&run), "\x1b[0;3;4;91;48;5;200m");
        assert_eq!(sgr(&Run::default()), "\x1b[0m");
        // Nonsense colours are the default.
        let run = Run {
            fg: Some("#12".into()),
            bg: Some("300".into()),
            ..Run::default()
        };
        assert_eq!(sgr(&run), "\x1b[0m");
    }

    #[test]
    fn rows_are_cut_and_cleaned() {
        let row = Row {
            runs: vec![
                Run {
                    text: "ab".into(),
                    bold: true,
                    ..Run::default()
                },
                Run {
                    text: "c\x1b]0;pwned\x07d".into(),
                    ..Run::default()
                },
                Run {
                    text: "efgh".into(),
                    ..Run::default()
                },
            ],
        };
        let out = row_escapes(&row, 6);
        assert_eq!(out, "\x1b[0;1mab\x1b[0mc\u{fffd}]0", "cut at 6 columns");
        assert!(!row_escapes(&row, 80).contains('\x07'));
        // Runs of the same style share one SGR.
        let row = Row {
            runs: vec![plain("a").runs[0].clone(), plain("b").runs[0].clone()],
        };
        assert_eq!(row_escapes(&row, 80), "\x1b[0mab");
    }

    #[test]
    fn only_changed_rows_are_drawn_again() {
        let mut r = Renderer::new(Some((4, 10)));
        let first = r.render(&screen(&["one", "two", "three"]));
        assert!(first.contains("\x1b[2J"), "a full draw first");
        assert!(
            first.contains("\x1b[1;1H\x1b[0mone\x1b[0m\x1b[K"),
            "{first:?}"
        );
        assert!(first.contains("\x1b[3;1H\x1b[0mthree"));
        assert!(
            first.contains("\x1b[4;1H\x1b[0m\x1b[K"),
            "blank rows are cleared"
        );
        assert!(
            first.ends_with("\x1b[2;4H\x1b[?25h"),
            "cursor placed: {first:?}"
        );
        assert!(first.contains("\x1b]2;t\x07"));
        let second = r.render(&screen(&["one", "TWO", "three"]));
        assert!(!second.contains("\x1b[2J"));
        assert!(second.contains("\x1b[2;1H\x1b[0mTWO"));
        assert!(!second.contains("one") && !second.contains("three"));
        assert!(!second.contains("\x1b]2;"), "title unchanged");
        let third = r.render(&screen(&["one", "TWO", "three"]));
        assert_eq!(third, "\x1b[?25l\x1b[2;4H\x1b[?25h");
        r.resize((4, 20));
        assert!(
            r.render(&screen(&["one", "TWO", "three"]))
                .contains("\x1b[2J")
        );
    }

    #[test]
    fn the_status_line_covers_the_bottom_row_until_cleared() {
        let mut r = Renderer::new(Some((3, 10)));
        let s = screen(&["a", "b", "c"]);
        r.render(&s);
        r.set_status(Some("reconnecting in 2s".into()));
        let out = r.render(&s);
        assert!(
            out.contains("\x1b[3;1H\x1b[0;7mreconnecti\x1b[0m"),
            "{out:?}"
        );
        assert!(!out.contains("\x1b[0mc"));
        assert_eq!(r.render(&s), "\x1b[?25l\x1b[2;4H\x1b[?25h", "drawn once");
        r.set_status(None);
        let out = r.render(&s);
        assert!(out.contains("\x1b[3;1H\x1b[0mc\x1b[0m\x1b[K"), "{out:?}");
    }

    #[test]
    fn a_hidden_cursor_stays_hidden_and_output_follows_the_session() {
        let mut r = Renderer::new(None);
        let mut s = screen(&["a", "b"]);
        s.cursor_visible = false;
        let out = r.render(&s);
        assert!(!out.contains("\x1b[?25h"));
        assert!(!out.contains("\x1b[3;1H"), "two rows only: {out:?}");
        s.rows.push(plain("c"));
        assert!(r.render(&s).contains("\x1b[2J"), "a new size redraws");
    }
}
