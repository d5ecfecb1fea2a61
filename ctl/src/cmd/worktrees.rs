use crate::client::unexpected;
use rcd_proto::{Request, Response};
use std::path::Path;

pub fn run(socket: &Path, args: super::Json) -> anyhow::Result<()> {
    let list = match super::call(socket, &Request::Worktrees)? {
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
