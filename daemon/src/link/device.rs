//! The daemon's half of the session protocol with one device, without
//! I/O: what the device said (its hello, its acknowledgements) and what
//! it must be sent next. [`super::stream`] feeds it the device's messages
//! and the session's events and sends what it returns.
//!
//! Screens are ack-paced: a new frame goes out only when nothing is in
//! flight, as the rows that differ from the version the device
//! acknowledged (every row for a device that has none), so a slow device
//! gets fewer frames, never a backlog.

use crate::session::SessionGone;
use crate::term::StyledScreen;
use rcd_proto::relay::RELAY_PROTOCOL_VERSION;
use rcd_proto::stream::{DaemonMsg, Row, ScreenFrame};
use rcd_proto::{SessionInfo, TranscriptPage};

/// What the link knows about one attached device.
#[derive(Debug, Default)]
pub struct Device {
    /// Set by its hello; its inputs are numbered per client id.
    client_id: Option<String>,
    acked: Option<StyledScreen>,
    inflight: Option<StyledScreen>,
    exited_sent: bool,
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
        self.inflight = Some(now);
        Some(DaemonMsg::Screen(f))
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
    }
}

#[cfg(test)]
mod tests;
