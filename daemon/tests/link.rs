//! The relay link in-process, against rc-relay's server in the same
//! process: a simulated wake from sleep through the clock seam, and the
//! relay's `Retry-After` honoured.

use clap::Parser;
use rcd::link::clock::SimulatedSleep;
use rcd_proto::{Request, Response, StatusInfo};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

async fn status(socket: &Path) -> Option<StatusInfo> {
    match common::call(socket, &Request::Status).await.ok()? {
        Response::Status(st) => Some(st),
        _ => None,
    }
}

async fn wait_status(socket: &Path, what: &str, limit: Duration, f: impl Fn(&StatusInfo) -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(st) = status(socket).await
            && f(&st)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "timed out after {limit:?} waiting for {what}: {:?}",
        status(socket).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_from_sleep_reconnects_without_waiting_out_the_backoff() {
    let dir = tempfile::Builder::new()
        .prefix("rcdw")
        .tempdir_in("/tmp")
        .expect("tmp");
    // A relay that is not serving yet, on a port we know.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let store: Arc<dyn rc_relay::Store> = Arc::new(rc_relay::MemoryStore::new());
    let relay = rc_relay::Relay::new(rc_relay::RelayOptions::default(), store);
    let token = relay.create_enrollment_token(None).expect("token");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token.expose()).expect("write token");

    let socket = dir.path().join("s.sock");
    let relay_url = format!("http://127.0.0.1:{port}");
    let token_path = token_file.display().to_string();
    let args = common::args(
        dir.path(),
        &["--relay", &relay_url, "--token-file", &token_path],
    );
    let cfg = rcd::config::Config::from_cli(rcd::Cli::parse_from(args)).expect("config");
    let clock = Arc::new(SimulatedSleep::default());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(rcd::run_with_clock(
        cfg,
        async {
            let _ = stop_rx.await;
        },
        clock.clone(),
    ));

    // The relay is overloaded: it answers 503 with a Retry-After of a
    // minute, which rcd honours, so the next try is seconds away. (A
    // refused connect would be retried within a second.)
    let busy = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    let busy_task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut conn, _)) = busy.accept().await {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn
                .write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\n\
                      Content-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });
    wait_status(&socket, "a long backoff", Duration::from_secs(30), |st| {
        st.link.as_ref().is_some_and(|l| {
            l.state != rcd_proto::LinkState::Connected && l.next_retry_secs.is_some_and(|s| s >= 5)
        })
    })
    .await;
    busy_task.abort();
    let _ = busy_task.await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("rebind");
    let (rstop_tx, rstop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(relay.serve(listener, async {
        let _ = rstop_rx.await;
    }));
    let woke = Instant::now();
    clock.sleep(Duration::from_secs(3600));
    wait_status(
        &socket,
        "the link to reconnect",
        Duration::from_secs(10),
        |st| {
            st.link
                .as_ref()
                .is_some_and(|l| l.state == rcd_proto::LinkState::Connected)
        },
    )
    .await;
    assert!(
        woke.elapsed() < Duration::from_millis(2500),
        "reconnected {:?} after the wake, not at once",
        woke.elapsed()
    );
    // The status counts how long the link has been up when it is asked,
    // not when the link last changed.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let up = status(&socket)
        .await
        .and_then(|st| st.link)
        .expect("link status");
    assert_eq!(up.state, rcd_proto::LinkState::Connected);
    assert!(up.since_secs >= 2, "connected for {}s", up.since_secs);
    let _ = stop_tx.send(());
    assert_eq!(
        daemon.await.expect("join").expect("run"),
        rcd::RunEnd::Shutdown
    );
    let _ = rstop_tx.send(());
}
