//! `output-flood`: a program printing `mb` MB as fast as it can, until it
//! has ended (its terminal drained), in rcd and in tmux, with the CPU
//! time each server spent; and the bare PTY read by the bench as the
//! floor. Each figure is the median of a few runs taken in turns.

use super::{Measure, Report};
use crate::device::Device;
use crate::rig::{self, BarePty, Rcd, Tmux};
use anyhow::{Result, bail};
use rcd_proto::stream::DaemonMsg;
use rcd_proto::{Request, Response, SessionState};
use std::io::Read;
use std::time::{Duration, Instant};

/// The printing program (the same for every subject).
fn script(mb: usize) -> String {
    format!(
        "yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz | head -c {}",
        mb * 1_000_000
    )
}

fn floor(mb: usize) -> Result<Duration> {
    let mut pty = BarePty::spawn(&script(mb))?;
    let t = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    loop {
        match pty.master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            // EIO: the program ended and closed the slave.
            Err(_) => break,
        }
    }
    let d = t.elapsed();
    if total < mb * 1_000_000 {
        bail!("the bare PTY gave {total} bytes");
    }
    Ok(d)
}

async fn rcd(mb: usize, limit: Duration) -> Result<(Duration, Duration)> {
    let command = format!("sh -c '{}'", script(mb));
    let rcd = Rcd::start(&["--no-relay", "--command", &command])?;
    let cpu0 = rig::cpu_time(rcd.pid())?;
    let t = Instant::now();
    rcd.new_session("flood").await?;
    loop {
        let Response::Sessions { sessions } = rcd.call(&Request::List).await? else {
            bail!("list failed");
        };
        if sessions.iter().any(|s| s.state == SessionState::Exited) {
            break;
        }
        if t.elapsed() > limit {
            bail!("rcd did not finish the flood within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = t.elapsed();
    Ok((d, rig::cpu_time(rcd.pid())? - cpu0))
}

fn tmux(mb: usize, limit: Duration) -> Result<(Duration, Duration)> {
    let t = Tmux::start("sleep 100000")?;
    let pid = t.server_pid()?;
    let cpu0 = rig::cpu_time(pid)?;
    let start = Instant::now();
    t.run(&[
        "new-window",
        "-d",
        "-n",
        "flood",
        &format!("sh -c '{}'", script(mb)),
    ])?;
    loop {
        let dead = t.run(&["list-panes", "-t", "flood", "-F", "#{pane_dead}"])?;
        if dead.trim() == "1" {
            break;
        }
        if start.elapsed() > limit {
            bail!("tmux did not finish the flood within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((start.elapsed(), rig::cpu_time(pid)? - cpu0))
}

/// The flood with a device attached through the embedded relay: how long
/// it took, how many frames the device got, and how many bytes.
async fn with_device(mb: usize, limit: Duration) -> Result<(Duration, u64, u64)> {
    let listen = format!("127.0.0.1:{}", rig::free_port()?);
    let command = format!("sh -c '{}'", script(mb));
    let rcd = Rcd::start(&["--listen", &listen, "--command", &command])?;
    let t = Instant::now();
    let mut d = Device::attach(&rcd, &listen, "flood").await?;
    tokio::time::timeout(limit, async {
        loop {
            if let DaemonMsg::Exited { .. } = d.next().await? {
                return Ok::<_, anyhow::Error>(());
            }
        }
    })
    .await
    .map_err(|_| anyhow::anyhow!("the flood with a device did not end within {limit:?}"))??;
    Ok((t.elapsed(), d.frames, d.bytes))
}

/// The median of a few values.
fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub async fn run(mb: usize, runs: usize, r: &mut Report) -> Result<()> {
    let limit = Duration::from_secs(180);
    let (mut fs, mut tds, mut tcs, mut rds, mut rcs) = (vec![], vec![], vec![], vec![], vec![]);
    // Subjects take turns, so a slow moment of the machine hits all alike.
    for _ in 0..runs.max(1) {
        fs.push(tokio::task::spawn_blocking(move || floor(mb)).await??);
        let (td, tc) = tokio::task::spawn_blocking(move || tmux(mb, limit)).await??;
        tds.push(td);
        tcs.push(tc);
        let (rd, rc) = rcd(mb, limit).await?;
        rds.push(rd);
        rcs.push(rc);
    }
    let (f, td, tc, rd, rc) = (
        median(fs),
        median(tds),
        median(tcs),
        median(rds),
        median(rcs),
    );
    let (dd, frames, bytes) = with_device(mb, limit).await?;
    let rate = |d: Duration| mb as f64 / d.as_secs_f64();
    let s = "output-flood";
    r.measures
        .push(Measure::value(s, "bare PTY (floor)", "MB/s", rate(f)));
    r.measures.push(Measure::value(s, "tmux", "MB/s", rate(td)));
    r.measures.push(Measure::value(s, "rcd", "MB/s", rate(rd)));
    r.measures
        .push(Measure::value(s, "tmux server CPU", "s", tc.as_secs_f64()));
    r.measures
        .push(Measure::value(s, "rcd CPU", "s", rc.as_secs_f64()));
    for m in r.measures.iter_mut().filter(|m| m.scenario == s) {
        m.n = runs.max(1);
    }
    let fps = frames as f64 / dd.as_secs_f64();
    r.measures.push(Measure::value(
        s,
        "rcd with a device attached",
        "MB/s",
        rate(dd),
    ));
    r.measures
        .push(Measure::value(s, "frames to that device", "1/s", fps));
    r.measures.push(Measure::value(
        s,
        "bytes to that device",
        "MB",
        bytes as f64 / 1e6,
    ));
    r.verdict(
        s,
        "≥ 1.0× tmux throughput",
        format!(
            "{:.2}× ({:.1} vs {:.1} MB/s)",
            rate(rd) / rate(td),
            rate(rd),
            rate(td)
        ),
        rate(rd) >= rate(td),
    );
    r.verdict(
        s,
        "CPU ≤ tmux",
        format!("{:.2} s vs {:.2} s", rc.as_secs_f64(), tc.as_secs_f64()),
        rc <= tc,
    );
    r.verdict(
        s,
        "an attached device gets ≥ 20 frames/s",
        format!("{fps:.1} frames/s ({frames} in {:.1} s)", dd.as_secs_f64()),
        fps >= 20.0,
    );
    Ok(())
}
