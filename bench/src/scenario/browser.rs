//! `key-browser`: a key typed in the device web UI, served by rcd's
//! embedded relay, in headless Chromium at phone size, until its character
//! is in the terminal's DOM; against a device's round trip through the
//! same relay (`key-relay`, alone) measured in the same run.
//!
//! The browser is driven by `bench/browser/key-browser.mjs` (node, with
//! tests/web's playwright-core and Debian's chromium, as the web UI's
//! end-to-end test uses them), which pairs through the link rcd prints,
//! opens the session from the machine list and times every key inside the
//! page. When node, playwright-core or chromium is missing the scenario is
//! skipped and says why.

use super::{Measure, Report};
use crate::rig::{self, ECHO, Rcd};
use crate::stats::{self, Summary};
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Keys typed before measuring.
const WARM_UP: usize = 20;
/// The whole browser run, from starting node to its figures (the script
/// limits itself to 50 s).
const LIMIT: Duration = Duration::from_secs(60);
/// The target: p50 at most the relay's p50 plus this, in ms.
const OVER_RELAY_MS: f64 = 5.0;

/// What the scenario runs, found on this machine.
pub struct Tools {
    node: PathBuf,
    chromium: PathBuf,
    script: PathBuf,
}

/// The tools of the scenario, or what is missing and how to install it.
pub fn tools() -> std::result::Result<Tools, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let node = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("node"))
            .find(|n| n.is_file())
    });
    let chromium = PathBuf::from(std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    let web = repo.join("tests/web");
    let mut missing = Vec::new();
    if node.is_none() {
        missing.push("node (apt-get install nodejs)".to_string());
    }
    if !web.join("node_modules/playwright-core").is_dir() {
        missing.push(format!(
            "playwright-core (cd {} && npm ci)",
            web.canonicalize().unwrap_or(web).display()
        ));
    }
    if !chromium.is_file() {
        missing.push(format!("{} (apt-get install chromium)", chromium.display()));
    }
    if !missing.is_empty() {
        return Err(format!("needs {}", missing.join(", ")));
    }
    Ok(Tools {
        node: node.expect("checked"),
        chromium,
        script: repo.join("bench/browser/key-browser.mjs"),
    })
}

/// One key as the page timed it, in ms from the key event.
#[derive(Debug, Deserialize)]
struct Sample {
    /// Its character in the terminal's DOM.
    dom: f64,
    /// The input's WebSocket message sent.
    send: Option<f64>,
    /// The first screen frame after it arrived.
    frame: Option<f64>,
}

/// What the browser script prints.
#[derive(Debug, Deserialize)]
struct Run {
    rows: u16,
    cols: u16,
    browser: String,
    failed: usize,
    samples: Vec<Sample>,
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0) / 1e3)
}

/// Runs the browser script against a fresh rcd with its embedded relay.
async fn browse(t: &Tools, keys: usize) -> Result<Run> {
    let port = rig::free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let rcd = Rcd::start(&["--listen", &listen, "--command", ECHO])?;
    rcd.new_session("keys").await?;
    let mut url = String::new();
    rig::wait("rcd's pairing link", Duration::from_secs(20), || {
        let log = rcd.log_text();
        if let Some(u) = log.split_whitespace().rfind(|w| w.contains("/#pair=")) {
            url = u.into();
        }
        !url.is_empty()
    })?;
    let (node, chromium, script) = (t.node.clone(), t.chromium.clone(), t.script.clone());
    let run = tokio::task::spawn_blocking(move || {
        run_script(&node, &chromium, &script, &url, "keys", keys)
    })
    .await??;
    drop(rcd);
    Ok(run)
}

/// Node in a process group of its own (so a run over time ends with its
/// browser), in a temporary home and TMPDIR (the browser's profile), both
/// removed when it ends.
fn run_script(
    node: &Path,
    chromium: &Path,
    script: &Path,
    url: &str,
    session: &str,
    keys: usize,
) -> Result<Run> {
    let dir = tempfile::Builder::new()
        .prefix("rcd-bench-browser")
        .tempdir()?;
    let out_path = dir.path().join("figures.json");
    let mut child = Command::new(node)
        .arg(script)
        .args([url, session, &keys.to_string(), &WARM_UP.to_string()])
        .env("CHROMIUM", chromium)
        .env("HOME", dir.path())
        .env("TMPDIR", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("LIMIT_SECS", (LIMIT.as_secs() - 10).to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .process_group(0)
        .spawn()
        .context("cannot start node")?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if start.elapsed() > LIMIT {
            // Not reaped yet, so the group is still node's: end all of it.
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            bail!("the browser run took over {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        bail!("the browser script failed ({status}); what it said is above");
    }
    let text = std::fs::read_to_string(&out_path)?;
    serde_json::from_str(text.trim()).map_err(|e| anyhow!("the browser script's figures: {e}"))
}

/// `key-browser`: the web UI's round trip against `relay`, a device's
/// through the same embedded relay in the same run. A run that fails is
/// reported as a missed target, so the other scenarios still run.
pub async fn key_browser(t: &Tools, keys: usize, relay: Summary, r: &mut Report) -> Result<()> {
    let run = match browse(t, keys).await {
        Ok(run) => run,
        Err(e) => {
            eprintln!("bench: key-browser did not complete: {e:#}");
            r.verdict(
                "key-browser",
                &format!("p50 ≤ relay + {OVER_RELAY_MS} ms"),
                format!("did not complete: {e:#}"),
                false,
            );
            return Ok(());
        }
    };
    eprintln!(
        "bench: key-browser: {} at {}×{}, {} keys measured, {} did not show",
        run.browser,
        run.cols,
        run.rows,
        run.samples.len(),
        run.failed
    );
    if run.samples.is_empty() {
        r.verdict(
            "key-browser",
            &format!("p50 ≤ relay + {OVER_RELAY_MS} ms"),
            format!("no key showed ({} did not)", run.failed),
            false,
        );
        return Ok(());
    }
    let dom: Vec<Duration> = run.samples.iter().map(|s| ms(s.dom)).collect();
    let b = stats::summary(&dom);
    r.measures.push(Measure::latency(
        "key-browser",
        "rcd web UI, key → character in the DOM",
        b,
    ));
    // Where the time went, for the keys whose every step was seen.
    let steps: Vec<(f64, f64, f64)> = run
        .samples
        .iter()
        .filter_map(|s| Some((s.send?, s.frame?, s.dom)))
        .collect();
    if !steps.is_empty() {
        let part = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
            stats::summary(&steps.iter().map(|s| ms(f(s))).collect::<Vec<_>>())
        };
        for (what, s) in [
            ("of which key → input sent", part(&|s| s.0)),
            (
                "of which input sent → screen frame in",
                part(&|s| s.1 - s.0),
            ),
            ("of which screen frame → DOM", part(&|s| s.2 - s.1)),
        ] {
            r.measures.push(Measure::latency("key-browser", what, s));
        }
    }
    r.measures.push(Measure::value(
        "key-browser",
        "keys that did not show within 2 s",
        "keys",
        run.failed as f64,
    ));
    r.verdict(
        "key-browser",
        &format!("p50 ≤ relay + {OVER_RELAY_MS} ms"),
        format!(
            "{:.3} ms vs relay {:.3} ms (p99 {:.3} ms; {} keys did not show)",
            b.p50, relay.p50, b.p99, run.failed
        ),
        b.p50 <= relay.p50 + OVER_RELAY_MS && run.failed == 0,
    );
    Ok(())
}
