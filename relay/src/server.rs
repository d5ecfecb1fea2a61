//! [`Relay`]: the server as a value. `Relay::new(options, store)`, then
//! [`Relay::serve`] (HTTP) or [`Relay::serve_tls`] (HTTPS) with a listener
//! and a shutdown future; signal handling lives in `main`.

use crate::hub::Hub;
use crate::options::{RelayOptions, wire_secs};
use crate::store::{self, Store, StoreError, StoreResult, TokenKind, TokenRecord};
use crate::ws::CloseReason;
use crate::{api, secret};
use axum::Router;
use rcd_proto::relay::{Credential, Secret};
use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// After the shutdown future fires, how long open requests get to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
        Relay {
            inner: Arc::new(Inner {
                opts,
                store,
                hub: Hub::default(),
                stop,
            }),
        }
    }

    pub fn options(&self) -> &RelayOptions {
        &self.inner.opts
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Every route (`/`, `/healthz`, `/api/v1/…`). [`Relay::serve`] runs it
    /// together with the sweeper; a caller serving the router itself
    /// should run [`Relay::run_sweeper`] too.
    pub fn router(&self) -> Router {
        api::router(self.clone())
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
    /// revoke` on the same data directory).
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
        for env in store.list_environments(None).await? {
            if !owners.contains(&env.record.owner) {
                store.remove_environment(&env.record.id).await?;
                self.inner
                    .hub
                    .close_environment(&env.record.id, CloseReason::REVOKED);
                tracing::info!(env = %env.record.id, token = %env.record.owner, "environment dropped: its token was revoked");
            }
        }
        let closed = self.inner.hub.retain_tokens(&owners, &devices);
        if closed > 0 {
            tracing::info!(closed, "closed the sockets of revoked tokens");
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
        self.enforce_tokens().await
    }

    /// Runs [`Relay::sweep_once`] every `sweep_interval` until shutdown.
    pub async fn run_sweeper(self) {
        let mut tick = tokio::time::interval(self.inner.opts.sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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

    /// Serves HTTP on `listener` until `shutdown` completes; then open
    /// requests get [`SHUTDOWN_GRACE`] to finish.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let sweeper = tokio::spawn(self.clone().run_sweeper());
        let (fired_tx, fired_rx) = tokio::sync::oneshot::channel::<()>();
        let relay = self.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("relay shutting down");
            relay.shutdown();
            let _ = fired_tx.send(());
        };
        let server = axum::serve(listener, self.router())
            .with_graceful_shutdown(signal)
            .into_future();
        let result = tokio::select! {
            r = server => r,
            _ = async {
                if fired_rx.await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => Ok(()),
        };
        self.shutdown();
        sweeper.abort();
        result
    }

    /// Serves HTTPS on `listener` with the PEM certificate chain and key at
    /// `cert` and `key`, until `shutdown` completes.
    pub async fn serve_tls(
        self,
        listener: std::net::TcpListener,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let config = tls_config(cert.as_ref(), key.as_ref())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.serve_tls_config(listener, config, shutdown).await
    }

    /// Serves HTTPS with a ready rustls configuration (see [`tls_config`]).
    pub async fn serve_tls_config(
        self,
        listener: std::net::TcpListener,
        config: Arc<rustls::ServerConfig>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let sweeper = tokio::spawn(self.clone().run_sweeper());
        let handle = axum_server::Handle::new();
        let relay = self.clone();
        let h = handle.clone();
        let signal = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("relay shutting down");
            relay.shutdown();
            h.graceful_shutdown(Some(SHUTDOWN_GRACE));
        });
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(config);
        // Not `.http1_only()`: in axum-server 0.8 that also turns off
        // connection upgrades, i.e. WebSockets. ALPN (see `tls_config`)
        // already keeps clients on HTTP/1.1.
        let result = axum_server::from_tcp_rustls(listener, rustls)?
            .handle(handle)
            .serve(self.router().into_make_service())
            .await;
        self.shutdown();
        sweeper.abort();
        signal.abort();
        result
    }
}

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {what}", path.display())]
    Parse {
        path: std::path::PathBuf,
        what: String,
    },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// A rustls server configuration (ring provider; ALPN offers HTTP/1.1
/// only, where WebSockets work everywhere) from a PEM
/// certificate chain and a PEM private key.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read(cert)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Parse {
            path: cert.to_path_buf(),
            what: format!("not a PEM certificate ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Parse {
            path: cert.to_path_buf(),
            what: "no certificate in the file (expected -----BEGIN CERTIFICATE-----)".into(),
        });
    }
    let key_pem = read(key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Parse {
        path: key.to_path_buf(),
        what: format!("no usable PEM private key ({e})"),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
