//! The device credential that rcctl keeps: `rcctl --relay URL pair CODE`
//! stores the token in $XDG_CONFIG_HOME/rcd/credentials.toml, later
//! processes use it without RCD_TOKEN, `--remote` picks the only relay
//! kept, `devices` lists and revokes, `logout` revokes and forgets; a
//! token of the wrong kind is named as such. Real rc-relay processes, real
//! rcd daemons linked to them, the real rcctl binary.

use rcd_tests::{Daemon, Options, RelayProc, bin, pairing_code, stdout_of};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// rcctl with `XDG_CONFIG_HOME=xdg`, no RCD_* from this environment, and
/// `env` added.
fn rcctl(xdg: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(bin("rcctl"))
        .args(args)
        .env_remove("RCD_RELAY")
        .env_remove("RCD_TOKEN")
        .env_remove("RCD_SOCKET")
        .env_remove("RCD_CA_CERT")
        .env("XDG_CONFIG_HOME", xdg)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("rcctl runs")
}

fn ok(xdg: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    stdout_of(&rcctl(xdg, env, args), format_args!("rcctl {args:?}"))
}

/// The stderr of an rcctl run that must fail.
fn fails(xdg: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = rcctl(xdg, env, args);
    assert!(
        !out.status.success(),
        "rcctl {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A daemon named `name` linked to `relay` with the enrollment token in
/// `token_file`.
fn daemon(relay: &RelayProc, token_file: &Path, name: &str) -> Daemon {
    Daemon::start(Options::with_args(
        false,
        &[
            "--relay",
            &relay.url,
            "--token-file",
            token_file.to_str().expect("utf-8"),
            "--name",
            name,
        ],
    ))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

/// The environment names in `rcctl status --json` through a relay.
fn env_names(status: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(status).expect("status --json");
    let mut names: Vec<String> = v["environments"]
        .as_array()
        .expect("an array of environments")
        .iter()
        .map(|e| e["name"].as_str().expect("name").to_string())
        .collect();
    names.sort();
    names
}

fn creds_file(xdg: &Path) -> PathBuf {
    xdg.join("rcd").join("credentials.toml")
}

#[test]
fn a_paired_device_keeps_its_token_and_can_end_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let relay = RelayProc::start(dir.path(), None, &[]);
    let token_file = relay.token_file(&dir.path().join("enroll.token"));
    let enrollment = std::fs::read_to_string(&token_file).expect("token file");
    let laptop = daemon(&relay, &token_file, "laptop");
    let url = relay.url.as_str();

    // The directory exists already, readable by others: it is narrowed.
    let xdg = dir.path().join("config");
    std::fs::create_dir_all(xdg.join("rcd")).expect("mkdir");
    std::fs::set_permissions(xdg.join("rcd"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let code = pairing_code(&laptop);
    let out = rcctl(
        &xdg,
        &[],
        &["--relay", url, "pair", "--label", "desk", &code],
    );
    let said = stdout_of(&out, "pair");
    let file = creds_file(&xdg);
    assert!(!said.contains("rcdev_"), "pair showed the token: {said}");
    assert!(said.contains(&file.display().to_string()), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("narrowed to 0700"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&xdg.join("rcd")), 0o700);
    assert_eq!(mode(&file), 0o600);
    let kept = std::fs::read_to_string(&file).expect("credentials file");
    let token = kept
        .split('"')
        .find(|w| w.starts_with("rcdev_"))
        .expect("the device token in the file")
        .to_string();

    // A new process, without RCD_TOKEN, uses the kept token; so does
    // --remote (-R) without the URL.
    let listing = ok(&xdg, &[], &["--relay", url, "status", "--json"]);
    assert_eq!(env_names(&listing), ["laptop"]);
    assert_eq!(
        env_names(&ok(&xdg, &[], &["-R", "status", "--json"])),
        ["laptop"]
    );
    assert_eq!(
        env_names(&ok(&xdg, &[("RCD_RELAY", url)], &["status", "--json"])),
        ["laptop"]
    );

    // RCD_TOKEN and --token win over the kept token.
    let e = fails(
        &xdg,
        &[("RCD_TOKEN", "rcdev_unknown")],
        &["--relay", url, "list"],
    );
    assert!(e.contains("the relay refused RCD_TOKEN"), "{e}");
    let e = fails(&xdg, &[], &["-R", "--token", "rcdev_unknown", "list"]);
    assert!(e.contains("the relay refused --token"), "{e}");
    // A token of no kind at all: the relay's refusal says what it is not.
    let e = fails(&xdg, &[], &["-R", "--token", "hunter2", "list"]);
    assert!(
        e.contains("it is not a device token (those begin with rcdev_)"),
        "{e}"
    );
    // An enrollment token given to rcctl is named as one before anything
    // is sent: the relay at port 1 is never reached.
    let e = fails(
        &xdg,
        &[("RCD_TOKEN", enrollment.trim())],
        &["--relay", "http://127.0.0.1:1", "list"],
    );
    assert!(
        e.contains("RCD_TOKEN is an enrollment token (rce_…), which is for rcd"),
        "{e}"
    );
    assert!(e.contains("rcctl needs a device token (rcdev_…)"), "{e}");
    assert!(!e.contains("cannot reach"), "{e}");
    // And a device token given to rcd, likewise, before it dials.
    let home = tempfile::tempdir().expect("tmp");
    let out = Command::new(bin("rcd"))
        .args(["--relay", "http://127.0.0.1:1", "--dir"])
        .arg(home.path())
        .arg("--state-dir")
        .arg(home.path().join("state"))
        .arg("--socket")
        .arg(home.path().join("rcd.sock"))
        .env("RCD_TOKEN", &token)
        .env("HOME", home.path())
        .env_remove("RCD_TOKEN_FILE")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("rcd runs");
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("RCD_TOKEN holds a device token (rcdev_…)")
            && e.contains("needs an enrollment token (rce_…)"),
        "{e}"
    );

    // A second device of the same account, paired through a second
    // machine on the same enrollment token, kept elsewhere.
    let desk = daemon(&relay, &token_file, "desk");
    let xdg2 = dir.path().join("config2");
    let code = pairing_code(&desk);
    let v: Value = serde_json::from_str(&ok(
        &xdg2,
        &[],
        &["--relay", url, "pair", "--label", "phone", "--json", &code],
    ))
    .expect("pair --json");
    assert_eq!(v["stored"], creds_file(&xdg2).display().to_string());
    assert!(v.get("token").is_none(), "{v}");
    let phone = v["device"].as_str().expect("device id").to_string();
    assert_eq!(
        env_names(&ok(&xdg2, &[], &["-R", "status", "--json"])),
        ["desk", "laptop"]
    );

    // `devices` lists both, this one marked.
    let list: Value =
        serde_json::from_str(&ok(&xdg, &[], &["-R", "devices", "--json"])).expect("json");
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 2, "{list:?}");
    let desk_entry = list
        .iter()
        .find(|d| d["label"] == "desk")
        .expect("this device");
    assert_eq!(desk_entry["this_device"], true);
    let phone_entry = list
        .iter()
        .find(|d| d["id"] == phone.as_str())
        .expect("phone");
    assert_eq!(phone_entry["this_device"], false);
    assert_eq!(phone_entry["label"], "phone");
    let table = ok(&xdg, &[], &["-R", "devices"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("this device") && table.contains(&phone),
        "{table}"
    );

    // Revoking the phone from here ends it there.
    let said = ok(&xdg, &[], &["-R", "devices", "revoke", &phone]);
    assert!(said.contains(&format!("device {phone} revoked")), "{said}");
    let e = fails(&xdg2, &[], &["-R", "list"]);
    assert!(e.contains("the relay refused the token stored in"), "{e}");
    let e = fails(&xdg, &[], &["-R", "devices", "revoke", "dev_nosuch"]);
    assert!(e.contains("no device dev_nosuch"), "{e}");

    // logout revokes this device's token and forgets it.
    let said = ok(&xdg, &[], &["logout"]);
    assert!(said.contains("revoked at"), "{said}");
    assert!(!std::fs::read_to_string(&file).unwrap().contains("rcdev_"));
    let e = fails(&xdg, &[], &["--relay", url, "--token", &token, "list"]);
    assert!(e.contains("the relay refused --token"), "{e}");
    let e = fails(&xdg, &[], &["-R", "list"]);
    assert!(e.contains("no relay is stored"), "{e}");
    let e = fails(&xdg, &[], &["--relay", url, "list"]);
    assert!(e.contains("no device token for"), "{e}");
    // The phone, revoked already, logs out without a fuss.
    let said = ok(&xdg2, &[], &["logout"]);
    assert!(said.contains("revoked already"), "{said}");
}

#[test]
fn remote_picks_the_only_kept_relay_and_logout_needs_it_reachable() {
    let dir = tempfile::tempdir().expect("tmp");
    let one_dir = dir.path().join("one");
    let two_dir = dir.path().join("two");
    std::fs::create_dir_all(&one_dir).expect("mkdir");
    std::fs::create_dir_all(&two_dir).expect("mkdir");
    let mut one = RelayProc::start(&one_dir, None, &[]);
    let two = RelayProc::start(&two_dir, None, &[]);
    let a = daemon(&one, &one.token_file(&one_dir.join("t")), "alpha");
    let b = daemon(&two, &two.token_file(&two_dir.join("t")), "beta");
    let xdg = dir.path().join("config");

    let e = fails(&xdg, &[], &["-R", "list"]);
    assert!(e.contains("no relay is stored"), "{e}");
    ok(&xdg, &[], &["--relay", &one.url, "pair", &pairing_code(&a)]);
    assert_eq!(
        env_names(&ok(&xdg, &[], &["--remote", "status", "--json"])),
        ["alpha"]
    );
    ok(&xdg, &[], &["--relay", &two.url, "pair", &pairing_code(&b)]);
    // Two kept: --remote names them and asks for --relay.
    let e = fails(&xdg, &[], &["-R", "list"]);
    assert!(
        e.contains("2 relays are stored") && e.contains(&one.url) && e.contains(&two.url),
        "{e}"
    );
    assert_eq!(
        env_names(&ok(&xdg, &[], &["--relay", &two.url, "status", "--json"])),
        ["beta"]
    );
    let e = fails(&xdg, &[], &["logout"]);
    assert!(e.contains("--relay"), "{e}");
    ok(&xdg, &[], &["logout", "--relay", &two.url]);
    assert_eq!(
        env_names(&ok(&xdg, &[], &["-R", "status", "--json"])),
        ["alpha"]
    );

    // The relay out of reach: logout keeps the token unless --force.
    one.kill();
    let e = fails(&xdg, &[], &["logout"]);
    assert!(
        e.contains("cannot reach") && e.contains("still stored") && e.contains("--force"),
        "{e}"
    );
    assert!(
        std::fs::read_to_string(creds_file(&xdg))
            .unwrap()
            .contains("rcdev_")
    );
    let said = ok(&xdg, &[], &["logout", "--force"]);
    assert!(said.contains("not revoked at the relay"), "{said}");
    assert!(
        !std::fs::read_to_string(creds_file(&xdg))
            .unwrap()
            .contains("rcdev_")
    );
}
