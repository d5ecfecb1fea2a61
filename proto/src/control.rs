//! Messages of the control socket between `rcctl` and `rcd`.
//!
//! A connection starts with [`ClientHello`] from the client and
//! [`ServerHello`] from the daemon. When the protocol versions differ the
//! daemon closes the connection after its hello and the client reports the
//! mismatch. After the hello, the client sends one [`Request`] and reads one
//! [`Response`], as often as it likes. [`Request::Attach`] turns the
//! connection into an attach stream: [`AttachInput`] up, [`AttachOutput`]
//! down, until either side ends it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// First frame from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    /// [`crate::PROTOCOL_VERSION`] of the client.
    pub protocol: u32,
    /// Package version of the client, for messages.
    pub version: String,
}

impl ClientHello {
    /// The hello of this build.
    pub fn current() -> Self {
        Self {
            protocol: crate::PROTOCOL_VERSION,
            version: crate::PACKAGE_VERSION.to_string(),
        }
    }
}

/// First frame from the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHello {
    /// [`crate::PROTOCOL_VERSION`] of the daemon.
    pub protocol: u32,
    /// Package version of the daemon.
    pub version: String,
    /// Largest frame the daemon accepts.
    pub max_frame: u32,
}

impl ServerHello {
    /// The hello of this build.
    pub fn current() -> Self {
        Self {
            protocol: crate::PROTOCOL_VERSION,
            version: crate::PACKAGE_VERSION.to_string(),
            max_frame: u32::try_from(crate::MAX_FRAME_LEN).unwrap_or(u32::MAX),
        }
    }
}

/// Where a new session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpawnMode {
    /// In the daemon's shared directory.
    SameDir,
    /// In a git worktree of its own, on branch `rcd/<name>`.
    Worktree,
}

impl SpawnMode {
    /// The other mode.
    pub fn toggled(self) -> Self {
        match self {
            Self::SameDir => Self::Worktree,
            Self::Worktree => Self::SameDir,
        }
    }
    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SameDir => "same-dir",
            Self::Worktree => "worktree",
        }
    }
}

impl fmt::Display for SpawnMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SpawnMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "same-dir" => Ok(Self::SameDir),
            "worktree" => Ok(Self::Worktree),
            other => Err(format!(
                "unknown spawn mode {other:?}: use same-dir or worktree"
            )),
        }
    }
}

/// A request from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Daemon status.
    Status,
    /// All sessions.
    List,
    /// Start a session.
    New {
        name: Option<String>,
        spawn: Option<SpawnMode>,
        /// Sandboxed (`true`) or not (`false`); `None`: as the daemon's
        /// `--sandbox` says. Absent in older clients.
        #[serde(default)]
        sandbox: Option<bool>,
        /// The configured program to run (`[programs]`), by name; `None`:
        /// the default program. Absent in older clients.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program: Option<String>,
        /// A command line to run instead of a program, word by word. Only
        /// the control socket may ask for one: a device through the relay
        /// names a program, never a command.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<Vec<String>>,
    },
    /// Stop a session and apply the worktree rule.
    Stop { name: String, force: bool },
    /// Type text into a session.
    Send {
        name: String,
        text: String,
        enter: bool,
    },
    /// The current screen as plain text.
    Screen { name: String },
    /// A page of the transcript, starting at line `from` (1-based).
    Transcript {
        name: String,
        from: u64,
        max_lines: u32,
    },
    /// Turn this connection into a raw attach stream.
    Attach { name: String, rows: u16, cols: u16 },
    /// Worktrees that were kept.
    Worktrees,
    /// Remove kept worktrees that have become clean.
    Prune,
    /// Change a setting at run time.
    Set(Setting),
    /// Stop everything and exit, as on SIGTERM.
    Shutdown,
    /// What a worktree session changed against its base (`uncommitted`:
    /// against its `HEAD`); `stat`: the counts of each file, no lines.
    Diff {
        name: String,
        #[serde(default)]
        uncommitted: bool,
        #[serde(default)]
        stat: bool,
    },
    /// Answer the session's pending permission request: `id` names it
    /// (`None`: whichever waits). `message` goes to the agent with a
    /// denial.
    Answer {
        name: String,
        #[serde(default)]
        id: Option<String>,
        decision: Decision,
        #[serde(default)]
        message: Option<String>,
    },
}

impl Request {
    /// The request's `op`, for logs: requests hold typed text (`send`),
    /// which no log may show, so they are logged by name, not by `Debug`.
    pub fn op(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::List => "list",
            Request::New { .. } => "new",
            Request::Stop { .. } => "stop",
            Request::Send { .. } => "send",
            Request::Screen { .. } => "screen",
            Request::Transcript { .. } => "transcript",
            Request::Attach { .. } => "attach",
            Request::Worktrees => "worktrees",
            Request::Prune => "prune",
            Request::Set(_) => "set",
            Request::Shutdown => "shutdown",
            Request::Answer { .. } => "answer",
            Request::Diff { .. } => "diff",
        }
    }
}

/// A run-time setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "setting", content = "value", rename_all = "kebab-case")]
pub enum Setting {
    /// Spawn mode of the next sessions.
    Spawn(SpawnMode),
    /// Most sessions running at once.
    Capacity(u32),
}

/// The daemon's answer to one [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub enum Response {
    /// Done, nothing to report.
    Ok,
    Status(StatusInfo),
    Sessions {
        sessions: Vec<SessionInfo>,
    },
    Session(SessionInfo),
    Stopped(StopReport),
    Screen(ScreenText),
    Transcript(TranscriptPage),
    Worktrees {
        worktrees: Vec<KeptWorktree>,
    },
    Pruned(PruneReport),
    Diff(crate::diff::Diff),
    /// The attach stream starts: `redraw` repaints the current screen.
    Attached {
        #[serde(with = "b64")]
        redraw: Vec<u8>,
    },
    Error(ErrorReply),
}

/// What went wrong, for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    UnknownSession,
    AtCapacity,
    BadName,
    NameTaken,
    NotARepository,
    BadRequest,
    ShuttingDown,
    /// No permission request waits in the session (or that one was
    /// answered already: the first answer wins).
    NothingToAnswer,
    /// Every control connection slot is taken: try again shortly.
    Busy,
    Internal,
}

/// An error and a message that says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for ErrorReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ErrorReply {}

/// What `rcctl status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusInfo {
    pub version: String,
    pub protocol: u32,
    pub pid: u32,
    /// Environment name (`--name`).
    pub name: String,
    /// Host name of the machine.
    pub machine: String,
    /// The shared directory.
    pub dir: String,
    pub spawn: SpawnMode,
    pub capacity: u32,
    /// Running sessions.
    pub used: u32,
    /// Running sessions this rcd adopted at its start from the keeper
    /// (left running by an earlier rcd).
    #[serde(default)]
    pub adopted: u32,
    pub uptime_secs: u64,
    pub socket: String,
    pub state_dir: String,
    /// The relay link; `None` when local only (`--no-relay`).
    #[serde(default)]
    pub link: Option<LinkStatus>,
    /// Notifications to `--notify-url`; `None` when there is none.
    #[serde(default)]
    pub notify: Option<NotifyStatus>,
    /// The programs sessions may run (`[programs]`), by name; empty from
    /// older daemons.
    #[serde(default)]
    pub programs: Vec<String>,
    /// The program of `rcctl new` without `--program`.
    #[serde(default)]
    pub default_program: Option<String>,
}

/// How the notifications to `--notify-url` went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyStatus {
    pub url: String,
    /// Delivered (answered 2xx), perhaps after retries.
    pub delivered: u64,
    /// Given up on after every retry; each is in the log too.
    pub failed: u64,
    /// Why the last one that failed did.
    pub last_error: Option<String>,
}

/// State of the daemon's link to its relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStatus {
    /// The relay's URL.
    pub relay: String,
    /// Whether the relay runs inside this rcd.
    pub embedded: bool,
    pub state: LinkState,
    pub environment_id: Option<String>,
    /// Seconds in this state.
    pub since_secs: u64,
    /// Seconds until the next attempt, while reconnecting.
    pub next_retry_secs: Option<u64>,
    /// Awake seconds left before rcd gives up and exits, while
    /// reconnecting.
    pub outage_left_secs: Option<u64>,
    pub last_error: Option<String>,
}

/// Phase of the daemon's link to its relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkState {
    /// The first attempt to register.
    Connecting,
    Connected,
    /// Lost; retrying with backoff.
    Reconnecting,
    /// The relay refused the enrollment token; no more attempts.
    Refused,
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Refused => "refused",
        })
    }
}

/// State of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionState {
    Running,
    /// Stop requested; waiting for the process group to end.
    Stopping,
    /// The program ended by itself.
    Exited,
    /// Left running by an rcd that was killed; not attached to a
    /// terminal any more. `rcctl stop` ends it and applies the worktree
    /// rule.
    Orphaned,
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Exited => "exited",
            Self::Orphaned => "orphaned",
        })
    }
}

/// One session, as `rcctl list --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub name: String,
    pub state: SessionState,
    /// Absolute working directory.
    pub dir: String,
    pub spawn: SpawnMode,
    pub branch: Option<String>,
    pub pid: Option<u32>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub command: Vec<String>,
    /// The configured program it runs (`[programs]`); `None` for a
    /// command line given over the control socket (`rcctl new -- CMD`),
    /// for orphans and from older daemons.
    #[serde(default)]
    pub program: Option<String>,
    /// Exit status once exited (signal deaths are 128 + signal).
    pub exit_code: Option<i32>,
    /// What happened to the worktree when the session exited by itself.
    pub worktree: Option<WorktreeOutcome>,
    /// RFC 3339, UTC: when the program last wrote to its terminal.
    #[serde(default)]
    pub last_activity: Option<String>,
    /// Whether the session runs confined by rcd's sandbox (`--sandbox`).
    /// Absent from older daemons, which have no sandbox.
    #[serde(default)]
    pub sandboxed: bool,
    /// Whether the session waits for a person, and why; `None` when it
    /// does not (and from older daemons).
    #[serde(default)]
    pub attention: Option<Box<Attention>>,
    /// A worktree session's change against its base, as last counted;
    /// `None` for other sessions (and until it was counted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<crate::diff::ChangeStat>,
}

/// Why a session waits for a person: set by its terminal (a bell, a
/// desktop notification), by its program ending, or by a coding agent's
/// hook; cleared when anyone types into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attention {
    pub kind: AttentionKind,
    /// What the program said, if anything (a notification's text, the
    /// exit code).
    pub message: String,
    /// RFC 3339, UTC: since when. It names the episode: it stays while
    /// the attention changes kind and is new once it was cleared.
    pub since: String,
    /// The coding agent's permission request that waits for an answer
    /// (`kind` is `permission`): `rcctl answer` and the web UI's card
    /// answer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<PermissionRequest>,
    /// Set when someone was typing into the session as it began to wait
    /// (or when it changed last): shown, but nobody is notified.
    #[serde(default, skip_serializing_if = "is_false")]
    pub quiet: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A coding agent asks whether it may use a tool (Claude Code's
/// `PermissionRequest` hook). The first answer wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionRequest {
    /// Names the request in [`Request::Answer`].
    pub id: String,
    /// The agent that asks: `claude`.
    pub agent: String,
    /// Its tool: `Bash`, `Edit`, `Write`, …
    pub tool: String,
    /// What the tool would do, for a person: the command line, the file
    /// path (at most [`PermissionRequest::MAX_DETAIL`] bytes).
    pub detail: String,
    /// The tool's input as the agent gave it; `null` when it was larger
    /// than [`PermissionRequest::MAX_INPUT`] bytes of JSON.
    pub input: serde_json::Value,
}

impl PermissionRequest {
    /// Longest `detail`, in bytes.
    pub const MAX_DETAIL: usize = 4096;
    /// Largest `input`, in bytes of JSON.
    pub const MAX_INPUT: usize = 16 * 1024;
}

/// An answer to a [`PermissionRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// What a session waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttentionKind {
    /// BEL outside an escape sequence.
    Bell,
    /// A desktop notification sequence (OSC 9, OSC 777, OSC 99).
    Notification,
    /// A coding agent asks permission for a tool.
    Permission,
    /// A coding agent asks a question.
    Question,
    /// A coding agent finished its turn.
    Finished,
    /// The program ended.
    Exited,
}

impl AttentionKind {
    /// The name `rcctl` and the web UI show.
    pub fn as_str(self) -> &'static str {
        match self {
            AttentionKind::Bell => "bell",
            AttentionKind::Notification => "notification",
            AttentionKind::Permission => "permission",
            AttentionKind::Question => "question",
            AttentionKind::Finished => "finished",
            AttentionKind::Exited => "exited",
        }
    }
}

/// What was done with a worktree on a removal path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeOutcome {
    pub path: String,
    pub branch: String,
    pub action: WorktreeAction,
    /// Why it was kept.
    pub reason: Option<String>,
    /// Where a forced removal saved the work.
    pub saved_ref: Option<String>,
}

/// What a removal path did with a worktree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorktreeAction {
    /// Clean: removed with its branch.
    Removed,
    /// It holds work (or git failed): worktree and branch stay.
    Kept,
    /// Forced: the work was saved under `refs/rcd/saved/NAME`, then removed.
    Saved,
}

impl fmt::Display for WorktreeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Removed => "removed",
            Self::Kept => "kept",
            Self::Saved => "saved",
        })
    }
}

/// The result of a stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopReport {
    pub name: String,
    pub exit_code: Option<i32>,
    pub worktree: Option<WorktreeOutcome>,
}

/// The screen as plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenText {
    /// Rows, trailing blanks trimmed.
    pub rows: Vec<String>,
    pub cols: u16,
    /// (row, column), 0-based.
    pub cursor: (u16, u16),
    pub title: String,
}

/// A page of transcript lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptPage {
    /// Line number of `lines[0]` (1-based): the line asked for, or a
    /// later one when the lines before it were dropped by the daemon's
    /// cap (`lines[0]` then says how many, at the last one's number).
    pub from: u64,
    pub lines: Vec<String>,
    /// Lines in the transcript so far.
    pub total: u64,
}

/// A worktree that was kept because it holds work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptWorktree {
    pub name: String,
    pub path: String,
    pub branch: String,
    pub base: String,
    pub uncommitted: Vec<String>,
    pub untracked: Vec<String>,
    /// Ignored files that are not build output (e.g. `.env`).
    #[serde(default)]
    pub ignored: Vec<String>,
    /// Commits not on its base.
    pub ahead: usize,
}

/// The result of `rcctl prune`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub removed: Vec<WorktreeOutcome>,
    pub kept: Vec<WorktreeOutcome>,
}

/// Client to daemon on an attach stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum AttachInput {
    /// Raw bytes for the session's terminal.
    Data {
        #[serde(with = "b64")]
        bytes: Vec<u8>,
    },
    /// The attached terminal changed size.
    Resize { rows: u16, cols: u16 },
    /// Leave; the session keeps running.
    Detach,
}

/// Daemon to client on an attach stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "kebab-case")]
pub enum AttachOutput {
    /// Raw bytes the session wrote.
    Data {
        #[serde(with = "b64")]
        bytes: Vec<u8>,
    },
    /// The client fell behind; this repaints the whole screen.
    Redraw {
        #[serde(with = "b64")]
        bytes: Vec<u8>,
    },
    /// The session's program ended.
    Exited { code: Option<i32> },
    /// The daemon confirms the detach.
    Detached,
}

/// Byte strings as base64 in JSON.
pub(crate) mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_the_request_as_the_wire_does() {
        for req in [
            Request::Status,
            Request::Send {
                name: "a".into(),
                text: "hidden".into(),
                enter: true,
            },
            Request::Set(Setting::Capacity(2)),
            Request::Transcript {
                name: "a".into(),
                from: 1,
                max_lines: 2,
            },
            Request::Shutdown,
        ] {
            let wire = serde_json::to_value(&req).unwrap();
            assert_eq!(wire["op"], req.op());
        }
    }

    fn roundtrip<T>(v: &T)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug,
    {
        let bytes = crate::frame::encode(v).unwrap();
        let back: T = crate::frame::decode(&bytes[4..]).unwrap();
        assert_eq!(&back, v);
    }

    #[test]
    fn every_request_roundtrips() {
        let reqs = vec![
            Request::Status,
            Request::List,
            Request::New {
                name: Some("a".into()),
                spawn: Some(SpawnMode::Worktree),
                sandbox: Some(true),
                program: Some("claude".into()),
                command: None,
            },
            Request::New {
                name: None,
                spawn: None,
                sandbox: None,
                program: None,
                command: Some(vec!["sh".into(), "-c".into(), "echo hi".into()]),
            },
            Request::Stop {
                name: "a".into(),
                force: true,
            },
            Request::Send {
                name: "a".into(),
                text: "ls\u{1b}".into(),
                enter: false,
            },
            Request::Screen { name: "a".into() },
            Request::Transcript {
                name: "a".into(),
                from: 10,
                max_lines: 100,
            },
            Request::Attach {
                name: "a".into(),
                rows: 24,
                cols: 80,
            },
            Request::Worktrees,
            Request::Prune,
            Request::Set(Setting::Spawn(SpawnMode::SameDir)),
            Request::Set(Setting::Capacity(3)),
            Request::Shutdown,
        ];
        for r in &reqs {
            roundtrip(r);
        }
    }

    #[test]
    fn responses_roundtrip() {
        let info = SessionInfo {
            id: "s1".into(),
            name: "a".into(),
            state: SessionState::Running,
            dir: "/tmp".into(),
            spawn: SpawnMode::Worktree,
            branch: Some("rcd/a".into()),
            pid: Some(42),
            created_at: "2026-01-01T00:00:00Z".into(),
            command: vec!["bash".into()],
            program: Some("shell".into()),
            exit_code: None,
            worktree: None,
            sandboxed: true,
            last_activity: None,
            attention: Some(Box::new(Attention {
                kind: AttentionKind::Permission,
                message: "Bash: cargo test".into(),
                since: "2026-01-01T00:00:01Z".into(),
                request: Some(PermissionRequest {
                    id: "r1".into(),
                    agent: "claude".into(),
                    tool: "Bash".into(),
                    detail: "cargo test".into(),
                    input: serde_json::json!({"command": "cargo test"}),
                }),
                quiet: false,
            })),
            change: None,
        };
        roundtrip(&Response::Session(info.clone()));
        roundtrip(&Response::Sessions {
            sessions: vec![info],
        });
        roundtrip(&Response::Attached {
            redraw: vec![0, 255, 27, 10],
        });
        roundtrip(&Response::Error(ErrorReply {
            kind: ErrorKind::AtCapacity,
            message: "at capacity (2/2)".into(),
        }));
        roundtrip(&AttachInput::Data {
            bytes: (0..=255).collect(),
        });
        roundtrip(&AttachOutput::Exited { code: Some(130) });
    }

    #[test]
    fn frames_without_the_sandbox_fields_still_parse() {
        let req: Request =
            serde_json::from_str(r#"{"op":"new","name":null,"spawn":null}"#).unwrap();
        assert_eq!(
            req,
            Request::New {
                name: None,
                spawn: None,
                sandbox: None,
                program: None,
                command: None,
            }
        );
        let info: SessionInfo = serde_json::from_str(
            r#"{"id":"s","name":"a","state":"running","dir":"/","spawn":"same-dir",
                "branch":null,"pid":1,"created_at":"","command":[],"exit_code":null,
                "worktree":null}"#,
        )
        .unwrap();
        assert!(!info.sandboxed);
    }

    #[test]
    fn session_info_json_has_the_documented_fields() {
        let info = SessionInfo {
            id: "s1".into(),
            name: "a".into(),
            state: SessionState::Exited,
            dir: "/tmp".into(),
            spawn: SpawnMode::SameDir,
            branch: None,
            pid: None,
            created_at: "2026-01-01T00:00:00Z".into(),
            command: vec![],
            program: None,
            exit_code: Some(0),
            worktree: None,
            sandboxed: false,
            attention: None,
            last_activity: None,
            change: None,
        };
        let v = serde_json::to_value(&info).unwrap();
        for key in [
            "id",
            "name",
            "state",
            "dir",
            "spawn",
            "branch",
            "pid",
            "created_at",
            "sandboxed",
            "program",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["spawn"], "same-dir");
        assert_eq!(v["state"], "exited");
        assert!(v["branch"].is_null());
    }
}
