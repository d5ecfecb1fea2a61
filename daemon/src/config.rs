//! Command line and environment (`RCD_*`), resolved into a [`Config`].

use anyhow::{Context, Result, bail};
use clap::Parser;
use rcd_proto::SpawnMode;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default most sessions at once.
pub const DEFAULT_CAPACITY: u32 = 32;
/// Largest accepted capacity.
pub const MAX_CAPACITY: u32 = 1024;
/// Default time between SIGHUP and SIGKILL on stop.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// rcd: runs shell and coding-agent sessions in pseudo-terminals and lets
/// you drive them with rcctl.
#[derive(Debug, Clone, Parser)]
#[command(name = "rcd", version, about, long_about = None)]
pub struct Cli {
    /// Shared directory: sessions start here (same-dir) or in worktrees of
    /// the git repository here (worktree). Default: the current directory.
    #[arg(long, env = "RCD_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Name of this environment, shown to clients. Default: the host name.
    #[arg(long, env = "RCD_NAME", value_name = "NAME")]
    pub name: Option<String>,

    /// Where new sessions start: same-dir (the shared directory) or
    /// worktree (a new git worktree on branch rcd/<session>).
    #[arg(long, env = "RCD_SPAWN", value_name = "MODE", default_value = "same-dir",
          value_parser = parse_spawn)]
    pub spawn: SpawnMode,

    /// Most sessions running at once; one more is refused.
    #[arg(long, env = "RCD_CAPACITY", value_name = "N", default_value_t = DEFAULT_CAPACITY,
          value_parser = clap::value_parser!(u32).range(1..=MAX_CAPACITY as i64))]
    pub capacity: u32,

    /// The program each session runs, split into shell words, e.g.
    /// "claude --verbose". Default: your login shell.
    #[arg(long, env = "RCD_COMMAND", value_name = "CMD ARGS")]
    pub command: Option<String>,

    /// Control socket. Default: $XDG_RUNTIME_DIR/rcd/rcd.sock, or
    /// ~/.local/state/rcd/rcd.sock where XDG_RUNTIME_DIR is unset.
    #[arg(long, env = "RCD_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// State directory: state file, transcripts and worktrees. Default:
    /// $XDG_STATE_HOME/rcd or ~/.local/state/rcd.
    #[arg(long, env = "RCD_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Local only: no relay link (the only mode of this version).
    #[arg(long, env = "RCD_NO_RELAY")]
    pub no_relay: bool,

    /// Seconds between SIGHUP and SIGKILL when a session is stopped.
    #[arg(long, env = "RCD_STOP_GRACE", value_name = "SECS", default_value_t = DEFAULT_GRACE.as_secs_f64())]
    pub stop_grace: f64,

    /// Connection and session detail in the log (RUST_LOG overrides).
    #[arg(short, long)]
    pub verbose: bool,
}

fn parse_spawn(s: &str) -> Result<SpawnMode, String> {
    s.parse()
}

/// Everything the daemon needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub name: String,
    pub machine: String,
    pub spawn: SpawnMode,
    pub capacity: u32,
    pub command: Vec<String>,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub stop_grace: Duration,
    /// Whether `socket` is the default path (its directory is ours).
    pub default_socket: bool,
}

impl Config {
    /// Resolves defaults and checks what can be checked before start.
    pub fn from_cli(cli: Cli) -> Result<Self> {
        let dir = match cli.dir {
            Some(d) => d,
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        let dir = dir
            .canonicalize()
            .with_context(|| format!("--dir {}: no such directory", dir.display()))?;
        if !dir.is_dir() {
            bail!("--dir {} is not a directory", dir.display());
        }
        let machine = hostname();
        let name = match cli.name {
            Some(n) if n.trim().is_empty() => bail!("--name must not be empty"),
            Some(n) if n.chars().any(char::is_control) || n.len() > 64 => {
                bail!("--name {n:?}: use at most 64 printable characters")
            }
            Some(n) => n,
            None => machine.clone(),
        };
        let command = match cli.command {
            Some(c) => {
                let words = shell_words::split(&c)
                    .with_context(|| format!("--command {c:?}: unbalanced quotes"))?;
                if words.is_empty() {
                    bail!("--command is empty: give a program, e.g. --command bash");
                }
                words
            }
            None => vec![login_shell()],
        };
        if !(0.0..=3600.0).contains(&cli.stop_grace) || cli.stop_grace.is_nan() {
            bail!("--stop-grace {}: give 0 to 3600 seconds", cli.stop_grace);
        }
        let state_dir = match cli.state_dir {
            Some(d) => absolute(&d)?,
            None => default_state_dir()?,
        };
        let (socket, default_socket) = match cli.socket {
            Some(s) => (absolute(&s)?, false),
            None => (
                rcd_proto::paths::default_socket().context(
                    "cannot find a place for the control socket: set RCD_SOCKET or --socket",
                )?,
                true,
            ),
        };
        Ok(Self {
            dir,
            name,
            machine,
            spawn: cli.spawn,
            capacity: cli.capacity,
            command,
            socket,
            state_dir,
            stop_grace: Duration::from_secs_f64(cli.stop_grace),
            default_socket,
        })
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()
            .context("cannot read the current directory")?
            .join(p))
    }
}

/// `$XDG_STATE_HOME/rcd`, else `~/.local/state/rcd`.
pub fn default_state_dir() -> Result<PathBuf> {
    rcd_proto::paths::default_state_dir()
        .context("cannot find a state directory: set HOME, XDG_STATE_HOME or --state-dir")
}

/// The machine's host name.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The user's login shell: `$SHELL`, else the password database, else sh.
pub fn login_shell() -> String {
    if let Ok(s) = std::env::var("SHELL")
        && !s.is_empty()
    {
        return s;
    }
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.shell.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".to_string())
}
