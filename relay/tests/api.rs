//! The HTTP API against a real relay on 127.0.0.1:0: the daemon's and the
//! device's routes, work round trips, presence, and every refusal.

mod common;

use common::{Api, FakeDaemon, PATIENCE, TestRelay, fast, paired, route, session, wait_for};
use rc_relay::{RelayOptions, TokenKind};
use rcd_proto::relay::{EnvironmentView, Work, WorkResult};
use rcd_proto::{ErrorKind, ErrorReply, StopReport};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn list(api: &Api, device: &str) -> Vec<EnvironmentView> {
    let (status, body) = api.get("/environments", Some(device)).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("[EnvironmentView]")
}

/// `POST /environments/{env}/sessions` of `daemon`'s environment, as
/// `device`.
async fn create(api: &Api, daemon: &FakeDaemon, device: &str, body: Value) -> (u16, Value) {
    let path = route::sessions(&daemon.env);
    api.post(&path, Some(device), body).await
}

fn failed(kind: ErrorKind, message: &str) -> WorkResult {
    WorkResult::Failed {
        error: ErrorReply {
            kind,
            message: message.into(),
        },
    }
}

#[tokio::test]
async fn a_session_is_created_and_stopped_through_the_daemon() {
    let relay = TestRelay::start(fast()).await;
    let api = relay.api();
    let daemon = api.register(&relay.enrollment(), "laptop").await;
    assert_eq!(daemon.heartbeat(vec![session("old")]).await, 204);
    let (_, device) = daemon.pair("phone").await;

    let envs = list(&api, &device).await;
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0].id, daemon.env);
    assert_eq!(envs[0].name, "laptop");
    assert_eq!(envs[0].machine, "testhost");
    assert!(envs[0].online);
    assert_eq!(envs[0].sessions[0].name, "old");

    let seen: Arc<Mutex<Vec<Work>>> = Arc::default();
    let log = seen.clone();
    let worker = daemon.serve_work(move |work| {
        log.lock().unwrap().push(work.clone());
        match work {
            Work::Create { name, .. } => WorkResult::Created {
                session: session(name.as_deref().unwrap_or("brisk-otter")),
            },
            Work::Stop { name, .. } => WorkResult::Stopped {
                report: StopReport {
                    name: name.clone(),
                    exit_code: Some(0),
                    worktree: None,
                },
            },
            Work::Answer { .. } => WorkResult::Done,
            Work::Diff { .. } => failed(ErrorKind::BadRequest, "not in a worktree"),
        }
    });

    let (status, body) = create(
        &api,
        &daemon,
        &device,
        json!({"name": "fix-login", "spawn": "worktree"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "fix-login");
    let names: Vec<String> = list(&api, &device).await[0]
        .sessions
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert!(
        names.contains(&"fix-login".to_string()),
        "listed before the next heartbeat: {names:?}"
    );

    let (status, body) = api
        .delete(
            &format!("{}?force=true", route::session(&daemon.env, "fix-login")),
            Some(&device),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let report: StopReport = serde_json::from_value(body).unwrap();
    assert_eq!(report.name, "fix-login");

    let (status, body) = api
        .post(
            &route::answer(&daemon.env, "fix-login"),
            Some(&device),
            json!({"id": "r1", "decision": "deny", "message": "not on main"}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    worker.abort();

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            Work::Create {
                name: Some("fix-login".into()),
                spawn: Some(rcd_proto::SpawnMode::Worktree),
                sandbox: None,
                program: None,
                command: None,
            },
            Work::Stop {
                name: "fix-login".into(),
                force: true,
            },
            Work::Answer {
                name: "fix-login".into(),
                id: Some("r1".into()),
                decision: rcd_proto::control::Decision::Deny,
                message: Some("not on main".into()),
            },
        ]
    );
}

#[tokio::test]
async fn daemon_refusals_pass_through_with_their_kind_and_message() {
    let (relay, daemon, _, device) = paired(fast()).await;
    let api = relay.api();
    let worker = daemon.serve_work(|work| match work {
        Work::Create { name: Some(n), .. } if n == "taken" => {
            failed(ErrorKind::NameTaken, "a session named taken already runs")
        }
        Work::Create { .. } => failed(
            ErrorKind::AtCapacity,
            "at capacity (2/2): stop a session first (rcctl stop NAME)",
        ),
        Work::Stop { .. } => failed(ErrorKind::UnknownSession, "no session named ghost"),
        Work::Answer { .. } => failed(
            ErrorKind::NothingToAnswer,
            "no permission request waits in session quiet",
        ),
        Work::Diff { .. } => failed(ErrorKind::BadRequest, "not in a worktree"),
    });
    let path = route::sessions(&daemon.env);

    let (status, body) = api.post(&path, Some(&device), json!({"name": null})).await;
    assert_eq!(status, 409);
    assert_eq!(body["kind"], "at-capacity");
    assert_eq!(
        body["message"],
        "at capacity (2/2): stop a session first (rcctl stop NAME)"
    );

    let (status, body) = api
        .post(&path, Some(&device), json!({"name": "taken"}))
        .await;
    assert_eq!((status, body["kind"].as_str()), (409, Some("name-taken")));

    let (status, body) = api.delete(&format!("{path}/ghost"), Some(&device)).await;
    assert_eq!(
        (status, body["kind"].as_str()),
        (404, Some("unknown-session"))
    );
    assert_eq!(body["message"], "no session named ghost");

    let (status, body) = api
        .post(
            &route::answer(&daemon.env, "quiet"),
            Some(&device),
            json!({"decision": "allow"}),
        )
        .await;
    assert_eq!(
        (status, body["kind"].as_str()),
        (409, Some("nothing-to-answer"))
    );

    // A name that could never be valid is refused by the relay itself.
    let (status, body) = api
        .post(&path, Some(&device), json!({"name": "../x"}))
        .await;
    assert_eq!((status, body["kind"].as_str()), (400, Some("bad-name")));
    worker.abort();
}

#[tokio::test]
async fn an_environment_without_a_sign_of_life_is_offline() {
    let (relay, daemon, _, device) = paired(RelayOptions {
        offline_after: Duration::from_millis(300),
        ..fast()
    })
    .await;
    let api = relay.api();
    wait_for("the environment to go offline", PATIENCE, || async {
        !list(&api, &device).await[0].online
    })
    .await;
    let (status, body) = create(&api, &daemon, &device, json!({"name": "a"})).await;
    assert_eq!(
        (status, body["kind"].as_str()),
        (503, Some("offline")),
        "{body}"
    );
    // A poll is a sign of life.
    assert!(daemon.poll(0).await.is_none());
    assert!(list(&api, &device).await[0].online);
}

#[tokio::test]
async fn a_daemon_that_does_not_answer_times_out() {
    let (relay, daemon, _, device) = paired(RelayOptions {
        work_timeout: Duration::from_millis(300),
        ..fast()
    })
    .await;
    let api = relay.api();
    let (status, body) = create(&api, &daemon, &device, json!({"name": "a"})).await;
    assert_eq!(
        (status, body["kind"].as_str()),
        (504, Some("timeout")),
        "{body}"
    );
    assert!(
        daemon.poll(0).await.is_none(),
        "the item was withdrawn when the device stopped waiting"
    );
    let late = WorkResult::Created {
        session: session("a"),
    };
    assert_eq!(daemon.post_result("w_unknown", &late).await, 404);
}

#[tokio::test]
async fn work_is_delivered_to_a_waiting_poll() {
    let (relay, daemon, _, device) = paired(fast()).await;
    let api = relay.api();
    let poll = {
        let d = daemon.clone();
        tokio::spawn(async move { d.poll(5).await })
    };
    let creating = {
        let (api, daemon) = (api.clone(), daemon.clone());
        tokio::spawn(async move { create(&api, &daemon, &device, json!({"name": "a"})).await })
    };
    let item = poll.await.unwrap().expect("the poll got the item");
    let created = WorkResult::Created {
        session: session("a"),
    };
    assert_eq!(daemon.post_result(&item.id, &created).await, 204);
    assert_eq!(
        daemon.post_result(&item.id, &created).await,
        404,
        "one result per item"
    );
    let (status, _) = creating.await.unwrap();
    assert_eq!(status, 201);
    // Another environment's credential cannot answer for it.
    let other = api.register(&relay.enrollment(), "desk").await;
    let path = route::result(&daemon.env, &item.id);
    let (status, _) = api
        .post(
            &path,
            Some(&other.cred),
            json!({"result": "failed", "error": {"kind": "internal", "message": "x"}}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn presence_goes_online_then_offline_then_forgotten() {
    let relay = TestRelay::start(RelayOptions {
        offline_after: Duration::from_millis(600),
        forget_after: Duration::from_millis(1500),
        ..fast()
    })
    .await;
    let api = relay.api();
    let token = relay.enrollment();
    let daemon = api.register(&token, "laptop").await;
    let (_, device) = daemon.pair("phone").await;
    assert_eq!(daemon.heartbeat(vec![]).await, 204);
    assert!(list(&api, &device).await[0].online);
    wait_for("offline", PATIENCE, || async {
        !list(&api, &device).await[0].online
    })
    .await;
    wait_for("forgotten", PATIENCE, || async {
        list(&api, &device).await.is_empty()
    })
    .await;
    // Its routes are gone too; registering again brings back the same id.
    assert_eq!(daemon.heartbeat(vec![]).await, 404);
    let again = api.register(&token, "laptop").await;
    assert_eq!(again.env, daemon.env);
    let envs = list(&api, &device).await;
    assert_eq!(envs.len(), 1);
    assert!(envs[0].online);
}

#[tokio::test]
async fn deregistering_drops_the_environment_at_once() {
    let (relay, daemon, _, device) = paired(fast()).await;
    let api = relay.api();
    assert_eq!(list(&api, &device).await.len(), 1);
    let (status, _) = api
        .delete(&route::environment(&daemon.env), Some(&daemon.cred))
        .await;
    assert_eq!(status, 204);
    assert!(list(&api, &device).await.is_empty());
}

#[tokio::test]
async fn missing_unknown_expired_and_revoked_secrets_get_401() {
    let relay = TestRelay::start(RelayOptions {
        credential_ttl: Duration::from_secs(1),
        ..fast()
    })
    .await;
    let api = relay.api();
    let (record, token) = relay
        .relay
        .create_enrollment_token_async(Some("t".into()))
        .await
        .unwrap();
    let daemon = api.register(&token, "laptop").await;
    let (device_id, device) = daemon.pair("phone").await;
    let (_, device2) = daemon.pair("tablet").await;
    let env = daemon.env.clone();

    for bearer in [None, Some("garbage"), Some("rcdev_unknown"), Some("rce_x")] {
        let (status, body) = api.get("/environments", bearer).await;
        assert_eq!(status, 401, "{bearer:?}");
        assert_eq!(body["kind"], "unauthorized");
    }
    let (status, _) = api
        .post("/environments/register", Some("rce_unknown"), json!({}))
        .await;
    assert_eq!(status, 401, "auth comes before the body");
    // A device token is not an enrollment token, nor the reverse.
    let (status, _) = api
        .post("/environments/register", Some(&device), json!({}))
        .await;
    assert_eq!(status, 401);
    let (status, _) = api.get("/environments", Some(token.expose())).await;
    assert_eq!(status, 401);
    let (status, _) = api.get("/environments", Some(&daemon.cred)).await;
    assert_eq!(
        status, 401,
        "an environment credential is not a device token"
    );

    // An expired credential.
    let refreshed = {
        let (status, body) = daemon.refresh().await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    };
    let renewed = common::FakeDaemon {
        cred: refreshed,
        ..daemon.clone()
    };
    assert_eq!(
        renewed.heartbeat(vec![]).await,
        204,
        "the new credential works"
    );
    wait_for("the credential to expire", PATIENCE, || async {
        daemon.heartbeat(vec![]).await == 401
    })
    .await;
    let (status, _) = daemon.refresh().await;
    assert_eq!(status, 401, "an expired credential cannot be refreshed");

    // A revoked device token.
    let (status, _) = api.delete(&route::device(&device_id), Some(&device2)).await;
    assert_eq!(status, 204);
    let (status, _) = api.get("/environments", Some(&device)).await;
    assert_eq!(status, 401);
    let (status, body) = api.get("/devices", Some(&device2)).await;
    assert_eq!(status, 200);
    let revoked: Vec<bool> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["revoked"].as_bool().unwrap())
        .collect();
    assert_eq!(revoked, [true, false]);
    assert!(!body.to_string().contains("rcdev_"), "no secret is listed");

    // A revoked enrollment token takes its devices and environments along.
    let daemon = api.register(&token, "laptop").await;
    relay
        .relay
        .revoke(TokenKind::Enrollment, &record.id)
        .await
        .unwrap();
    let (status, _) = api.get("/environments", Some(&device2)).await;
    assert_eq!(status, 401);
    assert_eq!(daemon.heartbeat(vec![]).await, 401);
    let (status, _) = api
        .post("/environments/register", Some(token.expose()), json!({}))
        .await;
    assert_eq!(status, 401);
    assert!(
        relay
            .relay
            .store()
            .get_environment(&env)
            .await
            .unwrap()
            .is_none(),
        "its environment is dropped"
    );
}

#[tokio::test]
async fn another_owners_environment_is_not_found() {
    let relay = TestRelay::start(fast()).await;
    let api = relay.api();
    let a = api.register(&relay.enrollment(), "laptop").await;
    let b = api.register(&relay.enrollment(), "desk").await;
    let (a_dev_id, _) = a.pair("phone-a").await;
    let (_, b_dev) = b.pair("phone-b").await;
    let _worker = a.serve_work(|_| WorkResult::Created {
        session: session("x"),
    });

    let envs = list(&api, &b_dev).await;
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0].id, b.env, "B sees only its own");

    let missing = api
        .post(
            "/environments/env_doesnotexist/sessions",
            Some(&b_dev),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(missing.0, 404);
    let foreign = create(&api, &a, &b_dev, json!({"name": "x"})).await;
    assert_eq!(
        foreign, missing,
        "the same answer as an environment that does not exist"
    );

    for (method, path) in [
        (reqwest::Method::DELETE, route::session(&a.env, "x")),
        (reqwest::Method::POST, route::attach_ticket(&a.env, "x")),
    ] {
        let (status, body) = api.call(method, &path, Some(&b_dev), None).await;
        assert_eq!((status, &body), (404, &missing.1), "{path}");
    }
    let attach = common::ws_connect(&api.base, &route::attach(&a.env, "x"), Some(&b_dev)).await;
    assert_eq!(attach.err().map(|e| e.0), Some(404));
    let (status, _) = api.delete(&route::device(&a_dev_id), Some(&b_dev)).await;
    assert_eq!(status, 404, "another owner's device");

    // An environment credential names its own environment only.
    let path = route::heartbeat(&a.env);
    let (status, body) = api
        .post(
            &path,
            Some(&b.cred),
            json!({"spawn": "same-dir", "capacity": 1, "used": 0, "sessions": []}),
        )
        .await;
    assert_eq!((status, &body), (404, &missing.1));
    let (status, _) = api
        .post(&route::pairing(&a.env), Some(&b.cred), Value::Null)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pairing_codes_are_used_once_and_expire() {
    let relay = TestRelay::start(RelayOptions {
        pairing_ttl: Duration::from_millis(300),
        ..fast()
    })
    .await;
    let api = relay.api();
    let daemon = api.register(&relay.enrollment(), "laptop").await;

    let code = daemon.pairing_code().await;
    assert_eq!(code.len(), 9, "{code}");
    let typed = code.to_lowercase().replace('-', " ");
    let (status, body) = api
        .post("/pair", None, json!({"code": typed, "label": "phone"}))
        .await;
    assert_eq!(status, 200, "codes are typed loosely: {body}");
    assert!(body["token"].as_str().unwrap().starts_with("rcdev_"));
    let (status, body) = api
        .post("/pair", None, json!({"code": code, "label": null}))
        .await;
    assert_eq!(
        (status, body["kind"].as_str()),
        (401, Some("unauthorized")),
        "used"
    );

    let code = daemon.pairing_code().await;
    tokio::time::sleep(Duration::from_millis(500)).await; // outlive the 300 ms code
    let (status, _) = api
        .post("/pair", None, json!({"code": code, "label": null}))
        .await;
    assert_eq!(status, 401, "expired");

    for bad in ["", "XXXX-XXXX", "not a code at all", "rcenv_abc"] {
        let (status, _) = api
            .post("/pair", None, json!({"code": bad, "label": null}))
            .await;
        assert_eq!(status, 401, "{bad:?}");
    }
}

#[tokio::test]
async fn oversized_garbage_and_wrong_versions_are_refused() {
    let relay = TestRelay::start(fast()).await;
    let api = relay.api();
    let token = relay.enrollment();
    let daemon = api.register(&token, "laptop").await;

    let big = "x".repeat(1024 * 1024 + 10);
    let (status, body) = api
        .post(
            &route::heartbeat(&daemon.env),
            Some(&daemon.cred),
            json!({ "pad": big }),
        )
        .await;
    assert_eq!((status, body["kind"].as_str()), (413, Some("too-large")));

    let resp = api
        .http
        .post(format!(
            "{}/api/v1{}",
            api.base,
            route::heartbeat(&daemon.env)
        ))
        .bearer_auth(&daemon.cred)
        .body("{this is not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["kind"], "bad-request");

    let (status, body) = api.post("/pair", None, json!([1, 2, 3])).await;
    assert_eq!((status, body["kind"].as_str()), (400, Some("bad-request")));

    let (status, body) = api
        .get(
            &format!("{}?wait_secs=soon", route::work(&daemon.env)),
            Some(&daemon.cred),
        )
        .await;
    assert_eq!((status, body["kind"].as_str()), (400, Some("bad-request")));

    let (status, body) = api
        .post(
            "/environments/register",
            Some(token.expose()),
            json!({"protocol": 999, "version": "9", "name": "n", "machine": "m", "dir": "/",
                   "spawn": "same-dir", "capacity": 1}),
        )
        .await;
    assert_eq!((status, body["kind"].as_str()), (426, Some("version")));
    assert!(
        body["message"].as_str().unwrap().contains("update"),
        "{body}"
    );
    // An rcd of protocol 1 (session messages as JSON text): the same
    // answer, naming both versions.
    let (status, body) = api
        .post(
            "/environments/register",
            Some(token.expose()),
            json!({"protocol": 1, "version": "0.1.0", "name": "n", "machine": "m", "dir": "/",
                   "spawn": "same-dir", "capacity": 1}),
        )
        .await;
    assert_eq!((status, body["kind"].as_str()), (426, Some("version")));
    let message = body["message"].as_str().unwrap();
    let current = rcd_proto::relay::RELAY_PROTOCOL_VERSION;
    assert!(
        message.contains("relay protocol 1") && message.contains(&format!("speaks {current}")),
        "{message}"
    );

    let (status, body) = api.get("/no/such/route", None).await;
    assert_eq!((status, body["kind"].as_str()), (404, Some("not-found")));
    let (status, _) = api.call(reqwest::Method::PUT, "/pair", None, None).await;
    assert_eq!(status, 405);

    // And the relay still serves.
    assert_eq!(daemon.heartbeat(vec![]).await, 204);
}

#[tokio::test]
async fn the_index_page_and_health_check() {
    let relay = TestRelay::start(fast()).await;
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/healthz", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
    let resp = http.get(format!("{}/", relay.url)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let page = resp.text().await.unwrap();
    assert!(page.contains("rcctl --relay"), "says how to pair");
    assert!(!page.contains("src=\"http"), "no external resources");
}

#[tokio::test]
async fn wrong_pairing_codes_are_limited_per_source() {
    let relay = TestRelay::start(fast()).await;
    let api = relay.api();
    let daemon = api.register(&relay.enrollment(), "laptop").await;
    let good = daemon.pairing_code().await;
    for i in 0..10 {
        let (status, body) = api
            .post("/pair", None, json!({"code": format!("AAAA-AA{i:02}")}))
            .await;
        assert_eq!(status, 401, "{body}");
    }
    // Past the limit even the right code waits: the source is held back.
    let (status, body) = api.post("/pair", None, json!({"code": good})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["kind"], "too-many-attempts");
    // With how long to wait, as a header clients read.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/pair", relay.url))
        .json(&json!({"code": good}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        body["message"].as_str().unwrap().contains("try again in"),
        "{body}"
    );
}

#[tokio::test]
async fn names_that_hide_or_reorder_text_are_refused() {
    let relay = TestRelay::start(fast()).await;
    let api = relay.api();
    let token = relay.enrollment();
    for name in ["laptop\u{202E}gpj", "lap\u{200B}top", "\u{2066}laptop"] {
        let (status, body) = api
            .post(
                "/environments/register",
                Some(token.expose()),
                json!({
                    "protocol": rcd_proto::relay::RELAY_PROTOCOL_VERSION,
                    "version": "test", "name": name, "machine": "m", "dir": "/w",
                    "spawn": "same-dir", "capacity": 1,
                }),
            )
            .await;
        assert_eq!(status, 400, "{name:?}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("invisible"),
            "{body}"
        );
    }
    let daemon = api.register(&token, "laptop").await;
    let code = daemon.pairing_code().await;
    let (status, body) = api
        .post(
            "/pair",
            None,
            json!({"code": code, "label": "phone\u{202E}"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // The code was not used up by the refusal.
    let (status, body) = api
        .post("/pair", None, json!({"code": code, "label": "phone"}))
        .await;
    assert_eq!(status, 200, "{body}");
}
