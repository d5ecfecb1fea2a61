//! Worktree mode and the rule that never loses work, on every removal
//! path: stop, stop --force, the session's own exit, shutdown, a killed
//! daemon's next start, and prune.

use nix::sys::signal::Signal;
use rcd_tests::{Daemon, Options, bin, git, wait_for};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

fn daemon() -> Daemon {
    Daemon::start(Options {
        repo: true,
        args: vec![
            "--spawn".into(),
            "worktree".into(),
            "--capacity".into(),
            "4".into(),
        ],
        ..Options::default()
    })
}

/// Starts a session and returns its worktree path.
fn session(d: &Daemon, name: &str) -> PathBuf {
    let s: Value = serde_json::from_str(&d.ok(&["new", "--name", name, "--json"])).expect("json");
    assert_eq!(s["spawn"], "worktree");
    assert_eq!(s["branch"], format!("rcd/{name}"));
    PathBuf::from(s["dir"].as_str().expect("dir"))
}

fn branch_exists(d: &Daemon, name: &str) -> bool {
    !git(&d.work, &["branch", "--list", &format!("rcd/{name}")])
        .trim()
        .is_empty()
}

#[test]
fn worktree_mode_needs_a_repository() {
    let root = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new(bin("rcd"))
        .arg("--no-relay")
        .arg("--dir")
        .arg(root.path())
        .arg("--spawn")
        .arg("worktree")
        .arg("--socket")
        .arg(root.path().join("s"))
        .arg("--state-dir")
        .arg(root.path().join("st"))
        .output()
        .expect("rcd");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a git repository"), "{err}");
    assert!(
        err.contains("--spawn same-dir"),
        "says how to fix it: {err}"
    );
}

#[test]
fn a_session_works_in_its_own_worktree_outside_the_repository() {
    let d = daemon();
    let wt = session(&d, "feat");
    assert!(wt.join("README.md").exists(), "checked out from HEAD");
    assert!(
        !wt.starts_with(&d.work),
        "outside the repository: {}",
        wt.display()
    );
    assert!(wt.starts_with(&d.state_dir), "in a directory rcd owns");
    assert!(branch_exists(&d, "feat"));
    d.ok(&["send", "feat", "pwd; git rev-parse --abbrev-ref HEAD"]);
    d.wait_screen("feat", "rcd/feat");
    assert!(d.screen("feat").contains(&wt.display().to_string()));
}

#[test]
fn stop_removes_a_clean_worktree_and_keeps_one_with_work() {
    let d = daemon();
    d.ok(&["set", "capacity", "8"]);
    let clean = session(&d, "clean");
    let dirty = session(&d, "dirty");
    let untracked = session(&d, "untracked");
    let ahead = session(&d, "ahead");
    let ignored = session(&d, "ignored");
    std::fs::write(dirty.join("README.md"), "changed\n").expect("write");
    std::fs::write(untracked.join("new.txt"), "new\n").expect("write");
    std::fs::write(ahead.join("c.txt"), "c\n").expect("write");
    git(&ahead, &["add", "c.txt"]);
    git(&ahead, &["commit", "-q", "-m", "work"]);
    std::fs::create_dir_all(ignored.join("target")).expect("mkdir");
    std::fs::write(ignored.join("target/out.bin"), "build output\n").expect("write");

    let out = d.ok(&["stop", "clean"]);
    assert!(out.contains("removed (clean)"), "{out}");
    assert!(!clean.exists());
    assert!(!branch_exists(&d, "clean"));

    let out = d.ok(&["stop", "ignored"]);
    assert!(
        out.contains("removed (clean)"),
        "ignored files are not work: {out}"
    );
    assert!(!ignored.exists());

    let out = d.ok(&["stop", "dirty"]);
    assert!(out.contains("kept: 1 uncommitted change"), "{out}");
    assert_eq!(
        std::fs::read_to_string(dirty.join("README.md")).expect("kept"),
        "changed\n"
    );
    assert!(branch_exists(&d, "dirty"));

    let out = d.ok(&["stop", "untracked"]);
    assert!(out.contains("kept: 1 untracked file"), "{out}");
    assert!(untracked.join("new.txt").exists());

    let report: Value = serde_json::from_str(&d.ok(&["stop", "ahead", "--json"])).expect("json");
    assert_eq!(report["worktree"]["action"], "kept");
    assert!(
        report["worktree"]["reason"]
            .as_str()
            .expect("reason")
            .contains("1 commit")
    );
    assert!(ahead.join("c.txt").exists());

    let kept: Vec<Value> =
        serde_json::from_str(&d.ok(&["worktrees", "--json"])).expect("worktrees --json");
    let names: Vec<&str> = kept.iter().filter_map(|w| w["name"].as_str()).collect();
    assert_eq!(names, ["ahead", "dirty", "untracked"]);
    let by = |n: &str| {
        kept.iter()
            .find(|w| w["name"] == n)
            .expect("listed")
            .clone()
    };
    assert_eq!(by("dirty")["uncommitted"], serde_json::json!(["README.md"]));
    assert_eq!(by("untracked")["untracked"], serde_json::json!(["new.txt"]));
    assert_eq!(by("ahead")["ahead"], 1);
    assert_eq!(by("ahead")["branch"], "rcd/ahead");
    let text = d.ok(&["worktrees"]);
    assert!(text.contains("rcd/dirty"), "{text}");

    // A kept branch holds the name's worktree: say so instead of reusing.
    let err = d.fails(&["new", "--name", "dirty"]);
    assert!(err.contains("rcd/dirty"), "{err}");

    // Prune removes what became clean and keeps the rest.
    std::fs::write(dirty.join("README.md"), "hello\n").expect("revert");
    std::fs::remove_file(untracked.join("new.txt")).expect("rm");
    let out = d.ok(&["prune"]);
    assert!(out.contains("rcd/dirty removed"), "{out}");
    assert!(out.contains("rcd/untracked removed"), "{out}");
    assert!(out.contains("rcd/ahead kept"), "{out}");
    assert!(!dirty.exists() && !untracked.exists() && ahead.exists());
    // Merged into main, the commit is on its base: prune removes it too.
    git(&d.work, &["merge", "-q", "--ff-only", "rcd/ahead"]);
    let out = d.ok(&["prune"]);
    assert!(out.contains("rcd/ahead removed"), "{out}");
    assert!(!ahead.exists());
}

#[test]
fn ignored_files_that_are_not_build_output_are_kept_and_saved() {
    let d = daemon();
    let wt = session(&d, "secrets");
    std::fs::write(wt.join("notes.log"), "ignored but precious\n").expect("write");
    let out = d.ok(&["stop", "secrets"]);
    assert!(
        out.contains("kept: 1 ignored file that is not build output"),
        "{out}"
    );
    let kept: Vec<Value> = serde_json::from_str(&d.ok(&["worktrees", "--json"])).expect("json");
    assert_eq!(kept[0]["ignored"], serde_json::json!(["notes.log"]));
}

#[test]
fn forced_stop_saves_everything_under_refs_rcd_saved() {
    let d = daemon();
    let wt = session(&d, "forced");
    std::fs::write(wt.join("README.md"), "edited\n").expect("write");
    std::fs::create_dir_all(wt.join("sub")).expect("mkdir");
    std::fs::write(wt.join("sub/untracked.txt"), "precious\n").expect("write");
    std::fs::write(wt.join("secret.log"), "ignored work\n").expect("write");
    std::fs::create_dir_all(wt.join("target")).expect("mkdir");
    std::fs::write(wt.join("target/big.bin"), "build output\n").expect("write");
    git(&wt, &["commit", "-qam", "a commit not on main"]);
    std::fs::write(wt.join("README.md"), "edited\n").expect("write");
    let out = d.ok(&["stop", "forced", "--force"]);
    assert!(out.contains("refs/rcd/saved/forced"), "{out}");
    assert!(!wt.exists());
    assert!(!branch_exists(&d, "forced"));
    assert_eq!(
        git(
            &d.work,
            &["show", "refs/rcd/saved/forced:sub/untracked.txt"]
        ),
        "precious\n"
    );
    assert_eq!(
        git(&d.work, &["show", "refs/rcd/saved/forced:README.md"]),
        "edited\n"
    );
}

/// Makes four worktree sessions: untracked, dirty (tracked change),
/// ahead (a commit), clean.
fn four_kinds(d: &Daemon) -> [PathBuf; 4] {
    let untracked = session(d, "untracked");
    let dirty = session(d, "dirty");
    let ahead = session(d, "ahead");
    let clean = session(d, "clean");
    std::fs::write(untracked.join("wip.txt"), "wip\n").expect("write");
    std::fs::write(dirty.join("README.md"), "changed\n").expect("write");
    std::fs::write(ahead.join("c.txt"), "c\n").expect("write");
    git(&ahead, &["add", "c.txt"]);
    git(&ahead, &["commit", "-q", "-m", "work"]);
    [untracked, dirty, ahead, clean]
}

fn assert_four_kinds(paths: &[PathBuf; 4]) {
    let [untracked, dirty, ahead, clean] = paths;
    assert!(untracked.join("wip.txt").exists(), "untracked work kept");
    assert_eq!(
        std::fs::read_to_string(dirty.join("README.md")).expect("kept"),
        "changed\n"
    );
    assert!(ahead.join("c.txt").exists(), "commit ahead kept");
    assert!(!clean.exists(), "clean worktree removed");
}

#[test]
fn a_session_that_exits_applies_the_rule() {
    let d = daemon();
    let paths = four_kinds(&d);
    for n in ["untracked", "dirty", "ahead", "clean"] {
        d.ok(&["send", n, "exit"]);
    }
    wait_for("all sessions to exit", Duration::from_secs(15), || {
        d.list()
            .iter()
            .all(|s| s["state"] == "exited" && !s["worktree"].is_null())
    });
    let list = d.list();
    let by = |n: &str| {
        list.iter()
            .find(|s| s["name"] == n)
            .expect("listed")
            .clone()
    };
    for n in ["untracked", "dirty", "ahead"] {
        assert_eq!(by(n)["worktree"]["action"], "kept", "{n}");
    }
    assert_eq!(by("clean")["worktree"]["action"], "removed");
    assert_four_kinds(&paths);
}

#[test]
fn background_jobs_are_ended_before_the_rule_is_applied() {
    let d = daemon();
    let wt = session(&d, "bg");
    d.ok(&[
        "send",
        "bg",
        "nohup sh -c 'sleep 5; echo late > out.txt; sleep 600' >/dev/null 2>&1 & exit",
    ]);
    wait_for(
        "the session to exit and be settled",
        Duration::from_secs(20),
        || {
            d.list()
                .iter()
                .all(|s| s["state"] == "exited" && !s["worktree"].is_null())
        },
    );
    // The job was ended (it never wrote out.txt), and the worktree, clean
    // once it was gone, removed.
    std::thread::sleep(Duration::from_secs(6));
    assert!(!wt.exists(), "{}", d.log_text());
    let ps = std::process::Command::new("pgrep")
        .args(["-f", "sleep 600"])
        .output();
    if let Ok(ps) = ps {
        let pids = String::from_utf8_lossy(&ps.stdout).to_string();
        for pid in pids.split_whitespace() {
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
            assert!(
                !cwd.starts_with(&d.state_dir),
                "job {pid} outlived its session in {}",
                cwd.display()
            );
        }
    }
}

#[test]
fn prune_never_touches_a_session_being_created() {
    let d = daemon();
    d.ok(&["set", "capacity", "40"]);
    let sock = d.socket.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pruner = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && n < 500 {
                let _ = rcd_tests::rcctl_at(&sock, &["prune"]);
                n += 1;
            }
        })
    };
    for i in 0..15 {
        d.ok(&["new", "--name", &format!("r{i}")]);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    pruner.join().expect("pruner");
    for s in d.list() {
        let dir = PathBuf::from(s["dir"].as_str().expect("dir"));
        assert!(
            dir.exists(),
            "worktree of running session {} was removed",
            s["name"]
        );
    }
}

#[test]
fn shutdown_and_a_killed_daemon_follow_the_rule_too() {
    let mut d = daemon();
    let paths = four_kinds(&d);
    assert_eq!(d.signal_and_wait(Signal::SIGINT).code(), Some(0));
    assert_four_kinds(&paths);

    d.spawn();
    d.wait_ready();
    let kept: Vec<Value> = serde_json::from_str(&d.ok(&["worktrees", "--json"])).expect("json");
    let names: Vec<&str> = kept.iter().filter_map(|w| w["name"].as_str()).collect();
    assert_eq!(names, ["ahead", "dirty", "untracked"]);
    d.ok(&["set", "capacity", "8"]);

    // Killed, and its keeper too (as a reboot does): the next start
    // checks the worktrees the dead daemon left.
    let crashed_clean = session(&d, "crash-clean");
    let crashed_dirty = session(&d, "crash-dirty");
    std::fs::write(crashed_dirty.join("wip.txt"), "wip\n").expect("write");
    let pids: Vec<i32> = d
        .list()
        .iter()
        .filter_map(|s| s["pid"].as_i64())
        .map(|p| p as i32)
        .collect();
    let keepers = rcd_tests::keepers(&d.state_dir);
    d.signal_and_wait(Signal::SIGKILL);
    for k in keepers {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(k), Signal::SIGKILL);
    }
    // Their shells die with the terminal (hang-up).
    for p in pids {
        wait_for(
            "shells to die with their terminal",
            Duration::from_secs(10),
            || !rcd_tests::alive(p),
        );
    }
    d.spawn();
    d.wait_ready();
    let log = d.log_text();
    assert!(
        log.contains("clean worktree of session crash-clean"),
        "{log}"
    );
    assert!(log.contains("worktree of session crash-dirty"), "{log}");
    assert!(!crashed_clean.exists());
    assert!(crashed_dirty.join("wip.txt").exists());
    let kept: Vec<Value> = serde_json::from_str(&d.ok(&["worktrees", "--json"])).expect("json");
    let names: Vec<&str> = kept.iter().filter_map(|w| w["name"].as_str()).collect();
    assert_eq!(names, ["ahead", "crash-dirty", "dirty", "untracked"]);
}

#[test]
fn spawn_mode_can_change_at_run_time() {
    let d = Daemon::start(Options {
        repo: true,
        ..Options::default()
    });
    let s: Value = serde_json::from_str(&d.ok(&["new", "--json"])).expect("json");
    assert_eq!(s["spawn"], "same-dir");
    assert_eq!(s["dir"], d.work.display().to_string());
    d.ok(&["set", "spawn", "worktree"]);
    let s: Value = serde_json::from_str(&d.ok(&["new", "--json"])).expect("json");
    assert_eq!(s["spawn"], "worktree");
    let s: Value =
        serde_json::from_str(&d.ok(&["new", "--spawn", "same-dir", "--json"])).expect("json");
    assert_eq!(s["spawn"], "same-dir", "a per-session choice wins");
    let st: Value = serde_json::from_str(&d.ok(&["status", "--json"])).expect("json");
    assert_eq!(st["spawn"], "worktree");
}
