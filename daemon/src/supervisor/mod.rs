//! The supervisor: the set of sessions, capacity, spawn mode, and the
//! worktree rule on every path that ends a session.
//!
//! - [`create`]: the one way a session starts (capacity, names, the
//!   worktree, the sandbox, the program);
//! - [`retire`]: the one way a session ends, whatever ended it (its
//!   program, `rcctl stop`, a shutdown, an orphan's stop);
//! - [`worktrees`]: kept worktrees and prune;
//! - [`host`]: the seam to git and the PTYs; [`env`]: the sessions'
//!   environment. The sandbox's policy and checks are
//!   [`crate::sandbox::Gate`].
//!
//! Locking rule: all mutable state sits in one [`Inner`] behind one
//! `std::sync::Mutex`, taken once per unit of work and never held across
//! an `.await`. Slow work (git, spawning, waiting for a process group)
//! happens between two short critical sections; a name being created is
//! held in `pending`, so capacity and name checks stay exact meanwhile.
//! The only other lock here, `state_write`, orders writes of the state
//! file and is never taken while `inner` is held by the same caller
//! across a write.

pub mod create;
pub mod env;
pub mod host;
pub mod retire;
pub mod worktrees;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::session::{Session, Status};
use crate::state;
pub use create::NewSession;
use host::{Host, SystemHost};
use rcd_proto::{
    ErrorKind, ErrorReply, SessionInfo, SessionName, SessionState, SpawnMode, StatusInfo,
    TranscriptPage,
};
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;
use tokio::sync::watch;

pub(crate) fn err(kind: ErrorKind, message: impl Into<String>) -> ErrorReply {
    ErrorReply {
        kind,
        message: message.into(),
    }
}

#[derive(Debug)]
struct Inner {
    sessions: BTreeMap<SessionName, Arc<Session>>,
    /// Names being created; they count against capacity.
    pending: HashSet<SessionName>,
    /// Names whose kept worktree prune is working on.
    pruning: HashSet<String>,
    /// Sessions left running by an earlier rcd.
    orphans: Vec<state::SessionRecord>,
    capacity: u32,
    spawn: SpawnMode,
    accepting: bool,
}

impl Inner {
    fn running(&self) -> usize {
        self.sessions
            .values()
            .filter(|s| s.status() == Status::Running)
            .count()
            + self.pending.len()
    }

    /// Names whose worktree someone uses or works on right now: sessions
    /// being created, listed sessions (`all`: in any state, else only
    /// running ones), orphans, and prune's own.
    fn busy_names(&self, all: bool) -> HashSet<String> {
        self.pending
            .iter()
            .map(|n| n.to_string())
            .chain(
                self.sessions
                    .values()
                    .filter(|s| all || s.status() == Status::Running)
                    .map(|s| s.name.to_string()),
            )
            .chain(self.orphans.iter().map(|o| o.name.clone()))
            .chain(self.pruning.iter().cloned())
            .collect()
    }
}

/// Owns every session of the daemon.
#[derive(Debug)]
pub struct Supervisor {
    cfg: Config,
    inner: Mutex<Inner>,
    env: Vec<(String, String)>,
    started: Instant,
    /// The repository root, once known (at start, or when the user ran
    /// `git init` later).
    repo: OnceLock<PathBuf>,
    worktree_root: PathBuf,
    transcripts: PathBuf,
    changed: watch::Sender<u64>,
    state_write: Mutex<()>,
    host: Arc<dyn Host>,
    sandbox: crate::sandbox::Gate,
    /// How the notifications to `--notify-url` went (`crate::webhook`).
    notify_status: Mutex<Option<rcd_proto::control::NotifyStatus>>,
}

impl Supervisor {
    /// A supervisor with no sessions. `repo` is the checked repository
    /// root when `--dir` is one; `launcher` starts the programs.
    pub fn new(
        cfg: Config,
        repo: Option<PathBuf>,
        launcher: crate::session::Launcher,
    ) -> Arc<Self> {
        Self::with_seams(
            cfg,
            repo,
            Arc::new(SystemHost { launcher }),
            Arc::new(crate::sandbox::SystemKernel::from_env()),
        )
    }

    /// [`Supervisor::new`] with its effects and the sandbox's view of the
    /// kernel given (the seams of tests).
    pub fn with_seams(
        cfg: Config,
        repo: Option<PathBuf>,
        host: Arc<dyn Host>,
        kernel: Arc<dyn crate::sandbox::Kernel>,
    ) -> Arc<Self> {
        let known = OnceLock::new();
        if let Some(r) = repo {
            let _ = known.set(r);
        }
        Arc::new(Self {
            inner: Mutex::new(Inner {
                sessions: BTreeMap::new(),
                pending: HashSet::new(),
                pruning: HashSet::new(),
                orphans: Vec::new(),
                capacity: cfg.capacity,
                spawn: cfg.spawn,
                accepting: true,
            }),
            env: env::session_env(&cfg),
            started: Instant::now(),
            repo: known,
            worktree_root: cfg.state_dir.join("worktrees"),
            transcripts: cfg.state_dir.join("transcripts"),
            changed: watch::channel(0).0,
            state_write: Mutex::new(()),
            sandbox: crate::sandbox::Gate::new(
                cfg.sandbox.clone(),
                &cfg.state_dir,
                &cfg.socket,
                kernel,
            ),
            host,
            notify_status: Mutex::new(None),
            cfg,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The sandbox policy and its checks.
    pub fn sandbox(&self) -> &crate::sandbox::Gate {
        &self.sandbox
    }

    /// Ticks on every change of sessions or settings.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Tells subscribers and rewrites the state file.
    fn touch(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        self.persist();
    }

    /// Records how the notifications went, for `rcctl status`.
    pub fn set_notify_status(&self, status: rcd_proto::control::NotifyStatus) {
        *self.notify_status.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
    }

    /// Sessions that wait for a person (their attention is set).
    pub fn needing_you(&self) -> usize {
        self.lock()
            .sessions
            .values()
            .filter(|s| s.attention().is_some())
            .count()
    }

    /// Running sessions, capacity and spawn mode.
    pub fn counts(&self) -> (usize, u32, SpawnMode) {
        let inner = self.lock();
        (inner.running(), inner.capacity, inner.spawn)
    }

    /// The repository root, checked now if it was not at start (the user
    /// may have run `git init` since).
    fn repo_root(&self) -> Result<PathBuf, ErrorReply> {
        if let Some(r) = self.repo.get() {
            return Ok(r.clone());
        }
        let root = self
            .host
            .repository(&self.cfg.dir)
            .map_err(|e| err(ErrorKind::NotARepository, e.to_string()))?;
        Ok(self.repo.get_or_init(|| root).clone())
    }

    /// `rcctl status`, less the relay link (which the link reports).
    pub fn status(&self) -> StatusInfo {
        let inner = self.lock();
        StatusInfo {
            version: rcd_proto::PACKAGE_VERSION.to_string(),
            protocol: rcd_proto::PROTOCOL_VERSION,
            pid: std::process::id(),
            name: self.cfg.name.clone(),
            machine: self.cfg.machine.clone(),
            dir: self.cfg.dir.display().to_string(),
            spawn: inner.spawn,
            capacity: inner.capacity,
            used: u32::try_from(inner.running()).unwrap_or(u32::MAX),
            adopted: u32::try_from(
                inner
                    .sessions
                    .values()
                    .filter(|s| s.adopted && s.status() == Status::Running)
                    .count(),
            )
            .unwrap_or(u32::MAX),
            uptime_secs: self.started.elapsed().as_secs(),
            socket: self.cfg.socket.display().to_string(),
            state_dir: self.cfg.state_dir.display().to_string(),
            link: None,
            programs: self.cfg.programs.names(),
            default_program: Some(self.cfg.programs.default_program().name.clone()),
            notify: self
                .notify_status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Lists sessions adopted from the keeper (running, or ended while no
    /// rcd ran) and watches them as it watches its own: one that ended
    /// goes through the worktree rule at once.
    pub fn adopt(self: &Arc<Self>, sessions: Vec<Arc<Session>>) {
        {
            let mut inner = self.lock();
            for s in &sessions {
                s.report_changes(self.changed.clone());
                inner.sessions.insert(s.name.clone(), s.clone());
            }
        }
        for s in sessions {
            let me = Arc::clone(self);
            tokio::spawn(async move { me.monitor(s).await });
        }
        self.touch();
    }

    /// rcd is going away and leaves every session to the keeper: no new
    /// ones, none ended, the state file kept for the next rcd.
    pub fn detach(&self) {
        let sessions = {
            let mut inner = self.lock();
            inner.accepting = false;
            inner.sessions.values().cloned().collect::<Vec<_>>()
        };
        for s in &sessions {
            s.detach();
        }
        self.persist();
    }

    /// Takes over the records of sessions an earlier rcd left running.
    pub fn adopt_orphans(&self, orphans: Vec<state::SessionRecord>) {
        self.lock().orphans = orphans;
        self.persist();
    }

    /// `rcctl list`.
    pub fn list(&self) -> Vec<SessionInfo> {
        let (sessions, orphans): (Vec<Arc<Session>>, Vec<state::SessionRecord>) = {
            let inner = self.lock();
            (
                inner.sessions.values().cloned().collect(),
                inner.orphans.clone(),
            )
        };
        let mut out: Vec<SessionInfo> = sessions.iter().map(|s| s.info()).collect();
        out.extend(orphans.iter().map(|o| self.orphan_info(o)));
        out
    }

    fn orphan_info(&self, o: &state::SessionRecord) -> SessionInfo {
        SessionInfo {
            id: o.id.clone(),
            name: o.name.clone(),
            state: SessionState::Orphaned,
            dir: o.dir.display().to_string(),
            spawn: if o.worktree.is_some() {
                SpawnMode::Worktree
            } else {
                SpawnMode::SameDir
            },
            branch: o.worktree.as_ref().map(|w| w.branch.clone()),
            pid: Some(o.pid),
            created_at: String::new(),
            command: Vec::new(),
            program: None,
            exit_code: None,
            worktree: None,
            last_activity: None,
            sandboxed: self.sandbox.orphan_is_sandboxed(&o.name, &o.id),
            attention: None,
            change: None,
        }
    }

    /// The listed sessions (not orphans).
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        self.lock().sessions.values().cloned().collect()
    }

    /// Looks a session up by name.
    pub fn get(&self, name: &str) -> Result<Arc<Session>, ErrorReply> {
        let inner = self.lock();
        SessionName::new(name)
            .ok()
            .and_then(|n| inner.sessions.get(&n).cloned())
            .ok_or_else(|| {
                err(
                    ErrorKind::UnknownSession,
                    format!("no session named {name:?}: `rcctl list` shows the sessions"),
                )
            })
    }

    /// `rcctl set spawn`.
    pub fn set_spawn(&self, mode: SpawnMode) -> Result<(), ErrorReply> {
        if mode == SpawnMode::Worktree {
            self.repo_root()?;
        }
        self.lock().spawn = mode;
        tracing::info!(spawn = %mode, "spawn mode changed");
        self.touch();
        Ok(())
    }

    /// The `w` key: toggles the spawn mode.
    pub fn toggle_spawn(&self) -> Result<SpawnMode, ErrorReply> {
        let next = self.lock().spawn.toggled();
        self.set_spawn(next)?;
        Ok(next)
    }

    /// `rcctl set capacity`.
    pub fn set_capacity(&self, capacity: u32) -> Result<(), ErrorReply> {
        if !(1..=crate::config::MAX_CAPACITY).contains(&capacity) {
            return Err(err(
                ErrorKind::BadRequest,
                format!(
                    "capacity {capacity} is out of range: give 1 to {}",
                    crate::config::MAX_CAPACITY
                ),
            ));
        }
        self.lock().capacity = capacity;
        tracing::info!(capacity, "capacity changed");
        self.touch();
        Ok(())
    }

    /// A page of a session's transcript; for a session that is gone, of
    /// the newest transcript file of that name.
    pub fn transcript(
        &self,
        name: &str,
        from: u64,
        max: u32,
    ) -> Result<TranscriptPage, ErrorReply> {
        let internal = |e: std::io::Error| {
            err(
                ErrorKind::Internal,
                format!("cannot read the transcript: {e}"),
            )
        };
        let unknown = match self.get(name) {
            Ok(s) => return s.transcript(from, max).map_err(internal),
            Err(unknown) => unknown,
        };
        let Ok(valid) = SessionName::new(name) else {
            return Err(unknown);
        };
        let Some(path) = self.newest_transcript(&valid) else {
            return Err(unknown);
        };
        let (from, lines, total) =
            crate::term::Transcript::page_of_file(&path, from, max).map_err(internal)?;
        Ok(TranscriptPage { from, lines, total })
    }

    /// The newest transcript file of a session of this name.
    fn newest_transcript(&self, name: &SessionName) -> Option<PathBuf> {
        let prefix = format!("{name}-");
        std::fs::read_dir(&self.transcripts)
            .ok()?
            .flatten()
            .filter(|e| {
                e.file_name().to_str().is_some_and(|f| {
                    f.strip_prefix(&prefix)
                        .and_then(|rest| rest.strip_suffix(".log"))
                        .is_some_and(|id| !id.contains(['-', '~']))
                })
            })
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
            .map(|e| e.path())
    }

    /// Writes the state file. Failures are logged: the sessions matter
    /// more than the record of them.
    pub fn persist(&self) {
        let _guard = self.state_write.lock().unwrap_or_else(|e| e.into_inner());
        let (sessions, orphans) = {
            let inner = self.lock();
            if !inner.accepting && inner.sessions.is_empty() && inner.orphans.is_empty() {
                return;
            }
            let sessions = inner
                .sessions
                .values()
                // An exited session is recorded only while its worktree
                // waits for the rule; its pid is no longer its own.
                .filter(|s| {
                    s.status() == Status::Running
                        || (s.worktree.is_some() && s.worktree_outcome().is_none())
                })
                .map(|s| s.record())
                .collect();
            (sessions, inner.orphans.clone())
        };
        let st = state::State {
            daemon_pid: std::process::id(),
            socket: self.cfg.socket.clone(),
            dir: self.cfg.dir.clone(),
            sessions,
            orphans,
        };
        if let Err(e) = state::store(&self.cfg.state_dir, &st) {
            tracing::error!(
                "cannot write the state file {}: {e}; the previous one is kept, so a restart \
                 after rcd is killed may not know of the latest sessions (free space in or \
                 make writable {})",
                self.cfg.state_dir.join(state::STATE_FILE).display(),
                self.cfg.state_dir.display()
            );
        }
    }

    /// Removes the state file after a clean shutdown.
    fn clear_state(&self) {
        let _guard = self.state_write.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = state::clear(&self.cfg.state_dir) {
            tracing::warn!("cannot remove the state file: {e}");
        }
    }
}
