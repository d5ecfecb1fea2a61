//! Session links and attach sockets through a real relay: frames routed
//! both ways without being read, open/close, the link going and coming,
//! scoped credentials, tickets, revocation, and misbehaving sockets.

mod common;

use common::{
    FakeDaemon, Next, PATIENCE, TestRelay, Ws, closed, expect_open, fast, for_client, next,
    next_binary, next_json, paired, route, send_binary, send_json, ws_connect,
};
use futures_util::SinkExt;
use rc_relay::{RelayOptions, TokenKind};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

async fn attach(daemon: &FakeDaemon, name: &str, device: &str) -> Ws {
    let path = route::attach(&daemon.env, name);
    ws_connect(&daemon.api.base, &path, Some(device))
        .await
        .expect("attach opens")
}

/// Attaches `device` to session "a" and reads the `open` on `link`: the
/// device's socket and its client number.
async fn attach_open(
    daemon: &FakeDaemon,
    link: &mut Ws,
    device_id: &str,
    device: &str,
) -> (Ws, u64) {
    let dev = attach(daemon, "a", device).await;
    let client = expect_open(link, device_id).await;
    (dev, client)
}

#[tokio::test]
async fn frames_are_routed_both_ways_without_being_read() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut link = daemon.link("a").await;
    let (mut dev, client) = attach_open(&daemon, &mut link, &device_id, &device).await;

    // Device → daemon: not JSON, not even UTF-8, and it arrives as it was
    // sent, behind the device's client.
    let payload = b"not json {{ \x01 \xff\xfe \"quoted\"";
    send_binary(&mut dev, payload).await;
    assert_eq!(next_binary(&mut link).await, for_client(client, payload));
    // Daemon → device: the client comes off the front.
    let back = b"}{ raw \n bytes \x00";
    send_binary(&mut link, &for_client(client, back)).await;
    assert_eq!(next_binary(&mut dev).await, back);
    // An empty payload is a payload too.
    send_binary(&mut link, &for_client(client, b"")).await;
    assert_eq!(next_binary(&mut dev).await, b"");

    // The relay answers pings on both sockets itself.
    send_json(&mut dev, json!({"t": "ping", "n": 7})).await;
    assert_eq!(next_json(&mut dev).await, json!({"t": "pong", "n": 7}));
    send_json(&mut link, json!({"t": "ping", "n": 3})).await;
    assert_eq!(next_json(&mut link).await, json!({"t": "pong", "n": 3}));

    // A second device gets its own client number.
    let (dev2_id, dev2_token) = daemon.pair("tablet").await;
    let (mut dev2, client2) = attach_open(&daemon, &mut link, &dev2_id, &dev2_token).await;
    assert_ne!(client, client2);
    send_binary(&mut link, &for_client(client2, b"only 2")).await;
    assert_eq!(next_binary(&mut dev2).await, b"only 2");
    send_binary(&mut dev2, b"from 2").await;
    assert_eq!(next_binary(&mut link).await, for_client(client2, b"from 2"));

    // The device leaves: the daemon is told.
    dev.close(None).await.unwrap();
    assert_eq!(
        next_json(&mut link).await,
        json!({"t": "close", "client": client})
    );
}

#[tokio::test]
async fn a_device_of_protocol_1_is_told_both_versions_in_its_own_form() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut link = daemon.link("a").await;
    let (mut old, client) = attach_open(&daemon, &mut link, &device_id, &device).await;
    // What a page or an rcctl of protocol 1 sends first: its hello, as
    // JSON text inside a `data` frame.
    let hello = json!({"t": "hello", "protocol": 1, "client_id": "web-old"}).to_string();
    send_json(&mut old, json!({"t": "data", "data": hello})).await;
    // The answer is the daemon's `error` as that device reads it.
    let answer = next_json(&mut old).await;
    assert_eq!(answer["t"], "data", "{answer}");
    let inner: Value = serde_json::from_str(answer["data"].as_str().unwrap()).unwrap();
    assert_eq!(inner["t"], "error", "{inner}");
    let message = inner["message"].as_str().unwrap();
    let current = rcd_proto::relay::RELAY_PROTOCOL_VERSION;
    assert!(
        message.contains("relay protocol 1") && message.contains(&format!("speaks {current}")),
        "{message}"
    );
    // The socket stays open (an old page would otherwise reconnect in a
    // loop) and the relay still answers its pings.
    send_json(&mut old, json!({"t": "ping", "n": 1})).await;
    assert_eq!(next_json(&mut old).await, json!({"t": "pong", "n": 1}));
    // Nothing of it reached the daemon: the next thing on the link is the
    // device leaving.
    old.close(None).await.unwrap();
    assert_eq!(
        next_json(&mut link).await,
        json!({"t": "close", "client": client})
    );
}

#[tokio::test]
async fn devices_hear_when_the_link_goes_and_comes_back() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut dev = attach(&daemon, "a", &device).await;
    assert_eq!(next_json(&mut dev).await, json!({"t": "link", "up": false}));
    // Data sent while no link is up goes nowhere, without closing anything.
    send_binary(&mut dev, b"lost").await;

    let mut link = daemon.link("a").await;
    assert_eq!(next_json(&mut dev).await, json!({"t": "link", "up": true}));
    let client = expect_open(&mut link, &device_id).await;

    link.close(None).await.unwrap();
    drop(link);
    assert_eq!(next_json(&mut dev).await, json!({"t": "link", "up": false}));

    let mut link = daemon.link("a").await;
    assert_eq!(next_json(&mut dev).await, json!({"t": "link", "up": true}));
    assert_eq!(
        expect_open(&mut link, &device_id).await,
        client,
        "the same client again"
    );
    send_binary(&mut dev, b"after").await;
    assert_eq!(next_binary(&mut link).await, for_client(client, b"after"));
}

#[tokio::test]
async fn a_newer_link_replaces_the_older_one() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut old = daemon.link("a").await;
    let mut dev = attach(&daemon, "a", &device).await;
    expect_open(&mut old, &device_id).await;

    let mut new = daemon.link("a").await;
    assert_eq!(closed(&mut old).await, Some(4000), "the old link is closed");
    let client = expect_open(&mut new, &device_id).await;
    assert_eq!(next_json(&mut dev).await, json!({"t": "link", "up": true}));
    send_binary(&mut dev, b"x").await;
    assert_eq!(next_binary(&mut new).await, for_client(client, b"x"));
}

#[tokio::test]
async fn a_session_credential_admits_only_its_own_link() {
    let (_relay, daemon, _, device) = paired(fast()).await;
    let cred_a = daemon.session_credential("a").await;
    let base = daemon.api.base.clone();
    let link_b = route::link(&daemon.env, "b");
    let link_a = route::link(&daemon.env, "a");

    let refused = ws_connect(&base, &link_b, Some(&cred_a))
        .await
        .err()
        .unwrap();
    assert!(matches!(refused.0, 401 | 404), "{refused:?}");
    assert!(!refused.1.contains("rcsess_"), "{refused:?}");
    for bearer in [
        None,
        Some(daemon.cred.as_str()),
        Some(device.as_str()),
        Some("rcsess_nope"),
    ] {
        let r = ws_connect(&base, &link_a, bearer).await.err().map(|e| e.0);
        assert_eq!(r, Some(401), "{bearer:?}");
    }
    // Nor is it anything but a link credential.
    let path = route::heartbeat(&daemon.env);
    let (status, _) = daemon
        .api
        .post(
            &path,
            Some(&cred_a),
            json!({"spawn": "same-dir", "capacity": 1, "used": 0, "sessions": []}),
        )
        .await;
    assert_eq!(status, 401);
    assert!(ws_connect(&base, &link_a, Some(&cred_a)).await.is_ok());
}

#[tokio::test]
async fn attach_tickets_admit_one_socket() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut link = daemon.link("a").await;
    let path = route::attach_ticket(&daemon.env, "a");
    let (status, body) = daemon.api.post(&path, Some(&device), Value::Null).await;
    assert_eq!(status, 200, "{body}");
    let ticket = body["ticket"].as_str().unwrap().to_string();
    assert!(ticket.starts_with("rctkt_"));

    let attach = format!("{}?ticket={ticket}", route::attach(&daemon.env, "a"));
    let mut dev = ws_connect(&daemon.api.base, &attach, None)
        .await
        .expect("ticket admits");
    let client = expect_open(&mut link, &device_id).await;
    send_binary(&mut dev, b"via ticket").await;
    assert_eq!(
        next_binary(&mut link).await,
        for_client(client, b"via ticket")
    );
    let again = ws_connect(&daemon.api.base, &attach, None).await;
    assert_eq!(again.err().map(|e| e.0), Some(401), "used once");

    let (_, body) = daemon.api.post(&path, Some(&device), Value::Null).await;
    let ticket = body["ticket"].as_str().unwrap();
    let other = format!("{}?ticket={ticket}", route::attach(&daemon.env, "b"));
    let r = ws_connect(&daemon.api.base, &other, None).await;
    assert_eq!(
        r.err().map(|e| e.0),
        Some(404),
        "a ticket is for one session"
    );
}

#[tokio::test]
async fn the_daemon_can_close_a_device() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut link = daemon.link("a").await;
    let (mut dev, client) = attach_open(&daemon, &mut link, &device_id, &device).await;
    send_json(&mut link, json!({"t": "close", "client": client})).await;
    assert_eq!(closed(&mut dev).await, Some(1000));
}

#[tokio::test]
async fn messages_far_larger_than_the_read_buffer_pass_both_ways() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut link = daemon.link("a").await;
    let (mut dev, client) = attach_open(&daemon, &mut link, &device_id, &device).await;
    // 64 times `WS_READ_BUFFER`, and still under the 1 MiB limit with the
    // client in front.
    let big = vec![b'y'; 512 * 1024];
    send_binary(&mut dev, &big).await;
    assert_eq!(next_binary(&mut link).await, for_client(client, &big));
    send_binary(&mut link, &for_client(client, &big)).await;
    assert_eq!(next_binary(&mut dev).await, big);
}

#[tokio::test]
async fn garbage_and_oversized_messages_close_only_that_socket() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let mut link = daemon.link("a").await;
    let (mut good, client) = attach_open(&daemon, &mut link, &device_id, &device).await;

    let (mut bad, _) = attach_open(&daemon, &mut link, &device_id, &device).await;
    bad.send(Message::text("hello, not a frame")).await.unwrap();
    assert_eq!(closed(&mut bad).await, Some(1007));
    assert_eq!(next_json(&mut link).await["t"], "close");

    // Over the socket's limit: refused as it is read.
    let (mut big, _) = attach_open(&daemon, &mut link, &device_id, &device).await;
    let _ = big.send(Message::binary(vec![b'x'; 1024 * 1024 + 1])).await;
    let code = closed(&mut big).await;
    assert_eq!(code, Some(1009));
    assert_eq!(next_json(&mut link).await["t"], "close");

    // Within the socket's limit, but not with the client in front: the
    // daemon's socket would refuse it, so it is refused here, not copied.
    let (mut edge, _) = attach_open(&daemon, &mut link, &device_id, &device).await;
    let _ = edge
        .send(Message::binary(vec![b'x'; 1024 * 1024 - 7]))
        .await;
    assert_eq!(closed(&mut edge).await, Some(1009));
    assert_eq!(next_json(&mut link).await["t"], "close");
    // The largest that fits goes through.
    let (mut fits, fits_client) = attach_open(&daemon, &mut link, &device_id, &device).await;
    let largest = vec![b'y'; 1024 * 1024 - 8];
    send_binary(&mut fits, &largest).await;
    assert_eq!(
        next_binary(&mut link).await,
        for_client(fits_client, &largest)
    );

    // The good device and the link are untouched.
    send_binary(&mut good, b"still here").await;
    assert_eq!(
        next_binary(&mut link).await,
        for_client(client, b"still here")
    );

    // Garbage from the daemon closes the link, and only it: an unknown
    // envelope, or a binary message too short to name its client.
    link.send(Message::text("{\"t\":\"nonsense\"}"))
        .await
        .unwrap();
    assert_eq!(closed(&mut link).await, Some(1007));
    assert_eq!(
        next_json(&mut good).await,
        json!({"t": "link", "up": false})
    );
    let mut link = daemon.link("a").await;
    assert_eq!(next_json(&mut good).await, json!({"t": "link", "up": true}));
    let mut clients = vec![expect_open(&mut link, &device_id).await];
    clients.push(expect_open(&mut link, &device_id).await);
    assert!(clients.contains(&client), "{clients:?}");
    send_binary(&mut link, &[0, 0, 0, 0, 0, 0, 1]).await;
    assert_eq!(closed(&mut link).await, Some(1007));
    assert_eq!(
        next_json(&mut good).await,
        json!({"t": "link", "up": false})
    );
    let mut link = daemon.link("a").await;
    let again = [
        expect_open(&mut link, &device_id).await,
        expect_open(&mut link, &device_id).await,
    ];
    assert!(again.contains(&client), "{again:?}");
}

#[tokio::test]
async fn revoking_a_device_closes_its_sockets() {
    let (_relay, daemon, device_id, device) = paired(fast()).await;
    let (_, other) = daemon.pair("tablet").await;
    let mut link = daemon.link("a").await;
    let (mut dev, client) = attach_open(&daemon, &mut link, &device_id, &device).await;

    let (status, _) = daemon
        .api
        .delete(&route::device(&device_id), Some(&other))
        .await;
    assert_eq!(status, 204);
    assert_eq!(closed(&mut dev).await, Some(1008));
    assert_eq!(
        next_json(&mut link).await,
        json!({"t": "close", "client": client})
    );
}

#[tokio::test]
async fn revoking_the_enrollment_token_closes_everything_it_admitted() {
    let relay = TestRelay::start(fast()).await;
    let (record, token) = relay
        .relay
        .create_enrollment_token_async(None)
        .await
        .unwrap();
    let daemon = relay.api().register(&token, "laptop").await;
    let (_, device) = daemon.pair("phone").await;
    let mut link = daemon.link("a").await;
    let mut dev = attach(&daemon, "a", &device).await;
    relay
        .relay
        .revoke(TokenKind::Enrollment, &record.id)
        .await
        .unwrap();
    assert_eq!(closed(&mut link).await, Some(1008));
    assert_eq!(closed(&mut dev).await, Some(1008));
}

#[tokio::test]
async fn a_socket_that_does_not_answer_pings_is_closed() {
    let (_relay, daemon, _, device) = paired(RelayOptions {
        ping_interval: Duration::from_millis(250),
        ..fast()
    })
    .await;
    let mut silent = attach(&daemon, "a", &device).await;
    let mut polite = attach(&daemon, "a", &device).await;
    // The polite one answers every ping, for a second, at the same time.
    let polite = tokio::spawn(async move {
        let until = Instant::now() + Duration::from_millis(1500);
        let mut answered = 0;
        while Instant::now() < until {
            match tokio::time::timeout(until - Instant::now(), next(&mut polite)).await {
                Ok(Next::Text(v)) if v["t"] == "ping" => {
                    send_json(&mut polite, json!({"t": "pong", "n": v["n"]})).await;
                    answered += 1;
                }
                Ok(Next::Text(_) | Next::Binary(_)) => {}
                Ok(Next::Closed(code)) => panic!("closed ({code:?}) although it answered"),
                Err(_) => break,
            }
        }
        answered
    });
    // The silent one reads its pings but never answers.
    let mut pings = 0;
    loop {
        match next(&mut silent).await {
            Next::Text(v) if v["t"] == "ping" => pings += 1,
            Next::Text(_) | Next::Binary(_) => {}
            Next::Closed(code) => {
                assert_eq!(code, Some(4002));
                break;
            }
        }
    }
    assert_eq!(pings, 2, "closed after two unanswered pings");
    assert!(
        polite.await.unwrap() >= 4,
        "the polite one stayed through its pings"
    );
}

#[tokio::test]
async fn shutting_down_closes_every_socket() {
    let (relay, daemon, _, device) = paired(fast()).await;
    let mut link = daemon.link("a").await;
    let mut dev = attach(&daemon, "a", &device).await;
    relay.relay.shutdown();
    assert_eq!(closed(&mut link).await, Some(1001));
    assert_eq!(closed(&mut dev).await, Some(1001));
}

#[tokio::test]
async fn a_frame_that_breaks_the_websocket_protocol_is_closed_with_1002() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (relay, daemon, _device_id, device) = paired(fast()).await;
    let _link = daemon.link("a").await;
    let addr = relay.url.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let path = format!("/api/v1{}", route::attach(&daemon.env, "a"));
    let upgrade = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         authorization: Bearer {device}\r\n\r\n"
    );
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    // A masked frame with the reserved opcode 3.
    tcp.write_all(&[0x83, 0x80, 1, 2, 3, 4]).await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut rest)).await;
    // Frames from the relay before the close (its `link` envelope) are
    // skipped: the close frame is opcode 8, its code the first two bytes.
    let mut at = 0;
    let mut code = None;
    while at + 2 <= rest.len() {
        let (op, len) = (rest[at] & 0x0f, usize::from(rest[at + 1] & 0x7f));
        let (len, start) = match len {
            126 => (
                usize::from(u16::from_be_bytes([rest[at + 2], rest[at + 3]])),
                at + 4,
            ),
            _ => (len, at + 2),
        };
        if op == 8 && len >= 2 {
            code = Some(u16::from_be_bytes([rest[start], rest[start + 1]]));
            break;
        }
        at = start + len;
    }
    assert_eq!(code, Some(1002), "{rest:?}");
}
