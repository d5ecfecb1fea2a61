//! The one way a session starts: [`Supervisor::create`] with the options
//! of [`NewSession`], from every client alike.

use super::retire::Remains;
use super::{Supervisor, err};
use crate::names;
use crate::session::{Params, Session, SessionId};
use crate::worktree::{Worktree, WorktreeError};
use rcd_proto::{ErrorKind, ErrorReply, SessionInfo, SessionName, SpawnMode};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

/// What a client may choose about a new session; the daemon's settings
/// fill in the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSession {
    /// Its name; one is made up when `None`.
    pub name: Option<String>,
    /// Where it starts; the daemon's spawn mode when `None`.
    pub spawn: Option<SpawnMode>,
    /// Whether it is sandboxed; the daemon's `--sandbox` when `None`.
    pub sandbox: Option<bool>,
    /// The configured program it runs, by name; the default when `None`.
    pub program: Option<String>,
    /// A command line to run instead of a program: only the control
    /// socket sets it (relay work never carries one, see
    /// `rcd_proto::relay::Work`).
    pub command: Option<Vec<String>>,
}

/// What a session runs.
#[derive(Debug)]
struct Run {
    /// The configured program's name; `None` for a command line.
    program: Option<String>,
    command: Vec<String>,
}

impl Supervisor {
    /// Starts a session. Capacity is a hard limit; a name in use is
    /// refused, never reused. A sandbox this machine cannot enforce is a
    /// refusal, checked before anything is created.
    pub async fn create(self: &Arc<Self>, opts: NewSession) -> Result<SessionInfo, ErrorReply> {
        let run = self.choose_program(opts.program, opts.command)?;
        let plan = if opts.sandbox.unwrap_or(self.sandbox.by_default()) {
            self.sandbox.mark_used();
            Some(self.sandbox.plan().await?)
        } else {
            None
        };
        let (name, mode) = self.reserve(opts.name, opts.spawn)?;
        let result = self.start(&name, mode, plan, run).await;
        // Shutdown waits for `pending` to drain, so a session inserted here
        // is always seen (and stopped) by it.
        {
            let mut inner = self.lock();
            if let Ok(s) = &result {
                s.report_changes(self.changed.clone());
                inner.sessions.insert(name.clone(), s.clone());
            }
            inner.pending.remove(&name);
        }
        let session = result?;
        tracing::info!(name = %name, program = session.program.as_deref().unwrap_or("-"), spawn = %mode, pid = session.pid, dir = %session.dir.display(), sandboxed = session.sandboxed, "session started");
        self.touch();
        let me = Arc::clone(self);
        let s = Arc::clone(&session);
        tokio::spawn(async move { me.monitor(s).await });
        Ok(session.info())
    }

    /// What a new session runs: the configured program it names (the
    /// default when it names none), or a command line of its own. An
    /// unknown name is refused with the names there are.
    fn choose_program(
        &self,
        program: Option<String>,
        command: Option<Vec<String>>,
    ) -> Result<Run, ErrorReply> {
        let programs = &self.cfg.programs;
        match (program, command) {
            (Some(_), Some(_)) => Err(err(
                ErrorKind::BadRequest,
                "name a program or give a command line, not both",
            )),
            (None, Some(command)) => {
                if command.first().is_none_or(|w| w.is_empty()) {
                    return Err(err(
                        ErrorKind::BadRequest,
                        "the command line is empty: give a program to run, e.g. -- bash",
                    ));
                }
                Ok(Run {
                    program: None,
                    command,
                })
            }
            (name, None) => {
                let found = match &name {
                    None => Some(programs.default_program()),
                    Some(n) => programs.get(n),
                };
                let Some(p) = found else {
                    return Err(err(
                        ErrorKind::BadRequest,
                        format!(
                            "no program named {:?} on {}: its programs are {} (the \
                             [programs] of its rcd's config.toml)",
                            name.unwrap_or_default(),
                            self.cfg.name,
                            programs.names().join(", ")
                        ),
                    ));
                };
                Ok(Run {
                    program: Some(p.name.clone()),
                    command: p.command.clone(),
                })
            }
        }
    }

    /// Checks capacity and the name under the lock and holds the name in
    /// `pending` (where it counts against capacity) until the start is
    /// done.
    fn reserve(
        &self,
        name: Option<String>,
        spawn: Option<SpawnMode>,
    ) -> Result<(SessionName, SpawnMode), ErrorReply> {
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
            Some(n) if taken(&n) => {
                return Err(err(
                    ErrorKind::NameTaken,
                    format!(
                        "a session named {n} is already running: choose another name, \
                         or stop it first (rcctl stop {n})"
                    ),
                ));
            }
            Some(n) => n,
            None => names::generate(taken),
        };
        inner.pending.insert(name.clone());
        Ok((name, spawn.unwrap_or(inner.spawn)))
    }

    /// Makes the worktree, the sandbox and the program. A failure after
    /// the worktree exists gives back what was made, through the same
    /// [`Supervisor::release`] as every ending.
    async fn start(
        &self,
        name: &SessionName,
        mode: SpawnMode,
        plan: Option<crate::sandbox::Plan>,
        run: Run,
    ) -> Result<Arc<Session>, ErrorReply> {
        let wt = match mode {
            SpawnMode::SameDir => None,
            SpawnMode::Worktree => Some(self.create_worktree(name).await?),
        };
        let dir = wt
            .as_ref()
            .map_or_else(|| self.cfg.dir.clone(), |w| w.path.clone());
        let id = SessionId::generate();
        let mut remains = Remains {
            worktree: wt.clone(),
            sandbox_tmp: None,
            hooks: None,
        };
        let started = self
            .spawn(name, &id, mode, dir, wt, plan, run, &mut remains)
            .await;
        if started.is_err() {
            // Nothing ran in the fresh worktree: give it back.
            self.release(remains, None, false, false).await;
        }
        started
    }

    #[allow(clippy::too_many_arguments)]
    async fn spawn(
        &self,
        name: &SessionName,
        id: &SessionId,
        mode: SpawnMode,
        dir: PathBuf,
        worktree: Option<Worktree>,
        plan: Option<crate::sandbox::Plan>,
        run: Run,
        remains: &mut Remains,
    ) -> Result<Arc<Session>, ErrorReply> {
        // Transcripts hold everything a session printed: the directory is
        // its owner's only, whatever the state directory around it is.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.transcripts)
            .and_then(|()| {
                std::fs::set_permissions(&self.transcripts, std::fs::Permissions::from_mode(0o700))
            })
            .map_err(|e| {
                err(
                    ErrorKind::Internal,
                    format!("creating the transcript directory: {e}"),
                )
            })?;
        let mut env = self.env.clone();
        env.push(("RCD_SESSION".into(), name.to_string()));
        let hook_dir = crate::hooks::dir_of(&self.cfg.state_dir, name.as_str(), &id.0);
        crate::hooks::create(&hook_dir).map_err(|e| {
            err(
                ErrorKind::Internal,
                format!("creating the hook directory {}: {e}", hook_dir.display()),
            )
        })?;
        remains.hooks = Some(hook_dir.clone());
        env.push((
            rcd_proto::hook::DIR_ENV.into(),
            hook_dir.display().to_string(),
        ));
        let sandbox = match plan {
            None => None,
            Some(plan) => {
                // Given back on failure too: preparing makes the directory.
                let tmp = self.sandbox.tmp_path(name.as_str(), &id.0);
                remains.sandbox_tmp = Some(tmp.clone());
                let c = self
                    .sandbox
                    .prepare(plan, &tmp, &dir, worktree.is_some(), &hook_dir, &mut env)
                    .await?;
                Some(c)
            }
        };
        let params = Params {
            sandbox,
            transcript: self.transcripts.join(format!("{name}-{id}.log")),
            id: id.clone(),
            name: name.clone(),
            dir,
            spawn: mode,
            worktree,
            program: run.program,
            command: run.command,
            env,
            hook_dir: Some(hook_dir),
        };
        self.host
            .start(params)
            .await
            .map_err(|e| err(ErrorKind::Internal, format!("starting the session: {e}")))
    }

    async fn create_worktree(&self, name: &SessionName) -> Result<Worktree, ErrorReply> {
        let repo = self.repo_root()?;
        let root = self.worktree_root.clone();
        let host = self.host.clone();
        let n = name.to_string();
        tokio::task::spawn_blocking(move || host.create_worktree(&repo, &root, &n))
            .await
            .map_err(|e| err(ErrorKind::Internal, format!("creating the worktree: {e}")))?
            .map_err(|e| {
                let kind = match e {
                    WorktreeError::NotARepository { .. } | WorktreeError::NoCommit { .. } => {
                        ErrorKind::NotARepository
                    }
                    WorktreeError::BranchExists { .. } | WorktreeError::PathExists { .. } => {
                        ErrorKind::NameTaken
                    }
                    _ => ErrorKind::Internal,
                };
                err(kind, e.to_string())
            })
    }
}
