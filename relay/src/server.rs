//! Serving a [`Relay`]: its router, HTTP or HTTPS on a listener, the
//! sweeper task beside it, and graceful shutdown. `Relay::new(options,
//! store)`, then [`Relay::serve`] (HTTP) or [`Relay::serve_tls`] (HTTPS)
//! with a listener and a shutdown future; signal handling lives in `main`.

use crate::api;
use crate::state::Relay;
use axum::Router;
use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// After the shutdown future fires, how long open requests get to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl Relay {
    /// Every route (`/`, `/healthz`, `/api/v1/…`). [`Relay::serve`] runs it
    /// together with the sweeper; a caller serving the router itself
    /// should run [`Relay::run_sweeper`] (and [`Relay::run_mesh`]) too.
    pub fn router(&self) -> Router {
        api::router(self.clone())
    }

    /// Serves HTTP on `listener` until `shutdown` completes; then open
    /// requests get [`SHUTDOWN_GRACE`] to finish.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        self.serve_on(listener, None, shutdown).await
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
        let listener = tokio::net::TcpListener::from_std(listener)?;
        self.serve_on(listener, Some(config), shutdown).await
    }

    async fn serve_on(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        no_delay(&listener);
        let sweeper = tokio::spawn(self.clone().run_sweeper());
        let mesh = tokio::spawn(self.clone().run_mesh());
        let relay = self.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("relay shutting down");
            relay.shutdown();
        };
        let opts = self.options().clone();
        let mut router = self.router();
        if tls.is_some() {
            router = router.layer(axum::middleware::map_response(hsts));
        }
        let result =
            crate::listen::serve(listener, tls, router, &opts, signal, SHUTDOWN_GRACE).await;
        self.shutdown();
        sweeper.abort();
        // It says goodbye to the other instances, within a Redis timeout.
        let _ = tokio::time::timeout(Duration::from_secs(3), mesh).await;
        result
    }
}

/// Over HTTPS, tells browsers to use nothing else for this host for a
/// year, so a later `http://` link cannot be downgraded on the way.
async fn hsts(mut resp: axum::response::Response) -> axum::response::Response {
    resp.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    );
    resp
}

/// Sets `TCP_NODELAY` on a listening socket; the connections it accepts
/// inherit it. Every frame the relay routes is a small write that must
/// go out at once: with Nagle's algorithm a frame written while the
/// previous one is unacknowledged waits for the peer's delayed ACK (about
/// 40 ms on Linux), on each hop. A socket that refuses the option is
/// served anyway, slower.
pub(crate) fn no_delay(listener: &impl std::os::fd::AsFd) {
    use nix::sys::socket::{setsockopt, sockopt::TcpNoDelay};
    if let Err(e) = setsockopt(listener, TcpNoDelay, &true) {
        tracing::warn!("cannot set TCP_NODELAY on the listener; frames may wait for ACKs: {e}");
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

#[cfg(test)]
mod tests {
    use super::no_delay;
    use nix::sys::socket::{getsockopt, sockopt::TcpNoDelay};

    #[test]
    fn accepted_connections_send_small_frames_at_once() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        no_delay(&listener);
        let _c = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _p = std::net::TcpStream::connect(plain.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let (other, _) = plain.accept().unwrap();
        assert!(getsockopt(&accepted, TcpNoDelay).unwrap());
        assert!(
            !getsockopt(&other, TcpNoDelay).unwrap(),
            "the test can tell"
        );
    }
}
