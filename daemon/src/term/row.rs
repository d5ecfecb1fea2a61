//! A row of cells, allocated only once something is written in it.

use super::cell::{Attrs, Cell, WIDE, WIDE_CONT};
use unicode_width::UnicodeWidthStr as _;

/// Longest text of one cell (a character and its combining marks), in
/// bytes: marks past it are dropped.
const MAX_CELL_BYTES: usize = 18;

/// Cells past `cells.len()` are [`Cell::DEFAULT`]; a blank row holds an
/// empty `Vec`, and its capacity never passes the screen's width.
#[derive(Debug, Default, Clone)]
pub struct Row {
    cells: Vec<Cell>,
    /// Texts of cells with [`super::cell::EXTRA`] (combining marks): rare, so kept
    /// here rather than making every cell bigger.
    extra: Vec<String>,
    wrapped: bool,
}

impl Row {
    pub fn cell(&self, col: u16) -> Cell {
        self.cells
            .get(usize::from(col))
            .copied()
            .unwrap_or(Cell::DEFAULT)
    }

    /// The cell at `col`, storing cells up to it.
    pub fn cell_mut(&mut self, col: u16, cols: u16) -> &mut Cell {
        let i = usize::from(col);
        if i >= self.cells.len() {
            if self.cells.capacity() <= i {
                self.reserve_for(i, cols);
            }
            self.cells.resize(i + 1, Cell::DEFAULT);
        }
        &mut self.cells[i]
    }

    /// Writes `cell` (printable ASCII) at `col` when nothing but that
    /// one cell changes: neither it nor the cell before it is half of a
    /// wide character. False, with nothing written, otherwise.
    #[inline]
    pub fn put_plain(&mut self, col: u16, cols: u16, cell: Cell) -> bool {
        let i = usize::from(col);
        let len = self.cells.len();
        if i < len {
            if self.cells[i].is_wide() || (i > 0 && self.cells[i - 1].is_wide()) {
                return false;
            }
            self.cells[i] = cell;
            return true;
        }
        // At or past the stored end: the cell before is stored and plain,
        // or default.
        if i == len && i > 0 && self.cells[i - 1].is_wide() {
            return false;
        }
        if self.cells.capacity() <= i {
            self.reserve_for(i, cols);
        }
        if i > len {
            self.cells.resize(i, Cell::DEFAULT);
        }
        self.cells.push(cell);
        true
    }

    /// Writes the printable ASCII `text` from `col` on (it fits the row),
    /// as [`Row::put_plain`] would one character at a time: up to the
    /// first cell that is half of a wide character. How many it wrote.
    pub fn put_plain_run(&mut self, col: u16, cols: u16, text: &[u8], attrs: Attrs) -> usize {
        let start = usize::from(col);
        let len = self.cells.len();
        if start > 0 && start <= len && self.cells[start - 1].is_wide() {
            return 0;
        }
        let stored = &self.cells[start.min(len)..(start + text.len()).min(len)];
        let n = stored
            .iter()
            .position(|c| c.is_wide())
            .unwrap_or(text.len());
        if n == 0 {
            return 0;
        }
        let end = start + n;
        if end > len {
            if self.cells.capacity() < end {
                self.reserve_for(end - 1, cols);
            }
            self.cells.resize(end, Cell::DEFAULT);
        }
        for (cell, &b) in self.cells[start..end].iter_mut().zip(text) {
            *cell = Cell::with_char(char::from(b), attrs, false);
        }
        n
    }

    /// Room for the cells up to `i`: the whole row's width at once.
    #[cold]
    fn reserve_for(&mut self, i: usize, cols: u16) {
        let want = usize::from(cols).max(i + 1);
        self.cells.reserve_exact(want - self.cells.len());
    }

    /// The stored cells (the rest of the row is default).
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn wrapped(&self) -> bool {
        self.wrapped
    }

    pub fn set_wrapped(&mut self, wrapped: bool) {
        self.wrapped = wrapped;
    }

    /// Bytes held on the heap (for the memory tests).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.cells.capacity() * std::mem::size_of::<Cell>()
            + self.extra.iter().map(String::capacity).sum::<usize>()
            + self.extra.capacity() * std::mem::size_of::<String>()
    }

    /// Appends the text of `cell` (one of this row's) to `out`; false
    /// for an empty cell.
    pub fn push_text(&self, cell: Cell, out: &mut String) -> bool {
        if let Some(i) = cell.extra() {
            out.push_str(&self.extra[i]);
            true
        } else if let Some(c) = cell.char() {
            out.push(c);
            true
        } else {
            false
        }
    }

    /// Empties the row, keeping its allocation for the next use (a row
    /// scrolled off becomes the new bottom row).
    pub fn reset(&mut self) {
        self.cells.clear();
        self.extra.clear();
        self.wrapped = false;
    }

    /// Every cell emptied with `attrs`; a row cleared to the defaults
    /// gives its memory back.
    pub fn clear(&mut self, attrs: Attrs, cols: u16) {
        self.wrapped = false;
        self.extra = Vec::new();
        if attrs == Attrs::default() {
            self.cells = Vec::new();
        } else {
            self.cells.clear();
            self.cells.resize(usize::from(cols), Cell::blank(attrs));
        }
    }

    /// Drops trailing default cells, and the allocation with them when
    /// none is left.
    fn trim(&mut self) {
        while self.cells.last() == Some(&Cell::DEFAULT) {
            self.cells.pop();
        }
        if self.cells.is_empty() {
            self.cells = Vec::new();
            self.extra = Vec::new();
        }
    }

    /// Stores every cell of the row (for the operations that move cells).
    fn fill_out(&mut self, cols: u16) {
        if self.cells.len() < usize::from(cols) {
            self.cell_mut(cols - 1, cols);
        }
    }

    /// Sets the text of the cell at `col` to `text` (several characters).
    pub fn set_text(&mut self, col: u16, cols: u16, text: &str, attrs: Attrs, wide: bool) {
        self.compact_extra(cols);
        let index = self.extra.len();
        self.extra.push(text.to_string());
        let cell = self.cell_mut(col, cols);
        *cell = Cell::with_char(' ', attrs, wide);
        cell.set_extra(index);
    }

    /// Adds a combining character to the cell at `col`, as vt100 did: an
    /// empty cell gets a space first, and a variation selector may make
    /// the cell wide.
    pub fn append(&mut self, col: u16, cols: u16, c: char) {
        let cell = self.cell(col);
        let mut text = String::new();
        if !self.push_text(cell, &mut text) {
            text.push(' ');
        }
        if text.len() >= MAX_CELL_BYTES {
            return;
        }
        text.push(c);
        let mut wide = cell.is_wide();
        if c == '\u{fe0f}' {
            wide = text.width() > 1;
        }
        match cell.extra() {
            Some(i) => {
                self.extra[i] = text;
                self.cells[usize::from(col)].set_flag(WIDE, wide);
            }
            None => {
                let flags = cell.has(WIDE_CONT);
                self.set_text(col, cols, &text, cell.attrs(), wide);
                self.cells[usize::from(col)].set_flag(WIDE_CONT, flags);
            }
        }
    }

    /// Keeps the side table within one entry per column: entries of
    /// cells overwritten since are dropped.
    fn compact_extra(&mut self, cols: u16) {
        if self.extra.len() < usize::from(cols).max(8) {
            return;
        }
        let old = std::mem::take(&mut self.extra);
        let mut old: Vec<Option<String>> = old.into_iter().map(Some).collect();
        for cell in &mut self.cells {
            if let Some(i) = cell.extra() {
                let index = self.extra.len();
                self.extra.push(old[i].take().unwrap_or_default());
                cell.set_extra(index);
            }
        }
    }

    /// The text of the cell at `col`, if it has any.
    pub fn text_of(&self, col: u16) -> Option<String> {
        let cell = self.cell(col);
        let mut s = String::new();
        self.push_text(cell, &mut s).then_some(s)
    }

    /// Empties the other half of a wide character at `col`.
    pub fn clear_wide(&mut self, col: u16, cols: u16) {
        let cell = self.cell(col);
        let other = if cell.is_wide() {
            if col + 1 >= cols {
                let c = self.cell_mut(col, cols);
                *c = c.cleared();
                return;
            }
            col + 1
        } else if let Some(before) = col.checked_sub(1).filter(|_| cell.is_wide_continuation()) {
            before
        } else {
            return;
        };
        if usize::from(other) < self.cells.len() {
            let c = &mut self.cells[usize::from(other)];
            *c = c.cleared();
        }
    }

    /// Erases the cells `start..end` with `attrs` (EL, ECH, ED).
    pub fn erase(&mut self, start: u16, end: u16, attrs: Attrs, cols: u16) {
        let default = attrs == Attrs::default();
        for col in start..end {
            let wide = self.cell(col).is_wide();
            self.clear_wide(col, cols);
            if !default || usize::from(col) < self.cells.len() {
                *self.cell_mut(col, cols) = Cell::blank(attrs);
            }
            if col == cols.saturating_sub(if wide { 2 } else { 1 }) {
                self.wrapped = false;
            }
        }
        if default {
            self.trim();
        }
    }

    /// Inserts `count` blank cells at `col` (ICH), as vt100 did.
    pub fn insert(&mut self, col: u16, count: u16, cols: u16) {
        let count = usize::from(count).min(usize::from(cols) - usize::from(col));
        if count == 0 {
            self.wrapped = false;
            return;
        }
        self.fill_out(cols);
        let i = usize::from(col);
        let continuation = self.cells[i].is_wide_continuation();
        self.cells[i].set_flag(WIDE_CONT, false);
        let slice = &mut self.cells[i..];
        slice.rotate_right(count);
        slice[..count].fill(Cell::DEFAULT);
        if continuation {
            self.cells[i].set_flag(WIDE_CONT, true);
        }
        self.set_truncated();
        self.trim();
    }

    /// Deletes the cells `start..end` (DCH), the rest moving left.
    pub fn remove(&mut self, start: u16, end: u16, cols: u16) {
        self.wrapped = false;
        if start >= end {
            return;
        }
        self.clear_wide(start, cols);
        if end - 1 != start {
            self.clear_wide(end - 1, cols);
        }
        self.fill_out(cols);
        let count = usize::from(end - start);
        let slice = &mut self.cells[usize::from(start)..];
        slice[..count].fill(Cell::DEFAULT);
        slice.rotate_left(count);
        self.trim();
    }

    /// After the row lost its end: not wrapped, and no half of a wide
    /// character left at the end.
    fn set_truncated(&mut self) {
        self.wrapped = false;
        if let Some(last) = self.cells.last_mut()
            && last.is_wide()
        {
            *last = last.cleared();
        }
    }

    /// A new width (resize): vt100 rows lose their wrap flag either way.
    pub fn resize(&mut self, old_cols: u16, cols: u16) {
        if cols == old_cols {
            return;
        }
        self.wrapped = false;
        if cols < old_cols {
            if self.cells.len() > usize::from(cols) {
                self.cells.truncate(usize::from(cols));
                self.set_truncated();
                self.trim();
            } else if self.cells.len() == usize::from(cols) {
                self.set_truncated();
            }
            self.cells.shrink_to(usize::from(cols));
        }
    }
}
