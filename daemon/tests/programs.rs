//! The boundary between devices and the machine, on the daemon's side: a
//! real rc-relay in the same process, whose store lets the test queue work
//! as a relay that let anything through would, and a real rcd with
//! `[programs]`. A `create` carrying a command line is refused by rcd and
//! runs nothing; one naming a program starts it; the relay learns the
//! programs' names and never their command lines.

use rcd_proto::relay::{Work, WorkItem, WorkResult};
use rcd_proto::{ErrorKind, Request, Response, StatusInfo};
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

/// Queues `work` for `env` and waits for rcd's result.
async fn run_work(store: &Arc<dyn rc_relay::Store>, env: &str, id: &str, work: Work) -> WorkResult {
    let ttl = Duration::from_secs(30);
    store
        .push_work(
            env,
            WorkItem {
                id: id.into(),
                work,
            },
            ttl,
        )
        .await
        .expect("queue the work");
    store
        .wait_result(env, id, ttl)
        .await
        .expect("the store answers")
        .expect("rcd posted a result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_with_a_command_line_is_refused_by_rcd_and_runs_nothing() {
    let dir = tempfile::Builder::new()
        .prefix("rcdp")
        .tempdir_in("/tmp")
        .expect("tmp");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let store: Arc<dyn rc_relay::Store> = Arc::new(rc_relay::MemoryStore::new());
    let relay = rc_relay::Relay::new(rc_relay::RelayOptions::default(), store.clone());
    let token = relay.create_enrollment_token(None).expect("token");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token.expose()).expect("write token");
    let (rstop_tx, rstop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(relay.serve(listener, async {
        let _ = rstop_rx.await;
    }));

    let marker = dir.path().join("ran");
    let hello = "sh -c 'echo hello; exec cat'".to_string();
    let hello_entry = format!("hello={hello}");
    let url = format!("http://127.0.0.1:{port}");
    let token_path = token_file.display().to_string();
    let args = common::args(
        dir.path(),
        &[
            "--relay",
            &url,
            "--token-file",
            &token_path,
            "--program",
            &hello_entry,
            "--program",
            "shell=",
            "--default-program",
            "shell",
        ],
    );
    let socket = dir.path().join("s.sock");
    let cfg = common::config(args);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(rcd::run(cfg, async {
        let _ = stop_rx.await;
    }));

    let start = Instant::now();
    let env = loop {
        if let Some(id) = status(&socket)
            .await
            .and_then(|st| st.link)
            .filter(|l| l.state == rcd_proto::LinkState::Connected)
            .and_then(|l| l.environment_id)
        {
            break id;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "rcd never registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The relay knows the names, and nothing of the command lines.
    let record = store
        .list_environments(None)
        .await
        .expect("list")
        .into_iter()
        .find(|e| e.record.id == env)
        .expect("the environment")
        .record;
    assert_eq!(record.programs, ["hello", "shell"]);
    assert_eq!(record.default_program.as_deref(), Some("shell"));
    let json = serde_json::to_string(&record).expect("json");
    assert!(!json.contains("echo hello"), "{json}");

    // A command line in the work, as a relay that let it through would
    // send it: refused, nothing started.
    let touch = serde_json::json!(["sh", "-c", format!("touch {}", marker.display())]);
    for (id, command) in [
        ("w1", touch.clone()),
        (
            "w2",
            serde_json::json!(format!("touch {}", marker.display())),
        ),
    ] {
        let result = run_work(
            &store,
            &env,
            id,
            Work::Create {
                name: Some("evil".into()),
                spawn: None,
                sandbox: None,
                program: None,
                command: Some(command),
            },
        )
        .await;
        let WorkResult::Failed { error } = result else {
            panic!("a command line was accepted: {result:?}");
        };
        assert_eq!(error.kind, ErrorKind::BadRequest);
        assert!(
            error.message.contains("never a command line"),
            "{}",
            error.message
        );
    }
    // Even with a program named beside it.
    let result = run_work(
        &store,
        &env,
        "w3",
        Work::Create {
            name: Some("evil".into()),
            spawn: None,
            sandbox: None,
            program: Some("hello".into()),
            command: Some(touch),
        },
    )
    .await;
    assert!(matches!(result, WorkResult::Failed { .. }), "{result:?}");

    // A program by name starts; an unknown one is refused with the names.
    let WorkResult::Created { session } = run_work(
        &store,
        &env,
        "w4",
        Work::Create {
            name: Some("greet".into()),
            spawn: None,
            sandbox: None,
            program: Some("hello".into()),
            command: None,
        },
    )
    .await
    else {
        panic!("the named program did not start");
    };
    assert_eq!(session.program.as_deref(), Some("hello"));
    let WorkResult::Failed { error } = run_work(
        &store,
        &env,
        "w5",
        Work::Create {
            name: Some("other".into()),
            spawn: None,
            sandbox: None,
            program: Some("codex".into()),
            command: None,
        },
    )
    .await
    else {
        panic!("an unknown program started");
    };
    assert!(
        error.message.contains("\"codex\"") && error.message.contains("hello, shell"),
        "{}",
        error.message
    );

    let Some(Response::Sessions { sessions }) = common::call(&socket, &Request::List).await.ok()
    else {
        panic!("no list");
    };
    let names: Vec<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["greet"], "only the named program runs");
    // Give a started command every chance to have run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!marker.exists(), "the refused command ran");

    let _ = common::call(&socket, &Request::Shutdown).await;
    let _ = stop_tx.send(());
    let _ = daemon.await;
    let _ = rstop_tx.send(());
}
