//! The relay link in-process, against rc-relay's server in the same
//! process: a simulated wake from sleep through the clock seam, and the
//! relay's `Retry-After` honoured.

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
    // A relay that is not serving yet, on a port we keep: it answers as
    // an overloaded relay first (below), then serves.
    let busy = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = busy.local_addr().expect("addr").port();
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
    let cfg = common::config(args);
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
    // The same listener then serves the relay: a port let go could be
    // taken meanwhile (another test's outgoing connection, say).
    let (busy_stop, mut busy_stopped) = tokio::sync::oneshot::channel::<()>();
    let busy_task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut conn, _) = tokio::select! {
                c = busy.accept() => match c {
                    Ok(c) => c,
                    Err(_) => continue,
                },
                _ = &mut busy_stopped => return busy,
            };
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
    let _ = busy_stop.send(());
    let listener = busy_task.await.expect("the busy relay's listener");
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

/// A TCP proxy to a relay that can freeze: every connection open at a
/// freeze stops passing bytes but stays open (half-open, as after a sleep
/// or in a partition); connections made after it pass. It notes the
/// first line of each connection (the HTTP request) with the number of
/// freezes before it.
struct Proxy {
    port: u16,
    /// While set, new connections are frozen from the start too.
    hold_new: Arc<std::sync::atomic::AtomicBool>,
    freezes: Arc<std::sync::atomic::AtomicU64>,
    seen: Arc<std::sync::Mutex<Vec<(u64, String)>>>,
    /// A path that freezes every connection when a request for it comes,
    /// before the request is passed on: its answer never comes.
    freeze_at: Arc<std::sync::Mutex<Option<String>>>,
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let freezes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let hold_new = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen: Arc<std::sync::Mutex<Vec<(u64, String)>>> = Arc::default();
        let freeze_at: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
        let (f, s, h, at) = (
            freezes.clone(),
            seen.clone(),
            hold_new.clone(),
            freeze_at.clone(),
        );
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let Ok(up) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                // A held connection is born frozen: no freeze count matches.
                let born = if h.load(Ordering::SeqCst) {
                    u64::MAX
                } else {
                    f.load(Ordering::SeqCst)
                };
                let (f, s, at) = (f.clone(), s.clone(), at.clone());
                tokio::spawn(async move {
                    let (mut cr, mut cw) = conn.into_split();
                    let (mut ur, mut uw) = up.into_split();
                    let f2 = f.clone();
                    let down = tokio::spawn(async move {
                        let mut buf = vec![0u8; 16384];
                        while let Ok(n) = ur.read(&mut buf).await {
                            if n == 0 || f2.load(Ordering::SeqCst) != born {
                                break;
                            }
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        // Frozen: hold the socket, pass nothing.
                        std::future::pending::<()>().await;
                        drop(cw);
                    });
                    let mut buf = vec![0u8; 16384];
                    let mut first = true;
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        if first {
                            first = false;
                            let line = String::from_utf8_lossy(&buf[..n])
                                .lines()
                                .next()
                                .unwrap_or_default()
                                .to_string();
                            let mut at = at.lock().unwrap();
                            if at.as_deref().is_some_and(|p| line.contains(p)) {
                                *at = None;
                                f.fetch_add(1, Ordering::SeqCst);
                            }
                            s.lock().unwrap().push((born, line));
                        }
                        if f.load(Ordering::SeqCst) != born {
                            break;
                        }
                        if uw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    std::future::pending::<()>().await;
                    drop((uw, down));
                });
            }
        });
        Proxy {
            port,
            hold_new,
            freezes,
            seen,
            freeze_at,
        }
    }

    fn freeze(&self) {
        self.freezes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a connection made after the last freeze asked for a path
    /// containing `what`.
    fn fresh(&self, what: &str) -> bool {
        let now = self.freezes.load(std::sync::atomic::Ordering::SeqCst);
        self.seen
            .lock()
            .unwrap()
            .iter()
            .any(|(born, line)| *born == now && line.contains(what))
    }
}

/// rcd linked to an in-process relay through a [`Proxy`], on a clock
/// whose sleeps the test makes.
struct Proxied {
    _dir: tempfile::TempDir,
    socket: std::path::PathBuf,
    proxy: Proxy,
    clock: Arc<SimulatedSleep>,
    stop: tokio::sync::oneshot::Sender<()>,
    daemon: tokio::task::JoinHandle<anyhow::Result<rcd::RunEnd>>,
}

impl Proxied {
    /// Starts the relay, the proxy and rcd; `before` runs on the proxy
    /// before rcd connects through it.
    async fn start(before: impl FnOnce(&Proxy)) -> Proxied {
        let dir = tempfile::Builder::new()
            .prefix("rcdw")
            .tempdir_in("/tmp")
            .expect("tmp");
        let store: Arc<dyn rc_relay::Store> = Arc::new(rc_relay::MemoryStore::new());
        let relay = rc_relay::Relay::new(rc_relay::RelayOptions::default(), store);
        let token = relay.create_enrollment_token(None).expect("token");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, token.expose()).expect("write token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let relay_port = listener.local_addr().expect("addr").port();
        tokio::spawn(relay.serve(listener, std::future::pending()));
        let proxy = Proxy::start(relay_port).await;
        before(&proxy);

        let socket = dir.path().join("s.sock");
        let relay_url = format!("http://127.0.0.1:{}", proxy.port);
        let token_path = token_file.display().to_string();
        let args = common::args(
            dir.path(),
            &["--relay", &relay_url, "--token-file", &token_path],
        );
        let cfg = common::config(args);
        let clock = Arc::new(SimulatedSleep::default());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let daemon = tokio::spawn(rcd::run_with_clock(
            cfg,
            async {
                let _ = stop_rx.await;
            },
            clock.clone(),
        ));
        Proxied {
            _dir: dir,
            socket,
            proxy,
            clock,
            stop,
            daemon,
        }
    }

    async fn wait_connected(&self, limit: Duration) {
        wait_status(&self.socket, "the link", limit, |st| {
            st.link
                .as_ref()
                .is_some_and(|l| l.state == rcd_proto::LinkState::Connected)
        })
        .await;
    }

    async fn new_session(&self, name: &str) {
        let made = common::call(
            &self.socket,
            &Request::New {
                name: Some(name.into()),
                spawn: None,
                sandbox: None,
                program: None,
                command: None,
            },
        )
        .await
        .expect("new");
        assert!(matches!(made, Response::Session(_)), "{made:?}");
    }

    /// Sleeps an hour, then waits for a registration and a link of
    /// session `name` on connections made after the last freeze; returns
    /// how long after the wake they came.
    async fn wake_and_relink(&self, name: &str) -> Duration {
        let link = format!("/sessions/{name}/link");
        let woke = Instant::now();
        self.clock.sleep(Duration::from_secs(3600));
        while !(self.proxy.fresh("/register") && self.proxy.fresh(&link)) {
            assert!(
                woke.elapsed() < Duration::from_secs(5),
                "after a wake: registered again {}, session link replaced {}",
                self.proxy.fresh("/register"),
                self.proxy.fresh(&link)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let replaced = woke.elapsed();
        self.wait_connected(Duration::from_secs(5)).await;
        replaced
    }

    async fn shut_down(self) {
        let _ = self.stop.send(());
        assert_eq!(
            self.daemon.await.expect("join").expect("run"),
            rcd::RunEnd::Shutdown
        );
    }
}

/// A wake while the link is up, every connection to the relay left
/// half-open by the sleep: rcd does not wait for any of them to time out
/// (a kept-alive HTTP connection would hold the registration for 30 s, a
/// session link's pings would take up to 45 s to fail): within about a
/// second it registers again on a new connection and replaces the
/// session's link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_while_linked_replaces_every_half_open_connection_at_once() {
    let rcd = Proxied::start(|_| {}).await;
    rcd.wait_connected(Duration::from_secs(20)).await;
    rcd.new_session("held").await;
    let start = Instant::now();
    while !rcd.proxy.fresh("/sessions/held/link") {
        assert!(start.elapsed() < Duration::from_secs(20), "no session link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rcd.proxy.freeze();
    let replaced = rcd.wake_and_relink("held").await;
    assert!(
        replaced < Duration::from_millis(2500),
        "replaced {replaced:?} after the wake"
    );
    rcd.shut_down().await;
}

/// A wake while a session's link is being opened, its upgrade's answer
/// lost with the sleep: rcd does not wait out the attempt's 30 s but
/// opens the link again on a new connection with the new registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_while_a_session_link_opens_starts_it_again_at_once() {
    let rcd = Proxied::start(|p| {
        *p.freeze_at.lock().unwrap() = Some("/sessions/opening/link".into());
    })
    .await;
    rcd.wait_connected(Duration::from_secs(20)).await;
    rcd.new_session("opening").await;
    let start = Instant::now();
    while rcd.proxy.freezes.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "no session link");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replaced = rcd.wake_and_relink("opening").await;
    assert!(
        replaced < Duration::from_millis(2500),
        "opened again {replaced:?} after the wake"
    );
    rcd.shut_down().await;
}

/// The outage clock counts awake time only: an hour of (simulated) sleep
/// in an outage does not end rcd; the outage timeout still does, after
/// its awake seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleep_during_an_outage_does_not_count_towards_its_timeout() {
    let dir = tempfile::Builder::new()
        .prefix("rcdo")
        .tempdir_in("/tmp")
        .expect("tmp");
    // Nothing listens there: every connect is refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "rce_unused").expect("write token");
    let socket = dir.path().join("s.sock");
    let relay_url = format!("http://127.0.0.1:{port}");
    let token_path = token_file.display().to_string();
    let args = common::args(
        dir.path(),
        &[
            "--relay",
            &relay_url,
            "--token-file",
            &token_path,
            "--outage-timeout",
            "4s",
        ],
    );
    let cfg = common::config(args);
    let clock = Arc::new(SimulatedSleep::default());
    let started = Instant::now();
    let daemon = tokio::spawn(rcd::run_with_clock(
        cfg,
        std::future::pending::<()>(),
        clock.clone(),
    ));
    wait_status(&socket, "the outage", Duration::from_secs(10), |st| {
        st.link
            .as_ref()
            .is_some_and(|l| l.outage_left_secs.is_some())
    })
    .await;
    clock.sleep(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !daemon.is_finished(),
        "an hour of sleep ended the outage at once"
    );
    let end = tokio::time::timeout(Duration::from_secs(10), daemon)
        .await
        .expect("the outage timeout ends rcd")
        .expect("join")
        .expect("run");
    assert!(matches!(end, rcd::RunEnd::Outage(_)), "{end:?}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(8),
        "ended after {took:?} awake, with a 4 s outage timeout"
    );
}

/// A wake while registering, the registration's connection dead: rcd
/// does not wait out the request's 30 s but registers again at once on
/// a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_while_registering_starts_again_on_a_new_connection() {
    // Every connection hangs: the first registration waits on one.
    let rcd = Proxied::start(|p| {
        p.hold_new.store(true, std::sync::atomic::Ordering::SeqCst);
    })
    .await;
    let start = Instant::now();
    while !rcd
        .proxy
        .seen
        .lock()
        .unwrap()
        .iter()
        .any(|(_, l)| l.contains("/register"))
    {
        assert!(start.elapsed() < Duration::from_secs(20), "no registration");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    rcd.proxy
        .hold_new
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let woke = Instant::now();
    rcd.clock.sleep(Duration::from_secs(3600));
    rcd.wait_connected(Duration::from_secs(20)).await;
    assert!(
        woke.elapsed() < Duration::from_millis(2500),
        "registered {:?} after the wake, not at once",
        woke.elapsed()
    );
    rcd.shut_down().await;
}
