//! `rcctl diff`: what a worktree session changed against its base
//! (uncommitted and untracked files included), locally or through a
//! relay: the same diff the web UI's review shows.

use crate::backend::Backend;
use rcd_proto::diff::{Diff, FileDiff, FileStatus};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// Only the files and their counts of added and removed lines.
    #[arg(long)]
    pub(crate) stat: bool,
    /// Only what is not committed yet (against the worktree's HEAD).
    #[arg(long)]
    pub(crate) uncommitted: bool,
    /// Print the diff as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let d = backend.diff(&args.name, args.uncommitted, args.stat)?;
    if args.json {
        return super::print_json(&d);
    }
    if args.stat {
        print_stat(&d);
    } else {
        print!("{}", unified(&d));
    }
    Ok(())
}

fn short(oid: &str) -> &str {
    &oid[..oid.len().min(12)]
}

fn label(f: &FileDiff) -> String {
    match (&f.old_path, f.status) {
        (Some(old), _) => format!("{old} → {}", f.path),
        (None, FileStatus::Modified) => f.path.clone(),
        (None, s) => format!("{} ({})", f.path, s.as_str()),
    }
}

fn print_stat(d: &Diff) {
    let what = if d.uncommitted {
        "not committed yet"
    } else {
        "against the base"
    };
    if d.files.is_empty() {
        println!("{}: no change {what} ({})", d.name, short(&d.base));
        return;
    }
    let rows: Vec<(String, String)> = d
        .files
        .iter()
        .map(|f| {
            let counts = if f.binary {
                "binary".to_string()
            } else {
                format!("+{} −{}", f.added, f.removed)
            };
            (label(f), counts)
        })
        .collect();
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    for (l, c) in rows {
        println!(" {l:<width$}  {c}");
    }
    println!(
        " {} file{} changed, +{} −{} ({what}, {})",
        d.files.len(),
        if d.files.len() == 1 { "" } else { "s" },
        d.added,
        d.removed,
        short(&d.base)
    );
}

/// The diff in git's unified form.
fn unified(d: &Diff) -> String {
    let mut out = String::new();
    for f in &d.files {
        let old = f.old_path.as_deref().unwrap_or(&f.path);
        out.push_str(&format!("diff --git a/{old} b/{}\n", f.path));
        match f.status {
            FileStatus::Added | FileStatus::Untracked => {
                out.push_str(&format!("new file ({})\n", f.status.as_str()))
            }
            FileStatus::Deleted => out.push_str("deleted file\n"),
            FileStatus::Renamed => {
                out.push_str(&format!("rename from {old}\nrename to {}\n", f.path))
            }
            FileStatus::Typechange => out.push_str("type changed\n"),
            FileStatus::Modified => {}
        }
        if f.binary {
            out.push_str("Binary file: not shown\n");
            continue;
        }
        if !f.hunks.is_empty() {
            let a = if f.status.is_new() {
                "/dev/null".to_string()
            } else {
                format!("a/{old}")
            };
            let b = if f.status == FileStatus::Deleted {
                "/dev/null".to_string()
            } else {
                format!("b/{}", f.path)
            };
            out.push_str(&format!("--- {a}\n+++ {b}\n"));
        }
        for h in &f.hunks {
            out.push_str(&h.header);
            out.push('\n');
            for l in &h.lines {
                out.push(l.kind);
                out.push_str(&l.text);
                out.push('\n');
            }
        }
        if let Some(cut) = &f.cut {
            out.push_str(&format!("# {cut}\n"));
        }
    }
    if d.truncated {
        out.push_str(&format!(
            "# the diff was cut at {} KiB: `rcctl diff {} --stat` lists every file\n",
            Diff::MAX_TOTAL_BYTES / 1024,
            d.name
        ));
    }
    out
}
