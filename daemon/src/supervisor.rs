//! The supervisor: the set of sessions, capacity, spawn mode, and the
//! worktree rule on every path that ends a session.
//!
//! Locking rule: all mutable state sits in one [`Inner`] behind one
//! `std::sync::Mutex`, taken once per unit of work and never held across
//! an `.await`. Slow work (git, spawning, waiting for a process group)
//! happens between two short critical sections; a name being created is
//! held in `pending`, so capacity and name checks stay exact meanwhile.

use crate::config::Config;
use crate::session::{self, Session, SessionId, Status};
use crate::worktree::{self, Outcome, Worktree};
use crate::{names, state};
use rcd_proto::{
    ErrorKind, ErrorReply, KeptWorktree, LinkStatus, PruneReport, SessionInfo, SessionName,
    SessionState, SpawnMode, StatusInfo, WorktreeAction, WorktreeOutcome,
};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::watch;

/// Environment variables of the daemon that sessions do not inherit:
/// the daemon's own settings and service-manager plumbing.
const ENV_DENYLIST: &[&str] = &[
    "RCD_SOCKET",
    "RCD_TOKEN",
    "RCD_RELAY",
    "RUST_LOG",
    "NOTIFY_SOCKET",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "JOURNAL_STREAM",
    "INVOCATION_ID",
    "TERM",
    "COLUMNS",
    "LINES",
    crate::sandbox::PRETEND_ABI_ENV,
];

fn err(kind: ErrorKind, message: impl Into<String>) -> ErrorReply {
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
    repo: Mutex<Option<PathBuf>>,
    worktree_root: PathBuf,
    transcripts: PathBuf,
    changed: watch::Sender<u64>,
    state_write: Mutex<()>,
    link_status: Mutex<Option<LinkStatus>>,
    pairing: Mutex<Option<PairingRequests>>,
    /// What the kernel offers the sandbox (a seam for tests).
    kernel: Arc<dyn crate::sandbox::Kernel>,
    /// Set once a sandboxed session may exist (this run or an orphan):
    /// from then on control clients inside a sandbox are refused.
    sandbox_used: std::sync::atomic::AtomicBool,
}

/// Requests for a pairing URL, answered by the relay link.
pub type PairingRequests =
    tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<Result<String, String>>>;

impl Supervisor {
    /// A supervisor with no sessions. `repo` is the checked repository
    /// root when `--dir` is one.
    pub fn new(cfg: Config, repo: Option<PathBuf>) -> Arc<Self> {
        Self::with_kernel(
            cfg,
            repo,
            Arc::new(crate::sandbox::SystemKernel::from_env()),
        )
    }

    /// [`Supervisor::new`] with the sandbox's view of the kernel given.
    pub fn with_kernel(
        cfg: Config,
        repo: Option<PathBuf>,
        kernel: Arc<dyn crate::sandbox::Kernel>,
    ) -> Arc<Self> {
        let env = session_env(&cfg);
        let worktree_root = cfg.state_dir.join("worktrees");
        let transcripts = cfg.state_dir.join("transcripts");
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
            env,
            started: Instant::now(),
            repo: Mutex::new(repo),
            worktree_root,
            transcripts,
            changed: watch::channel(0).0,
            state_write: Mutex::new(()),
            link_status: Mutex::new(None),
            pairing: Mutex::new(None),
            kernel,
            sandbox_used: std::sync::atomic::AtomicBool::new(cfg.sandbox.enabled),
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

    /// Where kept worktrees live.
    pub fn worktree_root(&self) -> &Path {
        &self.worktree_root
    }

    /// Ticks on every change of sessions or settings.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn touch(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        self.persist();
    }

    /// Running sessions, capacity and spawn mode.
    pub fn counts(&self) -> (usize, u32, SpawnMode) {
        let inner = self.lock();
        (inner.running(), inner.capacity, inner.spawn)
    }

    /// The repository root, checked now if it was not at start (the user
    /// may have run `git init` since).
    fn repo_root(&self) -> Result<PathBuf, ErrorReply> {
        if let Some(r) = self.repo.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(r);
        }
        let root = worktree::check_repository(&self.cfg.dir)
            .map_err(|e| err(ErrorKind::NotARepository, e.to_string()))?;
        *self.repo.lock().unwrap_or_else(|e| e.into_inner()) = Some(root.clone());
        Ok(root)
    }

    /// `rcctl status`.
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
            uptime_secs: self.started.elapsed().as_secs(),
            socket: self.cfg.socket.display().to_string(),
            state_dir: self.cfg.state_dir.display().to_string(),
            link: self
                .link_status
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Records the relay link's state for `rcctl status`.
    pub fn set_link_status(&self, status: LinkStatus) {
        *self.link_status.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
    }

    /// Lets the terminal ask the link for a pairing link.
    pub fn set_pairing(&self, tx: PairingRequests) {
        *self.pairing.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }

    /// Asks the link for a fresh pairing URL.
    pub async fn pairing_url(&self) -> Result<String, String> {
        let tx = self
            .pairing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| "no relay link (--no-relay)".to_string())?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        tx.send(reply)
            .await
            .map_err(|_| "the relay link is not running".to_string())?;
        rx.await
            .map_err(|_| "the relay link is not running".to_string())?
    }

    /// Takes over the records of sessions an earlier rcd left running.
    pub fn adopt_orphans(&self, orphans: Vec<state::SessionRecord>) {
        self.lock().orphans = orphans;
        self.persist();
    }

    /// Notes that sandboxed sessions of an earlier rcd still run, so
    /// control clients inside a sandbox are refused from the start.
    pub fn note_sandboxed_orphans(&self) {
        self.sandbox_used
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether this machine can enforce the sandbox policy; the error
    /// names what is missing.
    pub async fn check_sandbox(&self) -> Result<(), String> {
        let policy = self.cfg.sandbox.clone();
        let kernel = self.kernel.clone();
        tokio::task::spawn_blocking(move || crate::sandbox::decide(&policy, kernel.as_ref()))
            .await
            .map_err(|e| e.to_string())?
            .map(|_| ())
    }

    /// Why a control-socket client must be refused, if it must: a process
    /// inside a sandbox could otherwise start, or type into, unconfined
    /// sessions. Checked only once sandboxed sessions may exist.
    pub fn refuse_client(&self, pid: Option<u32>) -> Option<String> {
        if !self.sandbox_used.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        crate::sandbox::client_is_sandboxed(pid).then(|| {
            "refused: rcctl cannot be used from inside a sandboxed session (it could start or \
             drive unconfined sessions); run it from your own terminal"
                .to_string()
        })
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
        let mut out: Vec<SessionInfo> = sessions.iter().map(|s| info(s)).collect();
        out.extend(orphans.iter().map(|o| SessionInfo {
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
            exit_code: None,
            worktree: None,
            last_activity: None,
            // A sandboxed orphan still has its temporary directory.
            sandboxed: crate::sandbox::tmp_path(&self.cfg.state_dir, &o.name, &o.id).exists(),
        }));
        out
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

    /// Starts a session. Capacity is a hard limit; a name in use is
    /// refused, never reused.
    pub async fn create(
        self: &Arc<Self>,
        name: Option<String>,
        spawn: Option<SpawnMode>,
    ) -> Result<SessionInfo, ErrorReply> {
        self.create_with(name, spawn, None).await
    }

    /// [`Supervisor::create`], sandboxed or not as `sandbox` says (else as
    /// `--sandbox` says). A sandbox this machine cannot enforce is a
    /// refusal, checked before anything is created.
    pub async fn create_with(
        self: &Arc<Self>,
        name: Option<String>,
        spawn: Option<SpawnMode>,
        sandbox: Option<bool>,
    ) -> Result<SessionInfo, ErrorReply> {
        let sandboxed = sandbox.unwrap_or(self.cfg.sandbox.enabled);
        let plan = if sandboxed {
            self.sandbox_used
                .store(true, std::sync::atomic::Ordering::SeqCst);
            let policy = self.cfg.sandbox.clone();
            let kernel = self.kernel.clone();
            // The first check of a network namespace forks a probe.
            let plan = tokio::task::spawn_blocking(move || {
                crate::sandbox::decide(&policy, kernel.as_ref())
            })
            .await
            .map_err(|e| err(ErrorKind::Internal, e.to_string()))?
            .map_err(|m| err(ErrorKind::BadRequest, m))?;
            Some(plan)
        } else {
            None
        };
        let (name, mode) = {
            let mut inner = self.lock();
            if !inner.accepting {
                return Err(err(ErrorKind::ShuttingDown, "rcd is shutting down"));
            }
            let name = name
                .map(|n| SessionName::new(&n).map_err(|e| err(ErrorKind::BadName, e.to_string())))
                .transpose()?;
            let used = inner.running();
            if used >= inner.capacity as usize {
                return Err(err(
                    ErrorKind::AtCapacity,
                    format!(
                        "at capacity ({used}/{}): stop a session (rcctl stop NAME) or raise \
                         the limit (rcctl set capacity N)",
                        inner.capacity
                    ),
                ));
            }
            let busy = inner.busy_names(false);
            let taken = |n: &SessionName| busy.contains(n.as_str());
            let name = match name {
                Some(n) => {
                    if taken(&n) {
                        return Err(err(
                            ErrorKind::NameTaken,
                            format!(
                                "a session named {n} is already running: choose another name, \
                                 or stop it first (rcctl stop {n})"
                            ),
                        ));
                    }
                    n
                }
                None => names::generate(taken),
            };
            inner.pending.insert(name.clone());
            (name, spawn.unwrap_or(inner.spawn))
        };
        let result = self.start(&name, mode, plan).await;
        // Shutdown waits for `pending` to drain, so a session inserted here
        // is always seen (and stopped) by it.
        {
            let mut inner = self.lock();
            if let Ok(s) = &result {
                inner.sessions.insert(name.clone(), s.clone());
            }
            inner.pending.remove(&name);
        }
        let session = result?;
        tracing::info!(name = %name, spawn = %mode, pid = session.pid, dir = %session.dir.display(), sandboxed = session.sandboxed, "session started");
        self.touch();
        let me = Arc::clone(self);
        let s = Arc::clone(&session);
        tokio::spawn(async move { me.monitor(s).await });
        Ok(info(&session))
    }

    async fn start(
        &self,
        name: &SessionName,
        mode: SpawnMode,
        plan: Option<crate::sandbox::Plan>,
    ) -> Result<Arc<Session>, ErrorReply> {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            err(ErrorKind::Internal, format!("{what}: {e}"))
        };
        let (dir, wt) = match mode {
            SpawnMode::SameDir => (self.cfg.dir.clone(), None),
            SpawnMode::Worktree => {
                let repo = self.repo_root()?;
                let root = self.worktree_root.clone();
                let n = name.to_string();
                let wt = tokio::task::spawn_blocking(move || worktree::create(&repo, &root, &n))
                    .await
                    .map_err(|e| internal("creating the worktree", &e))?
                    .map_err(|e| {
                        let kind = match e {
                            worktree::WorktreeError::NotARepository { .. }
                            | worktree::WorktreeError::NoCommit { .. } => ErrorKind::NotARepository,
                            worktree::WorktreeError::BranchExists { .. }
                            | worktree::WorktreeError::PathExists { .. } => ErrorKind::NameTaken,
                            _ => ErrorKind::Internal,
                        };
                        err(kind, e.to_string())
                    })?;
                (wt.path.clone(), Some(wt))
            }
        };
        std::fs::create_dir_all(&self.transcripts)
            .map_err(|e| internal("creating the transcript directory", &e))?;
        let id = SessionId::generate();
        let mut env = self.env.clone();
        env.push(("RCD_SESSION".into(), name.to_string()));
        let sandbox = match plan {
            None => None,
            Some(plan) => {
                let tmp = crate::sandbox::tmp_path(&self.cfg.state_dir, name.as_str(), &id.0);
                let policy = self.cfg.sandbox.clone();
                let socket = self.cfg.socket.clone();
                let (d, t, worktree) = (dir.clone(), tmp.clone(), wt.is_some());
                let prepared = tokio::task::spawn_blocking(move || {
                    let place = crate::sandbox::Place {
                        dir: &d,
                        worktree,
                        tmp: &t,
                        socket: &socket,
                    };
                    crate::sandbox::prepare(&plan, &policy, &place)
                })
                .await
                .map_err(|e| internal("preparing the sandbox", &e))
                .and_then(|r| r.map_err(|m| err(ErrorKind::BadRequest, m)));
                match prepared {
                    Ok(c) => {
                        tracing::debug!(name = %name, writable = ?c.writable(), network = %self.cfg.sandbox.network, "sandbox prepared");
                        // Addresses of the user's agents and buses: a sandboxed
                        // program is not pointed at ways out of its sandbox.
                        env.retain(|(k, _)| {
                            k != "TMPDIR" && !crate::sandbox::HIDDEN_ENV.contains(&k.as_str())
                        });
                        env.push(("TMPDIR".into(), tmp.display().to_string()));
                        Some(c)
                    }
                    Err(e) => {
                        // Nothing ran in the fresh worktree: give it back.
                        if let Some(wt) = wt {
                            let _ = self.apply_rule(&wt, false).await;
                        }
                        return Err(e);
                    }
                }
            }
        };
        let tmp = sandbox.as_ref().map(|c| c.tmp().to_path_buf());
        let params = session::Params {
            sandbox,
            transcript: self.transcripts.join(format!("{name}-{id}.log")),
            id,
            name: name.clone(),
            dir,
            spawn: mode,
            worktree: wt.clone(),
            command: self.cfg.command.clone(),
            env,
        };
        match Session::start(params) {
            Ok(s) => Ok(s),
            Err(e) => {
                if let Some(tmp) = tmp {
                    crate::sandbox::remove_tmp(&tmp);
                }
                // Nothing ran in the fresh worktree: give it back.
                if let Some(wt) = wt {
                    let _ = self.apply_rule(&wt, false).await;
                }
                Err(internal("starting the session", &e))
            }
        }
    }

    /// Waits for a session to end by itself and applies the worktree rule.
    async fn monitor(self: Arc<Self>, session: Arc<Session>) {
        let code = session.wait().await;
        if session.stop_requested() {
            return;
        }
        tracing::info!(name = %session.name, code, "session exited by itself");
        // Background jobs it left would keep working in a worktree that
        // the rule is about to judge: end them first.
        let survivors = session.end_stragglers(self.cfg.stop_grace).await;
        session.close_transcript();
        if survivors {
            tracing::warn!(name = %session.name, "processes of the session survived SIGKILL; its worktree is kept");
        } else {
            session.remove_sandbox_tmp();
            self.settle(&session, false).await;
        }
        self.touch();
    }

    async fn settle(&self, session: &Session, force: bool) -> Option<WorktreeOutcome> {
        let wt = session.worktree.clone()?;
        session
            .settle_worktree(|previous| async move {
                match previous {
                    Some(o) if o.action != WorktreeAction::Kept => Some(o),
                    _ => Some(self.apply_rule(&wt, force).await),
                }
            })
            .await
    }

    /// The worktree rule: remove only when clean; a forced removal saves
    /// the work first. Errors keep the worktree.
    async fn apply_rule(&self, wt: &Worktree, force: bool) -> WorktreeOutcome {
        let repo = match self.repo_root() {
            Ok(r) => r,
            Err(e) => return kept(wt, format!("cannot open the repository: {e}")),
        };
        let w = wt.clone();
        let result = tokio::task::spawn_blocking(move || {
            if force {
                worktree::force_remove(&repo, &w)
            } else {
                worktree::remove_if_clean(&repo, &w)
            }
        })
        .await;
        let outcome = match result {
            Ok(Ok(o)) => outcome(wt, o),
            Ok(Err(e)) => kept(wt, format!("removal failed, kept: {e}")),
            Err(e) => kept(wt, format!("removal failed, kept: {e}")),
        };
        match outcome.action {
            WorktreeAction::Kept => tracing::info!(
                name = %wt.name, path = %wt.path.display(),
                reason = outcome.reason.as_deref().unwrap_or(""), "worktree kept"
            ),
            WorktreeAction::Saved => tracing::info!(
                name = %wt.name, saved = outcome.saved_ref.as_deref().unwrap_or(""),
                "worktree saved and removed"
            ),
            WorktreeAction::Removed => tracing::info!(name = %wt.name, "clean worktree removed"),
        }
        outcome
    }

    /// Stops a session and applies the worktree rule (`force`: save the
    /// work under refs/rcd/saved/NAME, then remove).
    pub async fn stop(&self, name: &str, force: bool) -> Result<rcd_proto::StopReport, ErrorReply> {
        let orphan = {
            let inner = self.lock();
            inner.orphans.iter().find(|o| o.name == name).cloned()
        };
        if let Some(o) = orphan {
            return Ok(self.stop_orphan(o, force).await);
        }
        let session = self.get(name)?;
        let code = session.stop(self.cfg.stop_grace).await;
        let worktree = self.settle(&session, force).await;
        {
            let mut inner = self.lock();
            if inner
                .sessions
                .get(&session.name)
                .is_some_and(|s| Arc::ptr_eq(s, &session))
            {
                inner.sessions.remove(&session.name);
            }
        }
        tracing::info!(name = %session.name, code, "session stopped");
        self.touch();
        Ok(rcd_proto::StopReport {
            name: session.name.to_string(),
            exit_code: Some(code),
            worktree,
        })
    }

    /// Ends a session an earlier rcd left running, then applies the rule.
    async fn stop_orphan(&self, o: state::SessionRecord, force: bool) -> rcd_proto::StopReport {
        use nix::sys::signal::Signal;
        tracing::info!(name = %o.name, pid = o.pid, "ending an orphaned session");
        if crate::pty::group_alive(o.pid) {
            let _ = crate::pty::signal_session(o.pid, Signal::SIGHUP);
            let _ = crate::pty::signal_session(o.pid, Signal::SIGCONT);
            let deadline = tokio::time::Instant::now() + self.cfg.stop_grace;
            while tokio::time::Instant::now() < deadline
                && !crate::pty::session_members(o.pid).is_empty()
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let _ = crate::pty::signal_session(o.pid, Signal::SIGKILL);
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
            while tokio::time::Instant::now() < deadline
                && !crate::pty::session_members(o.pid).is_empty()
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        let worktree = match &o.worktree {
            Some(wt) => Some(self.apply_rule(wt, force).await),
            None => None,
        };
        if crate::pty::session_members(o.pid).is_empty() {
            crate::sandbox::remove_tmp(&crate::sandbox::tmp_path(
                &self.cfg.state_dir,
                &o.name,
                &o.id,
            ));
        }
        self.lock().orphans.retain(|x| x.name != o.name);
        self.touch();
        rcd_proto::StopReport {
            name: o.name,
            exit_code: None,
            worktree,
        }
    }

    /// Stops everything (SIGTERM, SIGINT, `rcctl shutdown`): refuses new
    /// sessions, waits for the ones being created, stops all at once,
    /// applies the worktree rule to each.
    pub async fn shutdown(&self) {
        self.lock().accepting = false;
        let wait = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.lock().pending.is_empty() && tokio::time::Instant::now() < wait {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let sessions: Vec<Arc<Session>> = self.lock().sessions.values().cloned().collect();
        let mut set = tokio::task::JoinSet::new();
        for s in sessions {
            let name = s.name.to_string();
            let grace = self.cfg.stop_grace;
            set.spawn(async move {
                s.stop(grace).await;
                (name, s)
            });
        }
        while let Some(joined) = set.join_next().await {
            let Ok((name, s)) = joined else {
                tracing::error!("stopping a session panicked; its worktree is left as it is");
                continue;
            };
            let o = self.settle(&s, false).await;
            self.lock().sessions.remove(&s.name);
            if let Some(o) = o {
                tracing::info!(name, action = %o.action, reason = o.reason.as_deref().unwrap_or(""), "worktree at shutdown");
            }
        }
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
        let orphans = !self.lock().orphans.is_empty();
        if orphans {
            // Orphans are still out there: keep their record for next time.
            self.persist();
            return;
        }
        let _guard = self.state_write.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = state::clear(&self.cfg.state_dir) {
            tracing::warn!("cannot remove the state file: {e}");
        }
    }

    /// Worktrees under the daemon's root that nobody uses: git is asked
    /// first, then the busy names are taken under the lock, so a worktree
    /// being created right now is either not listed yet or already busy.
    /// `all`: sessions in any state count as users (for prune, which goes
    /// through the session for those); `reserve`: mark the idle ones as
    /// being pruned.
    async fn idle_worktrees(&self, all: bool, reserve: bool) -> Result<Vec<Worktree>, ErrorReply> {
        let repo = match self.repo_root() {
            Ok(r) => r,
            // Not a repository: there cannot be any worktrees.
            Err(_) => return Ok(Vec::new()),
        };
        let root = self.worktree_root.clone();
        let listed = tokio::task::spawn_blocking(move || worktree::list(&repo, &root))
            .await
            .map_err(|e| err(ErrorKind::Internal, e.to_string()))?
            .map_err(|e| err(ErrorKind::Internal, e.to_string()))?;
        let mut inner = self.lock();
        let busy = inner.busy_names(all);
        let idle: Vec<Worktree> = listed
            .into_iter()
            .filter(|w| !busy.contains(&w.name))
            .collect();
        if reserve {
            inner.pruning.extend(idle.iter().map(|w| w.name.clone()));
        }
        Ok(idle)
    }

    /// `rcctl worktrees`: kept worktrees with what they hold.
    pub async fn kept_worktrees(&self) -> Result<Vec<KeptWorktree>, ErrorReply> {
        let repo = match self.repo_root() {
            Ok(r) => r,
            Err(_) => return Ok(Vec::new()),
        };
        let idle = self.idle_worktrees(false, false).await?;
        tokio::task::spawn_blocking(move || {
            idle.into_iter()
                .map(|w| {
                    let i = worktree::inspect(&repo, &w).unwrap_or_default();
                    KeptWorktree {
                        name: w.name,
                        path: w.path.display().to_string(),
                        branch: w.branch,
                        base: w.base,
                        uncommitted: i.uncommitted,
                        untracked: i.untracked,
                        ignored: i.ignored,
                        ahead: i.ahead,
                    }
                })
                .collect()
        })
        .await
        .map_err(|e| err(ErrorKind::Internal, e.to_string()))
    }

    /// `rcctl prune`: removes kept worktrees that have become clean.
    pub async fn prune(&self) -> Result<PruneReport, ErrorReply> {
        let mut report = PruneReport {
            removed: Vec::new(),
            kept: Vec::new(),
        };
        let mut sort = |o: WorktreeOutcome| {
            if o.action == WorktreeAction::Kept {
                report.kept.push(o);
            } else {
                report.removed.push(o);
            }
        };
        for wt in self.idle_worktrees(true, true).await? {
            let o = self.apply_rule(&wt, false).await;
            self.lock().pruning.remove(&wt.name);
            sort(o);
        }
        // Sessions that exited and kept their worktree: through the session,
        // so its own record stays right.
        let exited: Vec<Arc<Session>> = self
            .lock()
            .sessions
            .values()
            .filter(|s| s.worktree.is_some() && matches!(s.status(), Status::Exited(_)))
            .cloned()
            .collect();
        for s in exited {
            if s.worktree_outcome()
                .is_some_and(|o| o.action == WorktreeAction::Kept)
                && let Some(o) = self.settle(&s, false).await
            {
                sort(o);
            }
        }
        self.touch();
        Ok(report)
    }

    /// A page of a session's transcript; for a session that is gone, of
    /// the newest transcript file of that name.
    pub fn transcript(
        &self,
        name: &str,
        from: u64,
        max: u32,
    ) -> Result<(Vec<String>, u64), ErrorReply> {
        let internal = |e: std::io::Error| {
            err(
                ErrorKind::Internal,
                format!("cannot read the transcript: {e}"),
            )
        };
        match self.get(name) {
            Ok(s) => s.transcript(from, max).map_err(internal),
            Err(unknown) => {
                let Ok(valid) = SessionName::new(name) else {
                    return Err(unknown);
                };
                let prefix = format!("{valid}-");
                let newest = std::fs::read_dir(&self.transcripts)
                    .ok()
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| {
                        e.file_name().to_str().is_some_and(|f| {
                            f.strip_prefix(&prefix)
                                .and_then(|rest| rest.strip_suffix(".log"))
                                .is_some_and(|id| !id.contains('-'))
                        })
                    })
                    .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
                match newest {
                    Some(e) => crate::term::Transcript::page_of_file(&e.path(), from, max)
                        .map_err(internal),
                    None => Err(unknown),
                }
            }
        }
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
                .filter(|s| s.status() == Status::Running || s.worktree_outcome().is_none())
                .map(|s| state::SessionRecord {
                    id: s.id.to_string(),
                    name: s.name.to_string(),
                    pid: s.pid,
                    dir: s.dir.clone(),
                    worktree: s.worktree.clone(),
                })
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
            tracing::warn!("cannot write the state file: {e}");
        }
    }
}

fn kept(wt: &Worktree, reason: String) -> WorktreeOutcome {
    WorktreeOutcome {
        path: wt.path.display().to_string(),
        branch: wt.branch.clone(),
        action: WorktreeAction::Kept,
        reason: Some(reason),
        saved_ref: None,
    }
}

/// Turns a worktree module outcome into its wire form.
pub fn outcome(wt: &Worktree, o: Outcome) -> WorktreeOutcome {
    match o {
        Outcome::Removed => WorktreeOutcome {
            path: wt.path.display().to_string(),
            branch: wt.branch.clone(),
            action: WorktreeAction::Removed,
            reason: Some(
                "clean: no uncommitted change, untracked file or commit off its base".into(),
            ),
            saved_ref: None,
        },
        Outcome::Kept { inspection } => kept(
            wt,
            inspection
                .reason()
                .unwrap_or_else(|| "it holds work".to_string()),
        ),
        Outcome::Saved { reference, commit } => WorktreeOutcome {
            path: wt.path.display().to_string(),
            branch: wt.branch.clone(),
            action: WorktreeAction::Saved,
            reason: Some(format!(
                "forced: the working tree was saved as commit {} under {reference}",
                &commit[..commit.len().min(12)]
            )),
            saved_ref: Some(reference),
        },
    }
}

/// What `rcctl list` and devices are told about a session.
pub fn info(s: &Session) -> SessionInfo {
    let (state, exit_code) = match s.status() {
        Status::Running if s.stop_requested() => (SessionState::Stopping, None),
        Status::Running => (SessionState::Running, None),
        Status::Exited(c) => (SessionState::Exited, Some(c)),
    };
    SessionInfo {
        id: s.id.to_string(),
        name: s.name.to_string(),
        state,
        dir: s.dir.display().to_string(),
        spawn: s.spawn,
        branch: s.worktree.as_ref().map(|w| w.branch.clone()),
        pid: (state != SessionState::Exited).then_some(s.pid),
        created_at: humantime::format_rfc3339_seconds(s.created_at).to_string(),
        command: s.command.clone(),
        exit_code,
        worktree: s.worktree_outcome(),
        last_activity: Some(humantime::format_rfc3339_seconds(s.last_output()).to_string()),
        sandboxed: s.sandboxed,
    }
}

/// The complete environment of a session: the daemon's own, less its
/// settings and service plumbing, plus `TERM=xterm-256color`.
fn session_env(cfg: &Config) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| !ENV_DENYLIST.contains(&k.as_str()))
        .collect();
    env.push(("TERM".into(), "xterm-256color".into()));
    env.push(("RCD_ENV".into(), cfg.name.clone()));
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
    }
    env
}
