//! Nothing secret and nothing typed reaches a log: rcd with its embedded
//! relay runs at `RUST_LOG=trace` and `-v` while a device pairs, creates,
//! types, attaches and stops, and a local rcctl does the same; then every
//! line rcd and rcctl wrote is searched for the typed text, the device
//! token and anything that looks like a secret.

use rcd_tests::{Daemon, Options, pairing_code, remote, stdout_of, wait_for};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What every secret starts with (relay/src/secret.rs).
const SECRET_PREFIXES: [&str; 5] = ["rce_", "rcenv_", "rcsess_", "rcdev_", "rctkt_"];

/// Places in `text` where a secret prefix is followed by secret
/// characters (a redacted `rcdev_…` is fine).
fn secret_like(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for prefix in SECRET_PREFIXES {
        for (at, _) in text.match_indices(prefix) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let tail: String = text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            if tail.len() >= 16 {
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                found.push(text[line_start..line_end].to_string());
            }
        }
    }
    found
}

/// Runs rcctl at `RUST_LOG=trace` and keeps its stderr.
fn rcctl(stderr: &mut String, cmd: &mut Command) -> String {
    let out = cmd
        .env("RUST_LOG", "trace")
        .env_remove("RCD_RELAY")
        .env_remove("RCD_TOKEN")
        .env_remove("RCD_SOCKET")
        .stdin(Stdio::null())
        .output()
        .expect("rcctl runs");
    let err = String::from_utf8_lossy(&out.stderr);
    stderr.push_str(&err);
    assert!(out.status.success(), "{cmd:?}: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `rcctl attach` (local or remote by `args`), types `text`, detaches.
fn attach_and_type(stderr: &mut String, args: &[&str], text: &str) {
    let mut child = Command::new(rcd_tests::bin("rcctl"))
        .args(args)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rcctl attach");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(text.as_bytes()).expect("type");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(&[0x1d]).expect("detach key");
    let status = child.wait().expect("attach ends");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .ok();
    stderr.push_str(&err);
    assert!(status.success(), "rcctl {args:?}: {err}");
}

#[test]
fn no_secret_and_no_typed_text_in_any_log() {
    let mut opts = Options::with_args(false, &["--listen", "127.0.0.1:0", "--name", "home", "-v"]);
    opts.env.push(("RUST_LOG".into(), "trace".into()));
    let d = Daemon::start(opts);
    let code = pairing_code(&d);
    let url = rcd_tests::embedded_relay_url(&d);
    let mut stderr = String::new();
    let token = stdout_of(
        &remote(&url, "", None, &["pair", "--print-token", &code]),
        "pair",
    )
    .trim()
    .to_string();
    assert!(token.starts_with("rcdev_"), "{token}");
    let relay = |args: &[&str]| {
        let mut cmd = Command::new(rcd_tests::bin("rcctl"));
        cmd.args(["--relay", &url, "--token", &token]).args(args);
        cmd
    };
    let local = |args: &[&str]| {
        let mut cmd = Command::new(rcd_tests::bin("rcctl"));
        cmd.arg("--socket").arg(&d.socket).args(args);
        cmd
    };

    // The marker is built at run time so it appears nowhere but in what
    // is typed and in the screen that echoes it.
    let marker = format!("SECRETMARK{}", std::process::id() * 7 + 12345);
    wait_for("the link to be up", Duration::from_secs(30), || {
        String::from_utf8_lossy(&relay(&["status"]).output().expect("status").stdout)
            .contains("online")
    });
    rcctl(
        &mut stderr,
        &mut relay(&["new", "--env", "home", "--name", "s1"]),
    );
    rcctl(
        &mut stderr,
        &mut relay(&["send", "s1", &format!("export API_KEY={marker}-remote")]),
    );
    rcctl(
        &mut stderr,
        &mut local(&["send", "s1", &format!("echo {marker}-local")]),
    );
    d.wait_screen("s1", &format!("{marker}-local"));
    rcctl(&mut stderr, &mut local(&["screen", "s1"]));
    rcctl(&mut stderr, &mut relay(&["screen", "s1"]));
    rcctl(&mut stderr, &mut local(&["transcript", "s1"]));
    attach_and_type(
        &mut stderr,
        &["--socket", &d.socket.display().to_string(), "attach", "s1"],
        &format!("echo {marker}-attach-local\r"),
    );
    attach_and_type(
        &mut stderr,
        &["--relay", &url, "--token", &token, "attach", "s1"],
        &format!("echo {marker}-attach-remote\r"),
    );
    d.wait_screen("s1", &format!("{marker}-attach-remote"));
    rcctl(&mut stderr, &mut relay(&["stop", "s1"]));
    rcctl(&mut stderr, &mut local(&["new", "--name", "s2"]));
    rcctl(&mut stderr, &mut local(&["stop", "s2"]));
    rcctl(&mut stderr, &mut local(&["shutdown"]));
    let mut d = d;
    d.wait_exit();

    let log = d.log_text();
    // The log must have been written in detail for this to mean anything:
    // each request is logged, by its name.
    assert!(
        log.contains("DEBUG") && log.contains(r#"op="send""#),
        "rcd did not log its requests:\n{log}"
    );
    for (what, text) in [("rcd's log", &log), ("rcctl's stderr", &stderr)] {
        // The pairing code is shown to the user on purpose, once; it is
        // used up by the pairing above.
        assert!(
            !text.contains(&marker),
            "{what} holds typed text or screen content:\n{}",
            text.lines()
                .filter(|l| l.contains(&marker))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            !text.contains(&token),
            "{what} holds the device token:\n{}",
            text.lines()
                .filter(|l| l.contains(&token))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let leaks = secret_like(text);
        assert!(
            leaks.is_empty(),
            "{what} holds secrets:\n{}",
            leaks.join("\n")
        );
    }
}

#[test]
fn the_secret_search_finds_secrets_and_only_them() {
    assert_eq!(
        secret_like("x\nAuthorization: Bearer rcsess_Abc-def_ghijklmnopqrstu\ny").len(),
        1
    );
    assert_eq!(secret_like("rce_0123456789abcdefXYZ").len(), 1);
    assert!(secret_like("token: Secret(rcdev_…)").is_empty());
    assert!(secret_like("force_abcdefghijklmnopqrstuvwxyz").is_empty());
    assert!(secret_like("device=dev_ce4d32a50757").is_empty());
}
