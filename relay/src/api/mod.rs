//! The HTTP API under `/api/v1` (docs/PROTOCOL.md, "Relay"): the router,
//! the error answer, and the extractors that turn every rejection into an
//! [`ApiError`] body.

mod auth;
pub mod body;
mod daemon;
mod device;

use crate::options::MAX_BODY;
use crate::state::Relay;
use crate::store::StoreError;
use crate::web;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use rcd_proto::relay::{API_PREFIX, ApiError, ApiErrorKind};
use serde::de::DeserializeOwned;

/// A non-2xx answer: its status and [`ApiError`] body.
#[derive(Debug)]
pub struct ApiErr {
    pub status: StatusCode,
    pub kind: ApiErrorKind,
    pub message: String,
    /// `Retry-After`, in seconds, on a 429 or 503: how long callers
    /// should stay away (rcd honours it, with jitter).
    pub retry_after: Option<u64>,
}

impl ApiErr {
    pub fn new(status: StatusCode, kind: ApiErrorKind, message: impl Into<String>) -> ApiErr {
        ApiErr {
            status,
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same answer with `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> ApiErr {
        self.retry_after = Some(secs);
        self
    }

    /// 401, the same for a missing, unknown, expired or revoked secret.
    pub fn unauthorized() -> ApiErr {
        ApiErr::new(
            StatusCode::UNAUTHORIZED,
            ApiErrorKind::Unauthorized,
            "missing, unknown, expired or revoked credential",
        )
    }

    /// 404 for an environment that does not exist or is not the caller's;
    /// the two are indistinguishable.
    pub fn no_environment() -> ApiErr {
        ApiErr::new(
            StatusCode::NOT_FOUND,
            ApiErrorKind::NotFound,
            "no such environment",
        )
    }

    /// 429 after too many failed attempts.
    pub fn too_many_attempts(wait: std::time::Duration) -> ApiErr {
        ApiErr::new(
            StatusCode::TOO_MANY_REQUESTS,
            ApiErrorKind::TooManyAttempts,
            format!(
                "too many wrong pairing codes; try again in {} s",
                wait.as_secs().max(1)
            ),
        )
        .retry_after(wait.as_secs().max(1))
    }

    pub fn not_found(message: impl Into<String>) -> ApiErr {
        ApiErr::new(StatusCode::NOT_FOUND, ApiErrorKind::NotFound, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiErr {
        ApiErr::new(StatusCode::BAD_REQUEST, ApiErrorKind::BadRequest, message)
    }

    /// 503 while the relay stops: no new sockets.
    pub fn shutting_down() -> ApiErr {
        ApiErr::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiErrorKind::ShuttingDown,
            "the relay is shutting down; try again when it is back",
        )
        // A restart takes about that long; refused connects after it
        // are retried within a second anyway.
        .retry_after(SHUTDOWN_RETRY_AFTER)
    }

    pub fn too_large() -> ApiErr {
        ApiErr::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ApiErrorKind::TooLarge,
            format!("the request body is over the limit of {MAX_BODY} bytes"),
        )
    }
}

impl From<StoreError> for ApiErr {
    fn from(e: StoreError) -> ApiErr {
        if let StoreError::Unavailable(why) = &e {
            tracing::warn!("{why}");
            // Never an answer from what this instance last knew: without
            // the store there is no authorisation to check.
            return ApiErr::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ApiErrorKind::StoreUnavailable,
                "the relay's store (Redis) does not answer; try again shortly",
            )
            .retry_after(STORE_RETRY_AFTER);
        }
        tracing::error!("relay store: {e}");
        ApiErr::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiErrorKind::Internal,
            "the relay's storage failed; its log says why",
        )
    }
}

/// `Retry-After` of the 503 answered while Redis does not, in seconds.
pub(crate) const STORE_RETRY_AFTER: u64 = 1;

/// `Retry-After` of the 503 a stopping relay answers, in seconds.
pub(crate) const SHUTDOWN_RETRY_AFTER: u64 = 2;

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let body = ApiError {
            kind: self.kind,
            message: self.message,
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiErr>;

/// The raw request body, within the size limit (413 `too-large` past
/// it). Decoded with [`body`] after authentication, so a stranger's
/// garbage gets 401, not a parse error.
pub(crate) struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiErr;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(RawBody(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiErr::too_large()),
            Err(r) => Err(ApiErr::bad_request(r.body_text())),
        }
    }
}

/// Path parameters, with a 400 `bad-request` rejection.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| ApiPath(t))
            .map_err(|r| ApiErr::bad_request(r.body_text()))
    }
}

/// The query string as `T` (400 `bad-request` if it does not fit).
pub(crate) fn query<T: DeserializeOwned>(uri: &Uri) -> ApiResult<T> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(t)| t)
        .map_err(|r| ApiErr::bad_request(r.body_text()))
}

async fn not_found() -> ApiErr {
    ApiErr::not_found("no such route; see docs/PROTOCOL.md")
}

async fn method_not_allowed() -> ApiErr {
    ApiErr::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ApiErrorKind::BadRequest,
        "this route does not take that method; see docs/PROTOCOL.md",
    )
}

/// Logs each request at debug level: method, path (never the query,
/// which may hold a ticket), status, time.
async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), ms = start.elapsed().as_millis() as u64, "request");
    resp
}

/// Every route of the relay.
pub(crate) fn router(relay: Relay) -> Router {
    let api = Router::new()
        // daemon
        .route("/environments/register", post(daemon::register))
        .route("/environments/{env}", delete(daemon::deregister))
        .route("/environments/{env}/refresh", post(daemon::refresh))
        .route("/environments/{env}/heartbeat", post(daemon::heartbeat))
        .route("/environments/{env}/work", get(daemon::work))
        .route("/environments/{env}/work/{id}/result", post(daemon::result))
        .route(
            "/environments/{env}/sessions/{name}/credential",
            post(daemon::session_credential),
        )
        .route(
            "/environments/{env}/sessions/{name}/link",
            get(daemon::link),
        )
        .route("/environments/{env}/pairing", post(daemon::pairing))
        // device
        .route("/pair", post(device::pair))
        .route("/environments", get(device::environments))
        .route("/environments/{env}/sessions", post(device::create))
        .route("/environments/{env}/sessions/{name}", delete(device::stop))
        .route(
            "/environments/{env}/sessions/{name}/answer",
            post(device::answer),
        )
        .route(
            "/environments/{env}/sessions/{name}/diff",
            get(device::diff),
        )
        .route(
            "/environments/{env}/sessions/{name}/attach-ticket",
            post(device::attach_ticket),
        )
        .route(
            "/environments/{env}/sessions/{name}/attach",
            get(device::attach),
        )
        .route("/devices", get(device::devices))
        .route("/devices/{id}", delete(device::revoke_device))
        .route("/push/key", get(device::push_key))
        .route(
            "/push/subscription",
            get(device::push_status)
                .put(device::push_subscribe)
                .delete(device::push_unsubscribe),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .route("/", get(web::index))
        .route("/app/{version}/{file}", get(web::asset))
        .route("/sw.js", get(web::service_worker))
        .route("/healthz", get(web::healthz))
        .nest(API_PREFIX, api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(relay)
}
