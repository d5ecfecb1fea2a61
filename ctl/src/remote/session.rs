//! The reconnecting client of one session's attach socket, shared by the
//! remote `send`, `screen`, `transcript` and `attach`.
//!
//! Three layers:
//!
//! - [`InputQueue`] and [`Screen`]: the pure bookkeeping. Inputs carry a
//!   sequence number per `client_id` and stay queued until the daemon
//!   acknowledges them; screen frames apply on the version they are a
//!   difference from ([`rcd_proto::stream::apply`]).
//! - [`Core`]: the session protocol without I/O. It turns the daemon's
//!   messages into the messages to answer with and [`Event`]s, and knows
//!   what to send after each (re)connection: `hello` with the same
//!   `client_id`, then every queued input after the daemon's `input_seq`.
//! - [`SessionClient`]: a task that owns the WebSocket, wraps every
//!   message in [`DeviceFrame::Data`], pings the relay, and reconnects with
//!   capped exponential backoff and jitter whenever the socket breaks, the
//!   relay stops answering pings, or a frame does not fit the screen it
//!   has. Only a refused token (401) or a protocol version mismatch end it.

use super::Remote;
use rcd_net::{NetError, WebSocket};
use rcd_proto::relay::{DeviceFrame, RELAY_PROTOCOL_VERSION, Secret};
use rcd_proto::stream::{self, DaemonMsg, DeviceMsg, Row, ScreenFrame};
use rcd_proto::{ScreenText, SessionInfo, TranscriptPage};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Largest input message payload. A WebSocket message may be 1 MiB; the
/// bytes grow by a third in base64 and are quoted twice (the session
/// message inside the envelope), so this stays well below.
pub const MAX_INPUT_CHUNK: usize = 64 * 1024;

/// A ping to the relay this often; two unanswered ones mean a dead socket.
const PING_EVERY: Duration = Duration::from_secs(15);
/// Longest a single write to the socket may take before it counts as dead.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// First and largest delay between reconnection attempts.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// A new random `client_id`: stable for one rcctl process, so its
/// reconnections resume the same input sequence.
pub fn new_client_id() -> String {
    format!("rcctl-{:032x}", rand::random::<u128>())
}

// ---------------------------------------------------------------------------
// Input queue

/// Inputs not yet acknowledged by the daemon, numbered from 1.
#[derive(Debug, Clone)]
pub struct InputQueue {
    /// Not yet acknowledged, in order of `seq`.
    pending: VecDeque<(u64, Vec<u8>)>,
    /// The `seq` of the next input.
    next_seq: u64,
    /// The last `seq` the daemon acknowledged.
    acked: u64,
    /// The last `seq` sent on the current connection.
    sent: u64,
}

impl Default for InputQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl InputQueue {
    pub fn new() -> Self {
        Self {
            pending: VecDeque::new(),
            next_seq: 1,
            acked: 0,
            sent: 0,
        }
    }

    /// Queues `bytes`; returns its `seq`.
    pub fn push(&mut self, bytes: Vec<u8>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back((seq, bytes));
        seq
    }

    /// The daemon applied everything up to `seq`.
    pub fn ack(&mut self, seq: u64) {
        if seq <= self.acked {
            return;
        }
        self.acked = seq;
        while self.pending.front().is_some_and(|(s, _)| *s <= seq) {
            self.pending.pop_front();
        }
        self.sent = self.sent.max(seq);
    }

    /// After the daemon's hello on a new connection: it applied everything
    /// up to `input_seq`, and nothing later has been sent on this
    /// connection yet. If the daemon knows less than was acknowledged
    /// before (its sequence for this `client_id` restarted), the queued
    /// inputs are renumbered to follow its count, since none of them was
    /// applied.
    pub fn resume(&mut self, input_seq: u64) {
        if input_seq < self.acked {
            let mut seq = input_seq;
            for (s, _) in self.pending.iter_mut() {
                seq += 1;
                *s = seq;
            }
            self.next_seq = seq + 1;
            self.acked = input_seq;
        } else {
            self.ack(input_seq);
            self.next_seq = self.next_seq.max(input_seq + 1);
        }
        self.sent = input_seq;
    }

    /// The queued inputs not yet sent on this connection, as messages; they
    /// count as sent from now on.
    pub fn unsent(&mut self) -> Vec<DeviceMsg> {
        let sent = self.sent;
        let out: Vec<DeviceMsg> = self
            .pending
            .iter()
            .filter(|(s, _)| *s > sent)
            .map(|(seq, bytes)| DeviceMsg::Input {
                seq: *seq,
                bytes: bytes.clone(),
            })
            .collect();
        if let Some((last, _)) = self.pending.back() {
            self.sent = self.sent.max(*last);
        }
        out
    }

    /// How many inputs wait for an acknowledgement.
    pub fn unacked(&self) -> usize {
        self.pending.len()
    }

    /// The last acknowledged `seq`.
    pub fn acked(&self) -> u64 {
        self.acked
    }
}

// ---------------------------------------------------------------------------
// Screen

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

// ---------------------------------------------------------------------------
// Core

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
    /// [`SessionClient::screen`].
    Screen,
    /// Inputs up to `seq` are applied; `unacked` are still queued.
    InputAck { seq: u64, unacked: usize },
    /// A transcript page asked for with [`SessionClient::transcript`].
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
                r.events.push(Event::Screen);
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

// ---------------------------------------------------------------------------
// Backoff

/// Delay before reconnection attempt `attempt` (0-based): `base` doubled
/// per attempt up to `cap`, then scaled by `jitter` in [0, 1] into the
/// upper half of the step ("equal jitter").
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let step = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let half = step / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

// ---------------------------------------------------------------------------
// The client

/// Where a session's attach socket is.
#[derive(Debug, Clone)]
pub struct Target {
    pub remote: Remote,
    pub env_id: String,
    /// As the user should see it: NAME or ENV/NAME.
    pub shown: String,
    pub session: String,
}

impl Target {
    fn path(&self) -> String {
        format!(
            "/environments/{}/sessions/{}/attach",
            super::seg(&self.env_id),
            super::seg(&self.session)
        )
    }

    async fn open(&self, token: &Secret) -> Result<WebSocket, NetError> {
        self.remote.relay.websocket(&self.path(), token).await
    }
}

#[derive(Debug)]
enum Cmd {
    /// Inputs were queued in the core.
    Input,
    /// A transcript page was asked for.
    Transcript,
    /// A resize was asked for.
    Resize,
    /// Leave: close the socket and end.
    Close,
}

/// A session's attach socket that survives disconnections.
#[derive(Debug)]
pub struct SessionClient {
    core: Arc<Mutex<Core>>,
    cmds: mpsc::UnboundedSender<Cmd>,
    events: mpsc::UnboundedReceiver<Result<Event, String>>,
    task: JoinHandle<()>,
}

fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}

impl SessionClient {
    /// Opens the attach socket of `target` and says hello as `client_id`.
    /// A failure of this first connection is returned (nothing is
    /// retried); later ones are retried in the background.
    pub async fn connect(target: Target, client_id: String) -> anyhow::Result<Self> {
        let token = target.remote.token()?.clone();
        let ws = target
            .open(&token)
            .await
            .map_err(|e| target.remote.error(e, Some(&target.shown)))?;
        let core = Arc::new(Mutex::new(Core::new(client_id)));
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(target, token, ws, core.clone(), cmd_rx, ev_tx));
        Ok(Self {
            core,
            cmds: cmd_tx,
            events: ev_rx,
            task,
        })
    }

    /// The next event; an error when the client gave up (its message says
    /// why, for people).
    pub async fn next_event(&mut self) -> anyhow::Result<Event> {
        match self.events.recv().await {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(msg)) => Err(anyhow::anyhow!(msg)),
            None => Err(anyhow::anyhow!("the connection to the relay ended")),
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

/// How a connection ended.
enum End {
    /// The user left.
    Closed,
    Fatal(String),
    /// Try again; `greeted` says whether the daemon answered our hello.
    Dropped {
        reason: String,
        greeted: bool,
    },
}

type Events = mpsc::UnboundedSender<Result<Event, String>>;

/// Keeps the socket up until the user leaves or a fatal error.
async fn drive(
    target: Target,
    token: Secret,
    mut ws: WebSocket,
    core: Arc<Mutex<Core>>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    events: Events,
) {
    let mut attempt: u32 = 0;
    loop {
        let reason = match serve(ws, &core, &mut cmds, &events).await {
            End::Closed => return,
            End::Fatal(msg) => {
                let _ = events.send(Err(msg));
                return;
            }
            End::Dropped { reason, greeted } => {
                if greeted {
                    attempt = 0;
                }
                reason
            }
        };
        lock(&core).disconnected();
        ws = match reconnect(&target, &token, reason, &mut attempt, &mut cmds, &events).await {
            Some(ws) => ws,
            None => return,
        };
    }
}

/// Waits and retries until a socket opens; `None` when the user left or
/// the relay refused for good (the error went out as an event).
async fn reconnect(
    target: &Target,
    token: &Secret,
    mut reason: String,
    attempt: &mut u32,
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    events: &Events,
) -> Option<WebSocket> {
    loop {
        let delay = backoff_delay(*attempt, BACKOFF_BASE, BACKOFF_CAP, rand::random::<f64>());
        *attempt = attempt.saturating_add(1);
        let _ = events.send(Ok(Event::Reconnecting {
            reason: reason.clone(),
            attempt: *attempt,
            retry_in: delay,
        }));
        let open = async {
            tokio::time::sleep(delay).await;
            target.open(token).await
        };
        tokio::pin!(open);
        let result = loop {
            tokio::select! {
                r = &mut open => break r,
                cmd = cmds.recv() => match cmd {
                    // Everything stays queued until the daemon greets us.
                    Some(Cmd::Input | Cmd::Transcript | Cmd::Resize) => {}
                    None | Some(Cmd::Close) => return None,
                },
            }
        };
        match result {
            Ok(ws) => return Some(ws),
            Err(e @ (NetError::Unauthorized(_) | NetError::Setup(_))) => {
                let msg = target.remote.error(e, Some(&target.shown)).to_string();
                let _ = events.send(Err(msg));
                return None;
            }
            Err(NetError::Api { status: 426, error }) => {
                let _ = events.send(Err(error.message));
                return None;
            }
            // A 404 too: after a relay restart the session is unknown until
            // its machine has registered again.
            Err(e) => reason = self::reason(&e),
        }
    }
}

/// A transient failure, short, for the status line.
fn reason(e: &NetError) -> String {
    match e {
        NetError::Transport { reason, .. } => reason.clone(),
        NetError::Api { status: 404, .. } => "the session is not on the relay (yet)".into(),
        other => other.to_string(),
    }
}

async fn send(ws: &mut WebSocket, frame: &DeviceFrame) -> Result<(), String> {
    match tokio::time::timeout(SEND_TIMEOUT, rcd_net::send_json(ws, frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("sending to the relay: {}", reason(&e))),
        Err(_) => Err("the relay stopped reading".into()),
    }
}

async fn send_msgs(ws: &mut WebSocket, msgs: Vec<DeviceMsg>) -> Result<(), String> {
    for m in msgs {
        let data = serde_json::to_string(&m).map_err(|e| e.to_string())?;
        send(ws, &DeviceFrame::Data { data }).await?;
    }
    Ok(())
}

/// Serves one connection until it ends.
async fn serve(
    mut ws: WebSocket,
    core: &Mutex<Core>,
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    events: &Events,
) -> End {
    let mut greeted = false;
    let result = serve_inner(&mut ws, core, cmds, events, &mut greeted).await;
    match result {
        Ok(()) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
            End::Closed
        }
        Err(Fault::Fatal(msg)) => {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
            End::Fatal(msg)
        }
        Err(Fault::Reconnect(reason)) => {
            let _ = tokio::time::timeout(Duration::from_millis(300), ws.close(None)).await;
            End::Dropped { reason, greeted }
        }
    }
}

async fn serve_inner(
    ws: &mut WebSocket,
    core: &Mutex<Core>,
    cmds: &mut mpsc::UnboundedReceiver<Cmd>,
    events: &Events,
    greeted: &mut bool,
) -> Result<(), Fault> {
    let hello = lock(core).connected();
    send_msgs(ws, vec![hello]).await.map_err(Fault::Reconnect)?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let (mut ping_n, mut last_pong) = (0u64, 0u64);
    loop {
        tokio::select! {
            frame = rcd_net::recv_json::<DeviceFrame>(ws) => {
                let frame = match frame {
                    Ok(Some(f)) => f,
                    Ok(None) => return Err(Fault::Reconnect("the relay closed the connection".into())),
                    // Not a frame of this protocol: skip it.
                    Err(NetError::Decode(_)) => continue,
                    Err(e) => return Err(Fault::Reconnect(reason(&e))),
                };
                match frame {
                    DeviceFrame::Data { data } => {
                        let Ok(msg) = serde_json::from_str::<DaemonMsg>(&data) else {
                            continue;
                        };
                        let reaction = lock(core).on_daemon(msg)?;
                        if reaction.events.iter().any(|e| matches!(e, Event::Ready { .. })) {
                            *greeted = true;
                        }
                        send_msgs(ws, reaction.send).await.map_err(Fault::Reconnect)?;
                        for ev in reaction.events {
                            let _ = events.send(Ok(ev));
                        }
                    }
                    DeviceFrame::Link { up } => {
                        let _ = events.send(Ok(Event::Link { up }));
                        if up {
                            // A new link of the daemon knows nothing of
                            // this device: greet it again.
                            let hello = lock(core).connected();
                            send_msgs(ws, vec![hello]).await.map_err(Fault::Reconnect)?;
                        } else {
                            lock(core).disconnected();
                        }
                    }
                    DeviceFrame::Ping { n } => {
                        send(ws, &DeviceFrame::Pong { n }).await.map_err(Fault::Reconnect)?;
                    }
                    DeviceFrame::Pong { n } => last_pong = last_pong.max(n),
                }
            }
            cmd = cmds.recv() => match cmd {
                None | Some(Cmd::Close) => return Ok(()),
                Some(cmd) => {
                    let msgs: Vec<DeviceMsg> = {
                        let mut c = lock(core);
                        match cmd {
                            Cmd::Input => c.outgoing(),
                            Cmd::Transcript => c.transcript_now().into_iter().collect(),
                            Cmd::Resize => c.resize_now().into_iter().collect(),
                            Cmd::Close => Vec::new(),
                        }
                    };
                    send_msgs(ws, msgs).await.map_err(Fault::Reconnect)?;
                }
            },
            _ = ping.tick() => {
                if ping_n >= last_pong + 2 {
                    return Err(Fault::Reconnect("the relay stopped answering pings".into()));
                }
                ping_n += 1;
                send(ws, &DeviceFrame::Ping { n: ping_n }).await.map_err(Fault::Reconnect)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcd_proto::stream::Run;
    use rcd_proto::{SessionState, SpawnMode};

    fn row(s: &str) -> Row {
        Row {
            runs: vec![Run {
                text: s.into(),
                ..Run::default()
            }],
        }
    }

    fn frame(version: u64, base: u64, changed: &[(u16, &str)]) -> ScreenFrame {
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
        }
    }

    fn info() -> SessionInfo {
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
            exit_code: None,
            worktree: None,
            sandboxed: false,
            last_activity: None,
        }
    }

    fn hello(input_seq: u64) -> DaemonMsg {
        DaemonMsg::Hello {
            protocol: RELAY_PROTOCOL_VERSION,
            session: Box::new(info()),
            input_seq,
        }
    }

    fn seqs(msgs: &[DeviceMsg]) -> Vec<u64> {
        msgs.iter()
            .filter_map(|m| match m {
                DeviceMsg::Input { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_queue_numbers_from_one_and_trims_on_ack() {
        let mut q = InputQueue::new();
        assert_eq!(q.push(b"a".to_vec()), 1);
        assert_eq!(q.push(b"b".to_vec()), 2);
        assert_eq!(q.push(b"c".to_vec()), 3);
        assert_eq!(seqs(&q.unsent()), [1, 2, 3]);
        assert!(q.unsent().is_empty(), "sent once per connection");
        q.ack(2);
        assert_eq!(q.unacked(), 1);
        q.ack(1); // late, smaller: ignored
        assert_eq!((q.unacked(), q.acked()), (1, 2));
        q.ack(3);
        assert_eq!(q.unacked(), 0);
        assert_eq!(q.push(b"d".to_vec()), 4);
    }

    #[test]
    fn resume_resends_only_what_the_daemon_did_not_apply() {
        let mut q = InputQueue::new();
        for b in [b"1", b"2", b"3", b"4"] {
            q.push(b.to_vec());
        }
        assert_eq!(seqs(&q.unsent()), [1, 2, 3, 4]);
        q.ack(1);
        // The socket broke; the daemon had applied up to 3.
        q.resume(3);
        let again = q.unsent();
        assert_eq!(seqs(&again), [4]);
        match &again[0] {
            DeviceMsg::Input { bytes, .. } => assert_eq!(bytes, b"4"),
            other => panic!("{other:?}"),
        }
        assert_eq!(q.unacked(), 1);
        // Nothing was applied on the last connection: all of it again.
        q.resume(3);
        assert_eq!(seqs(&q.unsent()), [4]);
        q.push(b"5".to_vec());
        assert_eq!(seqs(&q.unsent()), [5]);
    }

    #[test]
    fn resume_follows_a_daemon_that_counts_further_or_restarted() {
        let mut q = InputQueue::new();
        q.resume(7);
        assert_eq!(q.push(b"x".to_vec()), 8);
        let mut q = InputQueue::new();
        q.push(b"a".to_vec());
        q.push(b"b".to_vec());
        q.push(b"c".to_vec());
        q.ack(2);
        // The daemon forgot this client: the queued input follows its count.
        q.resume(0);
        assert_eq!(seqs(&q.unsent()), [1]);
        assert_eq!(q.push(b"d".to_vec()), 2);
    }

    #[test]
    fn core_waits_for_the_hello_then_resends_after_input_seq() {
        let mut c = Core::new("dev".into());
        assert!(matches!(
            c.connected(),
            DeviceMsg::Hello { protocol: RELAY_PROTOCOL_VERSION, ref client_id } if client_id == "dev"
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
        let msg = serde_json::to_string(&r.send[0]).unwrap();
        let frame = serde_json::to_string(&DeviceFrame::Data { data: msg }).unwrap();
        assert!(frame.len() < rcd_net::MAX_WS_MESSAGE, "{}", frame.len());
    }

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        let base = Duration::from_millis(250);
        let cap = Duration::from_secs(10);
        assert_eq!(backoff_delay(0, base, cap, 1.0), base);
        assert_eq!(backoff_delay(0, base, cap, 0.0), base / 2);
        assert_eq!(backoff_delay(2, base, cap, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(30, base, cap, 1.0), cap);
        assert_eq!(backoff_delay(30, base, cap, 0.0), cap / 2);
        let d = backoff_delay(3, base, cap, 0.5);
        assert!(d > Duration::from_secs(1) && d < Duration::from_secs(2));
    }

    #[test]
    fn client_ids_differ() {
        assert_ne!(new_client_id(), new_client_id());
        assert!(new_client_id().starts_with("rcctl-"));
    }
}

#[cfg(test)]
#[path = "session_wire_tests.rs"]
mod wire_tests;
