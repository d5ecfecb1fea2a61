//! The headless terminal of a session: a `vt100` screen plus the
//! transcript of the lines that scrolled off its top.
//!
//! The parser runs with no scrollback of its own; every row pushed off the
//! top of the primary screen comes to [`Capture::on_scroll`] and is
//! appended to the transcript file. Rows that soft-wrapped are joined, so
//! a transcript line is a logical line as the program printed it.

use crate::pty::Size;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Most transcript lines returned in one page.
pub const MAX_PAGE_LINES: u32 = 5000;

/// Receives terminal events from the parser.
#[derive(Debug, Default)]
struct Capture {
    title: String,
    /// A row that soft-wrapped and waits for its continuation.
    partial: String,
    /// Completed lines not yet written to the transcript.
    done: Vec<String>,
}

impl vt100::Callbacks for Capture {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.title = String::from_utf8_lossy(title).chars().take(256).collect();
    }

    fn on_scroll(&mut self, row: vt100::capture::RowContents<'_>, alternate_screen: bool) {
        if alternate_screen {
            // Full-screen programs redraw; their rows are not output history.
            return;
        }
        let mut formatted = String::new();
        let mut state = vt100::capture::BasicFormattedCaptureState::new();
        if row
            .write_formatted_basic(&mut formatted, &mut state)
            .is_err()
        {
            return;
        }
        let plain: String = vt100::capture::basic_formatted_to_plain(&formatted).collect();
        self.partial.push_str(&plain);
        // `write_formatted_basic` leaves a newline pending for rows that
        // did not wrap; a wrapped row continues on the next one.
        let mut probe = String::new();
        let _ = row.write_formatted_basic(&mut probe, &mut state);
        if probe.starts_with('\n') {
            let line = std::mem::take(&mut self.partial);
            self.done.push(line.trim_end().to_string());
        }
    }
}

/// Append-only, numbered transcript lines on disk.
#[derive(Debug)]
pub struct Transcript {
    path: PathBuf,
    file: File,
    /// Byte offset of every line, so a page is one seek.
    offsets: Vec<u64>,
    end: u64,
}

impl Transcript {
    /// Creates (or truncates) the transcript file at `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .read(true)
            .open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            offsets: Vec::new(),
            end: 0,
        })
    }

    /// Where the transcript is stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of lines so far.
    pub fn len(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Whether no line has scrolled off yet.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    fn append(&mut self, lines: &[String]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for line in lines {
            self.offsets.push(self.end + buf.len() as u64);
            // A line never contains '\n': rows are single-line by nature.
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        self.file.seek(SeekFrom::Start(self.end))?;
        self.file.write_all(&buf)?;
        self.end += buf.len() as u64;
        Ok(())
    }

    /// Up to `max` lines starting at line `from` (1-based).
    pub fn page(&self, from: u64, max: u32) -> io::Result<Vec<String>> {
        let from = from.max(1);
        let max = max.clamp(1, MAX_PAGE_LINES) as usize;
        let Some(&start) = self.offsets.get((from - 1) as usize) else {
            return Ok(Vec::new());
        };
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        let mut reader = BufReader::new(file.take(self.end - start));
        let mut lines = Vec::new();
        let mut line = String::new();
        while lines.len() < max {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            lines.push(line.trim_end_matches('\n').to_string());
        }
        Ok(lines)
    }
}

/// A session's screen and transcript.
pub struct Terminal {
    parser: vt100::Parser<Capture>,
    transcript: Transcript,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("size", &self.size())
            .field("transcript", &self.transcript)
            .finish_non_exhaustive()
    }
}

impl Terminal {
    /// A blank screen of `size`, with its transcript at `transcript_path`.
    pub fn new(size: Size, transcript_path: &Path) -> io::Result<Self> {
        Ok(Self {
            parser: vt100::Parser::new_with_callbacks(
                nonzero(size.rows),
                nonzero(size.cols),
                0,
                Capture::default(),
            ),
            transcript: Transcript::create(transcript_path)?,
        })
    }

    /// Feeds program output through the emulator; lines that scroll off
    /// are appended to the transcript.
    pub fn process(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.parser.process(bytes);
        let done = std::mem::take(&mut self.parser.callbacks_mut().done);
        self.transcript.append(&done)
    }

    /// Changes the screen size.
    pub fn resize(&mut self, size: Size) -> io::Result<()> {
        self.parser.set_size(nonzero(size.rows), nonzero(size.cols));
        let done = std::mem::take(&mut self.parser.callbacks_mut().done);
        self.transcript.append(&done)
    }

    /// The current screen size.
    pub fn size(&self) -> Size {
        let (rows, cols) = self.parser.screen().size();
        Size {
            rows: rows.get(),
            cols: cols.get(),
        }
    }

    /// Rows of plain text, trailing blanks trimmed.
    pub fn rows(&self) -> Vec<String> {
        let size = self.size();
        self.parser
            .screen()
            .rows(0, size.cols)
            .map(|r| r.trim_end().to_string())
            .collect()
    }

    /// (row, col) of the cursor.
    pub fn cursor(&self) -> (u16, u16) {
        self.parser.screen().cursor_position()
    }

    /// The window title the program set, if any.
    pub fn title(&self) -> &str {
        &self.parser.callbacks().title
    }

    /// Bytes that repaint the whole screen (contents, attributes, cursor,
    /// input modes) on a real terminal of the same size.
    pub fn redraw(&self) -> Vec<u8> {
        let screen = self.parser.screen();
        let mut out = Vec::new();
        // Clear everything first: the attaching terminal shows anything.
        if screen.alternate_screen() {
            out.extend_from_slice(b"\x1b[?1049h");
        }
        out.extend_from_slice(b"\x1b[H\x1b[2J");
        out.extend_from_slice(screen.state_formatted().as_bytes());
        out
    }

    /// The transcript.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }
}

fn nonzero(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap_or(std::num::NonZeroU16::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(rows: u16, cols: u16) -> (tempfile::TempDir, Terminal) {
        let dir = tempfile::tempdir().unwrap();
        let t = Terminal::new(Size { rows, cols }, &dir.path().join("t.log")).unwrap();
        (dir, t)
    }

    #[test]
    fn lines_that_scroll_off_go_to_the_transcript_in_order() {
        let (_d, mut t) = term(3, 20);
        for i in 1..=10 {
            t.process(format!("line {i}\r\n").as_bytes()).unwrap();
        }
        // 10 lines + the empty cursor row on a 3-row screen: 8 scrolled.
        assert_eq!(t.transcript().len(), 8);
        let page = t.transcript().page(1, 100).unwrap();
        let want: Vec<String> = (1..=8).map(|i| format!("line {i}")).collect();
        assert_eq!(page, want);
        assert_eq!(t.rows(), vec!["line 9", "line 10", ""]);
        assert_eq!(t.transcript().page(7, 1).unwrap(), vec!["line 7"]);
        assert!(t.transcript().page(9, 10).unwrap().is_empty());
    }

    #[test]
    fn wrapped_rows_join_into_one_line_and_colours_are_stripped() {
        let (_d, mut t) = term(2, 5);
        t.process(b"\x1b[31mabcdefgh\x1b[m\r\nx\r\ny\r\n").unwrap();
        let page = t.transcript().page(1, 10).unwrap();
        assert_eq!(page[0], "abcdefgh");
    }

    #[test]
    fn alternate_screen_is_not_history() {
        let (_d, mut t) = term(2, 10);
        t.process(b"\x1b[?1049h").unwrap();
        for _ in 0..10 {
            t.process(b"full\r\n").unwrap();
        }
        t.process(b"\x1b[?1049l").unwrap();
        assert!(t.transcript().is_empty());
    }

    #[test]
    fn title_and_cursor() {
        let (_d, mut t) = term(5, 20);
        t.process(b"\x1b]2;my title\x07ab").unwrap();
        assert_eq!(t.title(), "my title");
        assert_eq!(t.cursor(), (0, 2));
        assert!(!t.redraw().is_empty());
    }
}
