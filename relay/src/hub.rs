//! Live routing: which session link and which attach sockets are connected
//! now. This is the one piece of relay state that is not in the
//! [`crate::Store`]: it is made of this process's sockets. (Several relay
//! instances would route between each other through pub/sub here.)
//!
//! One `std::sync::Mutex` over a map keyed by (environment, session). It is
//! never held across an `.await`: everything done under it is a map change
//! or a non-blocking `try_send`. Each socket task owns its WebSocket and
//! is fed by a bounded channel (messages to send: text envelopes, binary
//! session messages) plus a one-shot "close now" signal; removing a socket
//! from the hub fires that signal. Under `relay-fan-in` (3,200 sockets on
//! one relay) a sharded concurrent map did no better than this one lock
//! (docs/PERFORMANCE.md).

use crate::queue::{QueueRx, QueueTx, queue};
use axum::extract::ws::Message;
use rcd_proto::relay::{DeviceFrame, LinkFrame};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Why the relay closes a WebSocket: the close code and reason it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

impl CloseReason {
    /// The daemon said `close` for this device.
    pub const SESSION_CLOSED: CloseReason = CloseReason {
        code: 1000,
        reason: "closed by the session",
    };
    /// The relay is stopping.
    pub const SHUTDOWN: CloseReason = CloseReason {
        code: 1001,
        reason: "the relay is shutting down",
    };
    /// A text message that is not an envelope, or a binary message of a
    /// link too short to name its client.
    pub const GARBAGE: CloseReason = CloseReason {
        code: 1007,
        reason: "not a valid frame",
    };
    /// The token behind the socket was revoked.
    pub const REVOKED: CloseReason = CloseReason {
        code: 1008,
        reason: "the token was revoked",
    };
    /// A WebSocket frame that breaks the protocol (a reserved opcode or
    /// bit, an unmasked client frame, a fragment out of order).
    pub const PROTOCOL: CloseReason = CloseReason {
        code: 1002,
        reason: "not a valid WebSocket frame",
    };
    /// A message over the limit.
    pub const TOO_LARGE: CloseReason = CloseReason {
        code: 1009,
        reason: "message too large (limit 1 MiB)",
    };
    /// A newer link for the same session connected.
    pub const REPLACED: CloseReason = CloseReason {
        code: 4000,
        reason: "replaced by a newer link",
    };
    /// The socket's queue filled up.
    pub const TOO_SLOW: CloseReason = CloseReason {
        code: 4001,
        reason: "too slow to keep up",
    };
    /// Two pings went unanswered.
    pub const NO_PONG: CloseReason = CloseReason {
        code: 4002,
        reason: "two pings went unanswered",
    };
    /// The environment was deregistered or forgotten.
    pub const GONE: CloseReason = CloseReason {
        code: 4004,
        reason: "the environment is gone",
    };
}

/// A session's route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RouteKey {
    pub env: String,
    pub session: String,
}

/// What a socket task is given when it joins the hub.
#[derive(Debug)]
pub(crate) struct Joined {
    /// Its number: the link's generation, or the device's `client`.
    pub id: u64,
    /// Messages to send on the socket. Screen updates are acknowledged
    /// one at a time, so a device that keeps up never has more than a few
    /// in flight; a full queue closes the slowest reader.
    pub rx: QueueRx,
    /// Fires (or is dropped) when the hub closes the socket.
    pub kill: oneshot::Receiver<CloseReason>,
}

#[derive(Debug)]
struct Peer {
    /// Enrollment token the socket derives from.
    owner: String,
    /// Device token id (attach sockets).
    device: Option<String>,
    tx: QueueTx,
    kill: Option<oneshot::Sender<CloseReason>>,
}

impl Peer {
    fn close(mut self, reason: CloseReason) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(reason);
        }
    }
}

#[derive(Debug, Default)]
struct Route {
    link: Option<(u64, Peer)>,
    devices: BTreeMap<u64, Peer>,
}

/// What happened to a message for one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    Queued,
    /// No such client on this route.
    Unknown,
    /// Its queue was full: it was closed as too slow.
    Dropped,
}

#[derive(Debug, Default)]
pub(crate) struct Hub {
    routes: Mutex<HashMap<RouteKey, Route>>,
    next_id: AtomicU64,
}

/// An envelope as the text message that carries it.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Message {
    Message::text(serde_json::to_string(v).expect("envelopes serialize"))
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HashMap<RouteKey, Route>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn join(&self, owner: &str, device: Option<&str>) -> (Peer, Joined) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = queue();
        let (kill_tx, kill) = oneshot::channel();
        let p = Peer {
            owner: owner.to_string(),
            device: device.map(str::to_string),
            tx,
            kill: Some(kill_tx),
        };
        (p, Joined { id, rx, kill })
    }

    /// Installs a session link, replacing (and closing) an older one. The
    /// attached devices are told the link is up; the caller sends `open`
    /// for each returned (client, device) before anything else.
    pub fn attach_link(&self, key: &RouteKey, owner: &str) -> (Joined, Vec<(u64, String)>) {
        let (p, joined) = self.join(owner, None);
        let mut routes = self.lock();
        let route = routes.entry(key.clone()).or_default();
        if let Some((_, old)) = route.link.replace((joined.id, p)) {
            old.close(CloseReason::REPLACED);
        }
        let up = json(&DeviceFrame::Link { up: true });
        let mut slow = Vec::new();
        let mut clients = Vec::new();
        for (client, d) in &route.devices {
            if d.tx.try_send(up.clone()).is_err() {
                slow.push(*client);
            } else {
                clients.push((*client, d.device.clone().unwrap_or_default()));
            }
        }
        for client in slow {
            if let Some(d) = route.devices.remove(&client) {
                d.close(CloseReason::TOO_SLOW);
            }
        }
        (joined, clients)
    }

    /// The link `id` ended; if it is still the route's link, the devices
    /// are told it is down.
    pub fn detach_link(&self, key: &RouteKey, id: u64) {
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(key) else {
            return;
        };
        if route.link.as_ref().is_some_and(|(l, _)| *l == id) {
            route.link = None;
            let down = json(&DeviceFrame::Link { up: false });
            route
                .devices
                .retain(|_, d| d.tx.try_send(down.clone()).is_ok());
        }
        if route.link.is_none() && route.devices.is_empty() {
            routes.remove(key);
        }
    }

    /// Adds an attach socket. Returns it and the current link's queue, if
    /// a link is up, to which the caller sends `open`.
    pub fn attach_device(
        &self,
        key: &RouteKey,
        owner: &str,
        device: &str,
    ) -> (Joined, Option<QueueTx>) {
        let (p, joined) = self.join(owner, Some(device));
        let mut routes = self.lock();
        let route = routes.entry(key.clone()).or_default();
        route.devices.insert(joined.id, p);
        let link = route.link.as_ref().map(|(_, l)| l.tx.clone());
        (joined, link)
    }

    /// The attach socket `client` ended. Returns the link's queue (to send
    /// `close` to) if the device was still routed.
    pub fn detach_device(&self, key: &RouteKey, client: u64) -> Option<QueueTx> {
        let mut routes = self.lock();
        let route = routes.get_mut(key)?;
        let removed = route.devices.remove(&client).is_some();
        let link = route.link.as_ref().map(|(_, l)| l.tx.clone());
        if route.link.is_none() && route.devices.is_empty() {
            routes.remove(key);
        }
        if removed { link } else { None }
    }

    /// The current link's queue.
    pub fn link(&self, key: &RouteKey) -> Option<QueueTx> {
        let routes = self.lock();
        routes.get(key)?.link.as_ref().map(|(_, l)| l.tx.clone())
    }

    /// Whether a link is up for the session.
    #[cfg(test)]
    pub fn link_up(&self, key: &RouteKey) -> bool {
        self.link(key).is_some()
    }

    /// Queues a message for one device of the route.
    pub fn to_device(&self, key: &RouteKey, client: u64, msg: Message) -> Delivery {
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(key) else {
            return Delivery::Unknown;
        };
        let Some(d) = route.devices.get(&client) else {
            return Delivery::Unknown;
        };
        if d.tx.try_send(msg).is_ok() {
            return Delivery::Queued;
        }
        if let Some(d) = route.devices.remove(&client) {
            d.close(CloseReason::TOO_SLOW);
        }
        Delivery::Dropped
    }

    /// Closes one device of the route (the daemon said `close`).
    pub fn close_device(&self, key: &RouteKey, client: u64, reason: CloseReason) {
        let mut routes = self.lock();
        if let Some(d) = routes.get_mut(key).and_then(|r| r.devices.remove(&client)) {
            d.close(reason);
        }
    }

    /// Closes every socket of an environment (it was deregistered,
    /// forgotten, or its token revoked).
    pub fn close_environment(&self, env: &str, reason: CloseReason) {
        let mut routes = self.lock();
        let keys: Vec<RouteKey> = routes.keys().filter(|k| k.env == env).cloned().collect();
        for k in keys {
            if let Some(route) = routes.remove(&k) {
                close_route(route, reason);
            }
        }
    }

    /// Closes every socket whose owner is not in `owners`, and every attach
    /// socket whose device is not in `devices`. Links are told `close` for
    /// the devices they lose. Returns how many sockets were closed.
    pub fn retain_tokens(&self, owners: &HashSet<String>, devices: &HashSet<String>) -> usize {
        let mut closed = 0;
        let mut routes = self.lock();
        routes.retain(|_, route| {
            if route
                .link
                .as_ref()
                .is_some_and(|(_, l)| !owners.contains(&l.owner))
            {
                if let Some((_, l)) = route.link.take() {
                    l.close(CloseReason::REVOKED);
                    closed += 1;
                }
            }
            let gone: Vec<u64> = route
                .devices
                .iter()
                .filter(|(_, d)| {
                    !owners.contains(&d.owner)
                        || !d.device.as_ref().is_some_and(|id| devices.contains(id))
                })
                .map(|(c, _)| *c)
                .collect();
            for client in gone {
                if let Some(d) = route.devices.remove(&client) {
                    d.close(CloseReason::REVOKED);
                    closed += 1;
                    if let Some((_, l)) = &route.link {
                        let _ = l.tx.try_send(json(&LinkFrame::Close { client }));
                    }
                }
            }
            route.link.is_some() || !route.devices.is_empty()
        });
        closed
    }

    /// Closes everything (shutdown).
    pub fn close_all(&self, reason: CloseReason) {
        let routes = std::mem::take(&mut *self.lock());
        for route in routes.into_values() {
            close_route(route, reason);
        }
    }
}

fn close_route(route: Route, reason: CloseReason) {
    if let Some((_, l)) = route.link {
        l.close(reason);
    }
    for d in route.devices.into_values() {
        d.close(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RouteKey {
        RouteKey {
            env: "env_1".into(),
            session: "a".into(),
        }
    }

    #[test]
    fn devices_follow_the_link_up_and_down() {
        let hub = Hub::default();
        let (mut dev, link) = hub.attach_device(&key(), "enr_a", "dev_1");
        assert!(link.is_none(), "no link yet");
        let (mut l1, clients) = hub.attach_link(&key(), "enr_a");
        assert_eq!(clients, vec![(dev.id, "dev_1".to_string())]);
        assert_eq!(
            dev.rx.try_recv().unwrap(),
            Message::text(r#"{"t":"link","up":true}"#)
        );
        // A second link replaces the first, which is told to close.
        let (l2, clients) = hub.attach_link(&key(), "enr_a");
        assert_eq!(clients.len(), 1);
        assert_eq!(l1.kill.try_recv().unwrap(), CloseReason::REPLACED);
        hub.detach_link(&key(), l1.id);
        assert!(hub.link_up(&key()), "the old link's end does not matter");
        hub.detach_link(&key(), l2.id);
        assert!(!hub.link_up(&key()));
        let _ = dev.rx.try_recv();
        assert_eq!(
            dev.rx.try_recv().unwrap(),
            Message::text(r#"{"t":"link","up":false}"#)
        );
        assert!(hub.detach_device(&key(), dev.id).is_none(), "no link");
        assert!(hub.lock().is_empty(), "empty routes are dropped");
    }

    #[test]
    fn revocation_closes_the_sockets_of_revoked_tokens() {
        let hub = Hub::default();
        let (_l, _) = hub.attach_link(&key(), "enr_a");
        let (mut d1, _) = hub.attach_device(&key(), "enr_a", "dev_1");
        let (mut d2, _) = hub.attach_device(&key(), "enr_a", "dev_2");
        let owners: HashSet<String> = ["enr_a".to_string()].into();
        let devices: HashSet<String> = ["dev_2".to_string()].into();
        assert_eq!(hub.retain_tokens(&owners, &devices), 1);
        assert_eq!(d1.kill.try_recv().unwrap(), CloseReason::REVOKED);
        assert!(d2.kill.try_recv().is_err(), "still open");
        assert_eq!(hub.retain_tokens(&HashSet::new(), &devices), 2);
        assert_eq!(d2.kill.try_recv().unwrap(), CloseReason::REVOKED);
    }

    #[test]
    fn a_full_device_queue_drops_that_device_only() {
        let hub = Hub::default();
        let (mut d, _) = hub.attach_device(&key(), "enr_a", "dev_1");
        let msg = |i: usize| Message::binary(i.to_be_bytes().to_vec());
        for i in 0..crate::queue::QUEUE_MESSAGES {
            assert_eq!(hub.to_device(&key(), d.id, msg(i)), Delivery::Queued);
        }
        assert_eq!(hub.to_device(&key(), d.id, msg(0)), Delivery::Dropped);
        assert_eq!(d.kill.try_recv().unwrap(), CloseReason::TOO_SLOW);
        assert_eq!(hub.to_device(&key(), d.id, msg(0)), Delivery::Unknown);
    }

    #[test]
    fn a_device_queue_full_of_bytes_drops_that_device_too() {
        let hub = Hub::default();
        let (mut d, _) = hub.attach_device(&key(), "enr_a", "dev_1");
        let part = || Message::binary(vec![b'x'; 1 << 20]);
        let fit = crate::queue::QUEUE_BYTES >> 20;
        for _ in 0..fit {
            assert_eq!(hub.to_device(&key(), d.id, part()), Delivery::Queued);
        }
        assert_eq!(hub.to_device(&key(), d.id, part()), Delivery::Dropped);
        assert_eq!(d.kill.try_recv().unwrap(), CloseReason::TOO_SLOW);
    }
}
