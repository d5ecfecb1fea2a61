//! `rcctl new`: starts a session and prints its name; through a relay, in
//! the environment `--env` (or the only one).

use crate::backend::{Backend, NewSession};
use rcd_proto::SpawnMode;

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
    /// The program to run, by name, one of the machine's [programs]
    /// (`rcctl status` lists them). Default: its default program.
    #[arg(long, value_name = "NAME")]
    pub(crate) program: Option<String>,
    /// Print the session as a JSON object.
    #[arg(long)]
    pub(crate) json: bool,
    /// A command line to run instead of a program, after `--`, e.g.
    /// `rcctl new --name top -- htop -d 5`. Only on the machine itself,
    /// never through a relay.
    #[arg(last = true, value_name = "CMD ARGS", conflicts_with = "program")]
    pub(crate) command: Vec<String>,
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

pub fn run(backend: &mut Backend, args: Args) -> anyhow::Result<()> {
    let sandbox = args.sandbox_choice();
    let created = backend.create(NewSession {
        env: args.env,
        name: args.name,
        spawn: args.spawn,
        sandbox,
        program: args.program,
        command: (!args.command.is_empty()).then_some(args.command),
    })?;
    if args.json {
        return match &created.env {
            Some(env) => super::print_json(&super::list::session_json(env, &created.session)),
            None => super::print_json(&created.session),
        };
    }
    println!("{}", created.session.name);
    Ok(())
}
