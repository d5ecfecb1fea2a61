//! rcd's side of the keeper: finding the keepers of the state directory
//! at start, adopting what they hold, and asking one of them to start
//! each new session's program.

use super::wire::Conn;
use super::{EndedRecord, Held, PROTOCOL, Reply, Request, SpawnRequest};
use anyhow::Context;
use std::collections::{HashMap, VecDeque};
use std::os::fd::{OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a keeper may take to say it is ready, or to answer.
const ANSWER: Duration = Duration::from_secs(10);

type Answer = Result<(Reply, Vec<OwnedFd>), String>;

struct Call {
    req: Request,
    fds: Vec<OwnedFd>,
    reply: oneshot::Sender<Answer>,
}

/// An exit code that came before anyone waited for it, or a waiter.
enum ExitSlot {
    Came(i32),
    Waiting(oneshot::Sender<i32>),
}

/// A connection to one keeper.
pub struct Keeper {
    calls: mpsc::UnboundedSender<Call>,
    exits: Arc<Mutex<HashMap<String, ExitSlot>>>,
    /// The keeper's process id.
    pub pid: u32,
    /// The protocol it speaks.
    pub protocol: u32,
    /// Its version of rcd.
    pub version: String,
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper")
            .field("pid", &self.pid)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// A running session a keeper holds, ready to adopt.
#[derive(Debug)]
pub struct Adoptable {
    pub keeper: Arc<Keeper>,
    pub held: Held,
}

/// A program that ended while no rcd ran.
#[derive(Debug)]
pub struct Ended {
    pub record: EndedRecord,
    /// Its record file, removed once the session is adopted.
    pub file: PathBuf,
}

/// What rcd found at start, and the keeper it starts programs with.
#[derive(Debug)]
pub struct Keepers {
    /// The keeper new sessions start in (one of this rcd's protocol).
    pub current: Arc<Keeper>,
    pub adoptable: Vec<Adoptable>,
    pub ended: Vec<Ended>,
    /// Sessions of keepers this rcd cannot speak to: they run on, and
    /// the log says so.
    pub foreign: Vec<(u32, u32, Vec<Held>)>,
}

/// A keeper that runs but serves another rcd.
#[derive(Debug, thiserror::Error)]
#[error("the keeper refused: {0}")]
struct Busy(String);

impl Keepers {
    /// Connects to every keeper of the state directory (removing the
    /// sockets of dead ones), reads the ended records, and starts a keeper
    /// from `exe` when none of this protocol runs.
    pub async fn start(state_dir: &Path, exe: &Path) -> anyhow::Result<Keepers> {
        let dir = super::dir(state_dir);
        super::make_dirs(&dir)?;
        let mut current = None;
        let mut adoptable = Vec::new();
        let mut foreign = Vec::new();
        for socket in sockets(&dir) {
            match Keeper::connect(&socket).await {
                Ok((k, held)) if k.protocol == PROTOCOL => {
                    let k = Arc::new(k);
                    adoptable.extend(held.into_iter().map(|held| Adoptable {
                        keeper: k.clone(),
                        held,
                    }));
                    current.get_or_insert(k);
                }
                Ok((k, held)) => foreign.push((k.pid, k.protocol, held)),
                // Alive, and serving another rcd: left alone.
                Err(e) if e.downcast_ref::<Busy>().is_some() => {
                    tracing::warn!(
                        "keeper {}: {e}; its sessions are not adopted",
                        socket.display()
                    );
                }
                Err(e) => {
                    tracing::debug!("keeper socket {} is dead: {e}", socket.display());
                    let _ = std::fs::remove_file(&socket);
                }
            }
        }
        let current = match current {
            Some(k) => k,
            None => Arc::new(Keeper::launch(exe, &dir).await?),
        };
        Ok(Keepers {
            current,
            adoptable,
            ended: ended_records(&dir),
            foreign,
        })
    }
}

fn sockets(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
        .collect();
    out.sort();
    out
}

fn ended_records(dir: &Path) -> Vec<Ended> {
    let Ok(entries) = std::fs::read_dir(dir.join("ended")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<EndedRecord>(&b).map_err(|e| e.to_string()))
        {
            Ok(record) => out.push(Ended { record, file: path }),
            Err(e) => tracing::warn!("ignoring {}: {e}", path.display()),
        }
    }
    out
}

impl Keeper {
    /// Starts a keeper from `exe` and connects to it.
    async fn launch(exe: &Path, dir: &Path) -> anyhow::Result<Keeper> {
        use tokio::io::AsyncBufReadExt;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("keeper.log"))
            .with_context(|| format!("cannot open {}", dir.join("keeper.log").display()))?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.arg("--keeper")
            .arg(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            // A service manager's hand-offs are rcd's, not the keeper's.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_PID")
            .kill_on_drop(false);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start the keeper {}", exe.display()))?;
        let stdout = child.stdout.take().context("the keeper's stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(ANSWER, lines.next_line())
            .await
            .context("the keeper did not start within 10 s")?
            .context("reading the keeper's start")?
            .with_context(|| {
                format!(
                    "the keeper ended at start; see {}",
                    dir.join("keeper.log").display()
                )
            })?;
        let socket = line
            .strip_prefix("ready ")
            .with_context(|| format!("the keeper said {line:?} at start"))?;
        // The keeper outlives rcd: tokio reaps it should it end first.
        drop(child);
        let (k, held) = Keeper::connect(Path::new(socket)).await?;
        anyhow::ensure!(
            held.is_empty() && k.protocol == PROTOCOL,
            "the new keeper is not as started"
        );
        tracing::debug!(pid = k.pid, "keeper started");
        Ok(k)
    }

    /// Connects and says hello; the keeper's sessions come back.
    async fn connect(socket: &Path) -> anyhow::Result<(Keeper, Vec<Held>)> {
        let stream = tokio::time::timeout(ANSWER, tokio::net::UnixStream::connect(socket))
            .await
            .context("connecting timed out")??;
        let mut conn = Conn::new(stream);
        conn.send(
            &Request::Hello {
                protocol: PROTOCOL,
                version: rcd_proto::PACKAGE_VERSION.to_string(),
            },
            &[],
        )
        .await?;
        let welcome = tokio::time::timeout(ANSWER, conn.recv::<Reply>())
            .await
            .context("the keeper did not answer")??
            .context("the keeper closed the connection")?;
        let (protocol, version, pid, sessions) = match welcome.0 {
            Reply::Welcome {
                protocol,
                version,
                pid,
                sessions,
            } => (protocol, version, pid, sessions),
            Reply::Refused { message } => return Err(Busy(message).into()),
            other => anyhow::bail!("the keeper answered {other:?}"),
        };
        let (calls, rx) = mpsc::unbounded_channel();
        let exits: Arc<Mutex<HashMap<String, ExitSlot>>> = Arc::default();
        for h in &sessions {
            if let Some(code) = h.exit {
                exits
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(h.id.clone(), ExitSlot::Came(code));
            }
        }
        if protocol == PROTOCOL {
            tokio::spawn(run(conn, rx, exits.clone(), pid));
        }
        Ok((
            Keeper {
                calls,
                exits,
                pid,
                protocol,
                version,
            },
            sessions,
        ))
    }

    async fn call(
        &self,
        req: Request,
        fds: Vec<OwnedFd>,
    ) -> std::io::Result<(Reply, Vec<OwnedFd>)> {
        let (reply, rx) = oneshot::channel();
        let gone = || std::io::Error::other("the keeper is gone");
        self.calls
            .send(Call { req, fds, reply })
            .map_err(|_| gone())?;
        match tokio::time::timeout(ANSWER, rx).await {
            Ok(Ok(Ok(answer))) => Ok(answer),
            Ok(Ok(Err(e))) => Err(std::io::Error::other(e)),
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(std::io::Error::other(
                "the keeper did not answer within 10 s",
            )),
        }
    }

    /// Starts a program; its master and pid come back.
    pub async fn spawn(
        &self,
        req: SpawnRequest,
        ruleset: Option<OwnedFd>,
    ) -> std::io::Result<(OwnedFd, u32)> {
        let id = req.id.clone();
        match self
            .call(Request::Spawn(Box::new(req)), ruleset.into_iter().collect())
            .await?
        {
            (Reply::Spawned { id: got, pid }, mut fds) if got == id && fds.len() == 1 => {
                Ok((fds.remove(0), pid))
            }
            (Reply::Refused { message }, _) => Err(std::io::Error::other(message)),
            (other, _) => Err(std::io::Error::other(format!(
                "the keeper answered {other:?}"
            ))),
        }
    }

    /// The master of a held session, and its gap file if output came
    /// while no rcd ran.
    pub async fn adopt(&self, id: &str) -> std::io::Result<(OwnedFd, Option<PathBuf>)> {
        match self
            .call(Request::Adopt { id: id.into() }, Vec::new())
            .await?
        {
            (Reply::Adopted { gap, .. }, mut fds) if fds.len() == 1 => Ok((fds.remove(0), gap)),
            (Reply::Refused { message }, _) => Err(std::io::Error::other(message)),
            (other, _) => Err(std::io::Error::other(format!(
                "the keeper answered {other:?}"
            ))),
        }
    }

    /// Tells the keeper rcd is done with an ended session.
    pub fn release(&self, id: &str) {
        let (reply, _) = oneshot::channel();
        let _ = self.calls.send(Call {
            req: Request::Release { id: id.into() },
            fds: Vec::new(),
            reply,
        });
        self.exits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Resolves with the program's exit code; fails when the keeper goes
    /// away first.
    pub fn exit_of(&self, id: &str) -> oneshot::Receiver<i32> {
        let (tx, rx) = oneshot::channel();
        let mut exits = self.exits.lock().unwrap_or_else(|e| e.into_inner());
        match exits.remove(id) {
            Some(ExitSlot::Came(code)) => {
                let _ = tx.send(code);
                exits.insert(id.to_string(), ExitSlot::Came(code));
            }
            _ => {
                exits.insert(id.to_string(), ExitSlot::Waiting(tx));
            }
        }
        rx
    }
}

/// The connection's task: sends calls in order and hands answers back in
/// the same order; exits go to their waiters.
async fn run(
    mut conn: Conn,
    mut calls: mpsc::UnboundedReceiver<Call>,
    exits: Arc<Mutex<HashMap<String, ExitSlot>>>,
    pid: u32,
) {
    let mut waiting: VecDeque<oneshot::Sender<Answer>> = VecDeque::new();
    let why = loop {
        tokio::select! {
            call = calls.recv() => {
                let Some(call) = call else { break "rcd let it go".to_string() };
                let raw: Vec<RawFd> = call.fds.iter().map(std::os::fd::AsRawFd::as_raw_fd).collect();
                if let Err(e) = conn.send(&call.req, &raw).await {
                    let _ = call.reply.send(Err(e.to_string()));
                    break e.to_string();
                }
                waiting.push_back(call.reply);
            }
            msg = conn.recv::<Reply>() => match msg {
                Ok(Some((Reply::Exited { id, code }, _))) => {
                    let mut exits = exits.lock().unwrap_or_else(|e| e.into_inner());
                    match exits.remove(&id) {
                        Some(ExitSlot::Waiting(tx)) => { let _ = tx.send(code); }
                        _ => { exits.insert(id, ExitSlot::Came(code)); }
                    }
                }
                Ok(Some(answer)) => {
                    if let Some(tx) = waiting.pop_front() {
                        let _ = tx.send(Ok(answer));
                    }
                }
                Ok(None) => break "it closed the connection".to_string(),
                Err(e) => break e.to_string(),
            },
        }
    };
    tracing::debug!(pid, "keeper connection ended: {why}");
    for tx in waiting {
        let _ = tx.send(Err(format!("the keeper connection ended: {why}")));
    }
    // Waiters see their sender dropped: the keeper is gone.
    exits.lock().unwrap_or_else(|e| e.into_inner()).clear();
}
