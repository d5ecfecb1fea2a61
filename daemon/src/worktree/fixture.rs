//! The test fixture of the worktree tests: a repository with one commit,
//! a worktree root next to it, and git run with a fixed identity.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::{Worktree, create};

/// Runs git with a fixed identity; panics on failure; returns stdout.
pub(super) fn git(dir: &Path, args: &[&str]) -> String {
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

pub(super) struct Fixture {
    _tmp: TempDir,
    pub(super) repo: PathBuf,
    pub(super) root: PathBuf,
}

impl Fixture {
    /// A repository with one commit (README, .gitignore ignoring *.log)
    /// and a worktree root next to it.
    pub(super) fn new() -> Fixture {
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

    pub(super) fn head(&self) -> String {
        git(&self.repo, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub(super) fn create(&self, name: &str) -> Worktree {
        create(&self.repo, &self.root, name).unwrap()
    }

    pub(super) fn branch_exists(&self, branch: &str) -> bool {
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

    pub(super) fn worktree_listed(&self, path: &Path) -> bool {
        let out = git(&self.repo, &["worktree", "list", "--porcelain"]);
        out.lines()
            .any(|l| l.strip_prefix("worktree ") == Some(&*path.to_string_lossy()))
    }

    pub(super) fn admin_dirs(&self) -> Vec<String> {
        let dir = self.repo.join(".git/worktrees");
        match fs::read_dir(dir) {
            Ok(rd) => rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Asserts worktree, metadata and branch are all gone.
    pub(super) fn assert_gone(&self, wt: &Worktree) {
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
    pub(super) fn assert_kept(&self, wt: &Worktree) {
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
