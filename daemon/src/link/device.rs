//! The daemon's half of the session protocol with one device, without
//! I/O: what the device said (its hello, its acknowledgements) and what
//! it must be sent next. [`super::stream`] feeds it the device's messages
//! and the session's events and sends what it returns.
//!
//! Screens are ack-paced: a new frame goes out only when nothing is in
//! flight, as the rows that differ from the version the device
//! acknowledged (every row for a device that has none), so a slow device
//! gets fewer frames, never a backlog.
//!
//! A frame too large for one message ([`FRAME_BUDGET`]) goes as a chain of
//! parts: the first rows that fit, as a frame to an intermediate screen
//! (those rows new, the others as the device had them) with a version of
//! its own ([`PART_VERSIONS`]) and `partial` set; once acknowledged, that
//! screen is the base of the next frame, which brings the rest.

use crate::pty::Size;
use crate::session::SessionGone;
use crate::sizing::Sizing;
use crate::term::StyledScreen;
use rcd_proto::relay::CLIENT_PREFIX;
use rcd_proto::relay::RELAY_PROTOCOL_VERSION;
use rcd_proto::stream::{DaemonMsg, Dims, Row, ScreenFrame};
use rcd_proto::{SessionInfo, TranscriptPage};

/// The most JSON a session message may take on the link: the relay's
/// limit per WebSocket message less the client in front of it.
pub const FRAME_BUDGET: usize = rcd_net::MAX_WS_MESSAGE - CLIENT_PREFIX;

/// Versions of intermediate screens (parts of a frame) start here, far
/// above any version a session's screen reaches (it grows by one per
/// change) and below 2^53, so JavaScript reads them exactly.
pub const PART_VERSIONS: u64 = 1 << 52;

/// What the link knows about one attached device.
#[derive(Debug, Default)]
pub struct Device {
    /// Set by its hello; its inputs are numbered per client id.
    client_id: Option<String>,
    acked: Option<StyledScreen>,
    inflight: Option<StyledScreen>,
    exited_sent: bool,
    /// Intermediate screens made so far, which numbers the next.
    parts: u64,
    /// The size it would drive, from its hello or its last `size`; a
    /// device that said none (an older one) does not drive the size and
    /// is not sent [`DaemonMsg::Size`].
    size: Option<Size>,
    /// What viewers are told set the size when it does.
    label: Option<String>,
}

impl Device {
    /// A device that has not said hello yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The client id from its hello, which its inputs need.
    pub fn client_id(&self) -> Result<&str, DaemonMsg> {
        self.client_id.as_deref().ok_or_else(|| DaemonMsg::Error {
            message: "say hello first".into(),
        })
    }

    /// What its hello says of its terminal, before [`Device::hello`].
    pub fn describe(&mut self, size: Option<Dims>, label: Option<String>) {
        self.size = size.map(|d| Size::clamped(d.rows, d.cols));
        self.label = label.map(|l| l.chars().filter(|c| !c.is_control()).take(60).collect());
    }

    /// Its new size (its `size` message), if it drives sizes at all.
    pub fn moved(&mut self, d: Dims) -> Option<Size> {
        let size = Size::clamped(d.rows, d.cols);
        self.size.replace(size).map(|_| size)
    }

    /// The size it would drive, or None.
    pub fn size(&self) -> Option<Size> {
        self.size
    }

    /// How viewers are told of it.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or("a device")
    }

    /// The size's note for this device, if it said hello with a size
    /// (older devices would not understand it).
    pub fn size_note(&self, sizing: &Sizing) -> Option<DaemonMsg> {
        (self.client_id.is_some() && self.size.is_some())
            .then(|| DaemonMsg::Size(sizing.note_for(self.client_id.as_deref())))
    }

    /// Its hello, and what to answer: a version it does not share is an
    /// error; otherwise the hello with the last input applied for its
    /// `client_id`, a full frame, and the exit if the program has ended.
    /// A hello again (after the device reconnected) starts over.
    pub fn hello(
        &mut self,
        protocol: u32,
        client_id: String,
        input_seq: u64,
        session: SessionInfo,
        exited: Option<i32>,
        now: impl FnOnce() -> StyledScreen,
    ) -> Vec<DaemonMsg> {
        if protocol != RELAY_PROTOCOL_VERSION {
            let message = format!(
                "this device speaks session protocol {protocol}, rcd {} speaks {}: \
                 update the older one",
                rcd_proto::PACKAGE_VERSION,
                RELAY_PROTOCOL_VERSION
            );
            return vec![DaemonMsg::Error { message }];
        }
        self.client_id = Some(client_id);
        self.acked = None;
        self.inflight = None;
        let mut out = vec![DaemonMsg::Hello {
            protocol: RELAY_PROTOCOL_VERSION,
            session: Box::new(session),
            input_seq,
        }];
        out.extend(self.next_frame(now));
        if let Some(code) = exited {
            out.push(DaemonMsg::Exited { code });
            self.exited_sent = true;
        }
        out
    }

    /// The next frame, if the device should get one: it said hello,
    /// nothing is in flight, and the screen moved on from what it
    /// acknowledged. The frame is then in flight.
    pub fn next_frame(&mut self, now: impl FnOnce() -> StyledScreen) -> Option<DaemonMsg> {
        if self.client_id.is_none() || self.inflight.is_some() {
            return None;
        }
        let now = now();
        if self
            .acked
            .as_ref()
            .is_some_and(|a| a.version == now.version)
        {
            return None;
        }
        let f = frame(self.acked.as_ref(), &now);
        if encoded_bound(&f) <= FRAME_BUDGET {
            self.inflight = Some(now);
            return Some(DaemonMsg::Screen(f));
        }
        self.parts += 1;
        let (part, screen) = first_part(f, self.acked.as_ref(), &now, PART_VERSIONS + self.parts);
        self.inflight = Some(screen);
        Some(DaemonMsg::Screen(part))
    }

    /// Its acknowledgement of `version`: when that is the frame in flight
    /// it becomes the base of the next, which may go at once.
    pub fn ack(&mut self, version: u64, now: impl FnOnce() -> StyledScreen) -> Option<DaemonMsg> {
        if self.inflight.as_ref().is_none_or(|f| f.version != version) {
            return None;
        }
        self.acked = self.inflight.take();
        self.next_frame(now)
    }

    /// The program ended: the last screen, then the exit, once.
    pub fn exited(&mut self, code: i32, now: impl FnOnce() -> StyledScreen) -> Vec<DaemonMsg> {
        let mut out: Vec<DaemonMsg> = self.next_frame(now).into_iter().collect();
        if self.client_id.is_some() && !self.exited_sent {
            out.push(DaemonMsg::Exited { code });
            self.exited_sent = true;
        }
        out
    }
}

/// The answer to an input: the last sequence number applied, or the
/// refusal of a program that has ended.
pub fn input_answer(applied: Result<u64, SessionGone>) -> DaemonMsg {
    match applied {
        Ok(seq) => DaemonMsg::InputAck { seq },
        Err(SessionGone) => DaemonMsg::Error {
            message: "the session's program has exited; input refused".into(),
        },
    }
}

/// The answer to a transcript request.
pub fn transcript_answer(page: std::io::Result<TranscriptPage>) -> DaemonMsg {
    match page {
        Ok(page) => DaemonMsg::Transcript(page),
        Err(e) => DaemonMsg::Error {
            message: format!("cannot read the transcript: {e}"),
        },
    }
}

/// An upper bound of the length of `f`'s JSON, from the lengths of its
/// strings: a few additions per run, so it costs almost nothing next to
/// the encoding. Every byte of text counts six times (`\u00XX`, the
/// longest escape), every run its longest keys and colours.
fn encoded_bound(f: &ScreenFrame) -> usize {
    const FIXED: usize = 256;
    const ROW: usize = 24;
    const RUN: usize = 112;
    let rows: usize = f
        .changed
        .iter()
        .map(|(_, r)| {
            ROW + r
                .runs
                .iter()
                .map(|run| RUN + 6 * run.text.len())
                .sum::<usize>()
        })
        .sum();
    FIXED + 6 * f.title.len() + rows
}

/// The exact length of `v`'s JSON, without keeping it.
fn encoded_len<T: serde::Serialize>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    serde_json::to_writer(&mut c, v).expect("session messages serialize");
    c.0
}

/// The first part of `f`, a frame too large for one message: the rows of
/// `f` that fit [`FRAME_BUDGET`], in order (at least one), as a frame to
/// version `version`; and the intermediate screen it leaves the device
/// with, which is the base of the next frame.
fn first_part(
    mut f: ScreenFrame,
    acked: Option<&StyledScreen>,
    now: &StyledScreen,
    version: u64,
) -> (ScreenFrame, StyledScreen) {
    let rest = std::mem::take(&mut f.changed);
    f.version = version;
    f.partial = true;
    let mut used = encoded_len(&DaemonMsg::Screen(f.clone()));
    let mut take = 0;
    for entry in &rest {
        let len = encoded_len(entry) + 1;
        if take > 0 && used + len > FRAME_BUDGET {
            break;
        }
        used += len;
        take += 1;
    }
    let mut rest = rest;
    rest.truncate(take);
    f.changed = rest;
    // What the device holds after this part: its base (rows of a full
    // frame start blank), these rows replaced.
    let mut rows = match acked {
        Some(a) if f.base != 0 => a.rows.clone(),
        _ => vec![Row::default(); now.rows.len()],
    };
    for (i, row) in &f.changed {
        if let Some(slot) = rows.get_mut(*i as usize) {
            *slot = row.clone();
        }
    }
    let screen = StyledScreen {
        version,
        rows,
        cols: now.cols,
        cursor: now.cursor,
        cursor_visible: now.cursor_visible,
        title: now.title.clone(),
        app_cursor: now.app_cursor,
        bracketed_paste: now.bracketed_paste,
    };
    (f, screen)
}

/// The frame that takes a device from `acked` to `now`: the rows that
/// differ, or every row when it has no screen of the same size.
pub fn frame(acked: Option<&StyledScreen>, now: &StyledScreen) -> ScreenFrame {
    let rows = u16::try_from(now.rows.len()).unwrap_or(u16::MAX);
    let all = |now: &StyledScreen| -> Vec<(u16, Row)> {
        now.rows
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u16, r.clone()))
            .collect()
    };
    let (base, changed) = match acked {
        Some(a) if a.rows.len() == now.rows.len() && a.cols == now.cols => (
            a.version,
            now.rows
                .iter()
                .enumerate()
                .filter(|(i, r)| a.rows.get(*i) != Some(*r))
                .map(|(i, r)| (i as u16, r.clone()))
                .collect(),
        ),
        _ => (0, all(now)),
    };
    ScreenFrame {
        version: now.version,
        base,
        rows,
        cols: now.cols,
        changed,
        cursor: now.cursor,
        cursor_visible: now.cursor_visible,
        title: now.title.clone(),
        app_cursor: now.app_cursor,
        bracketed_paste: now.bracketed_paste,
        partial: false,
    }
}

#[cfg(test)]
mod tests;
