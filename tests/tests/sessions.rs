//! Sessions in the shared directory: create, type, read, stop, capacity,
//! names, and the errors every verb gives.

use rcd_tests::{Daemon, Options, alive, rcctl_at, wait_for};
use std::time::Duration;

fn daemon(args: &[&str]) -> Daemon {
    Daemon::start(Options {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    })
}

#[test]
fn type_read_and_stop() {
    let d = daemon(&[]);
    let name = d.ok(&["new", "--name", "alpha"]);
    assert_eq!(name.trim(), "alpha");
    d.ok(&["send", "alpha", "echo $((6*7)) in $PWD as $TERM"]);
    let want = format!("42 in {} as xterm-256color", d.work.display());
    d.wait_screen("alpha", &want);

    let list = d.list();
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!(s["name"], "alpha");
    assert_eq!(s["state"], "running");
    assert_eq!(s["spawn"], "same-dir");
    assert!(s["branch"].is_null());
    assert_eq!(s["dir"], d.work.display().to_string());
    assert!(!s["id"].as_str().unwrap_or_default().is_empty());
    assert!(s["created_at"].as_str().unwrap_or_default().ends_with('Z'));
    let pid = s["pid"].as_i64().expect("pid") as i32;
    assert!(alive(pid));

    // --no-enter types without pressing Enter.
    d.ok(&["send", "alpha", "echo typed-not-run", "--no-enter"]);
    d.wait_screen("alpha", "echo typed-not-run");
    assert!(!d.screen("alpha").contains("\ntyped-not-run"));

    let out = d.ok(&["stop", "alpha"]);
    assert!(out.contains("stopped alpha"), "{out}");
    assert!(d.list().is_empty());
    wait_for(
        "the session's shell to be gone",
        Duration::from_secs(5),
        || !alive(pid),
    );
}

#[test]
fn transcript_keeps_what_scrolled_off() {
    let d = daemon(&[]);
    d.ok(&["new", "--name", "t"]);
    d.ok(&["send", "t", "seq 1 300 | sed 's/^/row-/'"]);
    d.wait_screen("t", "row-300");
    let text = d.ok(&["transcript", "t"]);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("row-")).collect();
    // Everything before the last screenful is in the transcript, in order.
    assert!(
        rows.len() >= 270,
        "only {} rows in the transcript",
        rows.len()
    );
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(*r, format!("row-{}", i + 1));
    }
    let from = d.ok(&["transcript", "t", "--from", "3", "-n"]);
    assert!(
        from.lines()
            .next()
            .unwrap_or_default()
            .trim_start()
            .starts_with("3  "),
        "{from}"
    );
    // The transcript is on disk under the state directory.
    let dir = d.state_dir.join("transcripts");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("transcripts dir")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn capacity_is_a_hard_limit_and_never_reuses() {
    let d = daemon(&["--capacity", "2"]);
    let a = d.ok(&["new"]).trim().to_string();
    let b = d.ok(&["new"]).trim().to_string();
    assert_ne!(a, b);
    let err = d.fails(&["new"]);
    assert!(err.contains("at capacity (2/2)"), "{err}");
    let err = d.fails(&["new", "--name", "third"]);
    assert!(err.contains("at capacity (2/2)"), "{err}");
    assert_eq!(d.list().len(), 2);

    // Raising the limit at run time lets one more in.
    d.ok(&["set", "capacity", "3"]);
    d.ok(&["new", "--name", "third"]);
    let status: serde_json::Value =
        serde_json::from_str(&d.ok(&["status", "--json"])).expect("json");
    assert_eq!(status["used"], 3);
    assert_eq!(status["capacity"], 3);
    // Lowering it never stops anything, but refuses the next one.
    d.ok(&["set", "capacity", "1"]);
    assert_eq!(d.list().len(), 3);
    let err = d.fails(&["new"]);
    assert!(err.contains("at capacity (3/1)"), "{err}");
}

#[test]
fn names_are_unique_and_checked() {
    let d = daemon(&[]);
    d.ok(&["new", "--name", "same"]);
    let err = d.fails(&["new", "--name", "same"]);
    assert!(err.contains("already running"), "{err}");
    for bad in [
        "../etc",
        "a/b",
        "a..b",
        "-x",
        "x.lock",
        "has space",
        "esc\u{1b}",
    ] {
        let err = d.fails(&["new", &format!("--name={bad}")]);
        assert!(err.contains("session name"), "{bad:?}: {err}");
    }
    let long = "n".repeat(33);
    assert!(
        d.fails(&["new", "--name", &long])
            .contains("longer than 32")
    );
    assert_eq!(d.list().len(), 1);
}

#[test]
fn a_session_that_exits_stays_listed_until_stopped() {
    let d = daemon(&[]);
    d.ok(&["new", "--name", "short"]);
    d.ok(&["send", "short", "echo bye; exit 7"]);
    wait_for("the session to exit", Duration::from_secs(10), || {
        d.list()[0]["state"] == "exited"
    });
    let s = &d.list()[0];
    assert_eq!(s["exit_code"], 7);
    assert!(s["pid"].is_null());
    assert!(d.screen("short").contains("bye"));
    let err = d.fails(&["send", "short", "x"]);
    assert!(err.contains("has exited"), "{err}");
    // It does not count against capacity; the name can be used again.
    d.ok(&["new", "--name", "short"]);
    assert_eq!(d.list()[0]["state"], "running");
}

#[test]
fn the_transcript_keeps_the_last_screen_and_outlives_the_session() {
    let d = daemon(&[]);
    d.ok(&["new", "--name", "last"]);
    d.ok(&[
        "send",
        "last",
        "for i in $(seq 1 30); do echo out-$i; done; exit",
    ]);
    wait_for("the session to exit", Duration::from_secs(10), || {
        d.list()[0]["state"] == "exited"
    });
    let t = d.ok(&["transcript", "last"]);
    for i in 1..=30 {
        assert!(
            t.lines().any(|l| l == format!("out-{i}")),
            "out-{i} missing:\n{t}"
        );
    }
    d.ok(&["stop", "last"]);
    assert!(d.list().is_empty());
    let after = d.ok(&["transcript", "last"]);
    assert_eq!(after, t, "the transcript is still readable after the stop");
}

#[test]
fn errors_name_the_problem_and_exit_non_zero() {
    let d = daemon(&[]);
    assert!(
        d.fails(&["stop", "ghost"])
            .contains("no session named \"ghost\"")
    );
    assert!(d.fails(&["screen", "ghost"]).contains("no session named"));
    assert!(
        d.fails(&["send", "ghost", "x"])
            .contains("no session named")
    );
    assert!(
        d.fails(&["transcript", "ghost"])
            .contains("no session named")
    );
    assert!(d.fails(&["attach", "ghost"]).contains("no session named"));
    // Worktree mode needs a repository; this directory is not one.
    let err = d.fails(&["new", "--spawn", "worktree"]);
    assert!(err.contains("not a git repository"), "{err}");
    let err = d.fails(&["set", "spawn", "worktree"]);
    assert!(err.contains("not a git repository"), "{err}");

    // No daemon at all.
    let out = rcctl_at(&d.root.path().join("nothing.sock"), &["list"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no rcd on"), "{err}");
    assert!(err.contains("start one with `rcd`"), "{err}");
}

#[test]
fn status_reports_the_daemon() {
    let d = daemon(&["--name", "laptop", "--spawn", "same-dir", "--capacity", "5"]);
    let s: serde_json::Value = serde_json::from_str(&d.ok(&["status", "--json"])).expect("json");
    assert_eq!(s["name"], "laptop");
    assert_eq!(s["capacity"], 5);
    assert_eq!(s["used"], 0);
    assert_eq!(s["spawn"], "same-dir");
    assert_eq!(s["dir"], d.work.display().to_string());
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    let text = d.ok(&["status"]);
    assert!(text.contains("sessions:  0/5"), "{text}");
}

#[test]
fn attach_redraws_then_streams_and_detaches() {
    use std::io::{Read, Write};
    let d = daemon(&[]);
    d.ok(&["new", "--name", "att"]);
    d.ok(&["send", "att", "echo before-attach"]);
    d.wait_screen("att", "before-attach");
    let mut child = std::process::Command::new(rcd_tests::bin("rcctl"))
        .args(["--socket"])
        .arg(&d.socket)
        .args(["attach", "att"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rcctl attach");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"echo during-attach\r").expect("type");
    d.wait_screen("att", "during-attach");
    // Ctrl-] detaches.
    stdin.write_all(&[0x1d]).expect("detach key");
    let status = child.wait().expect("attach ends");
    assert!(status.success());
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    assert!(
        out.contains("before-attach"),
        "the redraw shows the screen: {out:?}"
    );
    assert!(out.contains("during-attach"), "raw output follows: {out:?}");
    assert!(out.contains("detached from att"), "{out:?}");
    assert_eq!(d.list()[0]["state"], "running");
}

#[test]
fn transcripts_are_private_even_in_a_shared_state_directory() {
    use std::os::unix::fs::PermissionsExt;
    let mut d = Daemon::start(Options::default());
    d.signal_and_wait(nix::sys::signal::Signal::SIGINT);
    // A state directory others may enter, as a --state-dir made by hand.
    std::fs::set_permissions(&d.state_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let transcripts = d.state_dir.join("transcripts");
    if transcripts.exists() {
        std::fs::set_permissions(&transcripts, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    d.spawn();
    d.wait_ready();
    let log = d.log_text();
    assert!(
        log.contains("the state directory") && log.contains("chmod 700"),
        "{log}"
    );
    assert!(d.rcctl(&["new", "--name", "p"]).status.success());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&transcripts), 0o700);
    let files: Vec<_> = std::fs::read_dir(&transcripts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!files.is_empty());
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}
