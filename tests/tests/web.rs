//! The device web UI in a real headless Chromium: runs the end-to-end
//! script `tests/web/e2e.mjs` (node + playwright-core, installed by
//! `scripts/test`) against the rc-relay and rcd binaries of this build.
//! Its output goes straight to the terminal and ends with
//! `web: N passed, M failed`.
//!
//! Set `RCD_SKIP_WEB=1` to skip it on a machine without node or chromium.
//!
//! Also checks that the device session fixtures the web UI's unit tests
//! replay (`tests/fixtures/device-session/`) are in rcd's wire format.

use rcd_tests::bin;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The script limits itself to 240 s; this is the backstop.
const LIMIT: Duration = Duration::from_secs(330);

#[test]
fn web_ui_in_headless_chromium() {
    if std::env::var_os("RCD_SKIP_WEB").is_some_and(|v| v == "1") {
        eprintln!("web: skipped (RCD_SKIP_WEB=1)");
        return;
    }
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<String> = [
        (
            Command::new("node").arg("--version").output().is_err(),
            "node (apt-get install nodejs)".to_string(),
        ),
        (
            !web.join("node_modules/playwright-core").exists(),
            format!("playwright-core (cd {} && npm ci)", web.display()),
        ),
        (
            !Path::new(&chromium).exists(),
            format!("{chromium} (apt-get install chromium)"),
        ),
    ]
    .into_iter()
    .filter_map(|(gone, what)| gone.then_some(what))
    .collect();
    assert!(
        missing.is_empty(),
        "the browser test needs: {}; scripts/test installs them all (or set RCD_SKIP_WEB=1)",
        missing.join(", ")
    );
    let bin_dir = bin("rc-relay").parent().expect("bin dir").to_path_buf();
    bin("rcd");
    // Its own process group, so a timeout can end it and its browser.
    let mut child = Command::new("node")
        .arg(web.join("e2e.mjs"))
        .env("RCD_BIN_DIR", &bin_dir)
        .env("CHROMIUM", &chromium)
        .current_dir(&web)
        .process_group(0)
        .spawn()
        .expect("node starts");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if start.elapsed() > LIMIT {
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGTERM);
            std::thread::sleep(Duration::from_secs(10));
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!("the browser test took over {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "the browser test failed ({status}); its output is above"
    );
}

/// The device session fixtures (`tests/fixtures/device-session/`, replayed
/// by the web UI's unit tests) speak the wire format exactly: every daemon
/// step is a `DaemonMsg`, every relay step a `DeviceFrame` and every
/// expected message a `DeviceMsg`, each as rcd itself writes it.
#[test]
fn device_session_fixtures_are_in_the_wire_format() {
    use rcd_proto::relay::DeviceFrame;
    use rcd_proto::stream::{DaemonMsg, DeviceMsg};
    use serde_json::Value;

    /// `v` parses as a `$t` and serialises back to itself.
    macro_rules! same {
        ($t:ty, $v:expr, $what:expr) => {{
            let (v, what): (&Value, &str) = ($v, $what);
            let parsed: $t =
                serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what}: {e}: {v}"));
            let back = serde_json::to_value(&parsed).expect("serialises");
            assert_eq!(&back, v, "{what}: not as rcd writes it");
        }};
    }

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/device-session");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("the fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        files += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let fx: Value = serde_json::from_slice(&std::fs::read(&path).expect("readable"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(fx["client_id"].is_string(), "{name}: client_id");
        assert!(fx["needs"].is_array(), "{name}: needs");
        let steps = fx["steps"].as_array().expect("steps");
        assert!(!steps.is_empty(), "{name}: steps");
        for (i, step) in steps.iter().enumerate() {
            let what = format!("{name} step {}", i + 1);
            if let Some(m) = step.get("daemon") {
                same!(DaemonMsg, m, &what);
            } else if let Some(f) = step.get("relay") {
                same!(DeviceFrame, f, &what);
            } else {
                assert!(step["do"].is_string(), "{what}: daemon, relay or do");
            }
            let send = step["expect"]["send"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: expect.send"));
            for m in send {
                same!(DeviceMsg, m, &what);
            }
        }
    }
    assert!(files >= 8, "{files} fixtures in {}", dir.display());
}
