//! Running as a service: rendered units that systemd and launchd accept,
//! readiness and watchdog through NOTIFY_SOCKET, the configuration file,
//! and an upgrade of the binary under a running daemon.

use rcd_tests::{RcdProc, bin, short_tempdir, stdout_of, wait_for};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn dry_run(dir: &Path, platform: &str, extra: &[&str]) -> String {
    let out = Command::new(bin("rcctl"))
        .args(["service", "install", "--dry-run", "--platform", platform])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("rcctl");
    stdout_of(&out, "rcctl service install --dry-run")
}

/// The file body between "# would write" and "# would run:".
fn rendered(dry: &str) -> String {
    let body: Vec<&str> = dry
        .lines()
        .skip_while(|l| !l.starts_with("# would write"))
        .skip(1)
        .take_while(|l| !l.starts_with("# would run:"))
        .collect();
    body.join("\n") + "\n"
}

fn systemd_verify(unit: &Path) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit)
        .output()
        .expect("systemd-analyze");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {err}", unit.display());
    // It only warns about unknown keys and bad values: none allowed.
    let complaints: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(&*unit.display().to_string()))
        .collect();
    assert!(complaints.is_empty(), "{}", complaints.join("\n"));
}

#[test]
fn the_rendered_systemd_units_verify() {
    let d = tempfile::tempdir().expect("tmp");
    let dry = dry_run(
        d.path(),
        "linux",
        &[
            "--spawn",
            "worktree",
            "--capacity",
            "4",
            "--name",
            "box one",
        ],
    );
    assert!(dry.contains("/.config/systemd/user/rcd.service"), "{dry}");
    assert!(
        dry.contains("systemctl --user enable --now rcd.service"),
        "{dry}"
    );
    assert!(dry.contains("journalctl --user -u rcd"), "{dry}");
    let unit = rendered(&dry);
    assert!(unit.contains("Type=notify"));
    assert!(unit.contains("Restart=on-failure"));
    assert!(unit.contains("RestartSec="));
    assert!(unit.contains("WatchdogSec="));
    assert!(
        unit.contains("--spawn worktree --capacity 4 --name \"box one\""),
        "{unit}"
    );
    assert!(
        unit.contains(&format!("ExecStart={}", bin("rcd").display())),
        "{unit}"
    );
    // A restart signals rcd alone: the keeper and the sessions stay.
    assert!(unit.contains("\nKillMode=process\n"), "{unit}");
    let path = d.path().join("rcd.service");
    std::fs::write(&path, &unit).expect("write");
    systemd_verify(&path);

    let relay = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd/rc-relay.service"),
    )
    .expect("rc-relay.service")
    .replace("{{RC_RELAY}}", &bin("rc-relay").display().to_string());
    // Room for the relay's connection cap (16,384) and its own files.
    let nofile: u64 = relay
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE= in rc-relay.service")
        .parse()
        .expect("a number");
    assert!(nofile >= 16_384 + 64, "LimitNOFILE={nofile}");
    let path = d.path().join("rc-relay.service");
    std::fs::write(&path, relay).expect("write");
    systemd_verify(&path);
}

#[test]
fn the_launchd_plist_parses_and_has_the_required_keys() {
    let d = tempfile::tempdir().expect("tmp");
    let dry = dry_run(d.path(), "macos", &["--capacity", "2", "--name", "a&b"]);
    assert!(
        dry.contains("Library/LaunchAgents/com.rcd.rcd.plist"),
        "{dry}"
    );
    assert!(dry.contains("launchctl bootstrap gui/"), "{dry}");
    assert!(dry.contains("Library/Logs/rcd/rcd.log"), "{dry}");
    let text = rendered(&dry);
    let value: plist::Value = plist::from_bytes(text.as_bytes()).expect("a valid plist");
    let dict = value.as_dictionary().expect("a dictionary");
    assert_eq!(dict["Label"].as_string(), Some("com.rcd.rcd"));
    assert_eq!(dict["RunAtLoad"].as_boolean(), Some(true));
    assert_eq!(dict["AbandonProcessGroup"].as_boolean(), Some(true));
    let keep = dict["KeepAlive"]
        .as_dictionary()
        .expect("KeepAlive on failure");
    assert_eq!(keep["SuccessfulExit"].as_boolean(), Some(false));
    let args: Vec<&str> = dict["ProgramArguments"]
        .as_array()
        .expect("arguments")
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(args[0], bin("rcd").display().to_string());
    assert!(args.windows(2).any(|w| w == ["--name", "a&b"]), "{args:?}");
    for key in [
        "StandardOutPath",
        "StandardErrorPath",
        "EnvironmentVariables",
        "WorkingDirectory",
    ] {
        assert!(dict.contains_key(key), "missing {key}");
    }
    assert!(
        dict["EnvironmentVariables"]
            .as_dictionary()
            .expect("env")
            .contains_key("PATH")
    );
}

#[test]
fn install_without_a_user_manager_says_so_plainly() {
    let d = tempfile::tempdir().expect("tmp");
    let has_manager = Command::new("systemctl")
        .args(["--user", "show-environment"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_manager {
        eprintln!("skipped: a systemd user manager runs here");
        return;
    }
    let out = Command::new(bin("rcctl"))
        .args(["service", "install"])
        .arg("--dir")
        .arg(d.path())
        .env("HOME", d.path())
        .output()
        .expect("rcctl");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no systemd user manager"), "{err}");
    assert!(!d.path().join(".config/systemd/user/rcd.service").exists());
}

#[test]
fn ready_only_after_the_socket_answers_then_watchdog_pings() {
    let d = short_tempdir("rcdn");
    let notify = d.path().join("notify.sock");
    let listener = UnixDatagram::bind(&notify).expect("bind notify socket");
    listener
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let sock = d.path().join("rcd.sock");
    let rcd = RcdProc::spawn(
        RcdProc::command(&bin("rcd"), d.path(), Some(&sock))
            .arg("--no-relay")
            .arg("--dir")
            .arg(d.path())
            .env("NOTIFY_SOCKET", &notify)
            .env("WATCHDOG_USEC", "400000"),
        &sock,
    );
    let mut buf = [0u8; 4096];
    let n = listener.recv(&mut buf).expect("a notification");
    let first = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(first.contains("READY=1"), "{first}");
    assert!(first.contains("STATUS=0/32 sessions"), "{first}");
    // At the moment READY arrives, the control socket already answers.
    assert!(rcd.rcctl(&["status"]).status.success());
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_secs(3) && pings < 4 {
        let n = listener.recv(&mut buf).expect("more notifications");
        if String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1") {
            pings += 1;
        }
    }
    assert!(
        pings >= 4,
        "{pings} watchdog pings in 3 s at a 400 ms interval"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "pings are paced, not a burst"
    );
    // A change shows in STATUS.
    assert!(rcd.rcctl(&["new", "--name", "one"]).status.success());
    let mut saw = false;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) && !saw {
        let n = listener.recv(&mut buf).expect("status");
        saw = String::from_utf8_lossy(&buf[..n]).contains("STATUS=1/32 sessions");
    }
    assert!(saw, "STATUS follows the sessions");
    rcd.shutdown();
}

/// Starts rcd with a configuration; `(false, stderr)` when it refused to
/// start, `(true, stderr)` when it was still running after 10 s (then it
/// is killed).
fn rcd_with(config: Option<&Path>, env: &[(&str, &str)], home: &Path) -> (bool, String) {
    let mut cmd = RcdProc::command(&bin("rcd"), home, Some(&home.join("w.sock")));
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rcd");
    let start = Instant::now();
    let running = loop {
        if child.try_wait().expect("try_wait").is_some() {
            break false;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().expect("output");
    (running, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn configuration_precedence_command_line_then_environment_then_file() {
    let root = short_tempdir("rcdc");
    let cfg = root.path().join("config.toml");
    let sock = root.path().join("c.sock");
    std::fs::write(
        &cfg,
        format!(
            "capacity = 3\nspawn = \"same-dir\"\nname = \"from-file\"\nno_relay = true\n\
             socket = \"{}\"\nstate_dir = \"{}\"\ndir = \"{}\"\n",
            sock.display(),
            root.path().join("state").display(),
            root.path().display()
        ),
    )
    .expect("write");
    let status = |env: &[(&str, &str)], args: &[&str]| -> serde_json::Value {
        // The socket and the state directory come from the file.
        let rcd = RcdProc::start(
            RcdProc::command(&bin("rcd"), root.path(), None)
                .arg("--config")
                .arg(&cfg)
                .args(args)
                .envs(env.iter().copied()),
            &sock,
        );
        let status = rcd.status();
        rcd.shutdown();
        status
    };
    let s = status(&[], &[]);
    assert_eq!(s["capacity"], 3, "the file");
    assert_eq!(s["name"], "from-file");
    let s = status(&[("RCD_CAPACITY", "4")], &[]);
    assert_eq!(s["capacity"], 4, "the environment wins over the file");
    let s = status(&[("RCD_CAPACITY", "4")], &["--capacity", "5"]);
    assert_eq!(s["capacity"], 5, "the command line wins over both");
    assert_eq!(s["name"], "from-file");
}

#[test]
fn configuration_errors_name_the_key_or_the_path() {
    let root = tempfile::tempdir().expect("tmp");
    let missing = root.path().join("nope.toml");
    let (ok, err) = rcd_with(Some(&missing), &[], root.path());
    assert!(!ok);
    assert!(
        err.contains("nope.toml") && err.contains("no such file"),
        "{err}"
    );

    let bad_key = root.path().join("bad-key.toml");
    std::fs::write(&bad_key, "capacity = 2\ncapcity = 3\n").expect("write");
    let (ok, err) = rcd_with(Some(&bad_key), &[], root.path());
    assert!(!ok);
    assert!(err.contains("capcity") && err.contains("line 2"), "{err}");

    let bad_value = root.path().join("bad-value.toml");
    std::fs::write(&bad_value, "spawn = \"sideways\"\n").expect("write");
    let (ok, err) = rcd_with(Some(&bad_value), &[], root.path());
    assert!(!ok);
    assert!(err.contains("spawn") && err.contains("sideways"), "{err}");

    let bad_type = root.path().join("bad-type.toml");
    std::fs::write(&bad_type, "capacity = \"lots\"\n").expect("write");
    let (ok, err) = rcd_with(Some(&bad_type), &[], root.path());
    assert!(!ok);
    assert!(err.contains("line 1"), "{err}");

    // The default place is read when it exists.
    let xdg = root.path().join("xdg");
    std::fs::create_dir_all(xdg.join("rcd")).expect("mkdir");
    std::fs::write(xdg.join("rcd/config.toml"), "capacity = 0\n").expect("write");
    let (ok, err) = rcd_with(
        None,
        &[("XDG_CONFIG_HOME", xdg.to_str().expect("utf-8"))],
        root.path(),
    );
    assert!(!ok);
    assert!(err.contains("capacity"), "{err}");
}

#[test]
fn a_config_file_of_version_0_1_still_loads() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/config-v0.1.toml");
    let root = short_tempdir("rcdf");
    let sock = root.path().join("f.sock");
    let rcd = RcdProc::start(
        RcdProc::command(&bin("rcd"), root.path(), Some(&sock))
            .arg("--config")
            .arg(&fixture),
        &sock,
    );
    let s = rcd.status();
    assert_eq!(s["capacity"], 7);
    assert_eq!(s["name"], "fixture");
    assert!(s["link"].is_null(), "no_relay = true");
    rcd.shutdown();
}

#[test]
fn replacing_the_binary_under_a_running_daemon_breaks_nothing() {
    let root = short_tempdir("rcdu");
    let installed = root.path().join("rcd");
    std::fs::copy(bin("rcd"), &installed).expect("install");
    let sock = root.path().join("u.sock");
    let rcd = RcdProc::start(
        RcdProc::command(&installed, root.path(), Some(&sock))
            .arg("--no-relay")
            .arg("--dir")
            .arg(root.path())
            .arg("--command")
            .arg("bash --norc --noprofile"),
        &sock,
    );
    assert!(rcd.rcctl(&["new", "--name", "before"]).status.success());
    // An upgrade: a new file renamed over the old one (what package
    // managers and `install` do), then the old file gone entirely.
    let staged = root.path().join("rcd.new");
    std::fs::copy(bin("rcd"), &staged).expect("stage");
    std::fs::rename(&staged, &installed).expect("replace");
    std::fs::remove_file(&installed).expect("remove");
    stdout_of(
        &rcd.rcctl(&["new", "--name", "after"]),
        "rcctl new after the upgrade",
    );
    assert!(
        rcd.rcctl(&["send", "after", "echo upgraded-$((1+1))"])
            .status
            .success()
    );
    wait_for("the new session to answer", Duration::from_secs(10), || {
        String::from_utf8_lossy(&rcd.rcctl(&["screen", "after"]).stdout).contains("upgraded-2")
    });
    assert_eq!(rcd.shutdown().code(), Some(0));
}

#[test]
fn sandbox_settings_come_from_the_config_file() {
    let root = short_tempdir("rcds");
    let cfg = root.path().join("config.toml");
    let sock = root.path().join("s.sock");
    std::fs::write(
        &cfg,
        format!(
            "no_relay = true\ndir = \"{}\"\n[sandbox]\nenabled = true\nnetwork = \"allow\"\nwritable = [\"{}\"]\n",
            root.path().display(),
            root.path().display()
        ),
    )
    .expect("write");
    let rcd = RcdProc::start(
        RcdProc::command(&bin("rcd"), root.path(), Some(&sock))
            .arg("--config")
            .arg(&cfg),
        &sock,
    );
    let out = rcd.rcctl(&["new", "--name", "boxed", "--json"]);
    if out.status.success() {
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(s["sandboxed"], true, "enabled = true in [sandbox]");
    } else {
        // A kernel without Landlock refuses, naming what is missing.
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Landlock") || err.contains("kernel"), "{err}");
    }
    rcd.shutdown();
}
