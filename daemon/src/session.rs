//! One session: a program in a PTY, its headless terminal, and the tasks
//! that pump bytes between them.
//!
//! Three tasks per session:
//! - the output pump reads the PTY, feeds the terminal (screen and
//!   transcript) and broadcasts the raw bytes to attached clients, all
//!   under the terminal lock, so that an attach that takes a redraw and
//!   subscribes under the same lock sees every byte exactly once;
//! - the input pump owns writes and resizes, fed by a bounded channel;
//! - the waiter reaps the child and publishes its exit code.

use crate::pty::{self, Master, Size};
use crate::term::Terminal;
use crate::worktree::Worktree;
use nix::sys::signal::Signal;
use rcd_proto::{SessionName, SpawnMode, WorktreeOutcome};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, mpsc, watch};

/// Raw output chunks kept for attached clients that fall behind; past
/// that they get a redraw instead.
const OUTPUT_BACKLOG: usize = 1024;
/// Inputs queued for the PTY before senders wait.
const INPUT_QUEUE: usize = 256;
/// How long an exited program's last output may take to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long to wait for a group after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// A session's id: unique across the daemon's life, unlike names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(pub String);

impl SessionId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(format!("{:08x}", rand::random::<u32>()))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lifecycle of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Exited(i32),
}

/// Something for the PTY.
#[derive(Debug)]
enum Input {
    Data(Vec<u8>),
    Resize(Size),
}

/// What it takes to start a session.
#[derive(Debug)]
pub struct Params {
    pub id: SessionId,
    pub name: SessionName,
    pub dir: PathBuf,
    pub spawn: SpawnMode,
    pub worktree: Option<Worktree>,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub transcript: PathBuf,
}

/// A running (or exited) session.
#[derive(Debug)]
pub struct Session {
    pub id: SessionId,
    pub name: SessionName,
    pub dir: PathBuf,
    pub spawn: SpawnMode,
    pub worktree: Option<Worktree>,
    pub pid: u32,
    pub created_at: SystemTime,
    pub command: Vec<String>,
    term: Mutex<Terminal>,
    output: broadcast::Sender<Arc<[u8]>>,
    input: mpsc::Sender<Input>,
    status: watch::Receiver<Status>,
    stop_requested: AtomicBool,
    /// Held by whoever applies the worktree rule; holds its result.
    settled: tokio::sync::Mutex<Option<WorktreeOutcome>>,
}

impl Session {
    /// Starts the program and the session's tasks.
    pub fn start(p: Params) -> std::io::Result<Arc<Session>> {
        let term = Terminal::new(Size::DEFAULT, &p.transcript)?;
        let proc = pty::spawn(&pty::Spawn {
            argv: &p.command,
            cwd: &p.dir,
            env: &p.env,
            size: Size::DEFAULT,
        })?;
        let pty::PtyProcess { master, child, pid } = proc;
        let master = Arc::new(master);
        let (output, _) = broadcast::channel(OUTPUT_BACKLOG);
        let (input_tx, input_rx) = mpsc::channel(INPUT_QUEUE);
        let (status_tx, status_rx) = watch::channel(Status::Running);
        let session = Arc::new(Session {
            id: p.id,
            name: p.name,
            dir: p.dir,
            spawn: p.spawn,
            worktree: p.worktree,
            pid,
            created_at: SystemTime::now(),
            command: p.command,
            term: Mutex::new(term),
            output,
            input: input_tx,
            status: status_rx,
            stop_requested: AtomicBool::new(false),
            settled: tokio::sync::Mutex::new(None),
        });
        let span = tracing::info_span!("session", name = %session.name, pid);
        let pump = tokio::spawn(output_pump(
            Arc::downgrade(&session),
            master.clone(),
            span.clone(),
        ));
        tokio::spawn(input_pump(master, input_rx, Arc::downgrade(&session)));
        tokio::spawn(waiter(child, pump, status_tx, span));
        Ok(session)
    }

    fn term(&self) -> MutexGuard<'_, Terminal> {
        // A panic while holding the lock leaves a usable terminal: the
        // parser state is only ever mutated by whole calls.
        self.term.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Current status.
    pub fn status(&self) -> Status {
        *self.status.borrow()
    }

    /// Whether a stop was asked for.
    pub fn stop_requested(&self) -> bool {
        self.stop_requested.load(Ordering::SeqCst)
    }

    /// Waits until the program has exited; returns its code.
    pub async fn wait(&self) -> i32 {
        let mut rx = self.status.clone();
        loop {
            if let Status::Exited(code) = *rx.borrow_and_update() {
                return code;
            }
            if rx.changed().await.is_err() {
                // The waiter is gone without a status: treat as killed.
                return match *rx.borrow() {
                    Status::Exited(code) => code,
                    Status::Running => -1,
                };
            }
        }
    }

    /// Types bytes into the session.
    pub async fn send(&self, bytes: Vec<u8>) -> Result<(), SessionGone> {
        if self.status() != Status::Running {
            return Err(SessionGone);
        }
        self.input
            .send(Input::Data(bytes))
            .await
            .map_err(|_| SessionGone)
    }

    /// Resizes the PTY and the screen.
    pub async fn resize(&self, size: Size) -> Result<(), SessionGone> {
        self.input
            .send(Input::Resize(size))
            .await
            .map_err(|_| SessionGone)
    }

    /// Rows of plain text, cursor and title.
    pub fn screen(&self) -> (Vec<String>, u16, (u16, u16), String) {
        let t = self.term();
        (t.rows(), t.size().cols, t.cursor(), t.title().to_string())
    }

    /// A page of the transcript and the total line count.
    pub fn transcript(&self, from: u64, max: u32) -> std::io::Result<(Vec<String>, u64)> {
        let t = self.term();
        let lines = t.transcript().page(from, max)?;
        Ok((lines, t.transcript().len()))
    }

    /// Where the transcript file is.
    pub fn transcript_path(&self) -> PathBuf {
        self.term().transcript().path().to_path_buf()
    }

    /// A redraw of the current screen and a subscription to everything
    /// after it, taken atomically.
    pub fn attach(&self) -> (Vec<u8>, broadcast::Receiver<Arc<[u8]>>) {
        let t = self.term();
        (t.redraw(), self.output.subscribe())
    }

    /// A fresh redraw, for a client that fell behind.
    pub fn redraw(&self) -> Vec<u8> {
        self.term().redraw()
    }

    /// Stops the program: SIGHUP to its session, `grace`, then SIGKILL.
    /// Returns its exit code.
    pub async fn stop(&self, grace: Duration) -> i32 {
        self.stop_requested.store(true, Ordering::SeqCst);
        if let Status::Exited(code) = self.status() {
            return code;
        }
        tracing::debug!(name = %self.name, "sending SIGHUP");
        let _ = pty::signal_session(self.pid, Signal::SIGHUP);
        // A stopped job would not see the hangup until continued.
        let _ = pty::signal_session(self.pid, Signal::SIGCONT);
        if let Ok(code) = tokio::time::timeout(grace, self.wait()).await {
            self.reap_stragglers();
            return code;
        }
        tracing::info!(name = %self.name, ?grace, "did not exit after SIGHUP, sending SIGKILL");
        let _ = pty::signal_session(self.pid, Signal::SIGKILL);
        let code = tokio::time::timeout(KILL_TIMEOUT, self.wait())
            .await
            .unwrap_or(-1);
        self.reap_stragglers();
        code
    }

    /// Kills what is left of the session after its leader is gone
    /// (background jobs that ignored the hangup).
    fn reap_stragglers(&self) {
        if !pty::session_members(self.pid).is_empty() {
            let _ = pty::signal_session(self.pid, Signal::SIGKILL);
        }
    }

    /// Applies `f` once to the worktree (the rule); later callers see the
    /// stored outcome and may replace it (a forced stop after a keep).
    pub async fn settle_worktree<F, Fut>(&self, f: F) -> Option<WorktreeOutcome>
    where
        F: FnOnce(Option<WorktreeOutcome>) -> Fut,
        Fut: std::future::Future<Output = Option<WorktreeOutcome>>,
    {
        let mut slot = self.settled.lock().await;
        let previous = slot.clone();
        let outcome = f(previous).await;
        *slot = outcome.clone();
        outcome
    }

    /// The stored worktree outcome, if the rule has been applied.
    pub fn worktree_outcome(&self) -> Option<WorktreeOutcome> {
        self.settled.try_lock().ok().and_then(|g| g.clone())
    }

    /// The session's working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.status() == Status::Running {
            let _ = pty::signal_session(self.pid, Signal::SIGKILL);
        }
    }
}

/// The session's program has ended; nothing more can be sent.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the session's program has exited")]
pub struct SessionGone;

async fn output_pump(session: std::sync::Weak<Session>, master: Arc<Master>, span: tracing::Span) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match master.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                span.in_scope(|| tracing::warn!("reading the terminal failed: {e}"));
                break;
            }
        };
        let Some(session) = session.upgrade() else {
            break;
        };
        let chunk: Arc<[u8]> = Arc::from(&buf[..n]);
        let mut term = session.term();
        if let Err(e) = term.process(&chunk) {
            span.in_scope(|| tracing::warn!("writing the transcript failed: {e}"));
        }
        // No receivers is fine: nobody is attached.
        let _ = session.output.send(chunk);
    }
}

async fn input_pump(
    master: Arc<Master>,
    mut rx: mpsc::Receiver<Input>,
    session: std::sync::Weak<Session>,
) {
    while let Some(input) = rx.recv().await {
        match input {
            Input::Data(bytes) => {
                if master.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            Input::Resize(size) => {
                let _ = master.resize(size);
                if let Some(s) = session.upgrade() {
                    let _ = s.term().resize(size);
                }
            }
        }
    }
}

async fn waiter(
    mut child: tokio::process::Child,
    pump: tokio::task::JoinHandle<()>,
    status: watch::Sender<Status>,
    span: tracing::Span,
) {
    let code = match child.wait().await {
        Ok(s) => pty::exit_code(s),
        Err(e) => {
            span.in_scope(|| tracing::warn!("waiting for the program failed: {e}"));
            -1
        }
    };
    // Let the last output reach the screen before reporting the exit; a
    // background process that keeps the terminal open does not hold it up.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, pump).await;
    span.in_scope(|| tracing::info!(code, "program exited"));
    let _ = status.send(Status::Exited(code));
}
