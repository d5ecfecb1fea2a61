//! Kept worktrees: listing them and pruning the ones that became clean.

use super::retire::Remains;
use super::{Supervisor, err};
use crate::session::{Session, Status};
use crate::worktree::Worktree;
use rcd_proto::{
    ErrorKind, ErrorReply, KeptWorktree, PruneReport, WorktreeAction, WorktreeOutcome,
};
use std::sync::Arc;

impl Supervisor {
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
        let (root, host) = (self.worktree_root.clone(), self.host.clone());
        let listed = tokio::task::spawn_blocking(move || host.list_worktrees(&repo, &root))
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
        let host = self.host.clone();
        tokio::task::spawn_blocking(move || {
            idle.into_iter()
                .map(|w| {
                    let i = host.inspect_worktree(&repo, &w).unwrap_or_default();
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
            {
                let remains = Remains {
                    worktree: s.worktree.clone(),
                    sandbox_tmp: None,
                    hooks: None,
                };
                if let Some(o) = self.release(remains, Some(&s), false, false).await {
                    sort(o);
                }
            }
        }
        self.touch();
        Ok(report)
    }
}
