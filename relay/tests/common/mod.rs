//! Helpers for the relay's tests: a real relay on 127.0.0.1:0 that stops
//! on `Drop`, plain HTTP and WebSocket calls, a fake daemon, and
//! `wait_for` instead of sleeps.
#![allow(dead_code)]

#[path = "../../../tests/src/redis.rs"]
pub mod redis;

use futures_util::{SinkExt, StreamExt};
use rc_relay::{MemoryStore, Relay, RelayOptions, Store};
use rcd_proto::relay::{
    DeviceToken, Heartbeat, PairingCode, RegisterRequest, RegisterResponse, Secret, WorkItem,
    WorkResult,
};
use rcd_proto::{SessionInfo, SessionState, SpawnMode};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// Upper bound of every wait in these tests.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Options with short intervals, for tests.
pub fn fast() -> RelayOptions {
    RelayOptions {
        sweep_interval: Duration::from_millis(100),
        ..RelayOptions::default()
    }
}

/// The relay's routes under `/api/v1`, written out once for every test
/// (docs/PROTOCOL.md, "Relay", lists them).
pub mod route {
    /// `/environments/{env}`: deregistration.
    pub fn environment(env: &str) -> String {
        format!("/environments/{env}")
    }

    pub fn heartbeat(env: &str) -> String {
        format!("{}/heartbeat", environment(env))
    }

    pub fn refresh(env: &str) -> String {
        format!("{}/refresh", environment(env))
    }

    pub fn pairing(env: &str) -> String {
        format!("{}/pairing", environment(env))
    }

    /// The work poll; add `?wait_secs=` for a shorter wait.
    pub fn work(env: &str) -> String {
        format!("{}/work", environment(env))
    }

    pub fn result(env: &str, id: &str) -> String {
        format!("{}/{id}/result", work(env))
    }

    /// `POST` here creates a session.
    pub fn sessions(env: &str) -> String {
        format!("{}/sessions", environment(env))
    }

    /// `DELETE` here stops the session.
    pub fn session(env: &str, name: &str) -> String {
        format!("{}/{name}", sessions(env))
    }

    /// `POST`: the answer to the session's permission request.
    pub fn answer(env: &str, name: &str) -> String {
        format!("{}/answer", session(env, name))
    }

    pub fn credential(env: &str, name: &str) -> String {
        format!("{}/credential", session(env, name))
    }

    pub fn link(env: &str, name: &str) -> String {
        format!("{}/link", session(env, name))
    }

    pub fn attach_ticket(env: &str, name: &str) -> String {
        format!("{}/attach-ticket", session(env, name))
    }

    pub fn attach(env: &str, name: &str) -> String {
        format!("{}/attach", session(env, name))
    }

    /// `DELETE` here revokes the device token.
    pub fn device(id: &str) -> String {
        format!("/devices/{id}")
    }
}

/// A relay serving on 127.0.0.1:0 until dropped.
pub struct TestRelay {
    pub url: String,
    pub relay: Relay,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestRelay {
    pub async fn start(opts: RelayOptions) -> TestRelay {
        TestRelay::with_store(opts, Arc::new(MemoryStore::new())).await
    }

    pub async fn with_store(opts: RelayOptions, store: Arc<dyn Store>) -> TestRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let relay = Relay::new(opts, store);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let r = relay.clone();
        tokio::spawn(async move {
            r.serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("relay serves");
        });
        TestRelay {
            url: format!("http://{addr}"),
            relay,
            stop: Some(tx),
        }
    }

    pub fn enrollment(&self) -> Secret {
        self.relay
            .create_enrollment_token(Some("test".into()))
            .expect("token")
    }

    pub fn api(&self) -> Api {
        Api::new(&self.url)
    }
}

/// A relay, a daemon "laptop" registered with it, and a device "phone"
/// paired with that: (relay, daemon, device id, device token).
pub async fn paired(opts: RelayOptions) -> (TestRelay, FakeDaemon, String, String) {
    let relay = TestRelay::start(opts).await;
    let daemon = relay.api().register(&relay.enrollment(), "laptop").await;
    let (id, token) = daemon.pair("phone").await;
    (relay, daemon, id, token)
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Polls `cond` every 20 ms until it holds, for at most `limit`.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Plain JSON calls against the relay.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
        }
    }

    /// `method /api/v1{path}` → (status, JSON body or Null).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "a non-JSON answer ({status}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        if status >= 300 {
            assert!(
                value.get("kind").is_some() && value.get("message").is_some(),
                "every error has an ApiError body: {value}"
            );
        }
        (status, value)
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, bearer, None).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, bearer, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, bearer, None).await
    }

    /// Registers a fake daemon `name` with the enrollment token.
    pub async fn register(&self, enrollment: &Secret, name: &str) -> FakeDaemon {
        let req = RegisterRequest {
            protocol: rcd_proto::relay::RELAY_PROTOCOL_VERSION,
            version: "test".into(),
            name: name.into(),
            machine: "testhost".into(),
            dir: "/work".into(),
            spawn: SpawnMode::SameDir,
            capacity: 2,
            programs: Vec::new(),
            default_program: None,
        };
        let (status, body) = self
            .post(
                "/environments/register",
                Some(enrollment.expose()),
                serde_json::to_value(&req).unwrap(),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let reg: RegisterResponse = serde_json::from_value(body).expect("RegisterResponse");
        FakeDaemon {
            api: self.clone(),
            env: reg.environment_id,
            cred: reg.credential.token.expose().to_string(),
        }
    }
}

/// A session as a daemon would report it.
pub fn session(name: &str) -> SessionInfo {
    SessionInfo {
        id: format!("id-{name}"),
        name: name.into(),
        state: SessionState::Running,
        dir: "/work".into(),
        spawn: SpawnMode::SameDir,
        branch: None,
        pid: Some(42),
        created_at: "2025-01-01T00:00:00Z".into(),
        command: vec!["sh".into()],
        program: None,
        exit_code: None,
        worktree: None,
        sandboxed: false,
        attention: None,
        last_activity: None,
        change: None,
    }
}

/// The daemon side, driven by hand.
#[derive(Clone)]
pub struct FakeDaemon {
    pub api: Api,
    pub env: String,
    pub cred: String,
}

impl FakeDaemon {
    pub async fn heartbeat(&self, sessions: Vec<SessionInfo>) -> u16 {
        let hb = Heartbeat {
            spawn: SpawnMode::SameDir,
            capacity: 2,
            used: sessions.len() as u32,
            sessions,
        };
        let path = route::heartbeat(&self.env);
        let (status, _) = self
            .api
            .post(&path, Some(&self.cred), serde_json::to_value(&hb).unwrap())
            .await;
        status
    }

    /// One work poll.
    pub async fn poll(&self, wait_secs: u64) -> Option<WorkItem> {
        let path = format!("{}?wait_secs={wait_secs}", route::work(&self.env));
        let (status, body) = self.api.get(&path, Some(&self.cred)).await;
        match status {
            200 => Some(serde_json::from_value(body).expect("WorkItem")),
            204 => None,
            s => panic!("work poll answered {s}: {body}"),
        }
    }

    pub async fn post_result(&self, id: &str, result: &WorkResult) -> u16 {
        let path = route::result(&self.env, id);
        let (status, _) = self
            .api
            .post(
                &path,
                Some(&self.cred),
                serde_json::to_value(result).unwrap(),
            )
            .await;
        status
    }

    /// Polls and answers every item with `answer` until aborted.
    pub fn serve_work<F>(&self, answer: F) -> tokio::task::JoinHandle<()>
    where
        F: Fn(&rcd_proto::relay::Work) -> WorkResult + Send + 'static,
    {
        let d = self.clone();
        tokio::spawn(async move {
            loop {
                if let Some(item) = d.poll(1).await {
                    let result = answer(&item.work);
                    assert_eq!(d.post_result(&item.id, &result).await, 204);
                }
            }
        })
    }

    pub async fn pairing_code(&self) -> String {
        let path = route::pairing(&self.env);
        let (status, body) = self.api.post(&path, Some(&self.cred), Value::Null).await;
        assert_eq!(status, 200, "{body}");
        let code: PairingCode = serde_json::from_value(body).unwrap();
        code.code
    }

    /// Pairs a device: (device id, device token).
    pub async fn pair(&self, label: &str) -> (String, String) {
        let code = self.pairing_code().await;
        let (status, body) = self
            .api
            .post("/pair", None, json!({"code": code, "label": label}))
            .await;
        assert_eq!(status, 200, "{body}");
        let t: DeviceToken = serde_json::from_value(body).unwrap();
        (t.id, t.token.expose().to_string())
    }

    /// `POST /environments/{env}/refresh` with this daemon's credential.
    pub async fn refresh(&self) -> (u16, Value) {
        let path = route::refresh(&self.env);
        self.api.post(&path, Some(&self.cred), Value::Null).await
    }

    /// A session credential for `name`.
    pub async fn session_credential(&self, name: &str) -> String {
        let path = route::credential(&self.env, name);
        let (status, body) = self.api.post(&path, Some(&self.cred), Value::Null).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Opens the session link of `name`.
    pub async fn link(&self, name: &str) -> Ws {
        let cred = self.session_credential(name).await;
        let path = route::link(&self.env, name);
        ws_connect(&self.api.base, &path, Some(&cred))
            .await
            .expect("link opens")
    }
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket at `/api/v1{path}`; `Err((status, body))` when the
/// relay refuses the upgrade.
pub async fn ws_connect(base: &str, path: &str, bearer: Option<&str>) -> Result<Ws, (u16, String)> {
    let url = format!("{}/api/v1{path}", base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().expect("request");
    if let Some(b) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {b}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((status, body))
        }
        Err(e) => panic!("WebSocket to {path}: {e}"),
    }
}

/// What the next message on a socket was.
#[derive(Debug, PartialEq)]
pub enum Next {
    Text(Value),
    Binary(Vec<u8>),
    Closed(Option<u16>),
}

/// The next text message (as JSON), binary message or the close, skipping
/// protocol pings; panics after `PATIENCE`.
pub async fn next(ws: &mut Ws) -> Next {
    let read = async {
        loop {
            match ws.next().await {
                None => return Next::Closed(None),
                Some(Ok(Message::Text(t))) => {
                    return Next::Text(serde_json::from_str(t.as_str()).expect("JSON frame"));
                }
                Some(Ok(Message::Binary(b))) => return Next::Binary(b.to_vec()),
                Some(Ok(Message::Close(f))) => return Next::Closed(f.map(|f| f.code.into())),
                Some(Ok(_)) => continue,
                Some(Err(_)) => return Next::Closed(None),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a message before the timeout")
}

/// The next text message, which must be there.
pub async fn next_json(ws: &mut Ws) -> Value {
    match next(ws).await {
        Next::Text(v) => v,
        other => panic!("{other:?} where a text message was expected"),
    }
}

/// Reads an `open` from the link; returns its client number.
pub async fn expect_open(link: &mut Ws, device_id: &str) -> u64 {
    let open = next_json(link).await;
    assert_eq!(open["t"], "open", "{open}");
    assert_eq!(open["device"], device_id);
    open["client"].as_u64().expect("a client number")
}

/// The next binary message, which must be there.
pub async fn next_binary(ws: &mut Ws) -> Vec<u8> {
    match next(ws).await {
        Next::Binary(b) => b,
        other => panic!("{other:?} where a binary message was expected"),
    }
}

pub async fn send_binary(ws: &mut Ws, bytes: &[u8]) {
    ws.send(Message::binary(bytes.to_vec()))
        .await
        .expect("send");
}

/// A session link's binary message: `client` (8 bytes, big-endian), then
/// the payload.
pub fn for_client(client: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = client.to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

pub async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.expect("send");
}

/// Reads until the socket closes; returns the close code.
pub async fn closed(ws: &mut Ws) -> Option<u16> {
    loop {
        if let Next::Closed(code) = next(ws).await {
            return code;
        }
    }
}
