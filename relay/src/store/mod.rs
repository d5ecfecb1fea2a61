//! The relay's state, behind one interface: [`Store`].
//!
//! Everything the relay knows that is not a live socket sits here: the
//! enrollment and device tokens, the short-lived secrets (credentials,
//! pairing codes, attach tickets) with their expiry, the environments with
//! their last sign of life and sessions, and the work queues with their
//! pending results. Live WebSocket routing (which socket is connected now)
//! stays in the process, in the hub (`hub.rs`).
//!
//! Every method returns a boxed future so that a networked implementation
//! (Redis: keys with expiry, lists with `BLPOP`, pub/sub for results) is a
//! second implementation of this trait, not a rewrite of the relay. The two
//! implementations here, [`MemoryStore`] and [`FileStore`], do their work
//! when the method is called and return a future that is already ready;
//! only [`Store::next_work`] and [`Store::wait_result`] wait.
//!
//! Secrets never reach the store: it is given SHA-256 hashes
//! ([`crate::secret::hash`]).

mod file;
mod memory;
mod redis;
mod tokens;

pub use file::FileStore;
pub use memory::MemoryStore;
pub use redis::RedisStore;
pub(crate) use tokens::b64;

use rcd_proto::SessionInfo;
use rcd_proto::SpawnMode;
use rcd_proto::relay::{Heartbeat, TokenInfo, WorkItem, WorkResult};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

/// What every store method returns.
pub type StoreResult<T> = Result<T, StoreError>;

/// The future of a store method.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// A future that is already complete, for stores that answer at once.
pub(crate) fn ready<'a, T: Send + 'a>(result: StoreResult<T>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(result))
}

/// Polls a store future once: its result if it is complete, `None` if it
/// would have to wait.
pub(crate) fn poll_now<T>(mut f: StoreFuture<'_, T>) -> Option<StoreResult<T>> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => Some(r),
        std::task::Poll::Pending => None,
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The token (by id) does not exist.
    #[error("no {kind} token with id {id:?}; see the list command for the ids")]
    UnknownToken { kind: TokenKind, id: String },
    /// The token file could not be read or written.
    #[error("token file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The token file does not hold what this relay writes.
    #[error(
        "token file {} is not valid ({reason}); restore it from a backup or move it away \
         (every token in it will then have to be made again)",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    /// A store that could not answer at once was asked to (see
    /// [`crate::Relay::create_enrollment_token`]).
    #[error("this store cannot answer synchronously; use the async method")]
    NotImmediate,
    /// The store's server (Redis) does not answer; the request may be
    /// tried again.
    #[error("{0}")]
    Unavailable(String),
    /// Any other failure of a store's backend.
    #[error("relay store: {0}")]
    Backend(String),
}

/// The two kinds of long-lived token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// Held by a daemon; registers environments. Made by
    /// `rc-relay token create`.
    Enrollment,
    /// Held by a device; made by pairing, owned by an enrollment token.
    Device,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Enrollment => "enrollment",
            TokenKind::Device => "device",
        })
    }
}

/// A long-lived token as stored: its hash, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public id (`enr_…`, `dev_…`), shown in lists and used to revoke.
    pub id: String,
    pub kind: TokenKind,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    /// For a device token: the enrollment token that owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    /// Unix seconds.
    pub created: u64,
    #[serde(default)]
    pub revoked: bool,
}

impl TokenRecord {
    /// As listed to users and devices.
    pub fn info(&self) -> TokenInfo {
        TokenInfo {
            id: self.id.clone(),
            label: self.label.clone(),
            created: self.created,
            revoked: self.revoked,
        }
    }

    /// The enrollment token this one answers to: itself for an enrollment
    /// token, its owner for a device token.
    pub fn owner_id(&self) -> &str {
        self.owner.as_deref().unwrap_or(&self.id)
    }
}

/// What a short-lived secret admits. Every grant names the enrollment
/// token (`owner`) it derives from, so revoking that token voids it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Grant {
    /// An environment credential (`rcenv_`).
    Environment { owner: String, env: String },
    /// A session credential (`rcsess_`): that session's link only.
    Session {
        owner: String,
        env: String,
        session: String,
    },
    /// A pairing code: one device token for `owner`.
    Pairing { owner: String, env: String },
    /// An attach ticket (`rctkt_`): one attach socket for `device`.
    Ticket {
        owner: String,
        env: String,
        session: String,
        device: String,
    },
}

impl Grant {
    /// The enrollment token this grant derives from.
    pub fn owner(&self) -> &str {
        match self {
            Grant::Environment { owner, .. }
            | Grant::Session { owner, .. }
            | Grant::Pairing { owner, .. }
            | Grant::Ticket { owner, .. } => owner,
        }
    }
}

/// A browser's Web Push subscription (RFC 8030), held for one device
/// token: pushes for the sessions of that token's owner go to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    /// The device token's id.
    pub device: String,
    /// The push service's URL (https, or http on a loopback host).
    pub endpoint: String,
    /// The browser's P-256 public key, base64url without padding.
    pub p256dh: String,
    /// The authentication secret, base64url without padding.
    pub auth: String,
    /// Whether pushes carry the program's words.
    pub with_message: bool,
    /// Unix seconds.
    pub created: u64,
}

/// A registered environment: what its daemon said at registration and in
/// its last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvRecord {
    pub id: String,
    /// The enrollment token that registered it.
    pub owner: String,
    pub name: String,
    pub machine: String,
    pub dir: String,
    pub version: String,
    pub spawn: SpawnMode,
    pub capacity: u32,
    pub used: u32,
    pub sessions: Vec<SessionInfo>,
    /// The names of the programs its sessions may run, and the default
    /// (registration).
    #[serde(default)]
    pub programs: Vec<String>,
    #[serde(default)]
    pub default_program: Option<String>,
}

/// An environment and how long ago its daemon last showed a sign of life
/// (registration, heartbeat or work poll).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub record: EnvRecord,
    pub idle: Duration,
}

/// The relay's state. See the module documentation.
///
/// Rules for implementations: methods are atomic with respect to each
/// other; no lock is held across an `.await` (the waits register interest,
/// drop the lock, then wait); expired secrets and work are never returned.
pub trait Store: Send + Sync + fmt::Debug + 'static {
    // --- long-lived tokens (persisted by FileStore) ---

    /// Adds a token.
    fn insert_token(&self, token: TokenRecord) -> StoreFuture<'_, ()>;

    /// The token of `kind` whose secret hashes to `hash`, revoked or not.
    fn find_token<'a>(
        &'a self,
        kind: TokenKind,
        hash: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>>;

    /// The token of `kind` with this id, revoked or not.
    fn get_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Option<TokenRecord>>;

    /// Every token of `kind`, oldest first.
    fn list_tokens(&self, kind: TokenKind) -> StoreFuture<'_, Vec<TokenRecord>>;

    /// Revokes a token; revoking an enrollment token also revokes every
    /// device token it owns. Returns the tokens that this call revoked
    /// (empty when it already was); [`StoreError::UnknownToken`] when
    /// there is no such id.
    fn revoke_token<'a>(
        &'a self,
        kind: TokenKind,
        id: &'a str,
    ) -> StoreFuture<'a, Vec<TokenRecord>>;

    // --- Web Push (persisted by FileStore, with the tokens) ---

    /// The relay's VAPID key (PKCS#8); `fresh` becomes the key when there
    /// is none yet, so every caller gets the same one.
    fn push_key(&self, fresh: Vec<u8>) -> StoreFuture<'_, Vec<u8>>;

    /// Adds or replaces the subscription of `sub.device`; false (nothing
    /// kept) when that device token is not live.
    fn put_subscription(&self, sub: PushSubscription) -> StoreFuture<'_, bool>;

    /// The subscription of a device token.
    fn get_subscription<'a>(&'a self, device: &'a str)
    -> StoreFuture<'a, Option<PushSubscription>>;

    /// Removes the subscription of a device token (only when its endpoint
    /// is `endpoint`, if given: a push service's 410 does not remove the
    /// newer subscription that replaced the one it refused). Whether one
    /// was removed.
    fn remove_subscription<'a>(
        &'a self,
        device: &'a str,
        endpoint: Option<&'a str>,
    ) -> StoreFuture<'a, bool>;

    /// The subscriptions of the live device tokens of enrollment token
    /// `owner`. Revoking a device token removes its subscription.
    fn list_subscriptions<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<PushSubscription>>;

    // --- short-lived secrets (credentials, pairing codes, tickets) ---

    /// Stores what the secret hashing to `hash` admits, for `ttl`.
    fn put_grant(&self, hash: String, grant: Grant, ttl: Duration) -> StoreFuture<'_, ()>;

    /// The grant of an unexpired secret.
    fn get_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>>;

    /// The grant of an unexpired secret, which is used up by this call
    /// (pairing codes, attach tickets).
    fn take_grant<'a>(&'a self, hash: &'a str) -> StoreFuture<'a, Option<Grant>>;

    // --- environments and presence ---

    /// Registers an environment, or replaces the one with the same id
    /// (its queued work is kept); it is seen now.
    fn put_environment(&self, env: EnvRecord) -> StoreFuture<'_, ()>;

    /// A sign of life: a heartbeat (which replaces spawn mode, capacity
    /// and sessions) or, with `None`, a work poll. False if unknown.
    fn seen<'a>(&'a self, env: &'a str, heartbeat: Option<Heartbeat>) -> StoreFuture<'a, bool>;

    /// Adds or replaces (`Some`) or removes (`None`) one session of an
    /// environment, so lists are right before the next heartbeat.
    fn set_session<'a>(
        &'a self,
        env: &'a str,
        name: &'a str,
        session: Option<SessionInfo>,
    ) -> StoreFuture<'a, ()>;

    /// One environment.
    fn get_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<EnvEntry>>;

    /// The environments of one owner (enrollment token id), or all.
    fn list_environments<'a>(&'a self, owner: Option<&'a str>) -> StoreFuture<'a, Vec<EnvEntry>>;

    /// Drops an environment with its queue. False if it was unknown.
    fn remove_environment<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;

    // --- work ---

    /// Queues work for an environment; it and its result slot expire
    /// after `ttl`.
    fn push_work<'a>(&'a self, env: &'a str, item: WorkItem, ttl: Duration) -> StoreFuture<'a, ()>;

    /// The next queued item, waiting up to `wait` for one. Each item is
    /// delivered once.
    fn next_work<'a>(&'a self, env: &'a str, wait: Duration) -> StoreFuture<'a, Option<WorkItem>>;

    /// Withdraws a work item and its result slot (the device gave up).
    fn cancel_work<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, ()>;

    /// Delivers the result of work `id` of `env`. False when there is no
    /// such pending item (unknown, another environment's, or expired).
    fn post_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        result: WorkResult,
    ) -> StoreFuture<'a, bool>;

    /// Waits up to `wait` for the result of work `id`, then forgets the
    /// item either way.
    fn wait_result<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
        wait: Duration,
    ) -> StoreFuture<'a, Option<WorkResult>>;

    // --- maintenance ---

    /// Drops expired secrets and work, and the environments without a sign
    /// of life for `forget_after`; returns the ids of those environments.
    fn sweep(&self, forget_after: Duration) -> StoreFuture<'_, Vec<String>>;

    /// Claims the push of the attention episode `since` of the session
    /// whose push topic is `topic`, for this process: `false` when another
    /// process sharing the store claimed that episode already. A store
    /// only one process uses says `true`: the pusher's own record of the
    /// episodes it pushed decides.
    fn claim_push<'a>(&'a self, topic: &'a str, since: &'a str) -> StoreFuture<'a, bool> {
        let _ = (topic, since);
        ready(Ok(true))
    }

    /// How relay processes sharing this store reach each other's sockets:
    /// a store only one process uses has none.
    fn bus(&self) -> Option<crate::Bus> {
        None
    }
}

/// Longest token label kept, in characters.
pub const MAX_LABEL_CHARS: usize = 64;

/// Makes a token of `kind` (owned by enrollment token `owner` for a
/// device), stores its hash, and returns it with the secret, which exists
/// nowhere else from then on.
pub async fn create_token(
    store: &dyn Store,
    kind: TokenKind,
    owner: Option<String>,
    label: Option<String>,
) -> StoreResult<(TokenRecord, rcd_proto::relay::Secret)> {
    let record_and_secret = new_token(kind, owner, label);
    store.insert_token(record_and_secret.0.clone()).await?;
    Ok(record_and_secret)
}

/// A new token record and its secret, not yet stored.
pub(crate) fn new_token(
    kind: TokenKind,
    owner: Option<String>,
    label: Option<String>,
) -> (TokenRecord, rcd_proto::relay::Secret) {
    use crate::secret;
    let (prefix, id_prefix) = match kind {
        TokenKind::Enrollment => (secret::ENROLLMENT_PREFIX, "enr_"),
        TokenKind::Device => (secret::DEVICE_PREFIX, "dev_"),
    };
    let token = secret::generate(prefix);
    let label = label
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_control())
                .take(MAX_LABEL_CHARS)
                .collect::<String>()
        })
        .filter(|l| !l.trim().is_empty());
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let record = TokenRecord {
        id: secret::token_id(id_prefix),
        kind,
        hash: secret::hash(token.expose()),
        owner,
        label,
        created,
        revoked: false,
    };
    (record, token)
}
