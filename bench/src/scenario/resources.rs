//! What rcd costs when nothing happens: `idle` (CPU and wakeups of 32 idle
//! sessions, with and without the relay link) and `memory` (resident
//! memory per idle session, and after a flood), each against tmux with
//! the same windows.

use super::{Measure, Report};
use crate::rig::{self, Rcd, Tmux, rss_kib};
use anyhow::{Result, bail};
use rcd_proto::{Request, Response};
use std::time::{Duration, Instant};

/// The idle program of every session and window.
const IDLE: &str = "cat";

/// Context switches of every thread of a process so far.
fn switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// CPU (percent of one core) and context switches per second of the
/// processes `pids` together over `secs`.
fn watch(pids: &[u32], secs: u64) -> Result<(f64, f64)> {
    let cpu_all = || -> Result<Duration> {
        pids.iter()
            .map(|&p| rig::cpu_time(p))
            .sum::<Result<Duration>>()
    };
    let switches_all = || pids.iter().map(|&p| switches(p)).sum::<u64>();
    let (cpu0, sw0, t) = (cpu_all()?, switches_all(), Instant::now());
    std::thread::sleep(Duration::from_secs(secs));
    let wall = t.elapsed().as_secs_f64();
    let cpu = (cpu_all()? - cpu0).as_secs_f64();
    // Threads that end meanwhile take their counts with them.
    let sw = switches_all().saturating_sub(sw0);
    Ok((100.0 * cpu / wall, sw as f64 / wall))
}

async fn rcd_with(n: usize, relay: bool) -> Result<Rcd> {
    let capacity = (n + 1).to_string();
    let listen = format!("127.0.0.1:{}", rig::free_port()?);
    let mut args = vec!["--capacity", &capacity, "--command", IDLE];
    if relay {
        args.extend(["--listen", &listen]);
    } else {
        args.push("--no-relay");
    }
    let rcd = Rcd::start(&args)?;
    // Let the link (if any) settle before the first reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(rcd)
}

fn tmux_with(n: usize) -> Result<Tmux> {
    let t = Tmux::start(IDLE)?;
    for _ in 1..n {
        t.run(&["new-window", "-d", IDLE])?;
    }
    Ok(t)
}

/// `idle`: 32 idle sessions for `secs`, with and without the relay link.
pub async fn idle(secs: u64, r: &mut Report) -> Result<()> {
    let s = "idle";
    let t = tmux_with(32)?;
    let pid = t.server_pid()?;
    let (tc, tw) = tokio::task::spawn_blocking(move || watch(&[pid], secs)).await??;
    drop(t);
    let mut results = Vec::new();
    for relay in [false, true] {
        let rcd = rcd_with(32, relay).await?;
        for i in 0..32 {
            rcd.new_session(&format!("idle{i}")).await?;
        }
        // rcd and its keeper, which holds the programs.
        let pids: Vec<u32> = std::iter::once(rcd.pid()).chain(rcd.keeper_pid()).collect();
        results.push(tokio::task::spawn_blocking(move || watch(&pids, secs)).await??);
    }
    r.measures.push(Measure::value(s, "tmux CPU", "%", tc));
    r.measures
        .push(Measure::value(s, "tmux wakeups", "1/s", tw));
    r.measures
        .push(Measure::value(s, "rcd CPU", "%", results[0].0));
    r.measures
        .push(Measure::value(s, "rcd wakeups", "1/s", results[0].1));
    r.measures
        .push(Measure::value(s, "rcd + relay link CPU", "%", results[1].0));
    r.measures.push(Measure::value(
        s,
        "rcd + relay link wakeups",
        "1/s",
        results[1].1,
    ));
    let worst = results[0].0.max(results[1].0);
    r.verdict(
        s,
        "CPU ≤ tmux",
        format!("{worst:.3} % vs {tc:.3} %"),
        worst <= tc.max(0.01),
    );
    Ok(())
}

/// Resident memory added per session (KiB) when `n` idle sessions start,
/// with or without the relay link (a session link and the embedded relay's
/// end of it for each session).
async fn rcd_per_session(n: usize, relay: bool) -> Result<(f64, u64)> {
    let rcd = rcd_with(n, relay).await?;
    // As tmux's server is measured with its first window there, rcd is
    // measured from its first session: what the sessions after it add
    // (the first one also pages in the code that starts a session, in
    // rcd and in its keeper, once).
    let settle = Duration::from_millis(if relay { 1500 } else { 300 });
    rcd.new_session("m0").await?;
    tokio::time::sleep(settle).await;
    let base = rcd.rss_kib()?;
    for i in 1..n {
        rcd.new_session(&format!("m{i}")).await?;
    }
    // Session links connect after their sessions start.
    tokio::time::sleep(settle).await;
    let after = rcd.rss_kib()?;
    Ok(((after.saturating_sub(base)) as f64 / (n - 1) as f64, after))
}

fn tmux_per_session(n: usize) -> Result<(f64, u64)> {
    let t = Tmux::start(IDLE)?;
    let pid = t.server_pid()?;
    let base = rss_kib(pid)?;
    for _ in 1..n {
        t.run(&["new-window", "-d", IDLE])?;
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kib(pid)?;
    Ok(((after.saturating_sub(base)) as f64 / (n - 1) as f64, after))
}

/// `memory`: resident memory per idle session at 32 and `many` sessions,
/// and rcd's growth through a flood of `mb` MB in one session.
pub async fn memory(many: usize, mb: usize, r: &mut Report) -> Result<()> {
    let s = "memory";
    for n in [32, many] {
        let (t, _) = tokio::task::spawn_blocking(move || tmux_per_session(n)).await??;
        let (o, total) = rcd_per_session(n, false).await?;
        r.measures.push(Measure::value(
            s,
            &format!("tmux per window at {n}"),
            "KiB",
            t,
        ));
        r.measures.push(Measure::value(
            s,
            &format!("rcd per session at {n}"),
            "KiB",
            o,
        ));
        r.measures.push(Measure::value(
            s,
            &format!("rcd total at {n}"),
            "KiB",
            total as f64,
        ));
        r.verdict(
            s,
            &format!("≤ 64 KiB per idle session at {n}"),
            format!("{o:.0} KiB (tmux {t:.0} KiB)"),
            o <= 64.0,
        );
    }
    let (linked, _) = rcd_per_session(32, true).await?;
    r.measures.push(Measure::value(
        s,
        "rcd per session at 32 with the relay link",
        "KiB",
        linked,
    ));
    // The program prints 1 MB first and waits for a line: what rcd holds
    // then (the session, and its code run once) is told apart from what
    // the flood itself adds.
    let yes = "yes 0123456789abcdefghijklmnopqrstuvwxyz";
    let script = format!(
        "sh -c '{yes} | head -c 1000000; read x; {yes} | head -c {}; exec cat'",
        mb * 1_000_000
    );
    let rcd = Rcd::start(&["--no-relay", "--command", &script])?;
    // rcd and its keeper; the parts are rcd's, where output goes (the
    // keeper reads none while rcd runs).
    let before = rcd.rss_kib()?;
    let (before_anon, before_file) = rig::rss_parts_kib(rcd.pid())?;
    rcd.new_session("flood").await?;
    settle(&rcd).await?;
    let (warm_anon, warm_file) = rig::rss_parts_kib(rcd.pid())?;
    match rcd
        .call(&Request::Send {
            name: "flood".into(),
            text: String::new(),
            enter: true,
        })
        .await?
    {
        Response::Ok => {}
        other => bail!("sending the flood its line: {other:?}"),
    }
    settle(&rcd).await?;
    let after = rcd.rss_kib()?;
    let (anon, file) = rig::rss_parts_kib(rcd.pid())?;
    let growth = after.saturating_sub(before) as f64;
    r.measures.push(Measure::value(
        s,
        &format!("rcd growth through a {mb} MB flood"),
        "KiB",
        growth,
    ));
    r.measures.push(Measure::value(
        s,
        "of it, the session and its first 1 MB: anonymous",
        "KiB",
        warm_anon.saturating_sub(before_anon) as f64,
    ));
    r.measures.push(Measure::value(
        s,
        "of it, the session and its first 1 MB: file-backed (code run once)",
        "KiB",
        warm_file.saturating_sub(before_file) as f64,
    ));
    r.measures.push(Measure::value(
        s,
        &format!("anonymous growth through the {mb} MB"),
        "KiB",
        anon.saturating_sub(warm_anon) as f64,
    ));
    r.measures.push(Measure::value(
        s,
        &format!("file-backed growth through the {mb} MB"),
        "KiB",
        file.saturating_sub(warm_file) as f64,
    ));
    // Read on what the flood itself adds: the session's own memory and
    // the code run for the first time (hundreds of KiB that vary with the
    // page cache's fault-around) are not growth with output.
    let flood = (anon + file).saturating_sub(warm_anon + warm_file) as f64;
    r.verdict(
        s,
        "no growth with output (≤ 1 MiB after the flood)",
        format!("{flood:.0} KiB through the {mb} MB ({growth:.0} KiB from before the session)"),
        flood <= 1024.0,
    );
    Ok(())
}

/// Waits until the program has printed what it prints: rcd's CPU time
/// stops moving (at most 180 s).
async fn settle(rcd: &Rcd) -> Result<()> {
    let limit = Instant::now() + Duration::from_secs(180);
    let mut last = rig::cpu_time(rcd.pid())?;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rig::cpu_time(rcd.pid())?;
        if now == last || Instant::now() > limit {
            return Ok(());
        }
        last = now;
    }
}
