//! `rcctl`: the control client of rcd. One file per verb under `cmd/`;
//! each asks a [`backend::Backend`]: the local control socket or a relay.
//! The device side of the session protocol is in `device/`.

mod backend;
mod cmd;
mod creds;
mod device;
mod files;
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
/// attach and status work there; pair gets the device token first and
/// keeps it, devices lists this account's devices, logout ends this one.
#[derive(Debug, Parser)]
#[command(
    name = "rcctl",
    version,
    about,
    long_about,
    after_help = "Remote use: rcctl --relay URL pair CODE keeps a device token for URL in \
                  $XDG_CONFIG_HOME/rcd/credentials.toml; then rcctl --relay URL VERB (or \
                  rcctl -R VERB, with one relay kept) works as locally. A session is NAME, \
                  or ENV/NAME when two environments have one of that name."
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

    /// Go through the relay this device was paired with, when only one is
    /// kept in the credentials file (rcctl pair), without naming its URL.
    #[arg(long, short = 'R', global = true)]
    remote: bool,

    /// This device's token for --relay (rcdev_…); wins over the one that
    /// `rcctl --relay URL pair CODE` kept. Prefer RCD_TOKEN: command lines
    /// are visible to other users.
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
    /// device's token, kept in $XDG_CONFIG_HOME/rcd/credentials.toml.
    Pair(cmd::pair::Args),
    /// This account's devices at the relay (those paired through the same
    /// machine enrollment); `rcctl devices revoke ID` ends one.
    Devices(cmd::devices::Args),
    /// Revoke this device's kept token at the relay and forget it (the
    /// only relay kept, or --relay URL).
    Logout(cmd::logout::Args),
    /// Print the shell completion script for SHELL (bash, zsh, fish,
    /// elvish, powershell), e.g. `rcctl completions bash >
    /// ~/.local/share/bash-completion/completions/rcctl`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: rcd_docgen::Shell,
    },
    /// Run rcd as a service of this user: systemd (Linux) or launchd
    /// (macOS). `install`, `uninstall`, `status`.
    Service(cmd::service::Args),
}

fn main() -> ExitCode {
    rcd_proto::cli::quiet_on_broken_pipe();
    if let Some(dir) = rcd_docgen::docs_requested() {
        return rcd_docgen::generate_main(Cli::command(), &dir);
    }
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
    let token_from = match matches.value_source("token") {
        Some(ValueSource::CommandLine) => backend::relay::TokenFrom::Flag,
        _ => backend::relay::TokenFrom::Env,
    };
    let failure = match (cli.verb, relay) {
        (Verb::Service(a), _) => cmd::service::run(a)
            .err()
            .map(|e| backend::local::message(&e)),
        // The hook runs inside a session, perhaps sandboxed: no socket, no
        // relay; it must never fail the agent.
        (Verb::Hook(a), _) => cmd::hook::run(a).err().map(|e| format!("{e:#}")),
        (Verb::Hooks(a), _) => cmd::hooks::run(a).err().map(|e| format!("{e:#}")),
        (Verb::Completions { shell }, _) => {
            rcd_docgen::completions(Cli::command(), shell, &mut std::io::stdout());
            None
        }
        (Verb::Logout(a), relay) => cmd::logout::run(a, relay, cli.ca_cert)
            .err()
            .map(|e| backend::relay::one_line(&format!("{e:#}"))),
        (verb, relay) => {
            let url = match (relay, cli.remote) {
                (Some(url), _) => Ok(Some(url)),
                (None, true) => creds::Store::load()
                    .and_then(|s| s.only().map(|(url, _)| url.to_string()))
                    .map(Some),
                (None, false) => Ok(None),
            };
            match url.and_then(|url| {
                url.map(|url| remote_options(url, cli.token, token_from, cli.ca_cert))
                    .transpose()
            }) {
                Err(e) => Some(backend::relay::one_line(&format!("{e:#}"))),
                Ok(opts) => {
                    let mut backend = match opts {
                        Some(opts) => Backend::Relay(backend::relay::RelayBackend::new(opts)),
                        None => Backend::Local(backend::local::Local::new(cli.socket)),
                    };
                    let failure = cmd::run(verb, &mut backend)
                        .err()
                        .map(|e| backend.describe(&e));
                    backend.close();
                    failure
                }
            }
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

/// The relay backend's options: `--token`/RCD_TOKEN when given, else the
/// token `rcctl pair` kept for `url`.
fn remote_options(
    url: String,
    token: Option<String>,
    token_from: backend::relay::TokenFrom,
    ca_cert: Option<PathBuf>,
) -> anyhow::Result<backend::relay::Options> {
    let token = token.filter(|t| !t.trim().is_empty());
    // A given token needs no file; an unreadable one is then no error.
    let store = match &token {
        Some(_) => creds::Store::load().ok(),
        None => Some(creds::Store::load()?),
    };
    let stored = store.as_ref().and_then(|s| s.get(&url));
    let (token, token_from, device) = match (token, stored) {
        (Some(t), stored) => {
            // The id is known when the given token is the kept one.
            let device = stored
                .filter(|e| e.token == t.trim())
                .map(|e| e.device.clone());
            (Some(t), token_from, device)
        }
        (None, Some(e)) => (
            Some(e.token.clone()),
            backend::relay::TokenFrom::Stored(
                store.as_ref().map(|s| s.path.clone()).unwrap_or_default(),
            ),
            Some(e.device.clone()),
        ),
        (None, None) => (None, token_from, None),
    };
    Ok(backend::relay::Options {
        url,
        token,
        token_from,
        device,
        ca_cert,
    })
}
