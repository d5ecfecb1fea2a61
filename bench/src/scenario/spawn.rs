//! `spawn-same-dir`: a request for a new session until its program runs,
//! against `tmux new-window` (the client process included) until its
//! program runs. Each program writes its name to a named pipe the bench
//! reads, so "running" is the same moment for both.

use super::{Measure, Report};
use crate::rig::{self, Rcd, Tmux};
use crate::stats;
use anyhow::{Context, Result, bail};
use std::io::BufRead;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Reads the names programs write to `fifo`, with when they came.
fn listen(fifo: &Path) -> Result<mpsc::Receiver<(String, Instant)>> {
    // Read and write: the pipe never sees end-of-file between writers.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(fifo)?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(f).lines() {
            let Ok(line) = line else { return };
            if tx.send((line, Instant::now())).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

fn arrival(rx: &mpsc::Receiver<(String, Instant)>, name: &str) -> Result<Instant> {
    loop {
        let (line, at) = rx
            .recv_timeout(Duration::from_secs(10))
            .with_context(|| format!("{name} never ran"))?;
        if line == name {
            return Ok(at);
        }
    }
}

pub async fn run(n: usize, r: &mut Report) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("rcd-bench-spawn")
        .tempdir()?;
    let fifo = rig::fifo(dir.path(), "ran")?;
    let rx = listen(&fifo)?;
    let program = |name: &str| format!("echo {name} > {}; exec sleep 100000", fifo.display());

    let tmux = Tmux::start("sleep 100000")?;
    let mut peer = Vec::with_capacity(n);
    for i in 0..n + 5 {
        let name = format!("t{i}");
        let t = Instant::now();
        let mut child = tmux
            .command(&["new-window", "-d", &format!("sh -c '{}'", program(&name))])
            .spawn()?;
        let at = arrival(&rx, &name)?;
        let _ = child.wait();
        if i >= 5 {
            peer.push(at - t);
        }
    }
    drop(tmux);

    let capacity = (n + 10).to_string();
    let command = format!("sh -c '{}'", program("$RCD_SESSION"));
    let rcd = Rcd::start(&["--no-relay", "--capacity", &capacity, "--command", &command])?;
    let mut ours = Vec::with_capacity(n);
    for i in 0..n + 5 {
        let name = format!("s{i}");
        let t = Instant::now();
        rcd.new_session(&name).await?;
        let at = arrival(&rx, &name)?;
        if i >= 5 {
            ours.push(at - t);
        }
    }
    if ours.is_empty() {
        bail!("no session started");
    }
    drop(rcd);
    let (p, o) = (stats::summary(&peer), stats::summary(&ours));
    r.measures
        .push(Measure::latency("spawn-same-dir", "tmux new-window", p));
    r.measures
        .push(Measure::latency("spawn-same-dir", "rcd new", o));
    r.verdict(
        "spawn-same-dir",
        "≤ 1.0× tmux (p50)",
        format!("{:.2}× ({:.2} ms vs {:.2} ms)", o.p50 / p.p50, o.p50, p.p50),
        o.p50 <= p.p50,
    );
    Ok(())
}
