//! Who is calling: the bearer secret of a request, looked up by its hash.
//! Every refusal is the same 401; every environment the caller may not
//! see is the same 404 as one that does not exist.

use super::{ApiErr, ApiResult};
use crate::secret::{self, DEVICE_PREFIX, ENROLLMENT_PREFIX};
use crate::server::Relay;
use crate::store::{EnvEntry, Grant, TokenKind, TokenRecord};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

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

/// The caller's enrollment token.
pub(crate) async fn enrollment(relay: &Relay, headers: &HeaderMap) -> ApiResult<TokenRecord> {
    let secret = bearer(headers).ok_or_else(ApiErr::unauthorized)?;
    token(relay, TokenKind::Enrollment, secret).await
}

/// The caller's device token.
pub(crate) async fn device(relay: &Relay, headers: &HeaderMap) -> ApiResult<TokenRecord> {
    let secret = bearer(headers).ok_or_else(ApiErr::unauthorized)?;
    token(relay, TokenKind::Device, secret).await
}

/// A device token by id, if it and its owner are live.
pub(crate) async fn device_by_id(relay: &Relay, id: &str) -> ApiResult<TokenRecord> {
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
pub(crate) async fn grant(relay: &Relay, headers: &HeaderMap) -> ApiResult<Grant> {
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

/// The caller's environment credential, which must be for `env`: returns
/// the owner. Another environment's credential gets 404.
pub(crate) async fn environment(
    relay: &Relay,
    headers: &HeaderMap,
    env: &str,
) -> ApiResult<String> {
    match grant(relay, headers).await? {
        Grant::Environment { owner, env: e } if e == env => Ok(owner),
        Grant::Environment { .. } => Err(ApiErr::no_environment()),
        _ => Err(ApiErr::unauthorized()),
    }
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
