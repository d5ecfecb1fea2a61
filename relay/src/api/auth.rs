//! Who is calling: the bearer secret of a request, looked up by its hash,
//! as extractors a handler names among its arguments. Every refusal is the
//! same 401; every environment the caller may not see is the same 404 as
//! one that does not exist.
//!
//! Extractors run in argument order and the body ([`super::RawBody`]) is
//! always last, so a stranger's request is refused before its body is
//! read as JSON.
//!
//! | extractor | admits |
//! | --- | --- |
//! | [`Enrolled`] | an enrollment token |
//! | [`DeviceCaller`] | a device token (its enrollment token live) |
//! | [`EnvCaller`] | an environment credential for the `{env}` of the path |
//! | [`SessionCaller`] | a session credential for the `{env}` and `{name}` of the path |
//! | [`AttachCaller`] | a device token, or else an attach ticket for the path's session |

use super::{ApiErr, ApiPath, ApiResult, query};
use crate::secret::{self, DEVICE_PREFIX, ENROLLMENT_PREFIX, TICKET_PREFIX};
use crate::state::Relay;
use crate::store::{EnvEntry, Grant, TokenKind, TokenRecord};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Deserialize;

/// The secret of `Authorization: Bearer <secret>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then_some(secret)
}

/// Whether the enrollment token `owner` exists and is not revoked.
pub(crate) async fn owner_active(relay: &Relay, owner: &str) -> ApiResult<bool> {
    Ok(relay
        .store()
        .get_token(TokenKind::Enrollment, owner)
        .await?
        .is_some_and(|t| !t.revoked))
}

/// A live long-lived token of `kind` with secret `secret`.
async fn token(relay: &Relay, kind: TokenKind, secret: &str) -> ApiResult<TokenRecord> {
    let prefix = match kind {
        TokenKind::Enrollment => ENROLLMENT_PREFIX,
        TokenKind::Device => DEVICE_PREFIX,
    };
    if !secret.starts_with(prefix) {
        return Err(ApiErr::unauthorized());
    }
    let t = relay
        .store()
        .find_token(kind, &secret::hash(secret))
        .await?
        .filter(|t| !t.revoked)
        .ok_or_else(ApiErr::unauthorized)?;
    if kind == TokenKind::Device && !owner_active(relay, t.owner_id()).await? {
        return Err(ApiErr::unauthorized());
    }
    Ok(t)
}

/// The bearer token of `kind` of the request.
async fn bearer_token(
    relay: &Relay,
    headers: &HeaderMap,
    kind: TokenKind,
) -> ApiResult<TokenRecord> {
    let secret = bearer(headers).ok_or_else(ApiErr::unauthorized)?;
    token(relay, kind, secret).await
}

/// A device token by id, if it and its owner are live.
async fn device_by_id(relay: &Relay, id: &str) -> ApiResult<TokenRecord> {
    let t = relay
        .store()
        .get_token(TokenKind::Device, id)
        .await?
        .filter(|t| !t.revoked)
        .ok_or_else(ApiErr::unauthorized)?;
    if !owner_active(relay, t.owner_id()).await? {
        return Err(ApiErr::unauthorized());
    }
    Ok(t)
}

/// What the caller's short-lived credential admits (unexpired, owner not
/// revoked).
async fn grant(relay: &Relay, headers: &HeaderMap) -> ApiResult<Grant> {
    let secret = bearer(headers).ok_or_else(ApiErr::unauthorized)?;
    let g = relay
        .store()
        .get_grant(&secret::hash(secret))
        .await?
        .ok_or_else(ApiErr::unauthorized)?;
    if !owner_active(relay, g.owner()).await? {
        return Err(ApiErr::unauthorized());
    }
    Ok(g)
}

/// The environment `env` if it is live (not forgotten) and `owner`'s;
/// otherwise the same 404 either way.
pub(crate) async fn owned_environment(
    relay: &Relay,
    owner: &str,
    env: &str,
) -> ApiResult<EnvEntry> {
    relay
        .store()
        .get_environment(env)
        .await?
        .filter(|e| e.record.owner == owner && e.idle < relay.options().forget_after)
        .ok_or_else(ApiErr::no_environment)
}

/// The `{env}` of a route (other parameters are ignored).
#[derive(Debug, Deserialize)]
struct EnvParam {
    env: String,
}

/// The `{env}` and `{name}` of a session's route.
#[derive(Debug, Deserialize)]
struct SessionParams {
    env: String,
    name: String,
}

/// Path parameters of `parts`, with [`ApiPath`]'s 400.
async fn path<T: serde::de::DeserializeOwned + Send>(
    parts: &mut Parts,
    relay: &Relay,
) -> ApiResult<T> {
    let ApiPath(t) = ApiPath::<T>::from_request_parts(parts, relay).await?;
    Ok(t)
}

/// A caller with an enrollment token (`Authorization: Bearer rce_…`).
#[derive(Debug)]
pub(crate) struct Enrolled(pub TokenRecord);

impl FromRequestParts<Relay> for Enrolled {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, relay: &Relay) -> ApiResult<Self> {
        bearer_token(relay, &parts.headers, TokenKind::Enrollment)
            .await
            .map(Enrolled)
    }
}

/// A caller with a device token whose enrollment token is live.
#[derive(Debug)]
pub(crate) struct DeviceCaller(pub TokenRecord);

impl DeviceCaller {
    /// The enrollment token the device was paired under.
    pub fn owner(&self) -> &str {
        self.0.owner_id()
    }

    /// The device token's id.
    pub fn id(&self) -> &str {
        &self.0.id
    }
}

impl FromRequestParts<Relay> for DeviceCaller {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, relay: &Relay) -> ApiResult<Self> {
        bearer_token(relay, &parts.headers, TokenKind::Device)
            .await
            .map(DeviceCaller)
    }
}

/// A daemon with the environment credential of the `{env}` in the path.
/// Another environment's credential gets 404, any other secret 401.
#[derive(Debug)]
pub(crate) struct EnvCaller {
    /// The enrollment token that registered the environment.
    pub owner: String,
    pub env: String,
}

impl FromRequestParts<Relay> for EnvCaller {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, relay: &Relay) -> ApiResult<Self> {
        let EnvParam { env } = path(parts, relay).await?;
        match grant(relay, &parts.headers).await? {
            Grant::Environment { owner, env: e } if e == env => Ok(EnvCaller { owner, env }),
            Grant::Environment { .. } => Err(ApiErr::no_environment()),
            _ => Err(ApiErr::unauthorized()),
        }
    }
}

/// A daemon with the session credential of the `{env}` and `{name}` in
/// the path. A credential for another session gets 404, any other secret
/// 401.
#[derive(Debug)]
pub(crate) struct SessionCaller {
    /// The enrollment token that registered the environment.
    pub owner: String,
}

impl FromRequestParts<Relay> for SessionCaller {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, relay: &Relay) -> ApiResult<Self> {
        let SessionParams { env, name } = path(parts, relay).await?;
        match grant(relay, &parts.headers).await? {
            Grant::Session {
                owner,
                env: e,
                session,
            } if e == env && session == name => Ok(SessionCaller { owner }),
            // A credential for another session admits nothing here.
            Grant::Session { .. } => Err(ApiErr::not_found("no such session")),
            _ => Err(ApiErr::unauthorized()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct AttachQuery {
    ticket: Option<String>,
}

/// A device attaching to the session in the path: by its device token in
/// the header or, without one, by a one-time ticket in the query
/// (`?ticket=`, for browsers, which cannot set headers on a WebSocket).
/// The ticket is only looked at here; the handler uses it up with
/// [`AttachCaller::use_ticket`] once everything else is in order.
#[derive(Debug)]
pub(crate) struct AttachCaller {
    /// The enrollment token the device was paired under.
    pub owner: String,
    /// The device token's id.
    pub device: String,
    /// The hash of the ticket that admitted it, if one did.
    ticket: Option<String>,
}

impl AttachCaller {
    /// Uses up the ticket that admitted the caller, if one did: 401 if it
    /// was used (or expired) since it was looked at.
    pub async fn use_ticket(&self, relay: &Relay) -> ApiResult<()> {
        if let Some(hash) = &self.ticket {
            if relay.store().take_grant(hash).await?.is_none() {
                return Err(ApiErr::unauthorized());
            }
        }
        Ok(())
    }
}

impl FromRequestParts<Relay> for AttachCaller {
    type Rejection = ApiErr;

    async fn from_request_parts(parts: &mut Parts, relay: &Relay) -> ApiResult<Self> {
        let q: AttachQuery = query(&parts.uri).unwrap_or(AttachQuery { ticket: None });
        let ticket = match (bearer(&parts.headers), q.ticket) {
            (Some(_), _) | (None, None) => {
                let d = bearer_token(relay, &parts.headers, TokenKind::Device).await?;
                return Ok(AttachCaller {
                    owner: d.owner_id().to_string(),
                    device: d.id,
                    ticket: None,
                });
            }
            (None, Some(ticket)) => ticket,
        };
        if !ticket.starts_with(TICKET_PREFIX) {
            return Err(ApiErr::unauthorized());
        }
        let SessionParams { env, name } = path(parts, relay).await?;
        let hash = secret::hash(&ticket);
        match relay.store().get_grant(&hash).await? {
            Some(Grant::Ticket {
                owner,
                env: e,
                session,
                device,
            }) => {
                device_by_id(relay, &device).await?;
                if e != env || session != name {
                    return Err(ApiErr::no_environment());
                }
                Ok(AttachCaller {
                    owner,
                    device,
                    ticket: Some(hash),
                })
            }
            _ => Err(ApiErr::unauthorized()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_is_read_from_the_authorization_header_only() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer rcdev_x"));
        assert_eq!(bearer(&h), Some("rcdev_x"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  rcdev_y "));
        assert_eq!(bearer(&h), Some("rcdev_y"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic rcdev_x"));
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }
}
