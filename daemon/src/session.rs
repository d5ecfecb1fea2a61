//! One session: a program in a PTY, its headless terminal, and the tasks
//! that pump bytes between them.
//!
//! Three tasks per session:
//! - the output pump reads the PTY, feeds the terminal (screen and
//!   transcript) and broadcasts the raw bytes to attached clients, all
//!   under the terminal lock, so that an attach that takes a redraw and
//!   subscribes under the same lock sees every byte exactly once;
//! - the input pump owns writes, fed by a bounded channel;
//! - the waiter reaps the child and publishes its exit code.

use crate::attention::{Alert, Outcome, Waiting};
use crate::journal::Journal;
use crate::process;
use crate::pty::{self, Master, Size};
use crate::term::{StyledScreen, Terminal};
use crate::worktree::Worktree;
use nix::sys::signal::Signal;
use rcd_proto::control::{Attention, AttentionKind, Decision};
use rcd_proto::{
    ScreenText, SessionInfo, SessionName, SessionState, SpawnMode, TranscriptPage, WorktreeOutcome,
};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{broadcast, mpsc, watch};

/// Raw output chunks kept for attached clients that fall behind; past
/// that they get a redraw instead.
const OUTPUT_BACKLOG: usize = 1024;
/// Most bytes of program output read from the terminal at once (the
/// kernel hands a flood over a few KiB at a time).
const OUTPUT_READ: usize = 16 * 1024;
/// Inputs queued for the PTY before senders wait.
const INPUT_QUEUE: usize = 256;
/// How long an exited program's last output may take to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

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

/// Bytes for the PTY.
#[derive(Debug)]
struct Input(Vec<u8>);

/// What it takes to start a session.
#[derive(Debug)]
pub struct Params {
    pub id: SessionId,
    pub name: SessionName,
    pub dir: PathBuf,
    pub spawn: SpawnMode,
    pub worktree: Option<Worktree>,
    /// The configured program it runs, by name (`None`: a command line).
    pub program: Option<String>,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub transcript: PathBuf,
    /// Its hook directory, made by the caller (`hooks::create`).
    pub hook_dir: Option<PathBuf>,
    /// The sandbox of a sandboxed session, prepared by `sandbox::prepare`.
    pub sandbox: Option<crate::sandbox::Confinement>,
}

/// What rcd needs to know of a session to adopt it again: kept by the
/// keeper beside the program, given back to the next rcd.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub name: SessionName,
    pub dir: PathBuf,
    pub spawn: SpawnMode,
    pub worktree: Option<Worktree>,
    /// The configured program's name; absent in sessions of older rcds
    /// and for a command line.
    #[serde(default)]
    pub program: Option<String>,
    pub command: Vec<String>,
    pub sandboxed: bool,
    pub sandbox_tmp: Option<PathBuf>,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    pub transcript: PathBuf,
    /// Its hook directory (`hooks::dir_of`); absent in sessions of older
    /// rcds.
    #[serde(default)]
    pub hook_dir: Option<PathBuf>,
}

/// Who starts the programs: the keeper, so that they outlive rcd, or
/// rcd itself (tests of the supervisor, where they need not).
#[derive(Debug, Clone)]
pub enum Launcher {
    Keeper(Arc<crate::keeper::Keeper>),
    Direct,
}

/// Where the program's exit code comes from.
enum ExitSource {
    /// rcd's own child.
    Child(tokio::process::Child),
    /// The keeper reaps it.
    Keeper(tokio::sync::oneshot::Receiver<i32>),
    /// It ended while no rcd ran.
    Known(i32),
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
    /// The configured program it runs, by name; `None`: a command line.
    pub program: Option<String>,
    pub command: Vec<String>,
    /// Whether the program runs confined (`--sandbox`).
    pub sandboxed: bool,
    /// The sandbox's private temporary directory, removed when the
    /// session ends.
    sandbox_tmp: Option<PathBuf>,
    term: Mutex<Terminal>,
    /// What a restarted rcd needs to bring the terminal back; locked
    /// under `term` when both are.
    journal: Mutex<Journal>,
    master: Arc<Master>,
    /// Set once the final screen has been appended to the transcript.
    transcript_closed: AtomicBool,
    /// The last transcript write failed (a full disk): said once, and
    /// again when writing works again, not for every chunk of output.
    transcript_failing: AtomicBool,
    /// Raw output for attached clients; made by the first attach (its
    /// backlog is most of an idle session's memory). Locked only under
    /// `term`, so an attach and the output pump see each other whole.
    output: Mutex<Option<broadcast::Sender<Arc<[u8]>>>>,
    input: mpsc::Sender<Input>,
    status: watch::Receiver<Status>,
    stop_requested: AtomicBool,
    /// Set by the waiter the moment the program is reaped: from then on
    /// its pid may be another process's, and only the session's members
    /// are signalled.
    reaped: Arc<AtomicBool>,
    /// Held by whoever applies the worktree rule; holds its result.
    settled: tokio::sync::Mutex<Option<WorktreeOutcome>>,
    /// When the program last wrote to its terminal.
    last_output: Mutex<SystemTime>,
    /// Ticks when the screen changes (the value is the screen version).
    screen_tick: watch::Sender<u64>,
    /// Last input sequence number applied, per remote client id. Held
    /// across the send to the PTY so that a resent input can never
    /// overtake or repeat.
    input_seqs: tokio::sync::Mutex<HashMap<String, u64>>,
    /// The keeper that holds the program, told when rcd is done with it.
    keeper: Option<Arc<crate::keeper::Keeper>>,
    /// rcd is going away and leaves the program to its keeper: dropping
    /// the session must not end it.
    detached: AtomicBool,
    /// Adopted from the keeper (after an earlier rcd ended).
    pub adopted: bool,
    /// Whether it waits for a person, and why.
    waiting: Mutex<Waiting>,
    /// Where its coding agent's hooks write (`hooks`).
    hook_dir: Option<PathBuf>,
    /// Its worktree's change against the base, as last counted
    /// (`changes`).
    change: Mutex<Option<rcd_proto::diff::ChangeStat>>,
    /// Told when the attention changes (the supervisor's change counter,
    /// which the status line and the relay's session list follow).
    on_change: Mutex<Option<watch::Sender<u64>>>,
    /// Who decides the terminal's size; locked before `term`.
    sizing: Mutex<crate::sizing::Sizing>,
    /// What viewers are told about the size, when it changes.
    size_note: watch::Sender<crate::sizing::Sizing>,
}

impl Session {
    /// Starts the program (through `launcher`) and the session's tasks.
    pub async fn start(p: Params, launcher: &Launcher) -> std::io::Result<Arc<Session>> {
        let term = Terminal::new(Size::DEFAULT, &p.transcript)?;
        let journal = Journal::create(&p.transcript)?;
        let created_at = SystemTime::now();
        let meta = Meta {
            name: p.name.clone(),
            dir: p.dir.clone(),
            spawn: p.spawn,
            worktree: p.worktree.clone(),
            program: p.program.clone(),
            command: p.command.clone(),
            sandboxed: p.sandbox.is_some(),
            sandbox_tmp: p.sandbox.as_ref().map(|c| c.tmp().to_path_buf()),
            created_at: created_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            transcript: p.transcript.clone(),
            hook_dir: p.hook_dir.clone(),
        };
        let (master, pid, exit, keeper) = match launcher {
            Launcher::Direct => {
                let proc = pty::spawn(&pty::Spawn {
                    argv: &p.command,
                    cwd: &p.dir,
                    env: &p.env,
                    size: Size::DEFAULT,
                    sandbox: p.sandbox.as_ref(),
                })?;
                (proc.master, proc.pid, ExitSource::Child(proc.child), None)
            }
            Launcher::Keeper(k) => {
                let (fd, pid) = spawn_kept(k, &p, &meta).await?;
                let exit = ExitSource::Keeper(k.exit_of(&p.id.0));
                (Master::from_fd(fd)?, pid, exit, Some(k.clone()))
            }
        };
        // The child is confined (or exec failed and spawn returned the
        // error): dropping the Confinement closes the parent's ruleset.
        drop(p.sandbox);
        Ok(Self::assemble(
            p.id, meta, term, journal, master, pid, exit, keeper, created_at, false,
        ))
    }

    /// Takes over a session an earlier rcd left to the keeper: the
    /// output the keeper kept meanwhile (`gap`) goes to the screen first.
    /// `code`: it ended while no rcd ran.
    pub fn adopt(
        id: SessionId,
        meta: Meta,
        master: Option<std::os::fd::OwnedFd>,
        gap: Option<&Path>,
        pid: u32,
        code: Option<i32>,
        keeper: Option<Arc<crate::keeper::Keeper>>,
    ) -> std::io::Result<Arc<Session>> {
        // The terminal as the last rcd left it, then what the program
        // printed while no rcd ran.
        let (mut term, mut journal) = Journal::recover(&meta.transcript)?;
        // What the last rcd saw it had shown already; the gap's bells and
        // notifications are new.
        term.take_alerts();
        let mut alert = None;
        if let Some(gap) = gap {
            match std::fs::read(gap) {
                Ok(bytes) => {
                    journal.output(&bytes);
                    term.process(&bytes)?;
                    journal.point(&term)?;
                    if term.roll_due() && term.roll()?.is_some() {
                        journal.point(&term)?;
                        crate::transcripts::tidy_later(term.transcript().path());
                    }
                    alert = most_telling(term.take_alerts());
                }
                Err(e) => tracing::warn!("cannot read {}: {e}", gap.display()),
            }
            let _ = std::fs::remove_file(gap);
        }
        let exit = match (code, &keeper) {
            (Some(code), _) => ExitSource::Known(code),
            (None, Some(k)) => ExitSource::Keeper(k.exit_of(&id.0)),
            (None, None) => ExitSource::Known(-1),
        };
        let master = match master {
            Some(fd) => Master::from_fd(fd)?,
            None => {
                // Ended: a master that reads EOF at once keeps the tasks
                // the same.
                let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
                drop(pty.slave);
                Master::from_fd(pty.master)?
            }
        };
        let created_at = SystemTime::UNIX_EPOCH + Duration::from_secs(meta.created_at);
        let session = Self::assemble(
            id, meta, term, journal, master, pid, exit, keeper, created_at, true,
        );
        if let Some(alert) = alert {
            session.raise(alert);
        }
        // A size someone chose to keep stays kept.
        if session.journal().fixed() {
            session.sizing(|s| s.set_mode(rcd_proto::stream::SizeMode::Fixed, "kept from before"));
        }
        Ok(session)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        id: SessionId,
        meta: Meta,
        term: Terminal,
        journal: Journal,
        master: Master,
        pid: u32,
        exit: ExitSource,
        keeper: Option<Arc<crate::keeper::Keeper>>,
        created_at: SystemTime,
        adopted: bool,
    ) -> Arc<Session> {
        let master = Arc::new(master);
        let (input_tx, input_rx) = mpsc::channel(INPUT_QUEUE);
        let (status_tx, status_rx) = watch::channel(Status::Running);
        let reaped = Arc::new(AtomicBool::new(false));
        let inputs = journal.inputs().clone();
        let sizing = crate::sizing::Sizing::new(term.size());
        let size_note = watch::channel(sizing.clone()).0;
        let session = Arc::new(Session {
            id,
            name: meta.name,
            dir: meta.dir,
            spawn: meta.spawn,
            worktree: meta.worktree,
            pid,
            created_at,
            program: meta.program,
            command: meta.command,
            sandboxed: meta.sandboxed,
            sandbox_tmp: meta.sandbox_tmp,
            term: Mutex::new(term),
            journal: Mutex::new(journal),
            master: master.clone(),
            transcript_closed: AtomicBool::new(false),
            transcript_failing: AtomicBool::new(false),
            output: Mutex::new(None),
            input: input_tx,
            status: status_rx,
            stop_requested: AtomicBool::new(false),
            reaped: reaped.clone(),
            settled: tokio::sync::Mutex::new(None),
            screen_tick: watch::channel(0).0,
            last_output: Mutex::new(SystemTime::now()),
            input_seqs: tokio::sync::Mutex::new(inputs),
            keeper,
            detached: AtomicBool::new(false),
            adopted,
            waiting: Mutex::new(Waiting::default()),
            hook_dir: meta.hook_dir,
            change: Mutex::new(None),
            on_change: Mutex::new(None),
            sizing: Mutex::new(sizing),
            size_note,
        });
        if let Some(dir) = &session.hook_dir {
            crate::hooks::watch(&session, dir.clone());
        }
        let span = tracing::info_span!("session", name = %session.name, pid);
        let pump = tokio::spawn(output_pump(
            Arc::downgrade(&session),
            master.clone(),
            span.clone(),
        ));
        tokio::spawn(input_pump(master, input_rx));
        tokio::spawn(waiter(
            exit,
            pump,
            status_tx,
            reaped,
            Arc::downgrade(&session),
            span,
        ));
        session
    }

    /// Ticks `changes` whenever the session's attention changes.
    pub fn report_changes(&self, changes: watch::Sender<u64>) {
        *self.on_change.lock().unwrap_or_else(|e| e.into_inner()) = Some(changes);
    }

    /// Whether the session waits for a person, and why.
    pub fn attention(&self) -> Option<Attention> {
        self.waiting().shown().cloned()
    }

    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies one change to the attention: the hooks of the requests it
    /// settled are told, and a change of what is shown is told to the
    /// supervisor.
    fn change(&self, f: impl FnOnce(&mut Waiting, Instant, SystemTime) -> Outcome) {
        let out = f(&mut self.waiting(), Instant::now(), SystemTime::now());
        if let Some(dir) = &self.hook_dir {
            for s in &out.settled {
                if let Err(e) = crate::hooks::answer(dir, &s.id, &s.answer) {
                    tracing::warn!(name = %self.name, "cannot answer a hook's request: {e}");
                }
            }
        }
        if out.changed {
            self.tell_change();
        }
    }

    /// Its worktree's change as counted now; a different one is told
    /// (the lists show it).
    pub fn set_change(&self, stat: rcd_proto::diff::ChangeStat) {
        let changed = {
            let mut slot = self.change.lock().unwrap_or_else(|e| e.into_inner());
            let changed = *slot != Some(stat);
            *slot = Some(stat);
            changed
        };
        if changed {
            self.tell_change();
        }
    }

    fn tell_change(&self) {
        if let Some(tx) = self
            .on_change
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            tx.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Something may make the session wait (see `attention`).
    fn raise(&self, alert: Alert) {
        self.change(|w, now, wall| w.raise(alert, now, wall));
    }

    /// Someone typed: nothing waits for them any more, and a hook that
    /// waits learns that the answer came from the terminal.
    fn typed(&self) {
        self.change(|w, now, _| w.input(now));
    }

    /// Answers the session's permission request `id` (`None`: the one
    /// shown). False when no such request waits.
    pub fn answer(&self, id: Option<&str>, decision: Decision, message: Option<String>) -> bool {
        let mut found = false;
        self.change(
            |w, now, wall| match w.answer(id, decision, message, now, wall) {
                Some(out) => {
                    found = true;
                    out
                }
                None => Outcome::default(),
            },
        );
        if found {
            tracing::info!(name = %self.name, decision = decision.as_str(), "permission request answered");
        }
        found
    }

    /// Takes what the session's hooks wrote into `dir` (`hooks::watch`).
    pub(crate) fn take_hook_events(&self, dir: &Path) {
        let known: Vec<String> = self.waiting().pending().map(String::from).collect();
        let found = crate::hooks::scan(dir, &known);
        let gone: Vec<String> = known
            .into_iter()
            .filter(|k| !found.present.contains(k))
            .collect();
        if !gone.is_empty() {
            self.change(|w, now, wall| w.withdraw(&gone, now, wall));
        }
        for (id, event) in found.events {
            match event {
                rcd_proto::hook::Event::Notice { kind, message, .. } => {
                    self.raise(Alert { kind, message })
                }
                e @ rcd_proto::hook::Event::Permission { .. } => {
                    if let Some(req) = crate::hooks::request_of(&id, e) {
                        tracing::info!(name = %self.name, tool = %req.tool, "a permission request waits");
                        self.change(|w, now, wall| w.request(req, now, wall));
                    }
                }
            }
        }
    }

    /// Follows the program's status.
    pub fn status_changes(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Leaves the program to its keeper: rcd is going away, the session
    /// is not ending.
    pub fn detach(&self) {
        self.detached.store(true, Ordering::SeqCst);
        let term = self.term();
        if let Err(e) = self.journal().point(&term) {
            tracing::warn!(name = %self.name, "cannot write the session's resume point: {e}");
        }
    }

    /// Rolls the transcript's live segment, writes the resume point
    /// that follows it (so the journal never points into a closed
    /// segment but for a moment), then hands the segment to the
    /// background thread to be compressed.
    fn roll(&self, term: &mut Terminal) {
        match term.roll() {
            Ok(Some(_)) => {
                if let Err(e) = self.journal().point(term) {
                    tracing::warn!(name = %self.name, "cannot write the session's resume point: {e}");
                }
                crate::transcripts::tidy_later(term.transcript().path());
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(name = %self.name, "cannot roll the transcript into a new segment: {e}")
            }
        }
    }

    fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn term(&self) -> MutexGuard<'_, Terminal> {
        // A panic while holding the lock leaves a usable terminal: the
        // parser state is only ever mutated by whole calls.
        self.term.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One chunk of the program's output: through the terminal (screen
    /// and transcript) and to attached clients, under the terminal's lock
    /// so an attach sees every byte exactly once; then the screen's tick.
    fn take_output(&self, bytes: &[u8], span: &tracing::Span) {
        let version = {
            let mut term = self.term();
            // The journal's lock is held only for its own writes: a
            // device's input is recorded the moment it is written.
            self.journal().output(bytes);
            let lines = term.transcript().len();
            let processed = term.process(bytes);
            if term.roll_due() {
                self.roll(&mut term);
            } else {
                self.journal().point_if_due(&term);
            }
            if let Some(alert) = most_telling(term.take_alerts()) {
                self.raise(alert);
            }
            match processed {
                Err(e) if !self.transcript_failing.swap(true, Ordering::SeqCst) => {
                    span.in_scope(|| {
                        tracing::error!(
                            "writing the transcript {} failed: {e}; the screen goes on, lines \
                             that scroll off are not kept until writing works again",
                            term.transcript().path().display()
                        )
                    });
                }
                Ok(())
                    if term.transcript().len() > lines
                        && self.transcript_failing.swap(false, Ordering::SeqCst) =>
                {
                    span.in_scope(|| tracing::info!("writing the transcript works again"));
                }
                _ => {}
            }
            if let Some(tx) = self
                .output
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                && tx.receiver_count() > 0
            {
                let _ = tx.send(Arc::from(bytes));
            }
            term.version()
        };
        *self.last_output.lock().unwrap_or_else(|e| e.into_inner()) = SystemTime::now();
        self.screen_tick.send_replace(version);
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
        // Someone is here: nothing waits for them any more.
        self.typed();
        self.input.send(Input(bytes)).await.map_err(|_| SessionGone)
    }

    /// Resizes the PTY (the program gets SIGWINCH) and the screen, before
    /// returning, so a redraw taken next has the new size.
    pub fn resize(&self, size: Size) {
        let _ = self.master.resize(size);
        let version = {
            let mut t = self.term();
            self.journal().resize(size);
            let _ = t.resize(size);
            t.version()
        };
        self.screen_tick.send_replace(version);
    }

    /// Applies a decision about the size: the terminal resized first if
    /// it says so, then every viewer told.
    fn sizing(&self, f: impl FnOnce(&mut crate::sizing::Sizing) -> crate::sizing::Outcome) {
        let mut sizing = self.sizing.lock().unwrap_or_else(|e| e.into_inner());
        let o = f(&mut sizing);
        if let Some(size) = o.resize {
            self.resize(size);
        }
        if o.noted {
            self.size_note.send_replace(sizing.clone());
        }
    }

    /// Client `who` (shown as `label`) is about to type, and would drive
    /// `want`: in the `latest` mode the session takes that size first.
    pub fn typed_by(&self, who: &str, label: &str, want: Option<Size>) {
        self.sizing(|s| s.typed(who, label, want));
    }

    /// Client `who`'s own size changed.
    pub fn client_moved(&self, who: &str, label: &str, size: Size) {
        self.sizing(|s| s.moved(who, label, size));
    }

    /// An explicit resize by `label`, taken in every mode.
    pub fn resize_by(&self, who: &str, label: &str, size: Size) {
        self.sizing(|s| s.resized(who, label, size));
    }

    /// `label` chose how the size is decided.
    pub fn set_size_mode(&self, mode: rcd_proto::stream::SizeMode, label: &str) {
        self.sizing(|s| s.set_mode(mode, label));
        self.journal()
            .set_fixed(mode == rcd_proto::stream::SizeMode::Fixed);
    }

    /// The size, its mode and who set it, and each change of them.
    pub fn size_changes(&self) -> watch::Receiver<crate::sizing::Sizing> {
        self.size_note.subscribe()
    }

    /// Appends what is still on the screen to the transcript, once, after
    /// the program has ended: nothing it printed is lost.
    pub fn close_transcript(&self) {
        if self.transcript_closed.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.term().flush_screen_to_transcript() {
            tracing::warn!(name = %self.name, "writing the transcript failed: {e}");
        }
    }

    /// The screen as plain text: rows, cursor and title.
    pub fn screen_text(&self) -> ScreenText {
        let t = self.term();
        ScreenText {
            rows: t.rows(),
            cols: t.size().cols,
            cursor: t.cursor(),
            title: t.title().to_string(),
        }
    }

    /// A page of the transcript (see [`crate::term::Transcript::page`]
    /// for its limits) and the total line count.
    pub fn transcript(&self, from: u64, max: u32) -> std::io::Result<TranscriptPage> {
        if matches!(self.status(), Status::Exited(_)) {
            // The last screen belongs to the transcript once the program
            // ended, whoever reads first.
            self.close_transcript();
        }
        // Read without the terminal's lock: a page of a compressed
        // segment costs its decompression, which output need not wait for.
        let reader = self.term().transcript().reader(from)?;
        let total = reader.lines;
        let (from, lines) = reader.page(from, max)?;
        Ok(TranscriptPage { from, lines, total })
    }

    /// The session as the state file keeps it.
    pub fn record(&self) -> crate::state::SessionRecord {
        crate::state::SessionRecord {
            id: self.id.to_string(),
            name: self.name.to_string(),
            pid: self.pid,
            dir: self.dir.clone(),
            worktree: self.worktree.clone(),
            reaped: self.reaped.load(Ordering::SeqCst),
        }
    }

    /// What `rcctl list` and devices are told about the session.
    pub fn info(&self) -> SessionInfo {
        let (state, exit_code) = match self.status() {
            Status::Running if self.stop_requested() => (SessionState::Stopping, None),
            Status::Running => (SessionState::Running, None),
            Status::Exited(c) => (SessionState::Exited, Some(c)),
        };
        SessionInfo {
            id: self.id.to_string(),
            name: self.name.to_string(),
            state,
            dir: self.dir.display().to_string(),
            spawn: self.spawn,
            branch: self.worktree.as_ref().map(|w| w.branch.clone()),
            pid: (state != SessionState::Exited).then_some(self.pid),
            created_at: humantime::format_rfc3339_seconds(self.created_at).to_string(),
            command: self.command.clone(),
            program: self.program.clone(),
            exit_code,
            worktree: self.worktree_outcome(),
            last_activity: Some(humantime::format_rfc3339_seconds(self.last_output()).to_string()),
            sandboxed: self.sandboxed,
            attention: self.attention().map(Box::new),
            change: *self.change.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// A redraw of the current screen and a subscription to everything
    /// after it, taken atomically.
    pub fn attach(&self) -> (Vec<u8>, broadcast::Receiver<Arc<[u8]>>) {
        let t = self.term();
        let rx = self
            .output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| broadcast::channel(OUTPUT_BACKLOG).0)
            .subscribe();
        (t.redraw(), rx)
    }

    /// When the program last wrote to its terminal.
    pub fn last_output(&self) -> SystemTime {
        *self.last_output.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ticks whenever the screen changes.
    pub fn screen_changes(&self) -> watch::Receiver<u64> {
        self.screen_tick.subscribe()
    }

    /// The screen with styles and its version.
    pub fn styled(&self) -> StyledScreen {
        self.term().styled()
    }

    /// The last input applied for a remote client (0 when none).
    pub async fn input_seq(&self, client_id: &str) -> u64 {
        self.input_seqs
            .lock()
            .await
            .get(client_id)
            .copied()
            .unwrap_or(0)
    }

    /// Applies input `seq` of `client_id` if it is the next one expected;
    /// returns the last applied sequence number either way.
    pub async fn apply_input(
        &self,
        client_id: &str,
        seq: u64,
        bytes: Vec<u8>,
    ) -> Result<u64, SessionGone> {
        let mut seqs = self.input_seqs.lock().await;
        let last = seqs.get(client_id).copied().unwrap_or(0);
        if seq != last + 1 {
            return Ok(last);
        }
        if self.status() != Status::Running {
            return Err(SessionGone);
        }
        // Written to the terminal, then recorded, then acknowledged (by
        // the caller): an input acknowledged is in the journal, so a
        // device that resends after rcd restarted types it once. Only an
        // rcd killed between the write and the record would take it
        // twice, so the two are made back to back: the journal's lock is
        // taken first (the output pump may hold it), then the terminal
        // is written without waiting, then the record follows. An input
        // the terminal cannot take at once (its buffer full) waits for it
        // and is recorded after.
        let rest = {
            let mut journal = self.journal();
            let done = match self.master.try_write(&bytes) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(_) => return Err(SessionGone),
            };
            if done == bytes.len() {
                journal.input(client_id, seq);
            }
            done
        };
        if rest < bytes.len() {
            self.master
                .write_all(&bytes[rest..])
                .await
                .map_err(|_| SessionGone)?;
            self.journal().input(client_id, seq);
        }
        seqs.insert(client_id.to_string(), seq);
        self.typed();
        Ok(seq)
    }

    /// A fresh redraw, for a client that fell behind.
    pub fn redraw(&self) -> Vec<u8> {
        self.term().redraw()
    }

    /// Marks the session as being stopped by a person: it lists as
    /// `stopping`, and its own exit is no longer its end.
    pub fn request_stop(&self) {
        self.stop_requested.store(true, Ordering::SeqCst);
    }

    /// Ends every process of the session, the program and whatever it
    /// left (see [`process::hang_up_then_kill`]). Returns whether anything
    /// survived SIGKILL.
    pub async fn end_processes(&self, grace: Duration) -> bool {
        let leader = process::Leader::of(self.reaped.load(Ordering::SeqCst));
        process::hang_up_then_kill(self.pid, grace, leader).await
    }

    /// The program's exit code once its processes were ended; -1 when it
    /// was not reaped within [`process::KILL_TIMEOUT`].
    pub async fn exit_code(&self) -> i32 {
        tokio::time::timeout(process::KILL_TIMEOUT, self.wait())
            .await
            .unwrap_or(-1)
    }

    /// Its hook directory (`crate::hooks`).
    pub fn hook_dir(&self) -> Option<&Path> {
        self.hook_dir.as_deref()
    }

    /// The sandbox's private temporary directory, for a sandboxed session.
    pub fn sandbox_tmp(&self) -> Option<&Path> {
        self.sandbox_tmp.as_deref()
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
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.detached.load(Ordering::SeqCst) {
            return;
        }
        if self.status() == Status::Running {
            let _ = process::signal_session(self.pid, Signal::SIGKILL);
        }
        if let Some(k) = &self.keeper {
            k.release(&self.id.0);
        }
        self.journal
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .remove();
    }
}

/// Of a chunk's alerts, the last that says something (a notification
/// over a bell).
fn most_telling(mut alerts: Vec<(AttentionKind, String)>) -> Option<Alert> {
    let (kind, message) = match alerts.iter().rposition(|(k, _)| *k != AttentionKind::Bell) {
        Some(i) => alerts.swap_remove(i),
        None => alerts.pop()?,
    };
    Some(Alert { kind, message })
}

/// Asks the keeper to start the program of `p`; the sandbox's ruleset
/// goes along (Linux), or the command is wrapped in it (macOS).
async fn spawn_kept(
    k: &crate::keeper::Keeper,
    p: &Params,
    meta: &Meta,
) -> std::io::Result<(std::os::fd::OwnedFd, u32)> {
    #[cfg(target_os = "linux")]
    let (argv, sandbox, ruleset) = match &p.sandbox {
        Some(c) => {
            // The keeper gets a descriptor of its own of the ruleset;
            // ours closes with the Confinement.
            let (wire, fd) = c.to_wire()?;
            (p.command.clone(), Some(wire), Some(fd))
        }
        None => (p.command.clone(), None, None),
    };
    #[cfg(target_os = "macos")]
    let (argv, sandbox, ruleset) = (
        p.sandbox
            .as_ref()
            .map_or_else(|| p.command.clone(), |c| c.wrap(&p.command)),
        None,
        None,
    );
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    let (argv, sandbox, ruleset) = {
        if p.sandbox.is_some() {
            return Err(std::io::Error::other("no sandbox on this system"));
        }
        (p.command.clone(), None, None)
    };
    let req = crate::keeper::SpawnRequest {
        id: p.id.0.clone(),
        argv,
        cwd: p.dir.clone(),
        env: p.env.clone(),
        rows: Size::DEFAULT.rows,
        cols: Size::DEFAULT.cols,
        sandbox,
        meta: serde_json::to_value(meta).map_err(std::io::Error::other)?,
    };
    k.spawn(req, ruleset).await
}

/// The session's program has ended; nothing more can be sent.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the session's program has exited")]
pub struct SessionGone;

async fn output_pump(session: std::sync::Weak<Session>, master: Arc<Master>, span: tracing::Span) {
    let mut buf = vec![0u8; OUTPUT_READ];
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
        session.take_output(&buf[..n], &span);
        drop(session);
        // Let the tasks this chunk woke run now: a woken task waits in
        // this worker's slot for the next task switch, and while a flood
        // keeps the terminal readable this loop would never make one, so
        // devices would get a frame a second.
        tokio::task::yield_now().await;
    }
}

async fn input_pump(master: Arc<Master>, mut rx: mpsc::Receiver<Input>) {
    while let Some(Input(bytes)) = rx.recv().await {
        if master.write_all(&bytes).await.is_err() {
            break;
        }
    }
}

async fn waiter(
    exit: ExitSource,
    pump: tokio::task::JoinHandle<()>,
    status: watch::Sender<Status>,
    reaped: Arc<AtomicBool>,
    session: std::sync::Weak<Session>,
    span: tracing::Span,
) {
    let code = match exit {
        ExitSource::Child(mut child) => match child.wait().await {
            Ok(s) => process::exit_code(s),
            Err(e) => {
                span.in_scope(|| tracing::warn!("waiting for the program failed: {e}"));
                -1
            }
        },
        ExitSource::Keeper(rx) => match rx.await {
            Ok(code) => code,
            Err(_) => {
                // The keeper is gone: the program's parent is init now,
                // and its exit code is lost. Its end is its terminal's
                // hangup.
                span.in_scope(|| {
                    tracing::error!(
                        "the keeper went away; the program runs on, its exit code will be unknown"
                    )
                });
                while !pump.is_finished() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                -1
            }
        },
        ExitSource::Known(code) => code,
    };
    reaped.store(true, Ordering::SeqCst);
    // Let the last output reach the screen before reporting the exit; a
    // background process that keeps the terminal open does not hold it up.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, pump).await;
    span.in_scope(|| tracing::info!(code, "program exited"));
    if let Some(s) = session.upgrade()
        && !s.stop_requested()
    {
        s.raise(Alert {
            kind: AttentionKind::Exited,
            message: format!("exited with code {code}"),
        });
    }
    let _ = status.send(Status::Exited(code));
}
