//! Session messages between a device and the daemon, carried opaquely by
//! the relay: each is the JSON of one message in a binary WebSocket
//! message (on the session link behind its client,
//! [`crate::relay::CLIENT_PREFIX`]).
//!
//! - The screen is state, not a byte stream: the daemon sends a frame (the
//!   rows that differ from the version the device last acknowledged, or
//!   every row when it has none) and sends the next one only after the
//!   device acknowledges it. A slow device gets fewer frames, never a
//!   backlog.
//! - Input carries a sequence number per device (`client_id`); the daemon
//!   applies `seq == last + 1` only and acknowledges the last applied, so
//!   a device that resends after a reconnect never types twice.

use crate::control::{SessionInfo, TranscriptPage};
use serde::{Deserialize, Serialize};

/// Device → daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum DeviceMsg {
    /// First message on every (re)connection.
    Hello {
        protocol: u32,
        /// Stable across reconnects of the same device or tab.
        client_id: String,
        /// The terminal this device would drive: what fits its screen
        /// (the web UI: at its readable text size). A device that says
        /// it gets [`DaemonMsg::Size`]; one that does not (older ones)
        /// neither drives the size nor is told of it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<Dims>,
        /// What viewers are told set the size, e.g. "phone (Chrome)".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    /// Keys. `seq` starts at 1 and grows by one per message.
    Input {
        seq: u64,
        #[serde(with = "crate::control::b64")]
        bytes: Vec<u8>,
    },
    /// The device has applied screen `version`.
    Ack {
        version: u64,
    },
    /// Resize the session's terminal now (the user asked); in the
    /// `fixed` mode this is the size kept.
    Resize {
        rows: u16,
        cols: u16,
    },
    /// The device's size changed (its window, its text size): the size
    /// it drives from its next input on, at once if it set the current one.
    Size {
        rows: u16,
        cols: u16,
    },
    /// Who decides the session's size from now on.
    SizeMode {
        mode: SizeMode,
    },
    /// A page of the transcript.
    Transcript {
        from: u64,
        max_lines: u32,
    },
    Ping {
        n: u64,
    },
}

/// Daemon → device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum DaemonMsg {
    /// Answer to [`DeviceMsg::Hello`]: the last input `seq` applied for
    /// this `client_id` (0 if none); the device resends anything later.
    Hello {
        protocol: u32,
        session: Box<SessionInfo>,
        input_seq: u64,
    },
    Screen(ScreenFrame),
    /// Inputs up to `seq` are applied.
    InputAck {
        seq: u64,
    },
    Transcript(TranscriptPage),
    /// The program ended.
    Exited {
        code: i32,
    },
    Pong {
        n: u64,
    },
    /// Something the device asked for cannot be done.
    Error {
        message: String,
    },
    /// The session's size, its mode and who set it: after the hello and
    /// whenever one of them changes, to devices that said their size.
    Size(SizeNote),
}

/// A terminal's rows and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    pub rows: u16,
    pub cols: u16,
}

/// How a session's size is decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeMode {
    /// The size of the client that typed last (tmux's `window-size
    /// latest`): each input of a client of another size resizes first.
    #[default]
    Latest,
    /// The size stays as it is until someone resizes it explicitly.
    Fixed,
}

/// What every viewer is told about the size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeNote {
    pub rows: u16,
    pub cols: u16,
    pub mode: SizeMode,
    /// Who set the size, e.g. "phone (Chrome)", "rcctl attach", or
    /// "the default" before anyone did.
    pub by: String,
    /// How: "typed", "resized", "fixed", "started".
    pub why: String,
    /// The device this note is sent to set the size (two devices may
    /// share a label).
    #[serde(default, skip_serializing_if = "is_false")]
    pub yours: bool,
}

/// One screen update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenFrame {
    pub version: u64,
    /// The version this frame is a difference from; 0 means a full frame
    /// (every row is present).
    pub base: u64,
    pub rows: u16,
    pub cols: u16,
    /// Rows that changed: (row index, its contents).
    pub changed: Vec<(u16, Row)>,
    /// (row, column), 0-based.
    pub cursor: (u16, u16),
    pub cursor_visible: bool,
    pub title: String,
    /// The program asked for application cursor keys (DECCKM): arrows
    /// are then sent as `ESC O A` rather than `ESC [ A`.
    #[serde(default)]
    pub app_cursor: bool,
    /// The program asked for bracketed paste (DECSET 2004): a device
    /// wraps what it pastes in `ESC [200~` … `ESC [201~`. Absent (false)
    /// from older daemons.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bracketed_paste: bool,
    /// More parts of this screen follow: the frame was too large for one
    /// message, so the daemon sends it as a chain of differences, each on
    /// the version of the one before (docs/PROTOCOL.md). A device applies
    /// and acknowledges a part like any frame; it may wait for the part
    /// without `partial` before it shows the screen. Absent (false) from
    /// older daemons, and ignored by older devices, which then show the
    /// screen part by part.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partial: bool,
}

/// The largest terminal a device may ask for (`resize`): larger sizes are
/// clamped to it. 200 rows of 500 columns is more than a 4K display shows
/// at a readable font, and keeps a screen of 100,000 cells, whose styled
/// frame (about 100 bytes a cell at worst) is a few parts at most.
pub const MAX_FRAME_ROWS: u16 = 200;
/// See [`MAX_FRAME_ROWS`].
pub const MAX_FRAME_COLS: u16 = 500;

/// A row as runs of equally styled text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub runs: Vec<Run>,
}

impl Row {
    /// The row's text without style.
    pub fn text(&self) -> String {
        self.runs.iter().map(|r| r.text.as_str()).collect()
    }
}

/// Text with one style. Colours are `None` (default), `"0"`..`"255"`
/// (palette index) or `"#rrggbb"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bg: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub bold: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub italic: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub underline: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub inverse: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Applies `frame` to `screen` (rows of the device's copy). Returns false
/// when the frame is a difference from a version the device does not
/// have, in which case nothing is changed.
pub fn apply(screen: &mut Vec<Row>, have: u64, frame: &ScreenFrame) -> bool {
    if frame.base != 0 && frame.base != have {
        return false;
    }
    screen.resize(frame.rows as usize, Row::default());
    if frame.base == 0 {
        screen.iter_mut().for_each(|r| *r = Row::default());
    }
    for (i, row) in &frame.changed {
        if let Some(slot) = screen.get_mut(*i as usize) {
            *slot = row.clone();
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str) -> Row {
        Row {
            runs: vec![Run {
                text: s.into(),
                ..Run::default()
            }],
        }
    }

    #[test]
    fn diffs_apply_only_on_their_base() {
        let mut screen = Vec::new();
        let full = ScreenFrame {
            version: 1,
            base: 0,
            rows: 2,
            cols: 10,
            changed: vec![(0, row("a")), (1, row("b"))],
            cursor: (0, 0),
            cursor_visible: true,
            title: String::new(),
            app_cursor: false,
            bracketed_paste: false,
            partial: false,
        };
        assert!(apply(&mut screen, 0, &full));
        let diff = ScreenFrame {
            version: 2,
            base: 1,
            changed: vec![(1, row("c"))],
            ..full.clone()
        };
        assert!(!apply(&mut screen, 0, &diff), "wrong base is refused");
        assert!(apply(&mut screen, 1, &diff));
        assert_eq!(screen.iter().map(Row::text).collect::<Vec<_>>(), ["a", "c"]);
    }

    #[test]
    fn messages_roundtrip() {
        let m = DeviceMsg::Input {
            seq: 7,
            bytes: vec![3, 27, b'a'],
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<DeviceMsg>(&s).unwrap(), m);
        let r = Run {
            text: "x".into(),
            fg: Some("#ff0000".into()),
            ..Run::default()
        };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(s, r##"{"text":"x","fg":"#ff0000"}"##);
    }
}
