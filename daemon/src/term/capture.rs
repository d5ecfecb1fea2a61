//! Rows scrolled off the top of the primary screen, turned straight from
//! their cells into transcript lines.

use super::MAX_LINE_BYTES;
use super::cell::Cell;
use super::row::Row;

/// Largest line buffer kept from one row to the next.
const KEPT_BUFFER: usize = 1024;
/// The smallest buffer a batch of lines starts with.
const MIN_BATCH: usize = 4096;

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
    /// Completed lines not yet written to the transcript, each ended by
    /// `\n`: one buffer for a whole chunk of output, so that a flood's
    /// rows cost no allocation each (a `String` per line was hundreds of
    /// small blocks per chunk, and the allocator kept what they left
    /// scattered).
    done: String,
    /// How many lines `done` holds.
    done_lines: u64,
    /// What `done` reserves when it starts, in bytes: about the chunk
    /// being processed (its text is rarely longer than the chunk).
    pub reserve: usize,
}

impl Capture {
    /// Adds a row leaving the screen: a row that did not wrap ends its
    /// line, a wrapped one continues on the next row.
    pub fn take_row(&mut self, row: &Row) {
        if self.done.capacity() == 0 {
            // A few sizes only, and none small: blocks of sizes that
            // vary with every read would stay parked in the allocator's
            // per-thread caches, each for its own size.
            let size = self.reserve.next_power_of_two();
            self.done.reserve(size.clamp(MIN_BATCH, MAX_LINE_BYTES));
        }
        if self.partial.is_empty() && !row.wrapped() {
            // The common case, a line of one row: straight into the batch.
            let start = self.done.len();
            push_plain(row, &mut self.done);
            if self.done.len() - start < MAX_LINE_BYTES {
                let end = self.done.trim_end().len().max(start);
                self.done.truncate(end);
            }
            self.end_line();
            return;
        }
        push_plain(row, &mut self.partial);
        if self.partial.len() >= MAX_LINE_BYTES {
            // One line of megabytes (a minified bundle) would make a page
            // no message can carry: it goes in pieces.
            self.done.push_str(&std::mem::take(&mut self.partial));
            self.end_line();
            return;
        }
        if !row.wrapped() {
            self.done.push_str(self.partial.trim_end());
            self.end_line();
            if self.partial.capacity() > KEPT_BUFFER {
                // After a long line the buffer goes with it: an idle
                // session keeps no 64 KiB for the next one.
                self.partial = String::new();
            } else {
                self.partial.clear();
            }
        }
    }

    /// Adds a line of its own (the screen's rows when the program ends).
    pub fn push_line(&mut self, line: &str) {
        self.done.push_str(line);
        self.end_line();
    }

    fn end_line(&mut self) {
        self.done.push('\n');
        self.done_lines += 1;
    }

    /// Takes the completed lines (each ended by `\n`) and their count;
    /// the buffer goes with them, so an idle session keeps none.
    pub fn take_done(&mut self) -> (String, u64) {
        let lines = std::mem::take(&mut self.done_lines);
        (std::mem::take(&mut self.done), lines)
    }

    /// Bytes the batch of completed lines holds (for the memory tests).
    #[cfg(test)]
    pub fn batch_bytes(&self) -> usize {
        self.done.capacity()
    }

    /// The completed lines not yet taken.
    #[cfg(test)]
    pub fn done_lines(&self) -> impl Iterator<Item = &str> {
        self.done.split_terminator('\n')
    }
}

/// A row's text: cells up to the last one that is not blank with default
/// attributes; a blank cell within is a space.
fn push_plain(row: &Row, out: &mut String) {
    let mut blanks = 0;
    let mut skip = false;
    out.reserve(row.cells().len());
    for &cell in row.cells() {
        if let Some(b) = cell.ascii().filter(|_| blanks == 0 && !skip) {
            out.push(char::from(b));
            continue;
        }
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
