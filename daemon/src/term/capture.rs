//! Rows scrolled off the top of the primary screen, turned straight from
//! their cells into transcript lines.

use super::MAX_LINE_BYTES;
use super::cell::Cell;
use super::row::Row;

/// Largest line buffer kept from one row to the next.
const KEPT_BUFFER: usize = 1024;

#[derive(Debug, Default)]
pub struct Capture {
    /// The window title the program set.
    pub title: String,
    /// Bells and desktop notifications since the last look, each with
    /// its text: the session's attention.
    pub alerts: Vec<(rcd_proto::control::AttentionKind, String)>,
    /// A kitty notification (OSC 99) whose parts are still coming: its
    /// id, title and body so far.
    pub kitty: Option<(String, String, String)>,
    /// A row that soft-wrapped and waits for its continuation.
    pub partial: String,
    /// Completed lines not yet written to the transcript.
    pub done: Vec<String>,
}

impl Capture {
    /// Adds a row leaving the screen: a row that did not wrap ends its
    /// line, a wrapped one continues on the next row.
    pub fn take_row(&mut self, row: &Row) {
        push_plain(row, &mut self.partial);
        if self.partial.len() >= MAX_LINE_BYTES {
            // One line of megabytes (a minified bundle) would make a page
            // no message can carry: it goes in pieces.
            self.done.push(std::mem::take(&mut self.partial));
            return;
        }
        if !row.wrapped() {
            let end = self.partial.trim_end().len();
            self.partial.truncate(end);
            if self.partial.capacity() > KEPT_BUFFER {
                // After a long line the buffer goes with it: an idle
                // session keeps no 64 KiB for the next one.
                self.done.push(std::mem::take(&mut self.partial));
            } else {
                // A line of its own size; the buffer stays for the next row.
                self.done.push(self.partial.clone());
                self.partial.clear();
            }
        }
    }
}

/// A row's text: cells up to the last one that is not blank with default
/// attributes; a blank cell within is a space.
fn push_plain(row: &Row, out: &mut String) {
    let mut blanks = 0;
    let mut skip = false;
    for &cell in row.cells() {
        if std::mem::take(&mut skip) {
            continue;
        }
        skip = cell.is_wide();
        if cell == Cell::DEFAULT {
            blanks += 1;
            continue;
        }
        for _ in 0..std::mem::take(&mut blanks) {
            out.push(' ');
        }
        if let Some(c) = cell.char() {
            out.push(c);
        } else if !row.push_text(cell, out) {
            out.push(' ');
        }
    }
}
