//! `rcctl`: the control client of rcd. One file per verb under `cmd/`;
//! each asks a [`backend::Backend`]: the local control socket or a relay.
//! The device side of the session protocol is in `device/`.

mod backend;
mod cmd;
mod device;
mod term;

use backend::Backend;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Control a running rcd: list, start, stop, type into and attach to its
/// sessions.
///
/// Locally rcctl talks to rcd over its control socket. With --relay URL
/// (or RCD_RELAY) it goes through an rc-relay instead, to the machines
/// paired with this device: list, new, stop, send, screen, transcript,
/// attach and status work there; pair gets the device token first.
#[derive(Debug, Parser)]
#[command(
    name = "rcctl",
    version,
    about,
    long_about,
    after_help = "Remote use: rcctl --relay URL pair CODE prints a device token; then \
                  export RCD_RELAY=URL RCD_TOKEN=TOKEN and use the verbs as locally. A \
                  session is NAME, or ENV/NAME when two environments have one of that name."
)]
struct Cli {
    /// The daemon's control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock,
    /// or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset.
    /// Given on the command line, it wins over RCD_RELAY.
    #[arg(long, global = true, env = "RCD_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,

    /// Go through the rc-relay at URL (https://…, or http:// on loopback)
    /// instead of the local socket.
    #[arg(long, global = true, env = "RCD_RELAY", value_name = "URL")]
    relay: Option<String>,

    /// This device's token for --relay (rcdev_…), as printed by
    /// `rcctl --relay URL pair CODE`. Prefer RCD_TOKEN: command lines are
    /// visible to other users.
    #[arg(
        long,
        global = true,
        env = "RCD_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,

    /// Also trust the CA certificate in FILE (PEM) for --relay, e.g. the
    /// self-made certificate of a relay.
    #[arg(long, global = true, env = "RCD_CA_CERT", value_name = "FILE")]
    ca_cert: Option<PathBuf>,

    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Version, directory, spawn mode, capacity used/total, uptime, relay
    /// link. Through a relay: whether it answers, and each environment.
    Status(cmd::Json),
    /// The sessions. Through a relay: of every environment, with ENV,
    /// MACHINE and ONLINE.
    List(cmd::Json),
    /// Start a session and print its name.
    New(cmd::new::Args),
    /// Stop a session; says whether its worktree was removed or kept.
    Stop(cmd::stop::Args),
    /// Type text into a session, then Enter.
    Send(cmd::send::Args),
    /// Print a session's current screen as plain text.
    Screen(cmd::screen::Args),
    /// Wait until a session needs a person (a bell, a notification, its
    /// program's end); exit status 1 when --timeout passes first.
    Wait(cmd::wait::Args),
    /// What a worktree session changed against its base (uncommitted and
    /// untracked files included); --stat for the counts, --uncommitted for
    /// what is not committed yet.
    Diff(cmd::diff::Args),
    /// Answer a coding agent's permission request in a session: allow or
    /// deny. The first answer wins (the phone's, the terminal's, this).
    Answer(cmd::answer::Args),
    /// Run by a coding agent as its hook (Claude Code, Codex): tells rcd
    /// that the session needs a person and, for a permission request,
    /// prints the answer given from anywhere. Outside rcd it does nothing.
    Hook(cmd::hook::Args),
    /// Set up (or remove) rcd's hooks in a coding agent's settings:
    /// `rcctl hooks install claude|codex`, `rcctl hooks uninstall …`.
    Hooks(cmd::hooks::Args),
    /// Print the lines that scrolled off a session's screen.
    Transcript(cmd::transcript::Args),
    /// Attach this terminal to a session; Ctrl-] detaches.
    Attach(cmd::attach::Args),
    /// Worktrees that were kept because they hold work (local only).
    Worktrees(cmd::Json),
    /// Remove kept worktrees that have since become clean (local only).
    Prune(cmd::Json),
    /// Change a setting of the running daemon (local only).
    Set(cmd::set::Args),
    /// Stop every session and the daemon, as SIGINT does (SIGTERM leaves
    /// the sessions running for the next rcd) (local only).
    Shutdown,
    /// With --relay: exchange a pairing code shown by rcd for this
    /// device's token.
    Pair(cmd::pair::Args),
    /// Run rcd as a service of this user: systemd (Linux) or launchd
    /// (macOS). `install`, `uninstall`, `status`.
    Service(cmd::service::Args),
}

fn main() -> ExitCode {
    rcd_proto::cli::quiet_on_broken_pipe();
    let matches = Cli::command().get_matches();
    let from_command_line = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    // --relay on the command line means remote; RCD_RELAY does unless
    // --socket was given on the command line.
    let remote = from_command_line("relay") || !from_command_line("socket");
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let relay = cli.relay.filter(|r| !r.trim().is_empty() && remote);
    let failure = match (cli.verb, relay) {
        (Verb::Service(a), _) => cmd::service::run(a)
            .err()
            .map(|e| backend::local::message(&e)),
        // The hook runs inside a session, perhaps sandboxed: no socket, no
        // relay; it must never fail the agent.
        (Verb::Hook(a), _) => cmd::hook::run(a).err().map(|e| format!("{e:#}")),
        (Verb::Hooks(a), _) => cmd::hooks::run(a).err().map(|e| format!("{e:#}")),
        (verb, relay) => {
            let mut backend = match relay {
                Some(url) => {
                    Backend::Relay(backend::relay::RelayBackend::new(backend::relay::Options {
                        url,
                        token: cli.token,
                        ca_cert: cli.ca_cert,
                    }))
                }
                None => Backend::Local(backend::local::Local::new(cli.socket)),
            };
            let failure = cmd::run(verb, &mut backend)
                .err()
                .map(|e| backend.describe(&e));
            backend.close();
            failure
        }
    };
    match failure {
        None => ExitCode::SUCCESS,
        Some(msg) => {
            eprintln!("rcctl: {msg}");
            ExitCode::FAILURE
        }
    }
}
