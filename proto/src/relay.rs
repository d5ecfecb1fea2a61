//! The relay's HTTP API (v1): request and response bodies, shared by the
//! relay, the daemon's link and remote clients. Every body is JSON; every
//! error body is an [`ApiError`]. See docs/PROTOCOL.md for the routes.

use crate::control::{ErrorReply, SessionInfo, SpawnMode, StopReport};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the relay protocol (HTTP routes, stream envelope, and the
/// device/daemon session messages). Daemons and devices send it; the relay
/// refuses other versions with 426 and a message.
///
/// 2: session messages travel as binary WebSocket messages (see
/// [`CLIENT_PREFIX`]) instead of JSON text inside a JSON string.
pub const RELAY_PROTOCOL_VERSION: u32 = 2;

/// Prefix of every route.
pub const API_PREFIX: &str = "/api/v1";

/// A bearer secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself, for an Authorization header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix: String = self.0.chars().take_while(|c| *c != '_').collect();
        write!(f, "Secret({prefix}_…)")
    }
}

/// A short-lived credential and how long it lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub token: Secret,
    pub expires_in_secs: u64,
}

/// `POST /api/v1/environments/register`, with an enrollment token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub protocol: u32,
    /// Package version of the daemon.
    pub version: String,
    /// Environment name (`rcd --name`).
    pub name: String,
    /// Host name.
    pub machine: String,
    /// The shared directory.
    pub dir: String,
    pub spawn: SpawnMode,
    pub capacity: u32,
    /// The names of the programs its sessions may run (`[programs]`),
    /// never their command lines. Absent from older daemons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// The program a session runs when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_program: Option<String>,
}

/// The answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterResponse {
    /// Stable for the same enrollment token, machine and name, so a
    /// restarted daemon (or relay) gets the same id back.
    pub environment_id: String,
    /// Environment credential: refresh, heartbeat, work, session
    /// credentials, pairing codes.
    pub credential: Credential,
    pub heartbeat_interval_secs: u64,
    /// Longest a work poll is held open.
    pub poll_timeout_secs: u64,
}

/// `POST /api/v1/environments/{env}/heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub spawn: SpawnMode,
    pub capacity: u32,
    pub used: u32,
    pub sessions: Vec<SessionInfo>,
}

/// One unit of work for a daemon, from `GET .../work`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub id: String,
    pub work: Work,
}

/// What a device asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Work {
    Create {
        name: Option<String>,
        spawn: Option<SpawnMode>,
        /// Overrides the daemon's `--sandbox` for this session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sandbox: Option<bool>,
        /// The configured program to run, by name; `None`: the default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program: Option<String>,
        /// Never honoured: a device may start only a named program. The
        /// field exists so that a daemon can see a command line that a
        /// relay let through and refuse the work, rather than start the
        /// default program as if nothing had been asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<serde_json::Value>,
    },
    Stop {
        name: String,
        force: bool,
    },
    /// What a worktree session changed (`rcctl diff`, the web UI's
    /// review).
    Diff {
        name: String,
        #[serde(default)]
        uncommitted: bool,
        #[serde(default)]
        stat: bool,
    },
    /// Answer a session's permission request (`rcctl answer`, the web
    /// UI's Allow and Deny).
    Answer {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        decision: crate::control::Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// `POST /api/v1/environments/{env}/work/{id}/result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
// One lives for one work item, between a decode and a reply: boxing the
// session would buy nothing but an allocation.
#[allow(clippy::large_enum_variant)]
pub enum WorkResult {
    Created {
        session: SessionInfo,
    },
    Stopped {
        report: StopReport,
    },
    /// Done, nothing to report (an answer was taken).
    Done,
    Diff {
        diff: crate::diff::Diff,
    },
    Failed {
        error: ErrorReply,
    },
}

/// A work item is the control request of the same meaning, carried by
/// the relay: the daemon answers both through one operations layer. The
/// one exception is the boundary between devices and the machine: a
/// `create` never carries a command line into a [`crate::Request::New`]
/// (the request's `command` is always `None`), and one that tries is
/// refused here, in the daemon, whatever the relay let through.
impl TryFrom<Work> for crate::Request {
    type Error = ErrorReply;
    fn try_from(w: Work) -> Result<Self, ErrorReply> {
        Ok(match w {
            Work::Create {
                command: Some(_), ..
            } => return Err(command_refused()),
            Work::Create {
                name,
                spawn,
                sandbox,
                program,
                command: None,
            } => crate::Request::New {
                name,
                spawn,
                sandbox,
                program,
                command: None,
            },
            Work::Stop { name, force } => crate::Request::Stop { name, force },
            Work::Diff {
                name,
                uncommitted,
                stat,
            } => crate::Request::Diff {
                name,
                uncommitted,
                stat,
            },
            Work::Answer {
                name,
                id,
                decision,
                message,
            } => crate::Request::Answer {
                name,
                id,
                decision,
                message,
            },
        })
    }
}

/// The refusal of a command line from a device: through the relay only
/// configured programs are started.
pub fn command_refused() -> ErrorReply {
    ErrorReply {
        kind: crate::ErrorKind::BadRequest,
        message: "a device may start only a program this machine names in its [programs] \
                  (give \"program\": NAME), never a command line: run arbitrary commands on \
                  the machine itself (rcctl new -- CMD ARGS)"
            .into(),
    }
}

impl From<crate::Response> for WorkResult {
    fn from(r: crate::Response) -> Self {
        match r {
            crate::Response::Session(session) => WorkResult::Created { session },
            crate::Response::Stopped(report) => WorkResult::Stopped { report },
            crate::Response::Ok => WorkResult::Done,
            crate::Response::Diff(diff) => WorkResult::Diff { diff },
            crate::Response::Error(error) => WorkResult::Failed { error },
            other => WorkResult::Failed {
                error: crate::ErrorReply {
                    kind: crate::ErrorKind::Internal,
                    message: format!("the daemon gave no answer to this work: {other:?}"),
                },
            },
        }
    }
}

/// `POST /api/v1/environments/{env}/pairing`: a one-time code for a
/// device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingCode {
    pub code: String,
    pub expires_in_secs: u64,
}

/// `POST /api/v1/pair`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRequest {
    pub code: String,
    /// Shown in the device list, e.g. "phone".
    pub label: Option<String>,
}

/// A device token, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceToken {
    pub id: String,
    pub token: Secret,
}

/// A token as listed (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub label: Option<String>,
    /// Unix seconds.
    pub created: u64,
    pub revoked: bool,
}

/// An environment as a device sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentView {
    pub id: String,
    pub name: String,
    pub machine: String,
    pub dir: String,
    pub spawn: SpawnMode,
    pub capacity: u32,
    pub used: u32,
    pub version: String,
    /// Heartbeat recent and link up.
    pub online: bool,
    /// Seconds since the last heartbeat.
    pub last_seen_secs: u64,
    pub sessions: Vec<SessionInfo>,
    /// The programs a new session may run, by name (the New dialog's
    /// choice); empty for an older daemon, which runs its one command.
    #[serde(default)]
    pub programs: Vec<String>,
    /// The program of a session created without one.
    #[serde(default)]
    pub default_program: Option<String>,
}

/// `POST /api/v1/environments/{env}/sessions` from a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSession {
    pub name: Option<String>,
    pub spawn: Option<SpawnMode>,
    /// Overrides the daemon's `--sandbox` for this session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<bool>,
    /// The environment's program to run, by name (`EnvironmentView::
    /// programs`); `None`: its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Refused whenever present (400 `bad-request`): a device names a
    /// program, never a command line. Kept in the type so that a body that
    /// tries is answered with that refusal instead of being read as a
    /// request for the default program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<serde_json::Value>,
}

/// `POST .../sessions/{name}/answer`: the answer to the session's
/// permission request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerRequest {
    /// The request answered (`PermissionRequest::id`); absent: whichever
    /// waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub decision: crate::control::Decision,
    /// Said to the agent with a denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /push/key`: the relay's VAPID public key (RFC 8292), the
/// uncompressed P-256 point in base64url without padding: a browser's
/// `applicationServerKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushKey {
    pub key: String,
}

/// `PUT /push/subscription`: the browser's `PushSubscription` as its
/// `toJSON()` gives it, and whether its pushes may carry the program's
/// words. Other fields (`expirationTime`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscriptionRequest {
    /// The push service's URL for this browser.
    pub endpoint: String,
    pub keys: PushSubscriptionKeys,
    /// Whether the message text goes into pushes (off unless asked).
    #[serde(default)]
    pub with_message: bool,
}

/// The keys of a [`PushSubscriptionRequest`] (RFC 8291), base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscriptionKeys {
    /// The browser's P-256 public key, uncompressed (65 bytes).
    pub p256dh: String,
    /// The authentication secret (16 bytes).
    pub auth: String,
}

/// `GET /push/subscription`: whether this device token has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushStatus {
    pub subscribed: bool,
    #[serde(default)]
    pub with_message: bool,
    /// The subscription's endpoint, so a browser can tell its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Pushes to this device that its push service took, and that could
    /// not be delivered (after their tries), since the relay started.
    #[serde(default)]
    pub delivered: u64,
    #[serde(default)]
    pub failed: u64,
    /// Why the last failed one failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What a push carries, encrypted for the browser (RFC 8291): one
/// session began to wait for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    /// The environment's id.
    pub env: String,
    /// Its machine's name.
    pub machine: String,
    /// The session's name.
    pub session: String,
    pub kind: crate::control::AttentionKind,
    /// The episode ([`crate::control::Attention::since`]).
    pub since: String,
    /// What the program said; only for subscriptions that opted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `POST .../attach-ticket`: a one-time, short-lived ticket that admits one
/// attach WebSocket (browsers cannot set headers on WebSockets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachTicket {
    pub ticket: Secret,
    pub expires_in_secs: u64,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub kind: ApiErrorKind,
    pub message: String,
}

/// What went wrong, for clients that act on it: the relay's own kinds and
/// a daemon's [`crate::ErrorKind`] passed through, kebab-case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiErrorKind {
    /// A missing, unknown, expired or revoked credential (401).
    Unauthorized,
    NotFound,
    BadRequest,
    /// The relay protocol versions differ.
    Version,
    /// The machine shows no sign of life (503).
    Offline,
    /// The machine did not answer in time (504).
    Timeout,
    TooLarge,
    /// The relay is stopping (503).
    ShuttingDown,
    /// The relay's shared store (Redis) does not answer (503); try again.
    StoreUnavailable,
    Internal,
    UnknownSession,
    AtCapacity,
    /// Too many failed attempts (429); try again later.
    TooManyAttempts,
    BadName,
    NameTaken,
    NotARepository,
    /// No permission request waits (or that one was answered already).
    NothingToAnswer,
    /// An answer that was not the relay's JSON (a proxy's error page).
    Http,
    /// A kind this build does not know (a newer relay).
    #[serde(other)]
    Other,
}

impl From<crate::ErrorKind> for ApiErrorKind {
    fn from(k: crate::ErrorKind) -> Self {
        use crate::ErrorKind as K;
        match k {
            K::UnknownSession => Self::UnknownSession,
            K::AtCapacity => Self::AtCapacity,
            K::BadName => Self::BadName,
            K::NameTaken => Self::NameTaken,
            K::NotARepository => Self::NotARepository,
            K::BadRequest => Self::BadRequest,
            K::ShuttingDown => Self::ShuttingDown,
            K::NothingToAnswer => Self::NothingToAnswer,
            // A refusal of a local connection; it never crosses the relay.
            K::Busy | K::Internal => Self::Internal,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// Bytes in front of a session message in a binary message of a session
/// link: the `client` it is for or from, a big-endian `u64`. On an attach
/// socket a binary message is the session message alone.
///
/// Session messages ([`crate::stream::DeviceMsg`],
/// [`crate::stream::DaemonMsg`]) travel as binary WebSocket messages and
/// everything else (the envelopes below) as text, so a message is encoded
/// once, by its sender, and the relay routes it by `client` without
/// reading it.
pub const CLIENT_PREFIX: usize = 8;

/// A binary message of a session link: `client`, then the JSON of `msg`
/// (one encoding, straight into the buffer that is sent).
pub fn link_message<T: Serialize>(client: u64, msg: &T) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(&client.to_be_bytes());
    serde_json::to_writer(&mut buf, msg).expect("session messages serialize");
    buf
}

/// A binary message of a session link carrying `payload` for or from
/// `client`.
pub fn link_payload(client: u64, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(CLIENT_PREFIX + payload.len());
    buf.extend_from_slice(&client.to_be_bytes());
    buf.extend_from_slice(payload);
    buf
}

/// The client and the payload of a session link's binary message;
/// `None` when it is too short to name a client.
pub fn split_link_message(msg: &[u8]) -> Option<(u64, &[u8])> {
    let (client, payload) = msg.split_first_chunk::<CLIENT_PREFIX>()?;
    Some((u64::from_be_bytes(*client), payload))
}

/// Envelope on a session link (daemon ↔ relay), sent as text. Session
/// messages are not in it: they are binary messages, prefixed with their
/// client ([`link_message`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum LinkFrame {
    /// Relay → daemon: a device attached; `client` numbers it on this link.
    Open {
        client: u64,
        device: String,
    },
    /// Relay → daemon: the device went away. Daemon → relay: drop it.
    Close {
        client: u64,
    },
    /// Either way, to keep the link alive and detect half-open sockets.
    Ping {
        n: u64,
    },
    Pong {
        n: u64,
    },
}

/// Envelope on an attach socket (relay ↔ device), sent as text. Session
/// messages to or from the daemon are binary messages, each the JSON of
/// one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum DeviceFrame {
    /// Relay → device: whether the daemon's session link is up.
    Link {
        up: bool,
    },
    /// Either way; the relay answers pings itself.
    Ping {
        n: u64,
    },
    Pong {
        n: u64,
    },
    /// Protocol 1 carried session messages as JSON text in this text
    /// frame. A device that sends one speaks protocol 1: the relay answers
    /// it in the same form with a [`crate::stream::DaemonMsg::Error`]
    /// naming both versions ([`legacy_version_error`]) and forwards
    /// nothing.
    #[serde(rename = "data")]
    LegacyData {
        data: String,
    },
}

/// What the relay answers a protocol-1 device's `data` frame with: the
/// text frame that device reads as the daemon's `error`.
pub fn legacy_version_error() -> String {
    let message = format!(
        "this device speaks relay protocol 1, but rc-relay {} speaks {RELAY_PROTOCOL_VERSION}: \
         reload the page, or use an rcctl of the relay's version",
        crate::PACKAGE_VERSION
    );
    let data = serde_json::to_string(&crate::stream::DaemonMsg::Error { message })
        .expect("session messages serialize");
    serde_json::to_string(&DeviceFrame::LegacyData { data }).expect("envelopes serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let s = Secret("rcdev_abcdefsecret".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("abcdef"), "{shown}");
        assert!(shown.contains("rcdev"));
    }

    #[test]
    fn envelopes_roundtrip() {
        let f = LinkFrame::Open {
            client: 3,
            device: "dev_1".into(),
        };
        let s = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<LinkFrame>(&s).unwrap(), f);
        let w = WorkItem {
            id: "w1".into(),
            work: Work::Create {
                name: Some("a".into()),
                spawn: Some(SpawnMode::Worktree),
                sandbox: None,
                program: Some("codex".into()),
                command: None,
            },
        };
        let s = serde_json::to_string(&w).unwrap();
        assert!(s.contains("\"kind\":\"create\""), "{s}");
        assert_eq!(serde_json::from_str::<WorkItem>(&s).unwrap(), w);
    }

    #[test]
    fn a_create_with_a_command_line_never_becomes_a_request() {
        let w: Work = serde_json::from_str(
            r#"{"kind":"create","name":"x","spawn":null,"command":["touch","/tmp/x"]}"#,
        )
        .unwrap();
        let e = crate::Request::try_from(w).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::BadRequest);
        assert!(e.message.contains("never a command line"), "{e}");
        // Any shape of command is refused, a string as well as a list.
        let w: Work =
            serde_json::from_str(r#"{"kind":"create","name":null,"spawn":null,"command":"sh"}"#)
                .unwrap();
        assert!(crate::Request::try_from(w).is_err());
        let w: Work =
            serde_json::from_str(r#"{"kind":"create","name":null,"spawn":null,"program":"codex"}"#)
                .unwrap();
        assert_eq!(
            crate::Request::try_from(w).unwrap(),
            crate::Request::New {
                name: None,
                spawn: None,
                sandbox: None,
                program: Some("codex".into()),
                command: None,
            }
        );
    }

    #[test]
    fn link_messages_carry_their_client_in_front() {
        let msg = crate::stream::DeviceMsg::Ping { n: 5 };
        let bin = link_message(0x0102_0304_0506_0708, &msg);
        assert_eq!(&bin[..CLIENT_PREFIX], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bin[CLIENT_PREFIX..], br#"{"t":"ping","n":5}"#);
        let (client, payload) = split_link_message(&bin).unwrap();
        assert_eq!(client, 0x0102_0304_0506_0708);
        assert_eq!(
            serde_json::from_slice::<crate::stream::DeviceMsg>(payload).unwrap(),
            msg
        );
        assert_eq!(link_payload(client, payload), bin);
        assert_eq!(split_link_message(&[0; 8]), Some((0, &[][..])));
        assert_eq!(split_link_message(&[0; 7]), None, "too short for a client");
    }

    #[test]
    fn a_protocol_1_device_is_told_both_versions_in_its_own_form() {
        let text = legacy_version_error();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["t"], "data");
        let inner: serde_json::Value = serde_json::from_str(v["data"].as_str().unwrap()).unwrap();
        assert_eq!(inner["t"], "error");
        let message = inner["message"].as_str().unwrap();
        assert!(message.contains("protocol 1"), "{message}");
        assert!(
            message.contains(&format!("speaks {RELAY_PROTOCOL_VERSION}")),
            "{message}"
        );
        // And the relay recognises that frame.
        let old = r#"{"t":"data","data":"{\"t\":\"hello\",\"protocol\":1}"}"#;
        assert!(matches!(
            serde_json::from_str::<DeviceFrame>(old).unwrap(),
            DeviceFrame::LegacyData { .. }
        ));
    }
}
