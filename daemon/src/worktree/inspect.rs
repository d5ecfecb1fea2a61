//! What a worktree holds that would be lost if it were removed: changes,
//! untracked and ignored files that are not build output, commits not on
//! its base.

use std::collections::BTreeSet;
use std::path::Path;

use git2::{Oid, Repository, Sort, Status, StatusOptions};
use serde::{Deserialize, Serialize};

use super::Worktree;
use super::error::{WorktreeError, git_err};
use super::repo::{Located, branch_tip, locate, open_repo, worktree_head};

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

/// Inspects a worktree: what would be lost if it were removed now.
///
/// When the worktree directory is gone only commits can be counted.
pub fn inspect(repo_dir: &Path, wt: &Worktree) -> Result<Inspection, WorktreeError> {
    let repo = open_repo(repo_dir)?;
    let loc = locate(&repo, repo_dir, wt)?;
    inspect_located(&repo, wt, &loc)
}

pub(super) fn inspect_located(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worktree::fixture::{Fixture, git};
    use crate::worktree::{Outcome, remove_if_clean};
    use std::fs;

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
