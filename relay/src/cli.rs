//! The `rc-relay` command line: `serve`, `token create|list|revoke`,
//! `device list|revoke`, `cert create`, `completions SHELL`. `main` parses, sets up logging and calls [`run`].

use crate::options::RelayOptions;
use crate::state::Relay;
use crate::store::{FileStore, RedisStore, Store, TokenKind, TokenRecord, create_token};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// rc-relay: the relay between rcd machines and your devices.
#[derive(Debug, Parser)]
#[command(name = "rc-relay", version)]
pub struct Cli {
    /// Configuration file (TOML): long options as keys, e.g. `redis =
    /// "redis://…"`, `listen = "0.0.0.0:443"`; the command line and the
    /// environment win over it [default:
    /// $XDG_CONFIG_HOME/rc-relay/config.toml, read if it exists].
    #[arg(long, global = true, value_name = "FILE", env = "RC_RELAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where tokens are kept [default: $XDG_DATA_HOME/rc-relay, else
    /// ~/.local/share/rc-relay].
    #[arg(long, global = true, value_name = "DIR", env = "RC_RELAY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep tokens, environments and work in this Redis (7 or newer)
    /// instead of the data directory, e.g. redis://127.0.0.1:6379/0 (a
    /// password as redis://:PASSWORD@HOST:PORT/DB).
    #[arg(long, global = true, value_name = "URL", env = "RC_RELAY_REDIS")]
    pub redis: Option<String>,
    /// Debug logging (RUST_LOG overrides).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay.
    Serve(Box<ServeArgs>),
    /// Enrollment tokens (held by machines running rcd).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Device tokens (made by pairing).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Print the shell completion script for SHELL (bash, zsh, fish,
    /// elvish, powershell), e.g. `rc-relay completions bash >
    /// ~/.local/share/bash-completion/completions/rc-relay`.
    Completions {
        #[arg(value_name = "SHELL")]
        shell: rcd_docgen::Shell,
    },
    /// TLS certificates for `serve --tls-cert/--tls-key`.
    #[command(subcommand)]
    Cert(CertCommand),
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Make a self-signed server certificate and key for the names clients
    /// use in the relay's URL, and say how to serve with it and how rcd and
    /// rcctl trust it (--ca-cert).
    Create {
        /// A host name or IP address of the relay, as in its URL (repeat for
        /// more: --name relay.example.com --name 192.0.2.7).
        #[arg(long = "name", value_name = "HOST", required = true)]
        names: Vec<String>,
        /// Where to write cert.pem and key.pem.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// How many days the certificate is valid.
        #[arg(long, value_name = "N", default_value_t = crate::cert::DEFAULT_DAYS)]
        days: u32,
        /// Replace cert.pem and key.pem if they exist.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:443 or 127.0.0.1:0 (any free
    /// port; the first line on stdout says which).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key). `rc-relay cert
    /// create` makes one.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "acme"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate for HOST obtained (and renewed) by
    /// ACME, e.g. from Let's Encrypt; repeat for more names. HOST must
    /// resolve to this relay and the CA must reach --listen's port (443).
    /// The account and certificate are kept in the data directory.
    #[arg(long = "acme", value_name = "HOST", requires = "acme_email")]
    pub acme: Vec<String>,
    /// The e-mail address of the ACME account (the CA writes there about
    /// expiring certificates).
    #[arg(long, value_name = "ADDR", requires = "acme")]
    pub acme_email: Option<String>,
    /// The ACME directory URL [default: Let's Encrypt's production
    /// directory].
    #[arg(long, value_name = "URL", requires = "acme")]
    pub acme_directory: Option<String>,
    /// A PEM certificate to trust when talking to the ACME server (a test
    /// CA's own HTTPS certificate), beyond the public roots.
    #[arg(long, value_name = "FILE", requires = "acme")]
    pub acme_ca_cert: Option<PathBuf>,
    /// Lifetime of environment and session credentials, in seconds.
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = secs)]
    pub credential_ttl: Duration,
    /// Heartbeat interval told to daemons, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = secs)]
    pub heartbeat_interval: Duration,
    /// An environment is offline after this long without a heartbeat
    /// [default: 3 heartbeat intervals].
    #[arg(long, value_name = "SECS", value_parser = secs)]
    pub offline_after: Option<Duration>,
    /// An environment is dropped from every list after this long without a
    /// heartbeat.
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = secs)]
    pub forget_after: Duration,
    /// Longest a daemon's work poll is held open.
    #[arg(long, value_name = "SECS", default_value = "25", value_parser = secs)]
    pub poll_timeout: Duration,
    /// How long a device waits for a daemon to create or stop a session.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = secs)]
    pub work_timeout: Duration,
    /// Ping interval on session links and attach sockets; two missed
    /// pongs close one.
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = secs)]
    pub ping_interval: Duration,
    /// How long a client has to finish its TLS handshake and to send each
    /// request's header (also how long a kept-alive connection may sit
    /// idle); a slower one is closed.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = secs)]
    pub header_timeout: Duration,
    /// Most connections open at once (HTTP and WebSocket); beyond it new
    /// ones are refused, with a warning in the log. Keep it below the
    /// process's open-file limit (LimitNOFILE= in systemd).
    #[arg(long, value_name = "N", default_value_t = crate::options::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Who runs this relay, for the push services that deliver its
    /// notifications (the VAPID `sub` claim): a `mailto:` or `https:` URL.
    /// Some push services refuse pushes without a real one.
    #[arg(long, value_name = "URL", default_value = crate::options::DEFAULT_PUSH_CONTACT, value_parser = push_contact)]
    pub push_contact: String,
}

/// A `mailto:` or `https:` URL.
fn push_contact(s: &str) -> Result<String, String> {
    let ok = (s.starts_with("mailto:") || s.starts_with("https://"))
        && s.len() <= 256
        && s.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?}: give a mailto: or https: URL"))
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make an enrollment token; it is printed once, on stdout.
    Create {
        /// A name to recognise it by, e.g. the machine's.
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List enrollment tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke an enrollment token, with every device token it owns; a
    /// running relay drops its machines within seconds.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List device tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device token; its open sessions are closed.
    Revoke { id: String },
}

/// Seconds, whole or not (`0.5`).
fn secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v <= 0.0 || v > 1e9 {
        return Err(format!("{s:?}: give a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// The default data directory.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        if d.is_absolute() {
            return Ok(d.join("rc-relay"));
        }
    }
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".local/share/rc-relay")),
        _ => bail!("cannot find a data directory: HOME is not set; give --data-dir DIR"),
    }
}

/// The store a command works on: the data directory's, or Redis.
enum Opened {
    File(Arc<FileStore>),
    Redis(RedisStore),
}

impl Opened {
    fn store(&self) -> &dyn Store {
        match self {
            Opened::File(f) => &**f,
            Opened::Redis(r) => r,
        }
    }

    fn shared(&self) -> Arc<dyn Store> {
        match self {
            Opened::File(f) => f.clone(),
            Opened::Redis(r) => Arc::new(r.clone()),
        }
    }

    /// Where the tokens are kept, for messages.
    fn place(&self) -> String {
        match self {
            Opened::File(f) => f.token_file().display().to_string(),
            Opened::Redis(r) => r.shown().to_string(),
        }
    }

    /// The options that reach this store again, for messages.
    fn flag(&self) -> String {
        match self {
            Opened::File(f) => format!("--data-dir {}", store_dir(f).display()),
            Opened::Redis(r) => format!("--redis {}", r.shown()),
        }
    }
}

async fn open_store(dir: &Path, redis: Option<&str>) -> Result<Opened> {
    if let Some(url) = redis {
        return Ok(Opened::Redis(RedisStore::connect(url).await?));
    }
    let store = FileStore::open(dir)
        .with_context(|| format!("cannot use the data directory {}", dir.display()))?;
    Ok(Opened::File(Arc::new(store)))
}

/// Runs a command; `shutdown` ends `serve`.
pub async fn run(cli: Cli, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
    if let Command::Cert(CertCommand::Create {
        names,
        out,
        days,
        force,
        json,
    }) = &cli.command
    {
        return cert_create(names, out, *days, *force, *json);
    }
    if let Command::Completions { shell } = cli.command {
        // No store is needed for this one.
        rcd_docgen::completions(
            <Cli as clap::CommandFactory>::command(),
            shell,
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let dir = data_dir(cli.data_dir.as_deref())?;
    let opened = open_store(&dir, cli.redis.as_deref()).await?;
    let store = &opened;
    match cli.command {
        Command::Completions { .. } => Ok(()),
        Command::Cert(_) => unreachable!("handled above"),
        Command::Serve(args) => serve(*args, dir, &opened, shutdown).await,
        Command::Token(TokenCommand::Create { label, json }) => {
            token_create(store, label, json).await
        }
        Command::Token(TokenCommand::List { json }) => {
            list(store.store(), TokenKind::Enrollment, json).await
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            revoke(store.store(), TokenKind::Enrollment, &id).await
        }
        Command::Device(DeviceCommand::List { json }) => {
            list(store.store(), TokenKind::Device, json).await
        }
        Command::Device(DeviceCommand::Revoke { id }) => {
            revoke(store.store(), TokenKind::Device, &id).await
        }
    }
}

fn data_dir(dir: Option<&Path>) -> Result<PathBuf> {
    match dir {
        Some(d) => Ok(d.to_path_buf()),
        None => default_data_dir(),
    }
}

async fn serve(
    args: ServeArgs,
    data_dir: PathBuf,
    store: &Opened,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let opts = RelayOptions {
        credential_ttl: args.credential_ttl,
        heartbeat_interval: args.heartbeat_interval,
        offline_after: args.offline_after.unwrap_or(args.heartbeat_interval * 3),
        forget_after: args.forget_after,
        poll_timeout: args.poll_timeout,
        work_timeout: args.work_timeout,
        ping_interval: args.ping_interval,
        header_timeout: args.header_timeout,
        max_connections: connection_cap(args.max_connections),
        push_contact: args.push_contact,
        ..RelayOptions::default()
    };
    if opts.poll_timeout >= opts.offline_after {
        tracing::warn!(
            "--poll-timeout ({:?}) is not shorter than --offline-after ({:?}): an idle daemon \
             may show as offline between polls",
            opts.poll_timeout,
            opts.offline_after
        );
    }
    let tokens = store.store().list_tokens(TokenKind::Enrollment).await?;
    if !tokens.iter().any(|t| !t.revoked) {
        tracing::warn!(
            "no enrollment token yet: make one with `rc-relay token create {}`",
            store.flag()
        );
    }
    tracing::info!(store = %store.place(), version = rcd_proto::PACKAGE_VERSION, "rc-relay starting");
    let relay = Relay::new(opts, store.shared());
    let listen = args.listen;
    if !args.acme.is_empty() {
        let acme = crate::acme::start(crate::acme::AcmeSettings {
            domains: args.acme.clone(),
            email: args.acme_email.clone().unwrap_or_default(),
            directory: args
                .acme_directory
                .clone()
                .unwrap_or_else(|| crate::acme::LETS_ENCRYPT.to_string()),
            ca_cert: args.acme_ca_cert.clone(),
            cache_dir: data_dir.join(crate::acme::ACME_DIR),
        })?;
        let listener = std::net::TcpListener::bind(listen)
            .with_context(|| format!("cannot listen on {listen}"))?;
        announce("https", listener.local_addr()?)?;
        let served = relay
            .serve_tls_config(listener, acme.tls.clone(), shutdown)
            .await;
        drop(acme);
        served?;
        tracing::info!("rc-relay stopped");
        return Ok(());
    }
    match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => {
            let config = crate::server::tls_config(&cert, &key)?;
            let listener = std::net::TcpListener::bind(listen)
                .with_context(|| format!("cannot listen on {listen}"))?;
            announce("https", listener.local_addr()?)?;
            relay.serve_tls_config(listener, config, shutdown).await?;
        }
        _ => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            announce("http", listener.local_addr()?)?;
            relay.serve(listener, shutdown).await?;
        }
    }
    tracing::info!("rc-relay stopped");
    Ok(())
}

/// The connection cap that fits the open-file limit: the soft limit is
/// raised to the hard one where needed, and the cap lowered (with a
/// warning) where even that is not enough. Each connection is one file;
/// the relay keeps some for its store and logs.
fn connection_cap(wanted: usize) -> usize {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    const SPARE: u64 = 64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return wanted;
    };
    let need = wanted as u64 + SPARE;
    let mut have = soft;
    if soft < need && soft < hard {
        let raised = need.min(hard);
        if setrlimit(Resource::RLIMIT_NOFILE, raised, hard).is_ok() {
            have = raised;
        }
    }
    if have >= need {
        return wanted;
    }
    let cap = have.saturating_sub(SPARE).max(1) as usize;
    tracing::warn!(
        "the open-file limit is {have}: at most {cap} connections, not {wanted} \
         (raise it with LimitNOFILE= or ulimit -n)"
    );
    cap
}

fn store_dir(store: &FileStore) -> PathBuf {
    store
        .token_file()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The first line on stdout: where the relay listens.
fn announce(scheme: &str, addr: SocketAddr) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {scheme}://{addr}")?;
    out.flush()?;
    tracing::info!("listening on {scheme}://{addr}");
    Ok(())
}

#[derive(Serialize)]
struct CertMade<'a> {
    #[serde(flatten)]
    made: &'a crate::cert::Made,
    /// The serve command line.
    serve: String,
    /// What rcd and rcctl add to trust it.
    ca_cert: String,
}

fn cert_create(names: &[String], out: &Path, days: u32, force: bool, json: bool) -> Result<()> {
    let made = crate::cert::create(names, out, days, force)?;
    let cert = shell_path(&made.cert);
    let key = shell_path(&made.key);
    let serve = format!("rc-relay serve --listen 0.0.0.0:443 --tls-cert {cert} --tls-key {key}");
    let ca_cert = format!("--ca-cert {cert}");
    if json {
        let c = CertMade {
            made: &made,
            serve,
            ca_cert,
        };
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(());
    }
    let url = crate::cert::url_for(&made.names[0]);
    let until = utc(u64::try_from(made.not_after).unwrap_or(0));
    println!(
        "made a self-signed server certificate for {}, valid until {until} UTC",
        made.names.join(", ")
    );
    println!("  certificate  {cert}");
    println!("  key          {key} (mode 0600: keep it on the relay)");
    println!("  SHA-256      {}", made.sha256);
    println!();
    println!("Serve with it:");
    println!("  {serve}");
    println!();
    println!("Copy the certificate (not the key) to each machine and device, and trust it there:");
    println!("  rcd --relay {url} --ca-cert cert.pem …");
    println!("  rcctl --relay {url} --ca-cert cert.pem …");
    println!("(or set RCD_CA_CERT=/path/to/cert.pem). The URL must use one of the names above.");
    Ok(())
}

/// A path as a shell word: quoted when it has anything a shell would
/// split or expand.
fn shell_path(p: &Path) -> String {
    let s = p.display().to_string();
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+,=@%".contains(&b));
    if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[derive(Serialize)]
struct Created<'a> {
    id: &'a str,
    label: Option<&'a str>,
    created: u64,
    token: &'a str,
}

async fn token_create(store: &Opened, label: Option<String>, json: bool) -> Result<()> {
    let (record, secret) = create_token(store.store(), TokenKind::Enrollment, None, label).await?;
    if json {
        let c = Created {
            id: &record.id,
            label: record.label.as_deref(),
            created: record.created,
            token: secret.expose(),
        };
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        println!("{}", secret.expose());
        eprintln!(
            "enrollment token {} made; it is shown only this once (the relay keeps its hash in {}). \
             Give it to rcd with --token-file.",
            record.id,
            store.place()
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    label: Option<&'a str>,
    created: u64,
    revoked: bool,
}

async fn list(store: &dyn Store, kind: TokenKind, json: bool) -> Result<()> {
    let tokens: Vec<TokenRecord> = store.list_tokens(kind).await?;
    if json {
        let rows: Vec<Listed> = tokens
            .iter()
            .map(|t| Listed {
                id: &t.id,
                owner: t.owner.as_deref(),
                label: t.label.as_deref(),
                created: t.created,
                revoked: t.revoked,
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if tokens.is_empty() {
        match kind {
            TokenKind::Enrollment => {
                eprintln!("no enrollment tokens; make one with `rc-relay token create`")
            }
            TokenKind::Device => eprintln!("no device tokens; devices get one by pairing"),
        }
        return Ok(());
    }
    let mut rows = vec![
        match kind {
            TokenKind::Enrollment => vec!["ID", "LABEL", "CREATED (UTC)", "STATE"],
            TokenKind::Device => vec!["ID", "OWNER", "LABEL", "CREATED (UTC)", "STATE"],
        }
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>(),
    ];
    for t in &tokens {
        let mut row = vec![t.id.clone()];
        if kind == TokenKind::Device {
            row.push(t.owner.clone().unwrap_or_default());
        }
        row.push(t.label.clone().unwrap_or_else(|| "-".into()));
        row.push(utc(t.created));
        row.push(if t.revoked { "revoked" } else { "active" }.into());
        rows.push(row);
    }
    print!("{}", table(&rows));
    Ok(())
}

async fn revoke(store: &dyn Store, kind: TokenKind, id: &str) -> Result<()> {
    let changed = store.revoke_token(kind, id).await?;
    if changed.is_empty() {
        println!("{kind} token {id} was already revoked");
        return Ok(());
    }
    let devices = changed.iter().filter(|t| t.id != id).count();
    if devices > 0 {
        println!("revoked {kind} token {id} and the {devices} device token(s) it owns");
    } else {
        println!("revoked {kind} token {id}");
    }
    Ok(())
}

/// Left-aligned columns separated by two spaces.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Unix seconds as `YYYY-MM-DD HH:MM`, UTC.
fn utc(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    // `YYYY-MM-DDTHH:MM:SSZ`, cut to the minute.
    let full = humantime::format_rfc3339_seconds(t).to_string();
    full[..16].replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13");
    }

    #[test]
    fn seconds_parse_whole_or_not() {
        assert_eq!(secs("2").unwrap(), Duration::from_secs(2));
        assert_eq!(secs("0.25").unwrap(), Duration::from_millis(250));
        assert!(secs("0").is_err());
        assert!(secs("-1").is_err());
        assert!(secs("soon").is_err());
    }

    #[test]
    fn tables_align() {
        let rows = vec![
            vec!["ID".to_string(), "LABEL".to_string()],
            vec!["enr_1".to_string(), "laptop".to_string()],
        ];
        assert_eq!(table(&rows), "ID     LABEL\nenr_1  laptop\n");
    }

    #[test]
    fn the_command_line_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["rc-relay", "serve", "--listen", "127.0.0.1:0", "-v"]).unwrap();
        assert!(cli.verbose);
        assert!(
            Cli::try_parse_from([
                "rc-relay",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                "c"
            ])
            .is_err(),
            "a certificate needs its key"
        );
        let serve = |extra: &[&str]| {
            let mut args = vec!["rc-relay", "serve", "--listen", "127.0.0.1:0"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
        };
        assert!(
            serve(&["--acme", "relay.example.com"]).is_err(),
            "ACME needs an e-mail address"
        );
        assert!(
            serve(&[
                "--acme",
                "relay.example.com",
                "--acme-email",
                "a@example.com",
                "--tls-cert",
                "c",
                "--tls-key",
                "k"
            ])
            .is_err(),
            "either ACME or a certificate of one's own"
        );
        assert!(serve(&["--acme-directory", "https://ca.example/dir"]).is_err());
        let Command::Serve(args) = serve(&[
            "--acme",
            "a.example.com",
            "--acme",
            "b.example.com",
            "--acme-email",
            "a@example.com",
        ])
        .unwrap()
        .command
        else {
            panic!("serve")
        };
        assert_eq!(args.acme, ["a.example.com", "b.example.com"]);
        assert!(args.acme_directory.is_none(), "Let's Encrypt by default");
        assert!(
            Cli::try_parse_from(["rc-relay", "cert", "create"]).is_err(),
            "cert create needs a --name"
        );
    }
}
