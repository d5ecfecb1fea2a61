//! `rcd-bench`: rcd's data path measured against peers in the same run.
//!
//! `cargo run --release -p rcd-bench -- [SCENARIO…] [--json FILE]`. It
//! builds the workspace's release binaries, runs each scenario after a
//! warm-up, prints the figures with the peer of the same run and the
//! verdict on each target (docs/PERFORMANCE.md), and removes every process,
//! socket and directory it made.

mod device;
mod rig;
mod scenario;
mod simdaemon;
mod stats;
mod wire;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use scenario::Report;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// A key through `rcctl attach`'s path, against a bare PTY.
    KeyLocal,
    /// A key from a device through the embedded relay, against the local path.
    KeyRelay,
    /// A key typed in the web UI in headless Chromium, against key-relay.
    KeyBrowser,
    /// A key into a quiet session while every other one floods, against tmux.
    KeyFlood,
    /// A new same-dir session until its program runs, against tmux.
    SpawnSameDir,
    /// A new worktree session on a 20,000-file repository, against git.
    SpawnWorktree,
    /// A program printing as fast as it can, against tmux and a bare PTY.
    OutputFlood,
    /// CPU and wakeups of 32 idle sessions, against tmux.
    Idle,
    /// Resident memory per idle session and through a flood, against tmux.
    Memory,
    /// One standalone relay carrying many daemons' sessions, each typed into.
    RelayFanIn,
    /// The same fan-in on one and on three instances sharing a Redis.
    RelayInstances,
}

/// Measure rcd's data path against its peers.
#[derive(Debug, Parser)]
#[command(name = "rcd-bench", version)]
struct Args {
    /// Scenarios to run (all when none is given).
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// Also write every figure and verdict as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Keys typed in the key scenarios (after a warm-up of 20).
    #[arg(long, default_value_t = 500)]
    keys: usize,
    /// Keys typed in the browser scenario (after a warm-up of 20).
    #[arg(long, default_value_t = 200)]
    browser_keys: usize,
    /// Keys typed in key-flood (after a warm-up of 20).
    #[arg(long, default_value_t = 100)]
    flood_keys: usize,
    /// Sessions (and tmux windows) flooding in key-flood.
    #[arg(long, default_value_t = 64)]
    floods: usize,
    /// Sessions started in the spawn scenario.
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Files of the repository of the worktree scenario.
    #[arg(long, default_value_t = 20_000)]
    repo_files: usize,
    /// Worktrees made by each subject of the worktree scenario.
    #[arg(long, default_value_t = 10)]
    worktrees: usize,
    /// Megabytes printed in the flood scenario.
    #[arg(long, default_value_t = 200)]
    flood_mb: usize,
    /// Runs of the flood scenario (their median is reported).
    #[arg(long, default_value_t = 3)]
    flood_runs: usize,
    /// Seconds the idle scenario watches each subject.
    #[arg(long, default_value_t = 60)]
    idle_secs: u64,
    /// Sessions of the larger memory measurement (the smaller is 32).
    #[arg(long, default_value_t = 1000)]
    memory_sessions: usize,
    /// Simulated daemons of the fan-in scenario.
    #[arg(long, default_value_t = 200)]
    fanin_daemons: usize,
    /// Sessions of each simulated daemon (a device types into each).
    #[arg(long, default_value_t = 8)]
    fanin_sessions: usize,
    /// Seconds the devices of the fan-in scenario type.
    #[arg(long, default_value_t = 60)]
    fanin_secs: u64,
    /// Use the release binaries as they are, without building them first.
    #[arg(long)]
    no_build: bool,
}

async fn run(args: &Args) -> Result<Report> {
    let all = args.scenarios.is_empty();
    let wants = |s: Scenario| all || args.scenarios.contains(&s);
    let mut r = Report::default();
    let mut local = None;
    if wants(Scenario::KeyLocal) || wants(Scenario::KeyRelay) {
        eprintln!("bench: key-local ({} keys)", args.keys);
        local = Some(scenario::keys::key_local(args.keys, &mut r).await?);
    }
    let mut relay = None;
    if wants(Scenario::KeyRelay) {
        eprintln!("bench: key-relay ({} keys)", args.keys);
        let l = local.expect("measured above");
        relay = Some(scenario::keys::key_relay(args.keys, l, &mut r).await?);
    }
    if wants(Scenario::KeyBrowser) {
        match scenario::browser::tools() {
            Err(why) => {
                eprintln!("bench: key-browser skipped: it {why}");
                r.skip("key-browser", format!("it {why}"));
            }
            Ok(tools) => {
                let peer = match relay {
                    Some(p) => p,
                    None => {
                        eprintln!(
                            "bench: key-browser's peer, key-relay alone ({} keys)",
                            args.keys
                        );
                        let p = scenario::keys::relay_alone(args.keys).await?;
                        r.measures.push(scenario::Measure::latency(
                            "key-browser",
                            "rcd device via relay, alone (peer)",
                            p,
                        ));
                        p
                    }
                };
                eprintln!("bench: key-browser ({} keys)", args.browser_keys);
                scenario::browser::key_browser(&tools, args.browser_keys, peer, &mut r).await?;
            }
        }
    }
    if wants(Scenario::KeyFlood) {
        eprintln!(
            "bench: key-flood ({} keys, {} sessions flooding)",
            args.flood_keys, args.floods
        );
        scenario::fairness::run(args.flood_keys, args.floods, &mut r).await?;
    }
    if wants(Scenario::SpawnSameDir) {
        eprintln!("bench: spawn-same-dir ({} sessions)", args.sessions);
        scenario::spawn::run(args.sessions, &mut r).await?;
    }
    if wants(Scenario::SpawnWorktree) {
        eprintln!("bench: spawn-worktree ({} worktrees)", args.worktrees);
        scenario::worktree::run(args.repo_files, args.worktrees, &mut r).await?;
    }
    if wants(Scenario::OutputFlood) {
        eprintln!("bench: output-flood ({} MB)", args.flood_mb);
        scenario::flood::run(args.flood_mb, args.flood_runs, &mut r).await?;
    }
    if wants(Scenario::Idle) {
        eprintln!("bench: idle ({} s per subject)", args.idle_secs);
        scenario::resources::idle(args.idle_secs, &mut r).await?;
    }
    if wants(Scenario::Memory) {
        eprintln!("bench: memory (32 and {} sessions)", args.memory_sessions);
        scenario::resources::memory(args.memory_sessions, args.flood_mb, &mut r).await?;
    }
    let sizes = scenario::fanin::Sizes {
        daemons: args.fanin_daemons,
        sessions: args.fanin_sessions,
        secs: args.fanin_secs,
    };
    let size = format!(
        "{} daemons × {} sessions, {} s",
        args.fanin_daemons, args.fanin_sessions, args.fanin_secs
    );
    if wants(Scenario::RelayFanIn) {
        eprintln!("bench: relay-fan-in ({size})");
        scenario::fanin::run(sizes, &mut r).await?;
    }
    if wants(Scenario::RelayInstances) {
        eprintln!("bench: relay-instances ({size}, on 1 and on 3 instances)");
        scenario::fanin::instances(sizes, &mut r).await?;
    }
    Ok(r)
}

fn print(r: &Report) {
    println!("| scenario | subject | p50 | p99 | unit | n |");
    println!("| --- | --- | ---: | ---: | --- | ---: |");
    for m in &r.measures {
        let p99 = m.p99.map_or("—".to_string(), |v| format!("{v:.3}"));
        println!(
            "| {} | {} | {:.3} | {p99} | {} | {} |",
            m.scenario, m.subject, m.p50, m.unit, m.n
        );
    }
    println!();
    println!("| scenario | target | measured | met |");
    println!("| --- | --- | --- | --- |");
    for v in &r.verdicts {
        let met = if v.met { "yes" } else { "**no**" };
        println!("| {} | {} | {} | {met} |", v.scenario, v.target, v.measured);
    }
    if !r.skipped.is_empty() {
        println!();
    }
    for s in &r.skipped {
        println!("{}: skipped: {}", s.scenario, s.why);
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Every scenario's sockets and sessions count against it, and the
    // processes the bench starts inherit it.
    match rig::raise_open_files() {
        Ok(n) => eprintln!("bench: open files limit {n}"),
        Err(e) => eprintln!("bench: cannot raise the limit of open files: {e}"),
    }
    if !args.no_build
        && let Err(e) = rig::build()
    {
        eprintln!("rcd-bench: {e:#}");
        return ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rcd-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(r) => {
            print(&r);
            if let Some(path) = &args.json {
                let text = serde_json::to_string_pretty(&r).expect("figures serialise");
                if let Err(e) = std::fs::write(path, text) {
                    eprintln!("rcd-bench: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rcd-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
