//! The device side of the session protocol (docs/PROTOCOL.md, "Session
//! stream"): the reconnecting client of one session's attach socket,
//! shared by the remote `send`, `screen`, `transcript` and `attach`.
//!
//! Three layers:
//!
//! - [`input::InputQueue`] and [`screen::Screen`]: the pure
//!   bookkeeping. Inputs carry a sequence number per `client_id` and stay
//!   queued until the daemon acknowledges them; screen frames apply on the
//!   version they are a difference from ([`rcd_proto::stream::apply`]).
//! - [`core::Core`]: the session protocol without I/O. It turns the
//!   daemon's messages into the messages to answer with and [`Event`]s,
//!   and knows what to send after each (re)connection: `hello` with the
//!   same `client_id`, then every queued input after the daemon's
//!   `input_seq`.
//! - [`SessionClient`] (`client.rs`, one connection in `socket.rs`): a
//!   task that owns the WebSocket, sends every message as the JSON of
//!   one binary message, pings the relay, and
//!   reconnects with capped exponential backoff and jitter whenever the
//!   socket breaks, the relay stops answering pings, or a frame does not
//!   fit the screen it has. Only a refused token (401) or a protocol
//!   version mismatch end it.

mod client;
pub mod core;
pub mod input;
pub mod screen;
mod socket;

pub use client::{Gone, SessionClient, Target};
pub use core::Event;
pub use screen::Screen;

/// Largest input message payload. A WebSocket message may be 1 MiB; the
/// bytes grow by a third in base64, so this stays well below.
pub const MAX_INPUT_CHUNK: usize = 64 * 1024;

/// A new random `client_id`: stable for one rcctl process, so its
/// reconnections resume the same input sequence.
pub fn new_client_id() -> String {
    format!("rcctl-{:032x}", rand::random::<u128>())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcd_proto::relay::RELAY_PROTOCOL_VERSION;
    use rcd_proto::stream::{DaemonMsg, DeviceMsg, Row, Run, ScreenFrame};
    use rcd_proto::{SessionInfo, SessionState, SpawnMode};

    fn row(s: &str) -> Row {
        Row {
            runs: vec![Run {
                text: s.into(),
                ..Run::default()
            }],
        }
    }

    pub fn frame(version: u64, base: u64, changed: &[(u16, &str)]) -> ScreenFrame {
        ScreenFrame {
            version,
            base,
            rows: 3,
            cols: 10,
            changed: changed.iter().map(|(i, s)| (*i, row(s))).collect(),
            cursor: (1, 2),
            cursor_visible: true,
            title: "t".into(),
            app_cursor: false,
            bracketed_paste: false,
            partial: false,
        }
    }

    pub fn info() -> SessionInfo {
        SessionInfo {
            id: "s1".into(),
            name: "a".into(),
            state: SessionState::Running,
            dir: "/tmp".into(),
            spawn: SpawnMode::SameDir,
            branch: None,
            pid: Some(1),
            created_at: "2026-01-01T00:00:00Z".into(),
            command: vec![],
            program: None,
            exit_code: None,
            worktree: None,
            sandboxed: false,
            attention: None,
            change: None,
            last_activity: None,
        }
    }

    pub fn hello(input_seq: u64) -> DaemonMsg {
        DaemonMsg::Hello {
            protocol: RELAY_PROTOCOL_VERSION,
            session: Box::new(info()),
            input_seq,
        }
    }

    pub fn seqs(msgs: &[DeviceMsg]) -> Vec<u64> {
        msgs.iter()
            .filter_map(|m| match m {
                DeviceMsg::Input { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn client_ids_differ() {
        assert_ne!(new_client_id(), new_client_id());
        assert!(new_client_id().starts_with("rcctl-"));
    }
}

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod wire_tests;
