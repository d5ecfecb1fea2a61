//! The headless terminal of a session: alacritty's terminal model plus
//! the transcript of the lines that scrolled off its top.
//!
//! Only alacritty's model is used (`Term`, its grid, and the `vte` parser
//! driving it); the PTY and the event loop are rcd's. The primary grid
//! keeps a short history, and after every action of the parser the rows
//! it pushed off the top are taken from it ([`Capture::drain`]) and
//! appended to the transcript file. Rows that soft-wrapped are joined, so
//! a transcript line is a logical line as the program printed it.

use crate::pty::Size;
use alacritty_terminal::event::VoidListener;
use alacritty_terminal::grid::{Dimensions, Row as GridRow};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{self, Color};
use rcd_proto::stream::{Row, Run};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
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

/// Most rows the primary screen keeps above its top before they are
/// taken into the transcript. They are taken after every action of the
/// parser, and one action scrolls at most a screen's rows (a resize that
/// rewraps long lines, a few screens), so none is dropped; the grid
/// reserves room for rows in blocks of 1,000 anyway.
const HISTORY_ROWS: usize = 1000;

/// Most characters of a window title kept.
const MAX_TITLE_CHARS: usize = 256;

/// What the terminal keeps beside alacritty's model: the title and the
/// lines that scrolled off, on their way to the transcript.
#[derive(Debug, Default)]
struct Capture {
    title: String,
    /// A row that soft-wrapped and waits for its continuation.
    partial: String,
    /// Completed lines not yet written to the transcript.
    done: Vec<String>,
    /// Rows were taken from the grid's history during this `process`.
    scrolled: bool,
    /// The primary grid has grown room for history that is not given
    /// back yet.
    grown: bool,
}

impl Capture {
    /// Moves the rows above the screen's top into lines, oldest first,
    /// and empties the history. Rows of the alternate screen have no
    /// history (its grid keeps none): full-screen programs redraw, their
    /// rows are not output history.
    fn drain(&mut self, term: &mut Term<VoidListener>) {
        let grid = term.grid();
        let n = grid.history_size();
        if n == 0 {
            return;
        }
        let cols = grid.columns();
        for back in (1..=n).rev() {
            self.take_row(&grid[Line(-(back as i32))], cols);
        }
        term.grid_mut().clear_history();
        self.scrolled = true;
        self.grown = true;
    }

    fn take_row(&mut self, row: &GridRow<Cell>, cols: usize) {
        for col in 0..cols {
            push_cell_text(&mut self.partial, &row[Column(col)]);
        }
        if self.partial.len() >= MAX_LINE_BYTES {
            // One line of megabytes (a minified bundle) would make a page
            // no message can carry: it goes in pieces.
            self.done.push(std::mem::take(&mut self.partial));
            return;
        }
        // A row that soft-wrapped continues on the next one.
        if !row[Column(cols - 1)].flags.contains(Flags::WRAPLINE) {
            let end = self.partial.trim_end().len();
            self.partial.truncate(end);
            self.done.push(std::mem::take(&mut self.partial));
        }
    }
}

/// Appends a cell's characters; the second half of a wide character
/// (and the blank left where one did not fit) has none.
fn push_cell_text(out: &mut String, cell: &Cell) {
    if cell
        .flags
        .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
    {
        return;
    }
    out.push(cell.c);
    if let Some(extra) = cell.zerowidth() {
        out.extend(extra.iter());
    }
}

/// The parser's view of the terminal: every action goes to alacritty's
/// `Term`, and after each one the rows it pushed off the top are taken,
/// so the history never holds more than one action's rows and no row is
/// lost however much one chunk of output scrolls.
struct Emulator<'a> {
    term: &'a mut Term<VoidListener>,
    capture: &'a mut Capture,
}

impl Emulator<'_> {
    #[inline]
    fn after(&mut self) {
        if self.term.grid().history_size() != 0 {
            self.capture.drain(self.term);
        }
    }
}

impl ansi::Handler for Emulator<'_> {
    fn set_title(&mut self, title: Option<String>) {
        self.capture.title = title
            .unwrap_or_default()
            .chars()
            .take(MAX_TITLE_CHARS)
            .collect();
    }

    #[inline]
    fn input(&mut self, c: char) {
        self.term.input(c);
        self.after();
    }

    fn set_cursor_style(&mut self, a0: Option<ansi::CursorStyle>) {
        self.term.set_cursor_style(a0);
        self.after();
    }

    fn set_cursor_shape(&mut self, a0: ansi::CursorShape) {
        self.term.set_cursor_shape(a0);
        self.after();
    }

    fn goto(&mut self, a0: i32, a1: usize) {
        self.term.goto(a0, a1);
        self.after();
    }

    fn goto_line(&mut self, a0: i32) {
        self.term.goto_line(a0);
        self.after();
    }

    fn goto_col(&mut self, a0: usize) {
        self.term.goto_col(a0);
        self.after();
    }

    fn insert_blank(&mut self, a0: usize) {
        self.term.insert_blank(a0);
        self.after();
    }

    fn move_up(&mut self, a0: usize) {
        self.term.move_up(a0);
        self.after();
    }

    fn move_down(&mut self, a0: usize) {
        self.term.move_down(a0);
        self.after();
    }

    fn identify_terminal(&mut self, a0: Option<char>) {
        self.term.identify_terminal(a0);
        self.after();
    }

    fn device_status(&mut self, a0: usize) {
        self.term.device_status(a0);
        self.after();
    }

    fn move_forward(&mut self, a0: usize) {
        self.term.move_forward(a0);
        self.after();
    }

    fn move_backward(&mut self, a0: usize) {
        self.term.move_backward(a0);
        self.after();
    }

    fn move_down_and_cr(&mut self, a0: usize) {
        self.term.move_down_and_cr(a0);
        self.after();
    }

    fn move_up_and_cr(&mut self, a0: usize) {
        self.term.move_up_and_cr(a0);
        self.after();
    }

    fn put_tab(&mut self, a0: u16) {
        self.term.put_tab(a0);
        self.after();
    }

    fn backspace(&mut self) {
        self.term.backspace();
        self.after();
    }

    fn carriage_return(&mut self) {
        self.term.carriage_return();
        self.after();
    }

    fn linefeed(&mut self) {
        self.term.linefeed();
        self.after();
    }

    fn bell(&mut self) {
        self.term.bell();
        self.after();
    }

    fn substitute(&mut self) {
        self.term.substitute();
        self.after();
    }

    fn newline(&mut self) {
        self.term.newline();
        self.after();
    }

    fn set_horizontal_tabstop(&mut self) {
        self.term.set_horizontal_tabstop();
        self.after();
    }

    fn scroll_up(&mut self, a0: usize) {
        self.term.scroll_up(a0);
        self.after();
    }

    fn scroll_down(&mut self, a0: usize) {
        self.term.scroll_down(a0);
        self.after();
    }

    fn insert_blank_lines(&mut self, a0: usize) {
        self.term.insert_blank_lines(a0);
        self.after();
    }

    fn delete_lines(&mut self, a0: usize) {
        self.term.delete_lines(a0);
        self.after();
    }

    fn erase_chars(&mut self, a0: usize) {
        self.term.erase_chars(a0);
        self.after();
    }

    fn delete_chars(&mut self, a0: usize) {
        self.term.delete_chars(a0);
        self.after();
    }

    fn move_backward_tabs(&mut self, a0: u16) {
        self.term.move_backward_tabs(a0);
        self.after();
    }

    fn move_forward_tabs(&mut self, a0: u16) {
        self.term.move_forward_tabs(a0);
        self.after();
    }

    fn save_cursor_position(&mut self) {
        self.term.save_cursor_position();
        self.after();
    }

    fn restore_cursor_position(&mut self) {
        self.term.restore_cursor_position();
        self.after();
    }

    fn clear_line(&mut self, a0: ansi::LineClearMode) {
        self.term.clear_line(a0);
        self.after();
    }

    fn clear_screen(&mut self, a0: ansi::ClearMode) {
        self.term.clear_screen(a0);
        self.after();
    }

    fn clear_tabs(&mut self, a0: ansi::TabulationClearMode) {
        self.term.clear_tabs(a0);
        self.after();
    }

    fn set_tabs(&mut self, a0: u16) {
        self.term.set_tabs(a0);
        self.after();
    }

    fn reset_state(&mut self) {
        self.term.reset_state();
        self.after();
    }

    fn reverse_index(&mut self) {
        self.term.reverse_index();
        self.after();
    }

    fn terminal_attribute(&mut self, a0: ansi::Attr) {
        self.term.terminal_attribute(a0);
        self.after();
    }

    fn set_mode(&mut self, a0: ansi::Mode) {
        self.term.set_mode(a0);
        self.after();
    }

    fn unset_mode(&mut self, a0: ansi::Mode) {
        self.term.unset_mode(a0);
        self.after();
    }

    fn report_mode(&mut self, a0: ansi::Mode) {
        self.term.report_mode(a0);
        self.after();
    }

    fn set_private_mode(&mut self, a0: ansi::PrivateMode) {
        self.term.set_private_mode(a0);
        self.after();
    }

    fn unset_private_mode(&mut self, a0: ansi::PrivateMode) {
        self.term.unset_private_mode(a0);
        self.after();
    }

    fn report_private_mode(&mut self, a0: ansi::PrivateMode) {
        self.term.report_private_mode(a0);
        self.after();
    }

    fn set_scrolling_region(&mut self, a0: usize, a1: Option<usize>) {
        self.term.set_scrolling_region(a0, a1);
        self.after();
    }

    fn set_keypad_application_mode(&mut self) {
        self.term.set_keypad_application_mode();
        self.after();
    }

    fn unset_keypad_application_mode(&mut self) {
        self.term.unset_keypad_application_mode();
        self.after();
    }

    fn set_active_charset(&mut self, a0: ansi::CharsetIndex) {
        self.term.set_active_charset(a0);
        self.after();
    }

    fn configure_charset(&mut self, a0: ansi::CharsetIndex, a1: ansi::StandardCharset) {
        self.term.configure_charset(a0, a1);
        self.after();
    }

    fn set_color(&mut self, a0: usize, a1: ansi::Rgb) {
        self.term.set_color(a0, a1);
        self.after();
    }

    fn dynamic_color_sequence(&mut self, a0: String, a1: usize, a2: &str) {
        self.term.dynamic_color_sequence(a0, a1, a2);
        self.after();
    }

    fn reset_color(&mut self, a0: usize) {
        self.term.reset_color(a0);
        self.after();
    }

    fn clipboard_store(&mut self, a0: u8, a1: &[u8]) {
        self.term.clipboard_store(a0, a1);
        self.after();
    }

    fn clipboard_load(&mut self, a0: u8, a1: &str) {
        self.term.clipboard_load(a0, a1);
        self.after();
    }

    fn decaln(&mut self) {
        self.term.decaln();
        self.after();
    }

    fn text_area_size_pixels(&mut self) {
        self.term.text_area_size_pixels();
        self.after();
    }

    fn text_area_size_chars(&mut self) {
        self.term.text_area_size_chars();
        self.after();
    }

    fn set_hyperlink(&mut self, a0: Option<ansi::Hyperlink>) {
        self.term.set_hyperlink(a0);
        self.after();
    }

    fn set_mouse_cursor_icon(&mut self, a0: ansi::cursor_icon::CursorIcon) {
        self.term.set_mouse_cursor_icon(a0);
        self.after();
    }

    fn report_keyboard_mode(&mut self) {
        self.term.report_keyboard_mode();
        self.after();
    }

    fn push_keyboard_mode(&mut self, a0: ansi::KeyboardModes) {
        self.term.push_keyboard_mode(a0);
        self.after();
    }

    fn pop_keyboard_modes(&mut self, a0: u16) {
        self.term.pop_keyboard_modes(a0);
        self.after();
    }

    fn set_keyboard_mode(&mut self, a0: ansi::KeyboardModes, a1: ansi::KeyboardModesApplyBehavior) {
        self.term.set_keyboard_mode(a0, a1);
        self.after();
    }

    fn set_modify_other_keys(&mut self, a0: ansi::ModifyOtherKeys) {
        self.term.set_modify_other_keys(a0);
        self.after();
    }

    fn report_modify_other_keys(&mut self) {
        self.term.report_modify_other_keys();
        self.after();
    }

    fn set_scp(&mut self, a0: ansi::ScpCharPath, a1: ansi::ScpUpdateMode) {
        self.term.set_scp(a0, a1);
        self.after();
    }
}

/// A screen size as alacritty's model takes it.
struct Dims {
    rows: usize,
    cols: usize,
}

impl Dims {
    fn of(size: Size) -> Self {
        Self {
            rows: usize::from(size.rows.max(1)),
            cols: usize::from(size.cols.max(1)),
        }
    }
}

impl Dimensions for Dims {
    fn total_lines(&self) -> usize {
        self.rows
    }

    fn screen_lines(&self) -> usize {
        self.rows
    }

    fn columns(&self) -> usize {
        self.cols
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
    term: Term<VoidListener>,
    parser: ansi::Processor,
    capture: Capture,
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
        let config = Config {
            scrolling_history: HISTORY_ROWS,
            ..Config::default()
        };
        Ok(Self {
            term: Term::new(config, &Dims::of(size), VoidListener),
            parser: ansi::Processor::new(),
            capture: Capture::default(),
            transcript: Transcript::create(transcript_path)?,
            version: 1,
        })
    }

    /// The screen's version: it grows with every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    fn alternate(&self) -> bool {
        self.term.mode().contains(TermMode::ALT_SCREEN)
    }

    /// The screen as styled rows, for remote devices.
    pub fn styled(&self) -> StyledScreen {
        let grid = self.term.grid();
        let size = self.size();
        let rows = (0..grid.screen_lines())
            .map(|r| styled_row(&grid[Line(r as i32)], grid.columns()))
            .collect();
        StyledScreen {
            version: self.version,
            rows,
            cols: size.cols,
            cursor: self.cursor(),
            cursor_visible: self.term.mode().contains(TermMode::SHOW_CURSOR),
            title: self.title().to_string(),
            app_cursor: self.term.mode().contains(TermMode::APP_CURSOR),
        }
    }

    /// Feeds program output through the emulator; lines that scroll off
    /// are appended to the transcript.
    pub fn process(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.capture.scrolled = false;
        let mut emulator = Emulator {
            term: &mut self.term,
            capture: &mut self.capture,
        };
        self.parser.advance(&mut emulator, bytes);
        // A synchronized update (DEC mode 2026) is applied at the end of
        // each chunk rather than held for a later one: nothing would
        // apply it if no more output came.
        if self.parser.sync_timeout().sync_timeout().is_some() {
            self.parser.stop_sync(&mut emulator);
        }
        self.version += 1;
        self.give_back_history_room();
        self.write_done()
    }

    /// The grid keeps the room its history grew (1,000 rows) for the
    /// next scroll; once output stops scrolling the room goes, so an
    /// idle session holds its screen and no more.
    fn give_back_history_room(&mut self) {
        if self.capture.grown && !self.capture.scrolled && !self.alternate() {
            self.term.grid_mut().truncate();
            self.capture.grown = false;
        }
    }

    fn write_done(&mut self) -> io::Result<()> {
        let done = std::mem::take(&mut self.capture.done);
        self.transcript.append(&done)
    }

    /// Appends the primary screen's rows (down to the last one with text)
    /// and any pending wrapped line to the transcript; for when the
    /// program has ended.
    pub fn flush_screen_to_transcript(&mut self) -> io::Result<()> {
        let mut lines = std::mem::take(&mut self.capture.done);
        let partial = std::mem::take(&mut self.capture.partial);
        if !partial.is_empty() {
            lines.push(partial.trim_end().to_string());
        }
        if !self.alternate() {
            let rows = self.rows();
            let keep = rows
                .iter()
                .rposition(|r| !r.is_empty())
                .map_or(0, |i| i + 1);
            lines.extend(rows.into_iter().take(keep));
        }
        self.transcript.append(&lines)
    }

    /// Changes the screen size. Rows that a smaller screen pushes off its
    /// top go to the transcript.
    pub fn resize(&mut self, size: Size) -> io::Result<()> {
        self.term.resize(Dims::of(size));
        self.capture.scrolled = false;
        self.capture.drain(&mut self.term);
        self.version += 1;
        self.give_back_history_room();
        self.write_done()
    }

    /// The current screen size.
    pub fn size(&self) -> Size {
        let grid = self.term.grid();
        Size {
            rows: grid.screen_lines() as u16,
            cols: grid.columns() as u16,
        }
    }

    /// Rows of plain text, trailing blanks trimmed.
    pub fn rows(&self) -> Vec<String> {
        let grid = self.term.grid();
        (0..grid.screen_lines())
            .map(|r| {
                let row = &grid[Line(r as i32)];
                let mut text = String::new();
                for col in 0..grid.columns() {
                    push_cell_text(&mut text, &row[Column(col)]);
                }
                text.truncate(text.trim_end().len());
                text
            })
            .collect()
    }

    /// (row, col) of the cursor.
    pub fn cursor(&self) -> (u16, u16) {
        let point = self.term.grid().cursor.point;
        (point.line.0.max(0) as u16, point.column.0 as u16)
    }

    /// The window title the program set, if any.
    pub fn title(&self) -> &str {
        &self.capture.title
    }

    /// Bytes that repaint the whole screen (contents, attributes, cursor,
    /// input modes) on a real terminal of the same size.
    pub fn redraw(&self) -> Vec<u8> {
        let mut out = String::new();
        // Clear everything first: the attaching terminal shows anything.
        if self.alternate() {
            out.push_str("\x1b[?1049h");
        }
        out.push_str("\x1b[H\x1b[2J");
        let screen = self.styled();
        for (r, row) in screen.rows.iter().enumerate() {
            if row.runs.is_empty() {
                continue;
            }
            out.push_str(&format!("\x1b[{};1H", r + 1));
            for run in &row.runs {
                out.push_str("\x1b[0");
                push_sgr(&mut out, run);
                out.push('m');
                out.push_str(&run.text);
            }
        }
        out.push_str("\x1b[0m");
        let mode = *self.term.mode();
        for (flag, code) in [
            (TermMode::APP_CURSOR, "?1"),
            (TermMode::MOUSE_REPORT_CLICK, "?1000"),
            (TermMode::MOUSE_DRAG, "?1002"),
            (TermMode::MOUSE_MOTION, "?1003"),
            (TermMode::FOCUS_IN_OUT, "?1004"),
            (TermMode::UTF8_MOUSE, "?1005"),
            (TermMode::SGR_MOUSE, "?1006"),
            (TermMode::BRACKETED_PASTE, "?2004"),
        ] {
            if mode.contains(flag) {
                out.push_str(&format!("\x1b[{code}h"));
            }
        }
        if mode.contains(TermMode::APP_KEYPAD) {
            out.push_str("\x1b=");
        }
        let (row, col) = screen.cursor;
        out.push_str(&format!("\x1b[{};{}H", row + 1, col + 1));
        if !screen.cursor_visible {
            out.push_str("\x1b[?25l");
        }
        out.into_bytes()
    }

    /// The transcript.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }
}

/// The SGR parameters (after a reset) that give `run`'s style.
fn push_sgr(out: &mut String, run: &Run) {
    for (on, code) in [
        (run.bold, ";1"),
        (run.italic, ";3"),
        (run.underline, ";4"),
        (run.inverse, ";7"),
    ] {
        if on {
            out.push_str(code);
        }
    }
    for (colour, base) in [(&run.fg, 38), (&run.bg, 48)] {
        let Some(c) = colour else { continue };
        if let Some(hex) = c.strip_prefix('#') {
            let v = u32::from_str_radix(hex, 16).unwrap_or(0);
            out.push_str(&format!(
                ";{base};2;{};{};{}",
                v >> 16,
                (v >> 8) & 0xff,
                v & 0xff
            ));
        } else {
            out.push_str(&format!(";{base};5;{c}"));
        }
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

/// A colour as devices take it: a palette index, `#rrggbb`, or none for
/// the default.
fn colour(c: Color) -> Option<String> {
    match c {
        Color::Named(n) => {
            let i = n as usize;
            (i < 16).then(|| i.to_string())
        }
        Color::Indexed(i) => Some(i.to_string()),
        Color::Spec(rgb) => Some(format!("#{:02x}{:02x}{:02x}", rgb.r, rgb.g, rgb.b)),
    }
}

/// One row as runs of equally styled text; trailing default blanks are
/// dropped.
fn styled_row(row: &GridRow<Cell>, cols: usize) -> Row {
    let mut runs: Vec<Run> = Vec::new();
    for col in 0..cols {
        let cell = &row[Column(col)];
        if cell
            .flags
            .intersects(Flags::WIDE_CHAR_SPACER | Flags::LEADING_WIDE_CHAR_SPACER)
        {
            continue;
        }
        let fg = colour(cell.fg);
        let bg = colour(cell.bg);
        let bold = cell.flags.contains(Flags::BOLD);
        let italic = cell.flags.contains(Flags::ITALIC);
        let underline = cell.flags.intersects(Flags::ALL_UNDERLINES);
        let inverse = cell.flags.contains(Flags::INVERSE);
        match runs.last_mut() {
            Some(last)
                if last.fg == fg
                    && last.bg == bg
                    && last.bold == bold
                    && last.italic == italic
                    && last.underline == underline
                    && last.inverse == inverse =>
            {
                push_cell_text(&mut last.text, cell)
            }
            _ => {
                let mut text = String::new();
                push_cell_text(&mut text, cell);
                runs.push(Run {
                    text,
                    fg,
                    bg,
                    bold,
                    italic,
                    underline,
                    inverse,
                })
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn term(rows: u16, cols: u16) -> (tempfile::TempDir, Terminal) {
        let dir = tempfile::tempdir().unwrap();
        let t = Terminal::new(Size { rows, cols }, &dir.path().join("t.log")).unwrap();
        (dir, t)
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
    fn no_row_is_lost_however_much_one_chunk_scrolls() {
        let (_d, mut t) = term(5, 20);
        // Far more lines than the grid's history holds, in one chunk,
        // with scrolls of whole screens (CSI S) among them.
        let mut chunk = String::new();
        for i in 1..=3 * HISTORY_ROWS {
            chunk.push_str(&format!("L{i}\r\n"));
            if i % 500 == 0 {
                // Four rows with text and the cursor's row go up.
                chunk.push_str("\x1b[99S");
            }
        }
        t.process(chunk.as_bytes()).unwrap();
        t.flush_screen_to_transcript().unwrap();
        let mut got = Vec::new();
        while (got.len() as u64) < t.transcript().len() {
            got.extend(t.transcript().page(got.len() as u64 + 1, 5000).unwrap());
        }
        // The scrolls took whole screens: rows already in the transcript
        // once scrolled, and the blank ones under them.
        let plain: Vec<&String> = got.iter().filter(|l| l.starts_with('L')).collect();
        assert!(plain.len() >= 3 * HISTORY_ROWS, "{} lines", plain.len());
        let mut last = 0;
        for l in &plain {
            let n: usize = l[1..].parse().unwrap();
            assert!(n >= last, "out of order: {n} after {last}");
            last = n;
        }
        assert_eq!(last, 3 * HISTORY_ROWS);
        let distinct: std::collections::BTreeSet<&String> = plain.iter().copied().collect();
        assert_eq!(distinct.len(), 3 * HISTORY_ROWS, "every line is there");
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
