//! Routing between relay instances that share one Redis (`--redis`).
//!
//! A daemon's session link and a device's attach socket may be accepted
//! by different instances. Each instance then holds its own side of the
//! route in its [`crate::hub::Hub`], and the two sides talk through Redis
//! pub/sub: every instance subscribes to one channel of its own,
//! `rcd:{db}:to:{instance}`, and publishes what it has for another instance's
//! sockets there ([`Note`]). All of an instance's publishing goes through
//! one connection in the order the hub queued it, and Redis delivers one
//! publisher's messages to a subscriber in the order they were published,
//! so what one side sends the other side gets in order.
//!
//! Who is where lives in Redis too, so that the side that comes second
//! finds the first:
//!
//! | key | type | holds | ends |
//! | --- | --- | --- | --- |
//! | `rcd:instances` | string | the last instance number handed out | never |
//! | `rcd:live` | sorted set | instance number by its last beat (Redis's clock, ms) | an hour after its last beat |
//! | `rcd:link:{env}:{session}` | string | `{instance}:{link}:{generation}` of the session's current link | with the link, or [`ROUTE_TTL`] |
//! | `rcd:generation:{env}:{session}` | string | the route's last link generation | [`ROUTE_TTL`] after the route was last used |
//! | `rcd:devs:{env}:{session}` | hash | client → `{instance} {device id}` of every attach socket | entry with its socket; key [`ROUTE_TTL`] |
//!
//! Each instance beats every [`BEAT`]; one silent for [`DEAD_AFTER`] is
//! dead: its entries are ignored (and removed where they are read), and
//! the other instances drop their side of every route shared with it, as
//! if its sockets had closed. An instance that finds it was taken for dead
//! (it could not beat, or lost its subscription, so notes to or from it
//! may be lost) resets: it closes every socket it holds, which reconnect
//! as after a relay restart, and joins again under a new number.
//!
//! A link's generation (`INCR` of `rcd:generation:…` when it registers) orders
//! links of one session across instances: an instance keeps the newest it
//! has heard of and closes an older local one as replaced.

use axum::body::Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How often an instance beats.
pub const BEAT: Duration = Duration::from_secs(1);
/// An instance silent this long is dead.
pub const DEAD_AFTER: Duration = Duration::from_secs(5);
/// How long a route's keys outlive their last use; an instance renews the
/// keys of the routes it holds every quarter of this.
pub const ROUTE_TTL: Duration = Duration::from_secs(3600);
/// How long one Redis command may take.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes of notes waiting to be published before the instance counts as
/// cut off from Redis (and resets).
const OUTBOX_BYTES: usize = 64 << 20;
/// Notes published in one round trip at most.
const BATCH: usize = 256;
/// Bytes of notes published in one round trip, about (a note is at most
/// a 1 MiB message and its envelope).
const BATCH_BYTES: usize = 1 << 20;
/// The prefix of every key.
const P: &str = "rcd:";

/// Where the instances sharing a store meet: a Redis. A store shared by
/// several relay processes gives one ([`crate::Store::bus`]).
#[derive(Clone)]
pub struct Bus {
    pub(crate) client: redis::Client,
    pub(crate) shown: String,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("redis", &self.shown).finish()
    }
}

/// A link on another instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteLink {
    pub inst: u64,
    pub id: u64,
    pub generation: u64,
}

impl RemoteLink {
    /// `{instance}:{link}:{generation}`.
    fn parse(s: &str) -> Option<RemoteLink> {
        let mut it = s.split(':').map(str::parse::<u64>);
        match (it.next(), it.next(), it.next()) {
            (Some(Ok(inst)), Some(Ok(id)), Some(Ok(generation))) => Some(RemoteLink {
                inst,
                id,
                generation,
            }),
            _ => None,
        }
    }
}

/// What registering a link found.
#[derive(Debug, Default)]
pub(crate) struct Registered {
    /// The link's generation; 0 when a newer link of this instance had
    /// registered first (this one is replaced).
    pub generation: u64,
    /// The link it replaces, if that one is on a live instance.
    pub old: Option<RemoteLink>,
    /// The attach sockets of the session on live instances: (client,
    /// instance, device id).
    pub devices: Vec<(u64, u64, String)>,
}

/// What one instance tells another about a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Note {
    /// The session's link `link` (generation `generation`) is up on the sender.
    LinkUp { link: u64, generation: u64 },
    /// The sender's link `link` is down.
    LinkDown { link: u64 },
    /// The receiver's link `link` was replaced by the sender's `by`.
    Replaced { link: u64, by: u64, generation: u64 },
    /// A device on the sender attached to the receiver's link `link`.
    DeviceUp {
        client: u64,
        link: u64,
        device: String,
    },
    /// A device on the sender is gone.
    DeviceDown { client: u64 },
    /// A device's message for the receiver's link `link`, its client in
    /// front as the link takes it.
    ToLink { link: u64, data: Bytes },
    /// A link's message for a device on the receiver.
    ToDevice { client: u64, payload: Bytes },
    /// The daemon (or the relay) closed a device on the receiver.
    CloseDevice { client: u64, code: u16 },
}

/// A note with who sent it and for which route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub from: u64,
    pub key: RouteKey,
    pub note: Note,
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
}

impl Envelope {
    /// The note as published: a tag, the sender, the route, then the
    /// note's numbers and bytes.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, nums, tail): (u8, [u64; 3], &[u8]) = match &self.note {
            Note::LinkUp { link, generation } => (1, [*link, *generation, 0], &[]),
            Note::LinkDown { link } => (2, [*link, 0, 0], &[]),
            Note::Replaced {
                link,
                by,
                generation,
            } => (3, [*link, *by, *generation], &[]),
            Note::DeviceUp {
                client,
                link,
                device,
            } => (4, [*client, *link, 0], device.as_bytes()),
            Note::DeviceDown { client } => (5, [*client, 0, 0], &[]),
            Note::ToLink { link, data } => (6, [*link, 0, 0], data),
            Note::ToDevice { client, payload } => (7, [*client, 0, 0], payload),
            Note::CloseDevice { client, code } => (8, [*client, u64::from(*code), 0], &[]),
        };
        let mut buf = Vec::with_capacity(
            1 + 8 + 4 + self.key.env.len() + self.key.session.len() + 24 + tail.len(),
        );
        buf.push(tag);
        buf.extend_from_slice(&self.from.to_be_bytes());
        put_str(&mut buf, &self.key.env);
        put_str(&mut buf, &self.key.session);
        for n in nums {
            buf.extend_from_slice(&n.to_be_bytes());
        }
        buf.extend_from_slice(tail);
        buf
    }

    /// The note in `bytes`, or `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Envelope> {
        let (&tag, rest) = bytes.split_first()?;
        let (from, rest) = rest.split_first_chunk::<8>()?;
        let (env, rest) = take_str(rest)?;
        let (session, rest) = take_str(rest)?;
        let (a, rest) = rest.split_first_chunk::<8>()?;
        let (b, rest) = rest.split_first_chunk::<8>()?;
        let (c, tail) = rest.split_first_chunk::<8>()?;
        let (a, b, c) = (
            u64::from_be_bytes(*a),
            u64::from_be_bytes(*b),
            u64::from_be_bytes(*c),
        );
        let note = match tag {
            1 => Note::LinkUp {
                link: a,
                generation: b,
            },
            2 => Note::LinkDown { link: a },
            3 => Note::Replaced {
                link: a,
                by: b,
                generation: c,
            },
            4 => Note::DeviceUp {
                client: a,
                link: b,
                device: String::from_utf8(tail.to_vec()).ok()?,
            },
            5 => Note::DeviceDown { client: a },
            6 => Note::ToLink {
                link: a,
                data: Bytes::copy_from_slice(tail),
            },
            7 => Note::ToDevice {
                client: a,
                payload: Bytes::copy_from_slice(tail),
            },
            8 => Note::CloseDevice {
                client: a,
                code: u16::try_from(b).ok()?,
            },
            _ => return None,
        };
        Some(Envelope {
            from: u64::from_be_bytes(*from),
            key: RouteKey { env, session },
            note,
        })
    }
}

fn take_str(bytes: &[u8]) -> Option<(String, &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < len {
        return None;
    }
    let (s, rest) = rest.split_at(len);
    Some((String::from_utf8(s.to_vec()).ok()?, rest))
}

/// A session's route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RouteKey {
    pub env: String,
    pub session: String,
}

/// This instance's side of the routes it shares with others (the hub).
pub(crate) trait Side: Send + Sync {
    /// Acts on a note from another instance.
    fn deliver(&self, env: Envelope);
    /// Forgets the other side of every route on an instance not in `live`.
    fn prune(&self, live: &HashSet<u64>);
    /// The routes this instance holds a socket of.
    fn route_keys(&self) -> Vec<RouteKey>;
}

/// Why routing through Redis failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MeshError {
    #[error("the relay has not joined the other instances on Redis at {0} yet")]
    NotJoined(String),
    #[error("Redis at {0} did not answer: {1}")]
    Redis(String, RedisError),
}

/// One instance's place among the instances on a Redis.
pub(crate) struct Mesh {
    bus: Bus,
    /// This instance's number; 0 while it is not joined.
    me: watch::Sender<u64>,
    conn: Mutex<Option<ConnectionManager>>,
    out: mpsc::UnboundedSender<(u64, Vec<u8>)>,
    out_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<(u64, Vec<u8>)>>,
    /// Bytes in `out`.
    queued: AtomicUsize,
    /// Set when `out` overflowed (a note was dropped): the instance resets.
    overflowed: AtomicBool,
    scripts: Scripts,
}

impl std::fmt::Debug for Mesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mesh")
            .field("redis", &self.bus.shown)
            .field("me", &*self.me.borrow())
            .finish_non_exhaustive()
    }
}

fn key_of(what: &str, key: &RouteKey) -> String {
    format!("{P}{what}:{}:{}", key.env, key.session)
}

/// An instance's channel. Pub/sub is not scoped to a database as keys
/// are, so the channel names the database: relays on two databases of
/// one Redis never hear each other.
fn channel(db: i64, inst: u64) -> String {
    format!("{P}{db}:to:{inst}")
}

impl Mesh {
    pub fn new(bus: Bus) -> Mesh {
        let (out, out_rx) = mpsc::unbounded_channel();
        Mesh {
            bus,
            me: watch::channel(0).0,
            conn: Mutex::new(None),
            out,
            out_rx: tokio::sync::Mutex::new(out_rx),
            queued: AtomicUsize::new(0),
            overflowed: AtomicBool::new(false),
            scripts: Scripts::new(),
        }
    }

    /// A mesh that never connects, joined as instance `me`, whose notes
    /// stay in its outbox for [`Mesh::sent`] (the hub's tests).
    #[cfg(test)]
    pub fn joined_as(me: u64) -> Mesh {
        let client = redis::Client::open("redis://127.0.0.1:1/0").expect("a URL");
        let mesh = Mesh::new(Bus {
            client,
            shown: "nowhere".into(),
        });
        mesh.me.send_replace(me);
        mesh
    }

    /// The notes queued so far, with the instance each is for.
    #[cfg(test)]
    pub fn sent(&self) -> Vec<(u64, Envelope)> {
        let mut rx = self.out_rx.try_lock().expect("not running");
        let mut out = Vec::new();
        while let Ok((to, bytes)) = rx.try_recv() {
            out.push((to, Envelope::decode(&bytes).expect("a note")));
        }
        out
    }

    fn db(&self) -> i64 {
        self.bus.client.get_connection_info().redis_settings().db()
    }

    /// This instance's number, 0 while it is not joined.
    pub fn me(&self) -> u64 {
        *self.me.borrow()
    }

    /// Queues a note for another instance. Never waits: a note that finds
    /// the outbox full is dropped, and the instance resets.
    pub fn send(&self, to: u64, key: &RouteKey, note: Note) {
        let from = self.me();
        if from == 0 || to == 0 || to == from {
            return;
        }
        let bytes = Envelope {
            from,
            key: key.clone(),
            note,
        }
        .encode();
        let len = bytes.len();
        if self.queued.fetch_add(len, Ordering::AcqRel) + len > OUTBOX_BYTES {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            self.overflowed.store(true, Ordering::Release);
            return;
        }
        if self.out.send((to, bytes)).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
        }
    }

    /// Waits up to [`RESPONSE_TIMEOUT`] for the instance to be joined;
    /// says whether it is.
    pub async fn joined(&self) -> bool {
        self.number().await.is_some()
    }

    /// This instance's number, waiting up to [`RESPONSE_TIMEOUT`] for it
    /// to join.
    async fn number(&self) -> Option<u64> {
        let mut me = self.me.subscribe();
        match tokio::time::timeout(RESPONSE_TIMEOUT, me.wait_for(|n| *n != 0)).await {
            Ok(Ok(n)) => Some(*n),
            _ => None,
        }
    }

    /// The connection for registry scripts, waiting up to
    /// [`RESPONSE_TIMEOUT`] for the instance to join.
    async fn conn(&self) -> Result<(u64, ConnectionManager), MeshError> {
        let not_joined = || MeshError::NotJoined(self.bus.shown.clone());
        let me = self.number().await.ok_or_else(not_joined)?;
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner()).clone();
        conn.map(|c| (me, c)).ok_or_else(not_joined)
    }

    fn fail(&self, e: RedisError) -> MeshError {
        MeshError::Redis(self.bus.shown.clone(), e)
    }

    /// Runs a registry script on `key`'s route: its arguments are the key
    /// prefix, the environment and the session, then what `args` makes of
    /// this instance's number.
    async fn on_route<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        key: &RouteKey,
        args: impl FnOnce(u64) -> Vec<String>,
    ) -> Result<T, MeshError> {
        let (me, mut conn) = self.conn().await?;
        let mut inv = script.prepare_invoke();
        inv.arg(P).arg(&key.env).arg(&key.session);
        for a in args(me) {
            inv.arg(a);
        }
        inv.invoke_async(&mut conn).await.map_err(|e| self.fail(e))
    }

    /// Registers `link` as the session's current link.
    pub async fn link_up(&self, key: &RouteKey, link: u64) -> Result<Registered, MeshError> {
        let out: Vec<String> = self
            .on_route(&self.scripts.link_up, key, |me| {
                vec![
                    me.to_string(),
                    link.to_string(),
                    DEAD_AFTER.as_millis().to_string(),
                    ROUTE_TTL.as_millis().to_string(),
                ]
            })
            .await?;
        let mut it = out.into_iter();
        let generation = it.next().and_then(|g| g.parse().ok()).unwrap_or(0);
        let old = it.next().and_then(|o| RemoteLink::parse(&o));
        let mut devices = Vec::new();
        while let (Some(client), Some(at)) = (it.next(), it.next()) {
            let (Ok(client), Some((inst, device))) = (client.parse(), at.split_once(' ')) else {
                continue;
            };
            if let Ok(inst) = inst.parse() {
                devices.push((client, inst, device.to_string()));
            }
        }
        Ok(Registered {
            generation,
            old,
            devices,
        })
    }

    /// The link `link` ended: unregisters it unless a newer one took its
    /// place.
    pub async fn link_down(&self, key: &RouteKey, link: u64) -> Result<(), MeshError> {
        self.on_route(&self.scripts.link_down, key, |me| {
            vec![format!("{me}:{link}:")]
        })
        .await
    }

    /// Registers a device's attach socket; returns the session's link if
    /// it is on a live instance.
    pub async fn device_up(
        &self,
        key: &RouteKey,
        client: u64,
        device: &str,
    ) -> Result<Option<RemoteLink>, MeshError> {
        let found: String = self
            .on_route(&self.scripts.device_up, key, |me| {
                vec![
                    client.to_string(),
                    format!("{me} {device}"),
                    DEAD_AFTER.as_millis().to_string(),
                    ROUTE_TTL.as_millis().to_string(),
                ]
            })
            .await?;
        Ok(RemoteLink::parse(&found))
    }

    /// Unregisters a device's attach socket; returns the session's link
    /// as the registry names it, if on a live instance.
    pub async fn device_down(
        &self,
        key: &RouteKey,
        client: u64,
    ) -> Result<Option<RemoteLink>, MeshError> {
        let found: String = self
            .on_route(&self.scripts.device_down, key, |_| {
                vec![client.to_string(), DEAD_AFTER.as_millis().to_string()]
            })
            .await?;
        Ok(RemoteLink::parse(&found))
    }

    /// Joins, then routes until the instance must reset or the relay
    /// stops (`Ok`).
    pub async fn session(
        &self,
        hub: &dyn Side,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), String> {
        let shown = &self.bus.shown;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let fail = |e: RedisError| format!("Redis at {shown}: {e}");
        let mut conn = self
            .bus
            .client
            .get_connection_manager_with_config(config)
            .await
            .map_err(fail)?;
        let me: u64 = self
            .scripts
            .join
            .prepare_invoke()
            .arg(P)
            .invoke_async(&mut conn)
            .await
            .map_err(fail)?;
        let subscribed = tokio::time::timeout(RESPONSE_TIMEOUT, async {
            let mut pubsub = self.bus.client.get_async_pubsub().await?;
            pubsub.subscribe(channel(self.db(), me)).await?;
            Ok::<_, RedisError>(pubsub)
        })
        .await
        .map_err(|_| format!("Redis at {shown} did not answer the subscription"))?
        .map_err(fail)?;
        let mut inbox = subscribed.into_on_message();
        let mut outbox = self.out_rx.lock().await;
        // Notes queued before this join name a number nobody serves.
        while let Ok((_, bytes)) = outbox.try_recv() {
            self.queued.fetch_sub(bytes.len(), Ordering::AcqRel);
        }
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(conn.clone());
        self.me.send_replace(me);
        tracing::info!(instance = me, redis = %shown, "joined the relay instances on Redis");
        let mut beat = rcd_proto::liveness::beat(BEAT);
        let mut renew = rcd_proto::liveness::beat(ROUTE_TTL / 4);
        renew.reset();
        let mut batch = Vec::with_capacity(BATCH);
        self.overflowed.store(false, Ordering::Release);
        loop {
            // The beat comes first: a busy outbox or inbox must not keep
            // it waiting until the others take this instance for dead.
            tokio::select! {
                biased;
                _ = stopped(stop) => {
                    // Shutting down: what the hub said to the others on
                    // closing every socket goes out before the relay ends.
                    while let Ok(item) = outbox.try_recv() {
                        batch.push(item);
                    }
                    let _ = self.publish(&mut conn, &mut batch).await;
                    return Ok(());
                }
                _ = beat.tick() => {
                    let live: Vec<u64> = self
                        .scripts
                        .beat
                        .prepare_invoke()
                        .arg(P)
                        .arg(me)
                        .arg(DEAD_AFTER.as_millis() as u64)
                        .invoke_async(&mut conn)
                        .await
                        .map_err(fail)?;
                    if live.first() != Some(&1) {
                        return Err(format!(
                            "the other instances took this one for dead (no beat for {DEAD_AFTER:?})"
                        ));
                    }
                    let live: HashSet<u64> = live[1..].iter().copied().collect();
                    hub.prune(&live);
                }
                _ = renew.tick() => {
                    let keys = hub.route_keys();
                    if !keys.is_empty() {
                        let mut pipe = redis::pipe();
                        for key in keys {
                            for what in ["link", "generation", "devs"] {
                                pipe.cmd("PEXPIRE")
                                    .arg(key_of(what, &key))
                                    .arg(ROUTE_TTL.as_millis() as u64)
                                    .ignore();
                            }
                        }
                        let () = pipe.query_async(&mut conn).await.map_err(fail)?;
                    }
                }
                msg = inbox.next() => match msg {
                    Some(msg) => match Envelope::decode(msg.get_payload_bytes()) {
                        Some(env) => hub.deliver(env),
                        None => tracing::warn!("ignored a note that is not one"),
                    },
                    None => return Err(format!("lost the subscription to Redis at {shown}")),
                },
                first = outbox.recv() => {
                    let Some(first) = first else {
                        return Ok(());
                    };
                    // One round trip of at most BATCH notes and about
                    // BATCH_BYTES.
                    let mut bytes = first.1.len();
                    batch.push(first);
                    while batch.len() < BATCH && bytes < BATCH_BYTES {
                        let Ok(next) = outbox.try_recv() else { break };
                        bytes += next.1.len();
                        batch.push(next);
                    }
                    self.publish(&mut conn, &mut batch).await.map_err(fail)?;
                    if self.overflowed.load(Ordering::Acquire) {
                        return Err("notes for other instances piled up faster than Redis took them".into());
                    }
                }
            }
        }
    }

    /// Publishes the notes in `batch` in one round trip, in order.
    async fn publish(
        &self,
        conn: &mut ConnectionManager,
        batch: &mut Vec<(u64, Vec<u8>)>,
    ) -> Result<(), RedisError> {
        let mut pipe = redis::pipe();
        let mut bytes = 0;
        for (to, note) in batch.drain(..) {
            bytes += note.len();
            pipe.cmd("PUBLISH")
                .arg(channel(self.db(), to))
                .arg(note)
                .ignore();
        }
        self.queued.fetch_sub(bytes, Ordering::AcqRel);
        pipe.query_async(conn).await
    }

    /// Leaves: the instance is not joined until its next session.
    /// Returns the number it had (0 if none).
    pub fn leave(&self) -> u64 {
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.me.send_replace(0)
    }
}

/// Completes once the relay is stopping.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// The registry's scripts. Liveness is judged on Redis's own clock.
struct Scripts {
    join: Script,
    beat: Script,
    link_up: Script,
    link_down: Script,
    device_up: Script,
    device_down: Script,
}

/// Lua shared by the scripts: Redis's time in ms, whether an instance
/// beat within `dead` ms of it, and a route's link if its instance is live.
const LUA_LIVE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function alive(p, inst, now, dead)
  local s = redis.call('ZSCORE', p .. 'live', inst)
  return s and (now - tonumber(s)) <= dead
end
local function live_link(p, env, session, dead)
  local v = redis.call('GET', p .. 'link:' .. env .. ':' .. session)
  if v then
    local inst = string.match(v, '^(%d+):')
    if inst and alive(p, inst, now_ms(), dead) then return v end
  end
  return ''
end
"#;

impl Scripts {
    fn new() -> Scripts {
        let with = |body: &str| Script::new(&[LUA_LIVE, body].concat());
        Scripts {
            // ARGV: p
            join: with(
                r#"
local p = ARGV[1]
local n = redis.call('INCR', p .. 'instances')
redis.call('ZADD', p .. 'live', now_ms(), n)
return n
"#,
            ),
            // ARGV: p, me, dead. {1, live instances…}, or {0} when this
            // instance was silent too long.
            beat: with(
                r#"
local p, me, dead = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = now_ms()
if not alive(p, me, now, dead) then return {0} end
redis.call('ZADD', p .. 'live', now, me)
redis.call('ZREMRANGEBYSCORE', p .. 'live', '-inf', now - 3600000)
local out = {1}
for _, n in ipairs(redis.call('ZRANGEBYSCORE', p .. 'live', now - dead, '+inf')) do
  table.insert(out, tonumber(n))
end
return out
"#,
            ),
            // ARGV: p, env, session, me, link, dead, ttl. {generation,
            // replaced link or '', client, at, client, at…}; generation
            // 0 when a newer link of this instance is registered.
            link_up: with(
                r#"
local p, env, session, me, link = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local dead, ttl = tonumber(ARGV[6]), ARGV[7]
local lk = p .. 'link:' .. env .. ':' .. session
local gk = p .. 'generation:' .. env .. ':' .. session
local dk = p .. 'devs:' .. env .. ':' .. session
local now = now_ms()
local old = redis.call('GET', lk)
if old then
  -- A newer link of this instance registered first: this one is
  -- replaced already and must not take its place.
  local inst, id = string.match(old, '^(%d+):(%d+):')
  if inst == me and tonumber(id) > tonumber(link) then return {'0', ''} end
end
local generation = redis.call('INCR', gk)
redis.call('PEXPIRE', gk, ttl)
redis.call('SET', lk, me .. ':' .. link .. ':' .. generation, 'PX', ttl)
local out = {tostring(generation), ''}
if old then
  local inst = string.match(old, '^(%d+):')
  if inst and inst ~= me and alive(p, inst, now, dead) then out[2] = old end
end
local all = redis.call('HGETALL', dk)
for i = 1, #all, 2 do
  local inst = string.match(all[i + 1], '^(%d+) ')
  if inst and alive(p, inst, now, dead) then
    table.insert(out, all[i])
    table.insert(out, all[i + 1])
  else
    redis.call('HDEL', dk, all[i])
  end
end
return out
"#,
            ),
            // ARGV: p, env, session, '{me}:{link}:'
            link_down: Script::new(
                r#"
local p, env, session, pre = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lk = p .. 'link:' .. env .. ':' .. session
local v = redis.call('GET', lk)
if v and string.sub(v, 1, #pre) == pre then redis.call('DEL', lk) end
"#,
            ),
            // ARGV: p, env, session, client, dead. The current link on a
            // live instance, or ''.
            device_down: with(
                r#"
local p, env, session, client, dead = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
redis.call('HDEL', p .. 'devs:' .. env .. ':' .. session, client)
return live_link(p, env, session, dead)
"#,
            ),
            // ARGV: p, env, session, client, '{me} {device}', dead, ttl.
            // The current link on a live instance, or ''.
            device_up: with(
                r#"
local p, env, session, client, at = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local dead, ttl = tonumber(ARGV[6]), ARGV[7]
local dk = p .. 'devs:' .. env .. ':' .. session
redis.call('HSET', dk, client, at)
redis.call('PEXPIRE', dk, ttl)
return live_link(p, env, session, dead)
"#,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RouteKey {
        RouteKey {
            env: "env_1".into(),
            session: "a:b".into(),
        }
    }

    #[test]
    fn every_note_comes_back_as_it_went() {
        let notes = [
            Note::LinkUp {
                link: 7,
                generation: 3,
            },
            Note::LinkDown { link: u64::MAX },
            Note::Replaced {
                link: 1,
                by: 2,
                generation: 9,
            },
            Note::DeviceUp {
                client: 5,
                link: 7,
                device: "dev_x".into(),
            },
            Note::DeviceDown { client: 5 },
            Note::ToLink {
                link: 7,
                data: Bytes::from_static(b"\0\0\0\0\0\0\0\x05{\"t\":1}"),
            },
            Note::ToDevice {
                client: 5,
                payload: Bytes::from_static(b""),
            },
            Note::CloseDevice {
                client: 5,
                code: 4001,
            },
        ];
        for note in notes {
            let env = Envelope {
                from: 42,
                key: key(),
                note,
            };
            let bytes = env.encode();
            assert_eq!(Envelope::decode(&bytes), Some(env.clone()));
            // Every cut short is refused, never misread.
            let fixed = bytes.len()
                - match &env.note {
                    Note::DeviceUp { device, .. } => device.len(),
                    Note::ToLink { data, .. } => data.len(),
                    Note::ToDevice { payload, .. } => payload.len(),
                    _ => 0,
                };
            for cut in 0..fixed {
                assert_eq!(Envelope::decode(&bytes[..cut]), None, "cut at {cut}");
            }
        }
        assert_eq!(Envelope::decode(&[9; 64]), None, "an unknown tag");
    }

    #[test]
    fn a_link_location_is_three_numbers() {
        assert_eq!(
            RemoteLink::parse("3:17:2"),
            Some(RemoteLink {
                inst: 3,
                id: 17,
                generation: 2
            })
        );
        assert_eq!(RemoteLink::parse(""), None);
        assert_eq!(RemoteLink::parse("3:x:2"), None);
    }
}
