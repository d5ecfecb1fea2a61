//! [`SessionClient`]: one session's attach socket that survives
//! disconnections. A task owns the socket (one connection at a time, in
//! `socket.rs`) and reconnects with [`Backoff`] until the user leaves or
//! the relay refuses for good.

use super::core::{Core, Event};
use super::screen::Screen;
use super::socket::{self, End};
use rcd_net::{Backoff, NetError, Relay, WebSocket};
use rcd_proto::relay::Secret;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// First and largest delay between reconnection attempts.
pub const BACKOFF_BASE: Duration = Duration::from_millis(250);
pub const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// Where a session's attach socket is, and the device token it takes.
#[derive(Debug, Clone)]
pub struct Target {
    pub relay: Relay,
    pub token: Secret,
    pub env_id: String,
    pub session: String,
}

impl Target {
    async fn open(&self) -> Result<WebSocket, NetError> {
        self.relay
            .attach(&self.token, &self.env_id, &self.session)
            .await
    }
}

/// Why the client gave up.
#[derive(Debug, thiserror::Error)]
pub enum Gone {
    /// The relay refused the socket for good: the device token (401) or
    /// the local set-up.
    #[error(transparent)]
    Refused(NetError),
    /// The session and this rcctl speak different protocol versions (the
    /// daemon's hello, or the relay's 426); the message says what to do.
    #[error("{0}")]
    Protocol(String),
    /// The client's task ended.
    #[error("the connection to the relay ended")]
    Ended,
}

/// What the user asked the socket task for.
#[derive(Debug)]
pub(super) enum Cmd {
    /// Inputs were queued in the core.
    Input,
    /// A transcript page was asked for.
    Transcript,
    /// A resize was asked for.
    Resize,
    /// The terminal this client drives changed size.
    Drive,
    /// Leave: close the socket and end.
    Close,
}

/// Where the socket task reports to.
pub(super) type Events = mpsc::UnboundedSender<Result<Event, Gone>>;

/// A session's attach socket that survives disconnections.
#[derive(Debug)]
pub struct SessionClient {
    core: Arc<Mutex<Core>>,
    cmds: mpsc::UnboundedSender<Cmd>,
    events: mpsc::UnboundedReceiver<Result<Event, Gone>>,
    task: JoinHandle<()>,
}

pub(super) fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}

impl SessionClient {
    /// Opens the attach socket of `target` and says hello as `client_id`.
    /// A failure of this first connection is returned (nothing is
    /// retried); later ones are retried in the background.
    #[cfg(test)]
    pub async fn connect(target: Target, client_id: String) -> Result<Self, NetError> {
        Self::connect_driving(target, client_id, None).await
    }

    /// [`SessionClient::connect`] for a client that drives the session's
    /// size with its terminal's, `size` (rows, columns), from its hello.
    pub async fn connect_driving(
        target: Target,
        client_id: String,
        size: Option<(u16, u16)>,
    ) -> Result<Self, NetError> {
        let ws = target.open().await?;
        let mut c = Core::new(client_id);
        if let Some((rows, cols)) = size {
            c.set_drive(rows, cols);
        }
        let core = Arc::new(Mutex::new(c));
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(target, ws, core.clone(), cmd_rx, ev_tx));
        Ok(Self {
            core,
            cmds: cmd_tx,
            events: ev_rx,
            task,
        })
    }

    /// The next event; an error when the client gave up.
    pub async fn next_event(&mut self) -> Result<Event, Gone> {
        match self.events.recv().await {
            Some(ev) => ev,
            None => Err(Gone::Ended),
        }
    }

    /// Queues keys; they are sent as soon as the daemon has greeted this
    /// connection, and resent after a reconnection until acknowledged.
    /// Returns the last `seq` used.
    pub fn input(&self, bytes: &[u8]) -> u64 {
        let seq = lock(&self.core).input(bytes);
        let _ = self.cmds.send(Cmd::Input);
        seq
    }

    /// Asks for a transcript page; the answer is an [`Event::Transcript`].
    pub fn transcript(&self, from: u64, max_lines: u32) {
        lock(&self.core).request_transcript(from, max_lines);
        let _ = self.cmds.send(Cmd::Transcript);
    }

    /// Resizes the session's terminal (and again after reconnections).
    pub fn resize(&self, rows: u16, cols: u16) {
        lock(&self.core).request_resize(rows, cols);
        let _ = self.cmds.send(Cmd::Resize);
    }

    /// The terminal this client drives is now `rows`×`cols`.
    pub fn drive(&self, rows: u16, cols: u16) {
        lock(&self.core).set_drive(rows, cols);
        let _ = self.cmds.send(Cmd::Drive);
    }

    /// Inputs not yet acknowledged.
    pub fn unacked(&self) -> usize {
        lock(&self.core).inputs.unacked()
    }

    /// The device's copy of the screen.
    pub fn screen(&self) -> Screen {
        lock(&self.core).screen.clone()
    }

    /// Whether the daemon has greeted the current connection.
    pub fn ready(&self) -> bool {
        lock(&self.core).greeted()
    }

    /// Closes the socket (bounded wait, so the close frame goes out).
    pub async fn close(self) {
        let _ = self.cmds.send(Cmd::Close);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Keeps the socket up until the user leaves or a fatal error.
async fn drive(
    target: Target,
    mut ws: WebSocket,
    core: Arc<Mutex<Core>>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    events: Events,
) {
    let mut backoff = Backoff::new(BACKOFF_BASE, BACKOFF_CAP);
    loop {
        let reason = match socket::serve(ws, &core, &mut cmds, &events).await {
            End::Closed => return,
            End::Fatal(msg) => {
                let _ = events.send(Err(Gone::Protocol(msg)));
                return;
            }
            End::Dropped { reason, greeted } => {
                if greeted {
                    backoff.reset();
                }
                reason
            }
        };
        lock(&core).disconnected();
        ws = match reconnect(&target, reason, &mut backoff, &mut cmds, &events).await {
            Some(ws) => ws,
            None => return,
        };
    }
}

/// Waits and retries until a socket opens; `None` when the user left or
/// the relay refused for good (the error went out as an event).
async fn reconnect(
    target: &Target,
    mut reason: String,
    backoff: &mut Backoff,
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    events: &Events,
) -> Option<WebSocket> {
    loop {
        let delay = backoff.next_delay();
        let _ = events.send(Ok(Event::Reconnecting {
            reason: reason.clone(),
            attempt: backoff.attempts(),
            retry_in: delay,
        }));
        let open = async {
            tokio::time::sleep(delay).await;
            target.open().await
        };
        tokio::pin!(open);
        let result = loop {
            tokio::select! {
                r = &mut open => break r,
                cmd = cmds.recv() => match cmd {
                    // Everything stays queued until the daemon greets us.
                    Some(Cmd::Input | Cmd::Transcript | Cmd::Resize | Cmd::Drive) => {}
                    None | Some(Cmd::Close) => return None,
                },
            }
        };
        match result {
            Ok(ws) => return Some(ws),
            Err(e @ (NetError::Unauthorized(_) | NetError::Setup(_))) => {
                let _ = events.send(Err(Gone::Refused(e)));
                return None;
            }
            Err(NetError::Api {
                status: 426, error, ..
            }) => {
                let _ = events.send(Err(Gone::Protocol(error.message)));
                return None;
            }
            // A 404 too: after a relay restart the session is unknown until
            // its machine has registered again.
            Err(e) => reason = socket::reason(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The delay before attempt `attempt` (0-based) with `jitter`.
    fn delay(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
        let mut b = Backoff::new(base, cap);
        for _ in 0..attempt {
            b.next_delay_with(0.0);
        }
        b.next_delay_with(jitter)
    }

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        let base = Duration::from_millis(250);
        let cap = Duration::from_secs(10);
        assert_eq!(delay(0, base, cap, 1.0), base);
        assert_eq!(delay(0, base, cap, 0.0), base / 2);
        assert_eq!(delay(2, base, cap, 1.0), Duration::from_secs(1));
        assert_eq!(delay(30, base, cap, 1.0), cap);
        assert_eq!(delay(30, base, cap, 0.0), cap / 2);
        let d = delay(3, base, cap, 0.5);
        assert!(d > Duration::from_secs(1) && d < Duration::from_secs(2));
    }
}
