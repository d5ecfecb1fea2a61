//! Accepting connections, plain or TLS, with the bounds that keep one
//! client from holding the relay: a cap on open connections, a deadline for
//! the TLS handshake, and a deadline for every request's header, which also
//! closes a kept-alive connection that goes quiet between requests. A
//! connection upgraded to a WebSocket leaves those deadlines behind; its
//! pings ([`crate::ws`]) find a socket that stopped answering.

use crate::options::RelayOptions;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// After an accept error other than "too many open files", how long the
/// loop waits before it accepts again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// When the process is out of file descriptors: connections wait in the
/// backlog until some close.
const NOFILE_RETRY: Duration = Duration::from_millis(250);
/// At most one warning per this interval for a refused connection.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Rate-limits one kind of warning and counts what it skipped.
struct Warn {
    last: Option<Instant>,
    skipped: u64,
}

impl Warn {
    fn new() -> Warn {
        Warn {
            last: None,
            skipped: 0,
        }
    }

    /// Whether to log now, and how many were skipped since the last one.
    fn due(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < WARN_EVERY)
        {
            self.skipped += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.skipped))
    }
}

/// A connection's socket together with its place under the connection cap:
/// the place is given back when the socket is dropped, which for a
/// WebSocket is when the upgraded connection closes, not when its HTTP
/// exchange ends.
struct Counted<I> {
    io: I,
    _place: OwnedSemaphorePermit,
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Serves one connection's HTTP exchanges (and hands an upgrade on) until
/// it ends; when `stop` changes, lets the request in progress finish and
/// then closes.
async fn drive<I>(
    http: &http1::Builder,
    io: Counted<I>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router);
    let conn = http
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!("connection ended: {e}");
            }
            return;
        }
        _ = stop.changed() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Serves `router` on `listener` (through TLS with `tls`) until `stop`
/// completes, then waits up to `grace` for open connections to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    opts: &RelayOptions,
    stop: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()> {
    let max = opts.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let limit = Arc::new(Semaphore::new(max));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    // HTTP/1.1 only: ALPN offers nothing else over TLS, and every client
    // of the relay speaks it. Its header deadline starts as soon as a
    // connection is served, so it also covers one that never sends a byte.
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(opts.header_timeout);
    let http = Arc::new(http);
    let (stop_tx, stop_rx) = watch::channel(false);
    let handshake_timeout = opts.header_timeout;
    let mut full = Warn::new();
    let mut nofile = Warn::new();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => break,
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                let errno = e.raw_os_error();
                if errno == Some(nix::libc::EMFILE) || errno == Some(nix::libc::ENFILE) {
                    if let Some(skipped) = nofile.due() {
                        tracing::warn!(
                            skipped,
                            "out of file descriptors: new connections wait; raise the limit \
                             (LimitNOFILE=) or lower --max-connections below it"
                        );
                    }
                    tokio::time::sleep(NOFILE_RETRY).await;
                } else {
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
                continue;
            }
        };
        let Ok(place) = limit.clone().try_acquire_owned() else {
            if let Some(skipped) = full.due() {
                tracing::warn!(
                    %peer,
                    skipped,
                    "connection limit reached ({max} open): refusing new connections until \
                     some close (--max-connections)"
                );
            }
            drop(tcp);
            continue;
        };
        let http = http.clone();
        // Handlers that need the caller's address (the pairing limit) take
        // it as axum's `ConnectInfo`.
        let router = router
            .clone()
            .layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        let acceptor = acceptor.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            let Some(acceptor) = acceptor else {
                let io = Counted {
                    io: tcp,
                    _place: place,
                };
                return drive(&http, io, router, stop).await;
            };
            match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(mut tls)) => {
                    // An ACME CA validating TLS-ALPN-01: the handshake
                    // (with the challenge certificate) was the whole
                    // exchange.
                    if tls.get_ref().1.alpn_protocol() == Some(crate::acme::ACME_TLS_ALPN) {
                        tracing::debug!(%peer, "TLS-ALPN-01 validation connection answered");
                        let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
                        return;
                    }
                    let io = Counted {
                        io: tls,
                        _place: place,
                    };
                    drive(&http, io, router, stop).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake not done in time; closed"),
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every place back means every connection closed.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(grace, limit.acquire_many(all)).await;
    Ok(())
}
