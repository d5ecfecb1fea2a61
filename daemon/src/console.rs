//! rcd's own terminal output. When standard error is a terminal and the
//! status line is on (`tui`), the status line stays on the terminal's last
//! row: every log line and message is written above it, then the status
//! line is drawn again, cut to the terminal's width so that it never
//! wraps. Elsewhere (a file, a pipe, the journal) lines are written as
//! they come and the status line is a line of its own on every change.
//!
//! Everything rcd writes to standard error goes through here: the log
//! lines (`Writer`, given to tracing), the pairing messages and the
//! status line. One lock orders them, so no line is ever cut by another.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard};

/// The status line kept at the terminal's bottom; `None` when none is
/// shown (not a terminal, or before `tui` starts and after it ends).
fn bar() -> MutexGuard<'static, Option<String>> {
    static BAR: Mutex<Option<String>> = Mutex::new(None);
    BAR.lock().unwrap_or_else(|e| e.into_inner())
}

/// Erases the bottom row: back to its start, then clear it.
const ERASE: &str = "\r\x1b[2K";

/// Writes `text` (whole lines) above the status line.
pub fn print(text: &str) {
    let bar = bar();
    let mut err = std::io::stderr().lock();
    match &*bar {
        Some(line) => {
            let mut out = String::with_capacity(text.len() + line.len() + 16);
            out.push_str(ERASE);
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&fit(line, width()));
            let _ = err.write_all(out.as_bytes());
        }
        None => {
            let _ = err.write_all(text.as_bytes());
            if !text.ends_with('\n') {
                let _ = err.write_all(b"\n");
            }
        }
    }
    let _ = err.flush();
}

/// Shows `line` as the status: at the bottom of a terminal, or as a line
/// of its own where standard error is not one.
pub fn status(line: &str) {
    if !std::io::stderr().is_terminal() {
        print(line);
        return;
    }
    let mut bar = bar();
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{ERASE}{}", fit(line, width()));
    let _ = err.flush();
    *bar = Some(line.to_string());
}

/// Ends the status bar: the bottom row is cleared and later lines are
/// written as they come. Nothing happens if no bar was shown.
pub fn end() {
    let mut bar = bar();
    if bar.take().is_some() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(ERASE.as_bytes());
        let _ = err.flush();
    }
}

/// The terminal's width in columns (80 if it cannot be told).
fn width() -> usize {
    crate::pty::size_of(std::io::stderr().as_fd()).map_or(80, |(cols, _)| usize::from(cols))
}

/// `line` cut to fit `cols` columns, leaving the last one free so that a
/// terminal never wraps at the end of the row.
fn fit(line: &str, cols: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let room = cols.saturating_sub(1);
    let mut used = 0;
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            if used + 1 > room {
                // No room for the ellipsis: it takes the last character's place.
                out.pop();
            }
            out.push('…');
            return out;
        }
        used += w;
        out.push(c);
    }
    out
}

/// A tracing writer: an event's text is gathered and written through
/// `print` in one piece when the event is done.
#[derive(Debug, Default)]
pub struct Writer(Vec<u8>);

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            print(&String::from_utf8_lossy(&self.0));
        }
    }
}

/// Makes a `Writer` for each event.
pub fn writer() -> Writer {
    Writer::default()
}

#[cfg(test)]
mod tests {
    use super::fit;

    #[test]
    fn a_status_line_is_cut_to_leave_the_last_column_free() {
        assert_eq!(fit("abc", 10), "abc");
        assert_eq!(fit("abcdefghij", 10), "abcdefgh…");
        assert_eq!(fit("abcdefghi", 10), "abcdefghi");
        // Wide characters count two columns.
        assert_eq!(fit("日本語テキスト", 8), "日本語…");
        assert_eq!(fit("", 1), "");
    }
}
