//! Every JSON request body the relay reads, decoded and checked in one
//! place: the handlers call these after authenticating the caller, and
//! the fuzz targets (`fuzz/`) feed them arbitrary bytes. An `Ok` is a
//! body the relay acts on; everything else is the 4xx it answers.

use super::ApiErr;
use axum::http::StatusCode;
use rcd_proto::SessionName;
use rcd_proto::relay::{
    AnswerRequest, ApiErrorKind, CreateSession, Heartbeat, PairRequest, PushSubscriptionKeys,
    PushSubscriptionRequest, RELAY_PROTOCOL_VERSION, RegisterRequest, WorkResult,
};
use serde::de::DeserializeOwned;

/// Longest environment name, host name and version string accepted.
pub const MAX_LABEL: usize = 128;
/// Longest directory accepted.
pub const MAX_DIR: usize = 4096;
/// Most programs an environment may list.
pub const MAX_PROGRAMS: usize = 64;
/// Longest device label accepted at pairing.
pub const MAX_DEVICE_LABEL: usize = 64;

/// Decodes a JSON body (400 `bad-request` if it is not the expected one).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiErr> {
    serde_json::from_slice(body).map_err(|e| {
        ApiErr::bad_request(format!(
            "the request body is not the expected JSON ({e}); are rcd, rcctl and rc-relay \
             the same version?"
        ))
    })
}

/// 400 `bad-name` for a session name that could not exist.
pub fn session_name(name: &str) -> Result<SessionName, ApiErr> {
    SessionName::new(name).map_err(|e| {
        ApiErr::new(
            StatusCode::BAD_REQUEST,
            ApiErrorKind::BadName,
            e.to_string(),
        )
    })
}

fn check_text(what: &str, value: &str, max: usize, allow_empty: bool) -> Result<(), ApiErr> {
    if (!allow_empty && value.is_empty()) || value.len() > max {
        return Err(ApiErr::bad_request(format!(
            "{what} must be 1 to {max} bytes long"
        )));
    }
    if !rcd_proto::name::printable(value) {
        return Err(ApiErr::bad_request(format!(
            "{what} must not contain control, bidirectional or invisible characters"
        )));
    }
    Ok(())
}

/// `POST /environments`: a daemon registering. Its protocol must be the
/// relay's (426 `version` otherwise) and its names printable and short.
pub fn register(body: &[u8]) -> Result<RegisterRequest, ApiErr> {
    let req: RegisterRequest = decode(body)?;
    if req.protocol != RELAY_PROTOCOL_VERSION {
        return Err(ApiErr::new(
            StatusCode::UPGRADE_REQUIRED,
            ApiErrorKind::Version,
            format!(
                "rcd {} speaks relay protocol {}, but this rc-relay {} speaks {}: \
                 update the older one",
                req.version,
                req.protocol,
                rcd_proto::PACKAGE_VERSION,
                RELAY_PROTOCOL_VERSION
            ),
        ));
    }
    check_text("the environment name", &req.name, MAX_LABEL, false)?;
    check_text("the machine name", &req.machine, MAX_LABEL, false)?;
    check_text("the version", &req.version, MAX_LABEL, true)?;
    check_text("the directory", &req.dir, MAX_DIR, true)?;
    if req.programs.len() > MAX_PROGRAMS {
        return Err(ApiErr::bad_request(format!(
            "at most {MAX_PROGRAMS} programs may be listed"
        )));
    }
    for p in req.programs.iter().chain(&req.default_program) {
        rcd_proto::name::check_program(p).map_err(ApiErr::bad_request)?;
    }
    Ok(req)
}

/// `POST .../heartbeat`.
pub fn heartbeat(body: &[u8]) -> Result<Heartbeat, ApiErr> {
    decode(body)
}

/// `POST .../work/{id}/result`.
pub fn work_result(body: &[u8]) -> Result<WorkResult, ApiErr> {
    decode(body)
}

/// `POST /pair`: the request, and its code as it is looked up
/// ([`crate::secret::normalize_code`]; `None` when it cannot be a code).
pub fn pair(body: &[u8]) -> Result<(PairRequest, Option<String>), ApiErr> {
    let req: PairRequest = decode(body)?;
    if let Some(label) = &req.label
        && (label.len() > MAX_DEVICE_LABEL || !rcd_proto::name::printable(label))
    {
        return Err(ApiErr::bad_request(format!(
            "the device label must be at most {MAX_DEVICE_LABEL} bytes, with no control, \
             bidirectional or invisible characters"
        )));
    }
    let code = crate::secret::normalize_code(&req.code);
    Ok((req, code))
}

/// Longest message sent to an agent with an answer.
pub const MAX_ANSWER_MESSAGE: usize = 4096;

/// `POST .../sessions/{name}/answer`.
pub fn answer(body: &[u8]) -> Result<AnswerRequest, ApiErr> {
    let req: AnswerRequest = decode(body)?;
    if req
        .message
        .as_ref()
        .is_some_and(|m| m.len() > MAX_ANSWER_MESSAGE)
    {
        return Err(ApiErr::bad_request(format!(
            "the answer's message is longer than {MAX_ANSWER_MESSAGE} bytes"
        )));
    }
    if req.id.as_ref().is_some_and(|id| id.len() > MAX_LABEL) {
        return Err(ApiErr::bad_request("the request id is too long"));
    }
    Ok(req)
}

/// `POST .../sessions`: a name, when given, must be a valid session name.
/// A command line is refused: a device may start only a program the
/// machine names (the daemon refuses one too, whatever a relay forwards).
pub fn create_session(body: &[u8]) -> Result<CreateSession, ApiErr> {
    let req: CreateSession = decode(body)?;
    if req.command.is_some() {
        return Err(ApiErr::bad_request(
            rcd_proto::relay::command_refused().message,
        ));
    }
    if let Some(name) = &req.name {
        session_name(name)?;
    }
    if let Some(p) = &req.program {
        rcd_proto::name::check_program(p).map_err(ApiErr::bad_request)?;
    }
    Ok(req)
}

/// Longest push endpoint accepted, in bytes.
pub const MAX_ENDPOINT: usize = 2048;
/// The length of a subscription's public key (an uncompressed P-256
/// point) and of its authentication secret, in bytes.
pub const P256DH_LEN: usize = 65;
pub const AUTH_LEN: usize = 16;

/// Whether `host` (of a URI: `[::1]` with its brackets) is this machine.
fn loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A base64url key of `len` bytes (padding tolerated), back in base64url
/// without padding.
fn push_key(what: &str, text: &str, len: usize) -> Result<Vec<u8>, ApiErr> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = (text.len() <= 2 * len)
        .then(|| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok())
        .flatten()
        .filter(|b| b.len() == len)
        .ok_or_else(|| ApiErr::bad_request(format!("{what} must be {len} bytes in base64url")))?;
    Ok(bytes)
}

/// `PUT /push/subscription`: the endpoint is https (or http on a loopback
/// host, for tests), without user name, at most [`MAX_ENDPOINT`] bytes;
/// `p256dh` is a P-256 point, `auth` 16 bytes. The keys come back in
/// base64url without padding.
pub fn push_subscription(body: &[u8]) -> Result<PushSubscriptionRequest, ApiErr> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let req: PushSubscriptionRequest = decode(body)?;
    let e = &req.endpoint;
    if e.is_empty() || e.len() > MAX_ENDPOINT || !e.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiErr::bad_request(format!(
            "the endpoint must be a URL of at most {MAX_ENDPOINT} bytes"
        )));
    }
    let uri: axum::http::Uri = e
        .parse()
        .map_err(|_| ApiErr::bad_request("the endpoint is not a URL"))?;
    let host = uri.host().unwrap_or("");
    let authority = uri.authority().map_or("", |a| a.as_str());
    let scheme_ok = match uri.scheme_str() {
        Some("https") => e.starts_with("https://"),
        Some("http") => e.starts_with("http://") && loopback_host(host),
        _ => false,
    };
    if !scheme_ok || host.is_empty() || authority.contains('@') {
        return Err(ApiErr::bad_request(
            "the endpoint must be an https URL (http only on a loopback host), with no user name",
        ));
    }
    let p256dh = push_key("keys.p256dh", &req.keys.p256dh, P256DH_LEN)?;
    if !crate::push::crypto::is_p256_point(&p256dh) {
        return Err(ApiErr::bad_request(
            "keys.p256dh is not an uncompressed P-256 public key",
        ));
    }
    let auth = push_key("keys.auth", &req.keys.auth, AUTH_LEN)?;
    Ok(PushSubscriptionRequest {
        endpoint: req.endpoint,
        keys: PushSubscriptionKeys {
            p256dh: URL_SAFE_NO_PAD.encode(p256dh),
            auth: URL_SAFE_NO_PAD.encode(auth),
        },
        with_message: req.with_message,
    })
}
