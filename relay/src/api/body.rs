//! Every JSON request body the relay reads, decoded and checked in one
//! place: the handlers call these after authenticating the caller, and
//! the fuzz targets (`fuzz/`) feed them arbitrary bytes. An `Ok` is a
//! body the relay acts on; everything else is the 4xx it answers.

use super::ApiErr;
use axum::http::StatusCode;
use rcd_proto::SessionName;
use rcd_proto::relay::{
    AnswerRequest, ApiErrorKind, CreateSession, Heartbeat, PairRequest, RELAY_PROTOCOL_VERSION,
    RegisterRequest, WorkResult,
};
use serde::de::DeserializeOwned;

/// Longest environment name, host name and version string accepted.
pub const MAX_LABEL: usize = 128;
/// Longest directory accepted.
pub const MAX_DIR: usize = 4096;
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
pub fn create_session(body: &[u8]) -> Result<CreateSession, ApiErr> {
    let req: CreateSession = decode(body)?;
    if let Some(name) = &req.name {
        session_name(name)?;
    }
    Ok(req)
}
