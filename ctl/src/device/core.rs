//! The session protocol of one device, without I/O: the daemon's messages
//! in, the messages to answer with and [`Event`]s out.

use super::MAX_INPUT_CHUNK;
use super::input::InputQueue;
use super::screen::Screen;
use rcd_proto::relay::RELAY_PROTOCOL_VERSION;
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Dims};
use rcd_proto::{SessionInfo, TranscriptPage};
use std::time::Duration;

/// What happened, for the verb using the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The daemon answered our hello (on every connection, and after its
    /// link came back); queued inputs after `input_seq` were resent.
    Ready {
        session: Box<SessionInfo>,
        input_seq: u64,
        resent: usize,
    },
    /// A screen frame was applied (and acknowledged); see
    /// [`super::SessionClient::screen`].
    Screen,
    /// Inputs up to `seq` are applied; `unacked` are still queued.
    InputAck { seq: u64, unacked: usize },
    /// A transcript page asked for with [`super::SessionClient::transcript`].
    Transcript(TranscriptPage),
    /// The session's program ended.
    Exited { code: i32 },
    /// The relay says whether the session's machine is connected.
    Link { up: bool },
    /// The connection broke; the next attempt is in `retry_in`.
    Reconnecting {
        reason: String,
        attempt: u32,
        retry_in: Duration,
    },
    /// The daemon could not do something (its message, for people).
    DaemonError(String),
}

/// Why a connection must end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Start over on a new connection (e.g. a screen base mismatch).
    Reconnect(String),
    /// Give up.
    Fatal(String),
}

/// The answer to one message from the daemon.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub send: Vec<DeviceMsg>,
    pub events: Vec<Event>,
}

/// The session protocol of one device, without I/O.
#[derive(Debug, Clone)]
pub struct Core {
    client_id: String,
    pub inputs: InputQueue,
    pub screen: Screen,
    /// The daemon answered our hello on this connection.
    greeted: bool,
    /// A transcript page asked for and not yet answered (asked again
    /// after a reconnection).
    transcript: Option<(u64, u32)>,
    /// The size asked for with `resize`, sent again after each hello.
    size: Option<(u16, u16)>,
    /// The terminal this client would drive (an interactive attach): said
    /// in the hello, so the session takes it when this client types.
    drive: Option<(u16, u16)>,
    /// The daemon sent a size note: it follows the typist's size, and
    /// takes `size` messages.
    sizes_known: bool,
    pub exited: Option<i32>,
    pub session: Option<SessionInfo>,
}

impl Core {
    pub fn new(client_id: String) -> Self {
        Self {
            client_id,
            inputs: InputQueue::new(),
            screen: Screen::default(),
            greeted: false,
            transcript: None,
            size: None,
            drive: None,
            sizes_known: false,
            exited: None,
            session: None,
        }
    }

    /// Whether the daemon answered our hello on this connection.
    pub fn greeted(&self) -> bool {
        self.greeted
    }

    /// A new connection, or the daemon's link came back: the hello to
    /// send. Inputs wait until the daemon answers it.
    pub fn connected(&mut self) -> DeviceMsg {
        self.greeted = false;
        self.screen.forget_version();
        DeviceMsg::Hello {
            protocol: RELAY_PROTOCOL_VERSION,
            client_id: self.client_id.clone(),
            size: self.drive.map(|(rows, cols)| Dims { rows, cols }),
            label: self.drive.map(|_| "rcctl attach".to_string()),
        }
    }

    /// The terminal this client would drive is now `rows`×`cols`.
    pub fn set_drive(&mut self, rows: u16, cols: u16) {
        self.drive = Some((rows, cols));
    }

    /// Says the new size to a daemon that follows sizes (an older one
    /// would refuse the message; the next hello says it anyway).
    pub fn drive_now(&self) -> Option<DeviceMsg> {
        match (self.greeted && self.sizes_known, self.drive) {
            (true, Some((rows, cols))) => Some(DeviceMsg::Size { rows, cols }),
            _ => None,
        }
    }

    /// The connection (or the daemon's link) went away.
    pub fn disconnected(&mut self) {
        self.greeted = false;
        self.screen.forget_version();
    }

    /// Queues keys (in chunks of at most [`MAX_INPUT_CHUNK`]); they go out
    /// with the next [`Core::outgoing`]. Returns the last `seq`.
    pub fn input(&mut self, bytes: &[u8]) -> u64 {
        let mut last = self.inputs.acked();
        for chunk in bytes.chunks(MAX_INPUT_CHUNK) {
            last = self.inputs.push(chunk.to_vec());
        }
        last
    }

    /// Asks for a transcript page (again after a reconnection until it
    /// comes).
    pub fn request_transcript(&mut self, from: u64, max_lines: u32) {
        self.transcript = Some((from, max_lines));
    }

    /// Asks for the session to be resized (again after a reconnection).
    pub fn request_resize(&mut self, rows: u16, cols: u16) {
        self.size = Some((rows, cols));
    }

    /// What can go out now: nothing before the daemon's hello, then the
    /// inputs not sent on this connection.
    pub fn outgoing(&mut self) -> Vec<DeviceMsg> {
        if self.greeted {
            self.inputs.unsent()
        } else {
            Vec::new()
        }
    }

    /// Messages to send right after the daemon's hello.
    fn after_hello(&mut self) -> Vec<DeviceMsg> {
        let mut out = Vec::new();
        if let Some((rows, cols)) = self.size {
            out.push(DeviceMsg::Resize { rows, cols });
        }
        out.extend(self.inputs.unsent());
        if let Some((from, max_lines)) = self.transcript {
            out.push(DeviceMsg::Transcript { from, max_lines });
        }
        out
    }

    /// Sends a transcript request now, if it can go out.
    pub fn transcript_now(&self) -> Option<DeviceMsg> {
        match (self.greeted, self.transcript) {
            (true, Some((from, max_lines))) => Some(DeviceMsg::Transcript { from, max_lines }),
            _ => None,
        }
    }

    /// Sends a resize now, if it can go out.
    pub fn resize_now(&self) -> Option<DeviceMsg> {
        match (self.greeted, self.size) {
            (true, Some((rows, cols))) => Some(DeviceMsg::Resize { rows, cols }),
            _ => None,
        }
    }

    /// Handles one message from the daemon.
    pub fn on_daemon(&mut self, msg: DaemonMsg) -> Result<Reaction, Fault> {
        let mut r = Reaction::default();
        match msg {
            DaemonMsg::Hello {
                protocol,
                session,
                input_seq,
            } => {
                if protocol != RELAY_PROTOCOL_VERSION {
                    return Err(Fault::Fatal(format!(
                        "the session speaks protocol {protocol}, this rcctl {} speaks \
                         {RELAY_PROTOCOL_VERSION}: use an rcctl of the same version as that rcd",
                        rcd_proto::PACKAGE_VERSION
                    )));
                }
                self.greeted = true;
                self.inputs.resume(input_seq);
                r.send = self.after_hello();
                let resent = r
                    .send
                    .iter()
                    .filter(|m| matches!(m, DeviceMsg::Input { .. }))
                    .count();
                self.session = Some((*session).clone());
                r.events.push(Event::Ready {
                    session,
                    input_seq,
                    resent,
                });
            }
            DaemonMsg::Screen(frame) => {
                self.screen
                    .apply(&frame)
                    .map_err(|e| Fault::Reconnect(e.to_string()))?;
                r.send.push(DeviceMsg::Ack {
                    version: frame.version,
                });
                // A part of a larger frame: the screen is whole at the
                // last part.
                if !frame.partial {
                    r.events.push(Event::Screen);
                }
            }
            DaemonMsg::InputAck { seq } => {
                self.inputs.ack(seq);
                r.events.push(Event::InputAck {
                    seq,
                    unacked: self.inputs.unacked(),
                });
            }
            DaemonMsg::Transcript(page) => {
                self.transcript = None;
                r.events.push(Event::Transcript(page));
            }
            DaemonMsg::Exited { code } => {
                self.exited = Some(code);
                r.events.push(Event::Exited { code });
            }
            // Sent only to a client that said its size: the session follows it.
            DaemonMsg::Size(_) => self.sizes_known = true,
            DaemonMsg::Pong { .. } => {}
            DaemonMsg::Error { message } => {
                // An error answers the one request in flight, if any.
                self.transcript = None;
                r.events.push(Event::DaemonError(message));
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::tests::{frame, hello, info, seqs};
    use rcd_proto::stream::ScreenFrame;

    #[test]
    fn core_waits_for_the_hello_then_resends_after_input_seq() {
        let mut c = Core::new("dev".into());
        assert!(matches!(
            c.connected(),
            DeviceMsg::Hello { protocol: RELAY_PROTOCOL_VERSION, ref client_id, .. } if client_id == "dev"
        ));
        assert_eq!(c.input(b"ls\r"), 1);
        assert!(c.outgoing().is_empty(), "nothing before the daemon's hello");
        let r = c.on_daemon(hello(0)).unwrap();
        assert_eq!(seqs(&r.send), [1]);
        assert!(matches!(r.events[0], Event::Ready { resent: 1, .. }));
        c.input(b"pwd\r");
        assert_eq!(seqs(&c.outgoing()), [2]);
        // Disconnected before any ack; the daemon got the first one only.
        c.disconnected();
        c.input(b"x");
        assert!(c.outgoing().is_empty());
        let hello_again = c.connected();
        assert!(
            matches!(hello_again, DeviceMsg::Hello { ref client_id, .. } if client_id == "dev")
        );
        let r = c.on_daemon(hello(1)).unwrap();
        assert_eq!(seqs(&r.send), [2, 3]);
        let r = c.on_daemon(DaemonMsg::InputAck { seq: 3 }).unwrap();
        assert_eq!(r.events, [Event::InputAck { seq: 3, unacked: 0 }]);
    }

    #[test]
    fn core_acks_frames_and_reconnects_on_a_base_it_lacks() {
        let mut c = Core::new("dev".into());
        c.connected();
        let r = c.on_daemon(DaemonMsg::Screen(frame(
            5,
            0,
            &[(0, "a"), (1, "b"), (2, "c")],
        )));
        let r = r.unwrap();
        assert_eq!(r.send, [DeviceMsg::Ack { version: 5 }]);
        assert_eq!(r.events, [Event::Screen]);
        let r = c
            .on_daemon(DaemonMsg::Screen(frame(9, 5, &[(1, "B")])))
            .unwrap();
        assert_eq!(r.send, [DeviceMsg::Ack { version: 9 }]);
        assert_eq!(c.screen.text().rows, ["a", "B", "c"]);
        assert_eq!(c.screen.cursor, (1, 2));
        // A difference from a version this device never had.
        let err = c
            .on_daemon(DaemonMsg::Screen(frame(12, 10, &[(0, "z")])))
            .unwrap_err();
        assert!(
            matches!(err, Fault::Reconnect(ref m) if m.contains("version 10")),
            "{err:?}"
        );
        assert_eq!(c.screen.version, 9, "nothing applied");
        assert_eq!(c.screen.text().rows, ["a", "B", "c"]);
        // After a reconnection only a full frame applies.
        c.connected();
        assert!(c.on_daemon(DaemonMsg::Screen(frame(13, 9, &[]))).is_err());
        assert!(
            c.on_daemon(DaemonMsg::Screen(frame(13, 0, &[(0, "n")])))
                .is_ok()
        );
        assert_eq!(c.screen.text().rows, ["n", "", ""]);
    }

    #[test]
    fn the_parts_of_a_large_frame_are_one_screen_event() {
        let mut c = Core::new("dev".into());
        c.connected();
        let part = |version, base, changed: &[(u16, &str)]| ScreenFrame {
            partial: true,
            ..frame(version, base, changed)
        };
        let p = 1 << 52;
        let r = c
            .on_daemon(DaemonMsg::Screen(part(p + 1, 0, &[(0, "a")])))
            .unwrap();
        assert_eq!(r.send, [DeviceMsg::Ack { version: p + 1 }]);
        assert!(r.events.is_empty(), "no screen before the last part");
        let r = c
            .on_daemon(DaemonMsg::Screen(part(p + 2, p + 1, &[(1, "b")])))
            .unwrap();
        assert!(r.events.is_empty());
        let r = c
            .on_daemon(DaemonMsg::Screen(frame(6, p + 2, &[(2, "c")])))
            .unwrap();
        assert_eq!(r.send, [DeviceMsg::Ack { version: 6 }]);
        assert_eq!(r.events, [Event::Screen]);
        assert_eq!(c.screen.text().rows, ["a", "b", "c"]);
    }

    #[test]
    fn core_asks_again_for_what_a_reconnection_lost() {
        let mut c = Core::new("dev".into());
        c.connected();
        c.request_transcript(1, 100);
        assert_eq!(c.transcript_now(), None, "not before the hello");
        c.request_resize(30, 100);
        let r = c.on_daemon(hello(0)).unwrap();
        assert_eq!(
            r.send,
            [
                DeviceMsg::Resize {
                    rows: 30,
                    cols: 100
                },
                DeviceMsg::Transcript {
                    from: 1,
                    max_lines: 100
                }
            ]
        );
        c.connected();
        let r = c.on_daemon(hello(0)).unwrap();
        assert!(r.send.contains(&DeviceMsg::Transcript {
            from: 1,
            max_lines: 100
        }));
        let page = TranscriptPage {
            from: 1,
            lines: vec!["x".into()],
            total: 1,
        };
        let r = c.on_daemon(DaemonMsg::Transcript(page.clone())).unwrap();
        assert_eq!(r.events, [Event::Transcript(page)]);
        c.connected();
        let r = c.on_daemon(hello(0)).unwrap();
        assert!(
            !r.send
                .iter()
                .any(|m| matches!(m, DeviceMsg::Transcript { .. }))
        );
    }

    #[test]
    fn core_refuses_another_protocol() {
        let mut c = Core::new("dev".into());
        c.connected();
        let err = c
            .on_daemon(DaemonMsg::Hello {
                protocol: RELAY_PROTOCOL_VERSION + 1,
                session: Box::new(info()),
                input_seq: 0,
            })
            .unwrap_err();
        assert!(matches!(err, Fault::Fatal(_)));
    }

    #[test]
    fn large_input_goes_in_chunks() {
        let mut c = Core::new("dev".into());
        let big = vec![b'x'; MAX_INPUT_CHUNK * 2 + 1];
        assert_eq!(c.input(&big), 3);
        c.connected();
        let r = c.on_daemon(hello(0)).unwrap();
        assert_eq!(seqs(&r.send), [1, 2, 3]);
        // As the daemon gets it: behind its client, in one binary message.
        let msg = rcd_proto::relay::link_message(1, &r.send[0]);
        assert!(msg.len() < rcd_net::MAX_WS_MESSAGE, "{}", msg.len());
    }

    #[test]
    fn a_terminal_says_its_size_and_its_changes_to_a_daemon_that_follows_sizes() {
        let mut c = Core::new("dev".into());
        c.set_drive(40, 100);
        assert!(matches!(
            c.connected(),
            DeviceMsg::Hello { size: Some(Dims { rows: 40, cols: 100 }), label: Some(ref l), .. }
                if l == "rcctl attach"
        ));
        c.on_daemon(hello(0)).unwrap();
        c.set_drive(30, 90);
        assert_eq!(c.drive_now(), None, "an older daemon sent no note");
        c.on_daemon(DaemonMsg::Size(rcd_proto::stream::SizeNote {
            rows: 40,
            cols: 100,
            mode: rcd_proto::stream::SizeMode::Latest,
            by: "rcctl attach".into(),
            why: "typed".into(),
            yours: true,
        }))
        .unwrap();
        assert_eq!(c.drive_now(), Some(DeviceMsg::Size { rows: 30, cols: 90 }));
    }
}
