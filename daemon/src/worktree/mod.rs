//! Per-session git worktrees, and the rule that guards them: never lose work.
//!
//! In worktree mode every session runs in a linked git worktree created with
//! git2 from the daemon directory's `HEAD`, on a new branch `rcd/<name>`, in a
//! directory the daemon owns outside the repository (`<root>/<name>`).
//!
//! Whenever a worktree would be removed (session exit, stop, shutdown, crash
//! recovery, prune) [`remove_if_clean`] removes the worktree and its branch
//! only when [`inspect`] finds it clean:
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
//! [`list`] can rebuild everything from git itself after a daemon restart.
//!
//! Everything here is blocking; the daemon calls it from
//! `tokio::task::spawn_blocking`. The git command line is never run: git2
//! only.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use git2::{
    BranchType, DiffOptions, ErrorCode, IndexAddOption, Oid, Repository, Signature, Sort, Status,
    StatusOptions, WorktreeAddOptions, WorktreePruneOptions,
};
use serde::{Deserialize, Serialize};

/// Prefix of the branches of session worktrees.
const BRANCH_PREFIX: &str = "rcd/";
/// Prefix of the git worktree (administrative) names.
const ADMIN_PREFIX: &str = "rcd-";
/// Namespace of the commits saved by [`force_remove`].
const SAVED_PREFIX: &str = "refs/rcd/saved/";
/// File in the worktree's administrative directory holding the base oid.
const BASE_FILE: &str = "rcd-base";
/// How many numbered alternatives of the administrative name are tried.
const MAX_ADMIN_SUFFIX: u32 = 1000;

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

/// What keeps a worktree from being removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    /// Paths relative to the worktree of tracked files with staged or
    /// unstaged changes (deletions included).
    pub uncommitted: Vec<String>,
    /// Untracked, non-ignored files (untracked directories are listed file
    /// by file; a nested repository is listed as `dir/`).
    pub untracked: Vec<String>,
    /// Commits reachable from the branch tip or the worktree `HEAD` that are
    /// reachable neither from the recorded base nor from the repository's
    /// current `HEAD`.
    pub ahead: usize,
    /// Ignored files and directories that are not build output (see
    /// [`REGENERABLE`]), e.g. `.env`: work too, since a fresh worktree has
    /// no ignored files at all. An ignored directory is listed as `dir/`.
    #[serde(default)]
    pub ignored: Vec<String>,
}

/// Ignored paths inside a directory of one of these names, or ending in
/// one of [`REGENERABLE_EXT`], are build output or caches that can be made
/// again: they do not keep a worktree and are not saved by a forced
/// removal.
pub const REGENERABLE: &[&str] = &[
    "target",
    "node_modules",
    "dist",
    "build",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    ".next",
    ".nuxt",
    ".cache",
    ".gradle",
    ".parcel-cache",
    ".turbo",
    "coverage",
    ".terraform",
];

/// File endings of regenerable build output.
pub const REGENERABLE_EXT: &[&str] = &[".pyc", ".pyo", ".o", ".obj", ".class"];

/// Whether an ignored path is build output rather than work.
pub fn regenerable(path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    trimmed.split('/').any(|c| REGENERABLE.contains(&c))
        || REGENERABLE_EXT.iter().any(|e| trimmed.ends_with(e))
}

impl Inspection {
    /// True when the worktree may be removed without losing anything.
    pub fn is_clean(&self) -> bool {
        self.uncommitted.is_empty()
            && self.untracked.is_empty()
            && self.ignored.is_empty()
            && self.ahead == 0
    }

    /// Why the worktree must be kept, e.g. "2 uncommitted changes, 1
    /// untracked file, 3 commits not on its base"; `None` when clean.
    pub fn reason(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.uncommitted.is_empty() {
            parts.push(count(
                self.uncommitted.len(),
                "uncommitted change",
                "uncommitted changes",
            ));
        }
        if !self.untracked.is_empty() {
            parts.push(count(
                self.untracked.len(),
                "untracked file",
                "untracked files",
            ));
        }
        if !self.ignored.is_empty() {
            parts.push(count(
                self.ignored.len(),
                "ignored file that is not build output",
                "ignored files that are not build output",
            ));
        }
        if self.ahead > 0 {
            parts.push(count(
                self.ahead,
                "commit not on its base",
                "commits not on its base",
            ));
        }
        if parts.is_empty() {
            None
        } else {
            Some(parts.join(", "))
        }
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

/// Opens `dir` as a git repository, checks it has a `HEAD` commit and returns
/// the top level of its work tree (absolute, canonical).
///
/// The repository is not discovered upward: `dir` must be the top level of a
/// work tree (a linked worktree is fine) or its `.git` directory. A
/// subdirectory of a work tree is refused with [`WorktreeError::NotTopLevel`],
/// naming the top level, so that an unrelated repository higher up (say a
/// dotfiles repository in `$HOME`) is never used by accident. A bare
/// repository is refused with [`WorktreeError::NotARepository`].
pub fn check_repository(dir: &Path) -> Result<PathBuf, WorktreeError> {
    let repo = open_repo(dir)?;
    head_commit(&repo, dir)?;
    workdir(&repo, dir)
}

/// Creates `root/<name>` as a linked worktree of the repository at
/// `repo_dir`, on a new branch `rcd/<name>` at `HEAD`'s commit, checked out.
///
/// `root` is created when missing (a relative `root` is taken relative to the
/// current directory). The git worktree is named `rcd-<name>` (or
/// `rcd-<name>-<n>` when stale metadata holds that name) and the base commit
/// is recorded in its administrative directory. On failure everything created
/// so far is removed again.
pub fn create(repo_dir: &Path, root: &Path, name: &str) -> Result<Worktree, WorktreeError> {
    let repo = open_repo(repo_dir)?;
    let head = head_commit(&repo, repo_dir)?;
    let base = head.id();
    let branch = format!("{BRANCH_PREFIX}{name}");
    let refname = format!("refs/heads/{branch}");
    if !git2::Reference::is_valid_name(&refname) {
        return Err(git_err(
            format!(
                "session name {name:?} does not make a valid git branch name {branch}; choose another session name"
            ),
            git2::Error::from_str("invalid reference name"),
        ));
    }
    if repo.find_reference(&refname).is_ok() {
        return Err(WorktreeError::BranchExists { branch });
    }

    let root = std::path::absolute(root)
        .map_err(|e| io_err(format!("resolving {}", root.display()), e))?;
    fs::create_dir_all(&root)
        .map_err(|e| io_err(format!("creating worktree root {}", root.display()), e))?;
    let root = root
        .canonicalize()
        .map_err(|e| io_err(format!("resolving worktree root {}", root.display()), e))?;
    let path = root.join(name);
    if fs::symlink_metadata(&path).is_ok() {
        return Err(WorktreeError::PathExists { path });
    }

    let admin_root = repo.commondir().join("worktrees");
    let admin = free_admin_name(&admin_root, name)?;
    let admin_dir = admin_root.join(&admin);

    let branch_ref = match repo.branch(&branch, &head, false) {
        Ok(b) => b.into_reference(),
        Err(e) if e.code() == ErrorCode::Exists => {
            return Err(WorktreeError::BranchExists { branch });
        }
        Err(e) => return Err(git_err(format!("creating branch {branch}"), e)),
    };

    let result = (|| {
        let mut opts = WorktreeAddOptions::new();
        opts.reference(Some(&branch_ref));
        repo.worktree(&admin, &path, Some(&opts)).map_err(|e| {
            git_err(
                format!(
                    "creating git worktree {} for branch {branch}",
                    path.display()
                ),
                e,
            )
        })?;
        let base_file = admin_dir.join(BASE_FILE);
        fs::write(&base_file, format!("{base}\n")).map_err(|e| {
            io_err(
                format!("recording the base commit in {}", base_file.display()),
                e,
            )
        })?;
        path.canonicalize()
            .map_err(|e| io_err(format!("resolving {}", path.display()), e))
    })();
    drop(branch_ref);

    match result {
        Ok(path) => {
            tracing::debug!(name, path = %path.display(), %base, "created worktree");
            Ok(Worktree {
                name: name.to_owned(),
                path,
                branch,
                base: base.to_string(),
            })
        }
        Err(err) => {
            // Nothing in there can be work yet: it was all just created.
            if fs::symlink_metadata(&path).is_ok() {
                let _ = fs::remove_dir_all(&path);
            }
            if admin_dir.exists() {
                let _ = fs::remove_dir_all(&admin_dir);
            }
            if let Ok(mut b) = repo.find_branch(&branch, BranchType::Local) {
                let _ = b.delete();
            }
            Err(err)
        }
    }
}

/// Inspects a worktree: what would be lost if it were removed now.
///
/// When the worktree directory is gone only commits can be counted.
pub fn inspect(repo_dir: &Path, wt: &Worktree) -> Result<Inspection, WorktreeError> {
    let repo = open_repo(repo_dir)?;
    let loc = locate(&repo, repo_dir, wt)?;
    inspect_located(&repo, wt, &loc)
}

/// Applies the rule: removes worktree directory, git metadata and branch only
/// when [`inspect`] finds nothing to lose; otherwise returns
/// [`Outcome::Kept`] and changes nothing.
///
/// When the directory is already gone, the git metadata is pruned and the
/// branch deleted when no commit is off base ([`Outcome::Removed`]);
/// otherwise nothing is touched ([`Outcome::Kept`] with `ahead > 0`), which
/// keeps the worktree visible to [`list`] and its `HEAD` recorded.
pub fn remove_if_clean(repo_dir: &Path, wt: &Worktree) -> Result<Outcome, WorktreeError> {
    let repo = open_repo(repo_dir)?;
    let loc = locate(&repo, repo_dir, wt)?;
    let inspection = inspect_located(&repo, wt, &loc)?;
    if !inspection.is_clean() {
        tracing::debug!(name = %wt.name, reason = ?inspection.reason(), "worktree kept");
        return Ok(Outcome::Kept { inspection });
    }
    remove_located(&repo, wt, loc)?;
    Ok(Outcome::Removed)
}

/// Forced removal that still loses nothing: saves the whole working tree
/// (tracked changes and untracked, non-ignored files; the worktree's index is
/// not modified) as a commit under `refs/rcd/saved/<name>`, then removes the
/// worktree directory, its metadata and its branch.
///
/// The saved commit's first parent is the worktree `HEAD` commit; a previous
/// `refs/rcd/saved/<name>` becomes the second parent; the branch tip (when not
/// reachable from `HEAD`) and the staged state (when it differs from both
/// `HEAD` and the working tree) are further parents. When the worktree is
/// clean it is just removed ([`Outcome::Removed`], no saved reference).
///
/// Nested git repositories (and submodules) with changes cannot be saved in
/// a commit: the removal is then refused with [`WorktreeError::CannotSave`].
pub fn force_remove(repo_dir: &Path, wt: &Worktree) -> Result<Outcome, WorktreeError> {
    let repo = open_repo(repo_dir)?;
    let loc = locate(&repo, repo_dir, wt)?;
    let inspection = inspect_located(&repo, wt, &loc)?;
    if inspection.is_clean() {
        remove_located(&repo, wt, loc)?;
        return Ok(Outcome::Removed);
    }
    let (reference, commit) = save(&repo, wt, &loc, &inspection)?;
    remove_located(&repo, wt, loc)?;
    tracing::debug!(name = %wt.name, %reference, %commit, "worktree saved and removed");
    Ok(Outcome::Saved {
        reference,
        commit: commit.to_string(),
    })
}

/// Session worktrees of the repository at `repo_dir` under `root`, rebuilt
/// from git's own worktree list, sorted by name.
///
/// A git worktree is included when its directory (which may be gone) is
/// `<root>/<name>` and it is tied to the session by its branch `rcd/<name>`
/// being checked out there or by its git name `rcd-<name>[-<n>]` (so a
/// worktree whose user switched branch inside it is still found). The base
/// comes from the recorded `rcd-base`, else from the merge base of the branch
/// (or the worktree `HEAD`) and the repository `HEAD`, else it is empty.
pub fn list(repo_dir: &Path, root: &Path) -> Result<Vec<Worktree>, WorktreeError> {
    let repo = open_repo(repo_dir)?;
    let root = normalize(
        &std::path::absolute(root)
            .map_err(|e| io_err(format!("resolving {}", root.display()), e))?,
    );
    let names = repo.worktrees().map_err(|e| {
        git_err(
            format!("listing the git worktrees of {}", repo_dir.display()),
            e,
        )
    })?;
    let main_head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id());
    let admin_root = repo.commondir().join("worktrees");

    let mut found = Vec::new();
    for admin in names.iter().flatten().flatten() {
        let gw = match repo.find_worktree(admin) {
            Ok(gw) => gw,
            Err(e) => {
                tracing::debug!(admin, error = %e, "skipping unreadable git worktree");
                continue;
            }
        };
        let path = normalize(gw.path());
        if path.parent() != Some(root.as_path()) {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let branch = format!("{BRANCH_PREFIX}{name}");
        let admin_dir = admin_root.join(admin);
        let head_ref = read_admin_head(&admin_dir);
        let on_branch =
            matches!(&head_ref, Some(AdminHead::Ref(r)) if *r == format!("refs/heads/{branch}"));
        if !on_branch && !admin_name_matches(admin, name) {
            continue;
        }
        let base = read_base(&admin_dir)
            .or_else(|| {
                let tip = branch_tip(&repo, &branch)
                    .or_else(|| head_ref.as_ref().and_then(|h| h.commit(&repo)))?;
                repo.merge_base(tip, main_head?).ok()
            })
            .map(|o| o.to_string())
            .unwrap_or_default();
        found.push(Worktree {
            name: name.to_owned(),
            path,
            branch,
            base,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

// ---------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------

fn git_err(context: impl Into<String>, source: git2::Error) -> WorktreeError {
    WorktreeError::Git {
        context: context.into(),
        source,
    }
}

fn io_err(context: impl Into<String>, source: io::Error) -> WorktreeError {
    WorktreeError::Io {
        context: context.into(),
        source,
    }
}

/// Opens exactly `dir` (no upward discovery), requiring a work tree.
fn open_repo(dir: &Path) -> Result<Repository, WorktreeError> {
    match Repository::open(dir) {
        Ok(repo) if repo.workdir().is_some() => Ok(repo),
        Ok(_) => Err(WorktreeError::NotARepository {
            dir: dir.to_path_buf(),
            source: git2::Error::from_str("the repository is bare (it has no work tree)"),
        }),
        Err(source) => {
            // Only to give a better message: is `dir` inside a work tree?
            if let Ok(found) = Repository::discover(dir) {
                if let Some(top) = found.workdir() {
                    return Err(WorktreeError::NotTopLevel {
                        dir: dir.to_path_buf(),
                        top: normalize(top),
                    });
                }
            }
            Err(WorktreeError::NotARepository {
                dir: dir.to_path_buf(),
                source,
            })
        }
    }
}

fn workdir(repo: &Repository, dir: &Path) -> Result<PathBuf, WorktreeError> {
    let top = repo
        .workdir()
        .ok_or_else(|| WorktreeError::NotARepository {
            dir: dir.to_path_buf(),
            source: git2::Error::from_str("the repository is bare (it has no work tree)"),
        })?;
    top.canonicalize()
        .map_err(|e| io_err(format!("resolving {}", top.display()), e))
}

fn head_commit<'r>(repo: &'r Repository, dir: &Path) -> Result<git2::Commit<'r>, WorktreeError> {
    let head = match repo.head() {
        Ok(head) => head,
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
            return Err(WorktreeError::NoCommit {
                dir: dir.to_path_buf(),
            });
        }
        Err(e) => return Err(git_err(format!("reading HEAD of {}", dir.display()), e)),
    };
    head.peel_to_commit().map_err(|e| {
        git_err(
            format!("resolving HEAD of {} to a commit", dir.display()),
            e,
        )
    })
}

/// Canonical form of `p`, also for paths that do not exist (any more): the
/// longest existing ancestor is canonicalized and the rest appended.
fn normalize(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    let mut rest = Vec::new();
    let mut cur = p;
    while let (Some(last), Some(parent)) = (cur.file_name(), cur.parent()) {
        rest.push(last.to_owned());
        cur = parent;
        if let Ok(mut c) = cur.canonicalize() {
            for part in rest.iter().rev() {
                c.push(part);
            }
            return c;
        }
    }
    // Nothing exists: at least drop `.` and trailing separators.
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn free_admin_name(admin_root: &Path, name: &str) -> Result<String, WorktreeError> {
    let first = format!("{ADMIN_PREFIX}{name}");
    if fs::symlink_metadata(admin_root.join(&first)).is_err() {
        return Ok(first);
    }
    for n in 2..MAX_ADMIN_SUFFIX {
        let candidate = format!("{first}-{n}");
        if fs::symlink_metadata(admin_root.join(&candidate)).is_err() {
            return Ok(candidate);
        }
    }
    Err(io_err(
        format!(
            "finding a free git worktree name {first}-<n> in {}: run `git worktree prune` there",
            admin_root.display()
        ),
        io::Error::from(io::ErrorKind::AlreadyExists),
    ))
}

fn admin_name_matches(admin: &str, name: &str) -> bool {
    let Some(rest) = admin
        .strip_prefix(ADMIN_PREFIX)
        .and_then(|r| r.strip_prefix(name))
    else {
        return false;
    };
    rest.is_empty()
        || rest
            .strip_prefix('-')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn read_base(admin_dir: &Path) -> Option<Oid> {
    let text = fs::read_to_string(admin_dir.join(BASE_FILE)).ok()?;
    Oid::from_str(text.trim()).ok()
}

/// The content of a worktree's `HEAD` file in its administrative directory.
#[derive(Debug)]
enum AdminHead {
    Ref(String),
    Detached(Oid),
}

impl AdminHead {
    fn commit(&self, repo: &Repository) -> Option<Oid> {
        match self {
            AdminHead::Detached(oid) => Some(*oid),
            AdminHead::Ref(name) => repo
                .find_reference(name)
                .ok()?
                .peel_to_commit()
                .ok()
                .map(|c| c.id()),
        }
    }
}

fn read_admin_head(admin_dir: &Path) -> Option<AdminHead> {
    let text = fs::read_to_string(admin_dir.join("HEAD")).ok()?;
    let text = text.trim();
    match text.strip_prefix("ref:") {
        Some(r) => Some(AdminHead::Ref(r.trim().to_owned())),
        None => Oid::from_str(text).ok().map(AdminHead::Detached),
    }
}

fn branch_tip(repo: &Repository, branch: &str) -> Option<Oid> {
    repo.find_reference(&format!("refs/heads/{branch}"))
        .ok()?
        .peel_to_commit()
        .ok()
        .map(|c| c.id())
}

/// Where a worktree stands on disk and in git.
struct Located {
    /// The worktree opened as a repository, when its directory exists.
    wtrepo: Option<Repository>,
    /// Name of the git worktree (administrative directory), when known.
    admin: Option<String>,
}

fn locate(repo: &Repository, repo_dir: &Path, wt: &Worktree) -> Result<Located, WorktreeError> {
    let not_ours = || WorktreeError::NotAWorktree {
        path: wt.path.clone(),
        repo: repo_dir.to_path_buf(),
    };
    if fs::symlink_metadata(&wt.path).is_ok() {
        let wtrepo = Repository::open(&wt.path).map_err(|_| not_ours())?;
        let same_repo = wtrepo.is_worktree()
            && normalize(wtrepo.commondir()) == normalize(repo.commondir())
            && wtrepo.workdir().map(normalize) == Some(normalize(&wt.path));
        if !same_repo {
            return Err(not_ours());
        }
        let admin = git2::Worktree::open_from_repository(&wtrepo)
            .map_err(|e| {
                git_err(
                    format!("looking up the git worktree at {}", wt.path.display()),
                    e,
                )
            })?
            .name()
            .ok()
            .flatten()
            .map(str::to_owned);
        return Ok(Located {
            wtrepo: Some(wtrepo),
            admin,
        });
    }
    // The directory is gone: find the metadata by the recorded path.
    let want = normalize(&wt.path);
    let names = repo
        .worktrees()
        .map_err(|e| git_err("listing git worktrees", e))?;
    let admin = names
        .iter()
        .flatten()
        .flatten()
        .find(|n| {
            repo.find_worktree(n)
                .is_ok_and(|gw| normalize(gw.path()) == want)
        })
        .map(str::to_owned);
    Ok(Located {
        wtrepo: None,
        admin,
    })
}

fn admin_dir(repo: &Repository, admin: &str) -> PathBuf {
    repo.commondir().join("worktrees").join(admin)
}

/// Commit the worktree's own `HEAD` points at, if any.
fn worktree_head(repo: &Repository, loc: &Located) -> Option<Oid> {
    match &loc.wtrepo {
        Some(wtrepo) => wtrepo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .map(|c| c.id()),
        None => read_admin_head(&admin_dir(repo, loc.admin.as_deref()?))?.commit(repo),
    }
}

fn inspect_located(
    repo: &Repository,
    wt: &Worktree,
    loc: &Located,
) -> Result<Inspection, WorktreeError> {
    let mut inspection = Inspection::default();
    if let Some(wtrepo) = &loc.wtrepo {
        let mut opts = StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(true)
            .recurse_ignored_dirs(false)
            .include_unmodified(false)
            .exclude_submodules(false)
            .renames_head_to_index(false)
            .renames_index_to_workdir(false);
        let statuses = wtrepo
            .statuses(Some(&mut opts))
            .map_err(|e| git_err(format!("reading the status of {}", wt.path.display()), e))?;
        for entry in statuses.iter() {
            let status = entry.status();
            if status.is_empty() {
                continue;
            }
            let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
            if status.contains(Status::IGNORED) {
                if !regenerable(&path) {
                    inspection.ignored.push(path);
                }
                continue;
            }
            if status == Status::WT_NEW {
                inspection.untracked.push(path);
            } else {
                inspection.uncommitted.push(path);
            }
        }
        inspection.uncommitted.sort();
        inspection.uncommitted.dedup();
        inspection.untracked.sort();
        inspection.ignored.sort();
    }
    inspection.ahead = count_ahead(repo, wt, loc)?;
    Ok(inspection)
}

fn count_ahead(repo: &Repository, wt: &Worktree, loc: &Located) -> Result<usize, WorktreeError> {
    let tips: BTreeSet<Oid> = branch_tip(repo, &wt.branch)
        .into_iter()
        .chain(worktree_head(repo, loc))
        .collect();
    if tips.is_empty() {
        return Ok(0);
    }
    let ctx = || format!("counting the commits of {} not on its base", wt.branch);
    let mut walk = repo.revwalk().map_err(|e| git_err(ctx(), e))?;
    walk.set_sorting(Sort::NONE)
        .map_err(|e| git_err(ctx(), e))?;
    for tip in &tips {
        walk.push(*tip).map_err(|e| git_err(ctx(), e))?;
    }
    let base = Oid::from_str(&wt.base).ok();
    let main_head = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .map(|c| c.id());
    for hide in base.into_iter().chain(main_head) {
        // An unknown base (e.g. a damaged record) hides nothing: more is kept.
        if repo.find_commit(hide).is_ok() {
            walk.hide(hide).map_err(|e| git_err(ctx(), e))?;
        }
    }
    let mut n = 0;
    for oid in walk {
        oid.map_err(|e| git_err(ctx(), e))?;
        n += 1;
    }
    Ok(n)
}

/// Removes directory, git metadata and branch. Only called once nothing can
/// be lost (clean, or saved).
fn remove_located(repo: &Repository, wt: &Worktree, loc: Located) -> Result<(), WorktreeError> {
    let Located { wtrepo, admin } = loc;
    let had_dir = wtrepo.is_some();
    drop(wtrepo);
    if had_dir {
        fs::remove_dir_all(&wt.path).map_err(|e| {
            io_err(
                format!("removing worktree directory {}", wt.path.display()),
                e,
            )
        })?;
    }
    if let Some(admin) = admin {
        if let Ok(gw) = repo.find_worktree(&admin) {
            let mut opts = WorktreePruneOptions::new();
            opts.valid(true).locked(true).working_tree(false);
            gw.prune(Some(&mut opts)).map_err(|e| {
                git_err(
                    format!("pruning the git metadata of worktree {}", wt.path.display()),
                    e,
                )
            })?;
        }
    }
    let main_on_branch = repo
        .head()
        .ok()
        .map(|h| h.name_bytes() == format!("refs/heads/{}", wt.branch).as_bytes())
        .unwrap_or(false);
    if main_on_branch {
        // Checked out in the main work tree: that is not ours to delete.
        tracing::debug!(branch = %wt.branch, "branch is checked out in the repository; not deleted");
        return Ok(());
    }
    match repo.find_branch(&wt.branch, BranchType::Local) {
        Ok(mut b) => b
            .delete()
            .map_err(|e| git_err(format!("deleting branch {}", wt.branch), e))?,
        Err(e) if e.code() == ErrorCode::NotFound => {}
        Err(e) => return Err(git_err(format!("looking up branch {}", wt.branch), e)),
    }
    tracing::debug!(name = %wt.name, "worktree removed");
    Ok(())
}

/// Saves everything [`remove_located`] would destroy as a commit under
/// `refs/rcd/saved/<name>`. Returns the reference and the commit.
fn save(
    repo: &Repository,
    wt: &Worktree,
    loc: &Located,
    inspection: &Inspection,
) -> Result<(String, Oid), WorktreeError> {
    let reference = format!("{SAVED_PREFIX}{}", wt.name);
    let ctx = |what: &str| {
        format!(
            "saving worktree {} to {reference}: {what}",
            wt.path.display()
        )
    };
    let head = worktree_head(repo, loc);
    let tip = branch_tip(repo, &wt.branch);
    let old_saved = repo
        .find_reference(&reference)
        .ok()
        .and_then(|r| r.peel_to_commit().ok())
        .map(|c| c.id());

    let mut staged_tree = None;
    let tree_id = match &loc.wtrepo {
        Some(wtrepo) => {
            refuse_nested_repositories(wt, inspection)?;
            let mut index = wtrepo
                .index()
                .map_err(|e| git_err(ctx("reading the index"), e))?;
            // The staged state, kept as an extra parent when it differs.
            staged_tree = index.write_tree().ok();
            let built = (|| {
                index.add_all(["*"], IndexAddOption::DEFAULT, None)?;
                // Ignored work (not build output) is saved too.
                for path in &inspection.ignored {
                    index.add_all([path.as_str()], IndexAddOption::FORCE, None)?;
                }
                index.update_all(["*"], None)?;
                index.write_tree()
            })();
            // Only the in-memory index was changed: drop that again.
            let _ = index.read(true);
            let tree_id =
                built.map_err(|e| git_err(ctx("building a tree of the working tree"), e))?;
            verify_saved(wtrepo, wt, tree_id)?;
            tree_id
        }
        None => {
            // No directory: only commits are left to keep.
            let from = head.or(tip).ok_or_else(|| {
                git_err(
                    ctx("finding a commit"),
                    git2::Error::from_str("neither HEAD nor branch exists"),
                )
            })?;
            repo.find_commit(from)
                .map_err(|e| git_err(ctx("reading a commit"), e))?
                .tree_id()
        }
    };
    let tree = repo
        .find_tree(tree_id)
        .map_err(|e| git_err(ctx("reading the saved tree"), e))?;

    let mut parents: Vec<Oid> = Vec::new();
    parents.extend(head.or(tip));
    if let Some(old) = old_saved {
        if !parents.contains(&old) {
            parents.push(old);
        }
    }
    if let (Some(tip), Some(first)) = (tip, parents.first().copied()) {
        let reachable = tip == first || repo.graph_descendant_of(first, tip).unwrap_or(false);
        if !reachable && !parents.contains(&tip) {
            parents.push(tip);
        }
    }
    let sig = repo
        .signature()
        .or_else(|_| Signature::now("rcd", "rcd@localhost"))
        .map_err(|e| git_err(ctx("making a signature"), e))?;
    if let Some(staged) = staged_tree {
        let head_tree = head
            .and_then(|h| repo.find_commit(h).ok())
            .map(|c| c.tree_id());
        if Some(staged) != head_tree && staged != tree_id {
            let staged_tree = repo
                .find_tree(staged)
                .map_err(|e| git_err(ctx("reading the staged tree"), e))?;
            let head_commit: Vec<git2::Commit> = head
                .and_then(|h| repo.find_commit(h).ok())
                .into_iter()
                .collect();
            let head_refs: Vec<&git2::Commit> = head_commit.iter().collect();
            let msg = format!(
                "rcd: staged changes of session {} at forced removal\n",
                wt.name
            );
            let staged_commit = repo
                .commit(None, &sig, &sig, &msg, &staged_tree, &head_refs)
                .map_err(|e| git_err(ctx("committing the staged changes"), e))?;
            parents.push(staged_commit);
        }
    }

    let parent_commits = parents
        .iter()
        .map(|p| repo.find_commit(*p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| git_err(ctx("reading a parent commit"), e))?;
    let parent_refs: Vec<&git2::Commit> = parent_commits.iter().collect();
    let message = save_message(wt, &reference, inspection, old_saved.is_some());
    let commit = repo
        .commit(None, &sig, &sig, &message, &tree, &parent_refs)
        .map_err(|e| git_err(ctx("writing the commit"), e))?;
    let log = format!("rcd: save worktree of session {}", wt.name);
    match old_saved {
        Some(old) => repo.reference_matching(&reference, commit, true, old, &log),
        None => repo.reference(&reference, commit, false, &log),
    }
    .map_err(|e| git_err(ctx("updating the reference"), e))?;
    Ok((reference, commit))
}

fn save_message(wt: &Worktree, reference: &str, inspection: &Inspection, chained: bool) -> String {
    let what = inspection.reason().unwrap_or_default();
    let mut msg = format!(
        "rcd: saved worktree of session {name} before forced removal\n\
         \n\
         The worktree {path} (branch {branch}, base {base}) had {what}.\n\
         This commit holds its whole working tree, untracked files included;\n\
         its first parent is the commit the worktree was on.\n\
         \n\
         To restore it as a worktree with the changes uncommitted again:\n\
         \n    git worktree add -b {branch} <dir> {reference}\n\
         \x20   git -C <dir> reset --mixed HEAD^\n\
         \n\
         or to look at the changes: git diff {reference}^ {reference}\n",
        name = wt.name,
        path = wt.path.display(),
        branch = wt.branch,
        base = wt.base,
    );
    if chained {
        msg.push_str("\nThe second parent is the previous save of this session name.\n");
    }
    msg
}

/// Untracked or changed paths that are git repositories of their own (nested
/// repositories, submodules) cannot be captured in a commit.
fn refuse_nested_repositories(wt: &Worktree, inspection: &Inspection) -> Result<(), WorktreeError> {
    let nested: Vec<&str> = inspection
        .uncommitted
        .iter()
        .chain(&inspection.untracked)
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| fs::symlink_metadata(wt.path.join(p).join(".git")).is_ok())
        .collect();
    if nested.is_empty() {
        return Ok(());
    }
    Err(WorktreeError::CannotSave {
        path: wt.path.clone(),
        reason: format!("it contains the git repository {}", nested.join(", ")),
    })
}

/// Checks the saved tree matches the working tree (ignored files aside).
fn verify_saved(wtrepo: &Repository, wt: &Worktree, tree_id: Oid) -> Result<(), WorktreeError> {
    let ctx = || format!("checking the saved tree of {}", wt.path.display());
    let tree = wtrepo.find_tree(tree_id).map_err(|e| git_err(ctx(), e))?;
    let mut opts = DiffOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let diff = wtrepo
        .diff_tree_to_workdir(Some(&tree), Some(&mut opts))
        .map_err(|e| git_err(ctx(), e))?;
    let missing: Vec<String> = diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .or(d.old_file().path())
                .map(|p| p.display().to_string())
        })
        .take(5)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(WorktreeError::CannotSave {
        path: wt.path.clone(),
        reason: format!("the saved commit would miss {}", missing.join(", ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use tempfile::TempDir;

    /// Runs git with a fixed identity; panics on failure; returns stdout.
    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.com",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("running git");
        assert!(
            out.status.success(),
            "git {args:?} in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    struct Fixture {
        _tmp: TempDir,
        repo: PathBuf,
        root: PathBuf,
    }

    impl Fixture {
        /// A repository with one commit (README, .gitignore ignoring *.log)
        /// and a worktree root next to it.
        fn new() -> Fixture {
            let tmp = tempfile::tempdir().unwrap();
            let base = tmp.path().canonicalize().unwrap();
            let repo = base.join("repo");
            fs::create_dir(&repo).unwrap();
            git(&repo, &["init", "-q"]);
            fs::write(repo.join("README"), "hello\n").unwrap();
            fs::write(repo.join(".gitignore"), "*.log\ntarget/\n*.o\n").unwrap();
            git(&repo, &["add", "."]);
            git(&repo, &["commit", "-q", "-m", "first"]);
            Fixture {
                _tmp: tmp,
                repo,
                root: base.join("worktrees"),
            }
        }

        fn head(&self) -> String {
            git(&self.repo, &["rev-parse", "HEAD"]).trim().to_owned()
        }

        fn create(&self, name: &str) -> Worktree {
            create(&self.repo, &self.root, name).unwrap()
        }

        fn branch_exists(&self, branch: &str) -> bool {
            Command::new("git")
                .args([
                    "rev-parse",
                    "--verify",
                    "-q",
                    &format!("refs/heads/{branch}"),
                ])
                .current_dir(&self.repo)
                .output()
                .unwrap()
                .status
                .success()
        }

        fn worktree_listed(&self, path: &Path) -> bool {
            let out = git(&self.repo, &["worktree", "list", "--porcelain"]);
            out.lines()
                .any(|l| l.strip_prefix("worktree ") == Some(&*path.to_string_lossy()))
        }

        fn admin_dirs(&self) -> Vec<String> {
            let dir = self.repo.join(".git/worktrees");
            match fs::read_dir(dir) {
                Ok(rd) => rd
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(_) => Vec::new(),
            }
        }

        /// Asserts worktree, metadata and branch are all gone.
        fn assert_gone(&self, wt: &Worktree) {
            assert!(!wt.path.exists(), "{} still exists", wt.path.display());
            assert!(
                !self.worktree_listed(&wt.path),
                "git still lists {}",
                wt.path.display()
            );
            assert!(
                !self.branch_exists(&wt.branch),
                "branch {} still exists",
                wt.branch
            );
            assert!(
                self.admin_dirs().is_empty(),
                "metadata left: {:?}",
                self.admin_dirs()
            );
        }

        /// Asserts worktree, metadata and branch are all still there.
        fn assert_kept(&self, wt: &Worktree) {
            assert!(
                wt.path.join(".git").exists(),
                "{} was removed",
                wt.path.display()
            );
            assert!(
                self.worktree_listed(&wt.path),
                "git lost {}",
                wt.path.display()
            );
            assert!(
                self.branch_exists(&wt.branch),
                "branch {} was deleted",
                wt.branch
            );
        }
    }

    #[test]
    fn create_makes_branch_at_head_outside_repo() {
        let f = Fixture::new();
        let wt = f.create("s1");
        assert_eq!(wt.name, "s1");
        assert_eq!(wt.branch, "rcd/s1");
        assert_eq!(wt.base, f.head());
        assert_eq!(wt.path, f.root.join("s1"));
        assert!(wt.path.is_absolute());
        assert!(
            !wt.path.starts_with(&f.repo),
            "worktree inside the repository"
        );
        assert_eq!(
            fs::read_to_string(wt.path.join("README")).unwrap(),
            "hello\n"
        );
        assert_eq!(
            git(&f.repo, &["rev-parse", "refs/heads/rcd/s1"]).trim(),
            f.head()
        );
        assert_eq!(
            git(&wt.path, &["symbolic-ref", "HEAD"]).trim(),
            "refs/heads/rcd/s1"
        );
        assert_eq!(git(&wt.path, &["status", "--porcelain"]), "");
        assert!(f.worktree_listed(&wt.path));
        assert_eq!(f.admin_dirs(), vec!["rcd-s1".to_owned()]);
        let recorded = fs::read_to_string(f.repo.join(".git/worktrees/rcd-s1/rcd-base")).unwrap();
        assert_eq!(recorded.trim(), f.head());
        // The repository's own work tree does not see it.
        assert_eq!(git(&f.repo, &["status", "--porcelain"]), "");
    }

    #[test]
    fn create_refuses_existing_branch_and_path() {
        let f = Fixture::new();
        git(&f.repo, &["branch", "rcd/taken"]);
        let err = create(&f.repo, &f.root, "taken").unwrap_err();
        assert!(matches!(&err, WorktreeError::BranchExists { branch } if branch == "rcd/taken"));
        let msg = err.to_string();
        assert!(
            msg.contains("rcctl worktrees") && msg.contains("rcctl prune"),
            "{msg}"
        );
        assert!(!f.root.join("taken").exists());
        assert!(f.admin_dirs().is_empty());

        fs::create_dir_all(f.root.join("there")).unwrap();
        let err = create(&f.repo, &f.root, "there").unwrap_err();
        assert!(
            matches!(&err, WorktreeError::PathExists { path } if *path == f.root.join("there"))
        );
        assert!(!f.branch_exists("rcd/there"));
        assert!(f.admin_dirs().is_empty());
    }

    #[test]
    fn create_avoids_stale_admin_name() {
        let f = Fixture::new();
        fs::create_dir_all(f.repo.join(".git/worktrees/rcd-s")).unwrap();
        let wt = f.create("s");
        let mut admins = f.admin_dirs();
        admins.sort();
        assert_eq!(admins, vec!["rcd-s".to_owned(), "rcd-s-2".to_owned()]);
        assert_eq!(list(&f.repo, &f.root).unwrap(), vec![wt]);
    }

    #[test]
    fn clean_worktree_is_removed() {
        let f = Fixture::new();
        let wt = f.create("clean");
        assert!(inspect(&f.repo, &wt).unwrap().is_clean());
        assert_eq!(remove_if_clean(&f.repo, &wt).unwrap(), Outcome::Removed);
        f.assert_gone(&wt);
        // The name can be used again.
        let again = f.create("clean");
        assert_eq!(again, wt);
    }

    #[test]
    fn dirty_tracked_file_is_kept() {
        let f = Fixture::new();
        let wt = f.create("dirty");
        fs::write(wt.path.join("README"), "changed\n").unwrap();
        let outcome = remove_if_clean(&f.repo, &wt).unwrap();
        let Outcome::Kept { inspection } = outcome else {
            panic!("expected Kept, got {outcome:?}");
        };
        assert_eq!(inspection.uncommitted, vec!["README".to_owned()]);
        assert!(inspection.untracked.is_empty());
        assert_eq!(inspection.ahead, 0);
        assert_eq!(inspection.reason().unwrap(), "1 uncommitted change");
        f.assert_kept(&wt);
        assert_eq!(
            fs::read_to_string(wt.path.join("README")).unwrap(),
            "changed\n"
        );
    }

    #[test]
    fn staged_and_deleted_files_are_uncommitted() {
        let f = Fixture::new();
        let wt = f.create("staged");
        fs::write(wt.path.join("new.txt"), "x").unwrap();
        git(&wt.path, &["add", "new.txt"]);
        fs::remove_file(wt.path.join("README")).unwrap();
        let inspection = inspect(&f.repo, &wt).unwrap();
        assert_eq!(
            inspection.uncommitted,
            vec!["README".to_owned(), "new.txt".to_owned()]
        );
        assert!(inspection.untracked.is_empty());
        assert!(matches!(
            remove_if_clean(&f.repo, &wt).unwrap(),
            Outcome::Kept { .. }
        ));
        f.assert_kept(&wt);
        assert!(wt.path.join("new.txt").exists());
    }

    #[test]
    fn untracked_file_is_kept() {
        let f = Fixture::new();
        let wt = f.create("untracked");
        fs::create_dir_all(wt.path.join("sub/deeper")).unwrap();
        fs::write(wt.path.join("sub/deeper/notes.txt"), "mine").unwrap();
        fs::write(wt.path.join("top.txt"), "mine").unwrap();
        let outcome = remove_if_clean(&f.repo, &wt).unwrap();
        let Outcome::Kept { inspection } = outcome else {
            panic!("expected Kept, got {outcome:?}");
        };
        assert_eq!(
            inspection.untracked,
            vec!["sub/deeper/notes.txt".to_owned(), "top.txt".to_owned()]
        );
        assert!(inspection.uncommitted.is_empty());
        assert_eq!(inspection.reason().unwrap(), "2 untracked files");
        f.assert_kept(&wt);
        assert!(wt.path.join("sub/deeper/notes.txt").exists());
    }

    #[test]
    fn ignored_build_output_only_is_removed() {
        let f = Fixture::new();
        let wt = f.create("ignored");
        fs::create_dir_all(wt.path.join("target/debug")).unwrap();
        fs::write(wt.path.join("target/debug/app"), "noise").unwrap();
        fs::write(wt.path.join("main.o"), "noise").unwrap();
        assert!(inspect(&f.repo, &wt).unwrap().is_clean());
        assert_eq!(remove_if_clean(&f.repo, &wt).unwrap(), Outcome::Removed);
        f.assert_gone(&wt);
    }

    #[test]
    fn ignored_files_that_are_not_build_output_are_work() {
        let f = Fixture::new();
        let wt = f.create("envfile");
        fs::create_dir_all(wt.path.join("logs")).unwrap();
        fs::write(wt.path.join("logs/a.log"), "notes").unwrap();
        let outcome = remove_if_clean(&f.repo, &wt).unwrap();
        let Outcome::Kept { inspection } = outcome else {
            panic!("expected Kept, got {outcome:?}");
        };
        assert_eq!(inspection.ignored, vec!["logs/a.log".to_string()]);
        assert!(inspection.reason().unwrap().contains("1 ignored file"));
        assert!(wt.path.join("logs/a.log").exists());
        assert!(regenerable("node_modules/x/y.js"));
        assert!(regenerable("a/__pycache__/m.pyc"));
        assert!(!regenerable(".env"));
    }

    #[test]
    fn commit_ahead_is_kept() {
        let f = Fixture::new();
        let wt = f.create("ahead");
        fs::write(wt.path.join("work.txt"), "work").unwrap();
        git(&wt.path, &["add", "work.txt"]);
        git(&wt.path, &["commit", "-q", "-m", "work"]);
        let outcome = remove_if_clean(&f.repo, &wt).unwrap();
        let Outcome::Kept { inspection } = outcome else {
            panic!("expected Kept, got {outcome:?}");
        };
        assert_eq!(inspection.ahead, 1);
        assert!(inspection.uncommitted.is_empty() && inspection.untracked.is_empty());
        assert_eq!(inspection.reason().unwrap(), "1 commit not on its base");
        f.assert_kept(&wt);
    }

    #[test]
    fn commit_merged_into_main_is_removed() {
        let f = Fixture::new();
        let wt = f.create("merged");
        fs::write(wt.path.join("work.txt"), "work").unwrap();
        git(&wt.path, &["add", "work.txt"]);
        git(&wt.path, &["commit", "-q", "-m", "work"]);
        git(&f.repo, &["merge", "-q", "--ff-only", "rcd/merged"]);
        assert_eq!(inspect(&f.repo, &wt).unwrap().ahead, 0);
        assert_eq!(remove_if_clean(&f.repo, &wt).unwrap(), Outcome::Removed);
        f.assert_gone(&wt);
        assert!(f.repo.join("work.txt").exists());
    }

    #[test]
    fn detached_head_commits_count() {
        let f = Fixture::new();
        let wt = f.create("detached");
        git(&wt.path, &["checkout", "-q", "--detach"]);
        fs::write(wt.path.join("a.txt"), "a").unwrap();
        git(&wt.path, &["add", "a.txt"]);
        git(&wt.path, &["commit", "-q", "-m", "a"]);
        fs::write(wt.path.join("b.txt"), "b").unwrap();
        git(&wt.path, &["add", "b.txt"]);
        git(&wt.path, &["commit", "-q", "-m", "b"]);
        // The branch itself did not move.
        assert_eq!(git(&f.repo, &["rev-parse", "rcd/detached"]).trim(), wt.base);
        let inspection = inspect(&f.repo, &wt).unwrap();
        assert_eq!(inspection.ahead, 2);
        assert_eq!(inspection.reason().unwrap(), "2 commits not on its base");
        assert!(matches!(
            remove_if_clean(&f.repo, &wt).unwrap(),
            Outcome::Kept { .. }
        ));
        assert!(wt.path.join("b.txt").exists());
    }

    #[test]
    fn main_head_moving_on_does_not_count() {
        let f = Fixture::new();
        let wt = f.create("behind");
        fs::write(f.repo.join("main.txt"), "m").unwrap();
        git(&f.repo, &["add", "main.txt"]);
        git(&f.repo, &["commit", "-q", "-m", "main moves"]);
        assert!(inspect(&f.repo, &wt).unwrap().is_clean());
        assert_eq!(remove_if_clean(&f.repo, &wt).unwrap(), Outcome::Removed);
        f.assert_gone(&wt);
    }

    #[test]
    fn deleted_directory_prunes_metadata() {
        let f = Fixture::new();
        let wt = f.create("gone");
        fs::remove_dir_all(&wt.path).unwrap();
        assert!(f.worktree_listed(&wt.path));
        assert_eq!(list(&f.repo, &f.root).unwrap(), vec![wt.clone()]);
        assert_eq!(remove_if_clean(&f.repo, &wt).unwrap(), Outcome::Removed);
        f.assert_gone(&wt);
        assert!(list(&f.repo, &f.root).unwrap().is_empty());
    }

    #[test]
    fn deleted_directory_with_commits_is_kept() {
        let f = Fixture::new();
        let wt = f.create("gone2");
        fs::write(wt.path.join("work.txt"), "work").unwrap();
        git(&wt.path, &["add", "work.txt"]);
        git(&wt.path, &["commit", "-q", "-m", "work"]);
        fs::remove_dir_all(&wt.path).unwrap();
        let outcome = remove_if_clean(&f.repo, &wt).unwrap();
        assert_eq!(
            outcome,
            Outcome::Kept {
                inspection: Inspection {
                    ahead: 1,
                    ..Inspection::default()
                }
            }
        );
        assert!(f.branch_exists("rcd/gone2"));
        assert!(f.worktree_listed(&wt.path));

        // Forcing saves the commit before removing the branch.
        let tip = git(&f.repo, &["rev-parse", "rcd/gone2"]).trim().to_owned();
        let Outcome::Saved { reference, commit } = force_remove(&f.repo, &wt).unwrap() else {
            panic!("expected Saved");
        };
        assert_eq!(reference, "refs/rcd/saved/gone2");
        assert_eq!(
            git(&f.repo, &["rev-parse", &format!("{commit}^1")]).trim(),
            tip
        );
        f.assert_gone(&wt);
    }

    #[test]
    fn foreign_directory_is_never_touched() {
        let f = Fixture::new();
        let wt = f.create("foreign");
        let fake = Worktree {
            name: "other".into(),
            path: f.root.join("other"),
            branch: "rcd/other".into(),
            base: wt.base.clone(),
        };
        fs::create_dir_all(&fake.path).unwrap();
        fs::write(fake.path.join("precious"), "x").unwrap();
        let err = remove_if_clean(&f.repo, &fake).unwrap_err();
        assert!(matches!(err, WorktreeError::NotAWorktree { .. }), "{err}");
        let err = force_remove(&f.repo, &fake).unwrap_err();
        assert!(matches!(err, WorktreeError::NotAWorktree { .. }), "{err}");
        assert!(fake.path.join("precious").exists());
        // Nor is the repository itself, passed as a worktree.
        let main = Worktree {
            path: f.repo.clone(),
            ..fake
        };
        assert!(matches!(
            force_remove(&f.repo, &main).unwrap_err(),
            WorktreeError::NotAWorktree { .. }
        ));
        assert!(f.repo.join("README").exists());
    }

    #[test]
    fn force_remove_saves_everything() {
        let f = Fixture::new();
        let wt = f.create("forced");
        fs::write(wt.path.join("README"), "modified\n").unwrap();
        fs::create_dir_all(wt.path.join("dir")).unwrap();
        fs::write(wt.path.join("dir/untracked.txt"), "new file\n").unwrap();
        fs::write(wt.path.join(".hidden"), "dot\n").unwrap();
        fs::write(wt.path.join("debug.log"), "ignored\n").unwrap();
        fs::create_dir_all(wt.path.join("target")).unwrap();
        fs::write(wt.path.join("target/out.bin"), "build output\n").unwrap();
        let index_before = fs::read(f.repo.join(".git/worktrees/rcd-forced/index")).unwrap();

        let outcome = force_remove(&f.repo, &wt).unwrap();
        let Outcome::Saved { reference, commit } = outcome else {
            panic!("expected Saved, got {outcome:?}");
        };
        assert_eq!(reference, "refs/rcd/saved/forced");
        assert_eq!(git(&f.repo, &["rev-parse", &reference]).trim(), commit);
        assert_eq!(
            git(&f.repo, &["rev-parse", &format!("{commit}^1")]).trim(),
            wt.base
        );
        assert_eq!(
            git(&f.repo, &["show", &format!("{commit}:README")]),
            "modified\n"
        );
        assert_eq!(
            git(&f.repo, &["show", &format!("{commit}:dir/untracked.txt")]),
            "new file\n"
        );
        assert_eq!(
            git(&f.repo, &["show", &format!("{commit}:.hidden")]),
            "dot\n"
        );
        let files = git(&f.repo, &["ls-tree", "-r", "--name-only", &commit]);
        assert!(files.contains("debug.log"), "ignored work saved: {files}");
        assert!(
            !files.contains("target/"),
            "build output not saved: {files}"
        );
        let message = git(&f.repo, &["log", "-1", "--format=%B", &commit]);
        assert!(message.contains("session forced"), "{message}");
        assert!(message.contains("git worktree add"), "{message}");
        // Only one parent: nothing was staged, no earlier save.
        assert!(
            Command::new("git")
                .args(["rev-parse", "-q", "--verify", &format!("{commit}^2")])
                .current_dir(&f.repo)
                .output()
                .unwrap()
                .stdout
                .is_empty()
        );
        f.assert_gone(&wt);
        // The (now deleted) index was not modified by the save.
        assert!(!index_before.is_empty());

        // A second save under the same name chains the first one.
        let wt2 = f.create("forced");
        fs::write(wt2.path.join("second.txt"), "2\n").unwrap();
        fs::remove_file(wt2.path.join("README")).unwrap();
        let Outcome::Saved {
            commit: commit2, ..
        } = force_remove(&f.repo, &wt2).unwrap()
        else {
            panic!("expected Saved");
        };
        assert_ne!(commit, commit2);
        assert_eq!(git(&f.repo, &["rev-parse", &reference]).trim(), commit2);
        assert_eq!(
            git(&f.repo, &["rev-parse", &format!("{commit2}^1")]).trim(),
            wt2.base
        );
        assert_eq!(
            git(&f.repo, &["rev-parse", &format!("{commit2}^2")]).trim(),
            commit
        );
        assert_eq!(
            git(&f.repo, &["show", &format!("{commit2}:second.txt")]),
            "2\n"
        );
        let files = git(&f.repo, &["ls-tree", "-r", "--name-only", &commit2]);
        assert_eq!(files, ".gitignore\nsecond.txt\n");
        f.assert_gone(&wt2);
    }

    #[test]
    fn force_remove_keeps_index_and_commits() {
        let f = Fixture::new();
        let wt = f.create("mixed");
        fs::write(wt.path.join("c.txt"), "committed\n").unwrap();
        git(&wt.path, &["add", "c.txt"]);
        git(&wt.path, &["commit", "-q", "-m", "c"]);
        let tip = git(&wt.path, &["rev-parse", "HEAD"]).trim().to_owned();
        // Staged one content, then changed it again in the work tree.
        fs::write(wt.path.join("README"), "staged\n").unwrap();
        git(&wt.path, &["add", "README"]);
        fs::write(wt.path.join("README"), "worktree\n").unwrap();
        let index_file = f.repo.join(".git/worktrees/rcd-mixed/index");
        let index_before = fs::read(&index_file).unwrap();
        let staged_before = git(&wt.path, &["diff", "--cached", "--name-only"]);
        let inspection = inspect(&f.repo, &wt).unwrap();
        assert_eq!(inspection.ahead, 1);
        assert_eq!(inspection.uncommitted, vec!["README".to_owned()]);

        // Saving alone (no removal) leaves index and work tree as they were.
        let repo = Repository::open(&f.repo).unwrap();
        let loc = locate(&repo, &f.repo, &wt).unwrap();
        let (_, first_save) = save(&repo, &wt, &loc, &inspection).unwrap();
        drop(loc);
        assert_eq!(fs::read(&index_file).unwrap(), index_before);
        assert_eq!(
            git(&wt.path, &["diff", "--cached", "--name-only"]),
            staged_before
        );
        assert_eq!(
            fs::read_to_string(wt.path.join("README")).unwrap(),
            "worktree\n"
        );
        f.assert_kept(&wt);
        git(&f.repo, &["update-ref", "-d", "refs/rcd/saved/mixed"]);
        assert_eq!(
            git(&f.repo, &["show", &format!("{first_save}:README")]),
            "worktree\n"
        );

        let Outcome::Saved { commit, .. } = force_remove(&f.repo, &wt).unwrap() else {
            panic!("expected Saved");
        };
        assert_eq!(
            git(&f.repo, &["rev-parse", &format!("{commit}^1")]).trim(),
            tip
        );
        assert_eq!(
            git(&f.repo, &["show", &format!("{commit}:README")]),
            "worktree\n"
        );
        // The staged state is the extra parent.
        assert_eq!(
            git(&f.repo, &["show", &format!("{commit}^2:README")]),
            "staged\n"
        );
        f.assert_gone(&wt);
    }

    #[test]
    fn force_remove_refuses_nested_repository() {
        let f = Fixture::new();
        let wt = f.create("nested");
        let inner = wt.path.join("inner");
        fs::create_dir_all(&inner).unwrap();
        git(&inner, &["init", "-q"]);
        fs::write(inner.join("x"), "x").unwrap();
        git(&inner, &["add", "x"]);
        git(&inner, &["commit", "-q", "-m", "x"]);
        let err = force_remove(&f.repo, &wt).unwrap_err();
        assert!(matches!(err, WorktreeError::CannotSave { .. }), "{err}");
        assert!(err.to_string().contains("inner"), "{err}");
        f.assert_kept(&wt);
        assert!(inner.join("x").exists());
        assert!(
            Command::new("git")
                .args(["rev-parse", "-q", "--verify", "refs/rcd/saved/nested"])
                .current_dir(&f.repo)
                .output()
                .unwrap()
                .stdout
                .is_empty()
        );
    }

    #[test]
    fn force_remove_clean_just_removes() {
        let f = Fixture::new();
        let wt = f.create("tidy");
        fs::create_dir_all(wt.path.join("target")).unwrap();
        fs::write(wt.path.join("target/x"), "build output").unwrap();
        assert_eq!(force_remove(&f.repo, &wt).unwrap(), Outcome::Removed);
        f.assert_gone(&wt);
        let refs = git(&f.repo, &["for-each-ref", "refs/rcd/"]);
        assert_eq!(refs, "");
    }

    #[test]
    fn list_finds_worktrees_with_base() {
        let f = Fixture::new();
        assert!(list(&f.repo, &f.root).unwrap().is_empty());
        let b = f.create("b");
        let base = f.head();
        fs::write(f.repo.join("more.txt"), "m").unwrap();
        git(&f.repo, &["add", "more.txt"]);
        git(&f.repo, &["commit", "-q", "-m", "more"]);
        let a = f.create("a");
        assert_ne!(a.base, b.base);
        assert_eq!(b.base, base);
        // Not ours: another root, and a plain git worktree under root.
        let other_root = f.root.parent().unwrap().join("elsewhere");
        let c = create(&f.repo, &other_root, "c").unwrap();
        git(
            &f.repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "manual",
                f.root.join("manual").to_str().unwrap(),
            ],
        );

        let found = list(&f.repo, &f.root).unwrap();
        assert_eq!(found, vec![a.clone(), b.clone()]);
        assert_eq!(list(&f.repo, &other_root).unwrap(), vec![c]);

        // Without the record, the merge base is the fallback.
        fs::remove_file(f.repo.join(".git/worktrees/rcd-b/rcd-base")).unwrap();
        let found = list(&f.repo, &f.root).unwrap();
        assert_eq!(found[1].base, base);
        // Switching branch inside the worktree keeps it listed.
        git(&a.path, &["checkout", "-q", "-b", "feature"]);
        assert_eq!(list(&f.repo, &f.root).unwrap()[0], a);
    }

    #[test]
    fn check_repository_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let plain = tmp.path().join("plain");
        fs::create_dir(&plain).unwrap();
        let err = check_repository(&plain).unwrap_err();
        assert!(
            matches!(err, WorktreeError::NotARepository { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("is not a git repository"), "{msg}");
        assert!(
            msg.contains("git init") && msg.contains("--spawn same-dir"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));

        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        git(&empty, &["init", "-q"]);
        let err = check_repository(&empty).unwrap_err();
        assert!(matches!(err, WorktreeError::NoCommit { .. }), "{err:?}");
        assert!(err.to_string().contains("make a first commit"), "{err}");
        assert!(matches!(
            create(&empty, &tmp.path().join("wts"), "x").unwrap_err(),
            WorktreeError::NoCommit { .. }
        ));

        let f = Fixture::new();
        assert_eq!(check_repository(&f.repo).unwrap(), f.repo);
        assert_eq!(check_repository(&f.repo.join(".git")).unwrap(), f.repo);
        let sub = f.repo.join("sub");
        fs::create_dir(&sub).unwrap();
        let err = check_repository(&sub).unwrap_err();
        assert!(matches!(err, WorktreeError::NotTopLevel { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&*f.repo.to_string_lossy()),
            "{err}"
        );
        // A session worktree is itself a valid daemon directory.
        let wt = f.create("inner");
        assert_eq!(check_repository(&wt.path).unwrap(), wt.path);
    }

    #[test]
    fn create_rejects_invalid_branch_name() {
        let f = Fixture::new();
        let err = create(&f.repo, &f.root, "bad.lock").unwrap_err();
        assert!(matches!(err, WorktreeError::Git { .. }), "{err:?}");
        assert!(err.to_string().contains("choose another"), "{err}");
        assert!(!f.root.join("bad.lock").exists());
        assert!(f.admin_dirs().is_empty());
    }

    #[test]
    fn reason_wording() {
        let mut i = Inspection::default();
        assert!(i.is_clean());
        assert_eq!(i.reason(), None);
        i.uncommitted = vec!["a".into(), "b".into()];
        i.untracked = vec!["c".into()];
        i.ahead = 3;
        assert!(!i.is_clean());
        assert_eq!(
            i.reason().unwrap(),
            "2 uncommitted changes, 1 untracked file, 3 commits not on its base"
        );
        i.uncommitted.truncate(1);
        i.untracked.push("d".into());
        i.ahead = 1;
        assert_eq!(
            i.reason().unwrap(),
            "1 uncommitted change, 2 untracked files, 1 commit not on its base"
        );
    }
}
