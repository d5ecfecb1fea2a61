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
    /// Confine this session (writes only to its directory, its TMPDIR and
    /// rcd's --sandbox-writable paths; network as --sandbox-network), even
    /// when rcd runs without --sandbox.
    #[arg(long, conflicts_with = "no_sandbox")]
    pub(crate) sandbox: bool,
    /// Do not confine this session, even when rcd runs with --sandbox.
    #[arg(long)]
    pub(crate) no_sandbox: bool,
    /// Print the session as a JSON object.
    #[arg(long)]
    pub(crate) json: bool,
}

impl Args {
    /// `--sandbox` / `--no-sandbox`, or `None` for the daemon's default.
    pub(crate) fn sandbox_choice(&self) -> Option<bool> {
        match (self.sandbox, self.no_sandbox) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

pub fn run(socket: &Path, args: Args) -> anyhow::Result<()> {
    if args.env.is_some() {
        anyhow::bail!(
            "--env chooses an environment on a relay: use it with --relay URL (or RCD_RELAY)"
        );
    }
    let sandbox = args.sandbox_choice();
    let mut c = Client::connect(socket)?;
    let s = match c.call(&Request::New {
        name: args.name,
        spawn: args.spawn,
        sandbox,
    })? {
        Response::Session(s) => s,
        other => return Err(unexpected(other)),
    };
    if sandbox == Some(true) && !s.sandboxed {
        // A daemon too old to know the field would have started it
        // unconfined: never leave that running as if it were confined.
        let _ = c.call(&Request::Stop {
            name: s.name.clone(),
            force: false,
        });
        anyhow::bail!(
            "rcd started {} without a sandbox (it is older than this rcctl and has none), so \
             it was stopped again: upgrade rcd",
            s.name
        );
    }
    if args.json {
        return super::print_json(&s);
    }
    println!("{}", s.name);
    Ok(())
}
