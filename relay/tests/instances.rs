//! Several relay instances on one Redis, each serving any request: a
//! daemon's session link on one and a device's attach socket on another
//! work together; a newer link on a third replaces the first; revocation
//! and deregistration through one close the sockets on the others.

mod common;

use common::redis::RedisServer;
use common::{
    FakeDaemon, Next, PATIENCE, TestRelay, Ws, closed, expect_open, fast, for_client, next,
    next_binary, next_json, route, send_binary, ws_connect,
};
use futures_util::SinkExt;
use rc_relay::{RedisStore, Relay, Store, TokenKind};
use serde_json::json;
use std::sync::Arc;

async fn instance(url: &str) -> (TestRelay, Relay) {
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(url).await.expect("Redis"));
    let r = TestRelay::with_store(fast(), store).await;
    let relay = r.relay.clone();
    (r, relay)
}

/// `n` instances on `redis`, a daemon registered through the first with
/// session "a", and a device paired through it: (instances, daemon,
/// device id, device token).
async fn cluster(redis: &RedisServer, n: usize) -> (Vec<TestRelay>, FakeDaemon, String, String) {
    let mut relays = Vec::new();
    for _ in 0..n {
        relays.push(instance(&redis.url()).await.0);
    }
    let (_, enrollment) = relays[0]
        .relay
        .create_enrollment_token_async(None)
        .await
        .expect("a token");
    let daemon = relays[0].api().register(&enrollment, "laptop").await;
    assert_eq!(daemon.heartbeat(vec![common::session("a")]).await, 204);
    let (id, token) = daemon.pair("phone").await;
    (relays, daemon, id, token)
}

/// The daemon's calls made through instance `r`.
fn through(daemon: &FakeDaemon, r: &TestRelay) -> FakeDaemon {
    FakeDaemon {
        api: r.api(),
        ..daemon.clone()
    }
}

async fn attach(r: &TestRelay, daemon: &FakeDaemon, device: &str) -> Ws {
    ws_connect(&r.url, &route::attach(&daemon.env, "a"), Some(device))
        .await
        .expect("attach opens")
}

/// Session "a"'s link through `at`, and the device attached through
/// `dev_at`, opened on it and a round trip made: (link, device, client).
async fn connected(
    at: &TestRelay,
    dev_at: &TestRelay,
    daemon: &FakeDaemon,
    device_id: &str,
    device: &str,
) -> (Ws, Ws, u64) {
    let mut link = through(daemon, at).link("a").await;
    let mut dev = attach(dev_at, daemon, device).await;
    let client = expect_open(&mut link, device_id).await;
    round_trip(&mut link, &mut dev, client, "1").await;
    (link, dev, client)
}

/// Reads the device's link frames until one says the link is up.
async fn until_link_up(dev: &mut Ws) {
    loop {
        match next(dev).await {
            Next::Text(v) if v == json!({"t": "link", "up": true}) => return,
            Next::Text(v) if v == json!({"t": "link", "up": false}) => continue,
            other => panic!("{other:?} where the link's state was expected"),
        }
    }
}

/// Messages both ways between `link` and the device `dev` (client
/// `client` on the link), each arriving once and unchanged.
async fn round_trip(link: &mut Ws, dev: &mut Ws, client: u64, tag: &str) {
    let up = format!("key {tag}");
    send_binary(dev, up.as_bytes()).await;
    assert_eq!(next_binary(link).await, for_client(client, up.as_bytes()));
    let down = format!("screen {tag}");
    send_binary(link, &for_client(client, down.as_bytes())).await;
    assert_eq!(next_binary(dev).await, down.as_bytes());
}

#[tokio::test]
async fn a_link_on_one_instance_and_a_device_on_another_work_together() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (relays, daemon, device_id, device) = cluster(&redis, 2).await;
    let (a, b) = (&relays[0], &relays[1]);

    // The link first, then the device.
    let mut link = through(&daemon, a).link("a").await;
    let mut dev = attach(b, &daemon, &device).await;
    let client = expect_open(&mut link, &device_id).await;
    round_trip(&mut link, &mut dev, client, "1").await;
    // Client numbers are unique across instances: a second device on the
    // link's own instance gets another.
    let (tablet_id, tablet) = daemon.pair("tablet").await;
    let mut local = attach(a, &daemon, &tablet).await;
    let local_client = expect_open(&mut link, &tablet_id).await;
    assert_ne!(client, local_client);
    round_trip(&mut link, &mut local, local_client, "local").await;
    round_trip(&mut link, &mut dev, client, "2").await;

    // The daemon closes the remote device: it is closed as by the session.
    link.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"t": "close", "client": client}).to_string(),
    ))
    .await
    .expect("send");
    assert_eq!(closed(&mut dev).await, Some(1000));

    // The device first, then the link: it is told the link is down, then
    // up, and the link opens it.
    let mut dev = attach(b, &daemon, &device).await;
    link.close(None).await.expect("close");
    // The local tablet hears the link go; the remote device had not
    // heard it was up again yet, or hears it go too.
    assert_eq!(
        next_json(&mut local).await,
        json!({"t": "link", "up": false})
    );
    let mut link = through(&daemon, a).link("a").await;
    let mut opened = Vec::new();
    for _ in 0..2 {
        let open = next_json(&mut link).await;
        assert_eq!(open["t"], "open", "{open}");
        opened.push(open["client"].as_u64().expect("client"));
    }
    let client = *opened
        .iter()
        .find(|c| **c != local_client)
        .expect("the remote device is opened");
    until_link_up(&mut dev).await;
    round_trip(&mut link, &mut dev, client, "3").await;

    // The device leaves: the link on the other instance is told.
    dev.close(None).await.expect("close");
    assert_eq!(
        next_json(&mut link).await,
        json!({"t": "close", "client": client})
    );
}

#[tokio::test]
async fn a_newer_link_on_a_third_instance_replaces_the_first() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (relays, daemon, device_id, device) = cluster(&redis, 3).await;
    let mut first = through(&daemon, &relays[0]).link("a").await;
    let mut dev = attach(&relays[1], &daemon, &device).await;
    let client = expect_open(&mut first, &device_id).await;
    round_trip(&mut first, &mut dev, client, "before").await;

    // The daemon reconnects through another instance (its first relay
    // went away for it): the older link is closed as replaced, the device
    // is told the link is up and is opened on the new one.
    let mut second = through(&daemon, &relays[2]).link("a").await;
    let client2 = expect_open(&mut second, &device_id).await;
    assert_eq!(client2, client, "the same socket, the same client");
    assert_eq!(closed(&mut first).await, Some(4000));
    until_link_up(&mut dev).await;
    round_trip(&mut second, &mut dev, client, "after").await;
}

#[tokio::test]
async fn an_instance_that_stops_takes_its_side_of_every_route_with_it() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (mut relays, daemon, device_id, device) = cluster(&redis, 2).await;
    let (mut link, mut dev, client) =
        connected(&relays[0], &relays[1], &daemon, &device_id, &device).await;

    // The device's instance stops: the daemon hears the device leave.
    drop(relays.pop());
    assert_eq!(closed(&mut dev).await, Some(1001));
    assert_eq!(
        next_json(&mut link).await,
        json!({"t": "close", "client": client})
    );
    // The device comes back through the remaining instance.
    let mut dev = attach(&relays[0], &daemon, &device).await;
    let client = expect_open(&mut link, &device_id).await;
    round_trip(&mut link, &mut dev, client, "2").await;
}

#[tokio::test]
async fn revoking_a_device_through_one_instance_closes_its_socket_on_another() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (relays, daemon, device_id, device) = cluster(&redis, 2).await;
    let (mut link, mut dev, client) =
        connected(&relays[0], &relays[1], &daemon, &device_id, &device).await;

    let started = std::time::Instant::now();
    relays[0]
        .relay
        .revoke(TokenKind::Device, &device_id)
        .await
        .expect("revoked");
    assert_eq!(closed(&mut dev).await, Some(1008));
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(
        next_json(&mut link).await,
        json!({"t": "close", "client": client})
    );
    // Refused on every instance.
    for r in &relays {
        let refused = ws_connect(&r.url, &route::attach(&daemon.env, "a"), Some(&device)).await;
        assert!(matches!(refused, Err((401, _))), "{}", r.url);
    }
}

#[tokio::test]
async fn revoking_the_machine_through_one_instance_closes_its_link_on_another() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (relays, daemon, device_id, device) = cluster(&redis, 3).await;
    let (mut link, mut dev, _) =
        connected(&relays[1], &relays[2], &daemon, &device_id, &device).await;

    // The machine's enrollment token, revoked through the first instance:
    // its link on the second and its device's socket on the third close.
    let owner = relays[0]
        .relay
        .store()
        .list_tokens(TokenKind::Enrollment)
        .await
        .expect("tokens")
        .into_iter()
        .next()
        .expect("the machine's token")
        .id;
    relays[0]
        .relay
        .revoke(TokenKind::Enrollment, &owner)
        .await
        .expect("revoked");
    assert_eq!(closed(&mut link).await, Some(1008));
    assert_eq!(closed(&mut dev).await, Some(1008));
}

#[tokio::test]
async fn deregistering_through_one_instance_closes_the_sockets_on_every_one() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (relays, daemon, device_id, device) = cluster(&redis, 2).await;
    let (mut link, mut dev, _) =
        connected(&relays[1], &relays[1], &daemon, &device_id, &device).await;

    let (status, body) = relays[0]
        .api()
        .delete(&route::environment(&daemon.env), Some(&daemon.cred))
        .await;
    assert!(status == 204 || status == 200, "{status} {body}");
    assert_eq!(closed(&mut link).await, Some(4004));
    assert_eq!(closed(&mut dev).await, Some(4004));
}

#[tokio::test]
async fn instances_that_lose_redis_close_their_sockets_and_route_again_once_it_is_back() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (relays, daemon, device_id, device) = cluster(&redis, 2).await;
    let (mut link, mut dev, _) =
        connected(&relays[0], &relays[1], &daemon, &device_id, &device).await;

    // Notes between them may be lost while Redis is away: both instances
    // close their sockets (1013) rather than guess.
    redis.stop();
    assert_eq!(closed(&mut link).await, Some(1013));
    assert_eq!(closed(&mut dev).await, Some(1013));

    // Back (empty: the test's Redis keeps nothing on disk), the instances
    // join again by themselves and route between each other as before.
    redis.restart();
    let enrollment = loop {
        match relays[0].relay.create_enrollment_token_async(None).await {
            Ok((_, token)) => break token,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    };
    let daemon = relays[0].api().register(&enrollment, "laptop").await;
    assert_eq!(daemon.heartbeat(vec![common::session("a")]).await, 204);
    let (device_id, device) = daemon.pair("phone").await;
    common::wait_for("both instances to join again", PATIENCE, || {
        let (url, path, device, via_a) = (
            relays[1].url.clone(),
            route::attach(&daemon.env, "a"),
            device.clone(),
            through(&daemon, &relays[0]),
        );
        let device_id = device_id.clone();
        async move {
            let Ok(mut dev) = ws_connect(&url, &path, Some(&device)).await else {
                return false;
            };
            let mut link = via_a.link("a").await;
            // An instance not joined yet closes the socket at once.
            let open =
                tokio::time::timeout(std::time::Duration::from_secs(2), next(&mut link)).await;
            let Ok(Next::Text(open)) = open else {
                return false;
            };
            if open["t"] != "open" || open["device"] != device_id.as_str() {
                return false;
            }
            let client = open["client"].as_u64().expect("client");
            // Attached before the link, the device was told it is down and
            // then up; attached after, it was told nothing.
            let told = tokio::time::timeout(std::time::Duration::from_millis(500), next(&mut dev));
            match told.await {
                Ok(Next::Text(v)) if v == json!({"t": "link", "up": false}) => {
                    until_link_up(&mut dev).await;
                }
                Ok(other) => panic!("{other:?} where the link's state was expected"),
                Err(_) => {}
            }
            round_trip(&mut link, &mut dev, client, "again").await;
            true
        }
    })
    .await;
}
