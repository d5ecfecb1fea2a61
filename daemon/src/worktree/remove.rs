//! The rule that guards worktrees: remove one only when nothing would be
//! lost ([`remove_if_clean`]), or save everything first ([`force_remove`]).

use std::fs;
use std::path::Path;

use git2::{BranchType, ErrorCode, Repository, WorktreePruneOptions};

use super::error::{WorktreeError, git_err, io_err};
use super::inspect::inspect_located;
use super::repo::{Located, locate, open_repo};
use super::save::save;
use super::{Outcome, Worktree};

/// Applies the rule: removes worktree directory, git metadata and branch only
/// when [`super::inspect()`] finds nothing to lose; otherwise returns
/// [`Outcome::Kept`] and changes nothing.
///
/// When the directory is already gone, the git metadata is pruned and the
/// branch deleted when no commit is off base ([`Outcome::Removed`]);
/// otherwise nothing is touched ([`Outcome::Kept`] with `ahead > 0`), which
/// keeps the worktree visible to [`super::list()`] and its `HEAD` recorded.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worktree::fixture::{Fixture, git};
    use crate::worktree::{Inspection, inspect, list};

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
}
