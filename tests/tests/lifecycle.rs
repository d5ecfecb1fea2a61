//! The daemon's life: signals, a killed daemon's leftovers, one daemon
//! per socket, and a socket that survives bad clients.

use nix::sys::signal::Signal;
use rcd_tests::{Daemon, Options, alive, bin, rcctl_at, wait_for};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn pids(d: &Daemon) -> Vec<i32> {
    d.list()
        .iter()
        .filter_map(|s| s["pid"].as_i64())
        .map(|p| p as i32)
        .collect()
}

#[test]
fn sigint_stops_sessions_removes_the_socket_and_exits_zero() {
    for sig in [Signal::SIGINT] {
        let mut d = Daemon::start(Options::default());
        d.ok(&["new", "--name", "a"]);
        d.ok(&["new", "--name", "b"]);
        // A job that ignores the hangup must not outlive the daemon either.
        d.ok(&["send", "b", "trap '' HUP; sleep 600"]);
        let ps = pids(&d);
        assert_eq!(ps.len(), 2);
        let status = d.signal_and_wait(sig);
        assert_eq!(status.code(), Some(0), "{sig}: {}", d.log_text());
        assert!(!d.socket.exists(), "socket removed after {sig}");
        for p in ps {
            wait_for(
                "session processes to be gone",
                Duration::from_secs(5),
                || !alive(p),
            );
        }
        assert!(!d.state_dir.join("state.json").exists());
    }
}

#[test]
fn rcctl_shutdown_is_the_same_as_sigint() {
    let mut d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "a"]);
    let ps = pids(&d);
    let keepers = rcd_tests::keepers(&d.state_dir);
    assert_eq!(keepers.len(), 1, "one keeper holds the sessions");
    let out = d.ok(&["shutdown"]);
    assert!(out.contains("rcd stopped"));
    assert_eq!(d.wait_exit().code(), Some(0));
    assert!(!d.socket.exists());
    wait_for("the session to be gone", Duration::from_secs(5), || {
        !alive(ps[0])
    });
    // Nothing left to keep and no rcd: the keeper ends by itself.
    wait_for("the keeper to be gone", Duration::from_secs(5), || {
        !alive(keepers[0])
    });
}

/// rcd and its keeper both killed (as a reboot would, or a person with
/// `kill -9` for both): nothing holds the sessions' terminals any more,
/// and what still runs is an orphan, reported and stoppable.
#[test]
fn a_killed_daemon_and_keeper_leave_a_report_and_a_stale_socket_is_replaced() {
    let mut d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "stubborn"]);
    d.ok(&["new", "--name", "meek"]);
    // This one ignores the hangup it gets when the daemon dies.
    d.ok(&[
        "send",
        "stubborn",
        "exec sh -c 'trap \"\" HUP; exec sleep 600'",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let list = d.list();
    let stubborn = list
        .iter()
        .find(|s| s["name"] == "stubborn")
        .and_then(|s| s["pid"].as_i64())
        .expect("pid") as i32;
    let keepers = rcd_tests::keepers(&d.state_dir);
    assert_eq!(keepers.len(), 1, "one keeper");
    let status = d.signal_and_wait(Signal::SIGKILL);
    assert!(!status.success());
    for k in keepers {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(k), Signal::SIGKILL);
        wait_for("the keeper to be gone", Duration::from_secs(5), || {
            !alive(k)
        });
    }
    assert!(d.socket.exists(), "a killed daemon leaves its socket");
    assert!(d.state_dir.join("state.json").exists());
    assert!(alive(stubborn));

    d.spawn();
    d.wait_ready();
    let log = d.log_text();
    assert!(
        log.contains(&format!(
            "session stubborn (pid {stubborn}) of a previous rcd is still running"
        )),
        "{log}"
    );
    assert!(log.contains("replacing a stale socket"), "{log}");
    // Listed as orphaned, not adopted as running; meek died with its terminal.
    let list = d.list();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["name"], "stubborn");
    assert_eq!(list[0]["state"], "orphaned");
    let err = d.fails(&["new", "--name", "stubborn"]);
    assert!(err.contains("already running"), "{err}");

    // Killed again: the orphan is still known at the next start.
    d.signal_and_wait(Signal::SIGKILL);
    rcd_tests::end_keepers(&d.state_dir);
    d.spawn();
    d.wait_ready();
    assert_eq!(d.list()[0]["state"], "orphaned");
    let log = d.log_text();
    assert_eq!(
        log.matches(&format!("session stubborn (pid {stubborn})"))
            .count(),
        2,
        "reported at both starts: {log}"
    );
    // rcctl stop ends it.
    let out = d.ok(&["stop", "stubborn"]);
    assert!(out.contains("stopped stubborn"), "{out}");
    wait_for("the orphan to be gone", Duration::from_secs(10), || {
        !alive(stubborn)
    });
    assert!(d.list().is_empty());
}

#[test]
fn a_socket_path_that_is_a_regular_file_is_not_replaced() {
    let root = tempfile::tempdir().expect("tmp");
    let victim = root.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").expect("write");
    let out = Command::new(bin("rcd"))
        .arg("--no-relay")
        .arg("--socket")
        .arg(&victim)
        .arg("--state-dir")
        .arg(root.path().join("state"))
        .arg("--dir")
        .arg(root.path())
        .output()
        .expect("rcd runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&victim).expect("still there"),
        "precious\n"
    );
}

#[test]
fn a_second_daemon_on_the_same_socket_is_refused() {
    let d = Daemon::start(Options::default());
    let second = |socket: &Path, state: &Path| {
        let out = Command::new(bin("rcd"))
            .arg("--no-relay")
            .arg("--socket")
            .arg(socket)
            .arg("--state-dir")
            .arg(state)
            .arg("--dir")
            .arg(&d.work)
            .output()
            .expect("rcd runs");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = second(&d.socket, &d.root.path().join("state2"));
    assert!(err.contains("another rcd is already running"), "{err}");
    // Same state directory, other socket: refused too.
    let err = second(&d.root.path().join("other.sock"), &d.state_dir);
    assert!(err.contains("already using the state directory"), "{err}");
    // The first one is unharmed.
    d.ok(&["status"]);
}

#[test]
fn socket_and_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let d = Daemon::start(Options::default());
    let mode = std::fs::metadata(&d.socket)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // A socket in a directory rcd creates gets a 0700 directory.
    let sock = d.root.path().join("made").join("r.sock");
    let state = d.root.path().join("state-made");
    let mut child = Command::new(bin("rcd"))
        .arg("--no-relay")
        .arg("--dir")
        .arg(&d.work)
        .arg("--socket")
        .arg(&sock)
        .arg("--state-dir")
        .arg(&state)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rcd");
    wait_for("second socket", Duration::from_secs(10), || {
        rcctl_at(&sock, &["status"]).status.success()
    });
    let dmode = std::fs::metadata(sock.parent().expect("dir"))
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(dmode & 0o777, 0o700);
    assert_eq!(rcctl_at(&sock, &["shutdown"]).status.code(), Some(0));
    let _ = child.wait();
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// Sends `bytes` and expects the daemon to close the connection.
fn expect_closed(d: &Daemon, bytes: &[u8]) {
    let mut s = UnixStream::connect(&d.socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut sink = Vec::new();
    // Whatever was answered (a hello), the daemon ends the connection.
    match s.read_to_end(&mut sink) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("connection was not closed: {e}"),
    }
}

#[test]
fn garbage_oversized_and_truncated_frames_close_only_that_connection() {
    let d = Daemon::start(Options::default());
    d.ok(&["new", "--name", "keep"]);
    let hello = frame(br#"{"protocol":1,"version":"0.1.0"}"#);

    expect_closed(&d, &frame(b"\xff\xfe not json"));
    expect_closed(&d, &u32::MAX.to_be_bytes());
    expect_closed(&d, &(64u32 * 1024 * 1024).to_be_bytes());
    expect_closed(&d, &[0, 0, 0, 100, b'{']);
    expect_closed(&d, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut after_hello = hello.clone();
    after_hello.extend(frame(br#"{"op":"no-such-op"}"#));
    expect_closed(&d, &after_hello);
    let mut huge = hello.clone();
    huge.extend_from_slice(&(5u32 * 1024 * 1024).to_be_bytes());
    expect_closed(&d, &huge);

    // Everyone else is still served.
    d.ok(&["status"]);
    assert_eq!(d.list()[0]["name"], "keep");
    let log = d.log_text();
    assert!(log.contains("closed a client connection"), "{log}");
}

#[test]
fn a_client_of_another_protocol_version_is_told_so() {
    let d = Daemon::start(Options::default());
    // The daemon answers its hello and closes.
    let mut s = UnixStream::connect(&d.socket).expect("connect");
    s.write_all(&frame(br#"{"protocol":999,"version":"9.9.9"}"#))
        .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf[4..]);
    assert!(text.contains("\"protocol\":1"), "{text}");
    assert!(d.log_text().contains("another protocol version"));

    // rcctl facing a daemon of another version says what to do.
    let fake = d.root.path().join("fake.sock");
    let listener = std::os::unix::net::UnixListener::bind(&fake).expect("bind");
    let server = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().expect("accept");
        let mut len = [0u8; 4];
        c.read_exact(&mut len).expect("len");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        c.read_exact(&mut body).expect("hello");
        let reply = frame(br#"{"protocol":2,"version":"0.2.0","max_frame":4194304}"#);
        c.write_all(&reply).expect("reply");
    });
    let out = rcctl_at(&fake, &["list"]);
    server.join().expect("fake server");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("version mismatch"), "{err}");
    assert!(err.contains("rcd 0.2.0"), "{err}");
    assert!(err.contains("restart rcd"), "{err}");
}

#[test]
fn another_user_is_refused_by_the_daemon() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if !nix::unistd::getuid().is_root() {
        eprintln!("skipped: needs root to run a client as another user");
        return;
    }
    let d = Daemon::start(Options::default());
    // Open the file-system path so only the daemon's own check stands in
    // the way.
    std::fs::set_permissions(d.root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = Command::new(bin("rcctl"))
        .arg("--socket")
        .arg(&d.socket)
        .arg("status")
        .uid(65534)
        .gid(65534)
        .output()
        .expect("rcctl as nobody");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused: this rcd serves only uid 0"), "{err}");
    assert!(d.log_text().contains("refused a client of another user"));
    d.ok(&["status"]);
}

#[test]
fn under_systemd_the_log_is_plain_lines_with_the_session_name() {
    let root = rcd_tests::short_tempdir("rcdj");
    let sock = root.path().join("j.sock");
    let child = rcd_tests::RcdProc::command(&bin("rcd"), root.path(), Some(&sock))
        .arg("--no-relay")
        .arg("--dir")
        .arg(root.path())
        .arg("--command")
        .arg("sh")
        .env("JOURNAL_STREAM", "8:12345")
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rcd");
    wait_for("rcd", Duration::from_secs(15), || {
        rcctl_at(&sock, &["status"]).status.success()
    });
    assert!(
        rcctl_at(&sock, &["new", "--name", "journal"])
            .status
            .success()
    );
    assert!(rcctl_at(&sock, &["stop", "journal"]).status.success());
    assert!(rcctl_at(&sock, &["shutdown"]).status.success());
    let out = child.wait_with_output().expect("exit");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains('\u{1b}'), "no colours: {log}");
    for line in log.lines() {
        assert!(
            !line.starts_with(|c: char| c.is_ascii_digit()),
            "no timestamp (journald adds its own): {line}"
        );
    }
    assert!(log.contains("session started name=journal"), "{log}");
    assert!(log.contains("session stopped name=journal"), "{log}");
}

#[test]
fn ctrl_c_with_the_embedded_relay_deregisters_without_a_warning() {
    let mut d = Daemon::start(Options::with_args(
        false,
        &["--listen", "127.0.0.1:0", "--name", "home"],
    ));
    // The pairing line comes once the link is up; a session has a link
    // of its own.
    rcd_tests::pairing_code(&d);
    d.ok(&["new", "--name", "s"]);
    std::thread::sleep(Duration::from_millis(500));
    let status = d.signal_and_wait(nix::sys::signal::Signal::SIGINT);
    assert!(status.success(), "{status:?}");
    let log = d.log_text();
    assert!(log.contains("deregistered from the relay"), "{log}");
    assert!(!log.contains("could not deregister"), "{log}");
    assert!(
        !log.contains(" WARN "),
        "a normal Ctrl-C warns of nothing:\n{log}"
    );
}

#[test]
fn a_closed_pipe_ends_rcctl_quietly() {
    // A pipe whose reader is gone before rcctl writes: `rcctl … | head`.
    let (reader, writer) = nix::unistd::pipe().expect("pipe");
    drop(reader);
    let file = std::env::temp_dir().join(format!("rcd-pipe-{}.json", std::process::id()));
    let out = Command::new(bin("rcctl"))
        .args(["hooks", "install", "claude", "--dry-run", "--file"])
        .arg(&file)
        .stdout(std::process::Stdio::from(writer))
        .output()
        .expect("rcctl runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "quietly: {err}");
    assert_eq!(
        out.status.code(),
        Some(rcd_proto::cli::BROKEN_PIPE_STATUS),
        "{out:?}"
    );
}
