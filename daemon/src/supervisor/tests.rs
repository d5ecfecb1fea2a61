//! The supervisor's rules with a fake host: worktrees are records in
//! memory, programs are real PTY sessions of `cat` (or a start that
//! fails), so capacity, names, the worktree rule and every ending path are
//! checked without git.

use super::host::Host;
use super::*;
use crate::session::Params;
use crate::worktree::{Inspection, Outcome, Worktree, WorktreeError};
use clap::Parser;
use rcd_proto::WorktreeAction;
use std::collections::HashSet;
use std::path::Path;

/// What the fake host was asked, and how it answers.
#[derive(Debug, Default)]
struct Fake {
    /// Worktrees that exist.
    worktrees: Mutex<Vec<Worktree>>,
    /// Names whose worktree holds work (the rule keeps them).
    dirty: Mutex<HashSet<String>>,
    /// Every removal asked for: (name, forced).
    removals: Mutex<Vec<(String, bool)>>,
    /// Starts fail while set.
    fail_start: std::sync::atomic::AtomicBool,
}

impl Fake {
    fn removals(&self) -> Vec<(String, bool)> {
        self.removals.lock().unwrap().clone()
    }

    fn exists(&self, name: &str) -> bool {
        self.worktrees
            .lock()
            .unwrap()
            .iter()
            .any(|w| w.name == name)
    }
}

impl Host for Fake {
    fn repository(&self, dir: &Path) -> Result<PathBuf, WorktreeError> {
        Ok(dir.to_path_buf())
    }

    fn create_worktree(
        &self,
        _repo: &Path,
        root: &Path,
        name: &str,
    ) -> Result<Worktree, WorktreeError> {
        let path = root.join(name);
        if self.exists(name) {
            return Err(WorktreeError::PathExists { path });
        }
        std::fs::create_dir_all(&path).unwrap();
        let wt = Worktree {
            name: name.into(),
            path,
            branch: format!("rcd/{name}"),
            base: "0".repeat(40),
        };
        self.worktrees.lock().unwrap().push(wt.clone());
        Ok(wt)
    }

    fn remove_worktree(
        &self,
        _repo: &Path,
        wt: &Worktree,
        force: bool,
    ) -> Result<Outcome, WorktreeError> {
        self.removals.lock().unwrap().push((wt.name.clone(), force));
        if !force && self.dirty.lock().unwrap().contains(&wt.name) {
            return Ok(Outcome::Kept {
                inspection: Inspection {
                    untracked: vec!["notes.txt".into()],
                    ..Inspection::default()
                },
            });
        }
        self.worktrees.lock().unwrap().retain(|w| w.name != wt.name);
        Ok(if force {
            Outcome::Saved {
                reference: format!("refs/rcd/saved/{}", wt.name),
                commit: "f".repeat(40),
            }
        } else {
            Outcome::Removed
        })
    }

    fn list_worktrees(&self, _repo: &Path, _root: &Path) -> Result<Vec<Worktree>, WorktreeError> {
        Ok(self.worktrees.lock().unwrap().clone())
    }

    fn inspect_worktree(&self, _repo: &Path, _wt: &Worktree) -> Result<Inspection, WorktreeError> {
        Ok(Inspection::default())
    }

    fn start(&self, params: Params) -> super::host::Starting<'_> {
        let fail = self.fail_start.load(std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if fail {
                return Err(std::io::Error::other("no such program"));
            }
            Session::start(params, &crate::session::Launcher::Direct).await
        })
    }
}

/// A supervisor on the fake host, its state in a temporary directory.
struct Rig {
    sup: Arc<Supervisor>,
    fake: Arc<Fake>,
    _dir: tempfile::TempDir,
}

fn rig(extra: &[&str]) -> Rig {
    rig_running("cat", extra)
}

fn rig_running(command: &str, extra: &[&str]) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let mut args = vec![
        "rcd".to_string(),
        "--no-relay".into(),
        "--dir".into(),
        d.clone(),
        "--state-dir".into(),
        format!("{d}/state"),
        "--socket".into(),
        format!("{d}/rcd.sock"),
        "--command".into(),
        command.into(),
        "--stop-grace".into(),
        "1".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let cfg = Config::from_cli(crate::Cli::parse_from(args)).unwrap();
    let fake = Arc::new(Fake::default());
    let sup = Supervisor::with_seams(
        cfg,
        Some(dir.path().to_path_buf()),
        fake.clone(),
        Arc::new(crate::sandbox::SystemKernel::from_env()),
    );
    Rig {
        sup,
        fake,
        _dir: dir,
    }
}

fn named(name: &str) -> NewSession {
    NewSession {
        name: Some(name.into()),
        ..NewSession::default()
    }
}

fn in_worktree(name: &str) -> NewSession {
    NewSession {
        name: Some(name.into()),
        spawn: Some(SpawnMode::Worktree),
        ..NewSession::default()
    }
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn capacity_is_a_hard_limit_and_stopping_frees_a_place() {
    let r = rig(&["--capacity", "2"]);
    r.sup.create(named("a")).await.unwrap();
    r.sup.create(named("b")).await.unwrap();
    let e = r.sup.create(named("c")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AtCapacity);
    assert!(e.message.starts_with("at capacity (2/2)"), "{}", e.message);
    r.sup.stop("a", false).await.unwrap();
    r.sup.create(named("c")).await.unwrap();
    assert_eq!(r.sup.counts().0, 2);
    r.sup.shutdown().await;
}

#[tokio::test]
async fn a_session_runs_the_program_it_names_or_its_own_command_line() {
    let r = rig(&[
        "--program",
        "cat=cat",
        "--program",
        "sleeper=sleep 600",
        "--default-program",
        "cat",
    ]);
    let a = r.sup.create(named("a")).await.unwrap();
    assert_eq!(a.program.as_deref(), Some("cat"));
    assert_eq!(a.command, ["cat"]);
    let b = r
        .sup
        .create(NewSession {
            program: Some("sleeper".into()),
            ..named("b")
        })
        .await
        .unwrap();
    assert_eq!(b.program.as_deref(), Some("sleeper"));
    assert_eq!(b.command, ["sleep", "600"]);
    let c = r
        .sup
        .create(NewSession {
            command: Some(vec!["sleep".into(), "601".into()]),
            ..named("c")
        })
        .await
        .unwrap();
    assert_eq!(c.program, None);
    assert_eq!(c.command, ["sleep", "601"]);
    // An unknown name is refused with the names there are, before any
    // name is taken.
    let e = r
        .sup
        .create(NewSession {
            program: Some("codex".into()),
            ..named("d")
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert!(
        e.message.contains("\"codex\"") && e.message.contains("cat, sleeper"),
        "{}",
        e.message
    );
    let e = r
        .sup
        .create(NewSession {
            program: Some("cat".into()),
            command: Some(vec!["sh".into()]),
            ..named("d")
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(r.sup.list().len(), 3);
    assert!(r.sup.get("d").is_err());
    r.sup.shutdown().await;
}

#[tokio::test]
async fn a_name_in_use_is_refused_never_reused() {
    let r = rig(&[]);
    let first = r.sup.create(named("web")).await.unwrap();
    let e = r.sup.create(named("web")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NameTaken);
    assert_eq!(r.sup.list().len(), 1);
    assert_eq!(r.sup.get("web").unwrap().id.to_string(), first.id);
    let e = r.sup.create(named("../etc")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadName);
    // Made-up names never collide with what runs.
    let a = r.sup.create(NewSession::default()).await.unwrap();
    let b = r.sup.create(NewSession::default()).await.unwrap();
    assert_ne!(a.name, b.name);
    assert_ne!(a.name, "web");
    r.sup.shutdown().await;
}

#[tokio::test]
async fn a_failed_start_gives_its_worktree_back_and_its_place() {
    let r = rig(&["--capacity", "1"]);
    r.fake
        .fail_start
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let e = r.sup.create(in_worktree("w")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal);
    assert!(e.message.contains("no such program"), "{}", e.message);
    assert_eq!(r.fake.removals(), vec![("w".to_string(), false)]);
    assert!(!r.fake.exists("w"));
    assert!(r.sup.list().is_empty());
    r.fake
        .fail_start
        .store(false, std::sync::atomic::Ordering::SeqCst);
    r.sup
        .create(in_worktree("w"))
        .await
        .expect("the place is free again");
    r.sup.shutdown().await;
}

#[tokio::test]
async fn a_worktree_that_holds_work_is_kept_and_then_its_name_is_busy() {
    let r = rig(&[]);
    r.sup.create(in_worktree("dirty")).await.unwrap();
    r.fake.dirty.lock().unwrap().insert("dirty".into());
    let report = r.sup.stop("dirty", false).await.unwrap();
    let o = report.worktree.expect("an outcome");
    assert_eq!(o.action, WorktreeAction::Kept);
    assert_eq!(o.reason.as_deref(), Some("1 untracked file"));
    assert!(r.sup.list().is_empty(), "stopped sessions are unlisted");
    // The kept worktree is listed, and its name cannot be made again.
    let kept = r.sup.kept_worktrees().await.unwrap();
    assert_eq!(kept.len(), 1);
    let e = r.sup.create(in_worktree("dirty")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NameTaken);
    // Prune keeps it while it holds work, removes it once clean.
    let p = r.sup.prune().await.unwrap();
    assert_eq!((p.removed.len(), p.kept.len()), (0, 1));
    r.fake.dirty.lock().unwrap().clear();
    let p = r.sup.prune().await.unwrap();
    assert_eq!((p.removed.len(), p.kept.len()), (1, 0));
    assert!(!r.fake.exists("dirty"));
}

#[tokio::test]
async fn a_program_that_ends_by_itself_is_retired_once_and_stays_listed() {
    let r = rig(&[]);
    r.sup.create(in_worktree("quit")).await.unwrap();
    r.fake.dirty.lock().unwrap().insert("quit".into());
    let s = r.sup.get("quit").unwrap();
    // End of input: `cat` exits 0.
    s.send(vec![4]).await.unwrap();
    let sup = r.sup.clone();
    eventually("the rule applied after the exit", || {
        sup.get("quit")
            .is_ok_and(|s| s.worktree_outcome().is_some())
    })
    .await;
    let info = &r.sup.list()[0];
    assert_eq!(info.state, SessionState::Exited);
    assert_eq!(info.exit_code, Some(0));
    assert_eq!(info.worktree.as_ref().unwrap().action, WorktreeAction::Kept);
    assert_eq!(r.fake.removals().len(), 1);
    // A forced stop afterwards replaces the "kept": saved, then removed.
    let report = r.sup.stop("quit", true).await.unwrap();
    assert_eq!(report.worktree.unwrap().action, WorktreeAction::Saved);
    assert_eq!(
        r.fake.removals(),
        vec![("quit".to_string(), false), ("quit".to_string(), true)]
    );
    assert!(r.sup.list().is_empty());
}

#[tokio::test]
async fn a_removed_worktree_is_not_judged_twice() {
    let r = rig(&[]);
    r.sup.create(in_worktree("clean")).await.unwrap();
    let s = r.sup.get("clean").unwrap();
    s.send(vec![4]).await.unwrap();
    let sup = r.sup.clone();
    eventually("the rule applied after the exit", || {
        sup.get("clean")
            .is_ok_and(|s| s.worktree_outcome().is_some())
    })
    .await;
    let report = r.sup.stop("clean", false).await.unwrap();
    assert_eq!(report.worktree.unwrap().action, WorktreeAction::Removed);
    assert_eq!(r.fake.removals(), vec![("clean".to_string(), false)]);
}

#[tokio::test]
async fn shutdown_ends_every_session_and_refuses_new_ones() {
    let r = rig(&[]);
    r.sup.create(in_worktree("one")).await.unwrap();
    r.sup.create(named("two")).await.unwrap();
    let pids: Vec<u32> = r.sup.sessions().iter().map(|s| s.pid).collect();
    r.sup.shutdown().await;
    assert!(r.sup.list().is_empty());
    for pid in pids {
        assert!(!crate::process::alive(pid), "{pid} still runs");
    }
    assert_eq!(r.fake.removals(), vec![("one".to_string(), false)]);
    let e = r.sup.create(named("three")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ShuttingDown);
    assert!(
        !r.sup
            .config()
            .state_dir
            .join(crate::state::STATE_FILE)
            .exists(),
        "a clean shutdown leaves no state file"
    );
}

#[tokio::test]
async fn a_stop_hangs_up_and_then_kills_what_ignores_the_hangup() {
    let r = rig_running("sh -c 'trap \"\" HUP; echo ready; sleep 30 & wait'", &[]);
    r.sup.create(named("stubborn")).await.unwrap();
    let s = r.sup.get("stubborn").unwrap();
    eventually("the trap is set", || {
        s.screen_text().rows.iter().any(|l| l == "ready")
    })
    .await;
    let pid = s.pid;
    let start = std::time::Instant::now();
    let report = r.sup.stop("stubborn", false).await.unwrap();
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(1),
        "SIGKILL only after the grace period"
    );
    assert!(report.exit_code.is_some());
    assert!(!crate::process::alive(pid));
    assert!(crate::process::session_members(pid).is_empty());
}
