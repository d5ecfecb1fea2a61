//! A simulated daemon: the bench speaking the daemon's side of the relay
//! protocol itself, as rcd's link does (`daemon/src/link/`). It registers
//! an environment with an enrollment token, heartbeats with its sessions,
//! long-polls for work, refreshes its credential before it expires, asks
//! for pairing codes, opens one session link per session, and answers each
//! device on a link with the messages rcd sends: `hello`, `screen` frames
//! paced by the device's `ack`, `input-ack` under the same sequence rule
//! (an input is applied only if it is the next of its `client_id`), and
//! `pong`. It runs no program: a session's screen is one row holding what
//! was typed (a carriage return goes back to column 0), which is enough
//! for a device to see its key. What it measures is the relay.

use crate::wire;
use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use rcd_net::{Relay, WebSocket};
use rcd_proto::relay::{
    Heartbeat, LinkFrame, RELAY_PROTOCOL_VERSION, RegisterRequest, Secret, WorkItem, WorkResult,
};
use rcd_proto::stream::{DaemonMsg, DeviceMsg, Row, Run, ScreenFrame};
use rcd_proto::{ErrorKind, ErrorReply, SessionInfo, SessionState, SpawnMode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The screen of every simulated session.
const ROWS: u16 = 24;
const COLS: u16 = 80;
/// How often a link pings the relay, as rcd's does.
const PING_EVERY: Duration = Duration::from_secs(15);

/// What every simulated daemon counted, summed.
#[derive(Debug, Default)]
pub struct Counters {
    /// `input` messages that reached a daemon.
    pub received: AtomicU64,
    /// Of those, applied (the next `seq` of their device).
    pub applied: AtomicU64,
    /// Of those, refused as already applied: a key delivered twice.
    pub repeats: AtomicU64,
    /// Links that ended with an error, failed heartbeats, polls, refreshes.
    pub errors: AtomicU64,
}

impl Counters {
    fn add(n: &AtomicU64) {
        n.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::Relaxed)
    }
}

/// One simulated daemon and the tasks that keep it online; they end when
/// it is dropped.
#[derive(Debug)]
pub struct SimDaemon {
    relay: Relay,
    pub env: String,
    pub sessions: Vec<String>,
    credential: Arc<Mutex<Secret>>,
    tasks: JoinSet<()>,
}

impl SimDaemon {
    /// Registers environment `name` and opens the link of each of its
    /// `sessions` sessions.
    pub async fn start(
        relay: &Relay,
        token: &Secret,
        name: &str,
        sessions: usize,
        counters: Arc<Counters>,
    ) -> Result<SimDaemon> {
        let reg = relay
            .register(
                token,
                &RegisterRequest {
                    protocol: RELAY_PROTOCOL_VERSION,
                    version: rcd_proto::PACKAGE_VERSION.to_string(),
                    name: name.to_string(),
                    machine: "rcd-bench".into(),
                    dir: "/".into(),
                    spawn: SpawnMode::SameDir,
                    capacity: sessions as u32,
                    programs: Vec::new(),
                    default_program: None,
                },
            )
            .await
            .with_context(|| format!("{name}: registration"))?;
        let env = reg.environment_id.clone();
        let infos: Vec<SessionInfo> = (0..sessions)
            .map(|s| session_info(name, &format!("s{s}")))
            .collect();
        let credential = Arc::new(Mutex::new(reg.credential.token.clone()));
        let mut d = SimDaemon {
            relay: relay.clone(),
            env: env.clone(),
            sessions: infos.iter().map(|i| i.name.clone()).collect(),
            credential: credential.clone(),
            tasks: JoinSet::new(),
        };
        let beat = Heartbeat {
            spawn: SpawnMode::SameDir,
            capacity: sessions as u32,
            used: sessions as u32,
            sessions: infos.clone(),
        };
        d.relay
            .heartbeat(&env, &reg.credential.token, &beat)
            .await
            .with_context(|| format!("{name}: first heartbeat"))?;
        for info in infos {
            let cred = d
                .relay
                .session_credential(&env, &info.name, &reg.credential.token)
                .await
                .with_context(|| format!("{name}: credential of {}", info.name))?;
            let ws = d
                .relay
                .session_link(&env, &info.name, &cred.token)
                .await
                .with_context(|| format!("{name}: link of {}", info.name))?;
            let counters = counters.clone();
            d.tasks.spawn(async move {
                if serve_link(ws, info, &counters).await.is_err() {
                    Counters::add(&counters.errors);
                }
            });
        }
        let every = Duration::from_secs(reg.heartbeat_interval_secs.max(1));
        let ttl = Duration::from_secs(reg.credential.expires_in_secs);
        d.tasks.spawn(keep_registered(
            d.relay.clone(),
            env.clone(),
            credential.clone(),
            beat,
            every,
            ttl,
            counters.clone(),
        ));
        d.tasks.spawn(poll_work(
            d.relay.clone(),
            env,
            credential,
            reg.poll_timeout_secs.max(1),
            counters,
        ));
        Ok(d)
    }

    /// A one-time pairing code for a device, as rcd shows one.
    pub async fn pairing_code(&self) -> Result<String> {
        let cred = self.credential.lock().expect("not poisoned").clone();
        Ok(self.relay.pairing_code(&self.env, &cred).await?.code)
    }
}

/// A session as rcd lists it.
fn session_info(env: &str, name: &str) -> SessionInfo {
    SessionInfo {
        id: format!("{env}-{name}"),
        name: name.to_string(),
        state: SessionState::Running,
        dir: "/".into(),
        spawn: SpawnMode::SameDir,
        branch: None,
        pid: None,
        created_at: rfc3339(SystemTime::now()),
        command: vec!["rcd-bench".into(), "simulated".into()],
        program: None,
        exit_code: None,
        worktree: None,
        last_activity: None,
        sandboxed: false,
        attention: None,
        change: None,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Heartbeats every interval and refreshes the credential when a third of
/// its life (at most a minute) is left, as rcd's link does.
async fn keep_registered(
    relay: Relay,
    env: String,
    credential: Arc<Mutex<Secret>>,
    beat: Heartbeat,
    every: Duration,
    ttl: Duration,
    counters: Arc<Counters>,
) {
    let margin = |ttl: Duration| (ttl / 3).min(Duration::from_secs(60));
    let mut refresh_at = Instant::now() + ttl.saturating_sub(margin(ttl));
    let mut tick = tokio::time::interval_at(Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let cred = credential.lock().expect("not poisoned").clone();
                if relay.heartbeat(&env, &cred, &beat).await.is_err() {
                    Counters::add(&counters.errors);
                }
            }
            _ = tokio::time::sleep_until(refresh_at) => {
                let cred = credential.lock().expect("not poisoned").clone();
                match relay.refresh(&env, &cred).await {
                    Ok(c) => {
                        let ttl = Duration::from_secs(c.expires_in_secs);
                        refresh_at = Instant::now() + ttl.saturating_sub(margin(ttl));
                        *credential.lock().expect("not poisoned") = c.token;
                    }
                    Err(_) => {
                        Counters::add(&counters.errors);
                        refresh_at = Instant::now() + Duration::from_secs(1);
                    }
                }
            }
        }
    }
}

/// Long-polls for work. Nothing in the scenario asks for any; an item
/// that comes is answered, as rcd answers every item, with a refusal.
async fn poll_work(
    relay: Relay,
    env: String,
    credential: Arc<Mutex<Secret>>,
    wait: u64,
    counters: Arc<Counters>,
) {
    loop {
        let cred = credential.lock().expect("not poisoned").clone();
        match relay.poll_work(&env, &cred, wait).await {
            Ok(Some(WorkItem { id, .. })) => {
                let refusal = WorkResult::Failed {
                    error: ErrorReply {
                        kind: ErrorKind::BadRequest,
                        message: "a simulated daemon of rcd-bench starts no sessions".into(),
                    },
                };
                let _ = relay.post_work_result(&env, &cred, &id, &refusal).await;
            }
            Ok(None) => {}
            Err(_) => {
                Counters::add(&counters.errors);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The one row a simulated session shows.
#[derive(Debug)]
struct Screen {
    line: Vec<u8>,
    col: usize,
    version: u64,
}

impl Screen {
    fn new() -> Screen {
        Screen {
            line: vec![b' '; usize::from(COLS)],
            col: 0,
            version: 1,
        }
    }

    /// Typed bytes, as a raw terminal echoing them would show them.
    fn type_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\r' => self.col = 0,
                0x20..=0x7e if self.col < self.line.len() => {
                    self.line[self.col] = b;
                    self.col += 1;
                }
                _ => {}
            }
        }
        self.version += 1;
    }

    fn row(&self) -> Row {
        let text = String::from_utf8_lossy(&self.line).trim_end().to_string();
        if text.is_empty() {
            return Row::default();
        }
        Row {
            runs: vec![Run {
                text,
                ..Run::default()
            }],
        }
    }

    /// The frame from `acked` (every row when the device has none; else
    /// the one row that can differ).
    fn frame(&self, acked: Option<u64>, title: &str) -> ScreenFrame {
        let changed = match acked {
            Some(_) => vec![(0, self.row())],
            None => (0..ROWS)
                .map(|i| (i, if i == 0 { self.row() } else { Row::default() }))
                .collect(),
        };
        ScreenFrame {
            version: self.version,
            base: acked.unwrap_or(0),
            rows: ROWS,
            cols: COLS,
            changed,
            cursor: (0, self.col as u16),
            cursor_visible: true,
            title: title.to_string(),
            app_cursor: false,
            bracketed_paste: false,
            partial: false,
        }
    }
}

/// What the link knows of one device, as `daemon/src/link/device.rs`.
#[derive(Debug, Default)]
struct Dev {
    client_id: Option<String>,
    acked: Option<u64>,
    inflight: Option<u64>,
}

impl Dev {
    /// The next frame, when it said hello, nothing is in flight and the
    /// screen moved on from what it acknowledged.
    fn next_frame(&mut self, screen: &Screen, title: &str) -> Option<DaemonMsg> {
        if self.client_id.is_none() || self.inflight.is_some() || self.acked == Some(screen.version)
        {
            return None;
        }
        self.inflight = Some(screen.version);
        Some(DaemonMsg::Screen(screen.frame(self.acked, title)))
    }
}

/// Serves one session link until the relay closes it.
async fn serve_link(mut ws: WebSocket, info: SessionInfo, counters: &Counters) -> Result<()> {
    let mut screen = Screen::new();
    let mut devices: HashMap<u64, Dev> = HashMap::new();
    // The last input applied per client id, as `Session::input_seqs`.
    let mut applied: HashMap<String, u64> = HashMap::new();
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut pings = 0;
    loop {
        let msg = tokio::select! {
            msg = ws.next() => msg,
            _ = ping.tick() => {
                pings += 1;
                ws.send(wire::link_frame(&LinkFrame::Ping { n: pings })?).await?;
                continue;
            }
        };
        let msg = match msg {
            None => return Ok(()),
            Some(m) => m?,
        };
        if msg.is_close() {
            return Ok(());
        }
        let Some(frame) = wire::read_link(&msg)? else {
            continue;
        };
        let mut out: Vec<(u64, DaemonMsg)> = Vec::new();
        match frame {
            wire::LinkIn::Frame(LinkFrame::Open { client, .. }) => {
                devices.insert(client, Dev::default());
            }
            wire::LinkIn::Frame(LinkFrame::Close { client }) => {
                devices.remove(&client);
            }
            wire::LinkIn::Frame(LinkFrame::Ping { n }) => {
                ws.send(wire::link_frame(&LinkFrame::Pong { n })?).await?;
            }
            wire::LinkIn::Frame(LinkFrame::Pong { .. }) => {}
            wire::LinkIn::Data { client, data } => {
                let msg = match wire::device_msg(&data) {
                    Ok(m) => m,
                    Err(e) => {
                        let message = format!("cannot decode the message: {e}");
                        out.push((client, DaemonMsg::Error { message }));
                        for (c, m) in out {
                            ws.send(wire::link_data(c, &m)?).await?;
                        }
                        continue;
                    }
                };
                let dev = devices.entry(client).or_default();
                match msg {
                    DeviceMsg::Hello {
                        protocol,
                        client_id,
                        ..
                    } => {
                        if protocol != RELAY_PROTOCOL_VERSION {
                            let message = format!("session protocol {protocol} is not spoken");
                            out.push((client, DaemonMsg::Error { message }));
                        } else {
                            let input_seq = applied.get(&client_id).copied().unwrap_or(0);
                            *dev = Dev {
                                client_id: Some(client_id),
                                ..Dev::default()
                            };
                            out.push((
                                client,
                                DaemonMsg::Hello {
                                    protocol: RELAY_PROTOCOL_VERSION,
                                    session: Box::new(info.clone()),
                                    input_seq,
                                },
                            ));
                            out.extend(dev.next_frame(&screen, &info.name).map(|m| (client, m)));
                        }
                    }
                    DeviceMsg::Input { seq, bytes } => {
                        Counters::add(&counters.received);
                        match &dev.client_id {
                            None => out.push((
                                client,
                                DaemonMsg::Error {
                                    message: "say hello first".into(),
                                },
                            )),
                            Some(id) => {
                                let last = applied.entry(id.clone()).or_default();
                                if seq == *last + 1 {
                                    *last = seq;
                                    Counters::add(&counters.applied);
                                    screen.type_bytes(&bytes);
                                } else {
                                    Counters::add(&counters.repeats);
                                }
                                out.push((client, DaemonMsg::InputAck { seq: *last }));
                                for (c, d) in devices.iter_mut() {
                                    out.extend(d.next_frame(&screen, &info.name).map(|m| (*c, m)));
                                }
                            }
                        }
                    }
                    DeviceMsg::Ack { version } => {
                        if dev.inflight == Some(version) {
                            dev.acked = dev.inflight.take();
                            out.extend(dev.next_frame(&screen, &info.name).map(|m| (client, m)));
                        }
                    }
                    DeviceMsg::Ping { n } => out.push((client, DaemonMsg::Pong { n })),
                    DeviceMsg::Resize { .. }
                    | DeviceMsg::Size { .. }
                    | DeviceMsg::SizeMode { .. } => {}
                    DeviceMsg::Transcript { .. } => out.push((
                        client,
                        DaemonMsg::Error {
                            message: "a simulated session keeps no transcript".into(),
                        },
                    )),
                }
            }
        }
        for (c, m) in out {
            ws.send(wire::link_data(c, &m)?).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661);
        assert_eq!(rfc3339(t), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn a_key_shows_in_column_zero_and_frames_follow_acks() {
        let mut s = Screen::new();
        let mut d = Dev {
            client_id: Some("c".into()),
            ..Dev::default()
        };
        let Some(DaemonMsg::Screen(full)) = d.next_frame(&s, "t") else {
            panic!("a full frame first")
        };
        assert_eq!((full.base, full.changed.len()), (0, 24));
        s.type_bytes(b"\rq");
        assert!(d.next_frame(&s, "t").is_none(), "one frame in flight");
        d.acked = d.inflight.take();
        let Some(DaemonMsg::Screen(f)) = d.next_frame(&s, "t") else {
            panic!("the key's frame")
        };
        assert_eq!(f.base, full.version);
        assert_eq!(f.changed[0].1.text(), "q");
        s.type_bytes(b"\rz");
        assert_eq!(s.row().text(), "z");
    }
}
