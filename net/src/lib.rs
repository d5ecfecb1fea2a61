//! The client side of the relay API: typed JSON calls over HTTPS (or
//! HTTP on loopback) and WebSockets, with rustls on the `ring` provider and
//! an optional extra CA certificate (a relay with a self-made
//! certificate). Used by the daemon's link and by remote `rcctl`.
//!
//! Each relay route has a typed method (`api.rs`) whose path comes from
//! [`routes`]; the generic [`Relay::call`], [`Relay::post`],
//! [`Relay::get`] and [`Relay::websocket`] stay for callers that have not
//! moved to them.

mod api;
pub mod backoff;
pub mod routes;
mod tls;

pub use api::{DEREGISTER_TIMEOUT, POLL_SLACK, WORK_TIMEOUT};
pub use backoff::Backoff;
pub use tls::CertProblem;

use futures_util::{SinkExt, StreamExt};
use rcd_proto::relay::{API_PREFIX, ApiError, Secret};
use serde::{Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{self, Message};

/// Largest WebSocket message either side accepts.
pub const MAX_WS_MESSAGE: usize = 1024 * 1024;

/// The read buffer of each WebSocket rcd opens. tungstenite's default is
/// 128 KiB, zero-filled before every read, so it is all resident for every
/// socket (one per session link) and each small frame first clears it; a
/// larger message still grows the buffer as it arrives.
pub const WS_READ_BUFFER: usize = 8 * 1024;

/// A WebSocket to the relay.
pub type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// 401: the secret is missing, unknown, expired or revoked.
    #[error("the relay refused the credential: {0}")]
    Unauthorized(ApiError),
    /// Any other non-2xx answer, with the relay's (or daemon's) error and,
    /// on a 429 or 503, how long the relay asked callers to wait
    /// (`Retry-After`, in seconds).
    #[error("{error}")]
    Api {
        status: u16,
        error: ApiError,
        retry_after: Option<Duration>,
    },
    /// The relay could not be reached or the connection broke. `connect`
    /// is true when no connection was made at all (refused, no route,
    /// connect timed out): the relay never saw the attempt, so retrying
    /// soon costs it nothing.
    #[error("cannot reach the relay at {url}: {reason}")]
    Transport {
        url: String,
        reason: String,
        connect: bool,
    },
    /// The relay's certificate was refused: `problem` says why, and the
    /// message what to do. `ca_cert` is the `--ca-cert` file in use.
    /// Retrying does not help until someone changes a certificate, so it
    /// is not a connect failure ([`NetError::is_connect`]).
    #[error("{}", problem.message(url, ca_cert.as_deref()))]
    Certificate {
        url: String,
        problem: CertProblem,
        ca_cert: Option<PathBuf>,
    },
    /// The answer was not what the protocol says.
    #[error("unexpected answer from the relay: {0}")]
    Decode(String),
    /// Local set-up (certificates, URL).
    #[error("{0}")]
    Setup(String),
    /// A 2xx answer without the body the route promises; says to what.
    #[error("the relay answered nothing to {0}")]
    Empty(&'static str),
}

impl NetError {
    /// Whether no connection to the relay was made at all.
    pub fn is_connect(&self) -> bool {
        matches!(self, NetError::Transport { connect: true, .. })
    }

    /// Whether the relay answered (with an error status, or something
    /// that does not decode), rather than the connection failing.
    pub fn answered(&self) -> bool {
        matches!(
            self,
            NetError::Unauthorized(_)
                | NetError::Api { .. }
                | NetError::Decode(_)
                | NetError::Empty(_)
        )
    }

    /// How long the relay asked to wait before the next try (a 429 or 503
    /// with `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            NetError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error body, when the relay sent one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            NetError::Unauthorized(e) | NetError::Api { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// A relay endpoint.
#[derive(Debug, Clone)]
pub struct Relay {
    base: String,
    /// Shared by every clone, so [`Relay::forget_connections`] reaches
    /// them all.
    http: Arc<std::sync::RwLock<reqwest::Client>>,
    /// Certificates trusted beyond the public roots (`--ca-cert`), DER.
    extra_roots: Arc<Vec<Vec<u8>>>,
    /// The `--ca-cert` file, for the messages about certificates.
    ca_cert: Option<PathBuf>,
    tls: Arc<rustls::ClientConfig>,
}

/// The HTTP client of a relay, trusting `extra` beyond the public roots.
fn http_client(extra: &[Vec<u8>]) -> Result<reqwest::Client, NetError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(POOL_IDLE)
        .use_rustls_tls();
    for der in extra {
        let cert = reqwest::Certificate::from_der(der)
            .map_err(|e| NetError::Setup(format!("CA certificate: {e}")))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| NetError::Setup(format!("HTTP client: {e}")))
}

fn tls_config(ca_cert: Option<&Path>) -> Result<(rustls::ClientConfig, Vec<Vec<u8>>), NetError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut extra = Vec::new();
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path).map_err(|e| {
            NetError::Setup(format!("cannot read --ca-cert {}: {e}", path.display()))
        })?;
        let mut found = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| {
                NetError::Setup(format!(
                    "--ca-cert {}: not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            roots.add(cert.clone()).map_err(|e| {
                NetError::Setup(format!(
                    "--ca-cert {}: unusable certificate: {e}",
                    path.display()
                ))
            })?;
            extra.push(cert.to_vec());
            found += 1;
        }
        if found == 0 {
            return Err(NetError::Setup(format!(
                "--ca-cert {}: no certificate found in the file",
                path.display()
            )));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Setup(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((config, extra))
}

/// Whether `url` may carry the relay's tokens: `https://` anywhere, plain
/// `http://` only to this machine (a loopback address or `localhost`),
/// where nothing crosses a network. Tokens and credentials sent over
/// `http://` to another host can be read by anyone on the way.
pub fn check_url(url: &str) -> Result<(), NetError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| NetError::Setup(format!("relay URL {url:?} is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
        "http" => Err(NetError::Setup(format!(
            "relay URL {url:?} is plain http:// to another machine: tokens would cross the \
             network unencrypted; use https:// (rc-relay serve --tls-cert/--tls-key, and \
             --ca-cert here for a certificate of your own). http:// is for loopback only"
        ))),
        _ => Err(NetError::Setup(format!(
            "relay URL {url:?} must start with https:// (or http:// on loopback)"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// How long a kept-alive connection to the relay may sit unused before it
/// is dropped rather than used again. The relay closes one that stays quiet
/// for its header deadline (10 s by default); a request sent on it just as
/// it closes fails with "connection closed before message completed". A
/// heartbeat every 10 s on a connection kept for longer met that race on a
/// loaded machine, so a connection is given up well before the relay would.
pub const POOL_IDLE: Duration = Duration::from_secs(4);

impl Relay {
    /// A client of the relay at `url` (`https://`, or `http://` on loopback),
    /// trusting the public roots plus `ca_cert` when given.
    pub fn new(url: &str, ca_cert: Option<&Path>) -> Result<Relay, NetError> {
        let base = url.trim_end_matches('/').to_string();
        check_url(&base)?;
        let (tls, extra) = tls_config(ca_cert)?;
        let http = http_client(&extra)?;
        Ok(Relay {
            base,
            http: Arc::new(std::sync::RwLock::new(http)),
            extra_roots: Arc::new(extra),
            ca_cert: ca_cert.map(Path::to_path_buf),
            tls: Arc::new(tls),
        })
    }

    /// [`NetError::Certificate`] when `err` is the relay's certificate
    /// being refused.
    fn certificate_error(&self, err: &(dyn std::error::Error + 'static)) -> Option<NetError> {
        let problem = tls::find(err).and_then(CertProblem::from_rustls)?;
        Some(NetError::Certificate {
            url: self.base.clone(),
            problem,
            ca_cert: self.ca_cert.clone(),
        })
    }

    /// Drops every kept-alive connection: the next requests connect anew.
    /// For after the link was lost or the machine slept, when a pooled
    /// connection may be half-open and would hold a request for its whole
    /// timeout.
    pub fn forget_connections(&self) {
        if let Ok(fresh) = http_client(&self.extra_roots) {
            *self.http.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        }
    }

    fn http(&self) -> reqwest::Client {
        self.http.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The relay's base URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<reqwest::Response, NetError> {
        let resp = req.timeout(timeout).send().await.map_err(|e| {
            self.certificate_error(&e)
                .unwrap_or_else(|| NetError::Transport {
                    url: self.base.clone(),
                    reason: describe(&e),
                    connect: e.is_connect(),
                })
        })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = retry_after(
            status.as_u16(),
            resp.headers()
                .get(reqwest::header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
        );
        let body = resp.bytes().await.unwrap_or_default();
        let error = serde_json::from_slice::<ApiError>(&body).unwrap_or_else(|_| ApiError {
            kind: rcd_proto::relay::ApiErrorKind::Http,
            message: format!(
                "the relay answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
        });
        if status == reqwest::StatusCode::UNAUTHORIZED {
            Err(NetError::Unauthorized(error))
        } else {
            Err(NetError::Api {
                status: status.as_u16(),
                error,
                retry_after,
            })
        }
    }

    /// `method path` with an optional JSON body; `None` for 204.
    pub async fn call<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&Secret>,
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<Option<R>, NetError> {
        let mut req = self.http().request(method, self.endpoint(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b.expose());
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = self.send(req, timeout).await?;
        if resp.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = resp.bytes().await.map_err(|e| NetError::Transport {
            url: self.base.clone(),
            reason: describe(&e),
            connect: false,
        })?;
        if bytes.is_empty() {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| NetError::Decode(e.to_string()))
    }

    /// POST with a JSON body, expecting a JSON answer.
    pub async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&Secret>,
        body: &B,
    ) -> Result<R, NetError> {
        self.call(
            reqwest::Method::POST,
            path,
            bearer,
            Some(body),
            DEFAULT_TIMEOUT,
        )
        .await?
        .ok_or_else(|| NetError::Decode(format!("empty answer to POST {path}")))
    }

    /// GET expecting a JSON answer.
    pub async fn get<R: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&Secret>,
    ) -> Result<R, NetError> {
        self.call::<(), R>(reqwest::Method::GET, path, bearer, None, DEFAULT_TIMEOUT)
            .await?
            .ok_or_else(|| NetError::Decode(format!("empty answer to GET {path}")))
    }

    /// Opens a WebSocket at `path` with the bearer in the Authorization
    /// header.
    pub async fn websocket(&self, path: &str, bearer: &Secret) -> Result<WebSocket, NetError> {
        use tungstenite::client::IntoClientRequest;
        let url = self.endpoint(path);
        let ws_url = if let Some(rest) = url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            url
        };
        let mut request = ws_url
            .into_client_request()
            .map_err(|e| NetError::Setup(format!("WebSocket URL: {e}")))?;
        let value = format!("Bearer {}", bearer.expose())
            .parse()
            .map_err(|_| NetError::Setup("the credential is not a valid header value".into()))?;
        request.headers_mut().insert("authorization", value);
        let mut config = tungstenite::protocol::WebSocketConfig::default();
        config.max_message_size = Some(MAX_WS_MESSAGE);
        config.max_frame_size = Some(MAX_WS_MESSAGE);
        config.read_buffer_size = WS_READ_BUFFER;
        let connector = tokio_tungstenite::Connector::Rustls(self.tls.clone());
        let connect = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            true,
            Some(connector),
        );
        match tokio::time::timeout(DEFAULT_TIMEOUT, connect).await {
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let status = resp.status().as_u16();
                let retry_after = retry_after(
                    status,
                    resp.headers().get("retry-after").map(|v| v.as_bytes()),
                );
                let body = resp.body().clone().unwrap_or_default();
                let error = serde_json::from_slice::<ApiError>(&body).unwrap_or(ApiError {
                    kind: rcd_proto::relay::ApiErrorKind::Http,
                    message: format!("the relay answered {status}"),
                });
                if status == 401 {
                    Err(NetError::Unauthorized(error))
                } else {
                    Err(NetError::Api {
                        status,
                        error,
                        retry_after,
                    })
                }
            }
            Ok(Err(e)) => Err(self
                .certificate_error(&e)
                .unwrap_or_else(|| NetError::Transport {
                    url: self.base.clone(),
                    connect: matches!(&e, tungstenite::Error::Io(io) if is_connect_error(io)),
                    reason: e.to_string(),
                })),
            Err(_) => Err(NetError::Transport {
                url: self.base.clone(),
                reason: "timed out".into(),
                connect: false,
            }),
        }
    }
}

/// Per-request time limit (long polls pass their own).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether an I/O error means no connection was made.
fn is_connect_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
    )
}

/// `Retry-After` of a 429 or 503 answer, in seconds (the HTTP-date form
/// is not used by rc-relay and is ignored). At most an hour.
fn retry_after(status: u16, value: Option<&[u8]>) -> Option<Duration> {
    if status != 429 && status != 503 {
        return None;
    }
    let secs: u64 = std::str::from_utf8(value?).ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Sends one JSON value as a text message.
pub async fn send_json<T: Serialize>(ws: &mut WebSocket, msg: &T) -> Result<(), NetError> {
    let text = serde_json::to_string(msg).map_err(|e| NetError::Decode(e.to_string()))?;
    ws.send(Message::text(text))
        .await
        .map_err(|e| NetError::Transport {
            url: String::new(),
            reason: e.to_string(),
            connect: false,
        })
}

/// Sends one binary message: a session message (on a session link, with
/// its client in front, [`rcd_proto::relay::CLIENT_PREFIX`]).
pub async fn send_binary(ws: &mut WebSocket, payload: Vec<u8>) -> Result<(), NetError> {
    ws.send(Message::binary(payload))
        .await
        .map_err(|e| NetError::Transport {
            url: String::new(),
            reason: e.to_string(),
            connect: false,
        })
}

/// One message read from a relay WebSocket.
#[derive(Debug)]
pub enum Incoming<T> {
    /// A text message: an envelope, decoded.
    Frame(T),
    /// A binary message: a session message, as it came.
    Payload(tungstenite::Bytes),
    /// The socket closed, with the peer's close code when it sent one.
    Closed(Option<u16>),
}

/// The next message: text decoded as `T`, binary as it is. Pings are
/// answered by tungstenite.
pub async fn recv<T: DeserializeOwned>(ws: &mut WebSocket) -> Result<Incoming<T>, NetError> {
    loop {
        match ws.next().await {
            None => return Ok(Incoming::Closed(None)),
            Some(Ok(Message::Close(f))) => return Ok(Incoming::Closed(f.map(|f| f.code.into()))),
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(t.as_str())
                    .map(Incoming::Frame)
                    .map_err(|e| NetError::Decode(e.to_string()));
            }
            Some(Ok(Message::Binary(b))) => return Ok(Incoming::Payload(b)),
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                return Err(NetError::Transport {
                    url: String::new(),
                    reason: e.to_string(),
                    connect: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    /// A connection unused for longer than `POOL_IDLE` is not used again,
    /// so no request meets a relay that is just closing it.
    #[tokio::test]
    async fn a_connection_idle_too_long_is_not_used_again() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    // One request per read is enough for these small GETs.
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                      content-length: 2\r\n\r\n[]";
                        if s.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let relay = super::Relay::new(&url, None).unwrap();
        let device = rcd_proto::relay::Secret("dev_x".into());
        relay.devices(&device).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        relay.devices(&device).await.unwrap();
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "a fresh connection is kept"
        );
        tokio::time::sleep(super::POOL_IDLE + std::time::Duration::from_secs(1)).await;
        relay.devices(&device).await.unwrap();
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "one idle for longer than POOL_IDLE is given up"
        );
    }

    #[test]
    fn plain_http_is_for_this_machine_only() {
        for ok in [
            "https://relay.example.com",
            "https://203.0.113.7:8443",
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://[::1]:9000",
            "http://localhost:7000",
            "http://LOCALHOST.",
            "http://app.localhost",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://relay.example.com",
            "http://192.168.1.20:8080",
            "http://[2001:db8::1]",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
        ] {
            let err = check_url(bad).unwrap_err().to_string();
            assert!(err.contains("use https://"), "{bad}: {err}");
        }
        for bad in [
            "ftp://relay.example.com",
            "relay.example.com",
            "ws://127.0.0.1",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
