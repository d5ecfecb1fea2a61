//! Daemon routes: registration, credentials, heartbeats, the work poll and
//! its results, the session link, pairing codes, deregistration.

use super::auth::{self, Enrolled, EnvCaller, SessionCaller};
use super::body::{self, session_name};
use super::{ApiErr, ApiPath, ApiResult, RawBody, query};
use crate::hub::{CloseReason, RouteKey};
use crate::options::{MAX_BODY, WS_READ_BUFFER, wire_secs};
use crate::secret::{self, ENV_CREDENTIAL_PREFIX, SESSION_CREDENTIAL_PREFIX};
use crate::state::Relay;
use crate::store::{EnvRecord, Grant};
use crate::ws;
use axum::Json;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rcd_proto::relay::{PairingCode, RegisterResponse};
use serde::Deserialize;
use std::time::Duration;

pub(crate) async fn register(
    State(relay): State<Relay>,
    Enrolled(token): Enrolled,
    RawBody(body): RawBody,
) -> ApiResult<Json<RegisterResponse>> {
    let req = body::register(&body)?;
    let id = secret::environment_id(&token.id, &req.machine, &req.name);
    let store = relay.store();
    store
        .put_environment(EnvRecord {
            id: id.clone(),
            owner: token.id.clone(),
            name: req.name.clone(),
            machine: req.machine.clone(),
            dir: req.dir,
            version: req.version,
            spawn: req.spawn,
            capacity: req.capacity,
            used: 0,
            sessions: Vec::new(),
            programs: req.programs,
            default_program: req.default_program,
        })
        .await?;
    let credential = relay
        .issue(
            ENV_CREDENTIAL_PREFIX,
            Grant::Environment {
                owner: token.id.clone(),
                env: id.clone(),
            },
            relay.options().credential_ttl,
        )
        .await?;
    tracing::info!(env = %id, name = %req.name, machine = %req.machine, token = %token.id, "environment registered");
    Ok(Json(RegisterResponse {
        environment_id: id,
        credential,
        heartbeat_interval_secs: wire_secs(relay.options().heartbeat_interval),
        poll_timeout_secs: wire_secs(relay.options().poll_timeout),
    }))
}

pub(crate) async fn refresh(
    State(relay): State<Relay>,
    EnvCaller { owner, env }: EnvCaller,
) -> ApiResult<Response> {
    auth::owned_environment(&relay, &owner, &env).await?;
    let credential = relay
        .issue(
            ENV_CREDENTIAL_PREFIX,
            Grant::Environment {
                owner,
                env: env.clone(),
            },
            relay.options().credential_ttl,
        )
        .await?;
    tracing::debug!(env = %env, "environment credential refreshed");
    Ok(Json(credential).into_response())
}

pub(crate) async fn heartbeat(
    State(relay): State<Relay>,
    EnvCaller { owner, env }: EnvCaller,
    RawBody(body): RawBody,
) -> ApiResult<StatusCode> {
    let beat = body::heartbeat(&body)?;
    let entry = auth::owned_environment(&relay, &owner, &env).await?;
    let episodes = relay
        .pusher()
        .due(&env, &entry.record.machine, &beat.sessions);
    if !relay.store().seen(&env, Some(beat)).await? {
        return Err(ApiErr::no_environment());
    }
    let episodes = relay
        .pusher()
        .claimed(relay.store().as_ref(), episodes)
        .await;
    relay.pusher().send(relay.store().clone(), owner, episodes);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct WorkQuery {
    wait_secs: Option<u64>,
}

pub(crate) async fn work(
    State(relay): State<Relay>,
    EnvCaller { owner, env }: EnvCaller,
    uri: Uri,
) -> ApiResult<Response> {
    let q: WorkQuery = query(&uri)?;
    auth::owned_environment(&relay, &owner, &env).await?;
    let limit = relay.options().poll_timeout;
    let wait = q
        .wait_secs
        .map_or(limit, |s| Duration::from_secs(s).min(limit));
    let store = relay.store();
    store.seen(&env, None).await?;
    let item = tokio::select! {
        item = store.next_work(&env, wait) => item?,
        _ = relay.stopping() => None,
    };
    store.seen(&env, None).await?;
    Ok(match item {
        Some(item) => {
            tracing::debug!(env = %env, work = %item.id, "work delivered");
            Json(item).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

pub(crate) async fn result(
    State(relay): State<Relay>,
    ApiPath((env, id)): ApiPath<(String, String)>,
    _: EnvCaller,
    RawBody(body): RawBody,
) -> ApiResult<StatusCode> {
    let result = body::work_result(&body)?;
    if !relay.store().post_result(&env, &id, result).await? {
        return Err(ApiErr::not_found(
            "no such work item: unknown, or its device stopped waiting",
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn session_credential(
    State(relay): State<Relay>,
    ApiPath((env, name)): ApiPath<(String, String)>,
    EnvCaller { owner, .. }: EnvCaller,
) -> ApiResult<Response> {
    let name = session_name(&name)?;
    auth::owned_environment(&relay, &owner, &env).await?;
    let credential = relay
        .issue(
            SESSION_CREDENTIAL_PREFIX,
            Grant::Session {
                owner,
                env,
                session: name.to_string(),
            },
            relay.options().credential_ttl,
        )
        .await?;
    Ok(Json(credential).into_response())
}

pub(crate) async fn link(
    State(relay): State<Relay>,
    ApiPath((env, name)): ApiPath<(String, String)>,
    SessionCaller { owner }: SessionCaller,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    auth::owned_environment(&relay, &owner, &env).await?;
    let ws = ws.map_err(|_| ApiErr::bad_request("this route takes a WebSocket upgrade"))?;
    if relay.is_shutting_down() {
        return Err(ApiErr::shutting_down());
    }
    let key = RouteKey { env, session: name };
    Ok(ws
        .read_buffer_size(WS_READ_BUFFER)
        .max_message_size(MAX_BODY)
        .max_frame_size(MAX_BODY)
        .on_upgrade(move |socket| ws::run_link(relay, socket, key, owner)))
}

pub(crate) async fn pairing(
    State(relay): State<Relay>,
    EnvCaller { owner, env }: EnvCaller,
) -> ApiResult<Json<PairingCode>> {
    auth::owned_environment(&relay, &owner, &env).await?;
    let code = secret::pairing_code();
    let normalized = secret::normalize_code(&code).expect("a code we made is valid");
    let ttl = relay.options().pairing_ttl;
    relay
        .store()
        .put_grant(
            secret::code_hash(&normalized),
            Grant::Pairing {
                owner,
                env: env.clone(),
            },
            ttl,
        )
        .await?;
    tracing::info!(env = %env, "pairing code issued");
    Ok(Json(PairingCode {
        code,
        expires_in_secs: wire_secs(ttl),
    }))
}

pub(crate) async fn deregister(
    State(relay): State<Relay>,
    EnvCaller { owner, env }: EnvCaller,
) -> ApiResult<StatusCode> {
    if auth::owned_environment(&relay, &owner, &env).await.is_ok() {
        relay.store().remove_environment(&env).await?;
        relay.hub().close_environment(&env, CloseReason::GONE);
        tracing::info!(env = %env, "environment deregistered");
    }
    Ok(StatusCode::NO_CONTENT)
}
