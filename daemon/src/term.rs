//! The headless terminal of a session: a `vt100` screen plus the
//! transcript of the lines that scrolled off its top.
//!
//! The parser runs with no scrollback of its own; every row pushed off the
//! top of the primary screen comes to [`Capture::on_scroll`] and is
//! appended to the transcript file. Rows that soft-wrapped are joined, so
//! a transcript line is a logical line as the program printed it.

use crate::pty::Size;
use rcd_proto::stream::{Row, Run};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Most transcript lines returned in one page.
pub const MAX_PAGE_LINES: u32 = 5000;
/// Most bytes of lines in one page (a page holds at least one line): on
/// a device's session stream a page must fit in one WebSocket message of
/// `rcd_net::MAX_WS_MESSAGE` (1 MiB) once escaped and wrapped, and on the
/// control socket in one frame.
pub const MAX_PAGE_BYTES: usize = 256 * 1024;

/// Longest transcript line: a logical line longer than this (rows that
/// wrap on and on) is cut into lines of about this size, so that any one
/// line fits a page, and a page one message, even when escaping
/// quadruples it.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Keeps lines while they fit in [`MAX_PAGE_BYTES`], and at least one.
#[derive(Debug, Default)]
struct PageBudget {
    used: usize,
}

impl PageBudget {
    fn admits(&mut self, taken: usize, line: &str) -> bool {
        // Each line costs its bytes and a little for quoting and commas.
        self.used += line.len() + 8;
        taken == 0 || self.used <= MAX_PAGE_BYTES
    }
}

/// Receives terminal events from the parser.
#[derive(Debug, Default)]
struct Capture {
    title: String,
    /// A row that soft-wrapped and waits for its continuation.
    partial: String,
    /// Completed lines not yet written to the transcript.
    done: Vec<String>,
    /// The formatted text of the row being captured, reused.
    scratch: String,
}

/// Takes the first character written and then refuses the rest, so
/// asking vt100 whether a row ends its line costs one character, not a
/// second formatting of the row.
#[derive(Debug, Default)]
struct FirstChar(Option<char>);

impl std::fmt::Write for FirstChar {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 = self.0.or_else(|| s.chars().next());
        Err(std::fmt::Error)
    }
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
        self.scratch.clear();
        let mut state = vt100::capture::BasicFormattedCaptureState::new();
        if row
            .write_formatted_basic(&mut self.scratch, &mut state)
            .is_err()
        {
            return;
        }
        self.partial
            .extend(vt100::capture::basic_formatted_to_plain(&self.scratch));
        if self.partial.len() >= MAX_LINE_BYTES {
            // One line of megabytes (a minified bundle) would make a page
            // no message can carry: it goes in pieces.
            self.done.push(std::mem::take(&mut self.partial));
            return;
        }
        // `write_formatted_basic` leaves a newline pending for rows that
        // did not wrap (the next write starts with it); a wrapped row
        // continues on the next one.
        let mut probe = FirstChar::default();
        let _ = row.write_formatted_basic(&mut probe, &mut state);
        if probe.0 == Some('\n') {
            let end = self.partial.trim_end().len();
            self.partial.truncate(end);
            self.done.push(std::mem::take(&mut self.partial));
        }
    }
}

/// Append-only, numbered transcript lines on disk.
#[derive(Debug)]
pub struct Transcript {
    path: PathBuf,
    file: File,
    /// Byte offset of every [`INDEX_STRIDE`]th line (lines 1, 1 +
    /// stride, …), so a page is one seek and a short skip, and the index
    /// of 20 million lines is 160 KB, not 160 MB.
    offsets: Vec<u64>,
    lines: u64,
    end: u64,
}

/// Lines between two entries of a transcript's index.
pub const INDEX_STRIDE: u64 = 1024;

impl Transcript {
    /// Creates (or truncates) the transcript file at `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .mode(0o600)
            .create(true)
            .write(true)
            .truncate(true)
            .read(true)
            .open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            offsets: Vec::new(),
            lines: 0,
            end: 0,
        })
    }

    /// Where the transcript is stored.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of lines so far.
    pub fn len(&self) -> u64 {
        self.lines
    }

    /// Whether no line has scrolled off yet.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    fn append(&mut self, lines: &[String]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        let mut entries = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if (self.lines + i as u64) % INDEX_STRIDE == 0 {
                entries.push(self.end + buf.len() as u64);
            }
            // A line never contains '\n': rows are single-line by nature.
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        std::os::unix::fs::FileExt::write_all_at(&self.file, &buf, self.end)?;
        // Counted only once written: a failed write (a full disk) leaves
        // the index as the file is.
        self.offsets.extend(entries);
        self.lines += lines.len() as u64;
        self.end += buf.len() as u64;
        Ok(())
    }

    /// A page of a transcript file written by an earlier session (no
    /// index in memory): lines from `from` (1-based), and the total.
    pub fn page_of_file(path: &Path, from: u64, max: u32) -> io::Result<(Vec<String>, u64)> {
        let reader = BufReader::new(File::open(path)?);
        read_page(reader, from.max(1) - 1, max, true)
    }

    /// Up to `max` lines (at most [`MAX_PAGE_LINES`], and fewer where they
    /// would pass [`MAX_PAGE_BYTES`]) starting at line `from` (1-based).
    pub fn page(&self, from: u64, max: u32) -> io::Result<Vec<String>> {
        let from = from.max(1);
        if from > self.lines {
            return Ok(Vec::new());
        }
        let entry = (from - 1) / INDEX_STRIDE;
        let start = self.offsets[entry as usize];
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(start))?;
        let reader = BufReader::new(file.take(self.end - start));
        Ok(read_page(reader, (from - 1) % INDEX_STRIDE, max, false)?.0)
    }
}

/// The page of `reader`'s lines after the first `skip`: at most `max`
/// (within [`MAX_PAGE_LINES`]) and within [`MAX_PAGE_BYTES`]. Also how
/// many lines were read: with `count_all`, every line of the reader.
fn read_page(
    reader: impl BufRead,
    skip: u64,
    max: u32,
    count_all: bool,
) -> io::Result<(Vec<String>, u64)> {
    let max = max.clamp(1, MAX_PAGE_LINES) as usize;
    let mut page = Vec::new();
    let mut budget = PageBudget::default();
    let mut read = 0u64;
    let mut full = false;
    for raw in reader.split(b'\n') {
        let raw = raw?;
        read += 1;
        if read > skip && !full {
            let line = String::from_utf8_lossy(&raw).into_owned();
            if page.len() < max && budget.admits(page.len(), &line) {
                page.push(line);
            } else {
                full = true;
            }
        }
        if full && !count_all {
            break;
        }
    }
    Ok((page, read))
}

/// A session's screen and transcript.
pub struct Terminal {
    parser: vt100::Parser<Capture>,
    transcript: Transcript,
    /// Grows with every change of the screen.
    version: u64,
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
            version: 1,
        })
    }

    /// The screen's version: it grows with every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The screen as styled rows, for remote devices.
    pub fn styled(&self) -> StyledScreen {
        let screen = self.parser.screen();
        let size = self.size();
        let rows = (0..size.rows)
            .map(|r| styled_row(screen, r, size.cols))
            .collect();
        StyledScreen {
            version: self.version,
            rows,
            cols: size.cols,
            cursor: cursor_cell(screen),
            cursor_visible: !screen.hide_cursor(),
            title: self.title().to_string(),
            app_cursor: screen.application_cursor(),
        }
    }

    /// Feeds program output through the emulator; lines that scroll off
    /// are appended to the transcript.
    pub fn process(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.parser.process(bytes);
        self.version += 1;
        let done = std::mem::take(&mut self.parser.callbacks_mut().done);
        self.transcript.append(&done)
    }

    /// Appends the primary screen's rows (down to the last one with text)
    /// and any pending wrapped line to the transcript; for when the
    /// program has ended.
    pub fn flush_screen_to_transcript(&mut self) -> io::Result<()> {
        let mut lines = std::mem::take(&mut self.parser.callbacks_mut().done);
        let partial = std::mem::take(&mut self.parser.callbacks_mut().partial);
        if !partial.is_empty() {
            lines.push(partial.trim_end().to_string());
        }
        if !self.parser.screen().alternate_screen() {
            let rows = self.rows();
            let keep = rows
                .iter()
                .rposition(|r| !r.is_empty())
                .map_or(0, |i| i + 1);
            lines.extend(rows.into_iter().take(keep));
        }
        self.transcript.append(&lines)
    }

    /// Changes the screen size.
    pub fn resize(&mut self, size: Size) -> io::Result<()> {
        self.parser.set_size(nonzero(size.rows), nonzero(size.cols));
        self.version += 1;
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
        cursor_cell(self.parser.screen())
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

/// A snapshot of the screen with styles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyledScreen {
    pub version: u64,
    pub rows: Vec<Row>,
    pub cols: u16,
    pub cursor: (u16, u16),
    pub cursor_visible: bool,
    pub title: String,
    pub app_cursor: bool,
}

fn colour(c: vt100::Color) -> Option<String> {
    match c {
        vt100::Color::Default => None,
        vt100::Color::Idx(i) => Some(i.to_string()),
        vt100::Color::Rgb(r, g, b) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
    }
}

/// One row as runs of equally styled text; trailing default blanks are
/// dropped.
fn styled_row(screen: &vt100::Screen, row: u16, cols: u16) -> Row {
    let mut runs: Vec<Run> = Vec::new();
    for col in 0..cols {
        let Some(cell) = screen.cell(row, col) else {
            break;
        };
        if cell.is_wide_continuation() {
            continue;
        }
        let text = if cell.has_contents() {
            cell.contents()
        } else {
            " "
        };
        let style = Run {
            text: String::new(),
            fg: colour(cell.fgcolor()),
            bg: colour(cell.bgcolor()),
            bold: cell.bold(),
            italic: cell.italic(),
            underline: cell.underline(),
            inverse: cell.inverse(),
        };
        match runs.last_mut() {
            Some(last)
                if Run {
                    text: String::new(),
                    ..last.clone()
                } == style =>
            {
                last.text.push_str(text)
            }
            _ => runs.push(Run {
                text: text.to_string(),
                ..style
            }),
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
    Row { runs }
}

/// The cell the cursor is on. After a program writes the last column,
/// `vt100` reports the cursor one column past it (the next character
/// wraps); a terminal shows it on the last column, and so does rcd, so a
/// device is never told of a cursor off its screen (the web UI drew it
/// past the row's end, rcctl not at all).
fn cursor_cell(screen: &vt100::Screen) -> (u16, u16) {
    let (rows, cols) = screen.size();
    let (row, col) = screen.cursor_position();
    (row.min(rows.get() - 1), col.min(cols.get() - 1))
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

    /// Found by fuzzing (fuzz/regressions/terminal/): a line that fills
    /// the last column left the cursor one column off the screen.
    #[test]
    fn the_cursor_stays_on_the_screen_when_a_row_is_full() {
        let (_d, mut t) = term(3, 4);
        t.process(b"abcd").unwrap();
        assert_eq!(t.cursor(), (0, 3));
        assert_eq!(t.styled().cursor, (0, 3));
        t.process(b"e").unwrap();
        assert_eq!(t.cursor(), (1, 1), "the next character still wraps");
        // The fuzz input, in the terminal target's steps: a resize to
        // 1x1, then the chunk "a".
        let input = include_bytes!("../../fuzz/regressions/terminal/cursor-past-the-last-column");
        assert_eq!(input, b"\0\0\0aa");
        let (_d, mut t) = term(24, 80);
        t.resize(Size { rows: 1, cols: 1 }).unwrap();
        t.process(&input[4..]).unwrap();
        assert_eq!(t.cursor(), (0, 0));
        assert_eq!(t.styled().cursor, (0, 0));
    }

    #[test]
    fn an_endless_line_goes_to_the_transcript_in_pieces() {
        let (_d, mut t) = term(3, 80);
        let long = "z".repeat(3 * MAX_LINE_BYTES);
        t.process(long.as_bytes()).unwrap();
        t.process(b"\r\nafter\r\n\r\n\r\n\r\n").unwrap();
        let page = t.transcript().page(1, 100).unwrap();
        assert!(page.len() >= 3, "{} lines", page.len());
        assert!(page.iter().all(|l| l.len() <= MAX_LINE_BYTES + 80));
        let joined: usize = page
            .iter()
            .take_while(|l| l.starts_with('z'))
            .map(|l| l.len())
            .sum();
        assert_eq!(joined, long.len(), "nothing lost");
        assert!(page.contains(&"after".to_string()));
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
    fn pages_are_found_through_a_sparse_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Transcript::create(&dir.path().join("t.log")).unwrap();
        let n = 3 * INDEX_STRIDE + 5;
        // Appended in uneven chunks, as output comes.
        let all: Vec<String> = (1..=n).map(|i| format!("line {i}")).collect();
        for chunk in all.chunks(333) {
            t.append(chunk).unwrap();
        }
        assert_eq!(t.len(), n);
        assert_eq!(t.offsets.len(), 4, "one entry per {INDEX_STRIDE} lines");
        for from in [
            1,
            2,
            INDEX_STRIDE,
            INDEX_STRIDE + 1,
            2 * INDEX_STRIDE + 7,
            n,
        ] {
            let page = t.page(from, 3).unwrap();
            let want: Vec<String> = (from..=(from + 2).min(n))
                .map(|i| format!("line {i}"))
                .collect();
            assert_eq!(page, want, "from {from}");
        }
        assert!(t.page(n + 1, 3).unwrap().is_empty());
    }

    #[test]
    fn a_page_stops_at_its_byte_limit_but_holds_at_least_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Transcript::create(&dir.path().join("t.log")).unwrap();
        let long = "x".repeat(100 * 1024);
        t.append(&[long.clone(), long.clone(), long.clone(), "short".into()])
            .unwrap();
        assert_eq!(t.page(1, 10).unwrap().len(), 2, "256 KiB holds two");
        let huge = "y".repeat(MAX_PAGE_BYTES + 1);
        t.append(std::slice::from_ref(&huge)).unwrap();
        assert_eq!(t.page(5, 10).unwrap(), vec![huge]);
        let (lines, total) = Transcript::page_of_file(t.path(), 1, 10).unwrap();
        assert_eq!((lines.len(), total), (2, 5));
    }

    #[test]
    fn wrapped_rows_join_into_one_line_and_colours_are_stripped() {
        let (_d, mut t) = term(2, 5);
        t.process(b"\x1b[31mabcdefgh\x1b[m\r\nx\r\ny\r\n").unwrap();
        let page = t.transcript().page(1, 10).unwrap();
        assert_eq!(page[0], "abcdefgh");
    }

    #[test]
    fn the_last_screen_joins_the_transcript_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        let mut t = Terminal::new(Size { rows: 3, cols: 20 }, &path).unwrap();
        for i in 1..=5 {
            t.process(format!("l{i}\r\n").as_bytes()).unwrap();
        }
        t.process(b"$ ").unwrap();
        t.flush_screen_to_transcript().unwrap();
        let want: Vec<String> = ["l1", "l2", "l3", "l4", "l5", "$"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(t.transcript().page(1, 100).unwrap(), want);
        let (lines, total) = Transcript::page_of_file(&path, 5, 10).unwrap();
        assert_eq!(total, 6);
        assert_eq!(lines, ["l5", "$"]);
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
    fn styled_rows_carry_colours_and_attributes() {
        let (_d, mut t) = term(3, 20);
        t.process(b"plain \x1b[1;31mred\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[m   ")
            .unwrap();
        let s = t.styled();
        let runs = &s.rows[0].runs;
        assert_eq!(s.rows[0].text(), "plain red rgb");
        assert_eq!(runs[0].text, "plain ");
        assert_eq!(runs[1].text, "red");
        assert_eq!(runs[1].fg.as_deref(), Some("1"));
        assert!(runs[1].bold);
        assert_eq!(runs[3].fg.as_deref(), Some("#010203"));
        assert!(s.rows[1].runs.is_empty());
        let v = s.version;
        t.process(b"x").unwrap();
        assert!(t.version() > v);
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
