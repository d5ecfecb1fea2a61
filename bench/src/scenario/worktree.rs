//! `spawn-worktree`: a new worktree session on a generated repository of
//! 20,000 files, until its program runs, against `git worktree add` of a
//! new branch on the same repository.

use super::{Measure, Report};
use crate::rig::{self, Rcd};
use crate::stats;
use anyhow::{Context, Result, bail};
use std::io::BufRead;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@localhost")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@localhost")
        .output()?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A repository of `files` small files in 100 directories, one commit.
fn make_repo(dir: &Path, files: usize) -> Result<()> {
    git(dir, &["init", "-q", "-b", "main"])?;
    for i in 0..files {
        let sub = dir.join(format!("d{:03}", i % 100));
        if i < 100 {
            std::fs::create_dir_all(&sub)?;
        }
        std::fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n"))?;
    }
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", "files"])?;
    Ok(())
}

pub async fn run(files: usize, n: usize, r: &mut Report) -> Result<()> {
    let s = "spawn-worktree";
    rig::which("git")?;
    let repo = tempfile::Builder::new()
        .prefix("rcd-bench-repo")
        .tempdir()?;
    eprintln!("bench: making a repository of {files} files");
    let (dir, count) = (repo.path().to_path_buf(), files);
    tokio::task::spawn_blocking(move || make_repo(&dir, count)).await??;

    let mut peer = Vec::with_capacity(n);
    let outside = tempfile::Builder::new().prefix("rcd-bench-wt").tempdir()?;
    for i in 0..n + 1 {
        let path = outside.path().join(format!("g{i}"));
        let p = path.display().to_string();
        let t = Instant::now();
        git(
            repo.path(),
            &["worktree", "add", "-q", "-b", &format!("g{i}"), &p],
        )?;
        if i >= 1 {
            peer.push(t.elapsed());
        }
    }

    let fifo = rig::fifo(outside.path(), "ran")?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(f).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let command = format!(
        "sh -c 'echo $RCD_SESSION > {}; exec sleep 100000'",
        fifo.display()
    );
    let capacity = (n + 2).to_string();
    let rcd = Rcd::start(&[
        "--no-relay",
        "--dir",
        &repo.path().display().to_string(),
        "--spawn",
        "worktree",
        "--capacity",
        &capacity,
        "--command",
        &command,
    ])?;
    let mut ours = Vec::with_capacity(n);
    for i in 0..n + 1 {
        let name = format!("w{i}");
        let t = Instant::now();
        rcd.new_session(&name).await?;
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .with_context(|| format!("{name} never ran"))?;
            if line == name {
                break;
            }
        }
        if i >= 1 {
            ours.push(t.elapsed());
        }
    }
    drop(rcd);
    let (p, o) = (stats::summary(&peer), stats::summary(&ours));
    r.measures.push(Measure::latency(s, "git worktree add", p));
    r.measures
        .push(Measure::latency(s, "rcd new (worktree)", o));
    r.verdict(
        s,
        "≤ 1.0× git worktree add (p50)",
        format!("{:.2}× ({:.1} ms vs {:.1} ms)", o.p50 / p.p50, o.p50, p.p50),
        o.p50 <= p.p50,
    );
    Ok(())
}
