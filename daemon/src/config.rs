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
    /// Configuration file (TOML). Default: $XDG_CONFIG_HOME/rcd/config.toml
    /// (~/.config/rcd/config.toml), read if it exists. Command line and
    /// RCD_* environment win over the file. docs/CONFIG.md lists the keys.
    #[arg(long, env = "RCD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

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

    /// Local only: no relay link, no embedded relay.
    #[arg(long, env = "RCD_NO_RELAY", conflicts_with = "relay")]
    pub no_relay: bool,

    /// The relay to register with, e.g. https://relay.example.com
    /// (http:// only on loopback). The link only dials out. Without --relay (and without --no-relay) rcd
    /// runs a relay of its own on --listen.
    #[arg(long, env = "RCD_RELAY", value_name = "URL")]
    pub relay: Option<String>,

    /// File holding the relay's enrollment token (rc-relay token create).
    /// The token may instead be given in RCD_TOKEN.
    #[arg(long, env = "RCD_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// Extra CA certificate (PEM) to trust for the relay, for a relay with
    /// a self-made certificate.
    #[arg(long, env = "RCD_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Address of the embedded relay (used when no --relay is given).
    #[arg(
        long,
        env = "RCD_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:7878"
    )]
    pub listen: std::net::SocketAddr,

    /// After this much awake time without the relay, stop the sessions
    /// (worktree rule applies) and exit with status 75, e.g. 10m, 90s.
    #[arg(long, env = "RCD_OUTAGE_TIMEOUT", value_name = "DURATION", default_value = "10m",
          value_parser = parse_duration)]
    pub outage_timeout: Duration,

    /// Seconds between SIGHUP and SIGKILL when a session is stopped.
    #[arg(long, env = "RCD_STOP_GRACE", value_name = "SECS", default_value_t = DEFAULT_GRACE.as_secs_f64())]
    pub stop_grace: f64,

    /// Connection and session detail in the log (RUST_LOG overrides).
    #[arg(short, long)]
    pub verbose: bool,

    /// Print the shell completion script for SHELL (bash, zsh, fish,
    /// elvish, powershell) and exit, e.g. `rcd --completions bash >
    /// ~/.local/share/bash-completion/completions/rcd`.
    #[arg(long, value_name = "SHELL")]
    pub completions: Option<rcd_docgen::Shell>,

    /// Post a notification to this http(s) URL whenever a session starts
    /// to need you (a bell, a desktop notification, its program's end):
    /// for ntfy, Gotify, Home Assistant or a chat webhook.
    #[arg(long, env = "RCD_NOTIFY_URL", value_name = "URL")]
    pub notify_url: Option<String>,

    /// What --notify-url gets: json (`{env, machine, session, kind,
    /// message, url}`) or ntfy (its own headers: title, message, click).
    #[arg(long, env = "RCD_NOTIFY_FORMAT", value_name = "json|ntfy", default_value = "json",
          value_parser = parse_notify_format)]
    pub notify_format: NotifyFormat,

    // ---- The sandbox (README "Sandbox", daemon/src/sandbox.rs) ----
    /// Confine every session: it may write only to its own directory (the
    /// worktree, or the shared directory), a private TMPDIR and the
    /// --sandbox-writable paths; its network is --sandbox-network. A
    /// kernel that cannot enforce this makes rcd refuse the session.
    /// `rcctl new --no-sandbox` overrides it per session.
    #[arg(long, env = "RCD_SANDBOX")]
    pub sandbox: bool,

    /// Do not confine sessions (the default); wins over --sandbox and
    /// RCD_SANDBOX. `rcctl new --sandbox` still confines one.
    #[arg(long)]
    pub no_sandbox: bool,

    /// Another path a sandboxed session may write to, e.g. an agent's
    /// settings directory (repeat it; RCD_SANDBOX_WRITABLE takes a
    /// colon-separated list).
    #[arg(
        long,
        env = "RCD_SANDBOX_WRITABLE",
        value_name = "PATH",
        value_delimiter = ':'
    )]
    pub sandbox_writable: Vec<PathBuf>,

    /// Network of sandboxed sessions: allow, off (none at all), or TCP
    /// ports they may connect to, e.g. 443,22 (needs Landlock ABI 4,
    /// Linux 6.7).
    #[arg(long, env = "RCD_SANDBOX_NETWORK", value_name = "off|allow|PORTS",
          default_value = "allow", value_parser = parse_network)]
    pub sandbox_network: crate::sandbox::Network,
    // ---- end of the sandbox ----

    // ---- Transcripts (daemon/src/transcripts.rs) ----
    /// Most disk one session's transcript may take, e.g. 256MiB, 1G (0:
    /// no limit). Past it the oldest lines are dropped a segment at a
    /// time, and a line says how many.
    #[arg(long, env = "RCD_TRANSCRIPT_MAX", value_name = "SIZE", default_value = "256MiB",
          value_parser = crate::transcripts::parse_size)]
    pub transcript_max: u64,

    /// Days the transcript of an ended session is kept (0: for ever).
    #[arg(long, env = "RCD_TRANSCRIPT_DAYS", value_name = "N", default_value_t = crate::transcripts::DEFAULT_DAYS)]
    pub transcript_days: u32,

    /// Size at which a transcript's newest segment is closed and
    /// compressed (docs/CONFIG.md).
    #[arg(long, env = "RCD_TRANSCRIPT_SEGMENT", value_name = "SIZE", default_value = "4MiB",
          value_parser = crate::transcripts::parse_size, hide = true)]
    pub transcript_segment: u64,
    // ---- end of transcripts ----
}

/// The body `--notify-url` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFormat {
    Json,
    Ntfy,
}

pub(crate) fn parse_notify_format(s: &str) -> Result<NotifyFormat, String> {
    match s {
        "json" => Ok(NotifyFormat::Json),
        "ntfy" => Ok(NotifyFormat::Ntfy),
        other => Err(format!("{other:?} is not a format: give json or ntfy")),
    }
}

/// Where notifications go (`--notify-url`).
#[derive(Debug, Clone)]
pub struct Notify {
    pub url: String,
    pub format: NotifyFormat,
}

fn parse_network(s: &str) -> Result<crate::sandbox::Network, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e}: give e.g. 10m, 90s or 1h"))
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
    pub relay: RelayMode,
    pub outage_timeout: Duration,
    /// The program the keeper runs as (see `crate::keeper`): this rcd's
    /// own binary, as it was when started (`/proc/self/exe` on Linux, so
    /// a binary replaced on disk since does not matter).
    pub keeper_exe: PathBuf,

    // ---- The sandbox ----
    /// `--sandbox`, `--sandbox-writable`, `--sandbox-network`.
    pub sandbox: crate::sandbox::Policy,
    /// `--notify-url` and its format.
    pub notify: Option<Notify>,
    // ---- end of the sandbox ----
    /// `--transcript-max`, `--transcript-days`, `--transcript-segment`.
    pub transcripts: crate::transcripts::Policy,
}

/// Where the link goes.
#[derive(Clone)]
pub enum RelayMode {
    /// `--no-relay`.
    Off,
    /// `--relay URL` with an enrollment token.
    Remote {
        url: String,
        token: rcd_proto::relay::Secret,
        ca_cert: Option<PathBuf>,
    },
    /// A relay inside rcd on `listen` (the default).
    Embedded { listen: std::net::SocketAddr },
}

impl std::fmt::Debug for RelayMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RelayMode::Off => f.write_str("Off"),
            RelayMode::Remote { url, ca_cert, .. } => f
                .debug_struct("Remote")
                .field("url", url)
                .field("ca_cert", ca_cert)
                .finish_non_exhaustive(),
            RelayMode::Embedded { listen } => {
                f.debug_struct("Embedded").field("listen", listen).finish()
            }
        }
    }
}

/// Refuses, before anything is sent, a token that by its prefix is not an
/// enrollment token, naming what it is and what rcd needs instead.
fn check_enrollment_kind(token: &str, file: Option<&Path>) -> Result<()> {
    use rcd_proto::token::SecretKind;
    let Some(kind) = SecretKind::of(token).filter(|k| *k != SecretKind::Enrollment) else {
        return Ok(());
    };
    let source = match file {
        Some(f) => format!("--token-file {}", f.display()),
        None => "RCD_TOKEN".to_string(),
    };
    let what = match kind {
        SecretKind::Device => "which is rcctl's or a browser's, from pairing",
        _ => "which rcd gets from the relay itself",
    };
    bail!(
        "{source} holds {}, {what}; rcd --relay needs an enrollment token ({}…): make one on \
         the relay with `rc-relay token create`",
        kind.describe(),
        SecretKind::Enrollment.prefix()
    )
}

/// This process's binary, for the keeper.
fn own_exe() -> PathBuf {
    if cfg!(target_os = "linux") {
        PathBuf::from("/proc/self/exe")
    } else {
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("rcd"))
    }
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
            Some(n) if !rcd_proto::name::printable(&n) || n.len() > 64 => {
                bail!(
                    "--name {n:?}: use at most 64 printable characters (no control, \
                     bidirectional or invisible ones)"
                )
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
        let relay = if cli.no_relay {
            RelayMode::Off
        } else if let Some(url) = cli.relay {
            let token = match (&cli.token_file, std::env::var("RCD_TOKEN")) {
                (Some(f), _) => {
                    warn_if_shared(f, "--token-file", "chmod 600");
                    std::fs::read_to_string(f)
                        .with_context(|| format!("cannot read --token-file {}", f.display()))?
                }
                (None, Ok(t)) => t,
                (None, Err(_)) => bail!(
                    "--relay needs an enrollment token: --token-file FILE or RCD_TOKEN \
                     (make one on the relay with `rc-relay token create`)"
                ),
            };
            let token = token.trim().to_string();
            if token.is_empty() {
                bail!("the enrollment token is empty");
            }
            check_enrollment_kind(&token, cli.token_file.as_deref())?;
            rcd_net::check_url(url.trim_end_matches('/'))
                .map_err(|e| anyhow::anyhow!("--relay: {e}"))?;
            RelayMode::Remote {
                url,
                token: rcd_proto::relay::Secret(token),
                ca_cert: cli.ca_cert.clone(),
            }
        } else {
            RelayMode::Embedded { listen: cli.listen }
        };
        if cli.outage_timeout.is_zero() {
            bail!("--outage-timeout must be more than zero");
        }
        // ---- The sandbox ----
        let mut sandbox_writable = Vec::new();
        for p in &cli.sandbox_writable {
            if p.as_os_str().is_empty() {
                continue;
            }
            sandbox_writable.push(absolute(p)?);
        }
        let sandbox = crate::sandbox::Policy {
            enabled: cli.sandbox && !cli.no_sandbox,
            writable: sandbox_writable,
            network: cli.sandbox_network.clone(),
            // The enrollment token must not be readable from inside.
            secret_files: match (&relay, &cli.token_file) {
                (RelayMode::Remote { .. }, Some(f)) => {
                    vec![f.canonicalize().unwrap_or_else(|_| f.clone())]
                }
                _ => Vec::new(),
            },
        };
        // ---- end of the sandbox ----
        let notify = match cli.notify_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| anyhow::anyhow!("--notify-url {url:?}: {e}"))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    bail!("--notify-url {url:?}: give an http:// or https:// URL");
                }
                Some(Notify {
                    url: url.to_string(),
                    format: cli.notify_format,
                })
            }
        };
        Ok(Self {
            transcripts: crate::transcripts::Policy {
                max: cli.transcript_max,
                days: cli.transcript_days,
                segment: cli.transcript_segment,
            },
            sandbox,
            notify,
            relay,
            outage_timeout: cli.outage_timeout,
            keeper_exe: own_exe(),
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
/// Warns on stderr when other users may read `path` (a secret, or a
/// directory of private files): what it is, and the command that fixes it.
pub fn warn_if_shared(path: &Path, what: &str, fix: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "rcd: warning: {what} {} can be read by other users (mode {:o}); run: {fix} {}",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        );
    }
}

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
