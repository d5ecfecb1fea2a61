//! The bounds of the relay's listeners: a connection that sends nothing, or
//! a request header a byte at a time, or a TLS client that never finishes
//! (or finishes and goes quiet) is closed after the header deadline; beyond
//! the connection cap new connections are refused, WebSockets counted,
//! and served again once some close.

mod common;

use common::{TestRelay, fast, route, ws_connect};
use rc_relay::{MemoryStore, Relay, RelayOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_millis(800);

fn bounded(max_connections: usize) -> RelayOptions {
    RelayOptions {
        header_timeout: DEADLINE,
        max_connections,
        ..fast()
    }
}

fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes (or resets); how long that took. Panics
/// when the connection is still open after 10 s.
async fn closed_after(stream: &mut (impl AsyncReadExt + Unpin)) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Err(_) => panic!("still open after 10 s"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// Whether an HTTP request on a fresh connection is answered.
async fn answered(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return false;
    };
    let req = "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let relay = TestRelay::start(bounded(64)).await;
    let mut quiet = TcpStream::connect(addr(&relay.url)).await.unwrap();
    let took = closed_after(&mut quiet).await;
    assert!(took >= DEADLINE - Duration::from_millis(100), "{took:?}");
}

#[tokio::test]
async fn a_header_sent_a_byte_at_a_time_is_cut_off() {
    let relay = TestRelay::start(bounded(64)).await;
    let mut slow = TcpStream::connect(addr(&relay.url)).await.unwrap();
    let start = Instant::now();
    let header = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut = None;
    for b in header.iter().cycle().take(200) {
        if slow.write_all(&[*b]).await.is_err() {
            cut = Some(start.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut probe = [0u8; 64];
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await
        {
            assert_eq!(n, 0, "no answer to a header that never ends");
            cut = Some(start.elapsed());
            break;
        }
    }
    let cut = cut.expect("the relay kept a header trickling in for 10 s");
    assert!(cut < Duration::from_secs(5), "{cut:?}");
}

#[tokio::test]
async fn a_kept_alive_connection_that_goes_quiet_is_closed() {
    let relay = TestRelay::start(bounded(64)).await;
    let mut s = TcpStream::connect(addr(&relay.url)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then nothing: closed by the same deadline.
    closed_after(&mut s).await;
}

#[tokio::test]
async fn beyond_the_cap_connections_are_refused_until_some_close() {
    let relay = TestRelay::start(RelayOptions {
        header_timeout: Duration::from_secs(30),
        ..bounded(3)
    })
    .await;
    let a = addr(&relay.url);
    // A WebSocket keeps its place after its HTTP exchange is over.
    let daemon = relay.api().register(&relay.enrollment(), "laptop").await;
    let link = daemon.link("s").await;
    let one = TcpStream::connect(&a).await.unwrap();
    let _two = TcpStream::connect(&a).await.unwrap();
    // Let the relay accept them before the next one comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!answered(&a).await, "a fourth connection was served");
    drop(one);
    drop(link);
    common::wait_for("a place comes free", Duration::from_secs(5), || {
        let a = a.clone();
        async move { answered(&a).await }
    })
    .await;
}

#[tokio::test]
async fn websockets_are_not_cut_by_the_header_deadline() {
    let relay = TestRelay::start(bounded(64)).await;
    let daemon = relay.api().register(&relay.enrollment(), "laptop").await;
    let (_, device) = daemon.pair("phone").await;
    let mut ws = ws_connect(&relay.url, &route::attach(&daemon.env, "a"), Some(&device))
        .await
        .expect("attach");
    tokio::time::sleep(DEADLINE * 3).await;
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        r#"{"t":"ping","n":1}"#.into(),
    ))
    .await
    .expect("still open");
}

mod tls {
    use super::*;
    use rustls::pki_types::ServerName;
    use rustls::pki_types::pem::PemObject;

    struct Served {
        addr: String,
        roots: rustls::RootCertStore,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    async fn serve() -> Served {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let relay = Relay::new(bounded(64), Arc::new(MemoryStore::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _dir = dir;
            relay
                .serve_tls(listener, cert, key, async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(made.cert.pem().as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
        Served {
            addr,
            roots,
            _stop: tx,
        }
    }

    #[tokio::test]
    async fn a_handshake_never_started_is_closed() {
        let s = serve().await;
        let mut tcp = TcpStream::connect(&s.addr).await.unwrap();
        closed_after(&mut tcp).await;
    }

    #[tokio::test]
    async fn a_connection_quiet_after_its_handshake_is_closed() {
        let s = serve().await;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(s.roots.clone())
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(&s.addr).await.unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("handshake");
        closed_after(&mut tls).await;
    }
}
