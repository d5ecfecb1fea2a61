//! The relay with its state in Redis (`--redis`): what one relay process
//! knew is known to the next one on the same Redis, and a Redis that goes
//! away makes the relay answer 503 until it is back, never an answer from
//! what the relay last knew.

mod common;

use common::redis::RedisServer;
use common::{PATIENCE, TestRelay, fast, route, session, wait_for};
use rc_relay::{RedisStore, Relay, Store};

/// Every environment the caller may see.
const ENVIRONMENTS: &str = "/environments";
use std::sync::Arc;

async fn relay_on(url: &str) -> (TestRelay, Relay) {
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(url).await.expect("Redis"));
    let r = TestRelay::with_store(fast(), store).await;
    let relay = r.relay.clone();
    (r, relay)
}

#[tokio::test]
async fn a_second_relay_on_the_same_redis_knows_what_the_first_did() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (first, relay) = relay_on(&redis.url()).await;
    let (_, enrollment) = relay
        .create_enrollment_token_async(Some("laptop".into()))
        .await
        .expect("a token in Redis");
    let daemon = first.api().register(&enrollment, "laptop").await;
    assert_eq!(daemon.heartbeat(vec![session("a")]).await, 204);
    let (device_id, device) = daemon.pair("phone").await;
    drop(first);

    // Another relay process, nothing in its memory: the device's token,
    // the daemon's credential, the environment and its sessions all come
    // from Redis.
    let (second, _) = relay_on(&redis.url()).await;
    let mut daemon = daemon;
    daemon.api = second.api();
    let (status, envs) = second.api().get(ENVIRONMENTS, Some(&device)).await;
    assert_eq!(status, 200, "{envs}");
    let envs = envs.as_array().expect("a list");
    assert_eq!(envs.len(), 1, "{envs:?}");
    assert_eq!(envs[0]["sessions"][0]["name"], "a");
    assert_eq!(
        daemon.heartbeat(vec![session("a"), session("b")]).await,
        204,
        "the environment credential made by the first relay"
    );
    let (_, envs) = second.api().get(ENVIRONMENTS, Some(&device)).await;
    assert_eq!(
        envs[0]["sessions"].as_array().map(Vec::len),
        Some(2),
        "the heartbeat through the second relay: {envs}"
    );

    // Work queued through one relay is polled through the other.
    let (third, _) = relay_on(&redis.url()).await;
    let poll = {
        let d = common::FakeDaemon {
            api: third.api(),
            ..daemon.clone()
        };
        tokio::spawn(async move { d.poll(5).await })
    };
    let stop = tokio::spawn({
        let api = second.api();
        let device = device.clone();
        let env = daemon.env.clone();
        async move {
            api.call(
                reqwest::Method::DELETE,
                &route::session(&env, "a"),
                Some(&device),
                None,
            )
            .await
        }
    });
    let item = tokio::time::timeout(PATIENCE, poll)
        .await
        .expect("the poll through another relay gets the work")
        .unwrap()
        .expect("an item");
    assert_eq!(
        daemon
            .post_result(
                &item.id,
                &rcd_proto::relay::WorkResult::Failed {
                    error: rcd_proto::ErrorReply {
                        kind: rcd_proto::ErrorKind::UnknownSession,
                        message: "no session a".into(),
                    },
                }
            )
            .await,
        204
    );
    let (status, body) = stop.await.unwrap();
    assert_eq!(
        (status, body["kind"].as_str()),
        (404, Some("unknown-session")),
        "the device got the daemon's answer through its own relay: {body}"
    );

    // Revoked through one relay: refused by the other.
    let (status, _) = second
        .api()
        .delete(&route::device(&device_id), Some(&device))
        .await;
    assert!(status < 300, "revoked: {status}");
    let (status, _) = third.api().get(ENVIRONMENTS, Some(&device)).await;
    assert_eq!(status, 401, "a revoked device is refused by every relay");
}

#[tokio::test]
async fn without_redis_the_relay_answers_503_then_recovers_by_itself() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (r, relay) = relay_on(&redis.url()).await;
    let (_, enrollment) = relay
        .create_enrollment_token_async(None)
        .await
        .expect("a token");
    let daemon = r.api().register(&enrollment, "laptop").await;
    let (_, device) = daemon.pair("phone").await;

    redis.stop();
    let (status, body) = r.api().get(ENVIRONMENTS, Some(&device)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["kind"], "store-unavailable");
    assert!(
        body["message"].as_str().unwrap_or("").contains("Redis"),
        "{body}"
    );

    // The test's Redis keeps nothing on disk: back empty, the relay
    // answers again, from what Redis holds (the token is gone: 401).
    redis.restart();
    wait_for("the relay to answer from Redis again", PATIENCE, || {
        let api = r.api();
        let device = device.clone();
        async move {
            let (status, _) = api.get(ENVIRONMENTS, Some(&device)).await;
            status == 401
        }
    })
    .await;
}
