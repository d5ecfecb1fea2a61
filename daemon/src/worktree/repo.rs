//! Opening the repository (never discovered upward) and locating a session
//! worktree in it: on disk, in git's worktree list, and its `HEAD`.

use std::fs;
use std::path::{Component, Path, PathBuf};

use git2::{ErrorCode, Oid, Repository};

use super::Worktree;
use super::error::{WorktreeError, git_err, io_err};

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

/// Opens exactly `dir` (no upward discovery), requiring a work tree.
pub(super) fn open_repo(dir: &Path) -> Result<Repository, WorktreeError> {
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

pub(super) fn head_commit<'r>(
    repo: &'r Repository,
    dir: &Path,
) -> Result<git2::Commit<'r>, WorktreeError> {
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
pub(super) fn normalize(p: &Path) -> PathBuf {
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

/// The content of a worktree's `HEAD` file in its administrative directory.
#[derive(Debug)]
pub(super) enum AdminHead {
    Ref(String),
    Detached(Oid),
}

impl AdminHead {
    pub(super) fn commit(&self, repo: &Repository) -> Option<Oid> {
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

pub(super) fn read_admin_head(admin_dir: &Path) -> Option<AdminHead> {
    let text = fs::read_to_string(admin_dir.join("HEAD")).ok()?;
    let text = text.trim();
    match text.strip_prefix("ref:") {
        Some(r) => Some(AdminHead::Ref(r.trim().to_owned())),
        None => Oid::from_str(text).ok().map(AdminHead::Detached),
    }
}

pub(super) fn branch_tip(repo: &Repository, branch: &str) -> Option<Oid> {
    repo.find_reference(&format!("refs/heads/{branch}"))
        .ok()?
        .peel_to_commit()
        .ok()
        .map(|c| c.id())
}

/// Where a worktree stands on disk and in git.
pub(super) struct Located {
    /// The worktree opened as a repository, when its directory exists.
    pub(super) wtrepo: Option<Repository>,
    /// Name of the git worktree (administrative directory), when known.
    pub(super) admin: Option<String>,
}

pub(super) fn locate(
    repo: &Repository,
    repo_dir: &Path,
    wt: &Worktree,
) -> Result<Located, WorktreeError> {
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
pub(super) fn worktree_head(repo: &Repository, loc: &Located) -> Option<Oid> {
    match &loc.wtrepo {
        Some(wtrepo) => wtrepo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .map(|c| c.id()),
        None => read_admin_head(&admin_dir(repo, loc.admin.as_deref()?))?.commit(repo),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worktree::create;
    use crate::worktree::fixture::{Fixture, git};

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
}
