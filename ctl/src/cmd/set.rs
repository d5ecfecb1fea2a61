//! `rcctl set`: changes a setting of the running daemon (on the machine
//! itself only).

use crate::backend::Backend;
use crate::backend::local::unexpected;
use rcd_proto::{Request, Response, Setting, SpawnMode};

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

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let local = backend.local("set")?;
    let setting = match args.what {
        What::Spawn { mode } => Setting::Spawn(mode),
        What::Capacity { n } => Setting::Capacity(n),
    };
    match local.call(&Request::Set(setting))? {
        Response::Ok => Ok(()),
        other => Err(unexpected(other)),
    }
}
