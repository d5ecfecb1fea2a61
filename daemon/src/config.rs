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

    /// The default program's command line, split into shell words, e.g.
    /// "claude --verbose" (with no --program, the one program sessions
    /// run). Default: your login shell.
    #[arg(long, env = "RCD_COMMAND", value_name = "CMD ARGS")]
    pub command: Option<String>,

    /// A program sessions may run, as NAME=COMMAND (repeat it), e.g.
    /// --program claude=claude --program "codex=codex --full-auto"
    /// --program shell= (empty: your login shell). `rcctl new --program
    /// NAME` and devices choose among them. Replaces config.toml's
    /// [programs].
    #[arg(long = "program", value_name = "NAME=COMMAND")]
    pub program: Vec<String>,

    /// The program of a session that names none (one of --program).
    #[arg(long, env = "RCD_DEFAULT_PROGRAM", value_name = "NAME")]
    pub default_program: Option<String>,

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
    /// The programs sessions may run, and the default one.
    pub programs: Programs,
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
        let programs = Programs::resolve(
            &cli.program,
            cli.default_program.as_deref(),
            cli.command.as_deref(),
        )?;
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
            programs,
            socket,
            state_dir,
            stop_grace: Duration::from_secs_f64(cli.stop_grace),
            default_socket,
        })
    }
}

/// One program sessions may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Its name (a key of `[programs]`).
    pub name: String,
    /// Its command line, word by word (the login shell for `""`).
    pub command: Vec<String>,
}

/// The programs sessions may run (`[programs]`, `--program`), sorted by
/// name, and the one a session runs when it names none. There is always
/// at least that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programs {
    list: Vec<Program>,
    default: String,
}

/// The key of `[programs]` that names the default instead of a program.
pub const DEFAULT_KEY: &str = "default";

impl Programs {
    /// Resolves `--program NAME=COMMAND` entries (or config.toml's
    /// `[programs]`, turned into such entries), the default's name and
    /// `--command`, which is the default program's command line: with no
    /// programs it makes the one program (named after its command, or
    /// `shell` for the login shell), else it replaces the default's.
    pub fn resolve(
        entries: &[String],
        default: Option<&str>,
        command: Option<&str>,
    ) -> Result<Self> {
        let mut list: Vec<Program> = Vec::new();
        for e in entries {
            let Some((name, line)) = e.split_once('=') else {
                bail!(
                    "--program {e:?}: give NAME=COMMAND, e.g. --program claude=claude \
                     (an empty COMMAND is your login shell)"
                );
            };
            let name = name.trim();
            rcd_proto::name::check_program(name).map_err(|m| anyhow::anyhow!("--program {m}"))?;
            if name == DEFAULT_KEY {
                bail!(
                    "--program default=…: \"default\" names the default program \
                     (--default-program NAME), it cannot be a program"
                );
            }
            if list.iter().any(|p| p.name == name) {
                bail!("--program {name} is given twice: give each program once");
            }
            list.push(Program {
                name: name.to_string(),
                command: words(line, &format!("program {name}"))?,
            });
        }
        let command = command
            .map(|c| {
                let w = words(c, "--command")?;
                if c.trim().is_empty() {
                    bail!("--command is empty: give a program, e.g. --command bash");
                }
                Ok(w)
            })
            .transpose()?;
        let names = |list: &[Program]| {
            list.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let default = match default {
            Some(d) => {
                rcd_proto::name::check_program(d)
                    .map_err(|m| anyhow::anyhow!("--default-program {m}"))?;
                if !list.iter().any(|p| p.name == d) && command.is_none() {
                    if list.is_empty() {
                        bail!(
                            "the default program {d:?} is not configured: add it to [programs] \
                             (or --program {d}=COMMAND)"
                        );
                    }
                    bail!(
                        "the default program {d:?} is not one of the programs ({}): name one \
                         of them, or add it to [programs]",
                        names(&list)
                    );
                }
                d.to_string()
            }
            None => match (list.as_slice(), &command) {
                ([only], None) => only.name.clone(),
                (_, Some(c)) => named_after(c),
                ([], None) => "shell".to_string(),
                (_, None) => bail!(
                    "[programs] names several programs ({}): say which one a session runs \
                     when it names none, with default = \"NAME\" (or --default-program NAME)",
                    names(&list)
                ),
            },
        };
        match list.iter_mut().find(|p| p.name == default) {
            Some(p) => {
                if let Some(c) = command {
                    p.command = c;
                }
            }
            None => list.push(Program {
                name: default.clone(),
                command: command.unwrap_or_else(|| vec![login_shell()]),
            }),
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self { list, default })
    }

    /// A program by name.
    pub fn get(&self, name: &str) -> Option<&Program> {
        self.list.iter().find(|p| p.name == name)
    }

    /// The program of a session that names none.
    pub fn default_program(&self) -> &Program {
        self.get(&self.default)
            .expect("the default is always one of the programs")
    }

    /// Every program's name, sorted.
    pub fn names(&self) -> Vec<String> {
        self.list.iter().map(|p| p.name.clone()).collect()
    }

    /// Every program.
    pub fn list(&self) -> &[Program] {
        &self.list
    }
}

/// A command line in words; empty (or only spaces) is the login shell.
fn words(line: &str, what: &str) -> Result<Vec<String>> {
    let w =
        shell_words::split(line).with_context(|| format!("{what} {line:?}: unbalanced quotes"))?;
    Ok(if w.is_empty() { vec![login_shell()] } else { w })
}

/// The name of the one program `--command` makes: its program's file
/// name (`claude` for `/usr/bin/claude --verbose`), else `command`.
fn named_after(command: &[String]) -> String {
    let base = command
        .first()
        .and_then(|w| Path::new(w).file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    if rcd_proto::name::check_program(&base).is_ok() && base != DEFAULT_KEY {
        base
    } else {
        "command".to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(e: &[&str]) -> Vec<String> {
        e.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn without_programs_the_command_is_the_one_program() {
        let p = Programs::resolve(&[], None, Some("/usr/bin/claude --verbose")).unwrap();
        assert_eq!(p.names(), ["claude"]);
        assert_eq!(
            p.default_program().command,
            ["/usr/bin/claude", "--verbose"]
        );
        let p = Programs::resolve(&[], None, None).unwrap();
        assert_eq!(p.names(), ["shell"]);
        assert_eq!(p.default_program().command, [login_shell()]);
    }

    #[test]
    fn programs_with_a_default_and_the_command_as_its_shorthand() {
        let e = entries(&["claude=claude", "codex=codex --full-auto", "shell="]);
        let p = Programs::resolve(&e, Some("codex"), None).unwrap();
        assert_eq!(p.names(), ["claude", "codex", "shell"]);
        assert_eq!(p.default_program().name, "codex");
        assert_eq!(p.get("codex").unwrap().command, ["codex", "--full-auto"]);
        assert_eq!(p.get("shell").unwrap().command, [login_shell()]);
        let p = Programs::resolve(&e, Some("codex"), Some("codex --model o3")).unwrap();
        assert_eq!(p.get("codex").unwrap().command, ["codex", "--model", "o3"]);
        assert_eq!(p.get("claude").unwrap().command, ["claude"]);
        // One program is its own default.
        let p = Programs::resolve(&entries(&["claude=claude"]), None, None).unwrap();
        assert_eq!(p.default_program().name, "claude");
    }

    #[test]
    fn bad_programs_are_refused_with_what_to_do() {
        let e = entries(&["claude=claude", "shell="]);
        let m = Programs::resolve(&e, None, None).unwrap_err().to_string();
        assert!(
            m.contains("claude, shell") && m.contains("default = "),
            "{m}"
        );
        let m = Programs::resolve(&e, Some("codex"), None)
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("\"codex\"") && m.contains("claude, shell"),
            "{m}"
        );
        for bad in ["claude", "-x=y", "a b=c", "default=sh", "x='open"] {
            assert!(
                Programs::resolve(&entries(&[bad]), None, None).is_err(),
                "{bad}"
            );
        }
        assert!(Programs::resolve(&entries(&["a=x", "a=y"]), None, None).is_err());
        assert!(Programs::resolve(&[], None, Some("  ")).is_err());
    }
}
