//! Live routing: which session link and which attach sockets are connected
//! now. This is the one piece of relay state that is not in the
//! [`crate::Store`]: it is made of this process's sockets. Instances that
//! share a Redis route between each other through [`crate::mesh`]: a
//! route then has its local side here and notes for the other side.
//!
//! One `std::sync::Mutex` over a map keyed by (environment, session). It is
//! never held across an `.await`: everything done under it is a map change
//! or a non-blocking `try_send`. Each socket task owns its WebSocket and
//! is fed by a bounded channel (messages to send: text envelopes, binary
//! session messages) plus a one-shot "close now" signal; removing a socket
//! from the hub fires that signal. Under `relay-fan-in` (3,200 sockets on
//! one relay) a sharded concurrent map did no better than this one lock
//! (docs/PERFORMANCE.md).

pub(crate) use crate::mesh::RouteKey;
use crate::mesh::{Envelope, Mesh, Note, Registered, RemoteLink, Side};
use crate::queue::{QueueRx, QueueTx, Refused, queue};
use axum::body::Bytes;
use axum::extract::ws::Message;
use rcd_proto::relay::{DeviceFrame, LinkFrame};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque, btree_map};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
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
    /// The relay lost its Redis (and with it the other instances).
    pub const NO_REDIS: CloseReason = CloseReason {
        code: 1013,
        reason: "the relay lost its Redis: connect again",
    };

    /// The reason with this code, as another instance names it.
    pub(crate) fn from_code(code: u16) -> CloseReason {
        [
            CloseReason::SESSION_CLOSED,
            CloseReason::SHUTDOWN,
            CloseReason::REVOKED,
            CloseReason::REPLACED,
            CloseReason::TOO_SLOW,
            CloseReason::GONE,
            CloseReason::NO_REDIS,
        ]
        .into_iter()
        .find(|r| r.code == code)
        .unwrap_or(CloseReason::SESSION_CLOSED)
    }
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

/// The session's link on this instance.
#[derive(Debug)]
struct LocalLink {
    id: u64,
    /// Its generation among the instances; `None` until it is registered
    /// (and always without Redis).
    generation: Option<u64>,
    peer: Peer,
}

/// A device attached through another instance to this instance's link.
#[derive(Debug)]
struct RemoteDevice {
    inst: u64,
    device: String,
}

/// Clients remembered as gone before they were heard of (a note that
/// overtook the registry), per route.
const GONE_KEPT: usize = 64;

#[derive(Debug)]
struct Route {
    link: Option<LocalLink>,
    /// The session's link when it is on another instance (or, while the
    /// local link is not registered yet, one that may be newer).
    remote_link: Option<RemoteLink>,
    devices: BTreeMap<u64, Peer>,
    /// Devices on other instances, served by the local link.
    remote: BTreeMap<u64, RemoteDevice>,
    gone: VecDeque<u64>,
    since: Instant,
}

impl Route {
    fn new() -> Route {
        Route {
            link: None,
            remote_link: None,
            devices: BTreeMap::new(),
            remote: BTreeMap::new(),
            gone: VecDeque::new(),
            since: Instant::now(),
        }
    }

    fn is_empty(&self) -> bool {
        self.link.is_none() && self.devices.is_empty()
    }

    /// Sends `msg` to every local device; closes those too slow for it.
    fn tell_devices(&mut self, msg: &Message) {
        let slow: Vec<u64> = self
            .devices
            .iter()
            .filter(|(_, d)| d.tx.try_send(msg.clone()).is_err())
            .map(|(c, _)| *c)
            .collect();
        for client in slow {
            if let Some(d) = self.devices.remove(&client) {
                d.close(CloseReason::TOO_SLOW);
            }
        }
    }

    fn link_state(&mut self, up: bool) {
        self.tell_devices(&json(&DeviceFrame::Link { up }));
    }

    fn remember_gone(&mut self, client: u64) {
        if self.gone.len() == GONE_KEPT {
            self.gone.pop_front();
        }
        self.gone.push_back(client);
    }
}

/// Where a device's messages go.
#[derive(Debug, Clone)]
pub(crate) enum LinkPath {
    Local(QueueTx),
    Remote(RemoteLink),
    Down,
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
    mesh: Option<Arc<Mesh>>,
}

/// An envelope as the text message that carries it.
pub(crate) fn json<T: serde::Serialize>(v: &T) -> Message {
    Message::text(serde_json::to_string(v).expect("envelopes serialize"))
}

type Routes = HashMap<RouteKey, Route>;

impl Hub {
    /// A hub routing through `mesh` to the other instances, if given.
    pub fn new(mesh: Option<Mesh>) -> Hub {
        Hub {
            mesh: mesh.map(Arc::new),
            ..Hub::default()
        }
    }

    /// How this instance reaches the others, when it shares a Redis.
    pub fn mesh(&self) -> Option<&Arc<Mesh>> {
        self.mesh.as_ref()
    }

    fn me(&self) -> u64 {
        self.mesh.as_ref().map_or(0, |m| m.me())
    }

    fn tell(&self, to: u64, key: &RouteKey, note: Note) {
        if let Some(m) = &self.mesh {
            m.send(to, key, note);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A socket's number, unique among every instance on the Redis: the
    /// instance's number above the low 32 bits (kept below 2^53, so a
    /// script's or a browser's number holds it exactly). `None` while the
    /// instance is not joined: it has no number to give.
    fn next_id(&self) -> Option<u64> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.mesh {
            Some(m) => match m.me() {
                0 => None,
                me => Some(((me & 0x1f_ffff) << 32) | (n & 0xffff_ffff)),
            },
            None => Some(n),
        }
    }

    fn join(&self, owner: &str, device: Option<&str>) -> Option<(Peer, Joined)> {
        let id = self.next_id()?;
        let (tx, rx) = queue();
        let (kill_tx, kill) = oneshot::channel();
        let p = Peer {
            owner: owner.to_string(),
            device: device.map(str::to_string),
            tx,
            kill: Some(kill_tx),
        };
        Some((p, Joined { id, rx, kill }))
    }

    /// Installs a session link, replacing (and closing) an older one. The
    /// attached devices are told the link is up; the caller sends `open`
    /// for each returned (client, device) before anything else. `None`
    /// while the instance is not joined to the others.
    pub fn attach_link(&self, key: &RouteKey, owner: &str) -> Option<(Joined, Vec<(u64, String)>)> {
        let (peer, joined) = self.join(owner, None)?;
        let mut routes = self.lock();
        let route = routes.entry(key.clone()).or_insert_with(Route::new);
        let link = LocalLink {
            id: joined.id,
            generation: None,
            peer,
        };
        if let Some(old) = route.link.replace(link) {
            old.peer.close(CloseReason::REPLACED);
        }
        route.link_state(true);
        let mut clients: Vec<(u64, String)> = route
            .devices
            .iter()
            .map(|(c, d)| (*c, d.device.clone().unwrap_or_default()))
            .collect();
        clients.extend(route.remote.iter().map(|(c, d)| (*c, d.device.clone())));
        Some((joined, clients))
    }

    /// The link `id` is registered among the instances as generation
    /// `reg.generation`. Returns the devices on other instances to `open` as
    /// well; closes the link instead if a newer one is known.
    pub fn link_registered(&self, key: &RouteKey, id: u64, reg: Registered) -> Vec<(u64, String)> {
        let me = self.me();
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(key) else {
            return Vec::new();
        };
        if reg.generation == 0 || route.link.as_ref().is_none_or(|l| l.id != id) {
            return Vec::new();
        }
        if route
            .remote_link
            .is_some_and(|r| r.generation > reg.generation)
        {
            if let Some(l) = route.link.take() {
                l.peer.close(CloseReason::REPLACED);
            }
            route.remote.clear();
            return Vec::new();
        }
        route.remote_link = None;
        if let Some(l) = route.link.as_mut() {
            l.generation = Some(reg.generation);
        }
        if let Some(old) = reg.old {
            let note = Note::Replaced {
                link: old.id,
                by: id,
                generation: reg.generation,
            };
            self.tell(old.inst, key, note);
        }
        let mut opens = Vec::new();
        for (client, inst, device) in reg.devices {
            if inst == me || route.remote.contains_key(&client) || route.gone.contains(&client) {
                continue;
            }
            opens.push((client, device.clone()));
            route.remote.insert(client, RemoteDevice { inst, device });
        }
        let up = Note::LinkUp {
            link: id,
            generation: reg.generation,
        };
        for inst in instances(&route.remote) {
            self.tell(inst, key, up.clone());
        }
        opens
    }

    /// Makes `r`, on another instance and newer than any link known here,
    /// the route's link: a local one is closed as replaced, the local
    /// devices are told the link is up, and each is announced to `r`'s
    /// instance (which ignores the devices it has already).
    fn adopt(&self, key: &RouteKey, route: &mut Route, r: RemoteLink) {
        route.remote_link = Some(r);
        if route.link.is_some() {
            self.drop_link(key, route, Some(CloseReason::REPLACED));
        } else {
            route.link_state(true);
        }
        for (client, d) in &route.devices {
            self.announce(key, r, *client, d.device.as_deref().unwrap_or_default());
        }
    }

    /// Tells the instance of the link `to` that the local device `client`
    /// attached to it.
    fn announce(&self, key: &RouteKey, to: RemoteLink, client: u64, device: &str) {
        let note = Note::DeviceUp {
            client,
            link: to.id,
            device: device.to_string(),
        };
        self.tell(to.inst, key, note);
    }

    /// Takes the route's local link away: closes it with `reason` (if
    /// given), tells the instances of its remote devices, and the local
    /// devices where the session now is.
    fn drop_link(&self, key: &RouteKey, route: &mut Route, reason: Option<CloseReason>) {
        let Some(l) = route.link.take() else {
            return;
        };
        if let Some(reason) = reason {
            l.peer.close(reason);
        }
        let down = Note::LinkDown { link: l.id };
        for inst in instances(&route.remote) {
            self.tell(inst, key, down.clone());
        }
        route.remote.clear();
        route.link_state(route.remote_link.is_some());
    }

    /// The link `id` ended; if it is still the route's link, the devices
    /// are told it is down.
    pub fn detach_link(&self, key: &RouteKey, id: u64) {
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(key) else {
            return;
        };
        if route.link.as_ref().is_some_and(|l| l.id == id) {
            self.drop_link(key, route, None);
        }
        if route.is_empty() {
            routes.remove(key);
        }
    }

    /// Adds an attach socket. Returns it and where its messages go now; to
    /// a local link, the caller sends `open`. `None` while the instance is
    /// not joined to the others.
    pub fn attach_device(
        &self,
        key: &RouteKey,
        owner: &str,
        device: &str,
    ) -> Option<(Joined, LinkPath)> {
        let (p, joined) = self.join(owner, Some(device))?;
        let mut routes = self.lock();
        let route = routes.entry(key.clone()).or_insert_with(Route::new);
        route.devices.insert(joined.id, p);
        Some((joined, path(route)))
    }

    /// The device `client` is registered among the instances; `found` is
    /// the session's link as the registry knew it. Tells that link's
    /// instance about the device. Returns whether a link is up.
    pub fn device_registered(
        &self,
        key: &RouteKey,
        client: u64,
        device: &str,
        found: Option<RemoteLink>,
    ) -> bool {
        let me = self.me();
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(key) else {
            return false;
        };
        if !route.devices.contains_key(&client) {
            return false;
        }
        // The registry's link, if newer than every link known here, is
        // the route's link now (it was registered while this device was).
        let mine = match &route.link {
            Some(l) => l.generation,
            None => route.remote_link.map(|r| r.generation),
        };
        let newer = found.filter(|f| f.inst != me && mine.is_none_or(|g| g < f.generation));
        match newer {
            // A local link not registered yet comes out newer than it.
            Some(_) if route.link.as_ref().is_some_and(|l| l.generation.is_none()) => true,
            // The first link this route hears of: only this device is new
            // to it.
            Some(f) if route.link.is_none() && route.remote_link.is_none() => {
                route.remote_link = Some(f);
                self.announce(key, f, client, device);
                true
            }
            // It replaces the link the other devices are on.
            Some(f) => {
                self.adopt(key, route, f);
                true
            }
            None if route.link.is_some() => true,
            None => match route.remote_link {
                Some(r) => {
                    self.announce(key, r, client, device);
                    true
                }
                None => false,
            },
        }
    }

    /// Takes a local device away: closes it with `reason` (if given), and
    /// tells the session's link (`close`) wherever it is.
    fn drop_device(
        &self,
        key: &RouteKey,
        route: &mut Route,
        client: u64,
        reason: Option<CloseReason>,
    ) -> bool {
        let Some(d) = route.devices.remove(&client) else {
            return false;
        };
        if let Some(reason) = reason {
            d.close(reason);
        }
        if let Some(l) = &route.link {
            close_on_link(&l.peer.tx, client);
        } else if let Some(r) = route.remote_link {
            self.tell(r.inst, key, Note::DeviceDown { client });
        }
        true
    }

    /// The attach socket `client` ended. Returns the local link's queue
    /// (to send `close` to) if the device was still routed; a link on
    /// another instance is told here.
    pub fn detach_device(&self, key: &RouteKey, client: u64) -> Option<QueueTx> {
        let mut routes = self.lock();
        let route = routes.get_mut(key)?;
        let mut link = None;
        if route.devices.remove(&client).is_some() {
            if let Some(l) = &route.link {
                link = Some(l.peer.tx.clone());
            } else if let Some(r) = route.remote_link {
                self.tell(r.inst, key, Note::DeviceDown { client });
            }
        }
        if route.is_empty() {
            routes.remove(key);
        }
        link
    }

    /// The registry named `link` as the session's link when the device
    /// `client` left: its instance is told too, in case the device left
    /// before hearing of that link (a second `DeviceDown` is harmless).
    pub fn device_gone(&self, key: &RouteKey, client: u64, link: Option<RemoteLink>) {
        if let Some(l) = link.filter(|l| l.inst != self.me()) {
            self.tell(l.inst, key, Note::DeviceDown { client });
        }
    }

    /// Where the route's device messages go now.
    pub fn link(&self, key: &RouteKey) -> LinkPath {
        self.lock().get(key).map_or(LinkPath::Down, path)
    }

    /// Whether a link is up for the session.
    #[cfg(test)]
    pub fn link_up(&self, key: &RouteKey) -> bool {
        !matches!(self.link(key), LinkPath::Down)
    }

    /// Sends a device's message (its client in front) to a link on
    /// another instance.
    pub fn to_remote_link(&self, key: &RouteKey, link: RemoteLink, data: Vec<u8>) {
        let note = Note::ToLink {
            link: link.id,
            data: data.into(),
        };
        self.tell(link.inst, key, note);
    }

    /// Queues a message for one device of the route, here or on another
    /// instance.
    pub fn to_device(&self, key: &RouteKey, client: u64, payload: Bytes) -> Delivery {
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(key) else {
            return Delivery::Unknown;
        };
        if let Some(d) = route.remote.get(&client) {
            self.tell(d.inst, key, Note::ToDevice { client, payload });
            return Delivery::Queued;
        }
        let Some(d) = route.devices.get(&client) else {
            return Delivery::Unknown;
        };
        if d.tx.try_send(Message::Binary(payload)).is_ok() {
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
        let Some(route) = routes.get_mut(key) else {
            return;
        };
        if let Some(d) = route.remote.remove(&client) {
            let note = Note::CloseDevice {
                client,
                code: reason.code,
            };
            self.tell(d.inst, key, note);
        } else if let Some(d) = route.devices.remove(&client) {
            d.close(reason);
        }
    }

    /// Closes every socket of a route, telling the other instances.
    fn close_route(&self, key: &RouteKey, mut route: Route, reason: CloseReason) {
        self.drop_link(key, &mut route, Some(reason));
        let clients: Vec<u64> = route.devices.keys().copied().collect();
        for client in clients {
            self.drop_device(key, &mut route, client, Some(reason));
        }
    }

    /// Closes every socket of an environment (it was deregistered,
    /// forgotten, or its token revoked).
    pub fn close_environment(&self, env: &str, reason: CloseReason) {
        let mut routes = self.lock();
        let keys: Vec<RouteKey> = routes.keys().filter(|k| k.env == env).cloned().collect();
        for k in keys {
            if let Some(route) = routes.remove(&k) {
                self.close_route(&k, route, reason);
            }
        }
    }

    /// Closes the sockets of environments not in `live` whose routes are
    /// older than `listed` (when `live` was read): environments another
    /// instance deregistered or forgot. Returns how many routes closed.
    pub fn retain_environments(&self, live: &HashSet<String>, listed: Instant) -> usize {
        let mut routes = self.lock();
        let keys: Vec<RouteKey> = routes
            .iter()
            .filter(|(k, r)| r.since < listed && !live.contains(&k.env))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &keys {
            if let Some(route) = routes.remove(k) {
                self.close_route(k, route, CloseReason::GONE);
            }
        }
        keys.len()
    }

    /// Closes every socket whose owner is not in `owners`, and every attach
    /// socket whose device is not in `devices`. Links are told `close` for
    /// the devices they lose. Returns how many sockets were closed.
    pub fn retain_tokens(&self, owners: &HashSet<String>, devices: &HashSet<String>) -> usize {
        let mut closed = 0;
        let mut routes = self.lock();
        routes.retain(|key, route| {
            if route
                .link
                .as_ref()
                .is_some_and(|l| !owners.contains(&l.peer.owner))
            {
                self.drop_link(key, route, Some(CloseReason::REVOKED));
                closed += 1;
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
                if self.drop_device(key, route, client, Some(CloseReason::REVOKED)) {
                    closed += 1;
                }
            }
            !route.is_empty()
        });
        closed
    }

    /// Closes everything (shutdown, or a reset among the instances).
    pub fn close_all(&self, reason: CloseReason) {
        let routes = std::mem::take(&mut *self.lock());
        for (key, route) in routes {
            self.close_route(&key, route, reason);
        }
    }
}

impl Side for Hub {
    /// The routes this instance holds a socket of.
    fn route_keys(&self) -> Vec<RouteKey> {
        self.lock().keys().cloned().collect()
    }

    /// Forgets the other side of every route on an instance not in `live`,
    /// as if its sockets had closed.
    fn prune(&self, live: &HashSet<u64>) {
        // An instance that joined after the list was read is not in it,
        // and not dead: numbers only grow.
        let newest = live.iter().copied().max().unwrap_or(0);
        let live = |inst: u64| inst > newest || live.contains(&inst);
        let mut routes = self.lock();
        for route in routes.values_mut() {
            if route.remote_link.is_some_and(|r| !live(r.inst)) {
                route.remote_link = None;
                if route.link.is_none() {
                    route.link_state(false);
                }
            }
            let dead: Vec<u64> = route
                .remote
                .iter()
                .filter(|(_, d)| !live(d.inst))
                .map(|(c, _)| *c)
                .collect();
            for client in dead {
                route.remote.remove(&client);
                if let Some(l) = &route.link {
                    close_on_link(&l.peer.tx, client);
                }
            }
        }
        routes.retain(|_, r| !r.is_empty());
    }

    /// Acts on a note from another instance.
    fn deliver(&self, env: Envelope) {
        let Envelope { from, key, note } = env;
        let mut routes = self.lock();
        let Some(route) = routes.get_mut(&key) else {
            // Nothing of the route here any more: tell the sender what
            // is gone, so it does not keep waiting for it.
            match note {
                Note::DeviceUp { link, .. } | Note::ToLink { link, .. } => {
                    self.tell(from, &key, Note::LinkDown { link });
                }
                Note::ToDevice { client, .. } => {
                    self.tell(from, &key, Note::DeviceDown { client });
                }
                _ => {}
            }
            return;
        };
        match note {
            Note::LinkUp { link, generation } => {
                let theirs = RemoteLink {
                    inst: from,
                    id: link,
                    generation,
                };
                if route
                    .remote_link
                    .is_some_and(|r| r.generation >= generation)
                {
                    return;
                }
                match route.link.as_ref().map(|l| l.generation) {
                    // Not registered yet: whichever is newer shows when it is.
                    Some(None) => route.remote_link = Some(theirs),
                    Some(Some(mine)) if mine >= generation => {}
                    _ => self.adopt(&key, route, theirs),
                }
            }
            Note::LinkDown { link } => {
                if route
                    .remote_link
                    .is_some_and(|r| r.inst == from && r.id == link)
                {
                    route.remote_link = None;
                    if route.link.is_none() {
                        route.link_state(false);
                    }
                }
            }
            Note::Replaced {
                link,
                by,
                generation,
            } => {
                if route
                    .link
                    .as_ref()
                    .is_some_and(|l| l.id == link && l.generation.is_none_or(|g| g < generation))
                {
                    let by = RemoteLink {
                        inst: from,
                        id: by,
                        generation,
                    };
                    self.adopt(&key, route, by);
                }
            }
            Note::DeviceUp {
                client,
                link,
                device,
            } => match &route.link {
                Some(l) if l.id == link => {
                    route.gone.retain(|c| *c != client);
                    if let btree_map::Entry::Vacant(e) = route.remote.entry(client) {
                        let open = json(&LinkFrame::Open {
                            client,
                            device: device.clone(),
                        });
                        let _ = l.peer.tx.try_send(open);
                        e.insert(RemoteDevice { inst: from, device });
                    }
                }
                _ => self.tell(from, &key, Note::LinkDown { link }),
            },
            Note::DeviceDown { client } => {
                // Remembered either way: an `open` for it still on its way
                // (a link registering) must not bring it back.
                route.remember_gone(client);
                if route.remote.remove(&client).is_some() {
                    if let Some(l) = &route.link {
                        close_on_link(&l.peer.tx, client);
                    }
                }
            }
            Note::ToLink { link, data } => {
                let Some(l) = route.link.as_ref().filter(|l| l.id == link) else {
                    self.tell(from, &key, Note::LinkDown { link });
                    return;
                };
                let Some((client, _)) = rcd_proto::relay::split_link_message(&data) else {
                    return;
                };
                if !route.remote.contains_key(&client) {
                    tracing::debug!(client, "a message from a device the link does not serve");
                    return;
                }
                // The device is on another instance and cannot be slowed
                // to the daemon's pace: one that outruns the daemon is
                // closed as too slow, as one that outruns its reader is.
                if let Err(Refused::Full(_)) = l.peer.tx.try_send(Message::Binary(data)) {
                    close_on_link(&l.peer.tx, client);
                    route.remote.remove(&client);
                    let code = CloseReason::TOO_SLOW.code;
                    self.tell(from, &key, Note::CloseDevice { client, code });
                }
            }
            Note::ToDevice { client, payload } => {
                let Some(d) = route.devices.get(&client) else {
                    self.tell(from, &key, Note::DeviceDown { client });
                    return;
                };
                if d.tx.try_send(Message::Binary(payload)).is_err() {
                    if let Some(d) = route.devices.remove(&client) {
                        d.close(CloseReason::TOO_SLOW);
                    }
                    self.tell(from, &key, Note::DeviceDown { client });
                }
            }
            Note::CloseDevice { client, code } => {
                if let Some(d) = route.devices.remove(&client) {
                    d.close(CloseReason::from_code(code));
                }
            }
        }
        if route.is_empty() {
            routes.remove(&key);
        }
    }
}

/// Tells a link that its device `client` is gone. The daemon must hear
/// it even when the link's queue is full: then it is sent as soon as
/// there is room (within 5 s), from a task of its own.
fn close_on_link(tx: &QueueTx, client: u64) {
    let close = json(&LinkFrame::Close { client });
    if let Err(Refused::Full(close)) = tx.try_send(close) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let tx = tx.clone();
            rt.spawn(async move {
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(5), tx.send(close)).await;
            });
        }
    }
}

/// Where a route's device messages go.
fn path(route: &Route) -> LinkPath {
    if let Some(l) = &route.link {
        LinkPath::Local(l.peer.tx.clone())
    } else if let Some(r) = route.remote_link {
        LinkPath::Remote(r)
    } else {
        LinkPath::Down
    }
}

/// The instances of the remote devices, each once.
fn instances(remote: &BTreeMap<u64, RemoteDevice>) -> BTreeSet<u64> {
    remote.values().map(|d| d.inst).collect()
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
        let (mut dev, link) = hub
            .attach_device(&key(), "enr_a", "dev_1")
            .expect("attached");
        assert!(matches!(link, LinkPath::Down), "no link yet");
        let (mut l1, clients) = hub.attach_link(&key(), "enr_a").expect("attached");
        assert_eq!(clients, vec![(dev.id, "dev_1".to_string())]);
        assert_eq!(
            dev.rx.try_recv().unwrap(),
            Message::text(r#"{"t":"link","up":true}"#)
        );
        // A second link replaces the first, which is told to close.
        let (l2, clients) = hub.attach_link(&key(), "enr_a").expect("attached");
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
        let (_l, _) = hub.attach_link(&key(), "enr_a").expect("attached");
        let (mut d1, _) = hub
            .attach_device(&key(), "enr_a", "dev_1")
            .expect("attached");
        let (mut d2, _) = hub
            .attach_device(&key(), "enr_a", "dev_2")
            .expect("attached");
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
        let (mut d, _) = hub
            .attach_device(&key(), "enr_a", "dev_1")
            .expect("attached");
        let msg = |i: usize| Bytes::from(i.to_be_bytes().to_vec());
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
        let (mut d, _) = hub
            .attach_device(&key(), "enr_a", "dev_1")
            .expect("attached");
        let part = || Bytes::from(vec![b'x'; 1 << 20]);
        let fit = crate::queue::QUEUE_BYTES >> 20;
        for _ in 0..fit {
            assert_eq!(hub.to_device(&key(), d.id, part()), Delivery::Queued);
        }
        assert_eq!(hub.to_device(&key(), d.id, part()), Delivery::Dropped);
        assert_eq!(d.kill.try_recv().unwrap(), CloseReason::TOO_SLOW);
    }

    /// A hub joined as instance `me` among others that do not exist: what
    /// it tells them stays in its mesh's outbox.
    fn hub_as(me: u64) -> Hub {
        Hub::new(Some(Mesh::joined_as(me)))
    }

    fn sent(hub: &Hub) -> Vec<(u64, Note)> {
        hub.mesh()
            .expect("a mesh")
            .sent()
            .into_iter()
            .map(|(to, e)| (to, e.note))
            .collect()
    }

    fn note(from: u64, note: Note) -> Envelope {
        Envelope {
            from,
            key: key(),
            note,
        }
    }

    fn link_frames(rx: &mut QueueRx) -> Vec<Message> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn a_device_registered_while_a_newer_link_came_up_is_announced_to_that_one() {
        // Instance 2 holds a device on a link of instance 1 (generation 1).
        let hub = hub_as(2);
        let (mut d1, _) = hub
            .attach_device(&key(), "enr_a", "dev_1")
            .expect("attached");
        hub.deliver(note(
            1,
            Note::LinkUp {
                link: 10,
                generation: 1,
            },
        ));
        assert!(hub.device_registered(&key(), d1.id, "dev_1", None));
        let _ = link_frames(&mut d1.rx);
        let _ = sent(&hub);
        // A second device registers; the registry names instance 3's
        // newer link (generation 2), whose LinkUp has not come yet.
        let (mut d2, _) = hub
            .attach_device(&key(), "enr_a", "dev_2")
            .expect("attached");
        let newer = RemoteLink {
            inst: 3,
            id: 30,
            generation: 2,
        };
        assert!(hub.device_registered(&key(), d2.id, "dev_2", Some(newer)));
        assert!(matches!(hub.link(&key()), LinkPath::Remote(r) if r == newer));
        // Both devices are announced to instance 3 and told the link is up.
        let mut to_3: Vec<u64> = sent(&hub)
            .into_iter()
            .filter_map(|(to, n)| match n {
                Note::DeviceUp {
                    client, link: 30, ..
                } if to == 3 => Some(client),
                _ => None,
            })
            .collect();
        to_3.sort();
        assert_eq!(to_3, vec![d1.id, d2.id]);
        let up = Message::text(r#"{"t":"link","up":true}"#);
        assert_eq!(link_frames(&mut d1.rx), vec![up.clone()]);
        assert_eq!(link_frames(&mut d2.rx), vec![up]);
    }

    #[test]
    fn a_replaced_link_hands_its_devices_to_the_one_that_replaced_it() {
        let hub = hub_as(1);
        let (mut dev, _) = hub
            .attach_device(&key(), "enr_a", "dev_1")
            .expect("attached");
        let (mut link, _) = hub.attach_link(&key(), "enr_a").expect("attached");
        let reg = Registered {
            generation: 1,
            ..Registered::default()
        };
        assert!(hub.link_registered(&key(), link.id, reg).is_empty());
        let _ = link_frames(&mut dev.rx);
        hub.deliver(note(
            2,
            Note::Replaced {
                link: link.id,
                by: 20,
                generation: 2,
            },
        ));
        assert_eq!(link.kill.try_recv().unwrap(), CloseReason::REPLACED);
        assert!(matches!(hub.link(&key()), LinkPath::Remote(r) if r.id == 20));
        assert!(sent(&hub).contains(&(
            2,
            Note::DeviceUp {
                client: dev.id,
                link: 20,
                device: "dev_1".into()
            }
        )));
        assert_eq!(
            link_frames(&mut dev.rx),
            vec![Message::text(r#"{"t":"link","up":true}"#)]
        );
    }

    #[test]
    fn an_instance_newer_than_the_live_list_is_not_taken_for_dead() {
        let hub = hub_as(1);
        let (_link, _) = hub.attach_link(&key(), "enr_a").expect("attached");
        for (client, inst) in [(100, 2), (101, 5)] {
            let up = Note::DeviceUp {
                client,
                link: hub.lock()[&key()].link.as_ref().unwrap().id,
                device: "dev".into(),
            };
            hub.deliver(note(inst, up));
        }
        // The list was read before instance 5 joined; instance 2 is gone.
        hub.prune(&[1, 3].into());
        let remote: Vec<u64> = hub.lock()[&key()].remote.keys().copied().collect();
        assert_eq!(remote, vec![101]);
    }

    #[tokio::test]
    async fn the_daemon_hears_a_device_leave_even_through_a_full_queue() {
        let hub = hub_as(1);
        let (mut link, _) = hub.attach_link(&key(), "enr_a").expect("attached");
        let id = link.id;
        hub.deliver(note(
            2,
            Note::DeviceUp {
                client: 7,
                link: id,
                device: "dev_7".into(),
            },
        ));
        // The link's queue fills with the device's messages…
        let data = |_| Bytes::from(rcd_proto::relay::link_payload(7, b"k"));
        let mut full = false;
        for i in 0..crate::queue::QUEUE_MESSAGES + 1 {
            hub.deliver(note(
                2,
                Note::ToLink {
                    link: id,
                    data: data(i),
                },
            ));
            full = matches!(
                sent(&hub).last(),
                Some((2, Note::CloseDevice { client: 7, .. }))
            );
            if full {
                break;
            }
        }
        assert!(full, "a device outrunning the daemon is closed as too slow");
        // …and the `close` waits for room instead of being lost.
        let mut frames = Vec::new();
        while let Ok(Some(m)) =
            tokio::time::timeout(std::time::Duration::from_secs(1), link.rx.recv()).await
        {
            frames.push(m);
        }
        assert_eq!(
            frames.last(),
            Some(&Message::text(r#"{"t":"close","client":7}"#))
        );
    }
}
