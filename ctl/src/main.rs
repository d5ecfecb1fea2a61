//! `rcctl`: the control client of rcd. One file per verb under `cmd/`.

mod client;
mod cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Control a running rcd: list, start, stop, type into and attach to its
/// sessions.
#[derive(Debug, Parser)]
#[command(name = "rcctl", version, about, long_about = None)]
struct Cli {
    /// The daemon's control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock,
    /// or ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset.
    #[arg(long, global = true, env = "RCD_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,

    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    /// Version, directory, spawn mode, capacity used/total, uptime.
    Status(cmd::Json),
    /// The sessions.
    List(cmd::Json),
    /// Start a session and print its name.
    New(cmd::new::Args),
    /// Stop a session; says whether its worktree was removed or kept.
    Stop(cmd::stop::Args),
    /// Type text into a session, then Enter.
    Send(cmd::send::Args),
    /// Print a session's current screen as plain text.
    Screen(cmd::screen::Args),
    /// Print the lines that scrolled off a session's screen.
    Transcript(cmd::transcript::Args),
    /// Attach this terminal to a session; Ctrl-] detaches.
    Attach(cmd::attach::Args),
    /// Worktrees that were kept because they hold work.
    Worktrees(cmd::Json),
    /// Remove kept worktrees that have since become clean.
    Prune(cmd::Json),
    /// Change a setting of the running daemon.
    Set(cmd::set::Args),
    /// Stop every session and the daemon, as SIGTERM does.
    Shutdown,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = client::socket_path(cli.socket).and_then(|socket| match cli.verb {
        Verb::Status(a) => cmd::status::run(&socket, a),
        Verb::List(a) => cmd::list::run(&socket, a),
        Verb::New(a) => cmd::new::run(&socket, a),
        Verb::Stop(a) => cmd::stop::run(&socket, a),
        Verb::Send(a) => cmd::send::run(&socket, a),
        Verb::Screen(a) => cmd::screen::run(&socket, a),
        Verb::Transcript(a) => cmd::transcript::run(&socket, a),
        Verb::Attach(a) => cmd::attach::run(&socket, a),
        Verb::Worktrees(a) => cmd::worktrees::run(&socket, a),
        Verb::Prune(a) => cmd::prune::run(&socket, a),
        Verb::Set(a) => cmd::set::run(&socket, a),
        Verb::Shutdown => cmd::shutdown::run(&socket),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = match client::daemon_error(&e) {
                Some(reply) => reply.message.clone(),
                None => format!("{e:#}"),
            };
            eprintln!("rcctl: {msg}");
            ExitCode::FAILURE
        }
    }
}
