//! `rcctl prune`: removes kept worktrees that have since become clean (on
//! the machine itself only).

use crate::backend::Backend;
use crate::backend::local::unexpected;
use rcd_proto::{Request, Response};

pub fn run(backend: &mut Backend, args: super::Json) -> anyhow::Result<()> {
    let report = match backend.local("prune")?.call(&Request::Prune)? {
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
