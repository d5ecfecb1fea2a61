use crate::client::unexpected;
use rcd_proto::{Request, Response};
use std::path::Path;

pub fn run(socket: &Path, args: super::Json) -> anyhow::Result<()> {
    let report = match super::call(socket, &Request::Prune)? {
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
