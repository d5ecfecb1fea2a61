//! [`Relay`]: the relay's shared state as one cheap handle, and what it
//! does to that state alone: options, the [`Store`], the live [`Hub`], the
//! stop signal; short-lived credentials, revocation, the sweeper, shutdown.
//! It knows nothing of HTTP: the routes (`api`) and the sockets (`ws`) are
//! given a `Relay`, and `server` serves it.

use crate::hub::{CloseReason, Hub};
use crate::limit::Attempts;
use crate::options::{RelayOptions, wire_secs};
use crate::push::Pusher;
use crate::secret;
use crate::store::{self, Store, StoreError, StoreResult, TokenKind, TokenRecord};
use rcd_proto::relay::{Credential, Secret};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The relay. Cheap to clone: every clone is the same relay.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    opts: RelayOptions,
    store: Arc<dyn Store>,
    hub: Hub,
    stop: watch::Sender<bool>,
    pairing: Attempts,
    push: Pusher,
}

impl fmt::Debug for Relay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Relay")
            .field("options", &self.inner.opts)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay over `store`. Starts nothing; [`Relay::serve`] does.
    pub fn new(opts: RelayOptions, store: Arc<dyn Store>) -> Relay {
        let (stop, _) = watch::channel(false);
        let push = Pusher::new(opts.push_contact.clone(), opts.push_retry);
        let mesh = store.bus().map(crate::mesh::Mesh::new);
        Relay {
            inner: Arc::new(Inner {
                push,
                opts,
                store,
                hub: Hub::new(mesh),
                stop,
                pairing: Attempts::default(),
            }),
        }
    }

    pub fn options(&self) -> &RelayOptions {
        &self.inner.opts
    }

    /// Failed pairing attempts, per source address and overall.
    pub(crate) fn pairing_attempts(&self) -> &Attempts {
        &self.inner.pairing
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Web Push: the VAPID key, the pushed episodes, the sends.
    pub(crate) fn pusher(&self) -> &Pusher {
        &self.inner.push
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Makes an enrollment token and returns its secret (the embedded
    /// relay's own token). Synchronous, for stores that answer at once
    /// (both stores of this crate); others get
    /// [`StoreError::NotImmediate`] and use
    /// [`Relay::create_enrollment_token_async`].
    pub fn create_enrollment_token(&self, label: Option<String>) -> Result<Secret, StoreError> {
        let (record, secret) = store::new_token(TokenKind::Enrollment, None, label);
        let id = record.id.clone();
        store::poll_now(self.inner.store.insert_token(record))
            .unwrap_or(Err(StoreError::NotImmediate))?;
        tracing::info!(token = %id, "enrollment token created");
        Ok(secret)
    }

    /// Makes an enrollment token: its record and secret.
    pub async fn create_enrollment_token_async(
        &self,
        label: Option<String>,
    ) -> Result<(TokenRecord, Secret), StoreError> {
        let made = store::create_token(
            self.inner.store.as_ref(),
            TokenKind::Enrollment,
            None,
            label,
        )
        .await?;
        tracing::info!(token = %made.0.id, "enrollment token created");
        Ok(made)
    }

    /// Revokes a token (an enrollment token with its devices), and closes
    /// at once whatever it held open.
    pub async fn revoke(&self, kind: TokenKind, id: &str) -> StoreResult<Vec<TokenRecord>> {
        let revoked = self.inner.store.revoke_token(kind, id).await?;
        self.enforce_tokens().await?;
        Ok(revoked)
    }

    /// A new short-lived secret admitting `grant` for `ttl`.
    pub(crate) async fn issue(
        &self,
        prefix: &str,
        grant: store::Grant,
        ttl: Duration,
    ) -> StoreResult<Credential> {
        let token = secret::generate(prefix);
        self.inner
            .store
            .put_grant(secret::hash(token.expose()), grant, ttl)
            .await?;
        Ok(Credential {
            token,
            expires_in_secs: wire_secs(ttl),
        })
    }

    /// Closes the sockets and drops the environments of revoked tokens,
    /// including those revoked by another process (`rc-relay token
    /// revoke` on the same data directory, another instance on the same
    /// Redis), and closes the sockets of environments another process
    /// removed.
    pub(crate) async fn enforce_tokens(&self) -> StoreResult<()> {
        let store = &self.inner.store;
        let owners: HashSet<String> = store
            .list_tokens(TokenKind::Enrollment)
            .await?
            .into_iter()
            .filter(|t| !t.revoked)
            .map(|t| t.id)
            .collect();
        let devices: HashSet<String> = store
            .list_tokens(TokenKind::Device)
            .await?
            .into_iter()
            .filter(|t| !t.revoked && owners.contains(t.owner_id()))
            .map(|t| t.id)
            .collect();
        let listed = std::time::Instant::now();
        let envs = store.list_environments(None).await?;
        // A revoked token's sockets first, so that they are told why
        // (1008) even where another process already dropped the
        // environment.
        let closed = self.inner.hub.retain_tokens(&owners, &devices);
        if closed > 0 {
            tracing::info!(closed, "closed the sockets of revoked tokens");
        }
        let live: HashSet<String> = envs.iter().map(|e| e.record.id.clone()).collect();
        for env in envs {
            if !owners.contains(&env.record.owner) {
                store.remove_environment(&env.record.id).await?;
                self.inner
                    .hub
                    .close_environment(&env.record.id, CloseReason::REVOKED);
                tracing::info!(env = %env.record.id, token = %env.record.owner, "environment dropped: its token was revoked");
            }
        }
        // Environments deregistered or forgotten through another process.
        let gone = self.inner.hub.retain_environments(&live, listed);
        if gone > 0 {
            tracing::info!(gone, "closed the sockets of environments that are gone");
        }
        Ok(())
    }

    /// One round of the sweeper: forget silent environments, drop expired
    /// secrets and work, apply revocations.
    pub async fn sweep_once(&self) -> StoreResult<()> {
        let forgotten = self.inner.store.sweep(self.inner.opts.forget_after).await?;
        for id in forgotten {
            tracing::info!(env = %id, "environment forgotten: no heartbeat");
            self.inner.hub.close_environment(&id, CloseReason::GONE);
        }
        self.inner.pairing.sweep();
        self.enforce_tokens().await
    }

    /// With a store shared by several relay processes, routes between
    /// them until shutdown (see `mesh`); without, returns at once.
    ///
    /// After any failure (Redis gone, notes lost) it closes every socket,
    /// waits a second and joins again under a new number.
    pub async fn run_mesh(self) {
        let Some(mesh) = self.inner.hub.mesh() else {
            return;
        };
        let hub = &self.inner.hub;
        let mut stop = self.inner.stop.subscribe();
        loop {
            if *stop.borrow() {
                return;
            }
            let ended = mesh.session(hub, &mut stop).await;
            let was = mesh.leave();
            match ended {
                Ok(()) => return,
                Err(why) if was != 0 => {
                    tracing::warn!(
                        instance = was,
                        "routing between instances stopped: {why}; closing every socket"
                    );
                    hub.close_all(CloseReason::NO_REDIS);
                }
                Err(why) => tracing::warn!("cannot join the other relay instances: {why}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = self.stopping() => return,
            }
        }
    }

    /// Runs [`Relay::sweep_once`] every `sweep_interval` until shutdown.
    pub async fn run_sweeper(self) {
        let mut tick = rcd_proto::liveness::beat(self.inner.opts.sweep_interval);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.stopping() => return,
            }
            if let Err(e) = self.sweep_once().await {
                tracing::warn!("sweep failed: {e}");
            }
        }
    }

    /// Starts shutting down: long polls and waits return, every WebSocket
    /// is closed (1001).
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        self.inner.hub.close_all(CloseReason::SHUTDOWN);
    }

    /// Whether [`Relay::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.inner.stop.borrow()
    }

    /// Completes once [`Relay::shutdown`] was called.
    pub(crate) async fn stopping(&self) {
        let mut rx = self.inner.stop.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}
