use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response, StopReport};
use std::path::Path;

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

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let report = match c.call(&Request::Stop {
        name: args.name,
        force: args.force,
    })? {
        Response::Stopped(r) => r,
        other => return Err(unexpected(other)),
    };
    print_report(&report, args.json)
}

/// Prints a stop report (also for `rcctl --relay URL stop`).
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
