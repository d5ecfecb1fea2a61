//! TLS as a newcomer meets it: a real rc-relay over HTTPS with certificates
//! the test makes (rcgen), each wrong in one way, and the message rcctl and
//! rcd give for it; then `rc-relay cert create`, whose certificate rcd and
//! rcctl accept with the `--ca-cert` line it prints.

use rcd_tests::{Daemon, Options, PATIENCE, RelayProc, pairing_code, remote, wait_for};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A certificate and key written to `dir` as `NAME.pem` and `NAME.key`.
fn write(
    dir: &Path,
    name: &str,
    cert: &rcgen::Certificate,
    key: &rcgen::KeyPair,
) -> (PathBuf, PathBuf) {
    let c = dir.join(format!("{name}.pem"));
    let k = dir.join(format!("{name}.key"));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

/// A self-signed certificate for `names`, changed by `edit`.
fn made(
    dir: &Path,
    file: &str,
    names: &[&str],
    edit: impl FnOnce(&mut rcgen::CertificateParams),
) -> (PathBuf, PathBuf) {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    edit(&mut params);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    write(dir, file, &cert, &key)
}

/// What `rcctl --relay URL [--ca-cert CA] list` says on stderr; it must fail.
fn refused(url: &str, ca: Option<&Path>) -> String {
    let out = remote(url, "rcdev_test", ca, &["list"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "rcctl list should fail: {err}");
    err
}

fn relay_with(dir: &Path, cert: &(PathBuf, PathBuf)) -> RelayProc {
    let relay = RelayProc::start(dir, Some(cert.clone()), &[]);
    assert!(relay.url.starts_with("https://127.0.0.1:"), "{}", relay.url);
    relay
}

#[test]
fn a_ca_certificate_served_as_the_relays_says_how_to_make_a_server_one() {
    let dir = tempfile::tempdir().unwrap();
    // What `openssl req -x509` makes: a CA certificate.
    let ca = made(dir.path(), "ca", &["127.0.0.1", "localhost"], |p| {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    });
    let relay = relay_with(dir.path(), &ca);
    for trust in [Some(ca.0.as_path()), None] {
        let err = refused(&relay.url, trust);
        assert!(err.contains("serves a CA certificate"), "{err}");
        assert!(
            err.contains("rc-relay cert create --name 127.0.0.1"),
            "{err}"
        );
        assert!(!err.contains("CaUsedAsEndEntity"), "{err}");
    }
    // rcd says the same in its log, and keeps running.
    let token = relay.token_file(&dir.path().join("rcd.token"));
    let d = Daemon::start(Options::with_args(
        false,
        &[
            "--relay",
            &relay.url,
            "--token-file",
            &token.display().to_string(),
            "--ca-cert",
            &ca.0.display().to_string(),
        ],
    ));
    wait_for("rcd to say what is wrong", PATIENCE, || {
        d.log_text().contains("serves a CA certificate")
    });
    assert!(
        d.log_text()
            .contains("rc-relay cert create --name 127.0.0.1")
    );
}

#[test]
fn an_untrusted_certificate_says_to_trust_it_with_ca_cert() {
    let dir = tempfile::tempdir().unwrap();
    let cert = made(dir.path(), "relay", &["127.0.0.1"], |_| {});
    let relay = relay_with(dir.path(), &cert);
    let err = refused(&relay.url, None);
    assert!(err.contains("no authority this machine trusts"), "{err}");
    assert!(err.contains("--ca-cert FILE"), "{err}");
    assert!(!err.contains("UnknownIssuer"), "{err}");
    // Trusting another certificate (one made again, of the same name and
    // another key) says the file is not the relay's.
    let other = made(dir.path(), "other", &["127.0.0.1"], |_| {});
    let err = refused(&relay.url, Some(&other.0));
    assert!(
        err.contains(&format!("--ca-cert {} does not vouch", other.0.display())),
        "{err}"
    );
    // The right file is accepted: the device token is what is refused now.
    let err = refused(&relay.url, Some(&cert.0));
    assert!(err.contains("the relay refused --token"), "{err}");
}

#[test]
fn a_certificate_for_another_name_says_which_names_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let cert = made(
        dir.path(),
        "relay",
        &["relay.example.com", "localhost"],
        |_| {},
    );
    let relay = relay_with(dir.path(), &cert);
    let err = refused(&relay.url, Some(&cert.0));
    assert!(
        err.contains("is for relay.example.com, localhost but not for 127.0.0.1"),
        "{err}"
    );
    assert!(
        err.contains("rc-relay cert create --name 127.0.0.1"),
        "{err}"
    );
    // With a name it has, it works.
    let by_name = relay.url.replace("127.0.0.1", "localhost");
    let err = refused(&by_name, Some(&cert.0));
    assert!(err.contains("the relay refused --token"), "{err}");
}

#[test]
fn an_expired_certificate_says_when_it_expired() {
    let dir = tempfile::tempdir().unwrap();
    let cert = made(dir.path(), "relay", &["127.0.0.1"], |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let relay = relay_with(dir.path(), &cert);
    let err = refused(&relay.url, Some(&cert.0));
    assert!(
        err.contains("has expired (on 2021-01-01 00:00 UTC)"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
}

fn rc_relay(args: &[&str]) -> std::process::Output {
    Command::new(rcd_tests::bin("rc-relay"))
        .args(args)
        .env_remove("RC_RELAY_DATA_DIR")
        .output()
        .expect("rc-relay runs")
}

/// The word after `flag` in `text`.
fn after<'a>(text: &'a str, flag: &str) -> &'a str {
    text.split_once(&format!("{flag} "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {flag} in:\n{text}"))
}

#[test]
fn cert_create_makes_a_certificate_rcd_and_rcctl_accept() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("tls");
    let out_s = out_dir.display().to_string();
    let made = rc_relay(&[
        "cert",
        "create",
        "--name",
        "127.0.0.1",
        "--name",
        "localhost",
        "--out",
        &out_s,
    ]);
    let text = String::from_utf8_lossy(&made.stdout).into_owned();
    assert!(
        made.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // It prints the serve line and the --ca-cert line, with real paths.
    let cert = PathBuf::from(after(&text, "--tls-cert"));
    let key = PathBuf::from(after(&text, "--tls-key"));
    assert_eq!(cert, out_dir.join("cert.pem"), "{text}");
    assert!(text.contains("--ca-cert cert.pem"), "{text}");
    assert!(text.contains("rcctl --relay https://127.0.0.1"), "{text}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is the owner's alone");
    let first = std::fs::read(&cert).unwrap();

    // Not replaced without --force; replaced with it.
    let again = rc_relay(&["cert", "create", "--name", "127.0.0.1", "--out", &out_s]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("exists; give --force"), "{err}");
    assert_eq!(std::fs::read(&cert).unwrap(), first, "untouched");
    let forced = rc_relay(&[
        "cert",
        "create",
        "--name",
        "127.0.0.1",
        "--name",
        "localhost",
        "--out",
        &out_s,
        "--force",
        "--json",
    ]);
    assert!(forced.status.success());
    let json: serde_json::Value = serde_json::from_slice(&forced.stdout).expect("--json");
    assert_eq!(json["cert"], cert.display().to_string());
    assert_eq!(json["names"], serde_json::json!(["127.0.0.1", "localhost"]));
    assert_eq!(json["ca_cert"], format!("--ca-cert {}", cert.display()));
    assert_ne!(std::fs::read(&cert).unwrap(), first, "a new certificate");

    // Served by a real relay, it is accepted by rcd and rcctl with
    // --ca-cert, by IP address and by name.
    let relay = relay_with(dir.path(), &(cert.clone(), key));
    let token = relay.token_file(&dir.path().join("rcd.token"));
    let cert_s = cert.display().to_string();
    let d = Daemon::start(Options::with_args(
        false,
        &[
            "--relay",
            &relay.url,
            "--token-file",
            &token.display().to_string(),
            "--ca-cert",
            &cert_s,
            "--name",
            "tls-box",
        ],
    ));
    let code = pairing_code(&d);
    let by_name = relay.url.replace("127.0.0.1", "localhost");
    let paired = remote(&by_name, "", Some(&cert), &["pair", "--print-token", &code]);
    let said = String::from_utf8_lossy(&paired.stdout).into_owned();
    assert!(
        paired.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&paired.stderr)
    );
    let device = said
        .split_whitespace()
        .find(|w| w.starts_with("rcdev_"))
        .expect("a device token")
        .to_string();
    wait_for("the machine to be listed", PATIENCE, || {
        let out = remote(&relay.url, &device, Some(&cert), &["list"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("tls-box")
    });
}
