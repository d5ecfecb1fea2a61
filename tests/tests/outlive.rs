//! Sessions outlive rcd: `kill -9`, a service manager's restart
//! (SIGTERM) and a new binary at another path each leave every session
//! running, and the next rcd adopts it with its process, its screen, its
//! transcript and its worktree; a program that ends meanwhile is
//! reported with its exit code; an adopted session still ends completely.

use nix::sys::signal::Signal;
use rcd_tests::{Daemon, Options, alive, bin, wait_for};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn session<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no session {name} in {list:?}"))
}

fn pid_of(d: &Daemon, name: &str) -> i64 {
    session(&d.list(), name)["pid"]
        .as_i64()
        .expect("a running session's pid")
}

/// The fields `rcctl list` shows of a session, less what changes with
/// time.
fn listed(s: &Value) -> Value {
    serde_json::json!({
        "name": s["name"], "state": s["state"], "dir": s["dir"], "branch": s["branch"],
        "sandboxed": s["sandboxed"], "pid": s["pid"], "spawn": s["spawn"],
        "created_at": s["created_at"], "command": s["command"],
    })
}

fn transcript(d: &Daemon, name: &str) -> String {
    d.ok(&["transcript", name])
}

/// Whether this kernel can sandbox a session (a sandboxed `rcctl new`
/// says so when it cannot).
fn can_sandbox(d: &Daemon) -> bool {
    let out = d.rcctl(&["new", "--name", "probe", "--sandbox"]);
    if out.status.success() {
        d.ok(&["stop", "probe"]);
        true
    } else {
        eprintln!(
            "SKIP the sandboxed session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        false
    }
}

#[test]
fn three_sessions_outlive_a_kill_9_of_rcd_with_screen_transcript_and_work() {
    let mut d = Daemon::start(Options::with_args(true, &[]));
    d.ok(&["new", "--name", "plain"]);
    let tree: Value =
        serde_json::from_str(&d.ok(&["new", "--name", "tree", "--spawn", "worktree", "--json"]))
            .expect("json");
    let tree_dir = PathBuf::from(tree["dir"].as_str().expect("dir"));
    std::fs::write(tree_dir.join("uncommitted.txt"), "work in progress\n").expect("write");
    let sandboxed = can_sandbox(&d);
    if sandboxed {
        d.ok(&["new", "--name", "boxed", "--sandbox"]);
    }
    // A shell variable, and enough lines that some scroll off.
    d.ok(&["send", "plain", "X=42; seq 1 40; echo before-$X"]);
    d.wait_screen("plain", "before-42");
    d.ok(&["send", "tree", "echo tree-was-here"]);
    d.wait_screen("tree", "tree-was-here");
    if sandboxed {
        d.ok(&["send", "boxed", "echo boxed-was-here"]);
        d.wait_screen("boxed", "boxed-was-here");
    }
    // Printed while no rcd runs: 60 more lines, the first ones scrolling
    // into the transcript during the gap.
    d.ok(&[
        "send",
        "plain",
        "sleep 1.5; seq 101 160; echo printed-in-the-gap-$X",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let before = d.list();
    let tree_screen = d.screen("tree");
    let names: Vec<&str> = if sandboxed {
        vec!["plain", "tree", "boxed"]
    } else {
        vec!["plain", "tree"]
    };
    let pids: Vec<i64> = names.iter().map(|n| pid_of(&d, n)).collect();

    let status = d.signal_and_wait(Signal::SIGKILL);
    assert!(!status.success());
    for &p in &pids {
        assert!(alive(p as i32), "pid {p} still runs with no rcd");
    }
    std::thread::sleep(Duration::from_secs(3));

    d.spawn();
    d.wait_ready();
    let log = d.log_text();
    assert!(
        log.contains(&format!(
            "adopted {} sessions left by the last rcd",
            names.len()
        )),
        "{log}"
    );
    let after = d.list();
    for n in &names {
        assert_eq!(
            listed(session(&after, n)),
            listed(session(&before, n)),
            "{n} is adopted as it was"
        );
    }
    let status: Value = serde_json::from_str(&d.ok(&["status", "--json"])).expect("json");
    assert_eq!(status["adopted"], names.len(), "{status}");
    // The same shell: its variable is still set.
    d.ok(&["send", "plain", "echo still-$X"]);
    d.wait_screen("plain", "still-42");
    let screen = d.screen("plain");
    assert!(screen.contains("printed-in-the-gap-42"), "{screen}");
    assert!(screen.contains("160"), "{screen}");
    // The transcript has every line, those of the gap too, each once.
    let t = transcript(&d, "plain");
    for want in ["1", "40", "before-42", "101", "120"] {
        assert_eq!(
            t.lines().filter(|l| l.trim() == want).count(),
            1,
            "{want:?} once in the transcript:\n{t}"
        );
    }
    // An idle session's screen is exactly what it was.
    assert_eq!(d.screen("tree"), tree_screen);
    assert_eq!(
        std::fs::read_to_string(tree_dir.join("uncommitted.txt")).expect("still there"),
        "work in progress\n"
    );
    if sandboxed {
        assert_eq!(session(&after, "boxed")["sandboxed"], true);
        // Still confined: the home directory is not writable (its own
        // directory, the shared one, is).
        let outside = d.root.path().join("escape");
        d.ok(&[
            "send",
            "boxed",
            &format!("echo x > {}; echo wrote=$?", outside.display()),
        ]);
        d.wait_screen("boxed", "wrote=");
        assert!(
            d.screen("boxed").contains("wrote=1"),
            "{}",
            d.screen("boxed")
        );
        assert!(!outside.exists());
    }
}

/// A service manager's restart is SIGTERM to rcd alone (`KillMode=process`
/// in the unit `rcctl service install` writes), and an upgrade is a new
/// binary at a new path, the old one gone: both keep every session.
#[test]
fn a_service_restart_and_an_upgraded_binary_keep_every_session() {
    let root = rcd_tests::short_tempdir("rcdu");
    let home = root.path();
    let work = home.join("work");
    std::fs::create_dir_all(&work).expect("work");
    let socket = home.join("u.sock");
    let install = |dir: &str| -> PathBuf {
        let d = home.join(dir);
        std::fs::create_dir_all(&d).expect("bin dir");
        let p = d.join("rcd");
        std::fs::copy(bin("rcd"), &p).expect("copy rcd");
        p
    };
    let start = |program: &Path, notify: &Path| {
        let mut cmd = rcd_tests::RcdProc::command(program, home, Some(&socket));
        cmd.args(["--no-relay", "--command", "bash --norc --noprofile"])
            .arg("--dir")
            .arg(&work)
            .env("NOTIFY_SOCKET", notify);
        rcd_tests::RcdProc::start(&mut cmd, &socket)
    };
    let notify = home.join("notify");
    let listener = std::os::unix::net::UnixDatagram::bind(&notify).expect("notify socket");
    listener
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let old = install("v1");
    let mut rcd = start(&old, &notify);
    let made = rcd.rcctl(&["new", "--name", "job", "--json"]);
    let job: Value = serde_json::from_slice(&made.stdout).expect("json");
    let pid = job["pid"].as_i64().expect("pid");
    assert!(
        rcd.rcctl(&["send", "job", "Y=upgrade-safe; echo set"])
            .status
            .success()
    );

    // The restart: SIGTERM, exit 0, the session still runs.
    let status = rcd.signal_and_wait(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0));
    let mut buf = [0u8; 4096];
    let mut saw_stopping = false;
    while let Ok(n) = listener.recv(&mut buf) {
        let msg = String::from_utf8_lossy(&buf[..n]);
        if msg.contains("STOPPING=1") {
            assert!(msg.contains("leaving the sessions to the keeper"), "{msg}");
            saw_stopping = true;
            break;
        }
    }
    assert!(saw_stopping, "told the service manager it is stopping");
    assert!(alive(pid as i32));
    let mut rcd = start(&old, &notify);
    let s = rcd.status();
    assert_eq!(s["adopted"], 1, "{s}");

    // The upgrade: a new binary elsewhere, the old one removed.
    let status = rcd.signal_and_wait(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0));
    std::fs::remove_dir_all(home.join("v1")).expect("remove the old binary");
    let new = install("v2");
    let rcd = start(&new, &notify);
    let list: Vec<Value> =
        serde_json::from_slice(&rcd.rcctl(&["list", "--json"]).stdout).expect("json");
    assert_eq!(session(&list, "job")["state"], "running");
    assert_eq!(session(&list, "job")["pid"], pid);
    assert!(rcd.rcctl(&["send", "job", "echo $Y-ok"]).status.success());
    wait_for("the shell to answer", Duration::from_secs(10), || {
        String::from_utf8_lossy(&rcd.rcctl(&["screen", "job"]).stdout).contains("upgrade-safe-ok")
    });
    // New sessions start too (under the keeper the old binary started).
    assert!(rcd.rcctl(&["new", "--name", "fresh"]).status.success());
    let status = rcd.shutdown();
    assert_eq!(status.code(), Some(0));
    wait_for("the session to be gone", Duration::from_secs(10), || {
        !alive(pid as i32)
    });
}

#[test]
fn a_program_that_exits_while_no_rcd_runs_is_reported_with_its_code() {
    let mut d = Daemon::start(Options::with_args(true, &["--spawn", "worktree"]));
    let clean: Value =
        serde_json::from_str(&d.ok(&["new", "--name", "clean", "--json"])).expect("json");
    let dirty: Value =
        serde_json::from_str(&d.ok(&["new", "--name", "dirty", "--json"])).expect("json");
    let clean_dir = PathBuf::from(clean["dir"].as_str().expect("dir"));
    let dirty_dir = PathBuf::from(dirty["dir"].as_str().expect("dir"));
    std::fs::write(dirty_dir.join("wip.txt"), "wip\n").expect("write");
    d.ok(&["send", "clean", "sleep 1; echo last words; exit 7"]);
    d.ok(&["send", "dirty", "sleep 1; exit 7"]);
    std::thread::sleep(Duration::from_millis(200));
    d.signal_and_wait(Signal::SIGKILL);
    // Both end while no rcd runs; their keeper, holding nothing, ends
    // too.
    let keepers = rcd_tests::keepers(&d.state_dir);
    assert_eq!(keepers.len(), 1);
    wait_for("the keeper to end", Duration::from_secs(10), || {
        !alive(keepers[0])
    });
    d.spawn();
    d.wait_ready();
    wait_for(
        "the rule applied to the clean worktree",
        Duration::from_secs(10),
        || !clean_dir.exists(),
    );
    let list = d.list();
    for name in ["clean", "dirty"] {
        let s = session(&list, name);
        assert_eq!(s["state"], "exited", "{s}");
        assert_eq!(s["exit_code"], 7, "{s}");
    }
    assert!(dirty_dir.join("wip.txt").exists(), "work is kept");
    let kept: Vec<Value> = serde_json::from_str(&d.ok(&["worktrees", "--json"])).expect("json");
    assert!(kept.iter().any(|w| w["name"] == "dirty"), "{kept:?}");
    // Its last words, printed while no rcd ran, are in its transcript.
    assert!(transcript(&d, "clean").contains("last words"));
}

#[test]
fn rcctl_stop_of_an_adopted_session_ends_its_whole_process_group() {
    let mut d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "busy"]);
    // A background job that ignores the hangup, and a foreground one.
    d.ok(&["send", "busy", "(trap '' HUP; exec sleep 600) & sleep 600"]);
    let leader = pid_of(&d, "busy") as u32;
    wait_for("the jobs to run", Duration::from_secs(10), || {
        members(leader).len() >= 3
    });
    d.signal_and_wait(Signal::SIGKILL);
    d.spawn();
    d.wait_ready();
    assert_eq!(session(&d.list(), "busy")["state"], "running");
    let out = d.ok(&["stop", "busy"]);
    assert!(out.contains("stopped busy"), "{out}");
    wait_for(
        "every process of the session gone",
        Duration::from_secs(10),
        || members(leader).is_empty(),
    );
    assert!(d.list().is_empty());
}

/// Processes whose session id is `sid`.
fn members(sid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        // state ppid pgrp session …
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(3).and_then(|s| s.parse().ok()) == Some(sid) {
            out.push(pid);
        }
    }
    out
}
