//! What the supervisor asks of the machine: git worktrees and programs
//! in terminals. [`SystemHost`] does it for real; the supervisor's unit
//! tests put a fake in its place to check the capacity, naming and
//! worktree rules without git.

use crate::session::{Launcher, Params, Session};
use crate::worktree::{self, Inspection, Outcome, Worktree, WorktreeError};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

/// The effects of the supervisor. The worktree calls block (git2): the
/// supervisor runs them on the blocking pool.
pub trait Host: Send + Sync + fmt::Debug + 'static {
    /// The top level of the git repository at `dir` (see
    /// [`worktree::check_repository`]).
    fn repository(&self, dir: &Path) -> Result<PathBuf, WorktreeError>;
    /// A new worktree `<root>/<name>` on branch `rcd/<name>`.
    fn create_worktree(
        &self,
        repo: &Path,
        root: &Path,
        name: &str,
    ) -> Result<Worktree, WorktreeError>;
    /// The worktree rule: remove when clean; `force`: save the work under
    /// `refs/rcd/saved/<name>`, then remove.
    fn remove_worktree(
        &self,
        repo: &Path,
        wt: &Worktree,
        force: bool,
    ) -> Result<Outcome, WorktreeError>;
    /// rcd's worktrees under `root`, found from git.
    fn list_worktrees(&self, repo: &Path, root: &Path) -> Result<Vec<Worktree>, WorktreeError>;
    /// What a worktree holds.
    fn inspect_worktree(&self, repo: &Path, wt: &Worktree) -> Result<Inspection, WorktreeError>;
    /// Starts a session's program in a new terminal.
    fn start(&self, params: Params) -> Starting<'_>;
}

/// A session's start in progress.
pub type Starting<'a> = Pin<Box<dyn Future<Output = std::io::Result<Arc<Session>>> + Send + 'a>>;

/// git2 and real PTYs, the programs started by `launcher` (the keeper).
#[derive(Debug)]
pub struct SystemHost {
    pub launcher: Launcher,
}

impl Host for SystemHost {
    fn repository(&self, dir: &Path) -> Result<PathBuf, WorktreeError> {
        worktree::check_repository(dir)
    }

    fn create_worktree(
        &self,
        repo: &Path,
        root: &Path,
        name: &str,
    ) -> Result<Worktree, WorktreeError> {
        worktree::create(repo, root, name)
    }

    fn remove_worktree(
        &self,
        repo: &Path,
        wt: &Worktree,
        force: bool,
    ) -> Result<Outcome, WorktreeError> {
        if force {
            worktree::force_remove(repo, wt)
        } else {
            worktree::remove_if_clean(repo, wt)
        }
    }

    fn list_worktrees(&self, repo: &Path, root: &Path) -> Result<Vec<Worktree>, WorktreeError> {
        worktree::list(repo, root)
    }

    fn inspect_worktree(&self, repo: &Path, wt: &Worktree) -> Result<Inspection, WorktreeError> {
        worktree::inspect(repo, wt)
    }

    fn start(&self, params: Params) -> Starting<'_> {
        Box::pin(Session::start(params, &self.launcher))
    }
}
