//! Device routes: pairing, the environment list, creating and stopping
//! sessions (as work for the daemon), attach tickets and sockets, the
//! owner's device tokens, and this device's Web Push subscription.

use super::auth::{self, AttachCaller, DeviceCaller};
use super::body::{self, session_name};
use super::{ApiErr, ApiPath, ApiResult, RawBody, query};
use crate::hub::RouteKey;
use crate::limit::Refused;
use crate::options::{MAX_BODY, WS_READ_BUFFER, wire_secs};
use crate::secret::{self, TICKET_PREFIX};
use crate::state::Relay;
use crate::store::{EnvEntry, Grant, PushSubscription, TokenKind};
use crate::ws;
use axum::Extension;
use axum::Json;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rcd_proto::relay::{
    ApiErrorKind, AttachTicket, DeviceToken, EnvironmentView, PushKey, PushStatus, TokenInfo, Work,
    WorkItem, WorkResult,
};
use rcd_proto::{ErrorKind, ErrorReply};
use serde::Deserialize;
use std::net::SocketAddr;

pub(crate) async fn pair(
    State(relay): State<Relay>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    RawBody(body): RawBody,
) -> ApiResult<(StatusCode, Json<DeviceToken>)> {
    let source = peer.map(|Extension(ConnectInfo(a))| a.ip());
    let attempts = relay.pairing_attempts();
    if let Err(refused) = attempts.check(source) {
        let wait = match refused {
            Refused::Source(w) | Refused::Overall(w) => w,
        };
        return Err(ApiErr::too_many_attempts(wait));
    }
    let (req, code) = body::pair(&body)?;
    let grant = match code {
        Some(code) => relay.store().take_grant(&secret::code_hash(&code)).await?,
        None => None,
    };
    let Some(Grant::Pairing { owner, env }) = grant else {
        attempts.failed(source);
        let source = source.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
        tracing::warn!(%source, "a wrong pairing code was tried");
        return Err(ApiErr::unauthorized());
    };
    if !auth::owner_active(&relay, &owner).await? {
        return Err(ApiErr::unauthorized());
    }
    let (record, token) = crate::store::create_token(
        relay.store().as_ref(),
        TokenKind::Device,
        Some(owner),
        req.label,
    )
    .await?;
    tracing::info!(device = %record.id, env = %env, "device paired");
    Ok((
        StatusCode::OK,
        Json(DeviceToken {
            id: record.id,
            token,
        }),
    ))
}

fn view(relay: &Relay, e: EnvEntry) -> EnvironmentView {
    let r = e.record;
    EnvironmentView {
        id: r.id,
        name: r.name,
        machine: r.machine,
        dir: r.dir,
        spawn: r.spawn,
        capacity: r.capacity,
        used: r.used,
        version: r.version,
        online: e.idle < relay.options().offline_after,
        last_seen_secs: e.idle.as_secs(),
        sessions: r.sessions,
        programs: r.programs,
        default_program: r.default_program,
    }
}

pub(crate) async fn environments(
    State(relay): State<Relay>,
    device: DeviceCaller,
) -> ApiResult<Json<Vec<EnvironmentView>>> {
    let forget = relay.options().forget_after;
    let mut list: Vec<EnvironmentView> = relay
        .store()
        .list_environments(Some(device.owner()))
        .await?
        .into_iter()
        .filter(|e| e.idle < forget)
        .map(|e| view(&relay, e))
        .collect();
    list.sort_by(|a, b| (&a.name, &a.machine, &a.id).cmp(&(&b.name, &b.machine, &b.id)));
    Ok(Json(list))
}

/// The status of a daemon's refusal.
fn failure_status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::AtCapacity | ErrorKind::NameTaken | ErrorKind::NothingToAnswer => {
            StatusCode::CONFLICT
        }
        ErrorKind::BadName | ErrorKind::NotARepository | ErrorKind::BadRequest => {
            StatusCode::BAD_REQUEST
        }
        ErrorKind::UnknownSession => StatusCode::NOT_FOUND,
        ErrorKind::ShuttingDown | ErrorKind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A daemon's refusal, passed through with its kind and message.
fn failure(error: ErrorReply) -> ApiErr {
    ApiErr::new(failure_status(error.kind), error.kind.into(), error.message)
}

/// Queues `work` for the environment and waits for its result: 503
/// `offline` when the daemon shows no sign of life, 504 `timeout` when it
/// does not answer in time.
async fn run_work(relay: &Relay, env: &EnvEntry, work: Work) -> ApiResult<WorkResult> {
    let opts = relay.options();
    if env.idle >= opts.offline_after {
        return Err(ApiErr::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiErrorKind::Offline,
            format!(
                "environment {} on {} is offline (last seen {} s ago); is rcd running there?",
                env.record.name,
                env.record.machine,
                env.idle.as_secs()
            ),
        ));
    }
    let id = secret::work_id();
    let store = relay.store();
    let env_id = env.record.id.as_str();
    store
        .push_work(
            env_id,
            WorkItem {
                id: id.clone(),
                work,
            },
            opts.work_timeout,
        )
        .await?;
    tracing::debug!(env = %env_id, work = %id, "work queued");
    let result = tokio::select! {
        r = store.wait_result(env_id, &id, opts.work_timeout) => r?,
        _ = relay.stopping() => {
            store.cancel_work(env_id, &id).await?;
            return Err(ApiErr::shutting_down());
        }
    };
    match result {
        Some(r) => Ok(r),
        None => {
            store.cancel_work(env_id, &id).await?;
            Err(ApiErr::new(
                StatusCode::GATEWAY_TIMEOUT,
                ApiErrorKind::Timeout,
                format!(
                    "environment {} did not answer within {} s",
                    env.record.name,
                    wire_secs(opts.work_timeout)
                ),
            ))
        }
    }
}

fn unexpected(result: &WorkResult) -> ApiErr {
    tracing::warn!("the daemon answered with the wrong kind of result: {result:?}");
    ApiErr::new(
        StatusCode::BAD_GATEWAY,
        ApiErrorKind::Internal,
        "the environment answered with the wrong kind of result; are rcd and rc-relay the same \
         version?",
    )
}

pub(crate) async fn create(
    State(relay): State<Relay>,
    ApiPath(env): ApiPath<String>,
    device: DeviceCaller,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let entry = auth::owned_environment(&relay, device.owner(), &env).await?;
    let req = body::create_session(&body)?;
    let work = Work::Create {
        name: req.name,
        spawn: req.spawn,
        sandbox: req.sandbox,
        program: req.program,
        // `body::create_session` refused a body with one.
        command: None,
    };
    match run_work(&relay, &entry, work).await? {
        WorkResult::Created { session } => {
            let store = relay.store();
            store
                .set_session(&env, &session.name, Some(session.clone()))
                .await?;
            tracing::info!(env = %env, session = %session.name, device = %device.id(), "session created");
            Ok((StatusCode::CREATED, Json(session)).into_response())
        }
        WorkResult::Failed { error } => Err(failure(error)),
        other => Err(unexpected(&other)),
    }
}

#[derive(Debug, Deserialize)]
struct StopQuery {
    #[serde(default)]
    force: bool,
}

pub(crate) async fn stop(
    State(relay): State<Relay>,
    ApiPath((env, name)): ApiPath<(String, String)>,
    device: DeviceCaller,
    uri: Uri,
) -> ApiResult<Response> {
    let entry = auth::owned_environment(&relay, device.owner(), &env).await?;
    let name = session_name(&name)?.to_string();
    let q: StopQuery = query(&uri)?;
    let work = Work::Stop {
        name: name.clone(),
        force: q.force,
    };
    match run_work(&relay, &entry, work).await? {
        WorkResult::Stopped { report } => {
            relay.store().set_session(&env, &name, None).await?;
            tracing::info!(env = %env, session = %name, device = %device.id(), "session stopped");
            Ok(Json(report).into_response())
        }
        WorkResult::Failed { error } => Err(failure(error)),
        other => Err(unexpected(&other)),
    }
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    #[serde(default)]
    uncommitted: bool,
    #[serde(default)]
    stat: bool,
}

/// `GET .../sessions/{name}/diff?uncommitted=&stat=`: what a worktree
/// session changed.
pub(crate) async fn diff(
    State(relay): State<Relay>,
    ApiPath((env, name)): ApiPath<(String, String)>,
    device: DeviceCaller,
    uri: Uri,
) -> ApiResult<Response> {
    let entry = auth::owned_environment(&relay, device.owner(), &env).await?;
    let name = session_name(&name)?.to_string();
    let q: DiffQuery = query(&uri)?;
    let work = Work::Diff {
        name,
        uncommitted: q.uncommitted,
        stat: q.stat,
    };
    match run_work(&relay, &entry, work).await? {
        WorkResult::Diff { diff } => Ok(Json(diff).into_response()),
        WorkResult::Failed { error } => Err(failure(error)),
        other => Err(unexpected(&other)),
    }
}

/// `POST .../sessions/{name}/answer`: the first answer to a session's
/// permission request wins; the daemon refuses the others.
pub(crate) async fn answer(
    State(relay): State<Relay>,
    ApiPath((env, name)): ApiPath<(String, String)>,
    device: DeviceCaller,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let entry = auth::owned_environment(&relay, device.owner(), &env).await?;
    let name = session_name(&name)?.to_string();
    let req = body::answer(&body)?;
    let decision = req.decision;
    let work = Work::Answer {
        name: name.clone(),
        id: req.id,
        decision: req.decision,
        message: req.message,
    };
    match run_work(&relay, &entry, work).await? {
        WorkResult::Done => {
            tracing::info!(env = %env, session = %name, device = %device.id(), decision = decision.as_str(), "permission request answered");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        WorkResult::Failed { error } => Err(failure(error)),
        other => Err(unexpected(&other)),
    }
}

pub(crate) async fn attach_ticket(
    State(relay): State<Relay>,
    ApiPath((env, name)): ApiPath<(String, String)>,
    device: DeviceCaller,
) -> ApiResult<Json<AttachTicket>> {
    auth::owned_environment(&relay, device.owner(), &env).await?;
    let name = session_name(&name)?;
    let ticket = secret::generate(TICKET_PREFIX);
    let ttl = relay.options().ticket_ttl;
    relay
        .store()
        .put_grant(
            secret::hash(ticket.expose()),
            Grant::Ticket {
                owner: device.owner().to_string(),
                env,
                session: name.to_string(),
                device: device.id().to_string(),
            },
            ttl,
        )
        .await?;
    Ok(Json(AttachTicket {
        ticket,
        expires_in_secs: wire_secs(ttl),
    }))
}

pub(crate) async fn attach(
    State(relay): State<Relay>,
    ApiPath((env, name)): ApiPath<(String, String)>,
    caller: AttachCaller,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    auth::owned_environment(&relay, &caller.owner, &env).await?;
    let name = session_name(&name)?.to_string();
    let ws = ws.map_err(|_| ApiErr::bad_request("this route takes a WebSocket upgrade"))?;
    if relay.is_shutting_down() {
        return Err(ApiErr::shutting_down());
    }
    caller.use_ticket(&relay).await?;
    let AttachCaller { owner, device, .. } = caller;
    let key = RouteKey { env, session: name };
    Ok(ws
        .read_buffer_size(WS_READ_BUFFER)
        .max_message_size(MAX_BODY)
        .max_frame_size(MAX_BODY)
        .on_upgrade(move |socket| ws::run_attach(relay, socket, key, owner, device)))
}

pub(crate) async fn devices(
    State(relay): State<Relay>,
    device: DeviceCaller,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    let list = relay
        .store()
        .list_tokens(TokenKind::Device)
        .await?
        .into_iter()
        .filter(|t| t.owner.as_deref() == Some(device.owner()))
        .map(|t| t.info())
        .collect();
    Ok(Json(list))
}

pub(crate) async fn revoke_device(
    State(relay): State<Relay>,
    ApiPath(id): ApiPath<String>,
    device: DeviceCaller,
) -> ApiResult<StatusCode> {
    let target = relay
        .store()
        .get_token(TokenKind::Device, &id)
        .await?
        .filter(|t| t.owner.as_deref() == Some(device.owner()))
        .ok_or_else(|| ApiErr::not_found("no such device"))?;
    relay.revoke(TokenKind::Device, &target.id).await?;
    tracing::info!(device = %target.id, by = %device.id(), "device token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /push/key`: the VAPID public key, a browser's
/// `applicationServerKey`.
pub(crate) async fn push_key(
    State(relay): State<Relay>,
    _: DeviceCaller,
) -> ApiResult<Json<PushKey>> {
    let key = relay.pusher().key(relay.store().as_ref()).await?;
    Ok(Json(PushKey {
        key: key.public().to_string(),
    }))
}

/// `GET /push/subscription`: whether this device token has one.
pub(crate) async fn push_status(
    State(relay): State<Relay>,
    device: DeviceCaller,
) -> ApiResult<Json<PushStatus>> {
    let sub = relay.store().get_subscription(device.id()).await?;
    let outcome = relay.pusher().outcome(device.id());
    Ok(Json(PushStatus {
        subscribed: sub.is_some(),
        with_message: sub.as_ref().is_some_and(|s| s.with_message),
        endpoint: sub.map(|s| s.endpoint),
        delivered: outcome.delivered,
        failed: outcome.failed,
        last_error: outcome.last_error,
    }))
}

/// `PUT /push/subscription`: this device token's subscription, replacing
/// the one it had.
pub(crate) async fn push_subscribe(
    State(relay): State<Relay>,
    device: DeviceCaller,
    RawBody(body): RawBody,
) -> ApiResult<StatusCode> {
    let req = body::push_subscription(&body)?;
    let origin = crate::push::origin(&req.endpoint);
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let with_message = req.with_message;
    let sub = PushSubscription {
        device: device.id().to_string(),
        endpoint: req.endpoint,
        p256dh: req.keys.p256dh,
        auth: req.keys.auth,
        with_message: req.with_message,
        created,
    };
    if !relay.store().put_subscription(sub).await? {
        // Revoked since it was looked up.
        return Err(ApiErr::unauthorized());
    }
    // Made now rather than at the first push.
    relay.pusher().key(relay.store().as_ref()).await?;
    tracing::info!(device = %device.id(), %origin, with_message, "push subscription saved");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /push/subscription`: this device receives no more pushes.
pub(crate) async fn push_unsubscribe(
    State(relay): State<Relay>,
    device: DeviceCaller,
) -> ApiResult<StatusCode> {
    if relay.store().remove_subscription(device.id(), None).await? {
        tracing::info!(device = %device.id(), "push subscription removed");
    }
    Ok(StatusCode::NO_CONTENT)
}
