use crate::client::unexpected;
use rcd_proto::{Request, Response};
use std::path::Path;

pub fn run(socket: &Path, args: super::Json) -> anyhow::Result<()> {
    let sessions = match super::call(socket, &Request::List)? {
        Response::Sessions { sessions } => sessions,
        other => return Err(unexpected(other)),
    };
    if args.json {
        return super::print_json(&sessions);
    }
    if sessions.is_empty() {
        println!("no sessions (start one with `rcctl new`)");
        return Ok(());
    }
    let rows: Vec<_> = sessions.iter().map(super::session_row).collect();
    super::print_table(
        ["NAME", "STATE", "SPAWN", "SANDBOX", "BRANCH", "PID", "DIR"],
        &rows,
    );
    Ok(())
}
