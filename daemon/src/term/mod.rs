//! The headless terminal of a session: a screen of rcd's own driven by
//! `vte`'s parser, plus the transcript of the lines that scrolled off its
//! top.
//!
//! Plain output (printable ASCII and C0 controls) goes around the parser
//! while it is in its ground state, text a run at a time
//! ([`Terminal::process`]).
//!
//! The screen keeps no scrollback: every row pushed off the top of the
//! primary screen goes from its cells straight into a transcript line
//! ([`capture::Capture`]) and on to the transcript file. Rows that
//! soft-wrapped are joined, so a transcript line is a logical line as the
//! program printed it.
//!
//! The parts: [`cell`] (a cell in 12 bytes), [`row`] (cells stored only
//! once written), [`grid`] (rows, cursor, scroll region), [`screen`] (the
//! `vte::Perform` handler: what each control does), [`capture`] (scrolled
//! rows into lines) and [`redraw`] (the screen as escape codes and as
//! styled runs).

mod capture;
mod cell;
mod grid;
mod redraw;
mod row;
mod screen;
mod transcript;
#[cfg(test)]
mod vs_vt100;

pub use transcript::{INDEX_STRIDE, Position, Reader, Transcript};

use screen::Screen;

use crate::pty::Size;
use rcd_proto::stream::Row;
use std::io;
use std::path::Path;

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

/// A session's screen and transcript.
pub struct Terminal {
    parser: vte::Parser,
    screen: Screen,
    transcript: Transcript,
    /// Grows with every change of the screen.
    version: u64,
    /// The parser is known to be in its ground state, with no partial
    /// UTF-8 character: plain bytes may go to the screen directly.
    ground: bool,
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
            parser: vte::Parser::new(),
            screen: Screen::new(size.rows.max(1), size.cols.max(1)),
            transcript: Transcript::create(transcript_path)?,
            version: 1,
            ground: true,
        })
    }

    /// A blank screen of `size` over the transcript an earlier rcd wrote
    /// (see [`Transcript::reopen`]).
    pub fn reopen(size: Size, transcript_path: &Path, at: Option<Position>) -> io::Result<Self> {
        Ok(Self {
            parser: vte::Parser::new(),
            screen: Screen::new(size.rows.max(1), size.cols.max(1)),
            transcript: Transcript::reopen(transcript_path, at)?,
            version: 1,
            ground: true,
        })
    }

    /// What it takes to bring the terminal back after rcd restarted: the
    /// screens, the title, the line waiting to be completed, and how much
    /// of the transcript belongs to this moment.
    pub fn resume_point(&self) -> ResumePoint {
        ResumePoint {
            rows: self.size().rows,
            cols: self.size().cols,
            screen: String::from_utf8_lossy(&redraw::restore(&self.screen)).into_owned(),
            title: self.screen.capture.title.clone(),
            partial: self.screen.capture.partial.clone(),
            transcript_bytes: self.transcript.position().bytes,
            transcript_first: self.transcript.position().first,
        }
    }

    /// The terminal as it was at `point`, over the transcript an earlier
    /// rcd wrote (cut back to what it held then).
    pub fn resume(point: &ResumePoint, transcript_path: &Path) -> io::Result<Self> {
        let size = Size {
            rows: point.rows,
            cols: point.cols,
        };
        let at = Position {
            first: point.transcript_first,
            bytes: point.transcript_bytes,
        };
        let mut t = Self::reopen(size, transcript_path, Some(at))?;
        // Painting a screen scrolls nothing: no line reaches the
        // transcript.
        t.process(point.screen.as_bytes())?;
        t.screen.capture.title = point.title.clone();
        t.screen.capture.partial = point.partial.clone();
        Ok(t)
    }

    /// The screen's version: it grows with every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The screen as styled rows, for remote devices.
    pub fn styled(&self) -> StyledScreen {
        let grid = self.screen.grid();
        StyledScreen {
            version: self.version,
            rows: grid
                .rows
                .iter()
                .map(|r| redraw::styled_row(r, grid.width))
                .collect(),
            cols: grid.width,
            cursor: self.cursor(),
            cursor_visible: !self.screen.modes.hide_cursor,
            title: self.title().to_string(),
            app_cursor: self.screen.modes.app_cursor,
            bracketed_paste: self.screen.modes.bracketed_paste,
        }
    }

    /// Feeds program output through the emulator; lines that scroll off
    /// are appended to the transcript.
    pub fn process(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.screen.capture.reserve = bytes.len();
        let mut rest = bytes;
        if !self.ground {
            // A character may have been cut between two reads: its last
            // bytes go to the parser one at a time (given more at once,
            // vte 0.15 prints the completed character and drops what
            // followed it within its four bytes).
            for _ in 0..3 {
                match rest.split_first() {
                    Some((&b, tail)) if (0x80..0xc0).contains(&b) => {
                        self.parser.advance(&mut self.screen, &[b]);
                        rest = tail;
                    }
                    _ => break,
                }
            }
        }
        while !rest.is_empty() {
            if self.ground {
                // What the parser would only print or execute goes
                // straight to the screen, runs of text at once (the
                // parser hands characters over one at a time).
                rest = &rest[self.screen.plain(rest)..];
                if rest.is_empty() {
                    break;
                }
                self.ground = false;
            }
            // The parser takes everything up to the next printable ASCII
            // byte, then that byte alone: if it prints it, the parser is
            // back in its ground state (in any other state such a byte
            // is part of a sequence, and nothing prints).
            let n = rest
                .iter()
                .position(|b| (0x20..=0x7e).contains(b))
                .unwrap_or(rest.len());
            if n > 0 {
                self.parser.advance(&mut self.screen, &rest[..n]);
                rest = &rest[n..];
            }
            if let Some((&b, tail)) = rest.split_first() {
                self.screen.printed = None;
                self.parser.advance(&mut self.screen, &[b]);
                self.ground = self.screen.printed == Some(char::from(b));
                rest = tail;
            }
        }
        self.version += 1;
        self.write_done()
    }

    fn write_done(&mut self) -> io::Result<()> {
        let (text, lines) = self.screen.capture.take_done();
        self.transcript.append(&text, lines)
    }

    /// Appends the primary screen's rows (down to the last one with text)
    /// and any pending wrapped line to the transcript; for when the
    /// program has ended.
    pub fn flush_screen_to_transcript(&mut self) -> io::Result<()> {
        let partial = std::mem::take(&mut self.screen.capture.partial);
        if !partial.is_empty() {
            self.screen.capture.push_line(partial.trim_end());
        }
        if self.screen.alternate.is_none() {
            let rows = self.rows();
            let keep = rows
                .iter()
                .rposition(|r| !r.is_empty())
                .map_or(0, |i| i + 1);
            for row in &rows[..keep] {
                self.screen.capture.push_line(row);
            }
        }
        self.write_done()
    }

    /// Changes the screen size.
    pub fn resize(&mut self, size: Size) -> io::Result<()> {
        self.screen.resize(size.rows.max(1), size.cols.max(1));
        self.version += 1;
        self.write_done()
    }

    /// The current screen size.
    pub fn size(&self) -> Size {
        let grid = self.screen.grid();
        Size {
            rows: grid.height,
            cols: grid.width,
        }
    }

    /// Rows of plain text, trailing blanks trimmed.
    pub fn rows(&self) -> Vec<String> {
        let grid = self.screen.grid();
        grid.rows
            .iter()
            .map(|r| redraw::plain_row(r, grid.width))
            .collect()
    }

    /// (row, col) of the cursor, always a cell of the screen: while a
    /// character written in the last column waits to wrap, the cursor is
    /// shown on that column, as terminals show it, so a device is never
    /// told of a cursor off its screen (the web UI drew it past the row's
    /// end, rcctl not at all).
    pub fn cursor(&self) -> (u16, u16) {
        let grid = self.screen.grid();
        let last_row = (grid.rows.len() as u16).saturating_sub(1);
        let last_col = grid.width.saturating_sub(1);
        (grid.pos.row.min(last_row), grid.pos.col.min(last_col))
    }

    /// The bells and desktop notifications the program sent since the
    /// last call.
    pub fn take_alerts(&mut self) -> Vec<(rcd_proto::control::AttentionKind, String)> {
        std::mem::take(&mut self.screen.capture.alerts)
    }

    /// The window title the program set, if any.
    pub fn title(&self) -> &str {
        &self.screen.capture.title
    }

    /// Bytes that repaint the whole screen (contents, attributes, cursor,
    /// input modes) on a real terminal of the same size.
    pub fn redraw(&self) -> Vec<u8> {
        redraw::redraw(&self.screen)
    }

    /// The transcript.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Whether the transcript's live segment is due to roll
    /// ([`Terminal::roll`]).
    pub fn roll_due(&self) -> bool {
        self.transcript.roll_due()
    }

    /// Rolls the transcript's live segment (see [`Transcript::roll`]).
    pub fn roll(&mut self) -> io::Result<Option<std::path::PathBuf>> {
        self.transcript.roll()
    }

    /// Heap bytes the screen holds (its rows and cells).
    #[cfg(test)]
    fn screen_heap_bytes(&self) -> usize {
        self.screen.primary.heap_bytes()
            + self
                .screen
                .alternate
                .as_ref()
                .map_or(0, |g| std::mem::size_of::<grid::Grid>() + g.heap_bytes())
    }
}

/// See [`Terminal::resume_point`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResumePoint {
    pub rows: u16,
    pub cols: u16,
    /// Escape sequences that paint both screens, the cursor and the
    /// modes on a blank terminal of this size.
    pub screen: String,
    pub title: String,
    pub partial: String,
    /// Length of the transcript's live segment.
    pub transcript_bytes: u64,
    /// Number of the live segment's first line (absent from resume
    /// points of rcds that kept one file: the live segment then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_first: Option<u64>,
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
    /// The program asked for bracketed paste (DECSET 2004).
    pub bracketed_paste: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(rows: u16, cols: u16) -> (tempfile::TempDir, Terminal) {
        let dir = tempfile::tempdir().unwrap();
        let t = Terminal::new(Size { rows, cols }, &dir.path().join("t.log")).unwrap();
        (dir, t)
    }

    /// Every terminal source of attention, with its text; what is not one
    /// (a progress report, a bell that ends an escape sequence) is not.
    #[test]
    fn bells_and_desktop_notifications_are_alerts() {
        use rcd_proto::control::AttentionKind::{Bell, Notification};
        let (_d, mut t) = term(24, 80);
        let mut alerts = |bytes: &[u8]| {
            t.process(bytes).unwrap();
            t.take_alerts()
        };
        assert_eq!(alerts(b"done\x07"), [(Bell, String::new())]);
        // BEL ends the title sequence: not a bell.
        assert_eq!(alerts(b"\x1b]0;title\x07"), []);
        assert_eq!(
            alerts(b"\x1b]9;Build finished; 3 warnings\x07"),
            [(Notification, "Build finished; 3 warnings".into())]
        );
        // ConEmu's progress (and its other numbered commands) are not.
        assert_eq!(alerts(b"\x1b]9;4;1;50\x07\x1b]9;9;/tmp\x1b\\"), []);
        assert_eq!(
            alerts(b"\x1b]777;notify;Claude Code;Needs your permission\x1b\\"),
            [(Notification, "Claude Code: Needs your permission".into())]
        );
        // kitty: a title and a body in two parts, the body base64.
        assert_eq!(alerts(b"\x1b]99;i=1:d=0;Codex\x1b\\"), []);
        assert_eq!(
            alerts(b"\x1b]99;i=1:p=body:e=1;dHVybiBjb21wbGV0ZQ==\x1b\\"),
            [(Notification, "Codex: turn complete".into())]
        );
        assert_eq!(
            alerts(b"\x1b]99;;Hello\x1b\\"),
            [(Notification, "Hello".into())]
        );
        // A query of what the terminal supports carries no text.
        assert_eq!(alerts(b"\x1b]99;i=q:p=?;\x1b\\"), []);
        // On the alternate screen too.
        assert_eq!(alerts(b"\x1b[?1049h\x07"), [(Bell, String::new())]);
        // Long texts are cut.
        let long = format!("\x1b]9;{}\x07", "x".repeat(1000));
        assert_eq!(alerts(long.as_bytes())[0].1.len(), 256);
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
        let input =
            include_bytes!("../../../fuzz/regressions/terminal/cursor-past-the-last-column");
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
        let (from, lines, total) = Transcript::page_of_file(&path, 5, 10).unwrap();
        assert_eq!((from, total), (5, 6));
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

    /// Bytes a blank 80×24 screen's rows take: the row headers, no cells.
    fn blank_bytes() -> usize {
        24 * std::mem::size_of::<row::Row>()
    }

    #[test]
    fn a_blank_screen_holds_no_cells() {
        let (_d, t) = term(24, 80);
        assert_eq!(t.screen_heap_bytes(), blank_bytes());
        assert!(t.screen.alternate.is_none());
        // The parser reserves nothing on the heap (its OSC buffer is
        // inline, 1 KiB).
        assert!(std::mem::size_of::<vte::Parser>() <= 2048);
        assert!(std::mem::size_of::<cell::Cell>() <= 12);
    }

    #[test]
    fn only_written_rows_hold_cells_and_a_clear_gives_them_back() {
        let (_d, mut t) = term(24, 80);
        t.process(b"$ ls\r\nsrc  docs\r\n$ ").unwrap();
        let three = t.screen_heap_bytes() - blank_bytes();
        assert!(three <= 3 * 80 * 12, "{three} bytes for three rows");
        for i in 0..24 {
            t.process(format!("\x1b[{};1H{}", i + 1, "x".repeat(80)).as_bytes())
                .unwrap();
        }
        let full = t.screen_heap_bytes() - blank_bytes();
        assert!(
            (24 * 80 * 12..=24 * 80 * 12 + 1024).contains(&full),
            "{full}"
        );
        t.process(b"\x1b[H\x1b[2J").unwrap();
        assert_eq!(t.screen_heap_bytes(), blank_bytes(), "ED 2 frees the rows");
        t.process(b"abc\x1b[1K\x1b[K").unwrap();
        assert_eq!(t.screen_heap_bytes(), blank_bytes(), "EL frees the row");
        // Clearing with a background colour keeps the coloured cells.
        t.process(b"\x1b[44m\x1b[2J\x1b[m").unwrap();
        assert!(t.screen_heap_bytes() >= 24 * 80 * 12);
    }

    /// Everything a stream left: the screen as a redraw, the cursor, the
    /// transcript and the line still being joined.
    fn outcome(t: &Terminal) -> (Vec<u8>, Vec<String>, String) {
        let lines = t.transcript().page(1, MAX_PAGE_LINES).unwrap();
        let mut pending: Vec<&str> = t.screen.capture.done_lines().collect();
        pending.push(&t.screen.capture.partial);
        (t.redraw(), lines, pending.join("\n"))
    }

    #[test]
    fn a_stream_reads_the_same_however_it_is_cut() {
        // Text written in runs, characters of 2 to 4 bytes, escapes, an
        // OSC title, controls, a wide character at the edge, DEL, bytes
        // that are not UTF-8.
        let stream = "ab\u{e9}c\u{20ac}d\u{1f600}e\u{301}x\u{308}\u{4e2d}\u{6587}\r\n\x1b[31mred\x1b[m \
                      \x1b]0;t\u{ee}tle\x07\x1b[2;3Hmid\x1b[Kplain\ttab\x08\x7f \u{4e2d}\u{4e2d}\u{4e2d}\
                      \u{4e2d}\u{4e2d}\r\n";
        let mut bytes = stream.repeat(3).into_bytes();
        bytes.extend_from_slice(b"\xcc \xe2\x82x \xff\xfe ok\x1b[?7lnowrap-to-the-end\x1b[?7h\r\n");
        bytes.extend(stream.repeat(2).into_bytes());
        let whole = {
            let (_d, mut t) = term(5, 11);
            t.process(&bytes).unwrap();
            outcome(&t)
        };
        for cut in 1..bytes.len() {
            let (_d, mut t) = term(5, 11);
            t.process(&bytes[..cut]).unwrap();
            t.process(&bytes[cut..]).unwrap();
            assert!(outcome(&t) == whole, "cut at {cut}");
        }
        let (_d, mut t) = term(5, 11);
        for b in &bytes {
            t.process(std::slice::from_ref(b)).unwrap();
        }
        assert!(outcome(&t) == whole, "a byte at a time");
    }

    #[test]
    fn a_flood_keeps_the_screen_bounded() {
        let (_d, mut t) = term(24, 80);
        for i in 0..5000 {
            t.process(format!("{i} {}\r\n", "y".repeat(i % 200)).as_bytes())
                .unwrap();
        }
        let bytes = t.screen_heap_bytes() - blank_bytes();
        assert!(bytes <= 24 * 80 * 12, "{bytes}");
        assert!(t.transcript().len() > 4000);
        assert_eq!(
            t.screen.capture.batch_bytes(),
            0,
            "no batch kept between chunks"
        );
        // A line of 10,000 characters leaves no 10 KB buffer behind.
        t.process(format!("{}\r\n", "w".repeat(10_000)).as_bytes())
            .unwrap();
        t.process("\r\n".repeat(30).as_bytes()).unwrap();
        assert!(t.screen.capture.partial.capacity() <= 1024);
    }

    #[test]
    fn the_alternate_screen_is_made_on_use_and_dropped_on_exit() {
        let (_d, mut t) = term(24, 80);
        t.process(b"prompt$ ").unwrap();
        let before = t.screen_heap_bytes();
        t.process(b"\x1b[?1049h\x1b[H\x1b[2J").unwrap();
        assert!(t.screen.alternate.is_some());
        for i in 0..24 {
            t.process(format!("\x1b[{};1H{}", i + 1, "~".repeat(80)).as_bytes())
                .unwrap();
        }
        assert!(t.screen_heap_bytes() > before + 24 * 80 * 12);
        t.process(b"\x1b[?1049l").unwrap();
        assert!(t.screen.alternate.is_none());
        assert_eq!(t.screen_heap_bytes(), before);
        assert_eq!(t.rows()[0], "prompt$");
        assert_eq!(t.cursor(), (0, 8), "1049 restores the cursor");
        for mode in ["47", "1047"] {
            t.process(format!("\x1b[?{mode}hfull").as_bytes()).unwrap();
            assert!(t.screen.alternate.is_some(), "{mode}");
            assert_eq!(t.rows()[0], "full");
            t.process(format!("\x1b[?{mode}l").as_bytes()).unwrap();
            assert!(t.screen.alternate.is_none(), "{mode}");
            assert_eq!(t.rows()[0], "prompt$");
        }
    }

    #[test]
    fn what_vt100_did_not_do() {
        let (_d, mut t) = term(4, 10);
        // DECAWM off: the last column is overwritten, nothing wraps.
        t.process(b"\x1b[?7l0123456789abc").unwrap();
        assert_eq!(t.rows()[0], "012345678c");
        assert_eq!(t.cursor(), (0, 9));
        t.process(b"\x1b[?7h\r\n").unwrap();
        // CSI s / CSI u save and restore the cursor.
        t.process(b"ab\x1b[s\x1b[3;3Hx\x1b[uc").unwrap();
        assert_eq!(t.rows()[1], "abc");
        // IND and NEL.
        t.process(b"\x1bDd\x1bEe").unwrap();
        assert_eq!(t.rows()[2], "  xd");
        assert_eq!(t.rows()[3], "e");
        // A title with ';' in it.
        t.process(b"\x1b]2;a;b\x07").unwrap();
        assert_eq!(t.title(), "a;b");
    }

    /// Feeding a screen's redraw to a fresh terminal gives the same screen.
    fn assert_redraw_reproduces(t: &Terminal, what: &str) {
        let (_d, mut copy) = term(t.size().rows, t.size().cols);
        copy.process(&t.redraw()).unwrap();
        let (a, b) = (t.styled(), copy.styled());
        assert_eq!(a.rows, b.rows, "{what}: rows");
        assert_eq!(a.cursor, b.cursor, "{what}: cursor");
        assert_eq!(a.cursor_visible, b.cursor_visible, "{what}: cursor visible");
        assert_eq!(t.screen.modes, copy.screen.modes, "{what}: modes");
        assert_eq!(t.screen.attrs, copy.screen.attrs, "{what}: pen");
        assert_eq!(
            t.screen.alternate.is_some(),
            copy.screen.alternate.is_some(),
            "{what}: alternate"
        );
        let (g, h) = (t.screen.grid(), copy.screen.grid());
        assert_eq!(
            (g.top, g.bottom, g.origin),
            (h.top, h.bottom, h.origin),
            "{what}: region"
        );
        for (r, (x, y)) in g.rows.iter().zip(&h.rows).enumerate() {
            for c in 0..g.width {
                assert_eq!(x.cell(c), y.cell(c), "{what}: cell {r},{c}");
                assert_eq!(x.text_of(c), y.text_of(c), "{what}: text {r},{c}");
            }
        }
    }

    #[test]
    fn a_redraw_reproduces_the_screen() {
        let (_d, mut t) = term(6, 12);
        t.process("\x1b[1;31mred\x1b[m \x1b[44m  \x1b[m 中文 e\u{301}\r\n".as_bytes())
            .unwrap();
        t.process(b"\x1b[38;2;1;2;3;4;7mrgb\x1b[K\x1b[m\r\n")
            .unwrap();
        assert_redraw_reproduces(&t, "plain");
        t.process(b"\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[4 q\x1b[?25l\x1b[3m")
            .unwrap();
        assert_redraw_reproduces(&t, "modes");
        t.process(b"\x1b[3;5r\x1b[?6h\x1b[2;4H").unwrap();
        assert_redraw_reproduces(&t, "region and origin");
        t.process(b"\x1b[?6l\x1b[r\x1b[6;1H123456789012").unwrap();
        let pos = t.screen.grid().pos;
        assert_eq!((pos.row, pos.col), (5, 12), "pending wrap");
        assert_eq!(t.cursor(), (5, 11), "shown on the last column");
        assert_redraw_reproduces(&t, "pending wrap");
        t.process(b"\x1b[?1049h\x1b[2;2Hfull screen\x1b[?7l")
            .unwrap();
        let redraw = t.redraw();
        assert!(redraw.starts_with(b"\x1b[?1049h"));
        assert_redraw_reproduces(&t, "alternate");
    }
}
