//! Creating a session worktree: a linked git worktree on a new branch
//! `rcd/<name>` at the repository's `HEAD`, outside the repository.

use std::fs;
use std::io;
use std::path::Path;

use git2::build::CheckoutBuilder;
use git2::{BranchType, Commit, ErrorCode, Repository, TreeWalkMode, TreeWalkResult};

use super::base::record_base;
use super::error::{WorktreeError, git_err, io_err};
use super::repo::{head_commit, open_repo};
use super::{ADMIN_PREFIX, BRANCH_PREFIX, Worktree};

/// How many numbered alternatives of the administrative name are tried.
const MAX_ADMIN_SUFFIX: u32 = 1000;

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
    let (branch, refname) = branch_for(name)?;
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

    match repo.branch(&branch, &head, false) {
        Ok(_) => {}
        Err(e) if e.code() == ErrorCode::Exists => {
            return Err(WorktreeError::BranchExists { branch });
        }
        Err(e) => return Err(git_err(format!("creating branch {branch}"), e)),
    }

    let result = (|| {
        add_linked(&admin_dir, &path, &refname).map_err(|e| {
            io_err(
                format!(
                    "creating git worktree {} for branch {branch}",
                    path.display()
                ),
                e,
            )
        })?;
        check_out(&repo, &path, &head)
            .map_err(|e| git_err(format!("checking out {branch} in {}", path.display()), e))?;
        fs::remove_file(admin_dir.join(LOCKED))
            .map_err(|e| io_err(format!("unlocking {}", admin_dir.display()), e))?;
        record_base(&admin_dir, base)?;
        path.canonicalize()
            .map_err(|e| io_err(format!("resolving {}", path.display()), e))
    })();

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

/// The branch of session `name`'s worktree, `rcd/<name>`, and its full
/// ref name; an error when git would not take it as a branch.
pub fn branch_for(name: &str) -> Result<(String, String), WorktreeError> {
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
    Ok((branch, refname))
}

/// The file that keeps `git worktree prune` away from a worktree while it is
/// being made (gitrepository-layout(5)).
const LOCKED: &str = "locked";

/// Lays out a linked worktree at `path` on `refname`, without its files:
/// the administrative directory (`gitdir`, `commondir`, `HEAD`, and `locked`
/// until the checkout is done) and the `.git` file that points to it, as
/// `git worktree add --no-checkout` does (gitrepository-layout(5)).
///
/// rcd checks the files out itself ([`check_out`]): libgit2's worktree add
/// checks out with every content filter on, which looks up attributes for
/// each file even in a repository that has none, and that lookup was half of
/// the time a new worktree session took on 20,000 files.
fn add_linked(admin_dir: &Path, path: &Path, refname: &str) -> io::Result<()> {
    if let Some(parent) = admin_dir.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::create_dir(admin_dir)?;
    fs::write(admin_dir.join(LOCKED), "initializing\n")?;
    fs::write(admin_dir.join("commondir"), "../..\n")?;
    fs::write(
        admin_dir.join("gitdir"),
        format!("{}\n", path.join(".git").display()),
    )?;
    fs::write(admin_dir.join("HEAD"), format!("ref: {refname}\n"))?;
    fs::create_dir(path)?;
    fs::write(
        path.join(".git"),
        format!("gitdir: {}\n", admin_dir.display()),
    )
}

/// Checks out `head` into the new worktree at `path` and writes its index.
/// Content filters (line endings, `ident`) run only where something could
/// ask for them: see [`filters_may_apply`].
fn check_out(repo: &Repository, path: &Path, head: &Commit<'_>) -> Result<(), git2::Error> {
    let wt = Repository::open(path)?;
    if !filters_may_apply(repo, head)? {
        return super::checkout::check_out(repo.path(), &wt, &head.tree()?);
    }
    let mut opts = CheckoutBuilder::new();
    opts.safe();
    wt.checkout_head(Some(&mut opts))
}

/// Whether any of libgit2's content filters could change a file on its way
/// out: only line-ending conversion (`core.autocrlf`, `core.eol`, or the
/// `text`/`eol` attributes) and the `ident` attribute exist, so with no such
/// setting and no attributes anywhere (no `.gitattributes` in the tree, no
/// `info/attributes`, no global attributes file) every filter is a no-op.
fn filters_may_apply(repo: &Repository, head: &Commit<'_>) -> Result<bool, git2::Error> {
    let config = repo.config()?;
    let autocrlf = match config.get_bool("core.autocrlf") {
        Ok(on) => on,
        Err(e) if e.code() == ErrorCode::NotFound => false,
        // `input` and other values that are not booleans convert.
        Err(_) => true,
    };
    if autocrlf || config.get_entry("core.eol").is_ok() {
        return Ok(true);
    }
    if repo.commondir().join("info/attributes").exists() {
        return Ok(true);
    }
    let global = match config.get_path("core.attributesfile") {
        Ok(p) => Some(p),
        Err(_) => std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
            .map(|c| c.join("git/attributes")),
    };
    if global.is_some_and(|p| p.exists()) {
        return Ok(true);
    }
    let mut found = false;
    head.tree()?
        .walk(TreeWalkMode::PreOrder, |_, entry| {
            if entry.name_bytes() == b".gitattributes" {
                found = true;
                TreeWalkResult::Abort
            } else {
                TreeWalkResult::Ok
            }
        })
        .or_else(|e| if found { Ok(()) } else { Err(e) })?;
    Ok(found)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worktree::fixture::{Fixture, git};
    use crate::worktree::list;

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
    fn create_rejects_invalid_branch_name() {
        let f = Fixture::new();
        let err = create(&f.repo, &f.root, "bad.lock").unwrap_err();
        assert!(matches!(err, WorktreeError::Git { .. }), "{err:?}");
        assert!(err.to_string().contains("choose another"), "{err}");
        assert!(!f.root.join("bad.lock").exists());
        assert!(f.admin_dirs().is_empty());
    }

    #[test]
    fn create_leaves_no_lock_and_an_index_git_trusts() {
        let f = Fixture::new();
        let wt = f.create("plain");
        assert!(!f.repo.join(".git/worktrees/rcd-plain/locked").exists());
        // The index carries the files' stat data: git finds nothing to
        // refresh, and a change is seen.
        assert_eq!(git(&wt.path, &["diff-files", "--name-only"]), "");
        fs::write(wt.path.join("README"), "changed\n").unwrap();
        assert_eq!(git(&wt.path, &["status", "--porcelain"]), " M README\n");
        assert_eq!(
            git(&f.repo, &["worktree", "list", "--porcelain"])
                .lines()
                .filter(|l| l.starts_with("locked"))
                .count(),
            0
        );
    }

    #[test]
    fn create_checks_out_modes_links_and_submodules_as_git_would() {
        use std::os::unix::fs::PermissionsExt;
        let f = Fixture::new();
        fs::create_dir_all(f.repo.join("a/b/c")).unwrap();
        fs::write(f.repo.join("a/b/c/deep.txt"), "deep\n").unwrap();
        fs::write(f.repo.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
        fs::set_permissions(f.repo.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("a/b/c/deep.txt", f.repo.join("link")).unwrap();
        fs::write(f.repo.join("empty"), "").unwrap();
        git(&f.repo, &["add", "."]);
        let head = git(&f.repo, &["rev-parse", "HEAD"]);
        let cacheinfo = format!("160000,{},vendor/sub", head.trim());
        git(
            &f.repo,
            &["update-index", "--add", "--cacheinfo", &cacheinfo],
        );
        git(&f.repo, &["commit", "-q", "-m", "kinds"]);
        let wt = f.create("kinds");
        let p = &wt.path;
        assert_eq!(
            fs::read_to_string(p.join("a/b/c/deep.txt")).unwrap(),
            "deep\n"
        );
        let mode = fs::metadata(p.join("run.sh")).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111 & !umask(), "executable: {mode:o}");
        assert_eq!(
            fs::read_link(p.join("link")).unwrap(),
            Path::new("a/b/c/deep.txt")
        );
        assert!(p.join("vendor/sub").is_dir());
        assert_eq!(fs::read(p.join("empty")).unwrap(), b"");
        // git trusts the index as it is: nothing to refresh, nothing changed.
        assert_eq!(git(p, &["diff-files", "--name-only"]), "");
        assert_eq!(git(p, &["status", "--porcelain"]), "");
        assert_eq!(
            git(p, &["ls-files", "-s", "vendor/sub"])
                .split_whitespace()
                .next(),
            Some("160000")
        );
    }

    /// The process's umask, read without changing it (other tests run
    /// beside this one).
    fn umask() -> u32 {
        let status = fs::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .unwrap();
        u32::from_str_radix(line.trim(), 8).unwrap()
    }

    #[test]
    fn create_applies_line_endings_an_attribute_asks_for() {
        let f = Fixture::new();
        fs::create_dir(f.repo.join("deep")).unwrap();
        fs::write(f.repo.join("deep/.gitattributes"), "*.bat text eol=crlf\n").unwrap();
        fs::write(f.repo.join("deep/run.bat"), "one\ntwo\n").unwrap();
        fs::write(f.repo.join("deep/plain.txt"), "one\ntwo\n").unwrap();
        git(&f.repo, &["add", "."]);
        git(&f.repo, &["commit", "-q", "-m", "attributes"]);
        let wt = f.create("crlf");
        assert_eq!(
            fs::read(wt.path.join("deep/run.bat")).unwrap(),
            b"one\r\ntwo\r\n"
        );
        assert_eq!(
            fs::read(wt.path.join("deep/plain.txt")).unwrap(),
            b"one\ntwo\n"
        );
        assert_eq!(git(&wt.path, &["status", "--porcelain"]), "");
    }

    #[test]
    fn create_applies_line_endings_the_config_asks_for() {
        let f = Fixture::new();
        git(&f.repo, &["config", "core.autocrlf", "true"]);
        fs::write(f.repo.join("notes.txt"), "a\nb\n").unwrap();
        git(&f.repo, &["add", "."]);
        git(&f.repo, &["commit", "-q", "-m", "notes"]);
        let wt = f.create("autocrlf");
        assert_eq!(fs::read(wt.path.join("notes.txt")).unwrap(), b"a\r\nb\r\n");
    }
}
