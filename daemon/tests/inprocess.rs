//! The daemon in-process: `rcd::run` on a temporary socket, driven through
//! the protocol, torn down on drop.

mod common;

use rcd_proto::{ErrorKind, Request, Response};
use std::path::PathBuf;
use tokio::net::UnixStream;

struct TestDaemon {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<rcd::RunEnd>>>,
}

impl TestDaemon {
    async fn start(extra: &[&str]) -> TestDaemon {
        let dir = tempfile::Builder::new()
            .prefix("rcdi")
            .tempdir_in("/tmp")
            .expect("tmp");
        let socket = dir.path().join("s.sock");
        let mut all = vec!["--stop-grace", "1", "--no-relay"];
        all.extend_from_slice(extra);
        let args = common::args(dir.path(), &all);
        let cfg = common::config(args);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(rcd::run(cfg, async {
            let _ = rx.await;
        }));
        for _ in 0..200 {
            if UnixStream::connect(&socket).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        TestDaemon {
            _dir: dir,
            socket,
            stop: Some(tx),
            task: Some(task),
        }
    }

    async fn call(&self, req: Request) -> Response {
        common::call(&self.socket, &req).await.expect("an answer")
    }

    async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("join").expect("run returns Ok");
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_never_exceed_capacity() {
    let d = std::sync::Arc::new(TestDaemon::start(&["--capacity", "3"]).await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let d = d.clone();
        set.spawn(async move {
            d.call(Request::New {
                name: Some(format!("s{i}")),
                spawn: None,
                sandbox: None,
                program: None,
                command: None,
            })
            .await
        });
    }
    let mut ok = 0;
    let mut full = 0;
    while let Some(r) = set.join_next().await {
        match r.expect("task") {
            Response::Session(_) => ok += 1,
            Response::Error(e) if e.kind == ErrorKind::AtCapacity => {
                assert!(e.message.starts_with("at capacity (3/3)"), "{}", e.message);
                full += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, full), (3, 7));
    let Response::Sessions { sessions } = d.call(Request::List).await else {
        panic!("list")
    };
    assert_eq!(sessions.len(), 3);
    let d = std::sync::Arc::into_inner(d).expect("only owner");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_name_start_one_session() {
    let d = std::sync::Arc::new(TestDaemon::start(&[]).await);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let d = d.clone();
        set.spawn(async move {
            d.call(Request::New {
                name: Some("same".into()),
                spawn: None,
                sandbox: None,
                program: None,
                command: None,
            })
            .await
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        match r.expect("task") {
            Response::Session(_) => ok += 1,
            Response::Error(e) => assert_eq!(e.kind, ErrorKind::NameTaken, "{}", e.message),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    let d = std::sync::Arc::into_inner(d).expect("only owner");
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_screen_and_stop_in_process() {
    let d = TestDaemon::start(&[]).await;
    let Response::Session(s) = d
        .call(Request::New {
            name: Some("ip".into()),
            spawn: None,
            sandbox: None,
            program: None,
            command: None,
        })
        .await
    else {
        panic!("new")
    };
    assert_eq!(s.name, "ip");
    let r = d
        .call(Request::Send {
            name: "ip".into(),
            text: "echo in-process-$((1+1))".into(),
            enter: true,
        })
        .await;
    assert_eq!(r, Response::Ok);
    let mut seen = false;
    for _ in 0..200 {
        if let Response::Screen(sc) = d.call(Request::Screen { name: "ip".into() }).await
            && sc.rows.iter().any(|r| r == "in-process-2")
        {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(seen, "output reached the screen");
    let Response::Stopped(rep) = d
        .call(Request::Stop {
            name: "ip".into(),
            force: false,
        })
        .await
    else {
        panic!("stop")
    };
    assert_eq!(rep.name, "ip");
    assert!(rep.worktree.is_none());
    d.shutdown().await;
}

/// A keeper of a keeper protocol this rcd does not speak (as a much newer
/// or older rcd would leave): its sessions are listed as not adoptable,
/// left alone, and rcd starts a keeper of its own for new sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keeper_of_another_protocol_is_left_alone_and_a_new_one_started() {
    use rcd::keeper::{Held, Reply, Request as KeeperRequest, wire::Conn};
    let dir = tempfile::Builder::new()
        .prefix("rcdk")
        .tempdir_in("/tmp")
        .expect("tmp");
    let state = dir.path().join("state");
    let kdir = rcd::keeper::dir(&state);
    std::fs::create_dir_all(&kdir).expect("keeper dir");
    let listener =
        tokio::net::UnixListener::bind(kdir.join("k4000000.sock")).expect("foreign keeper");
    let foreign = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("rcd connects");
        let mut conn = Conn::new(stream);
        let (hello, _) = conn
            .recv::<KeeperRequest>()
            .await
            .expect("hello")
            .expect("a frame");
        assert!(matches!(hello, KeeperRequest::Hello { .. }), "{hello:?}");
        let held = Held {
            id: "f00d".into(),
            pid: 4_000_001,
            meta: serde_json::json!({ "name": "from-the-future" }),
            exit: None,
        };
        let welcome = Reply::Welcome {
            protocol: rcd::keeper::PROTOCOL + 1,
            version: "99.0.0".into(),
            pid: 4_000_000,
            sessions: vec![held],
        };
        conn.send(&welcome, &[]).await.expect("welcome");
        // Nothing else may come: a keeper of another protocol is not
        // spoken to further.
        assert!(conn.recv::<KeeperRequest>().await.expect("recv").is_none());
    });
    let keepers = rcd::keeper::Keepers::start(&state, env!("CARGO_BIN_EXE_rcd").as_ref())
        .await
        .expect("keepers");
    assert_eq!(keepers.foreign.len(), 1);
    let (pid, protocol, held) = &keepers.foreign[0];
    assert_eq!((*pid, *protocol), (4_000_000, rcd::keeper::PROTOCOL + 1));
    assert_eq!(held[0].id, "f00d");
    assert!(keepers.adoptable.is_empty());
    assert_ne!(keepers.current.pid, 4_000_000, "a keeper of rcd's own");
    assert_eq!(keepers.current.protocol, rcd::keeper::PROTOCOL);
    let own = keepers.current.pid;
    drop(keepers);
    foreign.await.expect("the foreign keeper saw only a hello");
    // rcd's own keeper, never given a session, ends by itself.
    let start = std::time::Instant::now();
    while nix::sys::signal::kill(nix::unistd::Pid::from_raw(own as i32), None).is_ok()
        && !std::fs::read_to_string(format!("/proc/{own}/stat")).is_ok_and(|s| s.contains(") Z"))
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "the idle keeper did not end"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
