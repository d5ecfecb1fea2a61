//! The device web UI in a real headless Chromium: runs the end-to-end
//! script `tests/web/e2e.mjs` (node + playwright-core, installed by
//! `scripts/test`) against the rc-relay and rcd binaries of this build.
//! Its output goes straight to the terminal and ends with
//! `web: N passed, M failed`.
//!
//! Set `RCD_SKIP_WEB=1` to skip it on a machine without node or chromium.

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
