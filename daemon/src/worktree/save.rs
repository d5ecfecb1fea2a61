//! The commit a forced removal saves under `refs/rcd/saved/<name>`: the
//! whole working tree (untracked and ignored work included, build output
//! not), with the worktree's `HEAD`, an earlier save, the branch tip and
//! the staged state as parents.

use std::fs;

use git2::{DiffOptions, IndexAddOption, Oid, Repository, Signature};

use super::error::{WorktreeError, git_err};
use super::inspect::Inspection;
use super::repo::{Located, branch_tip, worktree_head};
use super::{SAVED_PREFIX, Worktree};

/// Saves everything a removal would destroy as a commit under
/// `refs/rcd/saved/<name>`. Returns the reference and the commit.
pub(super) fn save(
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
    use crate::worktree::fixture::{Fixture, git};
    use crate::worktree::repo::locate;
    use crate::worktree::{Outcome, force_remove, inspect};
    use std::process::Command;

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
}
