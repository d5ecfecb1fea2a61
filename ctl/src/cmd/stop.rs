//! `rcctl stop`: stops a session; says whether its worktree was removed
//! or kept.

use crate::backend::Backend;
use rcd_proto::StopReport;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The session. Through a relay: NAME, or ENV/NAME when two
    /// environments have a session of that name.
    pub(crate) name: String,
    /// Remove its worktree even if it holds work, after saving the whole
    /// working tree (untracked files included) under refs/rcd/saved/NAME.
    #[arg(long)]
    pub(crate) force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let report = backend.stop(&args.name, args.force)?;
    print_report(&report, args.json)
}

/// Prints a stop report.
pub fn print_report(report: &StopReport, json: bool) -> anyhow::Result<()> {
    if json {
        return super::print_json(report);
    }
    match report.exit_code {
        Some(code) => println!("stopped {} (exit status {code})", report.name),
        None => println!("stopped {}", report.name),
    }
    if let Some(w) = &report.worktree {
        println!("{}", super::describe_worktree(w));
    }
    Ok(())
}
