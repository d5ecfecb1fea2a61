use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print a JSON array of session objects.
    #[arg(long)]
    json: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let sessions = match c.call(&Request::List)? {
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
    super::print_table(["NAME", "STATE", "SPAWN", "BRANCH", "PID", "DIR"], &rows);
    Ok(())
}
