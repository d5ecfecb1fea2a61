//! The daemon in-process: `rcd::run` on a temporary socket, driven through
//! the protocol, torn down on drop.

mod common;

use clap::Parser;
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
        let cfg = rcd::config::Config::from_cli(rcd::Cli::parse_from(args)).expect("config");
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
