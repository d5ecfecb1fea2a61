//! Programs: a real rcd with several programs in `[programs]` of its
//! config.toml, real PTYs. `rcctl new --program NAME` locally and through
//! the relay, a command line of its own locally (`rcctl new -- CMD`) and
//! never through the relay, the PROGRAM in `list`, `--json` and `status`,
//! and an adopted session keeping its program across a restart of rcd.

use nix::sys::signal::Signal;
use rcd_tests::{Daemon, Options, remote, stdout_of, wait_for};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// A daemon whose config.toml names three programs: `shell` (the default,
/// whose command line the harness's `--command` gives), `hello` and
/// `counter`.
fn daemon(extra: &[&str]) -> (Daemon, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[programs]\n\
         default = \"shell\"\n\
         shell = \"\"\n\
         hello = \"sh -c 'echo hello-from-$((40 + 2)); exec cat'\"\n\
         counter = \"sh -c 'echo counting; exec sleep 600'\"\n",
    )
    .expect("config");
    let mut args = vec!["--config".to_string(), config.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let d = Daemon::start(Options {
        args,
        ..Options::default()
    });
    (d, dir)
}

fn session<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no session {name} in {list:?}"))
}

#[test]
fn sessions_run_the_program_they_name_or_locally_a_command_of_their_own() {
    let (mut d, _config) = daemon(&[]);
    let status: Value = serde_json::from_str(&d.ok(&["status", "--json"])).unwrap();
    assert_eq!(
        status["programs"],
        serde_json::json!(["counter", "hello", "shell"])
    );
    assert_eq!(status["default_program"], "shell");
    assert!(
        d.ok(&["status"])
            .contains("programs:  counter, hello, shell (default)")
    );

    // The default, then one by name.
    d.ok(&["new", "--name", "plain"]);
    d.ok(&["new", "--name", "greet", "--program", "hello"]);
    d.wait_screen("greet", "hello-from-42");
    // A command line of its own, over the local socket.
    d.ok(&[
        "new",
        "--name",
        "own",
        "--",
        "sh",
        "-c",
        "echo own-$((6 * 7)); exec cat",
    ]);
    d.wait_screen("own", "own-42");

    let list = d.list();
    assert_eq!(session(&list, "plain")["program"], "shell");
    assert_eq!(
        session(&list, "plain")["command"],
        serde_json::json!(["bash", "--norc", "--noprofile"])
    );
    assert_eq!(session(&list, "greet")["program"], "hello");
    assert!(session(&list, "own")["program"].is_null());
    assert_eq!(session(&list, "own")["command"][0], "sh");
    let table = d.ok(&["list"]);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row {name}: {table}"))
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        table.starts_with("NAME") && table.contains("PROGRAM"),
        "{table}"
    );
    assert_eq!(row("plain"), "shell");
    assert_eq!(row("greet"), "hello");
    assert_eq!(row("own"), "(sh)");

    // An unknown program: a clear error naming the ones there are, a
    // non-zero exit, nothing started.
    let err = d.fails(&["new", "--name", "x", "--program", "codex"]);
    assert!(
        err.contains("no program named \"codex\"") && err.contains("counter, hello, shell"),
        "{err}"
    );
    let out = d.rcctl(&["new", "--name", "x", "--program", "hello", "--", "sh"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be used with"), "{err}");
    assert_eq!(d.list().len(), 3);

    // rcd restarts (a service manager's restart): the sessions outlive it,
    // and the adopted ones keep their programs.
    let status = d.signal_and_wait(Signal::SIGTERM);
    assert!(status.success(), "{status}");
    d.spawn();
    d.wait_ready();
    let list = d.list();
    assert_eq!(session(&list, "greet")["program"], "hello");
    assert_eq!(session(&list, "plain")["program"], "shell");
    assert!(session(&list, "own")["program"].is_null());
    d.wait_screen("greet", "hello-from-42");
    d.ok(&["shutdown"]);
    let _ = d.wait_exit();
}

/// One HTTP/1.1 request to the relay (plain HTTP on loopback), as any
/// device could send it: the status and the body.
fn http(url: &str, token: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the relay");
    s.set_read_timeout(Some(Duration::from_secs(40))).ok();
    write!(
        s,
        "{method} /api/v1{path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn env_of(url: &str, token: &str) -> Value {
    let mut env = Value::Null;
    wait_for("the environment online", Duration::from_secs(20), || {
        let (status, body) = http(url, token, "GET", "/environments", "");
        env = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.as_array().and_then(|a| a.first().cloned()))
            .unwrap_or(Value::Null);
        status == 200 && env["online"] == true
    });
    env
}

#[test]
fn through_the_relay_a_device_starts_only_a_named_program() {
    let (d, _config) = daemon(&["--listen", "127.0.0.1:0", "--name", "home"]);
    let (url, token) = rcd_tests::pair_with_embedded(&d);
    let env = env_of(&url, &token);
    // The environment lists the names, never the command lines.
    assert_eq!(
        env["programs"],
        serde_json::json!(["counter", "hello", "shell"])
    );
    assert_eq!(env["default_program"], "shell");
    assert!(!env.to_string().contains("exec cat"), "{env}");
    let env_id = env["id"].as_str().expect("id").to_string();

    // rcctl through the relay: a program by name.
    let out = remote(
        &url,
        &token,
        None,
        &["new", "--name", "far", "--program", "counter"],
    );
    assert_eq!(stdout_of(&out, "remote new").trim(), "far");
    d.wait_screen("far", "counting");
    let listed = remote(&url, &token, None, &["list"]);
    let table = stdout_of(&listed, "remote list");
    assert!(
        table.contains("PROGRAM") && table.contains("counter"),
        "{table}"
    );
    wait_for(
        "the relay's list to show far",
        Duration::from_secs(10),
        || {
            let json: Value = serde_json::from_str(&stdout_of(
                &remote(&url, &token, None, &["list", "--json"]),
                "remote list --json",
            ))
            .unwrap();
            json.as_array().is_some_and(|a| {
                a.iter()
                    .any(|s| s["name"] == "far" && s["program"] == "counter")
            })
        },
    );

    // An unknown program, through the relay: the daemon's words, exit 1.
    let out = remote(
        &url,
        &token,
        None,
        &["new", "--name", "x", "--program", "codex"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("counter, hello, shell"), "{err}");

    // rcctl refuses a command line through the relay before sending it.
    let out = remote(&url, &token, None, &["new", "--name", "x", "--", "sh"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("only the machine itself") && err.contains("--program hello"),
        "{err}"
    );

    // The relay's API directly, as any device could call it: a command
    // line is refused, and nothing runs.
    let marker = d.root.path().join("ran");
    let m = marker.display().to_string();
    let sessions = format!("/environments/{env_id}/sessions");
    for body in [
        serde_json::json!({"name": "evil", "command": ["sh", "-c", format!("touch {m}")]}),
        serde_json::json!({"name": "evil", "command": format!("touch {m}")}),
        serde_json::json!({"name": "evil", "program": "hello", "command": ["touch", m]}),
        serde_json::json!({"name": "evil", "program": format!("sh -c 'touch {m}'")}),
    ] {
        let (status, answer) = http(&url, &token, "POST", &sessions, &body.to_string());
        assert_eq!(status, 400, "{body} → {answer}");
    }
    let (status, answer) = http(
        &url,
        &token,
        "POST",
        &sessions,
        r#"{"name": "evil", "program": "nope"}"#,
    );
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("counter, hello, shell"), "{answer}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(!Path::new(&marker).exists(), "the refused command ran");
    let names: Vec<String> = d
        .list()
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(names, ["far"]);

    // And a named program through the API starts.
    let (status, answer) = http(
        &url,
        &token,
        "POST",
        &sessions,
        r#"{"name": "greet", "program": "hello"}"#,
    );
    assert_eq!(status, 201, "{answer}");
    let s: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(s["program"], "hello");
    d.wait_screen("greet", "hello-from-42");
}

#[test]
fn the_service_carries_the_programs_to_rcd() {
    let home = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new(rcd_tests::bin("rcctl"))
        .args(["service", "install", "--dry-run", "--platform", "macos"])
        .arg("--dir")
        .arg(home.path())
        .arg("--rcd")
        .arg(rcd_tests::bin("rcd"))
        .args([
            "--program",
            "hello=sh -c 'echo served-$((2 * 21)); exec cat'",
            "--program",
            "shell=",
            "--default-program",
            "hello",
            "--no-relay",
        ])
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("rcctl");
    let dry = stdout_of(&out, "service install --dry-run");
    let body: String = dry
        .lines()
        .skip_while(|l| !l.starts_with("# would write"))
        .skip(1)
        .take_while(|l| !l.starts_with("# would run:"))
        .collect::<Vec<_>>()
        .join("\n");
    let plist: plist::Value = plist::from_bytes(body.as_bytes()).expect("a plist");
    let argv: Vec<String> = plist.as_dictionary().expect("dict")["ProgramArguments"]
        .as_array()
        .expect("arguments")
        .iter()
        .map(|a| a.as_string().expect("a string").to_string())
        .collect();
    // Run what the service would run, on a socket of the test's own.
    let sock = home.path().join("svc.sock");
    let mut cmd = rcd_tests::RcdProc::command(Path::new(&argv[0]), home.path(), Some(&sock));
    cmd.args(&argv[1..]);
    let rcd = rcd_tests::RcdProc::start(&mut cmd, &sock);
    let status = rcd.status();
    assert_eq!(status["programs"], serde_json::json!(["hello", "shell"]));
    assert_eq!(status["default_program"], "hello");
    assert!(rcd.rcctl(&["new", "--name", "s"]).status.success());
    wait_for(
        "the default program's output",
        Duration::from_secs(10),
        || String::from_utf8_lossy(&rcd.rcctl(&["screen", "s"]).stdout).contains("served-42"),
    );
    assert!(rcd.shutdown().success());
}
