//! Per-session git worktrees, and the rule that guards them: never lose work.
//!
//! In worktree mode every session runs in a linked git worktree created with
//! git2 from the daemon directory's `HEAD`, on a new branch `rcd/<name>`, in a
//! directory the daemon owns outside the repository (`<root>/<name>`).
//!
//! Whenever a worktree would be removed (session exit, stop, shutdown, crash
//! recovery, prune) [`remove_if_clean`] removes the worktree and its branch
//! only when [`inspect()`] finds it clean:
//!
//! * no uncommitted change in a tracked file (staged or unstaged),
//! * no untracked file (files ignored through `.gitignore` and friends do
//!   not count),
//! * no commit that is not on its base. A commit is "on its base" when it is
//!   reachable from the base commit recorded at creation or from the main
//!   repository's current `HEAD` (so work merged into the main branch does
//!   not block removal). Commits are counted from the branch tip and from the
//!   worktree's own `HEAD` (the user may have switched branch or detached).
//!
//! Otherwise everything is kept as it is. [`force_remove`] first saves the
//! whole working tree (untracked, non-ignored files included) as a commit
//! under `refs/rcd/saved/<name>` and only then removes worktree and branch.
//!
//! The base commit is recorded in a file `rcd-base` inside the worktree's
//! administrative directory (`<git common dir>/worktrees/<admin name>/`), so
//! [`list()`] can rebuild everything from git itself after a daemon restart.
//!
//! Everything here is blocking; the daemon calls it from
//! `tokio::task::spawn_blocking`. The git command line is never run: git2
//! only.
//!
//! Files: `create.rs` ([`create()`]), `inspect.rs` (what a worktree holds:
//! [`inspect()`], [`Inspection`]), `remove.rs` (the rule: [`remove_if_clean`],
//! [`force_remove`]), `save.rs` (the commit a forced removal saves),
//! `list.rs` ([`list()`]), `base.rs` (the base record), `repo.rs` (opening
//! the repository and locating a worktree in it) and `error.rs`.

mod base;
mod checkout;
mod create;
mod diff;
mod error;
#[cfg(test)]
mod fixture;
mod inspect;
mod list;
mod remove;
mod repo;
mod save;

use std::path::PathBuf;

use rcd_proto::{WorktreeAction, WorktreeOutcome};
use serde::{Deserialize, Serialize};

pub use create::{branch_for, create};
pub use diff::{change_stat, diff};
pub use error::WorktreeError;
pub use inspect::{Inspection, REGENERABLE, REGENERABLE_EXT, inspect, regenerable};
pub use list::list;
pub use remove::{force_remove, remove_if_clean};
pub use repo::check_repository;

/// Prefix of the branches of session worktrees.
const BRANCH_PREFIX: &str = "rcd/";

/// Prefix of the git worktree (administrative) names.
const ADMIN_PREFIX: &str = "rcd-";

/// Namespace of the commits saved by [`force_remove`].
const SAVED_PREFIX: &str = "refs/rcd/saved/";

/// A session worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worktree {
    /// Session name, validated by the caller: `[A-Za-z0-9._-]`, no `..`, at
    /// most 32 characters.
    pub name: String,
    /// Absolute (canonical) path of the worktree directory, `<root>/<name>`.
    pub path: PathBuf,
    /// Branch of the worktree, `rcd/<name>`.
    pub branch: String,
    /// Hex oid of the base commit (the repository's `HEAD` at creation).
    pub base: String,
}

impl Worktree {
    /// A "kept" outcome with its reason, as clients are told.
    pub fn kept(&self, reason: String) -> WorktreeOutcome {
        WorktreeOutcome {
            path: self.path.display().to_string(),
            branch: self.branch.clone(),
            action: WorktreeAction::Kept,
            reason: Some(reason),
            saved_ref: None,
        }
    }
}

/// What [`remove_if_clean`] or [`force_remove`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Worktree directory, git worktree metadata and branch are gone.
    Removed,
    /// Something would be lost: nothing was touched.
    Kept { inspection: Inspection },
    /// Forced: the work was saved as `commit` (hex) under `reference`
    /// (`refs/rcd/saved/<name>`), then worktree and branch were removed.
    Saved { reference: String, commit: String },
}

impl Outcome {
    /// What was done with `wt`, as clients are told.
    pub fn report(self, wt: &Worktree) -> WorktreeOutcome {
        match self {
            Outcome::Removed => WorktreeOutcome {
                path: wt.path.display().to_string(),
                branch: wt.branch.clone(),
                action: WorktreeAction::Removed,
                reason: Some(
                    "clean: no uncommitted change, untracked file or commit off its base".into(),
                ),
                saved_ref: None,
            },
            Outcome::Kept { inspection } => wt.kept(
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
}
