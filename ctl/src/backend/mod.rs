//! Where the verbs go: the daemon's control socket on this machine
//! ([`local`]), or a relay to the machines paired with this device
//! ([`relay`]). Each verb (`cmd/`) asks its [`Backend`] the same question
//! whichever transport it is; a verb that only the machine itself can
//! answer gets [`not_through_relay`], the one refusal of that kind.
//!
//! Both backends are lazy: nothing is resolved or opened before the first
//! question, so a refusal comes before any set-up error, and one
//! connection serves every question of the process.

pub mod local;
pub mod relay;

use anyhow::Result;
use rcd_proto::relay::EnvironmentView;
use rcd_proto::{ScreenText, SessionInfo, SpawnMode, StatusInfo, StopReport, TranscriptPage};

/// Lines asked for per transcript page, on either transport: a page must
/// fit in one WebSocket message ([`rcd_net::MAX_WS_MESSAGE`], 1 MiB) with
/// room for long lines.
pub const TRANSCRIPT_PAGE: u32 = 250;

/// The refusal of a verb that works only on the machine itself.
pub fn not_through_relay(verb: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{verb} is not available through a relay: run it on the machine itself, without \
         --relay (and with RCD_RELAY unset)"
    )
}

/// What `status` learns.
#[derive(Debug)]
pub enum Status {
    /// The local daemon's own account.
    Daemon(Box<StatusInfo>),
    /// The relay answers and accepts the token; its environments.
    Relay {
        url: String,
        environments: Vec<EnvironmentView>,
    },
}

/// What `list` learns.
#[derive(Debug)]
pub enum Listing {
    /// The local daemon's sessions.
    Daemon(Vec<SessionInfo>),
    /// Every environment on the relay, each with its sessions.
    Relay {
        url: String,
        environments: Vec<EnvironmentView>,
    },
}

/// A session to start.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    /// Through a relay: the environment, by name or id.
    pub env: Option<String>,
    pub name: Option<String>,
    pub spawn: Option<SpawnMode>,
    /// `Some` overrides the daemon's `--sandbox`.
    pub sandbox: Option<bool>,
    /// The machine's program to run, by name; `None`: its default.
    pub program: Option<String>,
    /// A command line instead (only on the machine itself).
    pub command: Option<Vec<String>>,
}

/// A session that started, and where (through a relay).
#[derive(Debug)]
pub struct Created {
    pub session: SessionInfo,
    pub env: Option<EnvironmentView>,
}

/// A local socket or a relay.
#[derive(Debug)]
pub enum Backend {
    Local(local::Local),
    Relay(relay::RelayBackend),
}

impl Backend {
    /// For verbs only the machine itself answers (worktrees, prune, set,
    /// shutdown): the local backend, or the refusal.
    pub fn local(&mut self, verb: &str) -> Result<&mut local::Local> {
        match self {
            Backend::Local(l) => Ok(l),
            Backend::Relay(_) => Err(not_through_relay(verb)),
        }
    }

    /// For `pair` and `devices`, which only a relay answers; `usage` is
    /// the verb as typed with a relay.
    pub fn relay(&mut self, usage: &str) -> Result<&mut relay::RelayBackend> {
        match self {
            Backend::Relay(r) => Ok(r),
            Backend::Local(_) => Err(anyhow::anyhow!(
                "{} needs a relay: rcctl --relay URL {usage} (or rcctl -R {usage} while one \
                 relay is kept)",
                usage.split_whitespace().next().unwrap_or(usage)
            )),
        }
    }

    pub fn status(&mut self) -> Result<Status> {
        match self {
            Backend::Local(l) => l.status().map(|s| Status::Daemon(Box::new(s))),
            Backend::Relay(r) => r.status(),
        }
    }

    pub fn list(&mut self) -> Result<Listing> {
        match self {
            Backend::Local(l) => l.list().map(Listing::Daemon),
            Backend::Relay(r) => r.list(),
        }
    }

    /// Starts a session; a far side that ignored the sandbox choice is an
    /// error (each backend says what to do about it).
    pub fn create(&mut self, req: NewSession) -> Result<Created> {
        match self {
            Backend::Local(l) => l.create(req).map(|session| Created { session, env: None }),
            Backend::Relay(r) => r.create(req),
        }
    }

    pub fn stop(&mut self, name: &str, force: bool) -> Result<StopReport> {
        match self {
            Backend::Local(l) => l.stop(name, force),
            Backend::Relay(r) => r.stop(name, force),
        }
    }

    /// What a worktree session changed.
    pub fn diff(
        &mut self,
        name: &str,
        uncommitted: bool,
        stat: bool,
    ) -> Result<rcd_proto::diff::Diff> {
        match self {
            Backend::Local(l) => l.diff(name, uncommitted, stat),
            Backend::Relay(r) => r.diff(name, uncommitted, stat),
        }
    }

    /// Answers a session's permission request; the first answer wins.
    pub fn answer(&mut self, name: &str, req: rcd_proto::relay::AnswerRequest) -> Result<()> {
        match self {
            Backend::Local(l) => l.answer(name, req),
            Backend::Relay(r) => r.answer(name, &req),
        }
    }

    /// Types `text` (then Enter when `enter`), acknowledged by the daemon.
    pub fn send(&mut self, name: &str, text: String, enter: bool) -> Result<()> {
        match self {
            Backend::Local(l) => l.send(name, text, enter),
            Backend::Relay(r) => r.send(name, text, enter),
        }
    }

    pub fn screen(&mut self, name: &str) -> Result<ScreenText> {
        match self {
            Backend::Local(l) => l.screen(name),
            Backend::Relay(r) => r.screen(name),
        }
    }

    /// Up to [`TRANSCRIPT_PAGE`] lines from line `from`; the connection
    /// stays open for the next page.
    pub fn transcript(&mut self, name: &str, from: u64) -> Result<TranscriptPage> {
        match self {
            Backend::Local(l) => l.transcript(name, from, TRANSCRIPT_PAGE),
            Backend::Relay(r) => r.transcript(name, from, TRANSCRIPT_PAGE),
        }
    }

    /// Attaches this terminal until detach or exit; returns the closing
    /// message. `resize` (relay only) makes the session follow this
    /// terminal's size; a local attach always does.
    pub fn attach(&mut self, name: &str, resize: bool) -> Result<String> {
        match self {
            Backend::Local(l) => l.attach(name),
            Backend::Relay(r) => r.attach(name, resize),
        }
    }

    /// The verb's error as the message for people: the daemon's own
    /// words locally, one line through a relay.
    pub fn describe(&self, e: &anyhow::Error) -> String {
        match self {
            Backend::Local(_) => local::message(e),
            Backend::Relay(_) => relay::one_line(&format!("{e:#}")),
        }
    }

    /// Closes what is still open.
    pub fn close(self) {
        if let Backend::Relay(r) = self {
            r.close();
        }
    }
}
