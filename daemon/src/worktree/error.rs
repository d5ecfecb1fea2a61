//! What can go wrong with a worktree, and the helpers that attach a context
//! to a git or file system error.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong here. Messages are one line and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    /// `dir` is not (the top level of) a git repository with a work tree.
    #[error(
        "{} is not a git repository; --spawn worktree needs one: run `git init` there or use --spawn same-dir",
        .dir.display()
    )]
    NotARepository {
        dir: PathBuf,
        #[source]
        source: git2::Error,
    },
    /// `dir` lies inside a work tree but is not its top level. Discovering the
    /// repository upward is deliberately not done, so that e.g. a dotfiles
    /// repository in `$HOME` is never picked up by accident.
    #[error(
        "{} is inside the git work tree {} but is not its top level; start rcd in {} to use --spawn worktree, or use --spawn same-dir",
        .dir.display(), .top.display(), .top.display()
    )]
    NotTopLevel { dir: PathBuf, top: PathBuf },
    /// The repository has no commit yet, so there is nothing to branch from.
    #[error(
        "git repository {} has no commit yet; --spawn worktree branches from HEAD: make a first commit (e.g. `git commit --allow-empty -m init`) or use --spawn same-dir",
        .dir.display()
    )]
    NoCommit { dir: PathBuf },
    /// The branch of a new worktree already exists.
    #[error(
        "branch {branch} already exists: a kept worktree or branch of that name exists; run `rcctl worktrees` / `rcctl prune`, or choose another session name"
    )]
    BranchExists { branch: String },
    /// The directory of a new worktree already exists.
    #[error(
        "{} already exists (a kept worktree?); run `rcctl worktrees` / `rcctl prune`, or choose another session name",
        .path.display()
    )]
    PathExists { path: PathBuf },
    /// The directory exists but is not a worktree of this repository; it is
    /// never touched.
    #[error(
        "{} is not a git worktree of the repository at {}; it was left untouched: check it and remove it by hand if it is not needed",
        .path.display(), .repo.display()
    )]
    NotAWorktree { path: PathBuf, repo: PathBuf },
    /// A forced removal could not save everything, so nothing was removed.
    #[error(
        "cannot save {} before removing it: {reason}; nothing was removed: commit, move or delete that by hand, then retry",
        .path.display()
    )]
    CannotSave { path: PathBuf, reason: String },
    /// A git operation failed.
    #[error("{context}: {source}")]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    /// A file system operation failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

pub(super) fn git_err(context: impl Into<String>, source: git2::Error) -> WorktreeError {
    WorktreeError::Git {
        context: context.into(),
        source,
    }
}

pub(super) fn io_err(context: impl Into<String>, source: io::Error) -> WorktreeError {
    WorktreeError::Io {
        context: context.into(),
        source,
    }
}
