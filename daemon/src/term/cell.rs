//! One cell of the screen in 12 bytes: the character and its flags in one
//! word, the two colours packed in one word each.

/// A colour as programs set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Color {
    #[default]
    Default,
    Idx(u8),
    Rgb(u8, u8, u8),
}

/// A packed [`Color`]: 0 is the default, bit 24 marks an index in the low
/// byte, bit 25 a 24-bit colour in the low three bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Packed(u32);

const INDEXED: u32 = 1 << 24;
const RGB: u32 = 1 << 25;

impl Packed {
    pub const DEFAULT: Self = Self(0);

    pub fn new(c: Color) -> Self {
        match c {
            Color::Default => Self(0),
            Color::Idx(i) => Self(INDEXED | u32::from(i)),
            Color::Rgb(r, g, b) => {
                Self(RGB | (u32::from(r) << 16) | (u32::from(g) << 8) | u32::from(b))
            }
        }
    }

    pub fn get(self) -> Color {
        let [_, r, g, b] = self.0.to_be_bytes();
        if self.0 & RGB != 0 {
            Color::Rgb(r, g, b)
        } else if self.0 & INDEXED != 0 {
            Color::Idx(b)
        } else {
            Color::Default
        }
    }
}

// The word of a cell: the character (21 bits; 0 for an empty cell) or,
// with `EXTRA`, the index of its text in the row's side table; then the
// flags.
const CHAR_BITS: u32 = (1 << 21) - 1;
/// The cell's text is in its row's side table (a character with
/// combining marks).
pub const EXTRA: u32 = 1 << 21;
/// The first half of a character two columns wide.
pub const WIDE: u32 = 1 << 22;
/// The second half of a wide character: no text of its own.
pub const WIDE_CONT: u32 = 1 << 23;
pub const BOLD: u32 = 1 << 24;
pub const DIM: u32 = 1 << 25;
pub const ITALIC: u32 = 1 << 26;
pub const UNDERLINE: u32 = 1 << 27;
pub const INVERSE: u32 = 1 << 28;
/// The flags that are drawing attributes.
pub const STYLE: u32 = BOLD | DIM | ITALIC | UNDERLINE | INVERSE;

/// The drawing attributes programs set with SGR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attrs {
    pub fg: Packed,
    pub bg: Packed,
    /// Only [`STYLE`] bits.
    pub flags: u32,
}

impl Attrs {
    pub fn set(&mut self, flag: u32, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cell {
    word: u32,
    fg: Packed,
    bg: Packed,
}

const _: () = assert!(std::mem::size_of::<Cell>() == 12);

impl Cell {
    /// An empty cell with default attributes: what a row holds beyond its
    /// stored cells.
    pub const DEFAULT: Self = Self {
        word: 0,
        fg: Packed::DEFAULT,
        bg: Packed::DEFAULT,
    };

    /// `c` drawn with `attrs`, wide if `wide`.
    pub fn with_char(c: char, attrs: Attrs, wide: bool) -> Self {
        Self {
            word: u32::from(c) | attrs.flags | if wide { WIDE } else { 0 },
            fg: attrs.fg,
            bg: attrs.bg,
        }
    }

    /// An empty cell with `attrs`.
    pub fn blank(attrs: Attrs) -> Self {
        Self {
            word: attrs.flags,
            fg: attrs.fg,
            bg: attrs.bg,
        }
    }

    pub fn attrs(self) -> Attrs {
        Attrs {
            fg: self.fg,
            bg: self.bg,
            flags: self.word & STYLE,
        }
    }

    /// The same cell emptied, its attributes kept.
    pub fn cleared(self) -> Self {
        Self::blank(self.attrs())
    }

    pub fn has(self, flag: u32) -> bool {
        self.word & flag != 0
    }

    pub fn set_flag(&mut self, flag: u32, on: bool) {
        if on {
            self.word |= flag;
        } else {
            self.word &= !flag;
        }
    }

    pub fn is_wide(self) -> bool {
        self.has(WIDE)
    }

    pub fn is_wide_continuation(self) -> bool {
        self.has(WIDE_CONT)
    }

    pub fn has_contents(self) -> bool {
        self.word & (CHAR_BITS | EXTRA) != 0
    }

    /// The character, for a cell holding one ASCII character that is
    /// not half of a wide one: the common cell, read without decoding.
    #[inline]
    pub fn ascii(self) -> Option<u8> {
        let c = self.word & (CHAR_BITS | EXTRA | WIDE | WIDE_CONT);
        (1..0x80).contains(&c).then_some(c as u8)
    }

    /// The character, for a cell whose text is one character.
    pub fn char(self) -> Option<char> {
        if self.has(EXTRA) {
            return None;
        }
        char::from_u32(self.word & CHAR_BITS).filter(|&c| c != '\0')
    }

    /// The side-table index of a cell with [`EXTRA`].
    pub fn extra(self) -> Option<usize> {
        self.has(EXTRA).then_some((self.word & CHAR_BITS) as usize)
    }

    /// Points the cell at entry `index` of its row's side table.
    pub fn set_extra(&mut self, index: usize) {
        self.word = (self.word & !CHAR_BITS) | EXTRA | ((index as u32) & CHAR_BITS);
    }

    pub fn fg(self) -> Color {
        self.fg.get()
    }

    pub fn bg(self) -> Color {
        self.bg.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_flags_survive_packing() {
        for c in [
            Color::Default,
            Color::Idx(0),
            Color::Idx(255),
            Color::Rgb(0, 0, 0),
            Color::Rgb(1, 2, 3),
            Color::Rgb(255, 255, 255),
        ] {
            assert_eq!(Packed::new(c).get(), c);
        }
        let attrs = Attrs {
            fg: Packed::new(Color::Idx(1)),
            bg: Packed::new(Color::Rgb(9, 8, 7)),
            flags: BOLD | INVERSE,
        };
        let cell = Cell::with_char('\u{10FFFF}', attrs, true);
        assert_eq!(cell.char(), Some('\u{10FFFF}'));
        assert!(cell.is_wide() && !cell.is_wide_continuation());
        assert_eq!(cell.attrs(), attrs);
        assert_eq!(cell.cleared(), Cell::blank(attrs));
        assert!(!cell.cleared().has_contents());
    }
}
