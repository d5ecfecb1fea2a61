//! The embedded relay: when no `--relay` is given, rcd runs rc-relay's
//! server in-process on `--listen` (loopback by default), makes itself an
//! in-memory enrollment token, and links to it over HTTP like any daemon
//! would to a remote relay. Devices on the same machine (or through a
//! tunnel the user sets up) use it exactly like a standalone relay.

use anyhow::{Context, Result};
use rcd_proto::relay::Secret;
use std::net::SocketAddr;
use std::sync::Arc;

/// Starts the relay; returns its URL and an enrollment token for it.
pub async fn start(
    listen: SocketAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(String, Secret)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot run the embedded relay on {listen}: choose another address with --listen \
             (e.g. --listen 127.0.0.1:0), use --relay URL, or --no-relay"
            )
        })?;
    let addr = listener.local_addr()?;
    let store: Arc<dyn rc_relay::Store> = Arc::new(rc_relay::MemoryStore::new());
    let relay = rc_relay::Relay::new(rc_relay::RelayOptions::default(), store);
    let token = relay
        .create_enrollment_token(Some("embedded".into()))
        .context("cannot make a token for the embedded relay")?;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.changed().await;
        };
        if let Err(e) = relay.serve(listener, shutdown).await {
            tracing::error!("the embedded relay stopped: {e}");
        }
    });
    let url = format!("http://{addr}");
    tracing::info!(url = %url, "embedded relay listening");
    Ok((url, token))
}
