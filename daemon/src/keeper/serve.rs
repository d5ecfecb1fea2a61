//! The keeper process itself (`rcd --keeper DIR`): see the module above.
//!
//! One task on a single-threaded runtime serves one rcd at a time; a
//! waiter task per program reaps it, and while no rcd is connected a
//! reader task per program copies its output into its gap file.

use super::wire::Conn;
use super::{EndedRecord, GAP_MAX, Held, PROTOCOL, Reply, Request, SpawnRequest};
use crate::pty::{self, Master, Size};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

/// How long a keeper with nothing to keep waits for its first rcd.
const FIRST_CONNECT: Duration = Duration::from_secs(10);
/// How long an ended program's last output may take to drain.
const DRAIN: Duration = Duration::from_secs(2);

/// Runs the keeper for the keeper directory `dir`; for `main`.
pub fn main(dir: PathBuf) -> ExitCode {
    // Its own session: neither a terminal's hangup nor its Ctrl-C, nor a
    // signal to rcd's process group, reaches it.
    let _ = nix::unistd::setsid();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RCD_KEEPER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("keeper failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One program the keeper holds.
struct Kept {
    pid: u32,
    meta: serde_json::Value,
    master: Arc<Master>,
    exit: Option<i32>,
    /// Copying output to the gap file while no rcd is connected.
    reader: Option<JoinHandle<()>>,
}

async fn serve(dir: &Path) -> anyhow::Result<()> {
    super::make_dirs(dir)?;
    let socket = dir.join(format!("k{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    // rcd waits for this line before it connects.
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {}", socket.display())?;
        out.flush()?;
    }
    tracing::info!(pid = std::process::id(), socket = %socket.display(), "keeper started");
    let started = Instant::now();
    let mut ever_connected = false;
    let (exit_tx, mut exits) = mpsc::unbounded_channel::<(String, i32)>();
    let mut kept: HashMap<String, Kept> = HashMap::new();
    let mut conn: Option<Conn> = None;
    let mut finishing: JoinSet<()> = JoinSet::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let first_deadline = tokio::time::Instant::from_std(started + FIRST_CONNECT);
    loop {
        if conn.is_none()
            && kept.is_empty()
            && finishing.is_empty()
            && (ever_connected || started.elapsed() >= FIRST_CONNECT)
        {
            break;
        }
        let next = async {
            match conn.as_mut() {
                Some(c) => c.recv::<Request>().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // The connection first: an rcd that was killed has left its
            // end to read before the next rcd connects.
            biased;
            msg = next => match msg {
                Ok(Some((req, fds))) => {
                    let c = conn.as_ref().expect("connected");
                    let ok = handle(c, req, fds, &mut kept, &exit_tx, dir).await;
                    if let Err(e) = ok {
                        tracing::warn!("rcd's connection failed: {e}");
                        conn = None;
                        detached(&mut kept, &mut finishing, dir);
                    }
                }
                Ok(None) | Err(_) => {
                    tracing::info!(sessions = kept.len(), "rcd went away; keeping its sessions");
                    conn = None;
                    detached(&mut kept, &mut finishing, dir);
                }
            },
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let new = Conn::new(stream);
                if let Some(old) = &conn {
                    if old.peer_pid().is_some_and(process_alive) {
                        let _ = new.send(&Reply::Refused {
                            message: "another rcd is connected to this keeper".into(),
                        }, &[]).await;
                        continue;
                    }
                    // Its rcd is gone, the end of its connection not read
                    // yet: the new one takes its place.
                    tracing::info!(sessions = kept.len(), "rcd went away; keeping its sessions");
                }
                ever_connected = true;
                tracing::info!(rcd = ?new.peer_pid(), "rcd connected");
                for k in kept.values_mut() {
                    stop_reader(k).await;
                }
                conn = Some(new);
            }
            Some((id, code)) = exits.recv() => {
                let Some(k) = kept.get_mut(&id) else { continue };
                tracing::info!(%id, pid = k.pid, code, "program exited");
                k.exit = Some(code);
                match &conn {
                    Some(c) => {
                        if c.send(&Reply::Exited { id, code }, &[]).await.is_err() {
                            conn = None;
                            detached(&mut kept, &mut finishing, dir);
                        }
                    }
                    None => {
                        if let Some(k) = kept.remove(&id) {
                            finishing.spawn(finish(id, k, dir.to_path_buf()));
                        }
                    }
                }
            }
            Some(_) = finishing.join_next(), if !finishing.is_empty() => {}
            _ = term.recv() => {
                // Someone wants the keeper gone: its programs go too.
                tracing::info!(sessions = kept.len(), "SIGTERM: hanging up every session");
                for k in kept.values().filter(|k| k.exit.is_none()) {
                    let _ = crate::process::signal_session(k.pid, nix::sys::signal::Signal::SIGHUP);
                }
                break;
            }
            // Only until the first rcd connects: no timer wakes an idle
            // keeper.
            () = tokio::time::sleep_until(first_deadline), if !ever_connected => {
                ever_connected = true;
            }
        }
    }
    let _ = std::fs::remove_file(&socket);
    tracing::info!("keeper exiting");
    Ok(())
}

async fn handle(
    conn: &Conn,
    req: Request,
    fds: Vec<std::os::fd::OwnedFd>,
    kept: &mut HashMap<String, Kept>,
    exit_tx: &mpsc::UnboundedSender<(String, i32)>,
    dir: &Path,
) -> std::io::Result<()> {
    match req {
        Request::Hello { protocol, version } => {
            if protocol != PROTOCOL {
                tracing::info!(protocol, %version, "rcd of another protocol connected");
            }
            let sessions = kept
                .iter()
                .map(|(id, k)| Held {
                    id: id.clone(),
                    pid: k.pid,
                    meta: k.meta.clone(),
                    exit: k.exit,
                })
                .collect();
            conn.send(
                &Reply::Welcome {
                    protocol: PROTOCOL,
                    version: rcd_proto::PACKAGE_VERSION.to_string(),
                    pid: std::process::id(),
                    sessions,
                },
                &[],
            )
            .await
        }
        Request::Spawn(spawn) => {
            let id = spawn.id.clone();
            match start(*spawn, fds) {
                Ok((k, child)) => {
                    let pid = k.pid;
                    let fd = k.master.raw_fd();
                    tracing::info!(%id, pid, "program started");
                    let tx = exit_tx.clone();
                    let waiting = id.clone();
                    tokio::spawn(async move {
                        let code = wait(child).await;
                        let _ = tx.send((waiting, code));
                    });
                    kept.insert(id.clone(), k);
                    conn.send(&Reply::Spawned { id, pid }, &[fd]).await
                }
                Err(e) => {
                    conn.send(
                        &Reply::Refused {
                            message: e.to_string(),
                        },
                        &[],
                    )
                    .await
                }
            }
        }
        Request::Adopt { id } => match kept.get_mut(&id) {
            Some(k) => {
                stop_reader(k).await;
                let gap = dir.join("gap").join(&id);
                let gap = gap.exists().then_some(gap);
                let fd = k.master.raw_fd();
                conn.send(&Reply::Adopted { id, gap }, &[fd]).await
            }
            None => {
                conn.send(
                    &Reply::Refused {
                        message: format!("this keeper holds no session {id}"),
                    },
                    &[],
                )
                .await
            }
        },
        Request::Release { id } => {
            if let Some(mut k) = kept.remove(&id) {
                stop_reader(&mut k).await;
            }
            conn.send(&Reply::Released { id }, &[]).await
        }
    }
}

/// Starts the program of `req` in a new PTY.
fn start(
    req: SpawnRequest,
    fds: Vec<std::os::fd::OwnedFd>,
) -> std::io::Result<(Kept, tokio::process::Child)> {
    #[cfg(target_os = "linux")]
    let sandbox = match (req.sandbox, fds.into_iter().next()) {
        (Some(wire), Some(ruleset)) => Some(crate::sandbox::Confinement::from_wire(wire, ruleset)?),
        (Some(_), None) => {
            return Err(std::io::Error::other(
                "a sandboxed session came without its ruleset",
            ));
        }
        (None, _) => None,
    };
    #[cfg(not(target_os = "linux"))]
    let sandbox: Option<crate::sandbox::Confinement> = {
        // macOS: the command arrives wrapped in sandbox-exec already.
        let _ = (req.sandbox, fds);
        None
    };
    let p = pty::spawn(&pty::Spawn {
        argv: &req.argv,
        cwd: &req.cwd,
        env: &req.env,
        size: Size::clamped(req.rows, req.cols),
        sandbox: sandbox.as_ref(),
    })?;
    let pty::PtyProcess { master, child, pid } = p;
    Ok((
        Kept {
            pid,
            meta: req.meta,
            master: Arc::new(master),
            exit: None,
            reader: None,
        },
        child,
    ))
}

async fn wait(mut child: tokio::process::Child) -> i32 {
    match child.wait().await {
        Ok(s) => crate::process::exit_code(s),
        Err(e) => {
            tracing::warn!("waiting for a program failed: {e}");
            -1
        }
    }
}

/// rcd is gone: copy every program's output to its gap file, and record
/// the programs that ended before it could release them.
/// Whether process `pid` still runs (or is not ours to signal, which
/// also means it runs).
fn process_alive(pid: i32) -> bool {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

fn detached(kept: &mut HashMap<String, Kept>, finishing: &mut JoinSet<()>, dir: &Path) {
    for (id, k) in kept.iter_mut() {
        if k.reader.is_none() {
            k.reader = Some(tokio::spawn(read_gap(
                k.master.clone(),
                dir.join("gap").join(id),
            )));
        }
    }
    let ended: Vec<String> = kept
        .iter()
        .filter(|(_, k)| k.exit.is_some())
        .map(|(id, _)| id.clone())
        .collect();
    for id in ended {
        if let Some(k) = kept.remove(&id) {
            finishing.spawn(finish(id, k, dir.to_path_buf()));
        }
    }
}

async fn stop_reader(k: &mut Kept) {
    if let Some(r) = k.reader.take() {
        // A reader stops only at an await, never between a read and the
        // write of what it read.
        r.abort();
        let _ = r.await;
    }
}

/// Copies what the program prints to `path` until its terminal hangs up
/// or the file holds [`GAP_MAX`].
async fn read_gap(master: Arc<Master>, path: PathBuf) {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!("cannot open {}: {e}", path.display());
            return;
        }
    };
    let mut size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = vec![0u8; 16 * 1024];
    while size < GAP_MAX {
        let n = match master.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Err(e) = file.write_all(&buf[..n]) {
            tracing::warn!("writing {} failed: {e}", path.display());
            break;
        }
        size += n as u64;
    }
}

/// A program that ended with no rcd: its last output drained, its ended
/// record written for the next rcd.
async fn finish(id: String, mut k: Kept, dir: PathBuf) {
    if let Some(r) = k.reader.take()
        && tokio::time::timeout(DRAIN, r).await.is_err()
    {
        tracing::info!(%id, "output still open after the program ended; not waiting");
    }
    let gap = dir.join("gap").join(&id);
    let record = EndedRecord {
        id: id.clone(),
        pid: k.pid,
        meta: k.meta,
        code: k.exit.unwrap_or(-1),
        gap: gap.exists().then_some(gap),
    };
    let path = dir.join("ended").join(format!("{id}.json"));
    let tmp = path.with_extension("tmp");
    let written = serde_json::to_vec(&record)
        .map_err(std::io::Error::other)
        .and_then(|b| std::fs::write(&tmp, b))
        .and_then(|()| std::fs::rename(&tmp, &path));
    match written {
        Ok(()) => tracing::info!(%id, code = record.code, "ended while no rcd ran; recorded"),
        Err(e) => tracing::error!("cannot write {}: {e}", path.display()),
    }
}
