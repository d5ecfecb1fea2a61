//! `rc-relay serve --acme` end to end against Pebble, the ACME test server
//! (Debian's `pebble`, installed by scripts/test), on loopback: the relay
//! obtains a certificate by TLS-ALPN-01 on its own port, rcd and rcctl
//! trusting Pebble's root connect and pair, and a restarted relay serves
//! the certificate it kept instead of ordering another.

use rcd_tests::{Daemon, Options, RelayProc, pairing_code, remote, wait_for};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long Pebble and the relay get for an order (it takes about 3 s).
const ORDER: Duration = Duration::from_secs(90);

/// A port free on 127.0.0.1 right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `pebble` program, or `None` (with a clear line) when it is not
/// installed.
fn pebble_program() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PEBBLE") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("pebble"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!(
            "SKIP: pebble (the ACME test server) is not installed: apt-get install pebble, \
             or set PEBBLE=/path/to/pebble; scripts/test installs it"
        );
    }
    found
}

/// A Pebble process, killed on drop.
struct Pebble {
    child: Child,
    log: PathBuf,
    directory: String,
    /// Pebble's own HTTPS certificate (for `--acme-ca-cert`).
    https_cert: PathBuf,
    /// The root Pebble issues under (what rcd and rcctl trust).
    root: PathBuf,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Pebble {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts Pebble validating TLS-ALPN-01 on `tls_port`.
    fn start(program: &Path, dir: &Path, tls_port: u16) -> Pebble {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap();
        let https_cert = dir.join("pebble-cert.pem");
        let https_key = dir.join("pebble-key.pem");
        std::fs::write(&https_cert, made.cert.pem()).unwrap();
        std::fs::write(&https_key, made.signing_key.serialize_pem()).unwrap();
        let (api, mgmt) = (free_port(), free_port());
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{api}"),
                "managementListenAddress": format!("127.0.0.1:{mgmt}"),
                "certificate": https_cert,
                "privateKey": https_key,
                "httpPort": free_port(),
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_file = dir.join("pebble.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let log = dir.join("pebble.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(program)
            .arg("-config")
            .arg(&config_file)
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("pebble starts");
        let mut pebble = Pebble {
            child,
            log,
            directory: format!("https://127.0.0.1:{api}/dir"),
            https_cert,
            root: dir.join("pebble-root.pem"),
        };
        // Its issuing root, from the management port, once it answers.
        let root_url = format!("https://127.0.0.1:{mgmt}/roots/0");
        let mut root = String::new();
        wait_for("pebble to answer", Duration::from_secs(30), || {
            if let Ok(Some(status)) = pebble.child.try_wait() {
                panic!("pebble exited with {status}:\n{}", pebble.log_text());
            }
            root = fetch(&root_url, &pebble.https_cert);
            root.contains("BEGIN CERTIFICATE")
        });
        std::fs::write(&pebble.root, &root).unwrap();
        pebble
    }
}

/// GET `url` trusting `ca`, through rustls (rcd-net's stack); empty on
/// failure.
fn fetch(url: &str, ca: &Path) -> String {
    let pem = std::fs::read(ca).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        match client.get(url).send().await {
            Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
            _ => String::new(),
        }
    })
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn the_relay_gets_its_certificate_from_an_acme_server_and_keeps_it() {
    let Some(program) = pebble_program() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pebble = Pebble::start(&program, dir.path(), port);
    let acme_args = [
        "--acme".to_string(),
        "localhost".into(),
        "--acme-email".into(),
        "relay@example.com".into(),
        "--acme-directory".into(),
        pebble.directory.clone(),
        "--acme-ca-cert".into(),
        pebble.https_cert.display().to_string(),
    ];
    let mut relay = RelayProc {
        data_dir: dir.path().join("relay-data"),
        url: String::new(),
        port,
        tls: None,
        extra: acme_args.to_vec(),
        child: None,
        log: dir.path().join("relay.log"),
    };
    relay.spawn();
    assert_eq!(relay.url, format!("https://127.0.0.1:{port}"));
    let log_path = relay.log.clone();
    let relay_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    wait_for("the relay to obtain its certificate", ORDER, || {
        relay_log().contains("obtained a new certificate")
    });
    assert!(
        pebble.log_text().contains("Issued certificate"),
        "{}",
        pebble.log_text()
    );
    let url = format!("https://localhost:{port}");

    // Not trusting Pebble's root, rcctl says what to do.
    let out = remote(&url, "rcdev_test", None, &["list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--ca-cert FILE"), "{err}");

    // Trusting it, rcd links and rcctl pairs and lists.
    let token = relay.token_file(&dir.path().join("rcd.token"));
    let root = pebble.root.display().to_string();
    let d = Daemon::start(Options::with_args(
        false,
        &[
            "--relay",
            &url,
            "--token-file",
            &token.display().to_string(),
            "--ca-cert",
            &root,
            "--name",
            "acme-box",
        ],
    ));
    let code = pairing_code(&d);
    let paired = remote(
        &url,
        "",
        Some(&pebble.root),
        &["pair", "--print-token", &code],
    );
    let said = String::from_utf8_lossy(&paired.stdout).into_owned();
    assert!(
        paired.status.success(),
        "{said}{}\n--- relay ---\n{}",
        String::from_utf8_lossy(&paired.stderr),
        relay_log()
    );
    let device = said
        .split_whitespace()
        .find(|w| w.starts_with("rcdev_"))
        .expect("a device token")
        .to_string();
    let listed = || {
        let out = remote(&url, &device, Some(&pebble.root), &["list"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("acme-box")
    };
    wait_for("the machine to be listed", Duration::from_secs(30), listed);

    // The account and certificate are kept in the data directory.
    let kept: Vec<String> = std::fs::read_dir(relay.data_dir.join("acme"))
        .expect("<data dir>/acme")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(kept.iter().any(|n| n.contains("cert")), "{kept:?}");
    assert!(kept.iter().any(|n| n.contains("account")), "{kept:?}");

    // A restarted relay serves the kept certificate at once: no new order.
    let orders = count(&pebble.log_text(), "Issued certificate");
    relay.kill();
    relay.spawn();
    wait_for("the relay to serve the kept certificate", ORDER, || {
        relay_log().contains("serving the certificate kept from before")
    });
    assert_eq!(count(&relay_log(), "obtained a new certificate"), 1);
    wait_for(
        "the machine to be listed again",
        Duration::from_secs(30),
        listed,
    );
    assert_eq!(
        count(&pebble.log_text(), "Issued certificate"),
        orders,
        "no second certificate was issued"
    );
}
