//! Remote control through a real rc-relay process: the daemon dials out,
//! a device (remote rcctl) lists, creates, types, reads and stops.

use rcd_tests::{Daemon, Options, RelayProc, pairing_code, remote, stdout_of, wait_for};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A daemon linked to a relay, and a paired device token.
struct World {
    url: String,
    relay_log: PathBuf,
    daemon: Daemon,
    token: String,
    ca: Option<PathBuf>,
}

/// `--relay URL --token-file FILE` for a daemon of `relay`, then `extra`.
fn link_args(relay: &RelayProc, token_file: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--relay".into(),
        relay.url.clone(),
        "--token-file".into(),
        token_file.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn daemon_for(
    relay: &RelayProc,
    dir: &Path,
    name: &str,
    extra: &[&str],
    ca: Option<&Path>,
) -> Daemon {
    let token_file = relay.token_file(&dir.join(format!("{name}.token")));
    let mut args = link_args(relay, &token_file, &["--name", name]);
    if let Some(ca) = ca {
        args.push("--ca-cert".into());
        args.push(ca.display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    Daemon::start(Options {
        args,
        ..Options::default()
    })
}

fn pair(relay: &RelayProc, d: &Daemon, ca: Option<&Path>) -> String {
    let code = pairing_code(d);
    stdout_of(
        &remote(&relay.url, "", ca, &["pair", "--print-token", &code]),
        "pair",
    )
    .split_whitespace()
    .find(|w| w.starts_with("rcdev_"))
    .expect("a device token")
    .to_string()
}

/// A daemon `name` of `relay` (with `extra` arguments) and a device paired
/// with it; `ca` is the relay's certificate, for both.
fn linked(relay: &RelayProc, dir: &Path, name: &str, extra: &[&str], ca: Option<&Path>) -> World {
    let daemon = daemon_for(relay, dir, name, extra, ca);
    let token = pair(relay, &daemon, ca);
    World::new(relay, daemon, token, ca.map(Path::to_path_buf))
}

fn world(extra: &[&str]) -> (RelayProc, World) {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let relay = RelayProc::start(&dir, None, &[]);
    let w = linked(&relay, &dir, "laptop", extra, None);
    (relay, w)
}

impl World {
    fn new(relay: &RelayProc, daemon: Daemon, token: String, ca: Option<PathBuf>) -> World {
        World {
            url: relay.url.clone(),
            relay_log: relay.log.clone(),
            daemon,
            token,
            ca,
        }
    }
    fn rc(&self, args: &[&str]) -> std::process::Output {
        remote(&self.url, &self.token, self.ca.as_deref(), args)
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.rc(args);
        assert!(
            out.status.success(),
            "rcctl --relay {args:?}: {}\n--- rcd ---\n{}\n--- relay ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.daemon.log_text(),
            std::fs::read_to_string(&self.relay_log).unwrap_or_default()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn fails(&self, args: &[&str]) -> String {
        let out = self.rc(args);
        assert!(!out.status.success(), "rcctl --relay {args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
    fn list(&self) -> Vec<Value> {
        serde_json::from_str(&self.ok(&["list", "--json"])).expect("list --json")
    }
    /// Waits until the daemon's link is up and the relay lists it online.
    fn wait_online(&self) {
        wait_for(
            "the environment to be online",
            Duration::from_secs(30),
            || {
                let st = self.daemon.rcctl(&["status", "--json"]);
                let linked = serde_json::from_slice::<Value>(&st.stdout)
                    .map(|v| v["link"]["state"] == "connected")
                    .unwrap_or(false);
                linked && String::from_utf8_lossy(&self.rc(&["status"]).stdout).contains("online")
            },
        );
    }
    fn wait_screen(&self, name: &str, needle: &str) {
        let mut last = String::new();
        let ok = (0..100).any(|_| {
            let out = self.rc(&["screen", name]);
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            if last.contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
            false
        });
        assert!(
            ok,
            "remote screen of {name} never showed {needle:?}:\n{last}"
        );
    }
}

#[test]
fn create_type_read_and_stop_remotely() {
    let (_relay, w) = world(&[]);
    w.wait_online();
    let out = w.ok(&["new", "--env", "laptop", "--name", "r1"]);
    assert_eq!(out.trim(), "r1");
    let list = w.list();
    let r1 = list.iter().find(|s| s["name"] == "r1").expect("r1 listed");
    assert_eq!(r1["env"], "laptop");
    assert_eq!(r1["online"], true);
    assert_eq!(r1["state"], "running");
    assert_eq!(r1["dir"], w.daemon.work.display().to_string());

    w.ok(&["send", "r1", "echo remote-$((40+2))"]);
    w.wait_screen("r1", "remote-42");
    // The local view agrees.
    w.daemon.wait_screen("r1", "remote-42");
    w.ok(&["send", "r1", "seq 1 100 | sed s/^/t-/"]);
    w.wait_screen("r1", "t-100");
    let t = w.ok(&["transcript", "r1"]);
    assert!(t.lines().any(|l| l == "t-1"), "{t}");

    // A session that needs you says so through the relay, and `wait`
    // returns on it there too.
    w.ok(&["send", "r1", "printf '\\033]9;remote wants you\\007'"]);
    let out = w.ok(&["wait", "r1", "--timeout", "15", "--json"]);
    let a: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(a["kind"], "notification", "{a}");
    assert_eq!(a["message"], "remote wants you");
    let listed = w.list();
    let r1 = listed
        .iter()
        .find(|s| s["name"] == "r1")
        .expect("r1 listed");
    assert_eq!(r1["attention"]["message"], "remote wants you", "{r1}");

    let out = w.ok(&["stop", "r1"]);
    assert!(out.contains("stopped r1"), "{out}");
    assert!(w.daemon.list().is_empty());
    let status: Value = serde_json::from_str(&w.daemon.ok(&["status", "--json"])).expect("json");
    assert_eq!(status["link"]["state"], "connected");
}

#[test]
fn the_sandbox_choice_travels_through_the_relay() {
    let (_relay, w) = world(&[]);
    w.wait_online();
    let out = w.rc(&[
        "new",
        "--env",
        "laptop",
        "--name",
        "boxed",
        "--sandbox",
        "--json",
    ]);
    if !out.status.success() {
        // A kernel without Landlock: the refusal names what is missing.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Landlock") || err.contains("kernel"), "{err}");
        return;
    }
    let s: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(s["sandboxed"], true);
    let s: Value =
        serde_json::from_str(&w.ok(&["new", "--env", "laptop", "--name", "free", "--json"]))
            .expect("json");
    assert_eq!(s["sandboxed"], false, "the daemon's default (no --sandbox)");
    let local = w.daemon.list();
    let boxed = local.iter().find(|s| s["name"] == "boxed").expect("listed");
    assert_eq!(boxed["sandboxed"], true);
}

#[test]
fn names_and_capacity_through_the_relay() {
    let (_relay, w) = world(&["--capacity", "1"]);
    w.wait_online();
    w.ok(&["new", "--env", "laptop", "--name", "only"]);
    let err = w.fails(&["new", "--env", "laptop"]);
    assert!(err.contains("at capacity (1/1)"), "{err}");
    // Locally too: the same words.
    let err = w.daemon.fails(&["new"]);
    assert!(err.contains("at capacity (1/1)"), "{err}");
    w.daemon.ok(&["set", "capacity", "3"]);
    let err = w.fails(&["new", "--env", "laptop", "--name", "../x"]);
    assert!(err.contains("session name"), "{err}");
    let err = w.fails(&["new", "--env", "laptop", "--name", "only"]);
    assert!(err.contains("already running"), "{err}");
    let err = w.fails(&["screen", "nosuch"]);
    assert!(err.contains("no session named"), "{err}");
    let err = w.fails(&["new", "--env", "nowhere"]);
    assert!(err.contains("nowhere"), "{err}");
}

fn daemon_with_token(relay: &RelayProc, token_file: &Path, name: &str) -> Daemon {
    Daemon::start(Options {
        args: link_args(relay, token_file, &["--name", name]),
        ..Options::default()
    })
}

#[test]
fn two_environments_share_a_session_name() {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let relay = RelayProc::start(&dir, None, &[]);
    let token = relay.token_file(&dir.join("shared.token"));
    let a = daemon_with_token(&relay, &token, "alpha");
    let b = daemon_with_token(&relay, &token, "beta");
    let device = pair(&relay, &a, None);
    let wa = World::new(&relay, a, device.clone(), None);
    let wb = World::new(&relay, b, device, None);
    wa.wait_online();
    wb.wait_online();
    wa.ok(&["new", "--env", "alpha", "--name", "work"]);
    wa.ok(&["new", "--env", "beta", "--name", "work"]);
    let err = wa.fails(&["screen", "work"]);
    assert!(
        err.contains("alpha/work") && err.contains("beta/work"),
        "{err}"
    );
    wa.ok(&["send", "alpha/work", "echo on-alpha"]);
    wa.ok(&["send", "beta/work", "echo on-beta"]);
    wa.wait_screen("alpha/work", "on-alpha");
    wa.wait_screen("beta/work", "on-beta");
    assert!(!wa.daemon.screen("work").contains("on-beta"));
    assert!(!wb.daemon.screen("work").contains("on-alpha"));
    let list = wa.list();
    let envs: Vec<&str> = list.iter().filter_map(|s| s["env"].as_str()).collect();
    assert!(
        envs.contains(&"alpha") && envs.contains(&"beta"),
        "{envs:?}"
    );
    assert!(
        list.iter()
            .all(|s| s["online"] == true && s["machine"].is_string())
    );
}

#[test]
fn a_device_never_reaches_another_owners_environment() {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let relay = RelayProc::start(&dir, None, &[]);
    let mine = daemon_for(&relay, &dir, "mine", &[], None);
    let theirs = daemon_for(&relay, &dir, "theirs", &[], None);
    let my_device = pair(&relay, &mine, None);
    let their_device = pair(&relay, &theirs, None);
    let w = World::new(&relay, mine, my_device, None);
    let t = World::new(&relay, theirs, their_device, None);
    w.wait_online();
    t.wait_online();
    t.ok(&["new", "--env", "theirs", "--name", "secret"]);
    let status = w.ok(&["status"]);
    assert!(
        status.contains("mine") && !status.contains("theirs"),
        "{status}"
    );
    assert!(!w.ok(&["list", "--json"]).contains("secret"));
    // Naming it gets the same answer as naming nothing at all.
    let probe = w.fails(&["new", "--env", "theirs"]);
    let nothing = w.fails(&["new", "--env", "nowhere"]);
    assert_eq!(
        probe.replace("theirs", "X"),
        nothing.replace("nowhere", "X")
    );
    let err = w.fails(&["screen", "theirs/secret"]);
    assert!(!err.contains("running"), "{err}");
    // Straight at the API, with the other owner's environment id.
    let env_id =
        serde_json::from_str::<Value>(&t.ok(&["list", "--json"])).expect("json")[0]["env_id"]
            .as_str()
            .expect("env_id")
            .to_string();
    let url = format!("{}/api/v1/environments/{env_id}/sessions", w.url);
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", &format!("Authorization: Bearer {}", w.token)])
        .args(["-H", "Content-Type: application/json", "-d", "{}", &url])
        .output();
    if let Ok(out) = out {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "404");
    }
}

#[test]
fn a_session_survives_a_relay_restart_and_input_is_exactly_once() {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let received = dir.join("received.bin");
    let mut relay = RelayProc::start(&dir, None, &[]);
    let cmd = format!("sh -c 'stty raw -echo; exec cat > {}'", received.display());
    let token_file = relay.token_file(&dir.join("d.token"));
    let daemon = Daemon::start(Options {
        command: cmd,
        args: link_args(&relay, &token_file, &["--name", "box"]),
        ..Options::default()
    });
    let token = pair(&relay, &daemon, None);
    let w = World::new(&relay, daemon, token, None);
    w.wait_online();
    w.ok(&["new", "--env", "box", "--name", "sink"]);

    use std::io::Write;
    let mut attach = std::process::Command::new(rcd_tests::bin("rcctl"))
        .args(["--relay", &w.url, "--token", &w.token, "attach", "sink"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("remote attach");
    let mut stdin = attach.stdin.take().expect("stdin");
    let mut typed = Vec::new();
    for i in 0..60 {
        if i == 20 {
            relay.kill();
        }
        if i == 35 {
            relay.spawn();
        }
        let chunk = format!("keystroke-{i:03}|");
        stdin.write_all(chunk.as_bytes()).expect("type");
        stdin.flush().expect("flush");
        typed.extend_from_slice(chunk.as_bytes());
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(stdin);
    let status = attach.wait().expect("attach ends");
    let mut err = String::new();
    use std::io::Read;
    attach
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .ok();
    assert!(status.success(), "remote attach failed: {err}");
    wait_for("every keystroke to arrive", Duration::from_secs(20), || {
        std::fs::read(&received).unwrap_or_default().len() >= typed.len()
    });
    std::thread::sleep(Duration::from_millis(300));
    let got = std::fs::read(&received).expect("received");
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&typed),
        "byte-exact: nothing lost, nothing doubled"
    );
    // The daemon came back online by itself.
    w.wait_online();
    assert_eq!(w.daemon.list()[0]["state"], "running");
}

#[test]
fn the_daemon_exits_after_an_outage_and_keeps_work() {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let mut relay = RelayProc::start(&dir, None, &[]);
    let token_file = relay.token_file(&dir.join("d.token"));
    let mut d = Daemon::start(Options {
        repo: true,
        args: link_args(
            &relay,
            &token_file,
            &["--outage-timeout", "3s", "--spawn", "worktree"],
        ),
        ..Options::default()
    });
    let s: Value = serde_json::from_str(&d.ok(&["new", "--name", "w", "--json"])).expect("json");
    let wt = PathBuf::from(s["dir"].as_str().expect("dir"));
    std::fs::write(wt.join("wip.txt"), "work\n").expect("write");
    wait_for("link connected", Duration::from_secs(10), || {
        d.ok(&["status", "--json"]).contains("\"connected\"")
    });
    relay.kill();
    wait_for("link reconnecting", Duration::from_secs(20), || {
        let s = d.ok(&["status"]);
        s.contains("reconnecting")
    });
    let status = d.wait_exit();
    assert_eq!(status.code(), Some(75), "{}", d.log_text());
    let log = d.log_text();
    assert!(
        log.contains("unreachable for longer than --outage-timeout"),
        "{log}"
    );
    assert!(
        wt.join("wip.txt").exists(),
        "the worktree rule kept the work"
    );
    assert!(!d.socket.exists());
}

#[test]
fn over_tls_with_a_certificate_the_test_makes() {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let relay = RelayProc::start(&dir, Some((cert_path.clone(), key_path)), &[]);
    assert!(relay.url.starts_with("https://"), "{}", relay.url);
    let w = linked(&relay, &dir, "secure", &[], Some(&cert_path));
    w.wait_online();
    w.ok(&["new", "--env", "secure", "--name", "tls"]);
    w.ok(&["send", "tls", "echo over-tls"]);
    w.wait_screen("tls", "over-tls");
    // Without the CA the certificate is refused.
    let out = remote(&w.url, &w.token, None, &["list"]);
    assert!(!out.status.success());
}

#[test]
fn revoked_device_tokens_are_refused() {
    let (relay, w) = world(&[]);
    w.wait_online();
    w.ok(&["list"]);
    let devices = relay.cli(&["device", "list", "--json"]);
    let v: Value = serde_json::from_str(&devices).expect("device list --json");
    let id = v[0]["id"].as_str().expect("device id").to_string();
    relay.cli(&["device", "revoke", &id]);
    let err = w.fails(&["list"]);
    assert!(err.contains("refused"), "{err}");
    let err = remote(&w.url, "rcdev_garbage", None, &["list"]);
    assert!(!err.status.success());
}

#[test]
fn credentials_that_expire_are_refreshed_without_a_restart() {
    let dir = tempfile::tempdir().expect("tmp").keep();
    let relay = RelayProc::start(&dir, None, &["--credential-ttl", "3"]);
    let w = linked(&relay, &dir, "fresh", &[], None);
    w.wait_online();
    // Several lifetimes of the credential go by.
    std::thread::sleep(Duration::from_secs(10));
    w.ok(&["new", "--env", "fresh", "--name", "later"]);
    w.ok(&["send", "later", "echo still-linked"]);
    w.wait_screen("later", "still-linked");
    let log = w.daemon.log_text();
    assert!(log.contains("credential refreshed"), "{log}");
    assert!(!log.contains("relay link lost"), "{log}");
}

#[test]
fn the_embedded_relay_serves_devices_by_default() {
    let d = Daemon::start(Options::with_args(
        false,
        &["--listen", "127.0.0.1:0", "--name", "home"],
    ));
    let code = pairing_code(&d);
    let url = rcd_tests::embedded_relay_url(&d);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let token = stdout_of(
        &remote(&url, "", None, &["pair", "--print-token", &code]),
        "pair",
    )
    .trim()
    .to_string();
    // The code was for one use only.
    assert!(
        !remote(&url, "", None, &["pair", "--print-token", &code])
            .status
            .success()
    );
    for args in [
        &["new", "--env", "home", "--name", "e1"][..],
        &["send", "e1", "echo embedded-ok"],
    ] {
        stdout_of(&remote(&url, &token, None, args), format_args!("{args:?}"));
    }
    d.wait_screen("e1", "embedded-ok");
}

#[test]
fn garbage_and_oversized_frames_from_a_device_close_only_that_socket() {
    use futures_util::SinkExt;
    use rcd_proto::relay::{DeviceFrame, Secret};
    use rcd_proto::stream::DaemonMsg;
    use tokio_tungstenite::tungstenite::Message;

    let (relay, w) = world(&[]);
    w.wait_online();
    w.ok(&["new", "--env", "laptop", "--name", "g"]);
    let list: Vec<Value> = w.list();
    let env = list[0]["env_id"].as_str().expect("env_id").to_string();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = rcd_net::Relay::new(&relay.url, None).expect("client");
        let path = format!("/environments/{env}/sessions/g/attach");
        let token = Secret(w.token.clone());
        // Not an envelope at all.
        let mut ws = client.websocket(&path, &token).await.expect("attach");
        ws.send(Message::text("{{{ not json")).await.expect("send");
        assert!(closed_within(&mut ws).await, "garbage closes the socket");
        // Over the message limit.
        let mut ws = client.websocket(&path, &token).await.expect("attach");
        let big = "x".repeat(2 * 1024 * 1024);
        let _ = ws.send(Message::text(big)).await;
        assert!(
            closed_within(&mut ws).await,
            "an oversized message closes the socket"
        );
        // A valid envelope whose payload is garbage reaches the daemon,
        // which answers with an error and keeps serving.
        let mut ws = client.websocket(&path, &token).await.expect("attach");
        rcd_net::send_binary(&mut ws, b"this is not a device message".to_vec())
            .await
            .expect("send");
        let mut answered = false;
        for _ in 0..10 {
            match tokio::time::timeout(
                Duration::from_secs(5),
                rcd_net::recv::<DeviceFrame>(&mut ws),
            )
            .await
            {
                Ok(Ok(rcd_net::Incoming::Payload(payload))) => {
                    let msg: DaemonMsg = serde_json::from_slice(&payload).expect("a DaemonMsg");
                    answered = matches!(msg, DaemonMsg::Error { message } if message.contains("cannot decode"));
                    break;
                }
                Ok(Ok(rcd_net::Incoming::Frame(_))) => continue,
                _ => break,
            }
        }
        assert!(answered, "the daemon answers garbage with an error");
    });
    // Everyone else is still served.
    w.ok(&["send", "g", "echo after-garbage"]);
    w.wait_screen("g", "after-garbage");
}

/// Whether the socket is closed by the other side within 10 s (other
/// messages, such as link notices, are skipped).
async fn closed_within(ws: &mut rcd_net::WebSocket) -> bool {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return true,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await
    .unwrap_or(false)
}

#[test]
fn a_sandboxed_session_cannot_read_the_enrollment_token() {
    let (_relay, w) = world(&["--sandbox"]);
    w.wait_online();
    let args = &w.daemon.opts.args;
    let token_file = args
        .iter()
        .position(|a| a == "--token-file")
        .map(|i| args[i + 1].clone())
        .expect("--token-file");
    let made = w.daemon.rcctl(&["new", "--name", "boxed"]);
    if !made.status.success() {
        let err = String::from_utf8_lossy(&made.stderr);
        assert!(err.contains("cannot sandbox"), "{err}");
        eprintln!("SKIP: this kernel cannot enforce the sandbox: {err}");
        return;
    }
    w.daemon.ok(&["new", "--name", "free", "--no-sandbox"]);
    let probe = format!("echo T'OKEN-BYTES='$(wc -c < {token_file})");
    w.daemon.ok(&["send", "boxed", &probe]);
    w.daemon.ok(&["send", "free", &probe]);
    w.daemon.wait_screen("boxed", "TOKEN-BYTES=");
    w.daemon.wait_screen("free", "TOKEN-BYTES=");
    assert!(
        w.daemon.screen("boxed").contains("TOKEN-BYTES=0"),
        "{}",
        w.daemon.screen("boxed")
    );
    assert!(
        !w.daemon.screen("free").contains("TOKEN-BYTES=0"),
        "{}",
        w.daemon.screen("free")
    );
}

/// Runs rcd against the relay at `url` with the enrollment token in
/// `token_file`, in `dir`, until it exits.
fn rcd_with_relay(dir: &Path, url: &str, token_file: &Path) -> std::process::Output {
    std::process::Command::new(rcd_tests::bin("rcd"))
        .args(["--relay", url, "--token-file"])
        .arg(token_file)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--socket")
        .arg(dir.join("s.sock"))
        .output()
        .expect("rcd runs")
}

#[test]
fn plain_http_to_another_machine_is_refused_before_anything_is_sent() {
    // 192.0.2.0/24 is reserved for documentation: nothing answers there,
    // so a refusal that comes back at once was made before connecting.
    let dir = tempfile::tempdir().expect("tmp");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "rcenr_not-a-real-token\n").expect("token");
    std::fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("mode");
    let url = "http://192.0.2.1:8080";
    let start = std::time::Instant::now();
    let out = std::process::Command::new(rcd_tests::bin("rcctl"))
        .args(["--relay", url, "--token", "rcdev_x", "list"])
        .output()
        .expect("rcctl runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use https://"), "{err}");
    let out = rcd_with_relay(dir.path(), url, &token_file);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use https://"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_token_file_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "rcenr_not-a-real-token\n").expect("token");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).expect("mode");
    // The URL is refused just after the token is read: the warning is all
    // this run is for.
    let out = rcd_with_relay(dir.path(), "http://192.0.2.1:8080", &token_file);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--token-file") && err.contains("other users") && err.contains("chmod 600"),
        "{err}"
    );
}

#[test]
fn a_revoked_enrollment_token_stops_the_link_and_keeps_the_sessions() {
    let (relay, w) = world(&[]);
    assert!(w.daemon.rcctl(&["new", "--name", "keep"]).status.success());
    let tokens: Value =
        serde_json::from_str(&relay.cli(&["token", "list", "--json"])).expect("token list");
    let id = tokens[0]["id"].as_str().expect("a token id").to_string();
    relay.cli(&["token", "revoke", &id]);
    let state = || -> Value {
        let out = w.daemon.rcctl(&["status", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };
    wait_for(
        "the link to stop as refused",
        Duration::from_secs(20),
        || state()["link"]["state"] == "refused",
    );
    let st = state();
    let why = st["link"]["last_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("enrollment token") && why.contains("not retrying"),
        "{st}"
    );
    // No more attempts, and the session is still there.
    let tries = |log: &str| log.matches("refused rcd's enrollment token").count();
    let before = tries(&w.daemon.log_text());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        tries(&w.daemon.log_text()),
        before,
        "{}",
        w.daemon.log_text()
    );
    assert_eq!(state()["link"]["state"], "refused");
    let list = stdout_of(&w.daemon.rcctl(&["list", "--json"]), "list");
    assert!(list.contains("\"keep\""), "{list}");
}
