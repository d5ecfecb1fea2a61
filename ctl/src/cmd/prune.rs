use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let report = match c.call(&Request::Prune)? {
        Response::Pruned(r) => r,
        other => return Err(unexpected(other)),
    };
    if args.json {
        return super::print_json(&report);
    }
    if report.removed.is_empty() && report.kept.is_empty() {
        println!("no kept worktrees");
    }
    for o in report.removed.iter().chain(&report.kept) {
        println!("{}", super::describe_worktree(o));
    }
    Ok(())
}
