//! The `rc-relay` binary: token and device commands on a data directory,
//! and a running `rc-relay serve` that sees their changes.

mod common;

use common::{Api, PATIENCE};
use rcd_proto::relay::Secret;
use serde_json::Value;
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rc-relay");

fn rc_relay(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("RC_RELAY_DATA_DIR")
        .output()
        .expect("rc-relay runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = rc_relay(dir, args);
    assert!(
        out.status.success(),
        "rc-relay {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `rc-relay serve` on 127.0.0.1:0, killed on drop.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(dir: &Path) -> Serve {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir);
        Serve::spawn(cmd)
    }

    /// Runs `cmd` (an `rc-relay serve`) and waits for the address it says
    /// it listens on.
    fn spawn(mut cmd: Command) -> Serve {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("rc-relay serve starts");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tokens_are_made_listed_and_revoked_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = ok(&dir, &["token", "create", "--label", "laptop"]);
    let token = out.trim();
    assert!(token.starts_with("rce_"), "{out}");
    assert_eq!(out.lines().count(), 1, "only the token on stdout: {out}");

    let made: Value = serde_json::from_str(&ok(&dir, &["token", "create", "--json"])).unwrap();
    assert!(made["token"].as_str().unwrap().starts_with("rce_"));
    let second_id = made["id"].as_str().unwrap().to_string();

    let file = dir.join("tokens.json");
    let on_disk = std::fs::read_to_string(&file).unwrap();
    assert!(!on_disk.contains(token), "stored hashed only");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );

    let listed = ok(&dir, &["token", "list", "--json"]);
    assert!(!listed.contains("rce_"), "never the secret: {listed}");
    let rows: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["label"], "laptop");
    assert_eq!(rows[1]["revoked"], false);
    let table = ok(&dir, &["token", "list"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("laptop") && table.contains("active"),
        "{table}"
    );

    let out = ok(&dir, &["token", "revoke", &second_id]);
    assert!(out.contains("revoked"), "{out}");
    let rows: Vec<Value> = serde_json::from_str(&ok(&dir, &["token", "list", "--json"])).unwrap();
    assert_eq!(rows[1]["revoked"], true);
    let out = ok(&dir, &["token", "revoke", &second_id]);
    assert!(out.contains("already"), "{out}");

    let failed = rc_relay(&dir, &["token", "revoke", "enr_nope"]);
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(err.contains("enr_nope"), "{err}");
    let failed = rc_relay(&dir, &["device", "revoke", "dev_nope"]);
    assert!(!failed.status.success());
    assert!(ok(&dir, &["device", "list", "--json"]).trim() == "[]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_relay_sees_tokens_made_and_revoked_by_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let serve = Serve::start(&dir);
    let api = Api::new(&serve.url);

    // Made after the relay started.
    let made: Value = serde_json::from_str(&ok(&dir, &["token", "create", "--json"])).unwrap();
    let id = made["id"].as_str().unwrap().to_string();
    let token = Secret(made["token"].as_str().unwrap().to_string());
    let daemon = api.register(&token, "laptop").await;
    let (device_id, device) = daemon.pair("phone").await;
    assert_eq!(api.get("/environments", Some(&device)).await.0, 200);

    let devices: Vec<Value> =
        serde_json::from_str(&ok(&dir, &["device", "list", "--json"])).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["id"], device_id.as_str());
    assert_eq!(devices[0]["owner"], id.as_str());

    let out = ok(&dir, &["token", "revoke", &id]);
    assert!(out.contains("1 device token"), "{out}");
    let (status, _) = api
        .post("/environments/register", Some(token.expose()), Value::Null)
        .await;
    assert_eq!(
        status, 401,
        "the revoked enrollment token is refused at once"
    );
    assert_eq!(api.get("/environments", Some(&device)).await.0, 401);
    assert_eq!(daemon.heartbeat(vec![]).await, 401);
    let devices: Vec<Value> =
        serde_json::from_str(&ok(&dir, &["device", "list", "--json"])).unwrap();
    assert_eq!(devices[0]["revoked"], true);
    drop(serve);
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let mut serve = Serve::start(tmp.path());
    let pid = nix::unistd::Pid::from_raw(serve.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = serve.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "rc-relay did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_a_bad_address_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let out = rc_relay(tmp.path(), &["serve", "--listen", "not-an-address"]);
    assert!(!out.status.success());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = rc_relay(tmp.path(), &["serve", "--listen", &addr]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen"), "{err}");
}

/// `rc-relay serve` with `args` and the open-file limit `nofile`; its
/// stderr lines arrive on the returned channel.
fn serve_logged(
    dir: &Path,
    args: &[&str],
    nofile: u64,
) -> (Child, String, std::sync::mpsc::Receiver<String>) {
    // The shell sets the limit (soft and hard) and becomes rc-relay.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("rc-relay serve starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_string();
    (child, addr, rx)
}

fn logged(rx: &std::sync::mpsc::Receiver<String>, what: &str) -> String {
    let until = Instant::now() + PATIENCE;
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(what) => return line,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    panic!("no log line with {what:?}");
}

#[test]
fn serve_fits_its_connection_cap_to_the_open_file_limit_and_says_when_it_is_hit() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut child, addr, rx) = serve_logged(tmp.path(), &["--max-connections", "1000"], 70);
    let line = logged(&rx, "open-file limit is 70");
    assert!(line.contains("at most 6 connections"), "{line}");
    let held: Vec<_> = (0..6)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let mut extra = std::net::TcpStream::connect(&addr).unwrap();
    let line = logged(&rx, "connection limit reached (6 open)");
    assert!(line.contains("--max-connections"), "{line}");
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 16];
    // Refused: closed at once, not left waiting.
    assert_eq!(std::io::Read::read(&mut extra, &mut buf).unwrap_or(0), 0);
    drop(held);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_config_file_gives_the_options_the_command_line_leaves_out() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let config = tmp.path().join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nlisten = \"127.0.0.1:0\"\nheartbeat-interval = 7\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env_remove("RC_RELAY_DATA_DIR")
            .env_remove("RC_RELAY_CONFIG")
            .output()
            .expect("rc-relay runs")
    };
    let c = config.to_str().unwrap();
    // The data directory comes from the file.
    let made = run(&["--config", c, "token", "create", "--label", "from-config"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let listed = ok(&data, &["token", "list", "--json"]);
    assert!(listed.contains("from-config"), "{listed}");
    // So does serve's address: no --listen on the command line.
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .env("RC_RELAY_CONFIG", &config)
        .env_remove("RC_RELAY_DATA_DIR");
    drop(Serve::spawn(cmd));

    // A key it does not know, or a file that is not there, is an error
    // that says which.
    std::fs::write(&config, "lissten = \"127.0.0.1:0\"\n").unwrap();
    let bad = run(&["--config", c, "serve"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("lissten") && err.contains("relay.toml"),
        "{err}"
    );
    let missing = run(&["--config", "/nonexistent/relay.toml", "token", "list"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/relay.toml"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
