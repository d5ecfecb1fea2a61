//! `--sandbox`: real sessions confined on this kernel (Landlock, and a
//! network namespace for `--sandbox-network off`), the per-session
//! overrides, and the refusal when the kernel lacks a feature (through
//! the RCD_SANDBOX_PRETEND_ABI seam).
//!
//! Tests that need enforcement skip, saying so, only when rcd itself
//! refuses the sandbox on this kernel; the refusal test always runs.

use rcd_tests::{Daemon, Options, PATIENCE, RcdProc, bin, wait_for};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;

/// A `--sandbox` daemon (with `args`) that treats the kernel as having
/// Landlock ABI `abi` (the RCD_SANDBOX_PRETEND_ABI seam).
fn pretending_abi(abi: &str, args: &[&str]) -> Daemon {
    Daemon::start(Options {
        env: vec![("RCD_SANDBOX_PRETEND_ABI".into(), abi.into())],
        ..Options::with_args(false, args)
    })
}

/// `rcctl new ARGS --json`; `None` (after saying why) when rcd refuses
/// the sandbox because this kernel cannot enforce it.
fn new_session(d: &Daemon, args: &[&str]) -> Option<Value> {
    let mut all = vec!["new", "--json"];
    all.extend_from_slice(args);
    let out = d.rcctl(&all);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("cannot sandbox the session") {
            eprintln!("SKIP: this kernel cannot enforce the sandbox: {err}");
            return None;
        }
        panic!(
            "rcctl {all:?} failed: {err}\n--- rcd log ---\n{}",
            d.log_text()
        );
    }
    Some(serde_json::from_slice(&out.stdout).expect("new --json"))
}

/// Types `cmd` and waits for `done` (typed so that the echo of the command
/// line itself never matches: write `D'ONE'` in `cmd`, wait for `DONE`).
fn run(d: &Daemon, name: &str, cmd: &str, done: &str) -> String {
    d.ok(&["send", name, cmd]);
    d.wait_screen(name, done);
    d.screen(name)
}

/// Whether the screen has a row that is exactly `text`.
fn has_line(screen: &str, text: &str) -> bool {
    screen.lines().any(|l| l.trim_end() == text)
}

fn session<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed: {list:?}"))
}

#[test]
fn a_sandboxed_worktree_session_writes_only_its_own_places() {
    let d = Daemon::start(Options::with_args(
        true,
        &["--spawn", "worktree", "--sandbox"],
    ));
    let Some(s) = new_session(&d, &["--name", "box"]) else {
        return;
    };
    assert_eq!(s["sandboxed"], true, "{s}");
    let wt = s["dir"].as_str().expect("dir").to_string();
    let home = d.root.path();
    let main = d.work.clone();

    // Inside the worktree: create, change, commit.
    let screen = run(
        &d,
        "box",
        "clear; echo work > inside.txt && echo changed >> README.md && git add -A && git -c \
         user.name=t -c user.email=t@e commit -qm w 2>/dev/null; git log --oneline | wc -l; \
         echo W'ROTE'",
        "WROTE",
    );
    assert!(
        has_line(&screen, "2"),
        "two commits on the branch: {screen}"
    );
    assert_eq!(
        std::fs::read_to_string(Path::new(&wt).join("inside.txt")).expect("written"),
        "work\n"
    );
    // Other branches of the repository are out of reach.
    let main_before = rcd_tests::git(&d.work, &["rev-parse", "main"]);
    let screen = run(
        &d,
        "box",
        "clear; git update-ref refs/heads/main HEAD 2>/dev/null; echo main=$?; \
         git branch sneaky 2>/dev/null; echo branch=$?; echo B'RANCHES'",
        "BRANCHES",
    );
    assert!(!has_line(&screen, "main=0"), "moved main: {screen}");
    assert!(!has_line(&screen, "branch=0"), "made a branch: {screen}");
    assert_eq!(rcd_tests::git(&d.work, &["rev-parse", "main"]), main_before);

    // Outside: the home directory and the main checkout are read-only.
    let screen = run(
        &d,
        "box",
        &format!(
            "clear; echo x > {home}/home-marker; echo home=$?; echo x > {main}/main-marker; \
             echo main=$?; rm {main}/README.md; echo rm=$?; echo O'UTSIDE'",
            home = home.display(),
            main = main.display()
        ),
        "OUTSIDE",
    );
    assert!(screen.contains("Permission denied"), "{screen}");
    for want in ["home=1", "main=1", "rm=1"] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    assert!(!home.join("home-marker").exists());
    assert!(!main.join("main-marker").exists());
    assert_eq!(
        std::fs::read_to_string(main.join("README.md")).expect("still there"),
        "hello\n"
    );

    // Reading the main checkout is fine; TMPDIR is private and writable.
    let screen = run(
        &d,
        "box",
        &format!(
            "clear; cat {}/README.md; touch \"$TMPDIR/t\"; echo tmp=$?; echo $TMPDIR; \
             echo R'EAD-DONE'",
            main.display()
        ),
        // Not "READ": the screen already shows README.md.
        "READ-DONE",
    );
    assert!(has_line(&screen, "hello"), "{screen}");
    assert!(has_line(&screen, "tmp=0"), "{screen}");
    let tmp = screen
        .lines()
        .find(|l| l.contains("sandbox-tmp"))
        .expect("TMPDIR under the state directory")
        .trim()
        .to_string();
    assert!(
        Path::new(&tmp).starts_with(&d.state_dir),
        "{tmp} is rcd's own"
    );
    assert!(Path::new(&tmp).join("t").exists());

    assert_eq!(session(&d.list(), "box")["sandboxed"], true);
    let plain: String = d.ok(&["list"]);
    assert!(plain.contains("SANDBOX"), "{plain}");

    // The temporary directory goes with the session.
    d.ok(&["stop", "box", "--force"]);
    assert!(!Path::new(&tmp).exists(), "{tmp} removed");
}

#[test]
fn network_off_and_ports_and_allow() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let probe =
        format!("clear; (exec 3<>/dev/tcp/127.0.0.1/{port}) && echo N'ET-OK' || echo N'ET-FAILED'");
    let connects = |network: &str| -> Option<bool> {
        let d = Daemon::start(Options::with_args(
            false,
            &["--sandbox", "--sandbox-network", network],
        ));
        let s = new_session(&d, &["--name", "net"])?;
        assert_eq!(s["sandboxed"], true);
        d.ok(&["send", "net", &probe]);
        let mut screen = String::new();
        wait_for("the connection attempt", PATIENCE, || {
            screen = d.screen("net");
            screen.contains("NET-OK") || screen.contains("NET-FAILED")
        });
        Some(screen.contains("NET-OK"))
    };
    let Some(off) = connects("off") else { return };
    assert!(!off, "network off: 127.0.0.1:{port} must be unreachable");
    assert_eq!(connects("allow"), Some(true), "network allow");
    // A port list needs Landlock ABI 4; rcd says so where it is missing.
    if let Some(listed) = connects(&format!("{port},443")) {
        assert!(listed, "port {port} is listed");
        assert_eq!(connects("443"), Some(false), "port {port} is not listed");
    }
}

#[test]
fn a_kernel_without_the_feature_refuses_the_session_and_names_it() {
    // The seam: rcd treats the kernel as having no Landlock at all.
    let d = pretending_abi("0", &["--sandbox"]);
    let err = d.fails(&["new", "--name", "x"]);
    assert!(err.contains("cannot sandbox the session"), "{err}");
    assert!(err.contains("Landlock"), "names the feature: {err}");
    assert!(err.contains("--no-sandbox"), "says what to do: {err}");
    assert!(d.list().is_empty(), "nothing was started");
    assert!(
        !d.state_dir.join("sandbox-tmp").join("x").exists(),
        "nothing was created"
    );
    // Unconfined on request still works, and says so.
    let s = new_session(&d, &["--name", "free", "--no-sandbox"]).expect("no sandbox asked");
    assert_eq!(s["sandboxed"], false);
    assert!(
        d.log_text()
            .contains("every sandboxed session will be refused"),
        "the start-up log warns"
    );
    drop(d);

    // Landlock without network rules, and a port list asked for.
    let d = pretending_abi("3", &["--sandbox", "--sandbox-network", "443"]);
    let err = d.fails(&["new"]);
    assert!(
        err.contains("Landlock network rules (ABI 4"),
        "names the feature: {err}"
    );
    assert!(d.list().is_empty());
}

#[test]
fn per_session_overrides() {
    // --no-sandbox on a --sandbox daemon: unconfined.
    let d = Daemon::start(Options::with_args(false, &["--sandbox"]));
    let s = new_session(&d, &["--name", "free", "--no-sandbox"]).expect("no sandbox asked");
    assert_eq!(s["sandboxed"], false);
    let home = d.root.path().join("free-marker");
    run(
        &d,
        "free",
        &format!("echo x > {} && echo F'REE'", home.display()),
        "FREE",
    );
    assert!(home.exists(), "an unconfined session writes anywhere");
    if new_session(&d, &["--name", "boxed"]).is_some() {
        let list = d.list();
        assert_eq!(session(&list, "free")["sandboxed"], false);
        assert_eq!(session(&list, "boxed")["sandboxed"], true);
    }
    drop(d);

    // --sandbox on a plain daemon: confined.
    let d = Daemon::start(Options::with_args(false, &[]));
    let Some(s) = new_session(&d, &["--name", "boxed", "--sandbox"]) else {
        return;
    };
    assert_eq!(s["sandboxed"], true);
    let home = d.root.path().join("boxed-marker");
    let screen = run(
        &d,
        "boxed",
        &format!("echo x > {}; echo B'OXED'", home.display()),
        "BOXED",
    );
    assert!(screen.contains("Permission denied"), "{screen}");
    assert!(!home.exists());
    let plain = d.ok(&["new", "--name", "plain"]);
    assert_eq!(plain.trim(), "plain");
    assert_eq!(session(&d.list(), "plain")["sandboxed"], false);
}

#[test]
fn rcctl_inside_a_sandboxed_session_is_refused() {
    let d = Daemon::start(Options::with_args(false, &["--sandbox"]));
    let rcctl = bin("rcctl");
    let try_new = format!(
        "clear; {} --socket {} new --name escaped --no-sandbox; echo T'RIED'",
        rcctl.display(),
        d.socket.display()
    );
    if new_session(&d, &["--name", "boxed"]).is_none() {
        return;
    }
    let screen = run(&d, "boxed", &try_new, "TRIED");
    // Refused: the sandbox cannot open a Unix socket at all (and rcd
    // would refuse a sandboxed peer if it could).
    assert!(
        screen.contains("cannot be used from inside a sandboxed session")
            || screen.contains("permission denied"),
        "{screen}"
    );
    let list = d.list();
    assert!(list.iter().all(|s| s["name"] != "escaped"), "{list:?}");

    // An unconfined session of the same rcd still may.
    new_session(&d, &["--name", "free", "--no-sandbox"]).expect("no sandbox asked");
    let ok = format!(
        "clear; {} --socket {} list | grep -c boxed; echo T'RIED'",
        rcctl.display(),
        d.socket.display()
    );
    let screen = run(&d, "free", &ok, "TRIED");
    assert!(has_line(&screen, "1"), "{screen}");
}

#[test]
fn bad_sandbox_settings_stop_rcd_at_start() {
    let root = tempfile::tempdir().expect("tmp");
    let out = RcdProc::command(&bin("rcd"), root.path(), Some(&root.path().join("s")))
        .arg("--no-relay")
        .arg("--dir")
        .arg(root.path())
        .args(["--sandbox", "--sandbox-network", "http"])
        .stderr(Stdio::piped())
        .output()
        .expect("rcd");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("off, allow, or TCP ports"), "{err}");
}

#[test]
fn agents_and_abstract_sockets_are_out_of_reach() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("rcd-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
    let listener = std::os::unix::net::UnixListener::bind_addr(&addr).expect("abstract listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let d = Daemon::start(Options {
        env: vec![("SSH_AUTH_SOCK".into(), "/tmp/agent.sock".into())],
        ..Options::with_args(false, &["--sandbox"])
    });
    let Some(_) = new_session(&d, &["--name", "inside"]) else {
        return;
    };
    new_session(&d, &["--name", "outside", "--no-sandbox"]).expect("unsandboxed");
    let probe = format!(
        "python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\\\0{name}'); print('CONNECTED')\" 2>&1 | tail -1; echo A'GENT='${{SSH_AUTH_SOCK:-none}}"
    );
    if !have_python() {
        return;
    }
    let inside = run(&d, "inside", &probe, "AGENT=");
    assert!(
        !has_line(&inside, "CONNECTED"),
        "abstract socket reached from the sandbox:\n{inside}"
    );
    assert!(
        inside.contains("AGENT=none"),
        "SSH_AUTH_SOCK hidden:\n{inside}"
    );
    let outside = run(&d, "outside", &probe, "AGENT=");
    assert!(
        has_line(&outside, "CONNECTED"),
        "the probe works unsandboxed:\n{outside}"
    );
    assert!(outside.contains("AGENT=/tmp/agent.sock"), "{outside}");
}

#[test]
fn only_its_own_terminal_is_writable() {
    let d = Daemon::start(Options::with_args(false, &["--sandbox"]));
    new_session(&d, &["--name", "victim", "--no-sandbox"]).expect("unsandboxed");
    let Some(_) = new_session(&d, &["--name", "inside"]) else {
        return;
    };
    let victim = run(&d, "victim", "echo T'TY='$(tty)", "TTY=/dev/pts/");
    let tty = victim
        .lines()
        .find_map(|l| l.trim().strip_prefix("TTY="))
        .expect("the victim's terminal")
        .to_string();
    let inside = run(
        &d,
        "inside",
        &format!(
            "echo injected > {tty} 2>/dev/null && echo W'ROTE' || echo R'EFUSED'; echo own > $(tty) && echo O'WN-OK'"
        ),
        "OWN-OK",
    );
    assert!(
        has_line(&inside, "REFUSED"),
        "another session's terminal was writable:\n{inside}"
    );
    assert!(!d.screen("victim").contains("injected"));
}

#[test]
fn the_runtime_directory_and_its_sockets_are_hidden() {
    if !have_python() {
        return;
    }
    let runtime = rcd_tests::short_tempdir("rcdx");
    let bus = runtime.path().join("bus");
    let _listener = std::os::unix::net::UnixListener::bind(&bus).expect("bus listener");
    let d = Daemon::start(Options {
        env: vec![(
            "XDG_RUNTIME_DIR".into(),
            runtime.path().display().to_string(),
        )],
        ..Options::with_args(false, &["--sandbox"])
    });
    let Some(_) = new_session(&d, &["--name", "inside"]) else {
        return;
    };
    new_session(&d, &["--name", "outside", "--no-sandbox"]).expect("unsandboxed");
    let probe = format!(
        "clear; python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('{}'); print('CONNECTED')\" 2>&1 | tail -1; ls {} | wc -l; echo B'US-DONE'",
        bus.display(),
        runtime.path().display()
    );
    let inside = run(&d, "inside", &probe, "BUS-DONE");
    assert!(
        !has_line(&inside, "CONNECTED"),
        "the session bus was reached from the sandbox:\n{inside}"
    );
    assert!(
        has_line(&inside, "0"),
        "the runtime directory looks empty:\n{inside}"
    );
    let outside = run(&d, "outside", &probe, "BUS-DONE");
    assert!(
        has_line(&outside, "CONNECTED"),
        "the probe works unsandboxed:\n{outside}"
    );
    assert!(bus.exists(), "the host's runtime directory is untouched");
}

#[test]
fn unix_sockets_anywhere_are_out_of_reach_but_socketpairs_work() {
    if !have_python() {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("rcdu")
        .tempdir_in("/tmp")
        .expect("tmp");
    let path = dir.path().join("service.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let d = Daemon::start(Options::with_args(false, &["--sandbox"]));
    let Some(_) = new_session(&d, &["--name", "inside"]) else {
        return;
    };
    new_session(&d, &["--name", "outside", "--no-sandbox"]).expect("unsandboxed");
    let probe = format!(
        "clear; python3 -c \"import socket; a,b=socket.socketpair(); print('PAIR-OK')\" 2>&1 | tail -1; \
         python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('{}'); print('CONNECTED')\" 2>&1 | tail -1; echo P'ROBED'",
        path.display()
    );
    let inside = run(&d, "inside", &probe, "PROBED");
    assert!(
        has_line(&inside, "PAIR-OK"),
        "socketpair works inside:\n{inside}"
    );
    assert!(
        !has_line(&inside, "CONNECTED"),
        "a Unix socket was reached from the sandbox:\n{inside}"
    );
    let outside = run(&d, "outside", &probe, "PROBED");
    assert!(has_line(&outside, "CONNECTED"), "{outside}");
}

/// Whether python3 (the socket probes' tool) is here; says so when not.
fn have_python() -> bool {
    let here = std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_ok();
    if !here {
        eprintln!("SKIP: python3 is not installed");
    }
    here
}
