//! rcd in a terminal: the status line and the `w` key, through a real PTY
//! made by script(1).

use rcd_tests::{Daemon, Options, wait_for};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn w_toggles_the_spawn_mode_and_the_status_line_follows() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) is not installed");
        return;
    }
    // Borrow a world (repository, paths) from a harness daemon, then run a
    // second rcd inside a PTY on its own socket.
    let d = Daemon::start(Options {
        repo: true,
        ..Options::default()
    });
    let sock = d.root.path().join("tty.sock");
    let state = d.root.path().join("tty-state");
    let out = d.root.path().join("tty.out");
    let cmd = format!(
        "{} --no-relay --dir {} --socket {} --state-dir {} --command sh",
        rcd_tests::bin("rcd").display(),
        d.work.display(),
        sock.display(),
        state.display()
    );
    let mut script = Command::new("script")
        .args(["-qfec", &cmd])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script runs");
    // Whatever happens, do not leave rcd running.
    struct Cleanup(std::path::PathBuf, std::process::Child);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = rcd_tests::rcctl_at(&self.0, &["shutdown"]);
            let _ = self.1.kill();
            let _ = self.1.wait();
        }
    }
    let mut stdin = script.stdin.take().expect("stdin");
    let _cleanup = Cleanup(sock.clone(), script);
    let status = |key: &str| -> Option<String> {
        let o = rcd_tests::rcctl_at(&sock, &["status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
        v[key].as_str().map(str::to_string)
    };
    wait_for("rcd in a PTY", Duration::from_secs(15), || {
        status("spawn").is_some()
    });
    assert_eq!(status("spawn").as_deref(), Some("same-dir"));
    stdin.write_all(b"w").expect("press w");
    stdin.flush().expect("flush");
    wait_for("w to switch to worktree", Duration::from_secs(10), || {
        status("spawn").as_deref() == Some("worktree")
    });
    stdin.write_all(b"w").expect("press w");
    stdin.flush().expect("flush");
    wait_for("w to switch back", Duration::from_secs(10), || {
        status("spawn").as_deref() == Some("same-dir")
    });
    let screen = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        screen.contains("0/32 sessions · spawn worktree"),
        "{screen}"
    );
    assert!(screen.contains("w spawn mode"), "{screen}");
    assert!(rcd_tests::rcctl_at(&sock, &["shutdown"]).status.success());
}
