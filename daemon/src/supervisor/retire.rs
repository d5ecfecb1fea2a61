//! The one way a session ends, whatever ended it: its program
//! ([`Why::Exited`]), a person ([`Why::Stopped`], from any client), or
//! rcd shutting down ([`Why::Shutdown`]). A session an earlier rcd left
//! running ends through the same steps ([`Supervisor::stop`] on an
//! orphan), and a start that failed gives back what it made through
//! [`Supervisor::release`].
//!
//! The steps, in this order:
//! 1. its processes end: hang up, the grace period, SIGKILL
//!    ([`crate::process::hang_up_then_kill`]), the program and whatever it
//!    left running alike;
//! 2. its transcript gets the last screen;
//! 3. only when nothing of it survived: its sandbox directory goes and the
//!    worktree rule is applied, once ([`Supervisor::release`]);
//! 4. it is unlisted (a program that ended by itself stays listed as
//!    `exited` until someone stops it), and the change is announced.

use super::Supervisor;
use crate::process;
use crate::session::Session;
use crate::state::SessionRecord;
use crate::worktree::Worktree;
use rcd_proto::{ErrorReply, StopReport, WorktreeAction, WorktreeOutcome};
use std::path::PathBuf;
use std::sync::Arc;

/// Why a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Its program ended by itself.
    Exited,
    /// A person stopped it; `force`: save the worktree's work, then
    /// remove it.
    Stopped { force: bool },
    /// rcd shuts down (a signal, `rcctl shutdown`, the outage exit).
    Shutdown,
}

/// What a session leaves behind once its processes are gone.
#[derive(Debug, Default)]
pub(crate) struct Remains {
    pub worktree: Option<Worktree>,
    pub sandbox_tmp: Option<PathBuf>,
    /// The hook directory (`crate::hooks`).
    pub hooks: Option<PathBuf>,
}

/// A session whose processes have ended (steps 1 and 2).
#[derive(Debug)]
pub(crate) struct Ended {
    session: Arc<Session>,
    why: Why,
    code: i32,
    survivors: bool,
}

impl Supervisor {
    /// Stops a session and applies the worktree rule (`force`: save the
    /// work under refs/rcd/saved/NAME, then remove).
    pub async fn stop(&self, name: &str, force: bool) -> Result<StopReport, ErrorReply> {
        let orphan = {
            let inner = self.lock();
            inner.orphans.iter().find(|o| o.name == name).cloned()
        };
        if let Some(o) = orphan {
            return Ok(self.retire_orphan(o, force).await);
        }
        let session = self.get(name)?;
        Ok(self.retire(&session, Why::Stopped { force }).await)
    }

    /// Ends a listed session: every step.
    pub(crate) async fn retire(&self, session: &Arc<Session>, why: Why) -> StopReport {
        let ended = self.end(session, why).await;
        self.finish(ended).await
    }

    /// Steps 1 and 2: the processes and the transcript.
    async fn end(&self, session: &Arc<Session>, why: Why) -> Ended {
        if why != Why::Exited {
            session.request_stop();
        }
        let survivors = session.end_processes(self.cfg.stop_grace).await;
        let code = session.exit_code().await;
        session.close_transcript();
        Ended {
            session: session.clone(),
            why,
            code,
            survivors,
        }
    }

    /// Steps 3 and 4: what is left, the list, the announcement.
    async fn finish(&self, ended: Ended) -> StopReport {
        let Ended {
            session,
            why,
            code,
            survivors,
        } = ended;
        let remains = Remains {
            worktree: session.worktree.clone(),
            sandbox_tmp: session.sandbox_tmp().map(PathBuf::from),
            hooks: session.hook_dir().map(PathBuf::from),
        };
        let force = why == Why::Stopped { force: true };
        let worktree = self
            .release(remains, Some(&session), survivors, force)
            .await;
        if why != Why::Exited {
            let mut inner = self.lock();
            if inner
                .sessions
                .get(&session.name)
                .is_some_and(|s| Arc::ptr_eq(s, &session))
            {
                inner.sessions.remove(&session.name);
                if survivors {
                    // Still running: tracked (busy, recorded, listed as
                    // orphaned) until a stop finds it gone.
                    inner.orphans.push(session.record());
                }
            }
        }
        match why {
            Why::Exited => {}
            Why::Stopped { .. } => tracing::info!(name = %session.name, code, "session stopped"),
            Why::Shutdown => {
                if let Some(o) = &worktree {
                    tracing::info!(name = %session.name, action = %o.action, reason = o.reason.as_deref().unwrap_or(""), "worktree at shutdown");
                }
            }
        }
        self.touch();
        StopReport {
            name: session.name.to_string(),
            exit_code: Some(code),
            worktree,
        }
    }

    /// Watches a session's program and retires the session when it ends
    /// by itself; a stop retires it on its own.
    pub(crate) async fn monitor(self: Arc<Self>, session: Arc<Session>) {
        let code = session.wait().await;
        if session.stop_requested() {
            return;
        }
        tracing::info!(name = %session.name, code, "session exited by itself");
        self.retire(&session, Why::Exited).await;
    }

    /// Ends a session an earlier rcd left running: the same steps, with
    /// no terminal to read.
    async fn retire_orphan(&self, o: SessionRecord, force: bool) -> StopReport {
        tracing::info!(name = %o.name, pid = o.pid, "ending an orphaned session");
        let leader = process::Leader::of(o.reaped);
        let survivors = process::hang_up_then_kill(o.pid, self.cfg.stop_grace, leader).await;
        let remains = Remains {
            worktree: o.worktree.clone(),
            sandbox_tmp: Some(self.sandbox.tmp_path(&o.name, &o.id)),
            hooks: Some(crate::hooks::dir_of(&self.cfg.state_dir, &o.name, &o.id)),
        };
        let worktree = self.release(remains, None, survivors, force).await;
        if !survivors {
            self.lock().orphans.retain(|x| x.name != o.name);
        }
        self.touch();
        StopReport {
            name: o.name,
            exit_code: None,
            worktree,
        }
    }

    /// Stops everything (SIGTERM, SIGINT, `rcctl shutdown`, the outage
    /// exit): refuses new sessions, waits for the ones being created, ends
    /// all at once, then applies the worktree rule to each in turn (git
    /// works on one repository).
    pub async fn shutdown(&self) {
        self.lock().accepting = false;
        let wait = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.lock().pending.is_empty() && tokio::time::Instant::now() < wait {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let sessions = self.sessions();
        let ended =
            futures_util::future::join_all(sessions.iter().map(|s| self.end(s, Why::Shutdown)))
                .await;
        for e in ended {
            self.finish(e).await;
        }
        if self.lock().orphans.is_empty() {
            self.clear_state();
        } else {
            // Orphans are still out there: keep their record for next time.
            self.persist();
        }
    }

    /// Step 3: the sandbox's directory and the worktree rule, only when
    /// nothing of the session runs any more; otherwise both are kept.
    /// `slot`: the listed session whose stored outcome makes the rule
    /// apply once (a forced stop may still replace a "kept").
    pub(crate) async fn release(
        &self,
        remains: Remains,
        slot: Option<&Session>,
        survivors: bool,
        force: bool,
    ) -> Option<WorktreeOutcome> {
        if survivors {
            tracing::warn!(
                worktree = ?remains.worktree.as_ref().map(|w| &w.path),
                "processes of the session survived SIGKILL; its worktree and temporary directory are kept"
            );
            return remains
                .worktree
                .map(|wt| wt.kept("processes of the session survived SIGKILL".into()));
        }
        if let Some(tmp) = &remains.sandbox_tmp {
            crate::sandbox::remove_tmp(tmp);
        }
        if let Some(dir) = &remains.hooks {
            crate::hooks::remove(dir);
        }
        let wt = remains.worktree?;
        match slot {
            None => Some(self.apply_rule(&wt, force).await),
            Some(session) => {
                session
                    .settle_worktree(|previous| async move {
                        match previous {
                            Some(o) if o.action != WorktreeAction::Kept => Some(o),
                            _ => Some(self.apply_rule(&wt, force).await),
                        }
                    })
                    .await
            }
        }
    }

    /// The worktree rule: remove only when clean; a forced removal saves
    /// the work first. Errors keep the worktree.
    pub(crate) async fn apply_rule(&self, wt: &Worktree, force: bool) -> WorktreeOutcome {
        let repo = match self.repo_root() {
            Ok(r) => r,
            Err(e) => return wt.kept(format!("cannot open the repository: {e}")),
        };
        let (w, host) = (wt.clone(), self.host.clone());
        let result =
            tokio::task::spawn_blocking(move || host.remove_worktree(&repo, &w, force)).await;
        let outcome = match result {
            Ok(Ok(o)) => o.report(wt),
            Ok(Err(e)) => wt.kept(format!("removal failed, kept: {e}")),
            Err(e) => wt.kept(format!("removal failed, kept: {e}")),
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
}
