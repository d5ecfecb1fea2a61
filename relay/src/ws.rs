//! The two WebSockets: a session link (daemon ↔ relay) and an attach
//! socket (device ↔ relay). Each runs as one task with one `select!` over
//! the hub's close signal, its outbound queue, the socket, and the ping
//! timer. The relay parses the envelopes ([`LinkFrame`], [`DeviceFrame`],
//! text messages) and never the session messages (binary messages): it
//! takes the client off the front of the link's and puts it on the front
//! of the device's ([`rcd_proto::relay::CLIENT_PREFIX`]).

use crate::hub::{CloseReason, Delivery, Joined, LinkPath, RouteKey, json};
use crate::options::MAX_BODY;
use crate::queue::{QUEUE_BYTES, Refused};
use crate::state::Relay;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use rcd_proto::liveness::{self, Liveness};
use rcd_proto::relay::{CLIENT_PREFIX, DeviceFrame, LinkFrame};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::time::Interval;
use tracing::Instrument;

/// The longest one write to a device may take before the device is taken
/// to have stopped reading and is closed (4001). A message is at most
/// 1 MiB, so this allows a device reading at 50 KiB/s.
pub(crate) const DEVICE_WRITE_TIMEOUT: Duration = Duration::from_secs(20);

/// How fast a device's messages may go to a session link on another
/// instance, in bytes per second, after a first [`REMOTE_BURST`]. A link
/// here slows a device to the daemon's pace through its queue; through
/// Redis nothing would, so the device's own instance does, and one device
/// cannot flood the notes between instances.
const REMOTE_RATE: f64 = 4.0 * 1024.0 * 1024.0;
/// What a device may send to a remote link at once: a link queue's worth.
const REMOTE_BURST: f64 = QUEUE_BYTES as f64;

/// A device's allowance for a remote link: [`REMOTE_RATE`] bytes a second,
/// up to [`REMOTE_BURST`] saved.
struct Budget {
    bytes: f64,
    at: Instant,
}

impl Budget {
    fn new(now: Instant) -> Budget {
        Budget {
            bytes: REMOTE_BURST,
            at: now,
        }
    }

    /// Takes `n` bytes at `now`; returns how long the device waits before
    /// they go (zero while the allowance lasts).
    fn take(&mut self, n: usize, now: Instant) -> Duration {
        let earned = now.duration_since(self.at).as_secs_f64() * REMOTE_RATE;
        self.bytes = (self.bytes + earned).min(REMOTE_BURST) - n as f64;
        self.at = now;
        if self.bytes >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.bytes / REMOTE_RATE)
        }
    }
}

/// Sends the close frame, unless the peer does not read it within 5 s
/// (the socket is then dropped without one).
async fn close(socket: &mut WebSocket, why: CloseReason) {
    let frame = CloseFrame {
        code: why.code,
        reason: why.reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}

/// Pings every interval; two pings without a pong end the socket.
struct Pinger {
    timer: Interval,
    live: Liveness,
}

impl Pinger {
    fn new(every: Duration) -> Pinger {
        Pinger {
            timer: liveness::beat(every),
            live: Liveness::new(),
        }
    }

    /// The number of the next ping, or `None` when two went unanswered.
    fn next(&mut self) -> Option<u64> {
        self.live.next_ping()
    }

    fn pong(&mut self, n: u64) {
        self.live.pong(n);
    }
}

/// One message read from a socket.
enum Inbound<T> {
    /// A text message: an envelope.
    Frame(T),
    /// A binary message: a session message, unread.
    Payload(Bytes),
    /// Nothing to do (a protocol ping or pong).
    Skip,
    /// The socket is done; close it with this reason, if any.
    End(Option<CloseReason>),
}

fn read<T: DeserializeOwned>(msg: Option<Result<Message, axum::Error>>) -> Inbound<T> {
    match msg {
        None | Some(Ok(Message::Close(_))) => Inbound::End(None),
        Some(Ok(Message::Text(t))) => match serde_json::from_str(t.as_str()) {
            Ok(f) => Inbound::Frame(f),
            Err(e) => {
                tracing::warn!("closing the socket: a text message is not a valid frame ({e})");
                Inbound::End(Some(CloseReason::GARBAGE))
            }
        },
        Some(Ok(Message::Binary(b))) => Inbound::Payload(b),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Inbound::Skip,
        Some(Err(e)) => {
            use tokio_tungstenite::tungstenite::Error as WsError;
            let why = match std::error::Error::source(&e).and_then(|s| s.downcast_ref::<WsError>())
            {
                Some(WsError::Capacity(_)) => Some(CloseReason::TOO_LARGE),
                Some(WsError::Protocol(_)) => Some(CloseReason::PROTOCOL),
                Some(WsError::Utf8(_)) => Some(CloseReason::GARBAGE),
                _ => None,
            };
            match why {
                Some(_) => tracing::warn!("closing the socket: {e}"),
                None => tracing::debug!("socket error: {e}"),
            }
            Inbound::End(why)
        }
    }
}

/// Serves a session link until it closes or is closed.
pub(crate) async fn run_link(relay: Relay, mut socket: WebSocket, key: RouteKey, owner: String) {
    let span = tracing::info_span!("link", env = %key.env, session = %key.session);
    async move {
        let hub = relay.hub();
        // With other instances, a socket's number comes from joining them.
        let attached = match hub.mesh() {
            Some(mesh) if !mesh.joined().await => None,
            _ => hub.attach_link(&key, &owner),
        };
        let Some((joined, mut clients)) = attached else {
            tracing::warn!("closing the session link: the relay has not joined the other instances");
            close(&mut socket, CloseReason::NO_REDIS).await;
            return;
        };
        let Joined {
            id,
            mut rx,
            mut kill,
        } = joined;
        let mut why = None;
        if let Some(mesh) = hub.mesh() {
            // Found by devices on other instances from here on.
            match mesh.link_up(&key, id).await {
                Ok(reg) => clients.extend(hub.link_registered(&key, id, reg)),
                Err(e) => {
                    tracing::warn!("closing the session link: {e}");
                    why = Some(Some(CloseReason::NO_REDIS));
                }
            }
        }
        tracing::info!(devices = clients.len(), "session link up");
        for (client, device) in clients {
            if why.is_some() {
                break;
            }
            let open = json(&LinkFrame::Open { client, device });
            if socket.send(open).await.is_err() {
                why = Some(None);
                break;
            }
        }
        let mut pinger = Pinger::new(relay.options().ping_interval);
        while why.is_none() {
            tokio::select! {
                biased;
                r = &mut kill => why = Some(Some(r.unwrap_or(CloseReason::SHUTDOWN))),
                Some(out) = rx.recv() => {
                    if socket.send(out).await.is_err() {
                        why = Some(None);
                    }
                }
                msg = socket.recv() => match read::<LinkFrame>(msg) {
                    Inbound::Payload(bytes) => {
                        let Some((client, _)) = rcd_proto::relay::split_link_message(&bytes) else {
                            tracing::warn!("closing the session link: a binary message names no client");
                            why = Some(Some(CloseReason::GARBAGE));
                            continue;
                        };
                        // The device gets the same bytes without the
                        // client: a slice of the message, not a copy.
                        let payload = bytes.slice(CLIENT_PREFIX..);
                        let reply = match hub.to_device(&key, client, payload) {
                            Delivery::Queued => None,
                            Delivery::Unknown => {
                                tracing::debug!(client, "data for a client that is gone");
                                None
                            }
                            Delivery::Dropped => {
                                tracing::warn!(client, "device too slow: closed");
                                Some(LinkFrame::Close { client })
                            }
                        };
                        if let Some(reply) = reply {
                            if socket.send(json(&reply)).await.is_err() {
                                why = Some(None);
                            }
                        }
                    }
                    Inbound::Frame(frame) => {
                        let reply = match frame {
                            LinkFrame::Close { client } => {
                                tracing::debug!(client, "the daemon closed a device");
                                hub.close_device(&key, client, CloseReason::SESSION_CLOSED);
                                None
                            }
                            LinkFrame::Ping { n } => Some(LinkFrame::Pong { n }),
                            LinkFrame::Pong { n } => {
                                pinger.pong(n);
                                None
                            }
                            LinkFrame::Open { .. } => {
                                tracing::debug!("ignored an open from the daemon");
                                None
                            }
                        };
                        if let Some(reply) = reply {
                            if socket.send(json(&reply)).await.is_err() {
                                why = Some(None);
                            }
                        }
                    }
                    Inbound::Skip => {}
                    Inbound::End(r) => why = Some(r),
                },
                _ = pinger.timer.tick() => match pinger.next() {
                    Some(n) => {
                        if socket.send(json(&LinkFrame::Ping { n })).await.is_err() {
                            why = Some(None);
                        }
                    }
                    None => {
                        tracing::warn!("closing the session link: two pings went unanswered");
                        why = Some(Some(CloseReason::NO_PONG));
                    }
                },
            }
        }
        hub.detach_link(&key, id);
        if let Some(mesh) = hub.mesh() {
            if let Err(e) = mesh.link_down(&key, id).await {
                tracing::debug!("the link's registration stays until it expires: {e}");
            }
        }
        if let Some(Some(reason)) = why {
            close(&mut socket, reason).await;
        }
        tracing::info!("session link down");
    }
    .instrument(span)
    .await
}

/// A device's message on its way into a full link queue.
type Forward = Pin<Box<dyn Future<Output = Result<(), ()>> + Send>>;

/// Serves a device's attach socket until it closes or is closed.
pub(crate) async fn run_attach(
    relay: Relay,
    mut socket: WebSocket,
    key: RouteKey,
    owner: String,
    device: String,
) {
    // With other instances, a socket's number comes from joining them.
    let attached = match relay.hub().mesh() {
        Some(mesh) if !mesh.joined().await => None,
        _ => relay.hub().attach_device(&key, &owner, &device),
    };
    let Some((joined, link)) = attached else {
        tracing::warn!("closing the attach socket: the relay has not joined the other instances");
        close(&mut socket, CloseReason::NO_REDIS).await;
        return;
    };
    let Joined {
        id: client,
        mut rx,
        mut kill,
    } = joined;
    let span = tracing::info_span!("attach", env = %key.env, session = %key.session, device = %device, client);
    async move {
        let hub = relay.hub();
        let mut why = None;
        let up = match hub.mesh() {
            // Found by a link on another instance from here on; told to
            // the link if it is on one.
            Some(mesh) => match mesh.device_up(&key, client, &device).await {
                Ok(found) => hub.device_registered(&key, client, &device, found),
                Err(e) => {
                    tracing::warn!("closing the attach socket: {e}");
                    why = Some(Some(CloseReason::NO_REDIS));
                    false
                }
            },
            None => matches!(link, LinkPath::Local(_)),
        };
        tracing::info!(link_up = up, "device attached");
        // A device greets the daemon as soon as it connects; if no link is
        // up, that greeting goes nowhere, so say so (it greets again on
        // `link up`). With a link up there is nothing to say.
        if !up && why.is_none() {
            let down = json(&DeviceFrame::Link { up: false });
            if socket.send(down).await.is_err() {
                why = Some(None);
            }
        }
        if let LinkPath::Local(link) = link {
            let _ = link
                .send(json(&LinkFrame::Open {
                    client,
                    device: device.clone(),
                }))
                .await;
        }
        let mut pinger = Pinger::new(relay.options().ping_interval);
        // A message of the device waiting for room in the link's queue.
        // Meanwhile the device is not read (it is slowed down to the
        // daemon's pace), but what is queued for it is still written: the
        // daemon's answers to what it sent before must not fill its queue
        // and get it closed as too slow while it reads everything.
        let mut forward: Option<Forward> = None;
        let mut budget = Budget::new(Instant::now());
        while why.is_none() {
            tokio::select! {
                biased;
                r = &mut kill => why = Some(Some(r.unwrap_or(CloseReason::SHUTDOWN))),
                Some(out) = rx.recv() => {
                    // A device that stops reading is closed while it
                    // blocks this write: once its queue is full, or when
                    // one write takes longer than DEVICE_WRITE_TIMEOUT.
                    tokio::select! {
                        sent = socket.send(out) => if sent.is_err() {
                            why = Some(None);
                        },
                        r = &mut kill => why = Some(Some(r.unwrap_or(CloseReason::SHUTDOWN))),
                        _ = tokio::time::sleep(DEVICE_WRITE_TIMEOUT) => {
                            tracing::warn!("closing the attach socket: the device stopped reading");
                            why = Some(Some(CloseReason::TOO_SLOW));
                        }
                    }
                }
                sent = async { forward.as_mut().expect("guarded").await }, if forward.is_some() => {
                    forward = None;
                    if sent.is_err() {
                        tracing::debug!("the session link went down: a message was dropped");
                    }
                }
                msg = socket.recv(), if forward.is_none() => match read::<DeviceFrame>(msg) {
                    Inbound::Payload(payload) => {
                        // With its client in front it must still fit the
                        // daemon's limit: checked before the copy.
                        if CLIENT_PREFIX + payload.len() > MAX_BODY {
                            tracing::warn!("closing the socket: a message too large to forward");
                            why = Some(Some(CloseReason::TOO_LARGE));
                        } else {
                            let data = rcd_proto::relay::link_payload(client, &payload);
                            match hub.link(&key) {
                                LinkPath::Local(link) => match link.try_send(Message::Binary(data.into())) {
                                    Ok(()) => {}
                                    Err(Refused::Full(out)) => {
                                        forward = Some(Box::pin(async move { link.send(out).await.map_err(drop) }));
                                    }
                                    Err(Refused::Closed(_)) => {
                                        tracing::debug!("the session link went down: a message was dropped");
                                    }
                                },
                                LinkPath::Remote(link) => {
                                    let wait = budget.take(data.len(), Instant::now());
                                    if wait.is_zero() {
                                        hub.to_remote_link(&key, link, data);
                                    } else {
                                        let (relay, key) = (relay.clone(), key.clone());
                                        forward = Some(Box::pin(async move {
                                            tokio::time::sleep(wait).await;
                                            relay.hub().to_remote_link(&key, link, data);
                                            Ok(())
                                        }));
                                    }
                                }
                                LinkPath::Down => {
                                    tracing::debug!("the session link is down: a message was dropped");
                                }
                            }
                        }
                    }
                    Inbound::Frame(DeviceFrame::LegacyData { .. }) => {
                        // A device of protocol 1: the daemon would not
                        // understand it, so the relay answers as the
                        // daemon answers another version, in that
                        // device's own form.
                        tracing::info!("a device of relay protocol 1: told to update");
                        let refusal = Message::text(rcd_proto::relay::legacy_version_error());
                        if socket.send(refusal).await.is_err() {
                            why = Some(None);
                        }
                    }
                    Inbound::Frame(DeviceFrame::Ping { n }) => {
                        let pong = json(&DeviceFrame::Pong { n });
                        if socket.send(pong).await.is_err() {
                            why = Some(None);
                        }
                    }
                    Inbound::Frame(DeviceFrame::Pong { n }) => pinger.pong(n),
                    Inbound::Frame(DeviceFrame::Link { .. }) => {
                        tracing::debug!("ignored a link frame from the device");
                    }
                    Inbound::Skip => {}
                    Inbound::End(r) => why = Some(r),
                },
                _ = pinger.timer.tick() => match pinger.next() {
                    Some(n) => {
                        if socket.send(json(&DeviceFrame::Ping { n })).await.is_err() {
                            why = Some(None);
                        }
                    }
                    None => {
                        tracing::info!("closing the attach socket: two pings went unanswered");
                        why = Some(Some(CloseReason::NO_PONG));
                    }
                },
            }
        }
        if let Some(link) = hub.detach_device(&key, client) {
            let close_msg = json(&LinkFrame::Close { client });
            let _ = tokio::time::timeout(Duration::from_secs(5), link.send(close_msg)).await;
        }
        if let Some(mesh) = hub.mesh() {
            match mesh.device_down(&key, client).await {
                Ok(link) => hub.device_gone(&key, client, link),
                Err(e) => {
                    tracing::debug!("the device's registration stays until it is pruned: {e}")
                }
            }
        }
        if let Some(Some(reason)) = why {
            close(&mut socket, reason).await;
        }
        tracing::info!("device detached");
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_sending_to_another_instance_is_slowed_past_its_allowance() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut b = Budget::new(t0);
        // A link queue's worth goes at once.
        assert_eq!(b.take(QUEUE_BYTES / 2, t0), Duration::ZERO);
        assert_eq!(b.take(QUEUE_BYTES / 2, t0), Duration::ZERO);
        // Then the device waits what its bytes take at REMOTE_RATE.
        let wait = b.take(1 << 20, t0);
        assert_eq!(wait, Duration::from_millis(250));
        // Having waited, it is even again; the allowance grows back, to
        // at most a queue's worth.
        assert_eq!(b.take(0, at(250)), Duration::ZERO);
        assert_eq!(b.take(QUEUE_BYTES, at(10_000)), Duration::ZERO);
        assert!(b.take(1, at(10_000)) > Duration::ZERO);
    }
}
