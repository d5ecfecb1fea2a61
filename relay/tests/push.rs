//! Web Push from a real relay to a push service on 127.0.0.1: the routes
//! of a device's subscription, the VAPID header (its signature checked
//! with the key `/push/key` gives), the aes128gcm payload decrypted with
//! the keys a browser would make, the episode rule, quiet attention, the
//! message opt-in, a 410, a 5xx retried, revoked devices, and one push
//! per episode from instances sharing a Redis.

mod common;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{PATIENCE, TestRelay, paired, session, wait_for};
use rc_relay::{RelayOptions, TokenKind};
use rcd_proto::SessionInfo;
use rcd_proto::control::{Attention, AttentionKind};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, agreement, hkdf, signature};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

fn opts() -> RelayOptions {
    RelayOptions {
        push_retry: Duration::from_millis(50),
        ..common::fast()
    }
}

/// One request the push service received.
#[derive(Debug)]
struct Received {
    id: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A push service: `POST /push/{id}` answers 201, or what `answers` says
/// for that id (used up one by one).
#[derive(Clone)]
struct PushService {
    base: String,
    answers: Arc<Mutex<HashMap<String, Vec<u16>>>>,
}

type Inbox = mpsc::UnboundedReceiver<Received>;

#[derive(Clone)]
struct ServiceState {
    tx: mpsc::UnboundedSender<Received>,
    answers: Arc<Mutex<HashMap<String, Vec<u16>>>>,
}

async fn receive(
    State(st): State<ServiceState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let status = {
        let mut a = st.answers.lock().unwrap();
        match a.get_mut(&id) {
            Some(list) if list.len() > 1 => list.remove(0),
            Some(list) => list.first().copied().unwrap_or(201),
            None => 201,
        }
    };
    let _ = st.tx.send(Received { id, headers, body });
    StatusCode::from_u16(status).unwrap()
}

async fn push_service() -> (PushService, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let answers = Arc::new(Mutex::new(HashMap::new()));
    let app = axum::Router::new()
        .route("/push/{id}", axum::routing::post(receive))
        .with_state(ServiceState {
            tx,
            answers: answers.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        PushService {
            base: format!("http://{addr}"),
            answers,
        },
        rx,
    )
}

impl PushService {
    fn endpoint(&self, id: &str) -> String {
        format!("{}/push/{id}", self.base)
    }

    fn answer(&self, id: &str, statuses: &[u16]) {
        self.answers
            .lock()
            .unwrap()
            .insert(id.to_string(), statuses.to_vec());
    }
}

/// A browser's subscription keys. ring's ECDH key is good for one
/// agreement: one `Browser` decrypts one push.
struct Browser {
    private: Option<agreement::EphemeralPrivateKey>,
    public: Vec<u8>,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Browser {
        let rng = SystemRandom::new();
        let private =
            agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap();
        let public = private.compute_public_key().unwrap().as_ref().to_vec();
        let mut auth = [0u8; 16];
        rng.fill(&mut auth).unwrap();
        Browser {
            private: Some(private),
            public,
            auth,
        }
    }

    /// What `PushSubscription.toJSON()` gives, with the opt-in.
    fn subscription(&self, endpoint: &str, with_message: bool) -> Value {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(&self.public),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            },
            "with_message": with_message,
        })
    }

    /// RFC 8291 and RFC 8188 from the browser's side.
    fn decrypt(&mut self, body: &[u8]) -> Value {
        assert!(body.len() <= 4096, "a push body is at most 4 KiB");
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().unwrap());
        assert!(rs >= 18);
        let idlen = body[20] as usize;
        assert_eq!(idlen, 65, "the key id is the relay's ephemeral public key");
        let as_public = &body[21..21 + idlen];
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, as_public);
        let ua_public = self.public.clone();
        let auth = self.auth;
        let ikm = agreement::agree_ephemeral(
            self.private.take().expect("one push per Browser"),
            &peer,
            |shared| {
                let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &auth).extract(shared);
                let mut info = b"WebPush: info\0".to_vec();
                info.extend_from_slice(&ua_public);
                info.extend_from_slice(as_public);
                okm(&prk, &info, 32)
            },
        )
        .unwrap();
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
        let cek = okm(&prk, b"Content-Encoding: aes128gcm\0", 16);
        let nonce = okm(&prk, b"Content-Encoding: nonce\0", 12);
        let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &cek).unwrap());
        let mut record = body[21 + idlen..].to_vec();
        assert!(record.len() <= rs as usize, "one record");
        let plain = key
            .open_in_place(
                aead::Nonce::try_assume_unique_for_key(&nonce).unwrap(),
                aead::Aad::empty(),
                &mut record,
            )
            .expect("the payload decrypts");
        // Padding, then the last record's delimiter 2.
        let end = plain.iter().rposition(|&b| b != 0).unwrap();
        assert_eq!(plain[end], 2, "the last record's delimiter");
        serde_json::from_slice(&plain[..end]).expect("the payload is JSON")
    }
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn okm(prk: &hkdf::Prk, info: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    prk.expand(&[info], Len(len))
        .unwrap()
        .fill(&mut out)
        .unwrap();
    out
}

/// Checks the `Authorization: vapid t=JWT, k=KEY` of a push: the key is
/// the relay's, the signature verifies, the claims are RFC 8292's.
fn check_vapid(r: &Received, relay_key: &str, service: &PushService) {
    let value = r.headers["authorization"].to_str().unwrap();
    let rest = value.strip_prefix("vapid t=").expect("the vapid scheme");
    let (jwt, k) = rest.split_once(", k=").expect("t= and k=");
    assert_eq!(k, relay_key, "the key /push/key gave");
    let (signed, sig) = jwt.rsplit_once('.').unwrap();
    let public = URL_SAFE_NO_PAD.decode(k).unwrap();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public)
        .verify(signed.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
        .expect("the JWT's signature verifies with the relay's key");
    let (header, claims) = signed.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(
        claims["aud"],
        service.base.as_str(),
        "the endpoint's origin"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = claims["exp"].as_u64().unwrap();
    assert!(
        exp > now && exp <= now + 24 * 3600,
        "exp within 24 h: {exp}"
    );
    assert!(claims["sub"].as_str().is_some_and(|s| !s.is_empty()));
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("{name} header"))
        .to_str()
        .unwrap()
}

/// The next request the push service gets.
async fn next(inbox: &mut Inbox) -> Received {
    tokio::time::timeout(PATIENCE, inbox.recv())
        .await
        .expect("a push before the timeout")
        .expect("the service runs")
}

/// Nothing more reaches the push service for a while.
async fn nothing_more(inbox: &mut Inbox) {
    if let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(400), inbox.recv()).await {
        panic!("an unexpected push to {}", r.id);
    }
}

fn waiting(
    name: &str,
    kind: AttentionKind,
    message: &str,
    since: &str,
    quiet: bool,
) -> SessionInfo {
    let mut s = session(name);
    s.attention = Some(Box::new(Attention {
        kind,
        message: message.into(),
        since: since.into(),
        request: None,
        quiet,
    }));
    s
}

async fn subscribe(relay: &TestRelay, token: &str, body: Value) -> (u16, Value) {
    relay
        .api()
        .call(
            reqwest::Method::PUT,
            "/push/subscription",
            Some(token),
            Some(body),
        )
        .await
}

async fn push_key(relay: &TestRelay, token: &str) -> String {
    let (status, body) = relay.api().get("/push/key", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    let key = body["key"].as_str().unwrap().to_string();
    assert_eq!(URL_SAFE_NO_PAD.decode(&key).unwrap().len(), 65);
    key
}

#[tokio::test]
async fn one_push_per_episode_with_the_message_only_when_asked() {
    let (relay, daemon, _phone, phone) = paired(opts()).await;
    let (_tablet, tablet) = daemon.pair("tablet").await;
    let (service, mut inbox) = push_service().await;
    let key = push_key(&relay, &phone).await;
    assert_eq!(push_key(&relay, &tablet).await, key, "one key per relay");

    let (status, body) = relay.api().get("/push/subscription", Some(&phone)).await;
    assert_eq!(
        (status, &body["subscribed"]),
        (200, &json!(false)),
        "{body}"
    );

    // The phone opts into the message text; the tablet does not.
    let mut a = Browser::new();
    let mut b = Browser::new();
    let (status, body) =
        subscribe(&relay, &phone, a.subscription(&service.endpoint("a"), true)).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = subscribe(
        &relay,
        &tablet,
        b.subscription(&service.endpoint("b"), false),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, body) = relay.api().get("/push/subscription", Some(&phone)).await;
    assert_eq!(body["subscribed"], true);
    assert_eq!(body["with_message"], true);
    assert_eq!(body["endpoint"], service.endpoint("a"));

    let ask = waiting(
        "s",
        AttentionKind::Permission,
        "Bash: make test",
        "2026-01-01T00:00:01Z",
        false,
    );
    assert_eq!(
        daemon.heartbeat(vec![ask.clone(), session("idle")]).await,
        204
    );
    let mut got = HashMap::new();
    for _ in 0..2 {
        let r = next(&mut inbox).await;
        check_vapid(&r, &key, &service);
        assert_eq!(header(&r, "content-encoding"), "aes128gcm");
        assert_eq!(header(&r, "urgency"), "high", "a permission request");
        let ttl: u64 = header(&r, "ttl").parse().unwrap();
        assert!(ttl > 0);
        let topic = header(&r, "topic");
        assert!(
            topic.len() <= 32
                && topic
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{topic}"
        );
        got.insert(r.id.clone(), r);
    }
    let pa = a.decrypt(&got["a"].body);
    let pb = b.decrypt(&got["b"].body);
    assert_eq!(pa["env"], daemon.env.as_str());
    assert_eq!(pa["machine"], "testhost");
    assert_eq!(pa["session"], "s");
    assert_eq!(pa["kind"], "permission");
    assert_eq!(pa["since"], "2026-01-01T00:00:01Z");
    assert_eq!(pa["message"], "Bash: make test", "the phone opted in");
    assert!(pb.get("message").is_none(), "the tablet did not: {pb}");
    assert_eq!(pb["session"], "s");
    let topic = header(&got["a"], "topic").to_string();
    nothing_more(&mut inbox).await;

    // The same episode again, even of another kind: nothing. A quiet
    // episode: nothing.
    let mut same = ask.clone();
    same.attention.as_mut().unwrap().kind = AttentionKind::Notification;
    let quiet = waiting(
        "q",
        AttentionKind::Finished,
        "done",
        "2026-01-01T00:00:02Z",
        true,
    );
    assert_eq!(daemon.heartbeat(vec![same, quiet]).await, 204);
    assert_eq!(daemon.heartbeat(vec![ask.clone()]).await, 204);
    nothing_more(&mut inbox).await;

    // A new episode of the same session: pushed again, with the same
    // topic; a finished turn is not urgent.
    let mut a = Browser::new();
    let mut b = Browser::new();
    subscribe(&relay, &phone, a.subscription(&service.endpoint("a"), true)).await;
    subscribe(
        &relay,
        &tablet,
        b.subscription(&service.endpoint("b"), false),
    )
    .await;
    let done = waiting(
        "s",
        AttentionKind::Finished,
        "",
        "2026-01-01T00:00:03Z",
        false,
    );
    assert_eq!(daemon.heartbeat(vec![done]).await, 204);
    for _ in 0..2 {
        let r = next(&mut inbox).await;
        assert_eq!(header(&r, "topic"), topic, "one topic per session");
        assert_eq!(header(&r, "urgency"), "normal");
        let p = if r.id == "a" {
            a.decrypt(&r.body)
        } else {
            b.decrypt(&r.body)
        };
        assert_eq!(p["kind"], "finished");
        assert_eq!(p["since"], "2026-01-01T00:00:03Z");
        assert!(p.get("message").is_none(), "an empty message is left out");
    }
    nothing_more(&mut inbox).await;

    // Off: nothing more for the phone.
    let (status, _) = relay.api().delete("/push/subscription", Some(&phone)).await;
    assert_eq!(status, 204);
    let (_, body) = relay.api().get("/push/subscription", Some(&phone)).await;
    assert_eq!(body["subscribed"], false);
    let mut b = Browser::new();
    subscribe(
        &relay,
        &tablet,
        b.subscription(&service.endpoint("b"), false),
    )
    .await;
    let bell = waiting("s", AttentionKind::Bell, "", "2026-01-01T00:00:04Z", false);
    assert_eq!(daemon.heartbeat(vec![bell]).await, 204);
    let r = next(&mut inbox).await;
    assert_eq!(r.id, "b");
    assert_eq!(b.decrypt(&r.body)["kind"], "bell");
    nothing_more(&mut inbox).await;
}

#[tokio::test]
async fn a_gone_subscription_is_removed_and_revoked_devices_get_nothing() {
    let (relay, daemon, phone_id, phone) = paired(opts()).await;
    let (tablet_id, tablet) = daemon.pair("tablet").await;
    let (service, mut inbox) = push_service().await;
    let store = relay.relay.store().clone();

    // The phone's push service has forgotten it (410); the tablet's fails
    // twice (503), then takes the push.
    service.answer("gone", &[410]);
    service.answer("flaky", &[503, 503, 201]);
    let a = Browser::new();
    let mut b = Browser::new();
    subscribe(
        &relay,
        &phone,
        a.subscription(&service.endpoint("gone"), false),
    )
    .await;
    subscribe(
        &relay,
        &tablet,
        b.subscription(&service.endpoint("flaky"), false),
    )
    .await;
    let bell = waiting("s", AttentionKind::Bell, "", "2026-01-01T00:00:01Z", false);
    assert_eq!(daemon.heartbeat(vec![bell]).await, 204);
    let mut ids = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let r = next(&mut inbox).await;
        ids.push(r.id.clone());
        if r.id == "flaky" {
            last = Some(r);
        }
    }
    ids.sort();
    assert_eq!(
        ids,
        ["flaky", "flaky", "flaky", "gone"],
        "410 once, 503 retried"
    );
    assert_eq!(
        b.decrypt(&last.unwrap().body)["kind"],
        "bell",
        "the same push each try"
    );
    wait_for(
        "the 410 to remove the phone's subscription",
        PATIENCE,
        || async {
            relay.api().get("/push/subscription", Some(&phone)).await.1["subscribed"] == false
        },
    )
    .await;
    assert!(store.get_subscription(&tablet_id).await.unwrap().is_some());
    nothing_more(&mut inbox).await;
    // Nothing failed silently: each device says what became of its pushes.
    let (_, gone) = relay.api().get("/push/subscription", Some(&phone)).await;
    assert_eq!(
        (gone["delivered"].as_u64(), gone["failed"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(
        gone["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("410")),
        "{gone}"
    );
    let (_, flaky) = relay.api().get("/push/subscription", Some(&tablet)).await;
    assert_eq!(
        (flaky["delivered"].as_u64(), flaky["failed"].as_u64()),
        (Some(1), Some(0))
    );

    // The tablet is revoked: its subscription goes, it gets nothing.
    let (status, _) = relay
        .api()
        .delete(&common::route::device(&tablet_id), Some(&phone))
        .await;
    assert_eq!(status, 204);
    assert!(store.get_subscription(&tablet_id).await.unwrap().is_none());
    let (status, _) = subscribe(
        &relay,
        &tablet,
        Browser::new().subscription(&service.endpoint("b"), false),
    )
    .await;
    assert_eq!(status, 401, "a revoked token subscribes nothing");
    let mut a = Browser::new();
    subscribe(
        &relay,
        &phone,
        a.subscription(&service.endpoint("a"), false),
    )
    .await;
    let bell = waiting("s", AttentionKind::Bell, "", "2026-01-01T00:00:02Z", false);
    assert_eq!(daemon.heartbeat(vec![bell]).await, 204);
    let r = next(&mut inbox).await;
    assert_eq!(r.id, "a", "only the phone");
    assert_eq!(a.decrypt(&r.body)["since"], "2026-01-01T00:00:02Z");
    nothing_more(&mut inbox).await;

    // Revoking the enrollment token takes its devices' subscriptions.
    let owner = store.list_tokens(TokenKind::Enrollment).await.unwrap()[0]
        .id
        .clone();
    relay
        .relay
        .revoke(TokenKind::Enrollment, &owner)
        .await
        .unwrap();
    assert!(store.get_subscription(&phone_id).await.unwrap().is_none());
    assert!(store.list_subscriptions(&owner).await.unwrap().is_empty());
}

#[tokio::test]
async fn subscriptions_are_checked() {
    let (relay, _daemon, _id, token) = paired(opts()).await;
    let b = Browser::new();
    let good = b.subscription("https://push.example/abc", false);
    let (status, _) = subscribe(&relay, "rcdev_nope", good.clone()).await;
    assert_eq!(status, 401);
    let mut bad = Vec::new();
    for endpoint in [
        "http://push.example/abc",
        "ftp://push.example/abc",
        "https://user@push.example/abc",
        "push.example/abc",
        "",
    ] {
        let mut v = good.clone();
        v["endpoint"] = json!(endpoint);
        bad.push(v);
    }
    let long = format!("https://push.example/{}", "a".repeat(3000));
    let mut v = good.clone();
    v["endpoint"] = json!(long);
    bad.push(v);
    for (field, value) in [
        ("p256dh", URL_SAFE_NO_PAD.encode([4u8; 65])),
        ("p256dh", URL_SAFE_NO_PAD.encode(&b.public[..64])),
        ("p256dh", "!!!".to_string()),
        ("auth", URL_SAFE_NO_PAD.encode([1u8; 15])),
    ] {
        let mut v = good.clone();
        v["keys"][field] = json!(value);
        bad.push(v);
    }
    let mut v = good.clone();
    v.as_object_mut().unwrap().remove("keys");
    bad.push(v);
    for v in bad {
        let (status, body) = subscribe(&relay, &token, v.clone()).await;
        assert_eq!(status, 400, "{v} → {body}");
    }
    let (_, body) = relay.api().get("/push/subscription", Some(&token)).await;
    assert_eq!(body["subscribed"], false, "nothing bad was kept");

    // Loopback http and padded base64url are fine.
    let mut v = b.subscription("http://[::1]:9/p", false);
    v["keys"]["auth"] = json!(URL_SAFE_NO_PAD.encode(b.auth) + "==");
    assert_eq!(subscribe(&relay, &token, v).await.0, 204);
    assert_eq!(
        subscribe(&relay, &token, good).await.0,
        204,
        "https anywhere"
    );
    let (_, body) = relay.api().get("/push/subscription", Some(&token)).await;
    assert_eq!(body["endpoint"], "https://push.example/abc", "replaced");
}

#[tokio::test]
async fn the_key_is_kept_by_the_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = Arc::new(rc_relay::FileStore::open(dir.path()).unwrap());
        let relay = TestRelay::with_store(opts(), store).await;
        let daemon = relay.api().register(&relay.enrollment(), "laptop").await;
        let (_, token) = daemon.pair("phone").await;
        let key = push_key(&relay, &token).await;
        let b = Browser::new();
        assert_eq!(
            subscribe(
                &relay,
                &token,
                b.subscription("https://push.example/x", true)
            )
            .await
            .0,
            204
        );
        (key, token)
    };
    let store = Arc::new(rc_relay::FileStore::open(dir.path()).unwrap());
    let relay = TestRelay::with_store(opts(), store).await;
    assert_eq!(
        push_key(&relay, &first.1).await,
        first.0,
        "the same key after a restart"
    );
    let (_, body) = relay.api().get("/push/subscription", Some(&first.1)).await;
    assert_eq!(body["subscribed"], true, "and the subscription");
    assert_eq!(body["with_message"], true);
}

#[tokio::test]
async fn instances_on_one_redis_push_an_episode_once_whichever_hears_it() {
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let mut relays = Vec::new();
    for _ in 0..3 {
        let store: Arc<dyn rc_relay::Store> = Arc::new(
            rc_relay::RedisStore::connect(&redis.url())
                .await
                .expect("Redis"),
        );
        relays.push(TestRelay::with_store(opts(), store).await);
    }
    let (_, enrollment) = relays[0]
        .relay
        .create_enrollment_token_async(None)
        .await
        .expect("a token");
    let daemon = relays[0].api().register(&enrollment, "laptop").await;
    let (_, phone) = daemon.pair("phone").await;
    let (service, mut inbox) = push_service().await;
    let mut a = Browser::new();
    let (status, body) = subscribe(
        &relays[1],
        &phone,
        a.subscription(&service.endpoint("a"), false),
    )
    .await;
    assert_eq!(status, 204, "{body}");

    // The daemon's heartbeats land on each instance in turn, as behind a
    // round-robin: one episode, one push.
    let ask = waiting(
        "s",
        AttentionKind::Permission,
        "",
        "2026-01-01T00:00:01Z",
        false,
    );
    for r in &relays {
        let d = common::FakeDaemon {
            api: r.api(),
            ..daemon.clone()
        };
        assert_eq!(d.heartbeat(vec![ask.clone()]).await, 204);
    }
    let r = next(&mut inbox).await;
    assert_eq!(a.decrypt(&r.body)["since"], "2026-01-01T00:00:01Z");
    nothing_more(&mut inbox).await;

    // A new episode, heard first by another instance: pushed once too.
    // (A test browser's key decrypts one push.)
    let mut a = Browser::new();
    subscribe(
        &relays[2],
        &phone,
        a.subscription(&service.endpoint("a"), false),
    )
    .await;
    let bell = waiting("s", AttentionKind::Bell, "", "2026-01-01T00:00:02Z", false);
    for r in relays.iter().rev() {
        let d = common::FakeDaemon {
            api: r.api(),
            ..daemon.clone()
        };
        assert_eq!(d.heartbeat(vec![bell.clone()]).await, 204);
    }
    let r = next(&mut inbox).await;
    assert_eq!(a.decrypt(&r.body)["kind"], "bell");
    nothing_more(&mut inbox).await;
}
