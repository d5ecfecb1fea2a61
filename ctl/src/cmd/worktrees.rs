//! `rcctl worktrees`: the worktrees that were kept because they hold work
//! (on the machine itself only).

use crate::backend::Backend;
use crate::backend::local::unexpected;
use rcd_proto::{Request, Response};

pub fn run(backend: &mut Backend, args: super::Json) -> anyhow::Result<()> {
    let list = match backend.local("worktrees")?.call(&Request::Worktrees)? {
        Response::Worktrees { worktrees } => worktrees,
        other => return Err(unexpected(other)),
    };
    if args.json {
        return super::print_json(&list);
    }
    if list.is_empty() {
        println!("no kept worktrees");
        return Ok(());
    }
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|w| {
            [
                w.name.clone(),
                w.branch.clone(),
                w.uncommitted.len().to_string(),
                w.untracked.len().to_string(),
                w.ahead.to_string(),
                w.path.clone(),
            ]
        })
        .collect();
    super::print_table(
        [
            "NAME",
            "BRANCH",
            "UNCOMMITTED",
            "UNTRACKED",
            "AHEAD",
            "PATH",
        ],
        &rows,
    );
    Ok(())
}
