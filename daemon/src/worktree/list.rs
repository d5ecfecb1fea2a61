//! Finding the session worktrees of a repository again, from git's own
//! worktree list (so the list survives a lost state file).

use std::path::Path;

use super::base::read_base;
use super::error::{WorktreeError, git_err, io_err};
use super::repo::{AdminHead, branch_tip, normalize, open_repo, read_admin_head};
use super::{ADMIN_PREFIX, BRANCH_PREFIX, Worktree};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worktree::create;
    use crate::worktree::fixture::{Fixture, git};
    use std::fs;

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
}
