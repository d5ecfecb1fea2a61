use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response, SpawnMode};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Session name (letters, digits, '-', '_', '.'; at most 32).
    /// Default: a generated one such as brisk-otter.
    #[arg(long)]
    name: Option<String>,
    /// same-dir or worktree. Default: the daemon's current spawn mode.
    #[arg(long, value_name = "MODE", value_parser = |s: &str| s.parse::<SpawnMode>())]
    spawn: Option<SpawnMode>,
    /// Print the session as a JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let mut c = Client::connect(socket)?;
    let s = match c.call(&Request::New {
        name: args.name,
        spawn: args.spawn,
    })? {
        Response::Session(s) => s,
        other => return Err(unexpected(other)),
    };
    if args.json {
        return super::print_json(&s);
    }
    println!("{}", s.name);
    Ok(())
}
