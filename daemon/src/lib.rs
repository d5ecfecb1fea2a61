//! rcd, the supervisor: runs programs in pseudo-terminals, keeps their
//! screens and transcripts, and serves `rcctl` on a Unix socket.
//!
//! [`run`] is the whole daemon; signal handling lives in `main`.

pub mod attention;
pub mod changes;
pub mod config;
pub mod config_file;
pub mod console;
pub mod control;
pub mod embedded;
pub mod hooks;
pub mod journal;
pub mod keeper;
pub mod link;
pub mod names;
pub mod notify;
pub mod ops;
pub mod process;
pub mod pty;
pub mod recover;
pub mod sandbox;
pub mod session;
pub mod sizing;
pub mod state;
pub mod supervisor;
pub mod term;
pub mod transcripts;
pub mod tui;
pub mod webhook;
pub mod worktree;

use anyhow::{Context, Result};
use config::Config;
use nix::fcntl::{Flock, FlockArg};
use rcd_proto::SpawnMode;
use std::future::Future;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::sync::Arc;

pub use config::Cli;
pub use supervisor::Supervisor;

/// How the daemon ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// SIGINT or `rcctl shutdown`: every session was stopped.
    Shutdown,
    /// SIGTERM or SIGHUP (a service manager's stop or restart, a closed
    /// terminal): rcd went away and left every session running to the
    /// keeper, for the next rcd to adopt.
    Detached,
    /// The relay was unreachable for longer than `--outage-timeout`
    /// (awake time); exit with [`link::OUTAGE_EXIT_CODE`].
    Outage(std::time::Duration),
}

/// How a signal asks rcd to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Stop every session, then exit (SIGINT).
    Stop,
    /// Exit and leave the sessions running (SIGTERM, SIGHUP).
    Detach,
}

impl From<()> for Ending {
    fn from((): ()) -> Self {
        Ending::Stop
    }
}

/// Runs the daemon until `shutdown` completes, a client asks it to stop,
/// or the relay stays unreachable past the outage timeout; then stops
/// every session (or, for [`Ending::Detach`], leaves them to the keeper),
/// applies the worktree rule, removes the socket and returns why it
/// ended.
pub async fn run<E: Into<Ending>>(
    cfg: Config,
    shutdown: impl Future<Output = E>,
) -> Result<RunEnd> {
    run_with_clock(cfg, shutdown, Arc::new(link::clock::SystemClock)).await
}

/// [`run`] with the clocks of the link given (a seam for tests).
pub async fn run_with_clock<E: Into<Ending>>(
    cfg: Config,
    shutdown: impl Future<Output = E>,
    clock: Arc<dyn link::clock::Clock>,
) -> Result<RunEnd> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&cfg.state_dir)
        .with_context(|| {
            format!(
                "cannot create the state directory {}",
                cfg.state_dir.display()
            )
        })?;
    let _lock = lock_state_dir(&cfg)?;
    transcripts::configure(&cfg.state_dir.join("transcripts"), cfg.transcripts);
    // Created 0700 above; one that already existed may be open to others.
    config::warn_if_shared(&cfg.state_dir, "the state directory", "chmod 700");

    let repo = match worktree::check_repository(&cfg.dir) {
        Ok(root) => Some(root),
        Err(e) if cfg.spawn == SpawnMode::Worktree => {
            return Err(anyhow::anyhow!("--spawn worktree: {e}"));
        }
        Err(_) => None,
    };
    let worktree_root = cfg.state_dir.join("worktrees");
    let keepers = keeper::Keepers::start(&cfg.state_dir, &cfg.keeper_exe)
        .await
        .context("cannot start the keeper, which holds the sessions' programs")?;
    let adopted = adopt(&keepers).await;
    let orphans = {
        let state_dir = cfg.state_dir.clone();
        let repo = repo.clone();
        let root = worktree_root.clone();
        let metas: Vec<session::Meta> = adopted.iter().map(|(_, m)| m.clone()).collect();
        let found = tokio::task::spawn_blocking(move || {
            recover::recover(&state_dir, repo.as_deref(), &root, &metas)
        })
        .await
        .context("start-up recovery panicked")?;
        for item in &found.report {
            tracing::warn!("left behind by the last run: {item}");
        }
        found.orphans
    };

    let mut live_ids: Vec<String> = adopted.iter().map(|(s, _)| s.id.0.clone()).collect();
    live_ids.extend(orphans.iter().map(|o| o.id.clone()));
    // The hook directories of sessions that are gone.
    hooks::clean(&cfg.state_dir, &live_ids);

    let socket = control::bind(&cfg.socket, cfg.default_socket).await?;
    let sup = Supervisor::new(
        cfg.clone(),
        repo,
        session::Launcher::Keeper(keepers.current.clone()),
    );
    {
        let running = adopted
            .iter()
            .filter(|(s, _)| s.status() == session::Status::Running)
            .count();
        let ended = adopted.len() - running;
        if !adopted.is_empty() {
            tracing::info!(
                running,
                ended,
                keeper = keepers.current.pid,
                "adopted {} session{} left by the last rcd ({running} running, {ended} ended \
                 meanwhile)",
                adopted.len(),
                if adopted.len() == 1 { "" } else { "s" }
            );
        }
        sup.adopt(adopted.into_iter().map(|(s, _)| s).collect());
        for e in &keepers.ended {
            let _ = std::fs::remove_file(&e.file);
        }
    }
    // The sandbox: temporary directories of sessions that are gone.
    let orphan_ids: Vec<String> = orphans.iter().map(|o| o.id.clone()).collect();
    if !sandbox::clean_tmp(&cfg.state_dir, &orphan_ids).is_empty() {
        sup.sandbox().mark_used();
    }
    sup.adopt_orphans(orphans);
    sup.persist();
    {
        let mut keep = orphan_ids;
        keep.extend(
            keepers
                .foreign
                .iter()
                .flat_map(|(_, _, held)| held.iter().map(|h| h.id.clone())),
        );
        transcripts::start(&sup, keep);
    }
    if cfg.sandbox.enabled {
        match sup.sandbox().plan().await {
            Ok(_) => tracing::info!(
                network = %cfg.sandbox.network,
                writable = ?cfg.sandbox.writable,
                "sessions are sandboxed (rcctl new --no-sandbox overrides)"
            ),
            Err(e) => tracing::warn!("--sandbox: every sandboxed session will be refused: {e}"),
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The embedded relay stops after the link, which deregisters from it.
    let (relay_stop_tx, relay_stop_rx) = tokio::sync::watch::channel(false);
    let (link, mut link_task) =
        match start_link(&cfg, &sup, clock, stop_rx.clone(), relay_stop_rx).await? {
            Some(l) => (Some(l.handle), Some(l.task)),
            None => (None, None),
        };
    tracing::info!(
        socket = %cfg.socket.display(),
        dir = %cfg.dir.display(),
        spawn = %cfg.spawn,
        capacity = cfg.capacity,
        "rcd {} ready{}",
        rcd_proto::PACKAGE_VERSION,
        if link_task.is_some() { "" } else { " (local only)" }
    );

    let (req_tx, mut req_rx) = tokio::sync::mpsc::channel(1);
    let uid = nix::unistd::getuid().as_raw();
    let server = {
        let sup = sup.clone();
        let link = link.clone();
        let socket = Arc::new(socket);
        let s = socket.clone();
        (
            tokio::spawn(async move {
                control::serve(&s.listener, sup, link, uid, req_tx, stop_rx).await
            }),
            socket,
        )
    };
    let guard = tui::start(sup.clone(), link.clone());
    webhook::start(&sup, link.clone());
    changes::start(&sup);
    let notifier = start_notifications(&sup, link.as_ref()).await;

    let mut link_done = false;
    let link_end = async {
        match link_task.as_mut() {
            Some(t) => {
                let end = t.await.unwrap_or(link::LinkEnd::Stopped);
                link_done = true;
                end
            }
            None => std::future::pending().await,
        }
    };
    let end = tokio::select! {
        how = shutdown => match how.into() {
            Ending::Stop => {
                tracing::info!("signal received, stopping every session and shutting down");
                RunEnd::Shutdown
            }
            Ending::Detach => RunEnd::Detached,
        },
        _ = req_rx.recv() => {
            tracing::info!("shutdown requested by rcctl");
            RunEnd::Shutdown
        }
        end = link_end => match end {
            link::LinkEnd::Outage(d) => {
                tracing::error!(
                    outage = %humantime::format_duration(std::time::Duration::from_secs(d.as_secs())),
                    "the relay was unreachable for longer than --outage-timeout ({}); stopping \
                     the sessions and exiting with status {}",
                    humantime::format_duration(cfg.outage_timeout),
                    link::OUTAGE_EXIT_CODE
                );
                RunEnd::Outage(d)
            }
            link::LinkEnd::Stopped => RunEnd::Shutdown,
        },
    };
    if end == RunEnd::Detached {
        let kept = sup.sessions().len();
        tracing::info!(
            "rcd is exiting and leaves {kept} session{} running to the keeper (pid {}): the \
             next rcd adopts {}; `rcctl shutdown` or SIGINT stops every session",
            if kept == 1 { "" } else { "s" },
            keepers.current.pid,
            if kept == 1 { "it" } else { "them" },
        );
        if let Some(n) = &notifier {
            n.send("STOPPING=1\nSTATUS=leaving the sessions to the keeper");
        }
        sup.detach();
    } else {
        if let Some(n) = &notifier {
            n.send("STOPPING=1\nSTATUS=stopping sessions");
        }
        sup.shutdown().await;
    }
    // The link deregisters from the relay when told to stop.
    let _ = stop_tx.send(true);
    if let Some(t) = link_task.filter(|_| !link_done) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
    }
    let _ = relay_stop_tx.send(true);
    let _ = server.0.await;
    drop(server.1);
    drop(guard);
    tracing::info!("rcd stopped");
    Ok(end)
}

/// Adopts every session the keepers hold and every one that ended while
/// no rcd ran; says which it cannot.
async fn adopt(keepers: &keeper::Keepers) -> Vec<(Arc<session::Session>, session::Meta)> {
    let mut out = Vec::new();
    for (pid, protocol, held) in &keepers.foreign {
        for h in held {
            tracing::warn!(
                keeper = pid,
                protocol,
                session = %h.meta.get("name").and_then(|n| n.as_str()).unwrap_or(&h.id),
                session_pid = h.pid,
                "a session is held by a keeper of keeper protocol {protocol}, which this rcd \
                 (protocol {}) cannot adopt: it runs on until it ends (end it with kill -HUP \
                 -{})",
                keeper::PROTOCOL,
                h.pid
            );
        }
    }
    for a in &keepers.adoptable {
        let meta: session::Meta = match serde_json::from_value(a.held.meta.clone()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(id = %a.held.id, pid = a.held.pid, "cannot adopt a session whose record is unreadable: {e}");
                continue;
            }
        };
        let adopted = async {
            let (fd, gap) = a.keeper.adopt(&a.held.id).await?;
            session::Session::adopt(
                session::SessionId(a.held.id.clone()),
                meta.clone(),
                Some(fd),
                gap.as_deref(),
                a.held.pid,
                a.held.exit,
                Some(a.keeper.clone()),
            )
        };
        match adopted.await {
            Ok(s) => out.push((s, meta)),
            Err(e) => {
                tracing::error!(name = %meta.name, pid = a.held.pid, "cannot adopt the session: {e}")
            }
        }
    }
    for e in &keepers.ended {
        let r = &e.record;
        let meta: session::Meta = match serde_json::from_value(r.meta.clone()) {
            Ok(m) => m,
            Err(err) => {
                tracing::warn!(id = %r.id, "ignoring an ended session whose record is unreadable: {err}");
                continue;
            }
        };
        match session::Session::adopt(
            session::SessionId(r.id.clone()),
            meta.clone(),
            None,
            r.gap.as_deref(),
            r.pid,
            Some(r.code),
            None,
        ) {
            Ok(s) => out.push((s, meta)),
            Err(err) => tracing::error!(name = %meta.name, "cannot adopt the ended session: {err}"),
        }
    }
    out
}

/// Tells a service manager (systemd `Type=notify`) that rcd is ready:
/// the control socket is listening (it was bound before this) and the
/// relay link has finished its first attempt, or 10 s have passed. Then
/// keeps STATUS current and pings the watchdog.
async fn start_notifications(
    sup: &Arc<Supervisor>,
    link: Option<&link::LinkHandle>,
) -> Option<Arc<notify::Notifier>> {
    let n = Arc::new(notify::Notifier::from_env()?);
    if let Some(link) = link {
        let first_done = |s: &Option<link::Published>| {
            s.as_ref().map(|p| &p.status).is_some_and(|l| {
                l.state == rcd_proto::LinkState::Connected || l.last_error.is_some()
            })
        };
        let mut changes = link.changes();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            changes.wait_for(first_done),
        )
        .await;
    }
    let link = link.cloned();
    n.send(&format!(
        "READY=1\nSTATUS={}",
        notify::status_line(sup, link.as_ref())
    ));
    tracing::debug!("told the service manager rcd is ready");
    {
        let n = n.clone();
        let sup = sup.clone();
        tokio::spawn(async move {
            let mut changes = sup.subscribe();
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            let mut last = String::new();
            loop {
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    _ = tick.tick() => {}
                }
                let line = notify::status_line(&sup, link.as_ref());
                if line != last {
                    n.send(&format!("STATUS={line}"));
                    last = line;
                }
            }
        });
    }
    if let Some(every) = notify::watchdog_interval() {
        let n = n.clone();
        let sup_w = sup.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every / 2);
            loop {
                tick.tick().await;
                // Only a daemon whose state lock answers is alive.
                let _ = sup_w.counts();
                n.send("WATCHDOG=1");
            }
        });
    }
    Some(n)
}

/// Starts the relay link (and the embedded relay) as configured.
async fn start_link(
    cfg: &Config,
    sup: &Arc<Supervisor>,
    clock: Arc<dyn link::clock::Clock>,
    stop: tokio::sync::watch::Receiver<bool>,
    relay_stop: tokio::sync::watch::Receiver<bool>,
) -> Result<Option<link::Link>> {
    let (relay, token, embedded) = match &cfg.relay {
        config::RelayMode::Off => return Ok(None),
        config::RelayMode::Remote {
            url,
            token,
            ca_cert,
        } => (
            rcd_net::Relay::new(url, ca_cert.as_deref())?,
            token.clone(),
            false,
        ),
        config::RelayMode::Embedded { listen } => {
            let (url, token) = embedded::start(*listen, relay_stop).await?;
            (rcd_net::Relay::new(&url, None)?, token, true)
        }
    };
    let opts = link::LinkOptions::new(cfg.outage_timeout, embedded);
    Ok(Some(link::start(
        sup.clone(),
        relay,
        token,
        opts,
        clock,
        stop,
    )))
}

/// One daemon per state directory: an exclusive lock on `rcd.lock`.
fn lock_state_dir(cfg: &Config) -> Result<Flock<std::fs::File>> {
    let path = cfg.state_dir.join("rcd.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| {
        anyhow::anyhow!(
            "another rcd is already using the state directory {}: stop it, or give this one \
             its own --state-dir",
            cfg.state_dir.display()
        )
    })
}

/// Sets up logging to stderr: `RUST_LOG` wins, else info (debug with
/// `--verbose`), never below info for the libraries that would log
/// payloads or headers (`rc_relay::logging`). Under systemd (`JOURNAL_STREAM`) lines carry no colour
/// and no timestamp; the journal adds its own.
pub fn init_tracing(verbose: bool) {
    let default = if verbose {
        "rcd=debug,info"
    } else {
        "rcd=info,warn"
    };
    let filter = rc_relay::logging::filter(default);
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(console::writer)
        .with_target(verbose);
    if journal {
        builder.with_ansi(false).without_time().init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}
