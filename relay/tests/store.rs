//! One suite for every `Store`: what the trait promises, checked the same
//! way against the memory, file and Redis stores (a real `redis-server`
//! of the test's own on a free port).

mod common;

use common::redis::RedisServer;
use rc_relay::store::{
    EnvRecord, FileStore, Grant, MemoryStore, PushSubscription, RedisStore, Store, StoreError,
    TokenKind, TokenRecord,
};
use rcd_proto::relay::{Heartbeat, Work, WorkItem, WorkResult};
use rcd_proto::{SessionInfo, SpawnMode};
use std::sync::Arc;
use std::time::Duration;

fn token(id: &str, kind: TokenKind, owner: Option<&str>) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        kind,
        hash: format!("h-{id}"),
        owner: owner.map(Into::into),
        label: Some(format!("label of {id}")),
        created: 1,
        revoked: false,
    }
}

fn session(name: &str) -> SessionInfo {
    serde_json::from_value(serde_json::json!({
        "id": format!("id-{name}"), "name": name, "state": "running", "dir": "/w",
        "spawn": "same-dir", "branch": null, "pid": 7, "created_at": "2026-01-01T00:00:00Z",
        "command": ["sh"], "exit_code": null, "worktree": null,
    }))
    .expect("a session")
}

fn env(id: &str, owner: &str, sessions: &[&str]) -> EnvRecord {
    EnvRecord {
        id: id.into(),
        owner: owner.into(),
        name: format!("name of {id}"),
        machine: "m".into(),
        dir: "/".into(),
        version: "0".into(),
        spawn: SpawnMode::SameDir,
        capacity: 4,
        used: sessions.len() as u32,
        sessions: sessions.iter().map(|n| session(n)).collect(),
        programs: vec!["claude".into(), "shell".into()],
        default_program: Some("claude".into()),
    }
}

fn item(id: &str) -> WorkItem {
    WorkItem {
        id: id.into(),
        work: Work::Stop {
            name: "a".into(),
            force: false,
        },
    }
}

fn failed(message: &str) -> WorkResult {
    WorkResult::Failed {
        error: rcd_proto::ErrorReply {
            kind: rcd_proto::ErrorKind::AtCapacity,
            message: message.into(),
        },
    }
}

fn sub(device: &str, endpoint: &str) -> PushSubscription {
    PushSubscription {
        device: device.into(),
        endpoint: endpoint.into(),
        p256dh: "k".into(),
        auth: "a".into(),
        with_message: false,
        created: 1,
    }
}

fn ids(v: &[TokenRecord]) -> Vec<&str> {
    v.iter().map(|t| t.id.as_str()).collect()
}

async fn tokens(s: &dyn Store) {
    s.insert_token(token("enr_a", TokenKind::Enrollment, None))
        .await
        .unwrap();
    s.insert_token(token("enr_b", TokenKind::Enrollment, None))
        .await
        .unwrap();
    for (d, o) in [("dev_1", "enr_a"), ("dev_2", "enr_b"), ("dev_3", "enr_a")] {
        s.insert_token(token(d, TokenKind::Device, Some(o)))
            .await
            .unwrap();
    }
    assert_eq!(
        ids(&s.list_tokens(TokenKind::Device).await.unwrap()),
        ["dev_1", "dev_2", "dev_3"],
        "oldest first"
    );
    assert_eq!(
        s.find_token(TokenKind::Device, "h-dev_2").await.unwrap(),
        Some(token("dev_2", TokenKind::Device, Some("enr_b")))
    );
    assert_eq!(
        s.find_token(TokenKind::Enrollment, "h-dev_2")
            .await
            .unwrap(),
        None,
        "another kind's hash"
    );
    assert_eq!(
        s.get_token(TokenKind::Enrollment, "enr_b")
            .await
            .unwrap()
            .map(|t| t.label),
        Some(Some("label of enr_b".into()))
    );
    let changed = s
        .revoke_token(TokenKind::Enrollment, "enr_a")
        .await
        .unwrap();
    assert_eq!(
        ids(&changed),
        ["enr_a", "dev_1", "dev_3"],
        "with its devices"
    );
    assert!(changed.iter().all(|t| t.revoked));
    assert!(
        s.revoke_token(TokenKind::Enrollment, "enr_a")
            .await
            .unwrap()
            .is_empty(),
        "a second revocation changes nothing"
    );
    assert!(matches!(
        s.revoke_token(TokenKind::Device, "enr_b").await,
        Err(StoreError::UnknownToken { .. })
    ));
    let dev2 = s.get_token(TokenKind::Device, "dev_2").await.unwrap();
    assert!(!dev2.unwrap().revoked, "another owner's device");
    assert!(
        s.find_token(TokenKind::Device, "h-dev_1")
            .await
            .unwrap()
            .unwrap()
            .revoked,
        "found revoked, as revoked"
    );
    let listed = s.list_tokens(TokenKind::Enrollment).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|t| (t.id.as_str(), t.revoked))
            .collect::<Vec<_>>(),
        [("enr_a", true), ("enr_b", false)]
    );
}

async fn push(s: &dyn Store) {
    s.insert_token(token("enr_a", TokenKind::Enrollment, None))
        .await
        .unwrap();
    s.insert_token(token("dev_1", TokenKind::Device, Some("enr_a")))
        .await
        .unwrap();
    s.insert_token(token("dev_2", TokenKind::Device, Some("enr_a")))
        .await
        .unwrap();
    assert!(
        s.put_subscription(sub("dev_1", "https://p/1"))
            .await
            .unwrap()
    );
    assert!(
        s.put_subscription(sub("dev_1", "https://p/1b"))
            .await
            .unwrap(),
        "replaces"
    );
    assert!(
        s.put_subscription(sub("dev_2", "https://p/2"))
            .await
            .unwrap()
    );
    assert!(
        !s.put_subscription(sub("dev_9", "https://p/9"))
            .await
            .unwrap(),
        "no such device"
    );
    assert_eq!(
        s.get_subscription("dev_1").await.unwrap().unwrap().endpoint,
        "https://p/1b"
    );
    assert_eq!(s.list_subscriptions("enr_a").await.unwrap().len(), 2);
    assert!(s.list_subscriptions("enr_b").await.unwrap().is_empty());
    assert!(
        !s.remove_subscription("dev_1", Some("https://p/1"))
            .await
            .unwrap(),
        "an older endpoint removes nothing"
    );
    s.revoke_token(TokenKind::Device, "dev_2").await.unwrap();
    assert!(
        s.get_subscription("dev_2").await.unwrap().is_none(),
        "revoked with its device"
    );
    assert!(
        s.remove_subscription("dev_1", Some("https://p/1b"))
            .await
            .unwrap()
    );
    assert!(
        s.put_subscription(sub("dev_1", "https://p/1c"))
            .await
            .unwrap()
    );
    s.revoke_token(TokenKind::Enrollment, "enr_a")
        .await
        .unwrap();
    assert!(
        s.get_subscription("dev_1").await.unwrap().is_none(),
        "and by the cascade"
    );
    assert!(
        !s.put_subscription(sub("dev_1", "https://p/1"))
            .await
            .unwrap()
    );
    assert_eq!(s.push_key(b"first".to_vec()).await.unwrap(), b"first");
    assert_eq!(
        s.push_key(b"second".to_vec()).await.unwrap(),
        b"first",
        "made once"
    );
}

async fn grants(s: &dyn Store) {
    let g = Grant::Pairing {
        owner: "enr_a".into(),
        env: "env_1".into(),
    };
    s.put_grant("h1".into(), g.clone(), Duration::from_secs(60))
        .await
        .unwrap();
    s.put_grant("h2".into(), g.clone(), Duration::ZERO)
        .await
        .unwrap();
    s.put_grant("h3".into(), g.clone(), Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(s.get_grant("h1").await.unwrap(), Some(g.clone()));
    assert_eq!(s.get_grant("h2").await.unwrap(), None, "expired");
    assert_eq!(s.get_grant("h1").await.unwrap(), Some(g.clone()), "kept");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(s.get_grant("h3").await.unwrap(), None, "expired since");
    assert_eq!(s.take_grant("h1").await.unwrap(), Some(g));
    assert_eq!(s.take_grant("h1").await.unwrap(), None, "one use");
}

async fn environments(s: &dyn Store) {
    s.put_environment(env("env_1", "enr_a", &["x", "y"]))
        .await
        .unwrap();
    s.put_environment(env("env_2", "enr_b", &[])).await.unwrap();
    let e = s.get_environment("env_1").await.unwrap().unwrap();
    assert_eq!(e.record, env("env_1", "enr_a", &["x", "y"]));
    assert!(e.idle < Duration::from_secs(5));
    assert_eq!(s.get_environment("env_9").await.unwrap(), None);
    let mine = s.list_environments(Some("enr_a")).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].record.id, "env_1");
    assert_eq!(s.list_environments(None).await.unwrap().len(), 2);

    // Sessions between heartbeats: added, replaced, removed, in order.
    s.set_session("env_1", "z", Some(session("z")))
        .await
        .unwrap();
    let mut renamed = session("x");
    renamed.dir = "/elsewhere".into();
    s.set_session("env_1", "x", Some(renamed.clone()))
        .await
        .unwrap();
    s.set_session("env_1", "y", None).await.unwrap();
    let e = s.get_environment("env_1").await.unwrap().unwrap();
    let names: Vec<&str> = e.record.sessions.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["z", "x"]);
    assert_eq!(e.record.sessions[1], renamed);
    assert_eq!(e.record.used, 2, "+1 for z, 0 for x, -1 for y");
    s.set_session("env_9", "a", Some(session("a")))
        .await
        .unwrap();
    assert_eq!(s.get_environment("env_9").await.unwrap(), None);

    // A heartbeat replaces what it carries.
    let hb = Heartbeat {
        spawn: SpawnMode::Worktree,
        capacity: 9,
        used: 1,
        sessions: vec![session("only")],
    };
    assert!(s.seen("env_1", Some(hb)).await.unwrap());
    assert!(s.seen("env_2", None).await.unwrap(), "a poll");
    assert!(!s.seen("env_9", None).await.unwrap(), "unknown");
    let e = s.get_environment("env_1").await.unwrap().unwrap().record;
    assert_eq!((e.spawn, e.capacity, e.used), (SpawnMode::Worktree, 9, 1));
    assert_eq!(e.sessions, vec![session("only")]);
    assert_eq!(e.name, "name of env_1", "what registration said stays");

    // Registered again: replaced, its queue kept.
    s.push_work("env_1", item("w1"), Duration::from_secs(5))
        .await
        .unwrap();
    s.put_environment(env("env_1", "enr_a", &[])).await.unwrap();
    let got = s.next_work("env_1", Duration::ZERO).await.unwrap();
    assert_eq!(got.map(|i| i.id), Some("w1".into()), "the queue is kept");
    assert!(
        s.get_environment("env_1")
            .await
            .unwrap()
            .unwrap()
            .record
            .sessions
            .is_empty()
    );

    assert!(s.remove_environment("env_2").await.unwrap());
    assert!(!s.remove_environment("env_2").await.unwrap());
    assert!(s.list_environments(Some("enr_b")).await.unwrap().is_empty());

    // The sweep forgets the silent ones, once.
    assert!(
        s.sweep(Duration::from_secs(60)).await.unwrap().is_empty(),
        "fresh"
    );
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(s.sweep(Duration::from_millis(10)).await.unwrap(), ["env_1"]);
    assert!(s.sweep(Duration::ZERO).await.unwrap().is_empty());
    assert!(s.list_environments(None).await.unwrap().is_empty());
}

async fn work(s: Arc<dyn Store>) {
    s.put_environment(env("env_1", "enr_a", &[])).await.unwrap();
    let waiter = {
        let s = s.clone();
        tokio::spawn(async move { s.next_work("env_1", Duration::from_secs(5)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.push_work("env_1", item("w1"), Duration::from_secs(5))
        .await
        .unwrap();
    let got = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("a waiting poll is woken")
        .unwrap()
        .unwrap();
    assert_eq!(got.map(|i| i.id), Some("w1".to_string()));
    assert_eq!(
        s.next_work("env_1", Duration::from_millis(20))
            .await
            .unwrap(),
        None,
        "delivered once"
    );
    assert!(
        !s.post_result("env_2", "w1", failed("x")).await.unwrap(),
        "another environment's work"
    );
    assert!(s.post_result("env_1", "w1", failed("full")).await.unwrap());
    assert!(
        !s.post_result("env_1", "w1", failed("again")).await.unwrap(),
        "one result"
    );
    assert_eq!(
        s.wait_result("env_1", "w1", Duration::from_secs(1))
            .await
            .unwrap(),
        Some(failed("full"))
    );
    assert_eq!(
        s.wait_result("env_1", "w1", Duration::from_millis(10))
            .await
            .unwrap(),
        None,
        "forgotten once taken"
    );

    // A result that comes while the device waits.
    s.push_work("env_1", item("w2"), Duration::from_secs(5))
        .await
        .unwrap();
    let device = {
        let s = s.clone();
        tokio::spawn(async move { s.wait_result("env_1", "w2", Duration::from_secs(5)).await })
    };
    let polled = s.next_work("env_1", Duration::from_secs(1)).await.unwrap();
    assert_eq!(polled.map(|i| i.id), Some("w2".into()));
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(s.post_result("env_1", "w2", failed("late")).await.unwrap());
    let r = tokio::time::timeout(Duration::from_secs(2), device)
        .await
        .expect("the waiting device is woken")
        .unwrap()
        .unwrap();
    assert_eq!(r, Some(failed("late")));

    // Unanswered: withdrawn from the queue, its result refused.
    s.push_work("env_1", item("w3"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        s.wait_result("env_1", "w3", Duration::from_millis(30))
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.next_work("env_1", Duration::ZERO).await.unwrap(), None);
    assert!(!s.post_result("env_1", "w3", failed("x")).await.unwrap());

    // Cancelled, and expired: never delivered.
    s.push_work("env_1", item("w4"), Duration::from_secs(5))
        .await
        .unwrap();
    s.cancel_work("env_1", "w4").await.unwrap();
    s.push_work("env_1", item("w5"), Duration::from_millis(20))
        .await
        .unwrap();
    s.push_work("env_1", item("w6"), Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let next = s.next_work("env_1", Duration::ZERO).await.unwrap();
    assert_eq!(next.map(|i| i.id), Some("w6".into()), "w4 and w5 skipped");
    assert_eq!(s.next_work("env_1", Duration::ZERO).await.unwrap(), None);
}

/// Every check, against one store made fresh for each by `make`.
async fn suite<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn Store>>,
{
    tokens(&*make().await).await;
    push(&*make().await).await;
    grants(&*make().await).await;
    environments(&*make().await).await;
    work(make().await).await;
}

#[tokio::test]
async fn the_memory_store_keeps_every_promise() {
    suite(|| async { Arc::new(MemoryStore::new()) as Arc<dyn Store> }).await;
}

#[tokio::test]
async fn the_file_store_keeps_every_promise() {
    let dirs = std::sync::Mutex::new(Vec::new());
    suite(|| async {
        let dir = tempfile::tempdir().unwrap();
        let s = FileStore::open(dir.path()).unwrap();
        dirs.lock().unwrap().push(dir);
        Arc::new(s) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test]
async fn the_redis_store_keeps_every_promise() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    // Each check gets a database of its own, so each starts from nothing.
    let db = std::sync::atomic::AtomicU32::new(0);
    suite(|| async {
        let n = db.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let s = RedisStore::connect(&server.url_of(n)).await.unwrap();
        Arc::new(s) as Arc<dyn Store>
    })
    .await;
}

#[tokio::test]
async fn a_redis_that_goes_away_is_unavailable_then_comes_back() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let s = RedisStore::connect(&server.url()).await.unwrap();
    s.insert_token(token("enr_a", TokenKind::Enrollment, None))
        .await
        .unwrap();
    server.stop();
    let t = std::time::Instant::now();
    let e = s.get_token(TokenKind::Enrollment, "enr_a").await;
    assert!(
        matches!(e, Err(StoreError::Unavailable(_))),
        "unavailable, not an answer: {e:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(5), "said quickly");
    server.restart();
    let mut back = None;
    for _ in 0..50 {
        if let Ok(v) = s.get_token(TokenKind::Enrollment, "enr_a").await {
            back = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The test's Redis keeps nothing on disk: the token is gone, but the
    // store answers again by itself.
    assert_eq!(back, Some(None), "the store answers again once Redis does");
}
