//! The rows of one screen (primary or alternate), its cursor and its
//! scroll region. The cursor's column may equal the width: the
//! pending-wrap state after a character was written in the last column.

use super::capture::Capture;
use super::cell::Attrs;
use super::row::Row;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub row: u16,
    pub col: u16,
}

#[derive(Debug)]
pub struct Grid {
    pub rows: Vec<Row>,
    pub height: u16,
    pub width: u16,
    pub pos: Pos,
    saved_pos: Pos,
    saved_origin: bool,
    pub top: u16,
    pub bottom: u16,
    pub origin: bool,
}

impl Grid {
    pub fn new(height: u16, width: u16) -> Self {
        Self {
            rows: (0..height).map(|_| Row::default()).collect(),
            height,
            width,
            pos: Pos::default(),
            saved_pos: Pos::default(),
            saved_origin: false,
            top: 0,
            bottom: height - 1,
            origin: false,
        }
    }

    pub fn row_mut(&mut self) -> &mut Row {
        &mut self.rows[usize::from(self.pos.row)]
    }

    /// Heap bytes of the rows (for the memory tests).
    #[cfg(test)]
    pub fn heap_bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<Row>()
            + self.rows.iter().map(Row::heap_bytes).sum::<usize>()
    }

    pub fn save_cursor(&mut self) {
        self.saved_pos = self.pos;
        self.saved_origin = self.origin;
    }

    pub fn restore_cursor(&mut self) {
        self.pos = self.saved_pos;
        self.origin = self.saved_origin;
    }

    fn in_region(&self) -> bool {
        (self.top..=self.bottom).contains(&self.pos.row)
    }

    fn clamp_top(&mut self, to_region: bool) -> u16 {
        if to_region && self.pos.row < self.top {
            let n = self.top - self.pos.row;
            self.pos.row = self.top;
            n
        } else {
            0
        }
    }

    fn clamp_bottom(&mut self, to_region: bool) -> u16 {
        let bottom = if to_region {
            self.bottom
        } else {
            self.height - 1
        };
        if self.pos.row > bottom {
            let n = self.pos.row - bottom;
            self.pos.row = bottom;
            n
        } else {
            0
        }
    }

    pub fn clamp_col(&mut self) {
        self.pos.col = self.pos.col.min(self.width - 1);
    }

    /// CUP: 0-based, relative to the region's top in origin mode.
    pub fn set_pos(&mut self, mut pos: Pos) {
        if self.origin {
            pos.row = pos.row.saturating_add(self.top);
        }
        self.pos = pos;
        self.clamp_top(self.origin);
        self.clamp_bottom(self.origin);
        self.clamp_col();
    }

    pub fn set_origin(&mut self, on: bool) {
        self.origin = on;
        self.set_pos(Pos::default());
    }

    /// DECSTBM (0-based); a region of one row or less is the whole screen.
    pub fn set_region(&mut self, top: u16, bottom: u16) {
        let bottom = bottom.min(self.height - 1);
        if top < bottom {
            self.top = top;
            self.bottom = bottom;
        } else {
            self.top = 0;
            self.bottom = self.height - 1;
        }
        self.pos = Pos {
            row: self.top,
            col: 0,
        };
    }

    pub fn row_set(&mut self, row: u16) {
        self.pos.row = row.min(self.height - 1);
    }

    pub fn up(&mut self, n: u16) {
        let region = self.in_region();
        self.pos.row = self.pos.row.saturating_sub(n);
        self.clamp_top(region);
    }

    pub fn down(&mut self, n: u16) {
        let region = self.in_region();
        self.pos.row = self.pos.row.saturating_add(n);
        self.clamp_bottom(region);
    }

    /// Down one row, scrolling the region at its bottom (LF); how many
    /// rows scrolled.
    pub fn line_feed(&mut self, capture: Option<&mut Capture>) -> u16 {
        let region = self.in_region();
        self.pos.row = self.pos.row.saturating_add(1);
        let n = self.clamp_bottom(region);
        if region {
            self.scroll_up(n, capture);
            n
        } else {
            0
        }
    }

    /// RI, as vt100 did it: at the screen's first row the region scrolls
    /// down even when the cursor is above it.
    pub fn reverse_index(&mut self) {
        let region = self.in_region();
        let extra = 1u16.saturating_sub(self.pos.row);
        self.pos.row = self.pos.row.saturating_sub(1);
        let n = self.clamp_top(region);
        self.scroll_down(n + extra);
    }

    /// Moves to the next row's start for a character of `width` that does
    /// not fit, marking the row as continued when `wrap`; how many rows
    /// scrolled.
    pub fn wrap(&mut self, width: u16, wrap: bool, capture: Option<&mut Capture>) -> u16 {
        if self.pos.col + width <= self.width {
            return 0;
        }
        let mut prev = self.pos;
        self.pos.col = 0;
        let scrolled = self.line_feed(capture);
        if prev.row == 0 && scrolled > 0 {
            return scrolled;
        }
        prev.row -= scrolled;
        let joined = wrap && prev.row + 1 == self.pos.row;
        self.rows[usize::from(prev.row)].set_wrapped(joined);
        scrolled
    }

    /// SU and scrolling at the region's bottom: rows leaving the top of
    /// the screen go to `capture`.
    pub fn scroll_up(&mut self, count: u16, mut capture: Option<&mut Capture>) {
        let (top, bottom) = (usize::from(self.top), usize::from(self.bottom));
        let n = usize::from(count).min(bottom - top + 1);
        if n == 0 {
            return;
        }
        for row in &mut self.rows[top..top + n] {
            if top == 0
                && let Some(c) = capture.as_deref_mut()
            {
                c.take_row(row);
            }
            row.reset();
        }
        self.rows[top..=bottom].rotate_left(n);
    }

    /// SD and RI at the region's top.
    pub fn scroll_down(&mut self, count: u16) {
        let (top, bottom) = (usize::from(self.top), usize::from(self.bottom));
        let n = usize::from(count).min(bottom - top + 1);
        if n == 0 {
            return;
        }
        let region = &mut self.rows[top..=bottom];
        region.rotate_right(n);
        for row in &mut region[..n] {
            row.reset();
        }
        self.rows[bottom].set_wrapped(false);
    }

    /// IL: blank rows at the cursor, the region's bottom ones dropped.
    pub fn insert_lines(&mut self, count: u16) {
        if count == 0 || !self.in_region() {
            return;
        }
        let (row, bottom) = (usize::from(self.pos.row), usize::from(self.bottom));
        let region = &mut self.rows[row..=bottom];
        let n = usize::from(count).min(region.len());
        region.rotate_right(n);
        for r in &mut region[..n] {
            r.reset();
        }
        self.rows[bottom].set_wrapped(false);
    }

    /// DL: the cursor's rows removed, blank ones at the region's bottom.
    pub fn delete_lines(&mut self, count: u16) {
        if !self.in_region() {
            return;
        }
        let (row, bottom) = (usize::from(self.pos.row), usize::from(self.bottom));
        let region = &mut self.rows[row..=bottom];
        let n = usize::from(count).min(region.len());
        for r in &mut region[..n] {
            r.reset();
        }
        region.rotate_left(n);
    }

    /// ED 0, 1 and 2.
    pub fn erase_display(&mut self, mode: u16, attrs: Attrs) {
        let (w, row) = (self.width, usize::from(self.pos.row));
        match mode {
            0 => {
                for r in &mut self.rows[row + 1..] {
                    r.clear(attrs, w);
                }
                self.erase_line(0, attrs);
            }
            1 => {
                for r in &mut self.rows[..row] {
                    r.clear(attrs, w);
                }
                self.erase_line(1, attrs);
            }
            2 => {
                for r in &mut self.rows {
                    r.clear(attrs, w);
                }
            }
            _ => {}
        }
    }

    /// EL 0, 1 and 2.
    pub fn erase_line(&mut self, mode: u16, attrs: Attrs) {
        let (w, col) = (self.width, self.pos.col);
        match mode {
            0 => self.row_mut().erase(col, w, attrs, w),
            1 => self.row_mut().erase(0, col.min(w - 1) + 1, attrs, w),
            2 => self.row_mut().clear(attrs, w),
            _ => {}
        }
    }

    /// A new size, as vt100 did it: the region reset, rows kept from the
    /// top, except that a shrink pushes rows off the top (to `capture`)
    /// as far as needed to keep the cursor's row on the screen. Growing
    /// adds blank rows at the bottom.
    pub fn resize(&mut self, height: u16, width: u16, capture: Option<&mut Capture>) {
        if (height, width) == (self.height, self.width) {
            return;
        }
        self.top = 0;
        self.bottom = self.height - 1;
        let mut pushed = 0;
        if height < self.height {
            let below = self.height - self.pos.row - 1;
            pushed = (self.height - height).saturating_sub(below);
            self.scroll_up(pushed, capture);
            self.rows.truncate(usize::from(height));
        } else {
            self.rows.resize_with(usize::from(height), Row::default);
        }
        if let Some(last) = self.rows.last_mut() {
            last.set_wrapped(false);
        }
        for row in &mut self.rows {
            row.resize(self.width, width);
        }
        self.rows.shrink_to_fit();
        self.pos.row = self.pos.row.saturating_sub(pushed);
        self.saved_pos.row = self.saved_pos.row.saturating_sub(pushed).min(height - 1);
        self.pos.col = self.pos.col.min(width - 1);
        self.saved_pos.col = self.saved_pos.col.min(width - 1);
        self.height = height;
        self.width = width;
        self.bottom = height - 1;
    }
}
