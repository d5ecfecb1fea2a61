use crate::client::{Client, unexpected};
use rcd_proto::{Request, Response, Setting, SpawnMode};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Spawn mode of the next sessions: same-dir or worktree.
    Spawn {
        #[arg(value_parser = |s: &str| s.parse::<SpawnMode>())]
        mode: SpawnMode,
    },
    /// Most sessions running at once (running ones are never stopped).
    Capacity {
        #[arg(value_parser = clap::value_parser!(u32).range(1..))]
        n: u32,
    },
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    let setting = match args.what {
        What::Spawn { mode } => Setting::Spawn(mode),
        What::Capacity { n } => Setting::Capacity(n),
    };
    let mut c = Client::connect(socket)?;
    match c.call(&Request::Set(setting))? {
        Response::Ok => Ok(()),
        other => Err(unexpected(other)),
    }
}
