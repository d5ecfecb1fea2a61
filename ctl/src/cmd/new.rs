use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response, SpawnMode};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Through a relay: the environment (a machine's rcd) to start the
    /// session in, by name or id, as `rcctl --relay URL list` shows it.
    /// Needed when the relay has more than one environment.
    #[arg(long, value_name = "ENV")]
    pub(crate) env: Option<String>,
    /// Session name (letters, digits, '-', '_', '.'; at most 32).
    /// Default: a generated one such as brisk-otter.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// same-dir or worktree. Default: the daemon's current spawn mode.
    #[arg(long, value_name = "MODE", value_parser = |s: &str| s.parse::<SpawnMode>())]
    pub(crate) spawn: Option<SpawnMode>,
    /// Print the session as a JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    if args.env.is_some() {
        anyhow::bail!(
            "--env chooses an environment on a relay: use it with --relay URL (or RCD_RELAY)"
        );
    }
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
