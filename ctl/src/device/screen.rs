//! The device's copy of the session's screen: frames apply on the version
//! they are a difference from ([`rcd_proto::stream::apply`]).

use rcd_proto::ScreenText;
use rcd_proto::stream::{self, Row, ScreenFrame};

/// The device's copy of the session's screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screen {
    pub rows: Vec<Row>,
    /// The version applied last; 0 when there is none to build on (before
    /// the first frame, and after every reconnection).
    pub version: u64,
    pub cols: u16,
    pub cursor: (u16, u16),
    pub cursor_visible: bool,
    pub title: String,
}

/// A difference from a version the device does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseMismatch {
    pub version: u64,
    pub base: u64,
    pub have: u64,
}

impl std::fmt::Display for BaseMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "screen frame {} is a difference from version {}, but this device has {}",
            self.version, self.base, self.have
        )
    }
}

impl Screen {
    /// Applies a frame; a difference from a version other than the one
    /// held changes nothing and is an error.
    pub fn apply(&mut self, frame: &ScreenFrame) -> Result<(), BaseMismatch> {
        if !stream::apply(&mut self.rows, self.version, frame) {
            return Err(BaseMismatch {
                version: frame.version,
                base: frame.base,
                have: self.version,
            });
        }
        self.version = frame.version;
        self.cols = frame.cols;
        self.cursor = frame.cursor;
        self.cursor_visible = frame.cursor_visible;
        self.title.clone_from(&frame.title);
        Ok(())
    }

    /// Keeps the rows (for display) but accepts only a full frame next.
    pub fn forget_version(&mut self) {
        self.version = 0;
    }

    /// As `rcctl screen` shows it: plain rows, trailing blanks trimmed.
    pub fn text(&self) -> ScreenText {
        ScreenText {
            rows: self
                .rows
                .iter()
                .map(|r| r.text().trim_end().to_string())
                .collect(),
            cols: self.cols,
            cursor: self.cursor,
            title: self.title.clone(),
        }
    }
}
